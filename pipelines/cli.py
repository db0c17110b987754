"""`livechat-reports load | transform | demo | emulator`: the command people and schedulers run."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEMO_DAYS = 90

logger = logging.getLogger("livechat_reports")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected a date like 2024-01-31, got `{text}`") from e


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start-date", type=_date, help="backfill from this day (YYYY-MM-DD)")
    parser.add_argument("--end-date", type=_date, help="backfill through this day (default today)")
    parser.add_argument("--reports", help="comma-separated report names (default: all)")
    parser.add_argument("--timezone", help="IANA timezone days are cut in (default UTC)")
    parser.add_argument("--distribution", help="day (default) or hour")
    parser.add_argument("--window-days", type=int, help="days per request of series reports (31)")
    parser.add_argument(
        "--lookback-days", type=int, help="days re-fetched before the last loaded day (3)"
    )
    parser.add_argument("--max-concurrency", type=int, help="requests in flight at most (4)")
    parser.add_argument("--base-url", help="API base URL (default https://api.livechatinc.com)")
    parser.add_argument("--destination", default="duckdb", help="dlt destination (default duckdb)")
    parser.add_argument("--dataset", default="livechat_reports", help="dataset / schema name")
    parser.add_argument("--pipeline-name", default="livechat_reports", help="dlt pipeline name")
    parser.add_argument("--duckdb-file", help="DuckDB file (default livechat.duckdb)")


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    from sources.livechat_emulator.cli import add_arguments as add_emulator_arguments

    parser = argparse.ArgumentParser(
        prog="livechat-reports", description="Copy the LiveChat Reports API into a warehouse."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and dlt's logs")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load new and recent days (or a backfill range)")
    _add_load_options(load)
    load.add_argument("--no-transform", action="store_true", help="do not rebuild the views")
    transform = commands.add_parser("transform", help="rebuild the SQL views")
    for option in ("--destination", "--dataset", "--pipeline-name", "--duckdb-file"):
        load_action = next(a for a in load._actions if option in a.option_strings)
        transform.add_argument(option, default=load_action.default, help=load_action.help)
    demo = commands.add_parser(
        "demo", help="load 90 days from a local emulator into livechat.duckdb"
    )
    demo.add_argument("--duckdb-file", default="livechat.duckdb", help="where the demo data goes")
    demo.add_argument("--days", type=int, default=DEMO_DAYS, help="days to load")
    emulator = commands.add_parser("emulator", help="serve the LiveChat API emulator")
    add_emulator_arguments(emulator)
    return parser


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    names = (
        "timezone",
        "distribution",
        "window_days",
        "lookback_days",
        "max_concurrency",
        "base_url",
    )
    for name in names:
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.reports is not None:
        options["reports"] = args.reports
    if args.start_date is not None or args.end_date is not None:
        # An explicit range is a backfill: it loads that range and leaves the state alone.
        options["backfill"] = True
        if args.start_date is not None:
            options["start_date"] = args.start_date
        if args.end_date is not None:
            options["end_date"] = args.end_date
    return options


def _print_summary(summary: Any, out: Any = None) -> None:
    out = out or sys.stdout
    days = f"{summary.first_day}..{summary.last_day}" if summary.first_day else "no new days"
    print(f"Loaded {sum(summary.rows.values())} rows, {days}, in {summary.seconds:.1f}s", file=out)
    print(f"  requests: {summary.requests} ({summary.retried} retried)", file=out)
    if summary.finished_pending:
        print(
            f"  finished {summary.finished_pending} package(s) of an interrupted run first",
            file=out,
        )
    if summary.discarded_pending:
        print(
            f"  discarded {summary.discarded_pending} package(s) of an interrupted run that could"
            " not be loaded; their days were loaded again",
            file=out,
        )
    for table, count in summary.rows.items():
        print(f"  {table:<40} {count:>8}", file=out)


def cmd_load(args: argparse.Namespace) -> int:
    """Run `livechat-reports load`."""
    from pipelines.livechat_reports import build_pipeline, run_load

    pipeline = build_pipeline(args.pipeline_name, args.destination, args.dataset, args.duckdb_file)
    summary = run_load(pipeline, _source_options(args), transform=not args.no_transform)
    _print_summary(summary)
    return EXIT_OK


def cmd_transform(args: argparse.Namespace) -> int:
    """Run `livechat-reports transform`."""
    from pipelines.livechat_reports import build_pipeline
    from transforms import apply_transforms

    pipeline = build_pipeline(args.pipeline_name, args.destination, args.dataset, args.duckdb_file)
    result = apply_transforms(pipeline)
    print(f"Built {len(result.built)} views: {', '.join(result.built)}")
    for name, reason in result.skipped:
        print(f"  skipped {name}: {reason}")
    return EXIT_OK


DEMO_QUERIES = """\
Query it with the DuckDB CLI (`duckdb {file}`) or from Python:
  .venv/bin/python -c 'import duckdb; print(duckdb.connect("{file}").sql("<query>"))'
