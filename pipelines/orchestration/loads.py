"""One Dagster asset per report (named by dagster-dlt's translator), partitioned by shard.

A run of partition `shard_k` loads the accounts of shard k through the shard's pipeline
(`livechat_reports_shard_k`) and staging dataset, as `livechat-reports load --shards k` does:
the same code (`plan_shards`, `run_accounts`, then `load_source`), settings, state and checks,
one load job and one merge per table for all the shard's accounts. Incremental loading is
dlt's (each account's cursors are in the dataset), so the partitions are shards only, not days:
a date range is a backfill through run config (`LoadConfig`) on the same assets.
"""

# No `from __future__ import annotations`: Dagster reads the asset functions' annotations
# (config class, context, resources) as objects.

import typing
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from dagster import (
    AssetCheckResult,
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
    AccountConfigError,
    AccountResult,
    assign_shards,
    configured_account_ids,
    configured_names,
    group_breakdown_configured,
    plan_shards,
    read_accounts,
    run_accounts,
    shard_count,
    shard_pipeline_name,
    validate_no_single_account,
)
from pipelines.clock import with_rehearsed_now
from pipelines.diagnosis import Diagnosis, Kind, diagnose
from pipelines.livechat_reports import LoadSummary
from sources.livechat import LoadOptions, livechat_reports
from sources.livechat.credentials import PersonalAccessTokenCredentials
from sources.livechat.exceptions import LiveChatError
from sources.livechat.lineage import LINEAGE_TABLE
from sources.livechat.meaning import ACCOUNTS_TABLE, DatasetMeaningChanged, RefreshLeavesTables
from sources.livechat.reports import REPORTS
from transforms.tables import LOADS_TABLE

from .checks import (
    FRESHNESS_CHECK,
    check_specs,
    freshness_result,
    grain_result,
    grains,
    last_loads,
    not_loaded_result,
)
from .partitions import shard_of_key
from .tables import table_metadata
from .warehouse import LiveChatWarehouse

GROUP = "livechat"
KEY_PREFIX = "livechat"
# Every asset that writes the destination is in this pool: dagster.yaml holds it to one run
# (DuckDB has one writer); `dagster instance concurrency set` lifts it on a server warehouse.
POOL = "livechat_destination"
# Transient failures (timeouts, 5xx, a locked file) are tried again later; see `failure`.
RETRY_POLICY = RetryPolicy(max_retries=2, delay=60, backoff=Backoff.EXPONENTIAL)


class LoadConfig(Config):
    """Run config of a load: empty for the daily incremental run, dates for a backfill.

    Dates are inclusive and days of each account's timezone, as on the command line; they
    apply to every account of the shard.
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
        description="Reload from start_date, replacing the accounts' rows (after a change of"
        " timezone, distribution or filters).",
    )

    def load_options(self) -> LoadOptions:
        """Return the run's settings these give (None where left out: config decides)."""
        return LoadOptions(
            # Checked by the source, as the command's dates are.
            start_date=self.start_date or None,
            end_date=self.end_date or None,
            backfill=True if self.backfill else None,
            refresh=True if self.refresh else None,
        )


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


def _spec_source(by_group: bool) -> Any:
    """A source with every report (and, `by_group`, every per-group report), to list the assets.

    It makes no request.
    """
    credentials = PersonalAccessTokenCredentials()
    credentials.account_id, credentials.personal_access_token = "definitions", "unused"
    return livechat_reports(credentials=credentials, breakdowns=["group"] if by_group else None)


def shared_tables(reports: Iterable[str] | None = None, by_group: bool = True) -> list[str]:
    """Tables a load writes besides one per report: a report's further tables, dlt's own.

    Args:
        reports: The reports loaded (default all): only their further tables are written.
        by_group: Whether the per-group reports' further tables count (when `reports` is
            None).
    """
    selected = None if reports is None else set(reports)
    grouped = [spec.by_group() for spec in REPORTS if spec.group_filter is not None]
    specs = [*REPORTS, *(grouped if by_group or selected is not None else [])]
    extra = [
        table.name
        for spec in specs
        if selected is None or spec.name in selected
        for table in spec.tables
        if table.name != spec.name
    ]
    return [*extra, LINEAGE_TABLE, LOADS_TABLE]


