"""`livechat-reports dashboard` as people run it: the file, its bytes, the options, the errors."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.dashboard.conftest import DAILY, HOURLY, Loaded, parse_page

pytestmark = pytest.mark.usefixtures("workdir")


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of the style elements."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data


def dashboard(*argv: str) -> int:
    return main(["dashboard", *argv])


def test_the_same_data_gives_the_same_bytes(
    loaded: Loaded, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = workdir / "first.html", workdir / "sub" / "second.html"
    second.parent.mkdir()
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(first)) == 0
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(second)) == 0
    assert first.read_bytes() == second.read_bytes()
    out = capsys.readouterr().out
    assert f"Wrote the dashboard of {HOURLY}, {DAILY} (1.3 MB): {first}" in out


def test_a_first_run_without_cached_scripts_writes_the_same_page(
    loaded: Loaded, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm = workdir / "warm.html"
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(warm)) == 0
    monkeypatch.setenv("XDG_CACHE_HOME", str(workdir / "empty-cache"))
    cold = workdir / "cold.html"
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(cold)) == 0
    assert cold.read_bytes() == warm.read_bytes()
    [cached] = (workdir / "empty-cache" / "livechat-reports").iterdir()
    assert cached.name.startswith("vega-bundle-") and cached.stat().st_size > 800_000
    bundle = cached.read_text(encoding="utf-8").rpartition("\n// sha256 ")[0]
    assert bundle in cold.read_text(encoding="utf-8")
    cached.write_text(bundle[:1000], encoding="utf-8")  # a damaged cache is not used
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(cold)) == 0
    assert cold.read_bytes() == warm.read_bytes()


def test_the_page_is_self_contained(loaded: Loaded, workdir: Path) -> None:
    out = workdir / "dashboard.html"
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(out)) == 0
    text = out.read_text(encoding="utf-8")
    tags = Tags()
    tags.feed(text)
    # no script, style, font or image is fetched: no element names a source to load
    assert [t for t, attrs in tags.seen if {"src", "href"} & set(attrs)] == []
    assert {t for t, _ in tags.seen} & {"link", "img", "iframe", "object", "embed"} == set()
    for css in ("@import", "url(", "@font-face"):
        assert css not in tags.style, css
    assert "default-src 'none'" in text  # and the page's policy forbids fetching anything
    scripts = [attrs.get("type") for t, attrs in tags.seen if t == "script"]
    # the data of each account and of all accounts; Vega's bundle, the page's code
    assert scripts == ["application/json"] * 3 + [None, None]
    assert 0.8e6 < len(text.encode()) < 1.5e6


def test_default_file_name_and_relative_paths(
    loaded: Loaded, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = workdir / "livechat.duckdb"
    copy.write_bytes(loaded.db.read_bytes())
    assert dashboard() == 0  # livechat.duckdb and livechat-dashboard.html, here
    assert (workdir / "livechat-dashboard.html").is_file()
    assert str(workdir / "livechat-dashboard.html") in capsys.readouterr().out


def test_account_writes_that_account_only(loaded: Loaded, workdir: Path) -> None:
    out = workdir / "one.html"
    assert dashboard("--duckdb-file", str(loaded.db), "--out", str(out), "--account", DAILY) == 0
    page = parse_page(out)
    assert list(page.sections) == [DAILY] and not page.sections[DAILY]["hidden"]
    assert 'id="account-select"' not in out.read_text(encoding="utf-8")  # no account selector
    assert HOURLY.split()[0] not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--account", "nobody"],
            f"Account `nobody` has no data in dataset `livechat_reports`; it holds: {HOURLY}, {DAILY}.",
        ),
        (["--months", "0"], "--months must be 1 or more, got 0."),
        (["--out", "missing/dir/page.html"], "the directory `{cwd}/missing/dir` does not exist"),
        (["--out", "."], "--out `.` is a directory; give a file name"),
        (
            ["--dataset", "livechat_other"],
            "Dataset `livechat_other` in DuckDB file `{db}` has no kpi_daily, kpi_weekly, kpi_monthly view",
        ),
    ],
)
def test_bad_input_exits_2_with_the_value_and_the_fix(
    loaded: Loaded,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: str,
) -> None:
    assert dashboard("--duckdb-file", str(loaded.db), *argv) == 2
    err = capsys.readouterr().err
    assert words.format(cwd=workdir, db=loaded.db) in err
    assert "Traceback" not in err
    assert not (workdir / "livechat-dashboard.html").exists()


def test_a_missing_duckdb_file_is_not_created(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert dashboard("--duckdb-file", "nothing-here.duckdb") == 2
    err = capsys.readouterr().err
    assert f"There is no DuckDB file at `{workdir / 'nothing-here.duckdb'}`. Load first" in err
    assert not (workdir / "nothing-here.duckdb").exists()


def test_a_file_a_load_is_writing_is_left_alone_with_exit_1(
    loaded: Loaded, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = workdir / "busy.duckdb"
    copy.write_bytes(loaded.db.read_bytes())
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]);"
         " print('open', flush=True); time.sleep(60)", str(copy)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert dashboard("--duckdb-file", str(copy), "--out", "page.html") == 1
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"The DuckDB file `{copy}` is being written by another program" in err
    assert f"PID {holder.pid}" in err and "Run the dashboard after the load ends" in err
    assert not (workdir / "page.html").exists()
    # and once the writer is gone, the same command works
    assert dashboard("--duckdb-file", str(copy), "--out", "page.html") == 0


def test_a_load_can_run_right_after_the_dashboard(loaded: Loaded, workdir: Path) -> None:
    """The dashboard holds the file only while it reads: a writer can open it at once."""
    import duckdb

    copy = workdir / "after.duckdb"
    copy.write_bytes(loaded.db.read_bytes())
    assert dashboard("--duckdb-file", str(copy), "--out", "page.html") == 0
    done = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(copy)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    duckdb.connect(str(copy)).close()  # in this process too: nothing kept a connection open


def test_without_the_dashboard_extra_it_says_what_to_install(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "altair", None)  # `import altair` raises ImportError
    assert dashboard("--duckdb-file", str(loaded.db)) == 2
    err = capsys.readouterr().err
    assert 'pip install "livechat-reports[dashboard]"' in err and "altair" in err


def test_demo_writes_a_dashboard_and_prints_its_path(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dt.datetime.now(dt.timezone.utc).date()
    assert main(["demo", "--days", "3", "--duckdb-file", "demo.duckdb"]) == 0
    after = dt.datetime.now(dt.timezone.utc).date()
    out = capsys.readouterr().out
    page = workdir / "demo-dashboard.html"
    assert f"Dashboard (open it in a browser): {page}" in out
    parsed = parse_page(page)
    assert list(parsed.sections) == ["demo"]
    text = page.read_text(encoding="utf-8")
    assert f"data through {before:%Y-%m-%d}" in text or f"data through {after:%Y-%m-%d}" in text