Queries to try:

  select * from livechat_reports.kpi_weekly order by week_start desc limit 5;
  select agent_id, chats, ranking_score from livechat_reports.agent_scorecard_monthly
    order by month_start desc, ranking_score desc limit 8;
  select tag, chats, share_of_chats from livechat_reports.tag_usage_monthly
    where month_start = (select max(month_start) from livechat_reports.tag_usage_monthly);
  select report_date, total, continuous from livechat_reports.chats_total_chats
    order by report_date desc limit 7;
"""


def cmd_demo(args: argparse.Namespace) -> int:
    """Run `livechat-reports demo`: emulator on loopback, 90 days into a local DuckDB file."""
    from pipelines.livechat_reports import build_pipeline, run_load
    from sources.livechat.credentials import PersonalAccessTokenCredentials
    from sources.livechat_emulator import Emulator, ReportsAPI

    credentials = PersonalAccessTokenCredentials()
    credentials.account_id, credentials.personal_access_token = "demo", "demo-pat"
    today = dt.datetime.now(dt.timezone.utc).date()
    with Emulator(ReportsAPI(account_id="demo", personal_access_token="demo-pat")) as emulator:
        print(f"Emulator serving on {emulator.url}; loading {args.days} days of every report ...")
        pipeline = build_pipeline(
            "livechat_reports_demo", "duckdb", "livechat_reports", args.duckdb_file
        )
        options = {
            "credentials": credentials,
            "base_url": emulator.url,
            "start_date": today - dt.timedelta(days=args.days - 1),
            "end_date": today,
            "backfill": True,
            "today": today,
        }
        summary = run_load(pipeline, options)
    _print_summary(summary)
    print()
    print(DEMO_QUERIES.format(file=args.duckdb_file))
    return EXIT_OK


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run `livechat-reports emulator` in the foreground."""
    from sources.livechat_emulator.cli import serve

    return serve(args)


def _explain(error: BaseException, command: str = "load") -> tuple[int, str]:
    """Map an exception to an exit code and one clear message (see `pipelines.errors`)."""
    from pipelines.errors import explain

    return explain(error, command)


def _configure_logging(debug: bool) -> None:
    from pipelines.logs import quiet_dlt_logs

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr
    )
    if not debug:
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
        logging.getLogger("dlt").setLevel(logging.WARNING)
    quiet_dlt_logs(not debug)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


COMMANDS = {
    "load": cmd_load,
    "transform": cmd_transform,
    "demo": cmd_demo,
    "emulator": cmd_emulator,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livechat-reports` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.debug)
    started = time.monotonic()
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(
            "Interrupted. Run the load again: it finishes or redoes what this run left.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except Exception as error:
        code, message = _explain(error, args.command)
        if args.debug:
            traceback.print_exc()
        print(message, file=sys.stderr)
        logger.debug("failed after %.1fs", time.monotonic() - started)
        return code


if __name__ == "__main__":
    sys.exit(main())
