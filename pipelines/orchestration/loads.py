"""One Dagster asset per report (named by dagster-dlt's translator), partitioned by account.

A run of partition `acme` loads account `acme` through its own pipeline
(`livechat_reports_acme`) and staging dataset, as `livechat-reports load --accounts acme`
would: the same settings, the same state, the same refusal of a run whose settings would
change what the rows mean. Incremental loading is dlt's (each account's state is in the
destination), so the partitions are accounts only, not days: a date range is a backfill
through run config (`LoadConfig`) on the same assets.
"""

# No `from __future__ import annotations`: Dagster reads the asset functions' annotations
# (config class, context, resources) as objects.

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    StaticPartitionsDefinition,
    multi_asset,
)
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.asset_decorator import build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from pydantic import Field

from pipelines.accounts import (
    SECTION,
    Account,
    account_options,
    check_no_single_account,
    configured_account_ids,
    configured_names,
    read_accounts,
)
from pipelines.clock import with_rehearsed_now
from pipelines.diagnosis import Kind, diagnose
from pipelines.livechat_reports import LoadSummary, run_load
from sources.livechat import livechat_reports
from sources.livechat.credentials import PersonalAccessTokenCredentials
from sources.livechat.lineage import LINEAGE_TABLE
from sources.livechat.meaning import ACCOUNTS_TABLE
from sources.livechat.reports import REPORTS
from transforms.tables import LOADS_TABLE

from .warehouse import LiveChatWarehouse

GROUP = "livechat"
KEY_PREFIX = "livechat"
# Every asset that writes the destination is in this pool; dagster.yaml holds it to one run.
POOL = "livechat_destination"
# Transient failures (timeouts, 5xx, a locked file) are tried again later; see `failure`.
RETRY_POLICY = RetryPolicy(max_retries=2, delay=60, backoff=Backoff.EXPONENTIAL)


class LoadConfig(Config):
    """Run config of a load: empty for the daily incremental run, dates for a backfill.

    Dates are inclusive and days of the account's timezone, as on the command line.
    """

    start_date: str | None = Field(
        default=None, description="First day (YYYY-MM-DD): a first run's start, or a backfill's."
    )
    end_date: str | None = Field(default=None, description="Last day, inclusive (default today).")
    backfill: bool = Field(
        default=False,
        description="Load exactly start_date..end_date and leave the incremental state alone.",
    )
    refresh: bool = Field(
        default=False,
        description="Reload from start_date, replacing the account's rows (after a change of"
        " timezone, distribution or filters).",
    )

    def source_options(self) -> dict[str, Any]:
        """Return the `livechat_reports` arguments these settings give."""
        options: dict[str, Any] = {}
        for name in ("start_date", "end_date"):
            value = getattr(self, name)
            if value:
                options[name] = value  # checked by the source, as the command's dates are
        if self.backfill:
            options["backfill"] = True
        if self.refresh:
            options["refresh"] = True
        return options


