"""Benchmark: backfill speed against the request-plan ideal, a daily run, peak memory, groups.

Run with `make bench` (or `.venv/bin/python scripts/bench.py --help`). Everything runs against
the emulator on loopback with a fixed latency per request; figures go to stdout as a table and
to bench-results/bench.json.
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
from sources.livechat.plan import plan_requests  # noqa: E402
from sources.livechat.settings import resolve_settings  # noqa: E402
from sources.livechat.windows import Window  # noqa: E402
from sources.livechat_emulator import Emulator, ReportsAPI, Switches  # noqa: E402
from transforms import run_transforms  # noqa: E402

NOW = dt.datetime(2026, 11, 18, 15, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()


def credentials() -> PersonalAccessTokenCredentials:
    creds = PersonalAccessTokenCredentials()
    creds.account_id, creds.personal_access_token = "demo", "demo-pat"
    return creds


def load(
    emulator: Any,
    workdir: Path,
    today: dt.date,
    concurrency: int,
    transform: bool = False,
    **options: Any,
) -> tuple[float, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"bench_{workdir.name}"
    pipeline = build_pipeline(name, "duckdb", "livechat_reports", str(workdir / "bench.duckdb"))
    started = time.monotonic()
    summary = run_load(
        pipeline,
        LoadOptions(
            **{
                "credentials": credentials(),
                "base_url": emulator.url,
                "today": today,
                "max_concurrency": concurrency,
                **options,
            }
        ),
        transform=transform,
    )
    return time.monotonic() - started, summary


def bench_backfill(days: int, latency_ms: float, concurrency: int) -> dict[str, Any]:
    """A backfill of every report, then the next day's incremental run."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["DLT_DATA_DIR"] = str(workdir / "dlt")
        with Emulator(ReportsAPI(now=NOW.timestamp())) as emulator:
            # An "empty" run: one report, one day, no latency: dlt's fixed cost per run.
            empty_seconds, _ = load(
                emulator, workdir / "empty", TODAY, concurrency,
                start_date=TODAY, end_date=TODAY, backfill=True, reports=["chats_total_chats"],
            )  # fmt: skip
            emulator.switches = Switches(latency_ms=latency_ms)
            first = TODAY - dt.timedelta(days=days - 1)
            emulator.stats.reset()
            seconds, summary = load(emulator, workdir, TODAY, concurrency, start_date=first)
            requests = emulator.stats.total()
            ideal = requests * latency_ms / 1000 / concurrency + empty_seconds
            # the transforms: a full dbt build (models and tests) over the backfilled tables
            pipeline = build_pipeline(
                f"bench_{workdir.name}", "duckdb", "livechat_reports", str(workdir / "bench.duckdb")
            )
            started = time.monotonic()
            transform = run_transforms(pipeline, force=True)
            dbt_seconds = time.monotonic() - started
            # the next day: the clock moves, the incremental run loads the lookback window and
            # finds the models unchanged (dbt is skipped)
            emulator.api.now = (NOW + dt.timedelta(days=1)).timestamp()
            emulator.stats.reset()
            daily_seconds, daily = load(
                emulator, workdir, TODAY + dt.timedelta(days=1), concurrency, transform=True
            )
            return {
                "days": days,
                "latency_ms": latency_ms,
                "max_concurrency": concurrency,
                "requests": requests,
                "summary_requests": summary.requests,
                "rows": sum(summary.rows.values()),
                "seconds": round(seconds, 2),
                "empty_run_seconds": round(empty_seconds, 2),
                "ideal_seconds": round(ideal, 2),
                "ratio_to_ideal": round(seconds / ideal, 3),
                "max_in_flight": emulator.stats.max_in_flight,
                "dbt_build_seconds": round(dbt_seconds, 2),
                "dbt_build_views": len(transform.built),
                "dbt_build_tests": transform.tests,
                "daily_run_seconds": round(daily_seconds, 2),
                "daily_run_views": "unchanged" if daily.transform.unchanged else "built",
                "daily_run_requests": daily.requests,
            }


