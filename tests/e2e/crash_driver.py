"""Run one load in this process and SIGKILL it at a chosen point: the crash tests' subject.

Usage: python -m tests.e2e.crash_driver POINT COUNT OPTIONS_JSON
  POINT  extract   - after COUNT API answers, mid-extraction
         normalize - after the package's files are normalized, before dlt commits them
         load      - after COUNT load jobs completed, mid-load
         merge     - after COUNT merge jobs (SQL follow-up jobs) of the loaded reports completed:
                     jobs finish in any order, so a count of all jobs does not say which ran
OPTIONS_JSON holds db, pipeline_name, base_url, today and source options. A Dagster run is
killed the same way by `tests/e2e/dagster_crash.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import threading
from typing import Any


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, count: int, reports: Any = None) -> None:
    """Patch the step so the process dies at the chosen point (`merge`: of the `reports`)."""
    if point == "extract":
        from sources.livechat.client import LiveChatClient

        original_post = LiveChatClient.post
        answers = iter(range(1, 1_000_000))
        lock = threading.Lock()

        def post(self: Any, *args: Any, **kwargs: Any) -> Any:
            fetched = original_post(self, *args, **kwargs)
            with lock:
                if next(answers) >= count:
                    die()
            return fetched

        LiveChatClient.post = post  # type: ignore[method-assign]
    elif point == "normalize":
        from dlt.normalize.normalize import Normalize

        original_spool = Normalize.spool_files

        def spool_files(self: Any, *args: Any, **kwargs: Any) -> Any:
            original_spool(self, *args, **kwargs)
            die()

        Normalize.spool_files = spool_files  # type: ignore[method-assign]
    elif point == "load":
        from dlt.load.load import Load

        original_complete = Load.complete_jobs
        done = [0]

        def complete_jobs(self: Any, load_id: str, jobs: Any, schema: Any) -> Any:
            result = original_complete(self, load_id, jobs, schema)
            done[0] += len(result[1])
            if done[0] >= count:
                die()
            return result

        Load.complete_jobs = complete_jobs  # type: ignore[method-assign]
    elif point == "merge":
        from dlt.load.load import Load

        original_complete = Load.complete_jobs
        merged = [0]

        def complete_merges(self: Any, load_id: str, jobs: Any, schema: Any) -> Any:
            result = original_complete(self, load_id, jobs, schema)
            for job in result[1]:
                info = job.job_file_info()
                if info.file_format == "sql" and info.table_name in (reports or ()):
                    merged[0] += 1
            if merged[0] >= count:
                die()
            return result

        Load.complete_jobs = complete_merges  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown point {point}")


def main() -> None:
    point, count = sys.argv[1], int(sys.argv[2])
    options = json.loads(sys.argv[3])
    from pipelines.livechat_reports import build_pipeline, run_load
    from sources.livechat.options import LoadOptions
    from tests.e2e.conftest import credentials

    arm(point, count, options.get("reports"))
    pipeline = build_pipeline(
        options.pop("pipeline_name"), "duckdb", "livechat_reports", options.pop("db")
    )
    options["today"] = dt.date.fromisoformat(options["today"])
    run_load(
        pipeline,
        LoadOptions(credentials=credentials(), backoff_seconds=0.0, **options),
        transform=False,
    )
    raise SystemExit("the crash point was never reached")


if __name__ == "__main__":
    main()