class ReportTranslator(DagsterDltTranslator):
    """Names each report's asset `livechat/<report>`, whatever the pipeline or destination."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """Return the asset of one report (resource)."""
        spec: AssetSpec = super().get_asset_spec(data)
        if data.resource.name == ACCOUNTS_TABLE:
            description = "Every load of an account: the settings it loaded with, and when."
        else:
            description = f"The LiveChat {data.resource.name} report, loaded per account."
        return spec.replace_attributes(
            key=AssetKey([KEY_PREFIX, data.resource.name]),
            deps=[],
            skippable=True,  # `reports` in [sources.livechat] may leave it out
            group_name=GROUP,
            description=description,
        )


TRANSLATOR = ReportTranslator()


def account_partitions(names: Sequence[str]) -> StaticPartitionsDefinition:
    """Return one partition per account section name."""
    return StaticPartitionsDefinition(list(names))


def _spec_source() -> Any:
    """A source with every report and every per-group report, built only to list the assets.

    It makes no request. The per-group reports are assets whether or not an account turns the
    group breakdown on: a load without it skips them.
    """
    credentials = PersonalAccessTokenCredentials()
    credentials.account_id, credentials.personal_access_token = "definitions", "unused"
    return livechat_reports(credentials=credentials, breakdowns=["group"])


def shared_tables(reports: Iterable[str] | None = None) -> list[str]:
    """Tables a load writes besides one per report: a report's further tables, dlt's own.

    Args:
        reports: The reports loaded (default all): only their further tables are written.
    """
    selected = None if reports is None else set(reports)
    specs = [*REPORTS, *(spec.by_group() for spec in REPORTS if spec.group_filter is not None)]
    extra = [
        table.name
        for spec in specs
        if selected is None or spec.name in selected
        for table in spec.tables
        if table.name != spec.name
    ]
    return [*extra, LINEAGE_TABLE, LOADS_TABLE]


def report_assets(partitions: StaticPartitionsDefinition) -> AssetsDefinition:
    """Build the report assets (one per report, and the shared tables), partitioned by account.

    Every run loads all reports together (no subsets): the further tables of a report and
    dlt's own tables are written by the same load.
    """
    specs = [
        *build_dlt_asset_specs(
            dlt_source=_spec_source(),
            dlt_pipeline=None,  # type: ignore[arg-type]  # the translator names assets without it
            dagster_dlt_translator=TRANSLATOR,
        ),
        *(
            AssetSpec(
                key=AssetKey([KEY_PREFIX, table]),
                group_name=GROUP,
                kinds={"dlt"},
                description=f"The table {table}, written by every report's load.",
                skippable=True,
            )
            for table in shared_tables()
        ),
    ]

    @multi_asset(
        name="livechat_reports",
        specs=specs,
        partitions_def=partitions,
        can_subset=False,
        pool=POOL,
        retry_policy=RETRY_POLICY,
    )
    def livechat_reports_assets(
        context: AssetExecutionContext,
        config: LoadConfig,
        warehouse: LiveChatWarehouse,
    ) -> Iterator[MaterializeResult[Any]]:
        yield from load_account(context, config, warehouse)

    return livechat_reports_assets


def load_account(
    context: AssetExecutionContext, config: LoadConfig, warehouse: LiveChatWarehouse
) -> Iterator[MaterializeResult[Any]]:
    """Load the partition's account as the command does; on failure raise a `Failure`.

    The load is `run_load`, the command's own: the pipeline's lock, the destination check,
    its state, packages an interrupted run left, the dataset's meaning, and the load step's
    workers are the same. Its summary becomes one materialization per table written, with the
    rows the run loaded and the table's name in the dataset.
    """
    name = context.partition_key
    account: Account | None = None
    try:
        check_no_single_account(configured_names())
        account = read_accounts([name])[0]
        options = with_rehearsed_now(config.source_options())
        options["configured_accounts"] = configured_account_ids()
        pipeline = warehouse.account_pipeline(name)
        context.log.info(
            f"Account {name} (account_id {account.account_id}): pipeline"
            f" {pipeline.pipeline_name}, dataset {pipeline.dataset_name}"
        )
        summary = run_load(pipeline, account_options(account, options), transform=False)
    except Exception as error:
        raise failure(name, account, error) from error
    yield from materializations(summary, pipeline.dataset_name)


def materializations(summary: LoadSummary, dataset: str) -> Iterator[MaterializeResult[Any]]:
    """One result per asset a load wrote: each report loaded, then the tables they share."""
    tables = [*summary.resources, *shared_tables(summary.resources)]
    for table in dict.fromkeys(tables):
        metadata: dict[str, Any] = {
            "table": MetadataValue.text(f"{dataset}.{table}"),
            "load_id": MetadataValue.text(summary.load_id or ""),
        }
        if table in summary.rows:
            metadata["rows_loaded"] = MetadataValue.int(summary.rows[table])
        yield MaterializeResult(asset_key=AssetKey([KEY_PREFIX, table]), metadata=metadata)


def failure(name: str, account: Account | None, error: BaseException) -> Failure:
    """Say which account failed, why, and what to do; retry only what may pass later."""
    diagnosis = diagnose(error, "load")
    account_id = f" (account_id {account.account_id})" if account is not None else ""
    retry = allow_retries(diagnosis.kind)
    if retry:
        todo = "It is retried; if it keeps failing, materialize this partition again later."
    elif diagnosis.kind is Kind.INTERRUPTED:
        todo = f"Materialize partition `{name}` again to go on."
    else:
        todo = (
            f"Fix its section [{SECTION}.{name}] (token or settings), then materialize partition"
            f" `{name}` again."
        )
    return Failure(
        description=(
            f"Account `{name}`{account_id} failed: {diagnosis.message} The other accounts are"
            f" not affected. {todo}"
        ),
        metadata={"account": MetadataValue.text(name)},
        allow_retries=retry,
    )


def allow_retries(kind: Kind) -> bool:
    """Whether Dagster tries a step that failed so again: only when it may pass later.

    Bad input and a final answer need a fix first; an interrupted run was stopped on purpose.
    """
    retried = {
        Kind.BAD_INPUT: False,
        Kind.FAILED: False,
        Kind.MAY_PASS_LATER: True,
        Kind.INTERRUPTED: False,
    }
    return retried[kind]