def group_plan(days: int, groups: list[int]) -> int:
    """Requests the source plans for a backfill of every report broken down by `groups`.

    One page per day of chats/queued_visitors_left (the answers may announce more).
    """
    first = TODAY - dt.timedelta(days=days - 1)
    settings = resolve_settings(
        account_id="demo", timezone="UTC", start_date=first, end_date=TODAY, backfill=True,
        lookback_days=3, window_days=31, distribution="day", reports=None, filters=None,
        today=TODAY, breakdowns=["group"], breakdown_groups=groups,
    )  # fmt: skip
    window = Window(first, TODAY)
    return sum(
        len(plan_requests(spec, window, settings.window_days, groups))
        for spec in settings.resources
    )


def bench_groups(days: int, groups: int, latency_ms: float, concurrency: int) -> dict[str, Any]:
    """A backfill of every report, each that can also per group (`groups` group ids)."""
    ids = list(range(groups))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["DLT_DATA_DIR"] = str(workdir / "dlt")
        with Emulator(ReportsAPI(now=NOW.timestamp())) as emulator:
            empty_seconds, _ = load(
                emulator, workdir / "empty", TODAY, concurrency,
                start_date=TODAY, end_date=TODAY, backfill=True, reports=["chats_total_chats"],
            )  # fmt: skip
            emulator.switches = Switches(latency_ms=latency_ms)
            emulator.stats.reset()
            first = TODAY - dt.timedelta(days=days - 1)
            seconds, summary = load(
                emulator, workdir, TODAY, concurrency, start_date=first,
                breakdowns=["group"], breakdown_groups=ids,
            )  # fmt: skip
            requests = emulator.stats.total()
            pages = sum(emulator.stats.statuses_by_report["chats/queued_visitors_left"].values())
            plan = group_plan(days, ids) + pages - days
            ideal = requests * latency_ms / 1000 / concurrency + empty_seconds
            return {
                "days": days,
                "groups": groups,
                "latency_ms": latency_ms,
                "max_concurrency": concurrency,
                "requests": requests,
                "planned_requests": plan,
                "summary_requests": summary.requests,
                "rows": sum(summary.rows.values()),
                "seconds": round(seconds, 2),
                "empty_run_seconds": round(empty_seconds, 2),
                "ideal_seconds": round(ideal, 2),
                "ratio_to_ideal": round(seconds / ideal, 3),
            }


class _Remote:
    """An emulator in its own process, so its memory does not count as the pipeline's."""

    def __init__(self) -> None:
        command = [sys.executable, "-m", "sources.livechat_emulator", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--now", NOW.isoformat()], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split(" on ", 1)[1].split("/v3.6")[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def own_peak_rss_kb() -> int:
    """Return this process's peak resident memory since it started its program.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux carries the parent's resident memory at the
    fork into the child's figure (a child that runs `pass` under a 600 MB parent reports 583 MB),
    so the benchmark's parent, big after the backfill, showed through. `VmHWM` is the high-water
    mark of this program's own memory map, which `exec` starts afresh.
    """
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(status.split("VmHWM:", 1)[1].split()[0])


def child_memory(days: int) -> None:
    """Run a two-year hourly backfill in this process (called in a subprocess)."""
    remote = _Remote()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            os.environ["DLT_DATA_DIR"] = str(workdir / "dlt")
            first = TODAY - dt.timedelta(days=days - 1)
            seconds, summary = load(
                remote, workdir, TODAY, 4, start_date=first, distribution="hour"
            )
    finally:
        remote.stop()
    peak_kb = own_peak_rss_kb()
    figures = {
        "rows": sum(summary.rows.values()),
        "requests": summary.requests,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    print(json.dumps(figures))


def bench_memory(days: int) -> dict[str, Any]:
    """Peak resident memory of a long hourly backfill (the pipeline's process only)."""
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(days)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["days"] = days
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365, help="backfill length")
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="emulated latency per request"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="max_concurrency")
    parser.add_argument(
        "--memory-days", type=int, default=730, help="hourly backfill for the memory check"
    )
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--groups",
        type=int,
        default=0,
        help="only the group breakdown: a --days backfill broken down by this many groups",
    )
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    if args.memory_child:
        child_memory(args.memory_child)
        return
    if args.groups:
        figures = bench_groups(args.days, args.groups, args.latency_ms, args.concurrency)
        out = ROOT / "bench-results"
        out.mkdir(exist_ok=True)
        (out / "bench-groups.json").write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures, indent=2))
        return
    results = {"backfill": bench_backfill(args.days, args.latency_ms, args.concurrency)}
    if not args.skip_memory:
        results["memory"] = bench_memory(args.memory_days)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
