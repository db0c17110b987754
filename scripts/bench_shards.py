"""Benchmark: accounts loaded in shards, against the former per-account design.

Run with `PYTHONPATH=$PWD .venv/bin/python scripts/bench_shards.py` (`--help` for the sizes;
`--only NAME` runs one configuration). The emulator serves generated accounts (`acct<i>`,
token `token-acct<i>`) in this process with a fixed latency per request, on a rehearsed clock
(`LIVECHAT_REPORTS_NOW` is the emulator's `now`, so "today" is the same for both). Each load is
`livechat-reports load --no-transform` in a child process, on a fresh DuckDB file or
PostgreSQL database, so its figures are its own.

Before timing, the emulator generates every account's days (`GeneratedAccounts.generate`):
generating a day costs ~2 ms of CPU, 20 days an account with the monthly unique visitors, and
on a two-core machine an emulator busy generating answers later than its set latency, so the
bound no longer holds for the API it stands for. `--cold` skips it, to see that cost. Each row
reports the emulator's mean answer time (headers read to answer written: the set latency plus
its own work) and the days it still had to generate during the load. The configurations:

- `shards`: `--accounts` accounts in `--shards` shards (DuckDB, and PostgreSQL when a private
  cluster can be started with `tests/postgres.py`);
- `fallback`: `--fallback-accounts` in `--fallback-shards` shards (a smaller `shards`);
- `one_shard`: `--baseline-accounts` in one shard, the memory baseline;
- `per_account`: the same accounts each in a shard of its own (section `shard = i`), which is
  what the former per-account design did: a pipeline, a load and a staging dataset each.

For each it prints one row: wall time, the child's CPU time (user + system) and peak RSS, the
CPU time of this process (the emulator), the requests the emulator answered against the plan
(rows of the `report_requests` lineage table, one per page asked for, and their attempts), the
request bound (requests x latency / (min(shards, shard concurrency) x max_concurrency)), the
ratio of wall time to it, the loads the run added (`_dlt_loads` rows), the load ids per data
table (min..max over the tables; `chats_total_chats` alone too) and the staging datasets; also
the requests in flight, sampled every 0.25 s (mean, and per 10 s of the load: the stretches where
fewer than the run's concurrency are in flight show where the load does not request). The rows
also go to bench-results/bench_shards.json, each load's output to bench-results/logs/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.accounts import DEFAULT_SHARD_CONCURRENCY  # noqa: E402
from sources.livechat_emulator import Emulator, GeneratedAccounts, Switches, license  # noqa: E402

TODAY = dt.date(2026, 11, 20)
NOW = dt.datetime.combine(TODAY, dt.time(6), dt.timezone.utc)
DATASET = "livechat_reports"
RECORDS = ("report_requests", "account_loads", "account_cursors")

# Runs the load as its own child and writes that child's resource usage. A child's
# `ru_maxrss` starts from its parent's resident memory at the fork (Linux carries it across
# `exec`), and this process holds the emulator; this launcher is small.
LAUNCHER = (
    "import json, os, subprocess, sys\n"
    "process = subprocess.Popen(sys.argv[1:])\n"
    "_, status, usage = os.wait4(process.pid, 0)\n"
    "open('usage.json', 'w').write(json.dumps({'maxrss_kb': usage.ru_maxrss,"
    " 'cpu': usage.ru_utime + usage.ru_stime}))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


@dataclass
class Config:
    """One configuration to measure."""

    name: str
    accounts: int
    shards: int
    destination: str  # duckdb or postgres
    own_shard: bool = False  # each account its own shard (the per-account design)


@dataclass
class Result:
    """What one configuration measured."""

    name: str
    destination: str
    accounts: int
    shards: int
    shards_loading_at_once: int
    max_concurrency: int
    account_concurrency: int
    total_concurrency: int
    days: int
    latency_ms: float
    mean_answer_ms: float  # the emulator's, from headers read to answer written
    days_generated: int  # days the emulator generated during the load (0 when warmed)
    wall_seconds: float
    child_cpu_seconds: float
    children_cpu_seconds: float  # getrusage(RUSAGE_CHILDREN) delta: launcher and load
    emulator_cpu_seconds: float  # this process's CPU time during the load
    peak_rss_mb: float
    requests: int
    planned_pages: int  # rows of report_requests
    planned_attempts: int  # their attempts, retries included
    max_in_flight: int
    mean_in_flight: float  # requests in flight, sampled every 0.25 s over the load
    in_flight_by_10s: list[float]  # their mean per 10 s of the load: where the requests stall
    bound_seconds: float
    ratio_to_bound: float
    loads: int  # rows of _dlt_loads the run added
    load_ids_chats_total_chats: int
    load_ids_per_table_min: int
    load_ids_per_table_max: int
    data_tables: int
    staging_datasets: int
    summary: str


def names(count: int) -> list[str]:
    return [f"acct{i}" for i in range(count)]


def load_env(
    url: str, config: Config, days: int, max_concurrency: int, work: Path
) -> dict[str, str]:
    """The environment of a load: the account sections, the emulator, the clock."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SOURCES__LIVECHAT__", "DESTINATION__", "LIVECHAT_REPORTS_NOW"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DLT_DATA_DIR": str(work / "dlt"),
            "SOURCES__LIVECHAT__BASE_URL": url,
            "SOURCES__LIVECHAT__START_DATE": (TODAY - dt.timedelta(days=days - 1)).isoformat(),
            "SOURCES__LIVECHAT__MAX_CONCURRENCY": str(max_concurrency),
            "SOURCES__LIVECHAT__SHARDS": str(config.shards),
            "LIVECHAT_REPORTS_NOW": NOW.isoformat(),
            "RUNTIME__LOG_LEVEL": "WARNING",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
    )
    for index, name in enumerate(names(config.accounts)):
        prefix = f"SOURCES__LIVECHAT__ACCOUNTS__{name.upper()}__"
        env[prefix + "ACCOUNT_ID"] = name
        env[prefix + "PERSONAL_ACCESS_TOKEN"] = f"token-{name}"
        if config.own_shard:
            env[prefix + "SHARD"] = str(index)
    return env


