"""The page in a real browser: Chromium from the OS, driven by Playwright, offline.

Every chart draws (its marks are counted), the tiles read as the marts, nothing is requested
but the file itself (and `data:` / `blob:` URLs), nothing is logged to the console, and no
date moves when the browser's time zone is west or east of UTC. Skipped, with the reason in
the summary, only where Chromium or Playwright is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from tests.dashboard import expected
from tests.dashboard.conftest import (
    ACCOUNTS,
    DAILY,
    FIRST,
    HOURLY,
    LAST_MONTH,
    LAST_WEEK,
    Loaded,
    PageParser,
    chromium_path,
    copy_of,
    parse_page,
)

TIME_ZONES = ["UTC", "America/Los_Angeles", "Asia/Tokyo"]
ALLOWED_SCHEMES = ("file:", "data:", "blob:")
# chart -> (the role Vega gives its data marks, data rows per mark)
MARKS = {
    "weekly_chats": ("bar", 1),
    "weekly_missed": ("bar", 1),
    "weekly_satisfaction": ("point", 1),
    "weekly_first_response": ("point", 1),
    "weekly_response": ("point", 1),
    "weekly_duration": ("point", 1),
    "weekly_queued": ("bar", 1),
    "weekly_abandonment": ("point", 1),
    "weekly_queue_wait": ("point", 1),
    "daily_chats": ("bar", 1),
    "tags": ("bar", 1),
    "greetings": ("bar", 1),
    "groups": ("bar", 1),
    "heatmap": ("rect mark", 1),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "Chromium not found: install the OS package `chromium` (.ci/run does) or set"
            " LIVECHAT_TEST_CHROMIUM; the dashboard's browser tests did not run"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (the `test` extra): the browser tests did not run")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def written(loaded: Loaded, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PageParser]:
    out = tmp_path_factory.mktemp("browser") / "dashboard.html"
    assert main(["dashboard", "--duckdb-file", str(loaded.db), "--out", str(out)]) == 0
    return out, parse_page(out)


@pytest.fixture(scope="module")
def tiles_wanted(loaded: Loaded) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (account, grain): expected.period_values(loaded, account, grain, start)
        for account in ACCOUNTS
        for grain, start in (("week", LAST_WEEK), ("month", LAST_MONTH))
    }


class Visit:
    """One offline browser context in a time zone, recording requests and console errors."""

    def __init__(self, browser: Any, timezone: str, width: int = 1280) -> None:
        self.context = browser.new_context(
            offline=True,
            timezone_id=timezone,
            locale="en-US",
            viewport={"width": width, "height": 900},
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console",
            lambda message: (
                self.errors.append(f"{message.type}: {message.text}")
                if message.type in ("error", "warning")
                else None
            ),
        )
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri())

    def show(self, index: str) -> Any:
        """Choose an account (when there is a selector) and wait until its charts are drawn."""
        if self.page.locator("#account-select").count():
            self.page.select_option("#account-select", index)
        section = self.page.locator(f"section.account[data-index='{index}']")
        assert section.is_visible()
        self.drawn(index)
        return section

    def drawn(self, index: str) -> None:
        """Wait until every chart shown in the section is drawn (hidden ones wait their turn)."""
        self.page.wait_for_function(
            "index => Array.from(document.querySelectorAll("
            "`section[data-index='${index}'] [data-chart]`)).every("
            "c => c.offsetParent === null || c.dataset.state === 'drawn')",
            arg=index,
            timeout=30_000,
        )

    def close(self) -> None:
        self.context.close()


def shown_tile(section: Any, grain: str, metric: str, scope: str = "account") -> Any:
    """The value of a tile the reader sees (of the period block shown in the scope)."""
    return section.locator(
        f".scope[data-scope='{scope}'] .period-block[data-grain='{grain}']:visible"
        f" .tile[data-metric='{metric}'] .value"
    )


def labels(chart: Any, role: str) -> list[str]:
    return chart.locator(f"[aria-roledescription='{role}']").evaluate_all(
        "marks => marks.map(m => m.getAttribute('aria-label'))"
    )


WEEK_LABEL = re.compile(
    r"^Week of (\d{4}-\d{2}-\d{2}): (.+?)( \(partial week: (\d) of 7 days complete\))?$"
)


@pytest.mark.parametrize("timezone", TIME_ZONES)
def test_every_chart_draws_offline_and_shows_the_marts(
    browser: Any,
    written: tuple[Path, PageParser],
    tiles_wanted: dict[tuple[str, str], dict[str, Any]],
    timezone: str,
) -> None:
    path, parsed = written
    visit = Visit(browser, timezone)
    try:
        visit.open(path)
        for account in sorted(ACCOUNTS):
            index = parsed.sections[account]["index"]
            specs = parsed.specs[f"specs-{index}"]
            section = visit.show(index)
            charts = section.locator("[data-chart]:not([data-chart^='group-'])")
            names = charts.evaluate_all("cs => cs.map(c => c.dataset.chart)")
            assert names == [
                n for n in parsed.sections[account]["charts"] if not n.startswith("group-")
            ]
            assert set(names) == set(MARKS) - ({"heatmap"} if account == DAILY else set())
            for name in names:
                chart = section.locator(f"[data-chart='{name}']")
                assert chart.get_attribute("data-state") == "drawn", name
                role, _ = MARKS[name]
                rows = specs[name]["data"]["values"]
                assert len(labels(chart, role)) == len(rows) > 0, name
            # a line joins the full weeks, and only those
            line = section.locator("[data-chart='weekly_satisfaction'] .mark-line path")
            assert line.count() == 1
            _weeks_read_the_same_everywhere(section, specs)
            for (wanted_account, grain), values in tiles_wanted.items():
                if wanted_account != account:
                    continue
                for metric, (_, kind) in expected.KPI_TILES.items():
                    tile = shown_tile(section, grain, metric)
                    assert tile.inner_text() == expected.written(values[metric], kind)
        assert [u for u in visit.requests if not u.startswith(ALLOWED_SCHEMES)] == []
        assert visit.errors == []
    finally:
        visit.close()


def _weeks_read_the_same_everywhere(section: Any, specs: dict[str, Any]) -> None:
    """The marks and the axis name the weeks of the data, whatever the browser's time zone."""
    rows = specs["weekly_chats"]["data"]["values"]
    chart = section.locator("[data-chart='weekly_chats']")
    seen = [WEEK_LABEL.match(label) for label in labels(chart, "bar")]
    assert all(seen), labels(chart, "bar")
    assert [m[1] for m in seen if m] == [r["week"][:10] for r in rows]
    assert [m[2] for m in seen if m] == [f"{r['value']:,} chats" for r in rows]
    assert [m[4] and int(m[4]) for m in seen if m] == [
        r["days"] if r["period"] == "Partial week" else None for r in rows
    ]
    first_monday = dt.date.fromisoformat(rows[0]["week"][:10])
    axis = chart.locator("[aria-label^='X-axis'] .role-axis-label text").evaluate_all(
        "texts => texts.map(t => t.textContent)"
    )
    assert axis and axis[0] == first_monday.strftime("%b %d")
    for label in axis:  # every label is a Monday of the data (the weeks start on Mondays)
        assert any(dt.date.fromisoformat(r["week"][:10]).strftime("%b %d") == label for r in rows)
    points = labels(section.locator("[data-chart='weekly_satisfaction']"), "point")
    wanted = specs["weekly_satisfaction"]["data"]["values"]
    assert [p.split(":")[0] for p in points] == [f"Week of {r['week'][:10]}" for r in wanted]
    assert [p.split(": ")[1].split(" ")[0] for p in points] == [
        f"{expected.half_up(100 * r['value'], 1)}%" for r in wanted
    ]
    assert FIRST.isoformat() >= rows[0]["week"][:10]


