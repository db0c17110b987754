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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.diagnosis import Kind
    from sources.livechat.options import LoadOptions

# The exit codes, here only: the layers below say what kind of failure it was
# (`pipelines.diagnosis.Kind`) or whether everything passed, and `exit_code` turns that into these.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# Stopped by Ctrl-C (SIGINT), as shells report a process that SIGINT ended: 128 + 2.
EXIT_INTERRUPTED = 130
DEMO_DAYS = 90
# The demo's own file and pipeline: demo rows never land beside a real account's.
DEMO_DUCKDB_FILE = "livechat-demo.duckdb"
DEMO_PIPELINE = "livechat_reports_demo"

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
    parser.add_argument(
        "--breakdown", help="`group`: also load each report that takes a group filter per group"
    )
    parser.add_argument(
        "--breakdown-reports", help="comma-separated reports to break down (default: all that can)"
    )
    parser.add_argument(
        "--breakdown-groups", help="comma-separated group ids (default: those with chats)"
    )
    parser.add_argument("--base-url", help="API base URL (default https://api.livechatinc.com)")
    parser.add_argument("--destination", default="duckdb", help="dlt destination (default duckdb)")
    parser.add_argument("--dataset", default="livechat_reports", help="dataset / schema name")
    parser.add_argument("--pipeline-name", default="livechat_reports", help="dlt pipeline name")
    parser.add_argument(
        "--duckdb-file", help="DuckDB file, relative to the current directory (livechat.duckdb)"
    )


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the command-line parser (for `argv`, default the process's arguments).

    The emulator's options are added only when `argv` names the emulator: they import the
    emulator (0.07 s), which no other command needs.

    It is long because it is a flat list of every subcommand's options, read top to bottom;
    split, a command's options would be scattered over several functions.
    """
    parser = argparse.ArgumentParser(
        prog="livechat-reports", description="Copy the LiveChat Reports API into a warehouse."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and dlt's logs")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="load new and recent days (or a backfill range)")
    _add_load_options(load)
    load.add_argument("--no-transform", action="store_true", help="do not rebuild the views")
    load.add_argument(
        "--refresh",
        action="store_true",
        help="reload from start_date, replacing this account's rows in every table it loads"
        " (the way to change timezone, distribution or filters of a dataset)",
    )
    load.add_argument(
        "--accounts",
        help="comma-separated accounts to load (default: every"
        " [sources.livechat.accounts.<name>] section and row of the accounts_file)",
    )
    load.add_argument(
        "--account-concurrency",
        type=int,
        help="accounts of a shard fetched at once; their requests share the shard's"
        " max_concurrency (default: max_concurrency)",
    )
    load.add_argument(
        "--shards",
        help="comma-separated shard numbers to load (default: every shard; the number of"
        " shards is `shards` under [sources.livechat])",
    )
    transform = commands.add_parser("transform", help="rebuild the SQL views")
    for option in ("--destination", "--dataset", "--pipeline-name", "--duckdb-file"):
        load_action = next(a for a in load._actions if option in a.option_strings)
        transform.add_argument(option, default=load_action.default, help=load_action.help)
    dashboard = commands.add_parser(
        "dashboard", help="write one self-contained HTML dashboard of the marts (read-only)"
    )
    for option in ("--destination", "--dataset", "--pipeline-name", "--duckdb-file"):
        load_action = next(a for a in load._actions if option in a.option_strings)
        dashboard.add_argument(option, default=load_action.default, help=load_action.help)
    from pipelines.dashboard.command import add_arguments as add_dashboard_arguments

    add_dashboard_arguments(dashboard)
    demo = commands.add_parser(
        "demo", help=f"load 90 days from a local emulator into {DEMO_DUCKDB_FILE}"
    )
    demo.add_argument(
        "--duckdb-file",
        default=DEMO_DUCKDB_FILE,
        help=f"where the demo data goes (default {DEMO_DUCKDB_FILE}, never your own data's file)",
    )
    demo.add_argument("--days", type=int, default=DEMO_DAYS, help="days to load")
    check = commands.add_parser(
        "check", help="check credentials, scope and URL with one request; writes nothing"
    )
    for option in ("--base-url", "--timezone"):
        load_action = next(a for a in load._actions if option in a.option_strings)
        check.add_argument(option, help=load_action.help)
    check.add_argument(
        "--accounts",
        help="comma-separated accounts to check (default: every"
        " [sources.livechat.accounts.<name>] section and row of the accounts_file)",
    )
    emulator = commands.add_parser("emulator", help="serve the LiveChat API emulator")
    if "emulator" in (sys.argv[1:] if argv is None else argv):
        from sources.livechat_emulator.cli import add_arguments as add_emulator_arguments

        add_emulator_arguments(emulator)
    return parser


def load_options(args: argparse.Namespace) -> LoadOptions:
    """The run's settings the command line gives (None where an option is left out).

    Built once per command and passed down as they are; `LIVECHAT_REPORTS_NOW` gives `now`.
    An explicit date range is a backfill: it loads that range and leaves the state alone.

    Raises:
        ConfigurationError: When `LIVECHAT_REPORTS_NOW` is not an instant.
    """
    from pipelines.clock import with_rehearsed_now
    from sources.livechat.options import LoadOptions

    def given(name: str) -> Any:
        return getattr(args, name, None)  # `check` has only some of `load`'s options

    dated = given("start_date") is not None or given("end_date") is not None
    options = LoadOptions(
        timezone=given("timezone"),
        distribution=given("distribution"),
        window_days=given("window_days"),
        lookback_days=given("lookback_days"),
        max_concurrency=given("max_concurrency"),
        base_url=given("base_url"),
        reports=given("reports"),
        breakdowns=given("breakdown"),
        breakdown_reports=given("breakdown_reports"),
        breakdown_groups=given("breakdown_groups"),
        refresh=True if getattr(args, "refresh", False) else None,
        backfill=True if dated else None,
        start_date=given("start_date"),
        end_date=given("end_date"),
        account_concurrency=given("account_concurrency"),
    )
    return with_rehearsed_now(options)


def cmd_load(args: argparse.Namespace) -> int:
    """Run `livechat-reports load`."""
    from pipelines.accounts import configured_names
    from pipelines.livechat_reports import build_pipeline, run_load
    from pipelines.progress import progress_for
    from pipelines.summary import print_summary

    many = (args.accounts, args.account_concurrency, args.shards)
    if any(option is not None for option in many) or configured_names():
        from pipelines.accounts_cli import load_many

        return EXIT_OK if load_many(args, load_options(args)) else EXIT_FAILED
    options = load_options(args)
    pipeline = build_pipeline(args.pipeline_name, args.destination, args.dataset, args.duckdb_file)
    with progress_for(sys.stderr) as progress:
        summary = run_load(pipeline, options, transform=not args.no_transform, progress=progress)
    print_summary(summary)
    return EXIT_OK


def cmd_transform(args: argparse.Namespace) -> int:
    """Run `livechat-reports transform`: build the views and run the package's tests."""
    from pipelines.livechat_reports import build_pipeline
    from transforms import run_transforms

    pipeline = build_pipeline(args.pipeline_name, args.destination, args.dataset, args.duckdb_file)
    result = run_transforms(pipeline, announce=None)
    print(
        f"Built {len(result.built)} views in dataset `{pipeline.dataset_name}`;"
        f" {result.tests} tests passed."
    )
    if result.note:
        print(result.note)
    return EXIT_OK


DEMO_QUERIES = """\
Query it with the DuckDB CLI (`duckdb {file}`) or from Python:
  .venv/bin/python -c 'import duckdb; print(duckdb.connect("{file}").sql("<query>"))'
Queries to try:

  select * from livechat_reports.kpi_weekly order by account_id, week_start desc limit 5;
  select account_id, agent_id, chats, ranking_score
    from livechat_reports.agent_scorecard_monthly
    order by account_id, month_start desc, ranking_score desc limit 8;
  select account_id, tag, chats, share_of_chats from livechat_reports.tag_usage_monthly
    where month_start = (select max(month_start) from livechat_reports.tag_usage_monthly)
    order by account_id, chats desc;
  select account_id, report_date, total, continuous from livechat_reports.chats_total_chats
    order by account_id, report_date desc limit 7;
"""


def cmd_demo(args: argparse.Namespace) -> int:
    """Run `livechat-reports demo`: emulator on loopback, 90 days into a DuckDB file of its own."""
    from pipelines.livechat_reports import build_pipeline, duckdb_path, run_load
    from pipelines.progress import progress_for
    from pipelines.summary import print_summary
    from sources.livechat.credentials import PersonalAccessTokenCredentials
    from sources.livechat.options import LoadOptions
    from sources.livechat_emulator import Emulator, ReportsAPI

    credentials = PersonalAccessTokenCredentials()
    credentials.account_id, credentials.personal_access_token = "demo", "demo-pat"
    today = dt.datetime.now(dt.timezone.utc).date()
    with Emulator(ReportsAPI(account_id="demo", personal_access_token="demo-pat")) as emulator:
        print(f"Emulator serving on {emulator.url}; loading {args.days} days of every report ...")
        pipeline = build_pipeline(DEMO_PIPELINE, "duckdb", "livechat_reports", args.duckdb_file)
        options = LoadOptions(
            credentials=credentials,
            base_url=emulator.url,
            start_date=today - dt.timedelta(days=args.days - 1),
            end_date=today,
            backfill=True,
            today=today,
        )
        with progress_for(sys.stderr) as progress:
            summary = run_load(pipeline, options, progress=progress)
    print_summary(summary)
    print()
    print(DEMO_QUERIES.format(file=duckdb_path(args.duckdb_file)))
    from pipelines.dashboard.command import demo_dashboard

    demo_dashboard(duckdb_path(args.duckdb_file))
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Run `livechat-reports dashboard`: the marts, read-only, into one HTML file."""
    from pipelines.dashboard.command import run

    run(args)  # its failures are diagnosed in `main`, as every command's
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Run `livechat-reports check`: one request; no pipeline, state or data is written."""
    from pipelines.accounts import configured_names
    from pipelines.summary import passed_check_lines
    from sources.livechat.check import ConnectionCheckError, check

    options = load_options(args)

    if args.accounts is not None or configured_names():
        from pipelines.accounts_cli import check_many

        return EXIT_OK if check_many(args, options) else EXIT_FAILED
    try:
        result = check(options)
    except ConnectionCheckError as error:
        print(f"Connection check failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"Connection OK: account {result.account_id} can read reports from {result.url}"
        f" (Reports API v{result.api_version})."
    )
    for line in passed_check_lines(result):
        print(line)
    return EXIT_OK


def cmd_emulator(args: argparse.Namespace) -> int:
    """Run `livechat-reports emulator` in the foreground."""
    from sources.livechat_emulator.cli import serve

    return serve(args)


def exit_code(kind: Kind) -> int:
    """The exit code of a kind of failure: 2 bad input, 1 failed (for now or for good), 130."""
    from pipelines.diagnosis import Kind

    codes = {
        Kind.BAD_INPUT: EXIT_BAD_INPUT,
        Kind.MAY_PASS_LATER: EXIT_FAILED,
        Kind.FAILED: EXIT_FAILED,
        Kind.INTERRUPTED: EXIT_INTERRUPTED,
    }
    return codes[kind]


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
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
    "check": cmd_check,
    "emulator": cmd_emulator,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livechat-reports` command."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _configure_logging(args.debug)
    started = time.monotonic()
    try:
        return COMMANDS[args.command](args)
    except (Exception, KeyboardInterrupt) as error:
        from pipelines.diagnosis import diagnose

        diagnosis = diagnose(error, args.command)
        if args.debug:
            traceback.print_exc()
        print(diagnosis.message, file=sys.stderr)
        logger.debug("failed after %.1fs", time.monotonic() - started)
        return exit_code(diagnosis.kind)


if __name__ == "__main__":
    sys.exit(main())
