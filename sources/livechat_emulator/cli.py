"""Command-line options of the emulator, shared by `python -m` and `livechat-reports emulator`."""

from __future__ import annotations

import argparse
import datetime as dt

from .app import ReportsAPI
from .server import Emulator, Switches, parse_faults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options to a parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks one")
    parser.add_argument("--seed", type=int, default=42, help="seed of the synthetic license")
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
    parser.add_argument("--account-id", default="demo", help="Basic-auth user name")
    parser.add_argument("--personal-access-token", default="demo-pat", help="Basic-auth token")
    parser.add_argument("--bearer-token", default="demo-token", help="OAuth access token")
    parser.add_argument(
        "--unscoped-token", default=None, help="a Bearer token without reports_read (answers 403)"
    )
    parser.add_argument(
        "--page-size", type=int, default=25, help="records per page (queued_visitors_left)"
    )
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


def build(args: argparse.Namespace) -> Emulator:
    """Build an emulator from parsed options."""
    api = ReportsAPI(
        seed=args.seed,
        now=args.now,
        license_start=args.license_start,
        timezone=args.timezone,
        account_id=args.account_id,
        personal_access_token=args.personal_access_token,
        bearer_token=args.bearer_token,
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
    """Serve in the foreground until Ctrl-C."""
    emulator = build(args)
    print(
        f"LiveChat Reports API emulator on {emulator.url}/v3.6/reports/ "
        f"(account {args.account_id}, seed {args.seed}); Ctrl-C stops it",
        flush=True,
    )
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0