NASTY_TAG = '</script><script>window.injected = 1</script><b id="injected">&amp;'


def test_tag_names_cannot_break_out_of_the_page(
    browser: Any, loaded: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    changed = copy_of(loaded, tmp_path / "nasty.duckdb")
    connection = duckdb.connect(str(changed.db))
    try:
        connection.execute(
            "insert into livechat_reports.tags_chat_usage (account_id, report_date, tag, chats,"
            " _dlt_load_id, _dlt_id) select account_id, report_date, ?, 400, _dlt_load_id, 'x'"
            " from livechat_reports.tags_chat_usage"
            " where account_id = ? and report_date = ? limit 1",
            [NASTY_TAG, DAILY, dt.date(2026, 10, 15)],
        )
    finally:
        connection.close()
    out = tmp_path / "nasty.html"
    assert (
        main(["dashboard", "--duckdb-file", str(changed.db), "--out", str(out), "--account", DAILY])
        == 0
    )
    text = out.read_text(encoding="utf-8")
    assert "</script><script>window.injected" not in text and '<b id="injected">' not in text
    parsed = parse_page(out)
    tags = parsed.specs["specs-0"]["tags"]["data"]["values"]
    assert tags[0] == {"tag": NASTY_TAG, "chats": 400, "share": tags[0]["share"]}  # most used

    visit = Visit(browser, "UTC")
    try:
        visit.open(out)
        section = visit.show("0")
        bars = labels(section.locator("[data-chart='tags']"), "bar")
        assert bars[0].startswith(f"{NASTY_TAG}: 400 chats")
        assert visit.page.evaluate("window.injected === undefined")
        assert visit.page.locator("#injected").count() == 0
        assert visit.errors == []
    finally:
        visit.close()


WIDTHS = [800, 1400, 1920]
# Every element of a card, measured against the card's own box (a pixel of rounding allowed).
OVERFLOW = """cards => cards.flatMap(card => {
  const box = card.getBoundingClientRect();
  const wide = [];
  if (card.scrollWidth > card.clientWidth + 1) {
    wide.push(`card scrolls: ${card.scrollWidth} > ${card.clientWidth}`);
  }
  for (const element of card.querySelectorAll('*')) {
    const r = element.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < box.left - 1 || r.right > box.right + 1) {
      const what = element.closest('[data-chart]')?.dataset.chart || card.querySelector('h3')?.textContent;
      wide.push(`${what}: <${element.tagName.toLowerCase()}> ${r.left}-${r.right} outside ${box.left}-${box.right}`);
    }
  }
  return wide;
})"""


@pytest.mark.parametrize("width", WIDTHS)
def test_no_element_is_wider_than_its_card(
    browser: Any, written: tuple[Path, PageParser], width: int
) -> None:
    path, parsed = written
    visit = Visit(browser, "UTC", width=width)
    try:
        visit.open(path)
        for account in sorted(ACCOUNTS):
            index = parsed.sections[account]["index"]
            section = visit.show(index)
            scopes = ["account"]
            if section.locator("select.group-select").count():
                scopes.append("group-1")
            for scope in scopes:
                if scope != "account":
                    section.locator("select.group-select").select_option(scope)
                    visit.drawn(index)
                cards = section.locator(".card:visible")
                assert cards.count() > 5
                wide = cards.evaluate_all(OVERFLOW)
                assert wide == [], (account, scope, wide)
            # and the page itself does not scroll sideways
            assert visit.page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            )
        assert visit.errors == []
    finally:
        visit.close()