def run_child(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run a load in a child process; return its wall time, CPU, peak RSS and output."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    with open(cwd / "out.log", "w+", encoding="utf-8") as out:
        status = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *command],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        ).wait()
        seconds = time.monotonic() - started
        out.seek(0)
        output = out.read()
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    after_own = resource.getrusage(resource.RUSAGE_SELF)
    if status != 0:
        raise SystemExit(f"{command[:3]} failed ({status}):\n{output[-3000:]}")
    usage = json.loads((cwd / "usage.json").read_text())

    def cpu(before: resource.struct_rusage, after: resource.struct_rusage) -> float:
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    return {
        "seconds": seconds,
        "child_cpu": usage["cpu"],
        "children_cpu": cpu(children, after_children),
        "own_cpu": cpu(own, after_own),
        "peak_mb": usage["maxrss_kb"] / 1024,
        "output": output,
    }


@contextmanager
def sampled_in_flight(emulator: Emulator, every: float = 0.25) -> Iterator[list[int]]:
    """Sample the emulator's requests in flight meanwhile (the list fills as it runs)."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            samples.append(emulator.stats.in_flight)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join()


def duckdb_reader(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    import duckdb

    def run(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(path), read_only=True) as connection:
            return connection.sql(sql).fetchall()

    return run


def postgres_reader(url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    import psycopg2

    def run(sql: str) -> list[tuple[Any, ...]]:
        connection = psycopg2.connect(url)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()

    return run


def destination_figures(run: Callable[[str], list[tuple[Any, ...]]]) -> dict[str, int]:
    """Loads, load ids per data table, staging datasets and the request plan of a fresh dataset."""
    tables = [
        row[0]
        for row in run(
            "select table_name from information_schema.tables"
            f" where table_schema = '{DATASET}' and table_name not like '\\_dlt%' escape '\\'"
        )
        if row[0] not in RECORDS
    ]
    per_table = [
        run(f"select count(distinct _dlt_load_id) from {DATASET}.{table}")[0][0] for table in tables
    ]
    per_table = [n for n in per_table if n]  # a table without rows has no load
    plan = run(f"select count(*), coalesce(sum(attempts), 0) from {DATASET}.report_requests")[0]
    staging = run(
        "select count(*) from information_schema.schemata"
        f" where schema_name like '{DATASET}\\_staging\\_%' escape '\\'"
    )[0][0]
    return {
        "loads": run(f"select count(*) from {DATASET}._dlt_loads")[0][0],
        "chats": run(f"select count(distinct _dlt_load_id) from {DATASET}.chats_total_chats")[0][0],
        "per_table_min": min(per_table, default=0),
        "per_table_max": max(per_table, default=0),
        "tables": len(per_table),
        "staging": staging,
        "pages": plan[0],
        "attempts": int(plan[1]),
    }


def measure(
    emulator: Emulator,
    config: Config,
    args: argparse.Namespace,
    postgres_url: str | None,
) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        work = Path(tmp)
        env = load_env(emulator.url, config, args.days, args.max_concurrency, work)
        command = [str(Path(sys.executable).parent / "livechat-reports"), "load", "--no-transform"]
        if config.destination == "postgres":
            assert postgres_url is not None
            from tests.postgres import create_database

            url = create_database(postgres_url, f"bench_{config.name}")
            env["DESTINATION__POSTGRES__CREDENTIALS"] = url
            command += ["--destination", "postgres"]
            reader = postgres_reader(url)
        else:
            command += ["--duckdb-file", str(work / "bench.duckdb")]
            reader = duckdb_reader(work / "bench.duckdb")
        emulator.stats.reset()
        generated_before = license.generate_day.cache_info().misses
        with sampled_in_flight(emulator) as samples:
            figures = run_child(command, env, work)
        days_generated = license.generate_day.cache_info().misses - generated_before
        stats = emulator.stats
        mean_answer_ms = stats.answer_seconds / stats.finished * 1000 if stats.finished else 0.0
        requests = emulator.stats.total()
        max_in_flight = emulator.stats.max_in_flight
        found = destination_figures(reader)
        logs = ROOT / "bench-results" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"{config.name}_{config.destination}.log").write_text(figures["output"])
    at_once = min(config.shards, DEFAULT_SHARD_CONCURRENCY)
    total_concurrency = at_once * args.max_concurrency
    bound = requests * args.latency_ms / 1000 / total_concurrency
    lines = [line for line in figures["output"].splitlines() if line.startswith("Loaded")]
    return Result(
        name=config.name,
        destination=config.destination,
        accounts=config.accounts,
        shards=config.shards,
        shards_loading_at_once=at_once,
        max_concurrency=args.max_concurrency,
        account_concurrency=args.max_concurrency,
        total_concurrency=total_concurrency,
        days=args.days,
        latency_ms=args.latency_ms,
        mean_answer_ms=round(mean_answer_ms, 1),
        days_generated=days_generated,
        wall_seconds=round(figures["seconds"], 1),
        child_cpu_seconds=round(figures["child_cpu"], 1),
        children_cpu_seconds=round(figures["children_cpu"], 1),
        emulator_cpu_seconds=round(figures["own_cpu"], 1),
        peak_rss_mb=round(figures["peak_mb"], 1),
        requests=requests,
        planned_pages=found["pages"],
        planned_attempts=found["attempts"],
        max_in_flight=max_in_flight,
        mean_in_flight=round(sum(samples) / len(samples), 1) if samples else 0.0,
        in_flight_by_10s=[
            round(sum(chunk) / len(chunk), 1)
            for chunk in (samples[i : i + 40] for i in range(0, len(samples), 40))
        ],
        bound_seconds=round(bound, 1),
        ratio_to_bound=round(figures["seconds"] / bound, 2) if bound else 0.0,
        loads=found["loads"],
        load_ids_chats_total_chats=found["chats"],
        load_ids_per_table_min=found["per_table_min"],
        load_ids_per_table_max=found["per_table_max"],
        data_tables=found["tables"],
        staging_datasets=found["staging"],
        summary=lines[-1] if lines else figures["output"].strip()[-200:],
    )


COLUMNS = (
    ("config", lambda r: f"{r.name}/{r.destination}"),
    ("acc", lambda r: r.accounts),
    ("shards", lambda r: r.shards),
    ("conc", lambda r: f"{r.shards_loading_at_once}x{r.max_concurrency}"),
    ("wall s", lambda r: r.wall_seconds),
    ("cpu s", lambda r: r.child_cpu_seconds),
    ("emu cpu s", lambda r: r.emulator_cpu_seconds),
    ("answer ms", lambda r: r.mean_answer_ms),
    ("gen days", lambda r: r.days_generated),
    ("rss MB", lambda r: r.peak_rss_mb),
    ("in flight", lambda r: f"{r.mean_in_flight}/{r.max_in_flight}"),
    ("requests", lambda r: r.requests),
    ("plan", lambda r: f"{r.planned_pages}/{r.planned_attempts}"),
    ("bound s", lambda r: r.bound_seconds),
    ("wall/bound", lambda r: r.ratio_to_bound),
    ("loads", lambda r: r.loads),
    ("ids/table", lambda r: f"{r.load_ids_per_table_min}..{r.load_ids_per_table_max}"),
    ("ids chats", lambda r: r.load_ids_chats_total_chats),
    ("staging", lambda r: r.staging_datasets),
)


def table(results: list[Result]) -> str:
    rows = [[name for name, _ in COLUMNS]] + [[str(f(r)) for _, f in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


@contextmanager
def postgres(enabled: bool) -> Iterator[str | None]:
    """A private PostgreSQL server (tests/postgres.py), or None when off or unavailable."""
    if not enabled:
        yield None
        return
    from tests.postgres import PostgresUnavailable, postgres_server

    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as error:
        print(f"PostgreSQL skipped: {error}", file=sys.stderr)
        yield None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=1000, help="of the `shards` run")
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--fallback-accounts", type=int, default=300)
    parser.add_argument("--fallback-shards", type=int, default=3)
    parser.add_argument("--baseline-accounts", type=int, default=100, help="one shard, per-account")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--max-concurrency", type=int, default=4, help="requests per shard")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--cold", action="store_true", help="do not generate the accounts' days before timing"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=["shards", "fallback", "one_shard", "per_account"],
        help="run only these configurations (repeatable; default all)",
    )
    args = parser.parse_args()
    chosen = set(args.only or ["shards", "fallback", "one_shard", "per_account"])
    configs = [
        Config("shards", args.accounts, args.shards, "duckdb"),
        Config("shards", args.accounts, args.shards, "postgres"),
        Config("fallback", args.fallback_accounts, args.fallback_shards, "duckdb"),
        Config("one_shard", args.baseline_accounts, 1, "duckdb"),
        Config("per_account", args.baseline_accounts, args.baseline_accounts, "duckdb", True),
    ]
    configs = [c for c in configs if c.name in chosen]
    count = max(c.accounts for c in configs)
    api = GeneratedAccounts(count, now=NOW.timestamp())
    if not args.cold:
        started = time.monotonic()
        first, last = requested_days(args.days)
        generated = api.generate(first, last)
        print(
            f"Generated {generated} days of {count} accounts ({first}..{last})"
            f" in {time.monotonic() - started:.1f} s, before timing.",
            flush=True,
        )
    results: list[Result] = []
    uptimes: list[str] = []
    wants_postgres = not args.no_postgres and any(c.destination == "postgres" for c in configs)
    with (
        postgres(wants_postgres) as postgres_url,
        Emulator(api, Switches(latency_ms=args.latency_ms)) as emulator,
    ):
        for config in configs:
            if config.destination == "postgres" and postgres_url is None:
                continue
            uptimes.append(f"before {config.name}/{config.destination}: {uptime()}")
            results.append(measure(emulator, config, args, postgres_url))
            print(json.dumps(asdict(results[-1])), flush=True)
    uptimes.append(f"after: {uptime()}")
    print()
    print(table(results))
    print("\n".join(uptimes))
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / "bench_shards.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    runs = previous.get("runs", []) if isinstance(previous, dict) else []
    runs.append(
        {
            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "argv": sys.argv[1:],
            "cpus": os.cpu_count(),
            "uptime": uptimes,
            "results": [asdict(r) for r in results],
        }
    )
    path.write_text(json.dumps({"runs": runs}, indent=2))


def requested_days(days: int) -> tuple[dt.date, dt.date]:
    """The UTC days a load of `days` days up to TODAY asks for: its weeks and months too.

    Unique visitors are asked for the whole week and month of every loaded day (they do not
    add up from days), so the first is the earlier of the first loaded day's Monday and the
    first of its month.
    """
    start = TODAY - dt.timedelta(days=days - 1)
    return min(start - dt.timedelta(days=start.weekday()), start.replace(day=1)), TODAY


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
