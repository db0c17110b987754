"""Benchmark: many accounts through `livechat-reports load` and through Dagster, in process.

Run with `.venv/bin/python scripts/bench_accounts.py` (`--help` for the sizes). The emulator
serves every account in this process with a fixed latency per request; each load runs in a
child process, so its peak RSS is its own. For each way it prints the requests, the wall time,
the request-plan bound (requests x latency / (accounts in parallel x max_concurrency)) and the
peak RSS; the figures also go to bench-results/bench_accounts.json. Only the report tables are
loaded (no views) in both, so the two compare like for like.
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

from sources.livechat_emulator import Emulator, ReportsAPI, Switches  # noqa: E402
from sources.livechat_emulator.accounts import Accounts  # noqa: E402

MAX_CONCURRENCY = 4  # the source's default, per account


def names(count: int) -> list[str]:
    return [f"acct{i:03d}" for i in range(count)]


def account_env(url: str, count: int, days: int) -> dict[str, str]:
    """The environment of a load: the account sections, the emulator, the first day."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__LIVECHAT__", "DESTINATION__"))
    }
    today = dt.datetime.now(dt.timezone.utc).date()
    env.update(
        {
            "SOURCES__LIVECHAT__BASE_URL": url,
            "SOURCES__LIVECHAT__START_DATE": (today - dt.timedelta(days=days - 1)).isoformat(),
            "SOURCES__LIVECHAT__MAX_CONCURRENCY": str(MAX_CONCURRENCY),
            "RUNTIME__LOG_LEVEL": "WARNING",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    for name in names(count):
        prefix = f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__"
        env[prefix + "ACCOUNT_ID"] = f"{name}-id"
        env[prefix + "PERSONAL_ACCESS_TOKEN"] = f"pat-{name}"
    return env


# Runs the load as its own child and writes that child's peak RSS. A child's `ru_maxrss`
# includes its parent's resident memory at the fork (Linux carries it across `exec`), and this
# script's process holds the emulator of every account; this launcher is small.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "process = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "open('peak_rss_kb', 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_child(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run a load in a child process; return its wall time, its peak RSS (MB) and its output."""
    started = time.monotonic()
    with open(cwd / "out.log", "w+", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *command],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        status = process.wait()
        seconds = time.monotonic() - started
        out.seek(0)
        output = out.read()
    if status != 0:
        raise SystemExit(f"{command[:3]} failed:\n{output[-3000:]}")
    return seconds, int((cwd / "peak_rss_kb").read_text()) / 1024, output


def measure(
    emulator: Emulator, way: str, count: int, days: int, parallel: int, latency_ms: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        work = Path(tmp)
        env = account_env(emulator.url, count, days)
        env["DLT_DATA_DIR"] = str(work / "dlt")
        if way == "command":
            command = [
                str(Path(sys.executable).parent / "livechat-reports"),
                "load",
                "--no-transform",
                "--account-concurrency",
                str(parallel),
                "--duckdb-file",
                str(work / "bench.duckdb"),
            ]
        else:
            command = [sys.executable, __file__, "--dagster-child", str(count)]
            env["BENCH_DUCKDB"] = str(work / "bench.duckdb")
        emulator.stats.reset()
        seconds, peak_mb, output = run_child(command, env, work)
        requests = emulator.stats.total()
        bound = requests * latency_ms / 1000 / (parallel * MAX_CONCURRENCY)
        return {
            "way": way,
            "accounts": count,
            "days": days,
            "latency_ms": latency_ms,
            "accounts_in_parallel": parallel,
            "max_concurrency": MAX_CONCURRENCY,
            "requests": requests,
            "seconds": round(seconds, 1),
            "plan_bound_seconds": round(bound, 1),
            "ratio_to_bound": round(seconds / bound, 2),
            "peak_rss_mb": round(peak_mb, 1),
            "tail": output.strip().splitlines()[-1:] if way == "command" else [],
        }


def dagster_child(count: int) -> None:
    """Materialize every shard's partition (`shards`, default 1), one run after another."""
    from dagster import DagsterInstance, materialize
    from dagster_dlt import DagsterDltResource

    from pipelines.accounts import shard_count
    from pipelines.orchestration.loads import report_assets
    from pipelines.orchestration.partitions import shard_partitions
    from pipelines.orchestration.warehouse import LiveChatWarehouse

    partitions = shard_partitions(shard_count())
    reports = report_assets(partitions)
    warehouse = LiveChatWarehouse(destination="duckdb", duckdb_file=os.environ["BENCH_DUCKDB"])
    # A real instance (SQLite files in the work folder), as `dagster dev` keeps its runs.
    home = Path.cwd() / "dagster_home"
    home.mkdir()
    with DagsterInstance.local_temp(tempdir=str(home)) as instance:
        for key in partitions.get_partition_keys():
            result = materialize(
                [reports],
                partition_key=key,
                resources={"dlt": DagsterDltResource(), "warehouse": warehouse},
                instance=instance,
                raise_on_error=False,
            )
            if not result.success:
                raise SystemExit(f"partition {key} of {count} accounts failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--account-concurrency", type=int, default=4, help="the command's")
    parser.add_argument("--skip-command", action="store_true")
    parser.add_argument("--skip-dagster", action="store_true")
    parser.add_argument("--dagster-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dagster_child:
        dagster_child(args.dagster_child)
        return
    api = Accounts(
        *(
            ReportsAPI(
                account_id=f"{name}-id",
                personal_access_token=f"pat-{name}",
                bearer_token=None,
                seed=index + 1,
            )
            for index, name in enumerate(names(args.accounts))
        )
    )
    results = []
    with Emulator(api, Switches(latency_ms=args.latency_ms)) as emulator:
        if not args.skip_command:
            results.append(
                measure(
                    emulator,
                    "command",
                    args.accounts,
                    args.days,
                    min(args.account_concurrency, args.accounts),
                    args.latency_ms,
                )
            )
            print(json.dumps(results[-1]), flush=True)
        if not args.skip_dagster:
            # Dagster's in-process executor: one run at a time, one account per run.
            results.append(
                measure(emulator, "dagster", args.accounts, args.days, 1, args.latency_ms)
            )
            print(json.dumps(results[-1]), flush=True)
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "bench_accounts.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
