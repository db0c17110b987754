"""A failure is diagnosed once; the command and Dagster each map its kind to what they do."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines import cli
from pipelines.diagnosis import Kind, diagnose
from sources.livechat.exceptions import ConfigurationError, LiveChatAPIError


def api_error(status: int | None) -> LiveChatAPIError:
    return LiveChatAPIError(
        "chats/total_chats",
        "2024-01-01..2024-01-31",
        status=status,
        error_type="authentication" if status == 401 else None,
        api_message="it went wrong",
    )


def locked_file() -> duckdb.IOException:
    """DuckDB's own words when another process holds the file's lock."""
    return duckdb.IOException(
        'IO Error: Could not set lock on file "/data/livechat.duckdb": Conflicting lock is held'
        " in /usr/bin/python3.12 (PID 4242) by user etl. See also"
        " https://duckdb.org/docs/stable/connect/concurrency"
    )


ERRORS: dict[str, tuple[Callable[[], BaseException], Kind]] = {
    "configuration": (lambda: ConfigurationError("`window_days` must be 1..31"), Kind.BAD_INPUT),
    "HTTP 401": (lambda: api_error(401), Kind.FAILED),
    "HTTP 403": (lambda: api_error(403), Kind.FAILED),
    "HTTP 503": (lambda: api_error(503), Kind.MAY_PASS_LATER),
    "HTTP 429": (lambda: api_error(429), Kind.MAY_PASS_LATER),
    "no answer": (lambda: api_error(None), Kind.MAY_PASS_LATER),
    "locked DuckDB file": (locked_file, Kind.MAY_PASS_LATER),
    "Ctrl-C": (KeyboardInterrupt, Kind.INTERRUPTED),
}


def step_failed(step: str, inner: BaseException) -> PipelineStepFailed:
    """Wrap an exception as dlt does when a step of `pipeline.run` fails."""
    pipeline: Any = SimpleNamespace(pipeline_name="livechat_reports", has_pending_data=False)
    try:
        try:
            raise inner
        except BaseException as e:
            raise PipelineStepFailed(pipeline, step, None, e) from e  # type: ignore[arg-type]
    except PipelineStepFailed as wrapped:
        return wrapped


@pytest.mark.parametrize("name", ERRORS)
def test_each_failure_has_its_kind(name: str) -> None:
    make, kind = ERRORS[name]
    assert diagnose(make()).kind is kind


@pytest.mark.parametrize("step", ["extract", "normalize"])
@pytest.mark.parametrize("name", ERRORS)
def test_a_failed_step_has_the_kind_of_its_cause(name: str, step: str) -> None:
    make, kind = ERRORS[name]
    diagnosis = diagnose(step_failed(step, make()))
    assert diagnosis.kind is kind
    assert diagnosis.message.strip()
    assert "Traceback" not in diagnosis.message


def test_the_message_is_the_one_people_read() -> None:
    assert diagnose(ConfigurationError("`window_days` must be 1..31")).message == (
        "Configuration error: `window_days` must be 1..31"
    )
    assert diagnose(api_error(401), "load").message.startswith(
        "Load failed: chats/total_chats for 2024-01-01..2024-01-31 failed: HTTP 401"
    )
    locked = diagnose(step_failed("normalize", locked_file())).message
    assert "The DuckDB file `/data/livechat.duckdb` is in use by another program" in locked
    assert diagnose(KeyboardInterrupt(), "transform").message == (
        "Interrupted. Run `livechat-reports transform` again."
    )


def test_the_command_maps_each_kind_to_its_exit_code() -> None:
    assert {kind: cli.exit_code(kind) for kind in Kind} == {
        Kind.BAD_INPUT: 2,
        Kind.FAILED: 1,
        Kind.MAY_PASS_LATER: 1,
        Kind.INTERRUPTED: 130,
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("configuration", 2),
        ("HTTP 401", 1),
        ("HTTP 503", 1),
        ("locked DuckDB file", 1),
        ("Ctrl-C", 130),
    ],
)
def test_the_command_exits_with_the_code_of_the_diagnosis(
    name: str, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make, _ = ERRORS[name]

    def fails(args: Any) -> int:
        raise step_failed("extract", make())

    # `main` sets these for the process when unset: set here, they are put back after the test.
    for variable, default in (
        ("RUNTIME__LOG_LEVEL", "WARNING"),
        ("RUNTIME__DLTHUB_TELEMETRY", "false"),
    ):
        monkeypatch.setenv(variable, os.environ.get(variable, default))
    monkeypatch.setitem(cli.COMMANDS, "transform", fails)
    assert cli.main(["transform"]) == code
    assert diagnose(step_failed("extract", make()), "transform").message in capsys.readouterr().err


def test_dagster_retries_only_what_may_pass_later() -> None:
    pytest.importorskip("dagster", reason="the `dagster` extra is not installed")
    from pipelines.orchestration.loads import allow_retries, failure

    assert {kind: allow_retries(kind) for kind in Kind} == {
        Kind.BAD_INPUT: False,
        Kind.FAILED: False,
        Kind.MAY_PASS_LATER: True,
        Kind.INTERRUPTED: False,
    }
    for name, (make, kind) in ERRORS.items():
        raised = failure("acme", None, step_failed("extract", make()))
        assert raised.allow_retries is allow_retries(kind), name
        assert "Account `acme` failed: " in (raised.description or ""), name
