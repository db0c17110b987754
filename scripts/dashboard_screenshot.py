"""Make the README's picture: the demo's dashboard, as Chromium draws it.

The same load as `livechat-reports demo` (90 days of the emulator's `demo` account), with the
clock fixed so the picture only changes when the page does; then `livechat-reports dashboard`
and a full-page screenshot in headless Chromium (the OS package), offline.

    .venv/bin/python scripts/dashboard_screenshot.py docs/dashboard.png   # or: make screenshot
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.cli import DEMO_DAYS, DEMO_PIPELINE  # noqa: E402
from pipelines.dashboard import write_dashboard  # noqa: E402
from pipelines.dashboard.read import duckdb_reader  # noqa: E402
from pipelines.livechat_reports import build_pipeline, run_load  # noqa: E402
from sources.livechat.credentials import PersonalAccessTokenCredentials  # noqa: E402
from sources.livechat.options import LoadOptions  # noqa: E402
from sources.livechat_emulator import Emulator, ReportsAPI  # noqa: E402

NOW = dt.datetime(2026, 11, 18, 15, 30, tzinfo=dt.timezone.utc)
WIDTH = 1280


def demo_page(workdir: Path) -> Path:
    """Load the demo's 90 days into a file of its own and write its dashboard."""
    os.environ["DLT_DATA_DIR"] = str(workdir / "dlt")
    credentials = PersonalAccessTokenCredentials()
    credentials.account_id, credentials.personal_access_token = "demo", "demo-pat"
    today = NOW.date()
    database = workdir / "livechat-demo.duckdb"
    with Emulator(ReportsAPI(now=NOW.timestamp())) as emulator:
        pipeline = build_pipeline(DEMO_PIPELINE, "duckdb", "livechat_reports", str(database))
        options = {
            "credentials": credentials,
            "base_url": emulator.url,
            "start_date": today - dt.timedelta(days=DEMO_DAYS - 1),
            "end_date": today,
            "backfill": True,
            "today": today,
        }
        run_load(pipeline, LoadOptions(**options))
    with duckdb_reader(str(database), "livechat_reports") as reader:
        marts = reader.read()
    return Path(write_dashboard(marts, str(workdir / "dashboard.html")).path)


def screenshot(page_file: Path, out: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        context = browser.new_context(
            offline=True, viewport={"width": WIDTH, "height": 900}, timezone_id="UTC"
        )
        page = context.new_page()
        page.goto(page_file.as_uri())
        # Charts in hidden parts (other accounts, groups) wait until shown: only the shown count.
        page.wait_for_function(
            "Array.from(document.querySelectorAll('[data-chart]'))"
            ".every(c => c.offsetParent === null || c.dataset.state === 'drawn')"
        )
        page.screenshot(path=str(out), full_page=True, animations="disabled")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--chromium", default=shutil.which("chromium"), help="Chromium binary")
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("Chromium not found: install the OS package `chromium`, or pass --chromium.")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    with tempfile.TemporaryDirectory() as tmp:
        page = demo_page(Path(tmp))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        screenshot(page, args.out, args.chromium)
    print(f"{args.out} ({args.out.stat().st_size / 1000:.0f} KB)")


if __name__ == "__main__":
    main()