def report_assets(
    partitions: StaticPartitionsDefinition, by_group: bool | None = None
) -> AssetsDefinition:
    """Build the report assets (one per report, and the shared tables), partitioned by shard.

    Every run loads all reports together (no subsets): the further tables of a report and
    dlt's own tables are written by the same load.

    Args:
        partitions: The shards.
        by_group: Whether the per-group reports (`*_by_group`) are assets; default: when some
            configured account loads the group breakdown (`group_breakdown_configured`), so
            that without it they do not stand "never materialized". A shard without the
            breakdown skips them.
    """
    if by_group is None:
        by_group = group_breakdown_configured()
    specs = [
        *build_dlt_asset_specs(
            dlt_source=_spec_source(by_group),
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
            for table in shared_tables(by_group=by_group)
        ),
    ]

    @multi_asset(
        name="livechat_reports",
        specs=specs,
        check_specs=check_specs(KEY_PREFIX, [spec.key for spec in specs]),
        partitions_def=partitions,
        can_subset=False,
        pool=POOL,
        retry_policy=RETRY_POLICY,
    )
    def livechat_reports_assets(
        context: AssetExecutionContext,
        config: LoadConfig,
        warehouse: LiveChatWarehouse,
    ) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
        yield from load_shard(context, config, warehouse)

    return livechat_reports_assets


