"""Benchmark `livechat-reports dashboard` over two years of every report.

The data is loaded from the emulator without latency (the load is not what is timed); then the
command runs as people run it, a new process each time: first with an empty cache (the first
run on a machine bundles Vega's scripts, about 1.3 s, in a process of its own while it reads
the marts), then warm. Figures go to stdout and to bench-results/dashboard.json.

    .venv/bin/python scripts/bench_dashboard.py [--days 730] [--distribution day|hour]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.livechat_reports import build_pipeline, run_load  # noqa: E402
from sources.livechat.credentials import PersonalAccessTokenCredentials  # noqa: E402
from sources.livechat.options import LoadOptions  # noqa: E402
from sources.livechat_emulator import Emulator, ReportsAPI  # noqa: E402

NOW = dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.timezone.utc)
TARGET_SECONDS = 3.0


def bench(days: int, distribution: str, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["DLT_DATA_DIR"] = str(workdir / "dlt")
        database = workdir / "bench.duckdb"
        credentials = PersonalAccessTokenCredentials()
        credentials.account_id, credentials.personal_access_token = "demo", "demo-pat"
        with Emulator(ReportsAPI(now=NOW.timestamp())) as emulator:
            pipeline = build_pipeline(
                "bench_dashboard", "duckdb", "livechat_reports", str(database)
            )
            summary = run_load(
                pipeline,
                LoadOptions(
                    **{
                        "credentials": credentials,
                        "base_url": emulator.url,
                        "today": NOW.date(),
                        "start_date": NOW.date() - dt.timedelta(days=days - 1),
                        "distribution": distribution,
                    }
                ),
            )
        command = [
            str(Path(sys.executable).with_name("livechat-reports")), "dashboard",
            "--duckdb-file", str(database), "--out", str(workdir / "dashboard.html"),
        ]  # fmt: skip
        # An empty cache of its own: the first run bundles Vega's scripts into it.
        env = {**os.environ, "XDG_CACHE_HOME": str(workdir / "cache")}
        seconds = []
        for _ in range(runs + 1):
            started = time.monotonic()
            subprocess.run(command, env=env, check=True, capture_output=True)
            seconds.append(round(time.monotonic() - started, 2))
        return {
            "days": days,
            "distribution": distribution,
            "rows_loaded": sum(summary.rows.values()),
            "first_run_seconds": seconds[0],
            "seconds": sorted(seconds[1:])[len(seconds[1:]) // 2],  # the median warm run
            "warm_runs": seconds[1:],
            "page_mb": round((workdir / "dashboard.html").stat().st_size / 1e6, 2),
            "target_seconds": TARGET_SECONDS,
            "load_average": round(os.getloadavg()[0], 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=730, help="days of data (two years)")
    parser.add_argument("--distribution", default="day", help="day or hour")
    parser.add_argument("--runs", type=int, default=5, help="warm runs (the median is reported)")
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    result = bench(args.days, args.distribution, args.runs)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"dashboard-{args.distribution}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
