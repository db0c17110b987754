"""`livechat-reports load` and `check` with many accounts: one line per account.

These say whether every account passed; the command turns that into its exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from pipelines.accounts import (
    ENV_PREFIX,
    SECTION,
    AccountConfigError,
    AccountResult,
    ManyAccountsResult,
    configured_account_ids,
    configured_names,
    plan_shards,
    read_accounts,
    refuse_changed_meanings,
    run_accounts,
    shard_count,
    under,
    validate_account_concurrency,
    validate_accounts,
    validate_no_single_account,
)
from pipelines.diagnosis import diagnose
from pipelines.summary import passed_check_lines, print_notes, transform_line
from sources.livechat.options import LoadOptions


def load_many(args: argparse.Namespace, options: LoadOptions) -> bool:
    """Load every configured account (or `--accounts`), then build the views once.

    Each shard's source is built once, before any request (`plan_shards`): every account's
    settings are validated, then compared with its rows' in the dataset, then loaded.

    Returns:
        Whether every account loaded and the views were built (when one account fails, the
        others are loaded all the same).

    Raises:
        AccountConfigError: On bad account configuration, before any request (exit 2).
    """
    validate_no_single_account(configured_names())
    selected = [n.strip() for n in (args.accounts or "").split(",") if n.strip()] or None
    accounts = read_accounts(selected)
    # Recorded with each account's load: the dataset learns which accounts are configured.
    options = options.replace(configured_accounts=configured_account_ids())
    # Only the accounts of the shards this run loads: `--shards 0` is not stopped by shard 3's.
    plan = plan_shards(
        accounts,
        options,
        pipeline_name=args.pipeline_name,
        shards=shard_count(),
        only_shards=parse_shards(args.shards),
    )
    if plan.shards:
        refuse_changed_meanings(
            plan.runs(),
            shard=min(plan.shards),
            pipeline_name=args.pipeline_name,
            destination=args.destination,
            dataset_name=args.dataset,
            duckdb_file=args.duckdb_file,
        )
    validate_account_concurrency(options)
    result = run_accounts(
        plan,
        pipeline_name=args.pipeline_name,
        destination=args.destination,
        dataset_name=args.dataset,
        duckdb_file=args.duckdb_file,
        transform=not args.no_transform,
        on_done=lambda r: print(_progress_line(r), file=sys.stderr, flush=True),
    )
    print_accounts_summary(result)
    if result.transform_error is not None:
        print(diagnose(result.transform_error, "load").message, file=sys.stderr)
        return False
    return not result.failed


def parse_shards(text: str | None) -> list[int] | None:
    """Parse `--shards 0,3` into shard numbers (None: every shard).

    Raises:
        AccountConfigError: When a value is not a whole number of 0 or more.
    """
    if text is None:
        return None
    shards: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if not part.isdigit():
            raise AccountConfigError(
                f"--shards takes shard numbers separated by commas, like 0,3; got `{text}`"
            )
        shards.append(int(part))
    if not shards:
        raise AccountConfigError("--shards names no shard; give numbers like 0,3")
    return shards


def check_many(args: argparse.Namespace, options: LoadOptions) -> bool:
    """Check every configured account (or `--accounts`) with one request each.

    Every account's settings are validated before the first request (the configuration read
    once for all); then each account is checked with its own token and settings, and a
    failure does not stop the others.

    Returns:
        Whether every account passed.

    Raises:
        AccountConfigError: On bad account configuration, before any request (exit 2).
    """
    from sources.livechat import resolve_options
    from sources.livechat.check import ConnectionCheckError, check

    validate_no_single_account(configured_names())
    selected = [n.strip() for n in (args.accounts or "").split(",") if n.strip()] or None
    accounts = read_accounts(selected)
    # The configuration, read once for every account's validation and check.
    resolved = resolve_options(options, credentials_required=False)
    validate_accounts(accounts, resolved)
    failed = 0
    for account in under(accounts, resolved):
        who = f"account {account.name} (account_id {account.account_id})"
        try:
            result = check(
                resolved.replace(credentials=account.credentials),
                account.overrides.checked(),
                credentials_at=(
                    f"in its section [{SECTION}.{account.name}] (or the"
                    f" {ENV_PREFIX}{account.name.upper()}__* variables)"
                ),
            )
        except ConnectionCheckError as error:
            failed += 1
            print(f"Connection check failed for {who}: {error}", file=sys.stderr)
            continue
        print(
            f"Connection OK: {who} can read reports from {result.url}"
            f" (Reports API v{result.api_version})."
        )
        for line in passed_check_lines(result):
            print(line)
    if failed:
        print(f"{failed} of {len(accounts)} accounts failed the check.", file=sys.stderr)
    return not failed


def _progress_line(result: AccountResult) -> str:
    state = "failed" if result.error is not None else "loaded"
    return f"account {result.account.name}: {state} in {result.seconds:.1f}s"


def print_accounts_summary(result: ManyAccountsResult, out: TextIO | None = None) -> None:
    """Print one line per account (rows, requests, days or the error), then the views."""
    out = out or sys.stdout
    ok = len(result.results) - len(result.failed)
    print(f"Loaded {ok} of {len(result.results)} accounts in {result.seconds:.1f}s", file=out)
    destination = next((r.summary.destination for r in result.results if r.summary), None)
    if destination:
        print(f"  into: {destination}", file=out)
    width = max(len(r.account.name) for r in result.results)
    for r in result.results:
        snapshot = r.tally.snapshot()
        name = r.account.name.ljust(width)
        if r.summary is not None:
            s = r.summary
            days = f"{s.first_day}..{s.last_day}" if s.first_day else "no new days"
            print(
                f"  {name}  ok      {sum(s.rows.values()):>8} rows  {s.requests:>5} requests"
                f"  {days}  account_id {r.account.account_id}",
                file=out,
            )
            print_notes(s, out, indent=f"  {name}  ")
        else:
            assert r.error is not None
            message = diagnose(r.error, "load").message
            print(
                f"  {name}  FAILED  after {snapshot.done} requests answered"
                f"  account_id {r.account.account_id}: {message}",
                file=out,
            )
    if result.transform is not None:
        print(transform_line(result.transform), file=out)
    elif result.failed and len(result.failed) == len(result.results):
        print("  views: not built (no account loaded)", file=out)