def test_heatmap_cells_are_the_average_per_weekday_hour(
    browser: Any, written: tuple[Path, PageParser], loaded: Loaded
) -> None:
    path, parsed = written
    wanted = expected.heatmap(loaded, HOURLY, "Asia/Tokyo", FIRST)
    visit = Visit(browser, "America/Los_Angeles")
    try:
        visit.open(path)
        section = visit.show(parsed.sections[HOURLY]["index"])
        seen = labels(section.locator("[data-chart='heatmap']"), "rect mark")
        assert len(seen) == 7 * 24
        shown = {}
        for label in seen:
            match = re.match(
                r"^(\w{3}) (\d\d):00: ([\d,.]+) chats on average \(([\d,]+) chats over (\d+) days\)$",
                label,
            )
            assert match, label
            shown[(match[1], int(match[2]))] = (
                match[3],
                int(match[4].replace(",", "")),
                int(match[5]),
            )
        for (day, hour), (chats, days) in wanted.items():
            assert shown[(day, hour)] == (f"{expected.half_up(chats / days, 2):,}", chats, days)
        title = section.locator(".card h3", has_text="weekday and hour").inner_text()
        assert title.startswith("Average chats per weekday and hour (Asia/Tokyo)")
    finally:
        visit.close()


def test_picking_another_week_or_month_shows_its_marts_values(
    browser: Any, written: tuple[Path, PageParser], loaded: Loaded
) -> None:
    path, parsed = written
    visit = Visit(browser, "UTC")
    try:
        visit.open(path)
        for account in sorted(ACCOUNTS):
            section = visit.show(parsed.sections[account]["index"])
            for grain, first, other in (
                ("week", LAST_WEEK, dt.date(2026, 10, 5)),
                ("month", LAST_MONTH, dt.date(2026, 9, 1)),
            ):
                picker = section.locator(f"select.period-select[data-grain='{grain}']").first
                assert picker.input_value() == f"{first:%Y-%m-%d}"
                before = expected.period_values(loaded, account, grain, first)
                after = expected.period_values(loaded, account, grain, other)
                assert before["total_chats"] != after["total_chats"]
                picker.select_option(f"{other:%Y-%m-%d}")
                for metric, (_, kind) in expected.KPI_TILES.items():
                    tile = shown_tile(section, grain, metric)
                    assert tile.inner_text() == expected.written(after[metric], kind), metric
                title = section.locator(
                    f".scope[data-scope='account'] .period-block[data-grain='{grain}']:visible h3"
                ).inner_text()
                assert (f"{other:%Y-%m-%d}" if grain == "week" else f"{other:%B %Y}") in title
        assert visit.errors == []
    finally:
        visit.close()


