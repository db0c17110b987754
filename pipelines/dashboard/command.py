"""The `dashboard` command: check the options, read the marts, write the file, say where."""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import (
    DEFAULT_MONTHS,
    DashboardError,
    DashboardResult,
    warm_bundle_cache,
    write_dashboard,
)
from .read import Marts, client_reader, duckdb_reader

DEFAULT_OUT = "livechat-dashboard.html"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the command's own options (the data-finding ones are `transform`'s)."""
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"the HTML file to write (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--account", help="only this account (default: every account, with a selector)"
    )
    parser.add_argument(
        "--months",
        type=int,
        default=DEFAULT_MONTHS,
        help=(
            "calendar months of weekly trends, heatmap and periods to pick"
            f" (default {DEFAULT_MONTHS})"
        ),
    )


def validate_options(args: argparse.Namespace) -> None:
    """Refuse bad options before anything is read.

    Raises:
        DashboardError: An option to fix (bad input).
    """
    if args.months < 1:
        raise DashboardError(f"--months must be 1 or more, got {args.months}.")
    out = Path(args.out).expanduser()
    if out.is_dir():
        raise DashboardError(
            f"--out `{out}` is a directory; give a file name, e.g. `{out / DEFAULT_OUT}`."
        )
    if not out.resolve().parent.is_dir():
        raise DashboardError(
            f"--out `{out}`: the directory `{out.resolve().parent}` does not exist; create it"
            " or write the file elsewhere."
        )


def read_marts(args: argparse.Namespace) -> Marts:
    """Read the marts from where `load` and `transform` write them, with the same options."""
    from pipelines.livechat_reports import build_pipeline, dataset_name_for, duckdb_path

    if args.destination == "duckdb":
        dataset = dataset_name_for(args.dataset)
        with duckdb_reader(duckdb_path(args.duckdb_file), dataset) as reader:
            return reader.read()
    pipeline: Any = build_pipeline(
        args.pipeline_name, args.destination, args.dataset, args.duckdb_file
    )
    with client_reader(pipeline) as reader:
        return reader.read()


def run(args: argparse.Namespace, out: Any = None) -> DashboardResult:
    """Run the command: write the page and say where; return what was written.

    Raises:
        DashboardError: With the words for people; `pipelines.diagnosis` says its kind and
            the command its exit code, as for every command's failure.
    """
    out = out or sys.stdout
    warming = None
    try:
        validate_options(args)
        warming = warm_bundle_cache()  # the first run on a machine: bundle while reading
        marts = read_marts(args)
        if warming is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # then bundled here instead
                warming.wait(timeout=60)
        result = write_dashboard(marts, args.out, args.account, args.months)
        if marts.unfinished_loads:
            print(f"Note: {marts.unfinished()}", file=sys.stderr)
    finally:
        if warming is not None and warming.poll() is None:
            warming.kill()
            warming.wait()
    accounts = ", ".join(result.accounts)
    print(
        f"Wrote the dashboard of {accounts} ({result.size / 1e6:.1f} MB): {result.path}", file=out
    )
    return result


def demo_dashboard(duckdb_file: str, out: Any = None) -> str | None:
    """Write the demo's dashboard beside its DuckDB file and print where; return the path.

    Without the `dashboard` extra the demo still succeeds, and says how to get the page.
    """
    out = out or sys.stdout
    target = Path(duckdb_file).with_name(f"{Path(duckdb_file).stem}-dashboard.html")
    try:
        with duckdb_reader(duckdb_file, "livechat_reports") as reader:
            marts = reader.read()
        result = write_dashboard(marts, str(target))
    except DashboardError as error:
        print(f"No dashboard: {error}", file=out)
        return None
    print(f"Dashboard (open it in a browser): {result.path}", file=out)
    return result.path
