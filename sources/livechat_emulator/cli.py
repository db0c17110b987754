"""Command-line options of the emulator, shared by `python -m` and `livechat-reports emulator`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from .accounts import ACCOUNT_SYNTAX, Accounts, AccountSpec, build_accounts, parse_accounts
from .app import ReportsAPI
from .generated import DEFAULT_PREFIX, GeneratedAccounts, validate_prefix
from .server import Emulator, Switches, parse_faults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to a parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks one")
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the synthetic license (default 42)"
    )
    parser.add_argument(
        "--now",
        type=_instant,
        default=None,
        help="fixed clock, ISO 8601 with offset (default: real time)",
    )
    parser.add_argument(
        "--license-start",
        type=dt.date.fromisoformat,
        default=None,
        help="first day with data (default: two years before now)",
    )
    parser.add_argument(
        "--timezone", default="UTC", help="license timezone for requests naming none"
    )
    parser.add_argument("--account-id", default=None, help="Basic-auth user name (demo)")
    parser.add_argument("--personal-access-token", default=None, help="Basic-auth token (demo-pat)")
    parser.add_argument("--bearer-token", default=None, help="OAuth access token (demo-token)")
    parser.add_argument(
        "--unscoped-token", default=None, help="a Bearer token without reports_read (answers 403)"
    )
    several = parser.add_mutually_exclusive_group()
    several.add_argument(
        "--accounts",
        type=_accounts,
        default=None,
        metavar=",".join([ACCOUNT_SYNTAX] * 2),
        help="serve several accounts on one port, each with its own Basic token, seed and"
        " optional timezone, e.g. acme:tokenA:1,globex:tokenB:2:Europe/Warsaw (instead of"
        " --account-id, --personal-access-token, --bearer-token, --unscoped-token and --seed)",
    )
    several.add_argument(
        "--accounts-count",
        type=_count,
        default=None,
        metavar="N",
        help="serve N generated accounts, each built on its first request: account i (0-based)"
        " is PREFIXi with Basic token token-PREFIXi, seed i and the --timezone (instead of"
        " --accounts and the single-account options)",
    )
    parser.add_argument(
        "--accounts-prefix",
        type=_prefix,
        default=None,
        metavar="PREFIX",
        help=f"start of the generated account ids (default {DEFAULT_PREFIX}; with"
        " --accounts-count)",
    )
    parser.add_argument(
        "--page-size", type=int, default=25, help="records per page (queued_visitors_left)"
    )
    _add_edge_arguments(parser)


def _add_edge_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that shape answers at the edges: latency, rate limit, faults."""
    parser.add_argument("--latency-ms", type=float, default=0.0, help="fixed delay per request")
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="random extra delay per request"
    )
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests per second before 429"
    )
    parser.add_argument(
        "--no-retry-after", action="store_true", help="send 429 without Retry-After"
    )
    parser.add_argument(
        "--faults",
        type=parse_faults,
        default={},
        help="fault probabilities, e.g. 429=0.05,500=0.05,503=0.05,drop=0.02,slow=0.01,"
        "malformed=0.01,truncated=0.01",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of a `slow` fault")


def _instant(text: str) -> float:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"--now needs an offset, like 2026-01-31T12:00:00+00:00; got {text}"
        )
    return value.timestamp()


def _accounts(text: str) -> list[AccountSpec]:
    try:
        return parse_accounts(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of accounts, 1 or more; got {text}"
        )
    return count


def _prefix(text: str) -> str:
    try:
        return validate_prefix(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _default(value: str | None, default: str) -> str:
    return default if value is None else value


SINGLE_ACCOUNT_OPTIONS = {
    "account_id": "--account-id",
    "personal_access_token": "--personal-access-token",
    "bearer_token": "--bearer-token",
    "unscoped_token": "--unscoped-token",
    "seed": "--seed",
}


def build(args: argparse.Namespace) -> Emulator:
    """Build an emulator from parsed options.

    Raises:
        ValueError: When `--accounts` or `--accounts-count` comes with single-account options,
            or `--accounts-prefix` without `--accounts-count`.
    """
    api: ReportsAPI | Accounts
    several = "--accounts-count" if args.accounts_count else "--accounts" if args.accounts else None
    if args.accounts_prefix is not None and several != "--accounts-count":
        raise ValueError("--accounts-prefix names generated accounts; add --accounts-count N")
    if several:
        given = [f for name, f in SINGLE_ACCOUNT_OPTIONS.items() if getattr(args, name) is not None]
        if given:
            raise ValueError(
                f"{several} sets each account's id, token and seed; leave out {', '.join(given)}"
            )
    if args.accounts_count:
        api = GeneratedAccounts(
            args.accounts_count,
            args.accounts_prefix or DEFAULT_PREFIX,
            now=args.now,
            license_start=args.license_start,
            timezone=args.timezone,
            page_size=args.page_size,
        )
    elif args.accounts:
        api = build_accounts(
            args.accounts,
            now=args.now,
            license_start=args.license_start,
            timezone=args.timezone,
            page_size=args.page_size,
        )
    else:
        api = ReportsAPI(
            seed=42 if args.seed is None else args.seed,
            now=args.now,
            license_start=args.license_start,
            timezone=args.timezone,
            account_id=_default(args.account_id, "demo"),
            personal_access_token=_default(args.personal_access_token, "demo-pat"),
            bearer_token=_default(args.bearer_token, "demo-token"),
            unscoped_token=args.unscoped_token,
            page_size=args.page_size,
        )
    switches = Switches(
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        rate_limit=args.rate_limit,
        retry_after=not args.no_retry_after,
        faults=args.faults,
        fault_seed=args.fault_seed,
        slow_seconds=args.slow_seconds,
    )
    return Emulator(api, switches, host=args.host, port=args.port)


def serve(args: argparse.Namespace) -> int:
    """Serve in the foreground until Ctrl-C; 2 when the options do not go together."""
    try:
        emulator = build(args)
    except ValueError as e:
        print(f"emulator: error: {e}", file=sys.stderr)
        return 2
    accounts = _describe(emulator.api)
    print(
        f"LiveChat Reports API emulator on {emulator.url}/v3.6/reports/ ({accounts});"
        " Ctrl-C stops it",
        flush=True,
    )
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


def _describe(api: ReportsAPI | Accounts) -> str:
    if isinstance(api, GeneratedAccounts):
        return (
            f"generated accounts {api.describe()}, Basic token token-<id>, seed = the id's"
            " number, built on first request"
        )
    apis = api if isinstance(api, Accounts) else [api]
    return ", ".join(f"account {a.account_id} seed {a.seed}" for a in apis)
