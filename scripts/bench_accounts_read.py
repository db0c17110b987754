"""Benchmark: reading many accounts, as sections or from an accounts file, up to the first request.

Run with `PYTHONPATH=$PWD .venv/bin/python scripts/bench_accounts_read.py` (`--accounts N`,
default 10,000; `--checkout PATH` runs another checkout of the project, e.g. the version
before, with the same settings; `--skip-first-request` measures the reading only). Each
measure is a new process started by this script, as a shell would start it, in a temporary
folder:

- `read`: a Python process that imports `pipelines.accounts` and calls what `load` calls to
  read the configuration (`configured_names`, `read_accounts`, `configured_account_ids`) and
  validates every account's settings (`validate_accounts`); the process's wall and CPU time, and
  the calls' own time measured inside it.
- `first request`: `livechat-reports load --no-transform` into a fresh DuckDB file, its
  `base_url` a loopback socket this script listens on; the time from starting the process
  until that socket is connected (the command's first request), and the CPU the process used
  until then (it is killed at that moment).

The configurations: `sections` (every account a section in environment variables:
`SOURCES__LIVECHAT__ACCOUNTS__A00000__ACCOUNT_ID`, `..._PERSONAL_ACCESS_TOKEN`), `toml` (the
same sections in `.dlt/secrets.toml`), `csv` and `jsonl` (the accounts in a file, their tokens
in environment variables). Rows go to bench-results/bench_accounts_read.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATIONS = ("sections", "toml", "csv", "jsonl")

READ = """
import json, time
started = time.perf_counter()
from pipelines.accounts import (
    validate_accounts, validate_no_single_account, configured_account_ids, configured_names,
    read_accounts,
)
from sources.livechat.options import LoadOptions
imported = time.perf_counter()
validate_no_single_account(configured_names())
accounts = read_accounts()
ids = configured_account_ids()
read = time.perf_counter()
validate_accounts(accounts, LoadOptions(configured_accounts=ids))
checked = time.perf_counter()
print(json.dumps({"accounts": len(accounts), "ids": len(ids), "import_s": imported - started,
                  "read_s": read - imported, "check_s": checked - read}))
"""


def name(index: int) -> str:
    return f"a{index:05d}"


def configure(kind: str, count: int, folder: Path) -> dict[str, str]:
    """Write the accounts of configuration `kind` into `folder`; return the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update(
        PYTHONPATH=str(ROOT_IN_USE),
        DLT_DATA_DIR=str(folder / "dlt"),  # the pipelines' state too: nothing from a run before
        RUNTIME__DLTHUB_TELEMETRY="false",
        SOURCES__LIVECHAT__BACKOFF_SECONDS="0",
        SOURCES__LIVECHAT__MAX_ATTEMPTS="1",
    )
    prefix = "SOURCES__LIVECHAT__ACCOUNTS__"
    if kind == "sections":
        for i in range(count):
            env[f"{prefix}{name(i).upper()}__ACCOUNT_ID"] = f"id-{i}"
            env[f"{prefix}{name(i).upper()}__PERSONAL_ACCESS_TOKEN"] = f"pat-{i}"
    elif kind == "toml":
        (folder / ".dlt").mkdir()
        sections = (
            f'[sources.livechat.accounts.{name(i)}]\naccount_id = "id-{i}"\n'
            f'personal_access_token = "pat-{i}"\n'
            for i in range(count)
        )
        (folder / ".dlt" / "secrets.toml").write_text("".join(sections), encoding="utf-8")
    else:
        for i in range(count):
            env[f"{prefix}{name(i).upper()}__PERSONAL_ACCESS_TOKEN"] = f"pat-{i}"
        if kind == "csv":
            lines = ["name,account_id\n", *(f"{name(i)},id-{i}\n" for i in range(count))]
        else:
            lines = [
                json.dumps({"name": name(i), "account_id": f"id-{i}"}) + "\n" for i in range(count)
            ]
        (folder / f"accounts.{kind}").write_text("".join(lines), encoding="utf-8")
        env["SOURCES__LIVECHAT__ACCOUNTS_FILE"] = f"accounts.{kind}"
    return env


def measure_read(env: dict[str, str], folder: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", READ], env=env, cwd=folder, capture_output=True, text=True
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"reading failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_s"] = wall
    figures["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return figures


def measure_first_request(env: dict[str, str], folder: Path, limit: float) -> dict[str, Any]:
    """Start `load`, wait for its first connection to a loopback socket, then stop it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = {
            **env,
            "SOURCES__LIVECHAT__BASE_URL": f"http://127.0.0.1:{listener.getsockname()[1]}",
        }
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "load", "--no-transform"],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        ready, _, _ = select.select([listener], [], [], limit)
        wall = time.monotonic() - started
        exited = process.poll()
        process.send_signal(signal.SIGKILL)
        _, _, usage = os.wait4(process.pid, 0)
        stderr = process.stderr.read().decode() if process.stderr else ""
    if not ready:
        why = f"exited with {exited}: {stderr[-2000:]}" if exited is not None else "timed out"
        return {"first_request_s": None, "error": why}
    return {"first_request_s": wall, "first_request_cpu_s": usage.ru_utime + usage.ru_stime}


def uptime() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    global ROOT_IN_USE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--only", choices=CONFIGURATIONS, action="append")
    parser.add_argument("--checkout", type=Path, help="run this checkout's code instead")
    parser.add_argument("--skip-first-request", action="store_true")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds to wait for a request")
    args = parser.parse_args()
    ROOT_IN_USE = (args.checkout or ROOT).resolve()
    rows: list[dict[str, Any]] = []
    for kind in args.only or CONFIGURATIONS:
        with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
            folder = Path(tmp)
            env = configure(kind, args.accounts, folder)
            row: dict[str, Any] = {"configuration": kind, "accounts": args.accounts}
            row["load_before"] = uptime()
            try:
                row.update(measure_read(env, folder))
            except SystemExit as error:
                row["error"] = str(error)[-500:]
            if not args.skip_first_request and "error" not in row:
                row.update(measure_first_request(env, folder, args.limit))
            row["load_after"] = uptime()
            row["code"] = str(ROOT_IN_USE)
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = ROOT / "bench-results" / "bench_accounts_read.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    def seconds(value: Any) -> str:
        return "-" if value is None else f"{value:.2f}"

    def cpu(row: dict[str, Any], key: str) -> str:
        return seconds(row.get(key))

    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("configuration", lambda r: r["configuration"]),
        ("accounts", lambda r: f"{r['accounts']:,}"),
        (
            "read: process wall/CPU s",
            lambda r: f"{seconds(r.get('wall_s'))} / {seconds(r.get('cpu_s'))}",
        ),
        ("read calls s", lambda r: seconds(r.get("read_s"))),
        ("validate_accounts s", lambda r: seconds(r.get("check_s"))),
        (
            "load to first request wall/CPU s",
            lambda r: (
                f"{seconds(r.get('first_request_s'))} / {seconds(r.get('first_request_cpu_s'))}"
            ),
        ),
        ("load average", lambda r: f"{r['load_before']} .. {r['load_after']}"),
    ]
    lines = ["| " + " | ".join(c for c, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(f(r) for _, f in columns) + " |" for r in rows]
    return "\n".join(lines)


ROOT_IN_USE = ROOT

if __name__ == "__main__":
    main()
