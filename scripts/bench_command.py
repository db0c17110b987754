"""Benchmark the command as people run it: `livechat-reports load` as a process from a shell.

Against the emulator in its own process on loopback (50 ms per request by default), each run:

- `first load`: `livechat-reports load` into a fresh folder (30 days of every report, then the
  views built for the first time: dbt parses the package in full);
- `first load, parse shared`: `livechat-reports load` into another fresh folder, with the
  cache folder the first load filled: dbt starts from the package's parse that the first load
  shared (`transforms/runner.py`), as every fresh file does after the first on a machine;
- `first load, no views`: `load --no-transform` into a fresh folder: the difference to the first
  load is what building the views costs;
- `daily run`: `load --lookback-days 4` in the first folder: the same 5 days a next day's run
  loads (the last loaded day and 3 before it, and the new day), views unchanged (dbt skipped);
- `transform`: `livechat-reports transform` in the first folder (every model and test).

Each figure is the wall time of the process (start to exit) and its CPU time (its children's,
dbt included); the medians go to stdout and bench-results/bench-command.json. `--checkout DIR`
runs another checkout's modules with this environment, to compare two versions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


class Emulator:
    """The emulator in its own process, at real time, so the command's today is the API's."""

    def __init__(self, latency_ms: float) -> None:
        command = [sys.executable, "-m", "sources.livechat_emulator", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split(" on ", 1)[1].split("/v3.6")[0]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def command(
    argv: list[str], folder: Path, cache: Path, url: str, checkout: Path | None
) -> dict[str, Any]:
    """Run `livechat-reports ARGV` in FOLDER; return its wall and CPU seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SOURCES__LIVECHAT__CREDENTIALS__ACCOUNT_ID": "demo",
        "SOURCES__LIVECHAT__CREDENTIALS__PERSONAL_ACCESS_TOKEN": "demo-pat",
        "SOURCES__LIVECHAT__BASE_URL": url,
        "DLT_DATA_DIR": str(folder / "dlt"),
        "XDG_CACHE_HOME": str(cache),
    }
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "livechat-reports"), *argv], cwd=folder, env=env, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"livechat-reports {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    views = [line.strip() for line in done.stdout.splitlines() if "views:" in line]
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "load_average": round(os.getloadavg()[0], 1),
        "views": views[0] if views else done.stdout.strip().splitlines()[0],
    }


def one_run(index: int, tmp: Path, url: str, checkout: Path | None) -> dict[str, Any]:
    run = tmp / f"run{index}"
    cold = run / "cache"  # a cache folder of its own: nothing from an earlier run
    figures = {"first load": command(["load"], run / "a", cold, url, checkout)}
    figures["first load, parse shared"] = command(["load"], run / "b", cold, url, checkout)
    figures["first load, no views"] = command(
        ["load", "--no-transform"], run / "c", cold, url, checkout
    )
    figures["daily run"] = command(["load", "--lookback-days", "4"], run / "a", cold, url, checkout)
    figures["transform"] = command(["transform"], run / "a", cold, url, checkout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--checkout", type=Path, help="run this checkout's modules instead")
    parser.add_argument("--out", default="bench-command.json")
    args = parser.parse_args()
    emulator = Emulator(args.latency_ms)
    runs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for index in range(args.runs):
                runs.append(one_run(index, Path(tmp), emulator.url, args.checkout))
                print(json.dumps(runs[-1]), file=sys.stderr)
    finally:
        emulator.stop()
    medians = {
        what: {
            "seconds": statistics.median(r[what]["seconds"] for r in runs),
            "cpu_seconds": statistics.median(r[what]["cpu_seconds"] for r in runs),
            "load_average": statistics.median(r[what]["load_average"] for r in runs),
        }
        for what in runs[0]
    }
    medians["views built (first load)"] = runs[0]["first load"]["views"]  # type: ignore[assignment]
    results = {"checkout": str(args.checkout or ROOT), "medians": medians, "runs": runs}
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    (out / args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(medians, indent=2))


if __name__ == "__main__":
    main()