def test_group_tiles_in_the_browser_equal_kpi_weekly_by_group(
    browser: Any, written: tuple[Path, PageParser], loaded: Loaded
) -> None:
    path, parsed = written
    visit = Visit(browser, "UTC")
    try:
        visit.open(path)
        index = parsed.sections[DAILY]["index"]
        section = visit.show(index)
        groups = section.locator("select.group-select option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        assert groups[0] == "account" and len(groups) >= 3
        for scope in groups[1:]:
            section.locator("select.group-select").select_option(scope)
            visit.drawn(index)
            group = int(scope.removeprefix("group-"))
            assert not section.locator(".scope[data-scope='account']").is_visible()
            for grain, start in (("week", LAST_WEEK), ("month", LAST_MONTH)):
                wanted = expected.group_period_values(loaded, DAILY, group, grain, start)
                for metric, (_, kind) in expected.GROUP_TILES.items():
                    tile = shown_tile(section, grain, metric, scope)
                    assert tile.inner_text() == expected.written(wanted[metric], kind)
            chart = section.locator(f"[data-chart='group-{group}-weekly_chats']")
            assert chart.get_attribute("data-state") == "drawn"
            weekly = loaded.query(
                "select week_start, total_chats from lr.kpi_weekly_by_group"
                " where account_id = ? and group_id = ? order by week_start",
                DAILY, group,
            )  # fmt: skip
            bars = [WEEK_LABEL.match(label) for label in labels(chart, "bar")]
            assert [(m[1], m[2]) for m in bars if m] == [
                (f"{w['week_start']:%Y-%m-%d}", f"{w['total_chats']:,} chats") for w in weekly
            ]
        assert visit.errors == []
    finally:
        visit.close()


def test_a_first_day_shows_its_tiles_marked_partial(
    browser: Any, one_day: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "first-day.html"
    assert main(["dashboard", "--duckdb-file", str(one_day.db), "--out", str(out)]) == 0
    visit = Visit(browser, "UTC")
    try:
        visit.open(out)
        section = visit.show("0")
        for grain, start in (("week", dt.date(2026, 11, 16)), ("month", dt.date(2026, 11, 1))):
            wanted = expected.period_values(one_day, DAILY, grain, start)
            assert wanted["is_partial_period"]
            block = section.locator(
                f".scope[data-scope='account'] .period-block[data-grain='{grain}']:visible"
            )
            days = 7 if grain == "week" else 30
            assert f"partial {grain}: 1 of {days} days complete" in block.locator("h3").inner_text()
            assert block.locator(".tiles").get_attribute("data-partial") == (
                f"partial {grain}: 1 of {days} days complete"
            )
            assert block.locator(".badge").count() == len(expected.KPI_TILES)
            for metric, (_, kind) in expected.KPI_TILES.items():
                tile = shown_tile(section, grain, metric)
                assert tile.inner_text() == expected.written(wanted[metric], kind), metric
        assert "No full week" not in section.inner_text()
        assert visit.errors == []
    finally:
        visit.close()


def test_all_accounts_tiles_are_weighted_over_the_accounts(
    browser: Any, written: tuple[Path, PageParser], loaded: Loaded
) -> None:
    path, _ = written
    visit = Visit(browser, "UTC")
    try:
        visit.open(path)
        options = visit.page.locator("#account-select option").evaluate_all(
            "options => options.map(o => [o.value, o.textContent])"
        )
        assert options[-1] == ["all", "All accounts"]
        section = visit.show("all")
        for grain, start in (("week", LAST_WEEK), ("month", LAST_MONTH)):
            wanted = expected.all_accounts_values(loaded, sorted(ACCOUNTS), grain, start)
            for metric, (_, kind) in expected.KPI_TILES.items():
                tile = shown_tile(section, grain, metric)
                assert tile.inner_text() == expected.written(wanted[metric], kind), metric
                # the number itself, not only its rounding (a mean of the accounts' averages
                # can round to the same whole second)
                shown = json.loads(tile.get_attribute("data-value"))
                assert shown == pytest.approx(wanted[metric], rel=1e-9), metric
        chart = section.locator("[data-chart='weekly_chats']")
        assert chart.get_attribute("data-state") == "drawn"
        per_week = loaded.query(
            "select week_start, sum(total_chats) as chats from lr.kpi_weekly"
            " group by week_start order by week_start"
        )
        bars = [WEEK_LABEL.match(label) for label in labels(chart, "bar")]
        assert [(m[1], m[2]) for m in bars if m] == [
            (f"{w['week_start']:%Y-%m-%d}", f"{int(w['chats']):,} chats") for w in per_week
        ]
        assert visit.errors == []
    finally:
        visit.close()