def load_shard(
    context: AssetExecutionContext, config: LoadConfig, warehouse: LiveChatWarehouse
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    """Load the partition's shard as `livechat-reports load --shards k` does.

    The same checks before any request (the account sections, their settings), then
    `run_accounts`, the command's own: one run of the shard's pipeline through `load_source` (its
    lock, the destination check, packages an interrupted run left, the accounts' cursors and
    their rows' meaning, all before any request), one load job and one merge per table for all
    its accounts. The accounts loaded become one
    materialization per table written (with its row count, read after the load), then the
    checks of those tables (`checks.py`); then, if some account failed, a `Failure` naming each.

    Raises:
        Failure: When the shard could not be loaded, or some of its accounts failed (the
            others' rows are loaded and materialized first).
    """
    key = context.partition_key
    members: list[Account] = []
    try:
        shard, shards, members = shard_accounts(key)
        if not members:
            context.log.info(
                f"Shard {shard} of {shards} has no account: nothing to load. An account goes"
                f" to the shard its section's `shard` names, else to the one a hash of its"
                " name picks."
            )
    except Exception as error:
        raise shard_failure(key, members, error) from error
    if not members:  # the checks still say how the tables are
        if warehouse.has_dataset():
            with warehouse.sql_client() as client:
                yield from table_checks(context, client)
        else:
            yield from table_checks(context, None)
        return
    try:
        options = with_rehearsed_now(config.load_options())
        # Recorded with each account's load: the dataset learns which accounts are configured.
        options = options.replace(configured_accounts=configured_account_ids())
        # Built once: every account's settings are validated before any request. The rows'
        # meaning is checked by `load_source` under the shard's own pipeline, before any
        # request (`refuse_changed_meanings` would attach every shard's run to shard 0's).
        plan = plan_shards(
            members,
            options,
            pipeline_name=warehouse.pipeline_name,
            shards=shards,
            only_shards=[shard],
        )
        context.log.info(
            f"Shard {shard} of {shards}: pipeline"
            f" {shard_pipeline_name(warehouse.pipeline_name, shard)}, dataset"
            f" {warehouse.stored_dataset()}, accounts {named(members)}"
        )
        outcome = run_accounts(
            plan,
            **warehouse.load_arguments(),
            transform=False,  # the transform is its own job
        )
    except Exception as error:
        raise shard_failure(key, members, error) from error
    whole = shared_error(outcome.results)
    if whole is not None:
        raise shard_failure(key, members, whole) from whole
    for result in outcome.results:
        log_account(context, result)
    if any(r.summary is not None for r in outcome.results):
        with warehouse.sql_client() as client:
            yield from materializations(
                context, outcome.results, warehouse.stored_dataset(), client
            )
            yield from table_checks(context, client)
    if outcome.failed:
        raise accounts_failure(key, outcome.results)


def shard_accounts(key: str) -> tuple[int, int, list[Account]]:
    """Return the shard a partition key names, how many shards there are, and its accounts.

    Raises:
        AccountConfigError: On bad account configuration, or when the shard no longer exists.
    """
    shard = shard_of_key(key)
    validate_no_single_account(configured_names())
    shards = shard_count()
    if shard >= shards:
        raise AccountConfigError(
            f"Partition `{key}` is shard {shard}, but `shards` under [sources.livechat] is now"
            f" {shards}: reload the code location, whose partitions are the shards it found"
            " when it loaded."
        )
    # Every section is read (a shard is known only from them all), as the command does.
    return shard, shards, assign_shards(read_accounts(), shards).get(shard, [])


def log_account(context: AssetExecutionContext, result: AccountResult) -> None:
    """Log one account's part of the run: its rows, requests and days, or why it failed."""
    who = f"Account {result.account.name} (account_id {result.account.account_id})"
    if result.summary is not None:
        summary = result.summary
        days = f", days {summary.first_day}..{summary.last_day}" if summary.first_day else ""
        rows = sum(summary.rows.values())
        context.log.info(f"{who}: {rows} rows, {summary.requests} requests{days}")
    elif result.error is not None:
        context.log.error(f"{who} failed: {diagnose(result.error, 'load').message}")


def written_tables(results: Sequence[AccountResult]) -> list[str]:
    """The tables the shard's load wrote: each report loaded, then the tables they share."""
    resources = [name for r in results if r.summary is not None for name in r.summary.resources]
    if not resources:
        return []
    return list(dict.fromkeys([*resources, *shared_tables(dict.fromkeys(resources))]))


def materializations(
    context: AssetExecutionContext,
    results: Sequence[AccountResult],
    dataset: str,
    client: Any,
) -> Iterator[MaterializeResult[Any]]:
    """One result per asset the shard's load wrote: each report loaded, then the tables they share.

    Each carries the table's name in the dataset (`dagster/table_name`), the rows it holds
    (`dagster/row_count`; of the shard's accounts, `dagster/partition_row_count`), the load id,
    the rows the run loaded into it (in all and per account id) and the accounts loaded and
    failed.

    A table with no asset (a per-group table loaded while the code location, loaded before
    the breakdown was configured, planned none) is logged, not materialized.

    Args:
        context: The run's context (its assets).
        results: The shard's accounts' results.
        dataset: The dataset as the destination stores it.
        client: dlt's SQL client on the dataset, to count the rows.
    """
    loaded = [r for r in results if r.summary is not None]
    if not loaded:
        return
    first = typing.cast(LoadSummary, loaded[0].summary)
    keyed = grains()
    shard_accounts = [r.account.account_id for r in results]
    accounts: dict[str, Any] = {
        "accounts_loaded": MetadataValue.text(named(r.account for r in loaded))
    }
    failed = [r.account for r in results if r.error is not None]
    if failed:
        accounts["accounts_failed"] = MetadataValue.text(named(failed))
    planned = set(context.assets_def.keys)
    tables = written_tables(results)
    unplanned = [t for t in tables if AssetKey([KEY_PREFIX, t]) not in planned]
    if unplanned:
        context.log.warning(
            f"Loaded {', '.join(unplanned)}, which have no asset here: the code location was"
            " loaded before an account turned the group breakdown on. Reload it to see them."
        )
    for table in (t for t in tables if t not in unplanned):
        metadata: dict[str, Any] = {
            **table_metadata(client, dataset, table, shard_accounts if table in keyed else None),
            "table": MetadataValue.text(f"{dataset}.{table}"),
            "load_id": MetadataValue.text(first.load_id or ""),
            **accounts,
        }
        rows = {
            r.account.account_id: r.summary.rows[table]
            for r in loaded
            if r.summary is not None and table in r.summary.rows
        }
        if rows:
            metadata["rows_loaded"] = MetadataValue.int(sum(rows.values()))
            metadata["rows_by_account"] = MetadataValue.json(rows)
        yield MaterializeResult(asset_key=AssetKey([KEY_PREFIX, table]), metadata=metadata)


def table_checks(context: AssetExecutionContext, client: Any) -> Iterator[AssetCheckResult]:
    """Every check of the report assets, on the tables as they are after the shard's load.

    A table the dataset does not have yet passes its grain; `account_loads` missing means no
    account has loaded yet. `client` is None when there is no dataset at all (no DuckDB file).
    """
    keyed = grains()
    tables = set()
    if client is not None:
        rows = client.execute_sql(
            "select table_name from information_schema.tables where table_schema = %s",
            client.dataset_name,
        )
        tables = {str(row[0]) for row in rows or []}

    def query(sql: str) -> Sequence[Sequence[Any]]:
        return typing.cast(Sequence[Sequence[Any]], client.execute_sql(sql) or [])

    for spec in context.assets_def.check_specs:
        table = spec.asset_key.path[-1]
        if spec.name == FRESHNESS_CHECK:
            last = (
                last_loads(query, client.make_qualified_table_name(table))
                if table in tables
                else {}
            )
            yield freshness_result(last, KEY_PREFIX, configured_account_ids())
        elif table in tables:
            qualified = client.make_qualified_table_name(table)
            yield grain_result(query, KEY_PREFIX, table, qualified, keyed[table])
        else:
            yield not_loaded_result(KEY_PREFIX, table)


def named(accounts: Iterable[Account]) -> str:
    """The accounts as people read them: `acme (acme-id), globex (globex-id)`."""
    return ", ".join(f"{a.name} ({a.account_id})" for a in accounts)


def shard_failure(key: str, members: Sequence[Account], error: BaseException) -> Failure:
    """The shard as a whole failed (its settings, its destination): say why and what to do."""
    diagnosis = diagnose(error, "load")
    who = f" ({named(members)})" if members else ""
    if allow_retries(diagnosis.kind):
        todo = f"It is retried; if it keeps failing, materialize partition `{key}` again later."
    elif diagnosis.kind is Kind.INTERRUPTED:
        todo = f"Materialize partition `{key}` again to go on."
    else:
        todo = f"Fix what it names, then materialize partition `{key}` again."
    if isinstance(error, DatasetMeaningChanged | RefreshLeavesTables) or isinstance(
        error.__cause__, DatasetMeaningChanged | RefreshLeavesTables
    ):
        todo = (
            "On Dagster, the command's options above are the run config's `refresh: true`"
            " (LoadConfig) and the resource's `dataset_name` (LiveChatWarehouse). " + todo
        )
    return Failure(
        description=f"Shard `{key}`{who} failed: {diagnosis.message} {todo}",
        metadata={"shard": MetadataValue.text(key)},
        allow_retries=allow_retries(diagnosis.kind),
    )


def accounts_failure(key: str, results: Sequence[AccountResult]) -> Failure:
    """Some accounts of the shard failed: name each, say why and what to do.

    When the shard failed as a whole (`shared_error`), `shard_failure` says so once. The run
    is retried only when every failure may pass later; a retry loads the whole shard again
    (the accounts loaded now reload their lookback days only).
    """
    whole = shared_error(results)
    if whole is not None:
        return shard_failure(key, [r.account for r in results], whole)
    failures = [(r.account, r.error) for r in results if r.error is not None]
    loaded = [r.account for r in results if r.error is None]
    return _failure(key, [(a.name, a, diagnose(e, "load")) for a, e in failures], loaded)


def shared_error(results: Sequence[AccountResult]) -> BaseException | None:
    """The error the shard failed with as a whole (its destination, say), or None.

    `run_accounts` gives such an error to every account of the shard. An account's own error
    (a LiveChat error) is its own, even when the shard has that one account.
    """
    first = results[0].error if results else None
    if first is None or any(r.error is not first for r in results):
        return None
    return first if len(results) > 1 or not isinstance(first, LiveChatError) else None


def failure(
    name: str, account: Account | None, error: BaseException, partition: str | None = None
) -> Failure:
    """Say that one account failed, why, and what to do; retry only what may pass later."""
    return _failure(partition, [(name, account, diagnose(error, "load"))], [])


def _failure(
    partition: str | None,
    failed: Sequence[tuple[str, Account | None, Diagnosis]],
    loaded: Sequence[Account],
) -> Failure:
    again = f"materialize partition `{partition}` again" if partition else "materialize it again"
    retry = all(allow_retries(d.kind) for _, _, d in failed)
    lines = []
    for name, account, diagnosis in failed:
        account_id = f" (account_id {account.account_id})" if account is not None else ""
        if allow_retries(diagnosis.kind):
            todo = "It may pass later."
        elif diagnosis.kind is Kind.INTERRUPTED:
            todo = "It was stopped before it finished."
        else:
            todo = f"Fix its section [{SECTION}.{name}] (token or settings)."
        lines.append(f"Account `{name}`{account_id} failed: {diagnosis.message} {todo}")
    if loaded:
        lines.append(f"The shard's other accounts were loaded: {named(loaded)}.")
    if retry:
        lines.append(f"The run is retried; if it keeps failing, {again} later.")
    elif all(d.kind is Kind.INTERRUPTED for _, _, d in failed):
        lines.append(f"{again.capitalize()} to go on.")
    elif loaded:
        lines.append(f"Then {again}; the accounts loaded now reload their lookback days only.")
    else:
        lines.append(f"Then {again}.")
    return Failure(
        description="\n".join(lines),
        metadata={"failed_accounts": MetadataValue.text(", ".join(n for n, _, _ in failed))},
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
