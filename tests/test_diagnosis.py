"""A failure is diagnosed once; the command and Dagster each map its kind to what they do."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

import pipelines.dashboard as dashboard_package
from pipelines import cli
from pipelines.dashboard import build_html
from pipelines.dashboard.command import validate_options
from pipelines.dashboard.read import DashboardError, DatabaseBusy, Marts, Reader, duckdb_reader
from pipelines.diagnosis import Diagnosis, Kind, diagnose
from sources.livechat.exceptions import ConfigurationError, LiveChatAPIError
from transforms.transform import NoLoadedTablesError


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
    "no loaded tables": (
        lambda: NoLoadedTablesError("livechat_reports", "in /data/livechat.duckdb"),
        Kind.BAD_INPUT,
    ),
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


def dashboard_error(make: Callable[[], Any]) -> BaseException:
    """What the dashboard's own code raises when `make` runs it."""
    with pytest.raises(DashboardError) as raised:
        make()
    return raised.value


def no_file(tmp_path: Path) -> None:
    with duckdb_reader(str(tmp_path / "nothing.duckdb"), "livechat_reports"):
        pass


def not_duckdb(tmp_path: Path) -> None:
    (tmp_path / "notes.duckdb").write_text("not a database\n" * 1000)
    with duckdb_reader(str(tmp_path / "notes.duckdb"), "livechat_reports"):
        pass


def held_by_a_load(tmp_path: Path) -> None:
    (tmp_path / "busy.duckdb").touch()
    with (
        mock.patch.object(duckdb, "connect", side_effect=locked_file()),
        duckdb_reader(str(tmp_path / "busy.duckdb"), "livechat_reports"),
    ):
        pass


def fake_reader(relations: set[str], rows: list[tuple[Any, ...]]) -> Reader:
    """A dataset holding these tables and views, whose every query returns `rows`."""
    return Reader(
        "livechat_reports",
        "DuckDB file `lc.duckdb`",
        lambda sql: (["found"], rows),
        lambda name: name,
        lambda: relations,
        lambda table: set(),
    )


def no_marts(tmp_path: Path) -> None:
    fake_reader(set(), []).read()


def unfinished_first_load(tmp_path: Path) -> None:
    fake_reader({"chats_total_chats"}, [(1,)]).read()


def options(months: int, out: str) -> argparse.Namespace:
    return argparse.Namespace(months=months, out=out)


KPI_ROW = {"account_id": "acme", "report_date": "2024-01-01", "total_chats": 1}

# Each failure of the dashboard, made by the dashboard's own code: its kind and exit code.
DASHBOARD_ERRORS: dict[str, tuple[Callable[[Path], None], Kind, int]] = {
    "--months 0": (lambda tmp_path: validate_options(options(0, "page.html")), Kind.BAD_INPUT, 2),
    "--out a directory": (
        lambda tmp_path: validate_options(options(6, str(tmp_path))),
        Kind.BAD_INPUT,
        2,
    ),
    "--out in no directory": (
        lambda tmp_path: validate_options(options(6, str(tmp_path / "missing" / "page.html"))),
        Kind.BAD_INPUT,
        2,
    ),
    "no DuckDB file": (no_file, Kind.BAD_INPUT, 2),
    "not a DuckDB file": (not_duckdb, Kind.BAD_INPUT, 2),
    "DuckDB file held by a load": (held_by_a_load, Kind.MAY_PASS_LATER, 1),
    "marts not built": (no_marts, Kind.BAD_INPUT, 2),
    "first load unfinished, no marts": (unfinished_first_load, Kind.BAD_INPUT, 2),
    "no rows in kpi_daily": (
        lambda tmp_path: build_html(Marts("livechat_reports", {"kpi_daily": []})),
        Kind.BAD_INPUT,
        2,
    ),
    "every day in an unfinished load": (
        lambda tmp_path: build_html(
            Marts("livechat_reports", {"kpi_daily": []}, unfinished_loads=1, unfinished_days=7)
        ),
        Kind.BAD_INPUT,
        2,
    ),
    "an account with no data": (
        lambda tmp_path: build_html(Marts("livechat_reports", {"kpi_daily": [KPI_ROW]}), "nobody"),
        Kind.BAD_INPUT,
        2,
    ),
}


@pytest.mark.parametrize("name", DASHBOARD_ERRORS)
def test_each_dashboard_failure_has_its_kind_and_exit_code(name: str, tmp_path: Path) -> None:
    make, kind, code = DASHBOARD_ERRORS[name]
    error = dashboard_error(lambda: make(tmp_path))
    diagnosis = diagnose(error, "dashboard")
    assert (diagnosis.kind, cli.exit_code(diagnosis.kind)) == (kind, code)
    assert diagnosis.message == str(error)  # the dashboard's own words, whole
    assert diagnosis.message.strip() and "Traceback" not in diagnosis.message


def test_a_missing_dashboard_extra_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "altair", None)  # `import altair` raises ImportError
    error = dashboard_error(lambda: build_html(Marts("livechat_reports", {"kpi_daily": []})))
    diagnosis = diagnose(error, "dashboard")
    assert cli.exit_code(diagnosis.kind) == 2 and diagnosis.kind is Kind.BAD_INPUT
    assert 'pip install "livechat-reports[dashboard]"' in diagnosis.message


def test_a_dashboard_failure_keeps_its_kind_when_raised_while_handling_another() -> None:
    try:
        try:
            raise OSError("disk full")
        except OSError:
            raise DatabaseBusy("The DuckDB file `lc.duckdb` is being written") from None
    except DatabaseBusy as error:
        assert diagnose(error, "dashboard").kind is Kind.MAY_PASS_LATER
    try:
        try:
            raise api_error(503)
        except LiveChatAPIError:
            raise DashboardError("--months must be 1 or more, got 0.")  # noqa: B904
    except DashboardError as error:
        assert diagnose(error, "dashboard") == Diagnosis(
            Kind.BAD_INPUT, "--months must be 1 or more, got 0."
        )


def test_the_dashboard_holds_no_exit_code() -> None:
    """Its failures say what happened; `diagnose` gives the kind and the command the code."""
    package = Path(dashboard_package.__file__).parent
    for path in sorted(package.glob("*.py")):
        assert "exit_code" not in path.read_text(encoding="utf-8"), path.name
