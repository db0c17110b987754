"""One planned request, asked and flattened (every page of it): what a load and `check` send."""

from __future__ import annotations

from .client import LiveChatClient
from .flatten import Context, Row, Tables, total_pages
from .lineage import lineage_row
from .plan import Request, request_body
from .progress import NO_PROGRESS, Progress
from .reports import GROUP_KEY, Kind, ReportSpec, TableSpec
from .settings import Settings


def fetch(
    spec: ReportSpec,
    settings: Settings,
    client: LiveChatClient,
    request: Request,
    progress: Progress = NO_PROGRESS,
) -> tuple[Tables, list[Row]]:
    """Ask for one planned request and flatten the answer; runs on the client's pool.

    Args:
        spec: The report (or its per-group copy).
        settings: The run's settings.
        client: The HTTP client.
        request: The days, period or group to ask for.
        progress: Told each answered request, and pages beyond the one planned.

    Returns:
        The rows per table, and one lineage row per page asked.

    Raises:
        LiveChatAPIError: When the request fails (see `LiveChatClient.post`).
        ResponseShapeError: When the answer is not the report's shape.
    """
    group = request.group
    ctx = Context(
        report=spec.path if group is None else f"{spec.path} (group {group})",
        table=spec.table.base or spec.name,
        account_id=settings.account_id,
        window=request.window,
        timezone=settings.timezone,
        distribution=settings.distribution if spec.hourly else "day",
        period=request.period.kind if request.period else None,
    )
    body = request_body(spec, settings, request.window, group)
    by_base = {t.base or t.name: t for t in spec.tables}
    tables: Tables = {t.name: [] for t in spec.tables}
    lineage: list[Row] = []
    page, pages, announced = 1, 1, 1
    while page <= pages:
        if spec.kind is Kind.PAGED:
            body["page"] = page
        fetched = client.post(spec.path, body, str(request.window))
        progress.request_done(spec.name, fetched.attempts)
        answer = fetched.body
        if answer.get("name") != spec.response_name:
            raise ctx.fail(f"`name` is `{answer.get('name')}`, expected `{spec.response_name}`")
        for name, rows in spec.flatten(answer, ctx).items():
            table = by_base[name]
            if group is not None:
                rows = [_in_group(row, table, group, ctx) for row in rows]
            tables[table.name].extend(rows)
        if spec.kind is Kind.PAGED:
            pages = total_pages(answer, ctx)
            if pages > announced:  # the plan counted one page per day
                progress.planned(spec.name, pages - announced)
                announced = pages
        lineage.append(
            lineage_row(
                settings.account_id,
                body,
                fetched,
                report=spec.path,
                table_name=spec.name,
                window=request.window,
                period=ctx.period,
                group=group,
                page=page if spec.kind is Kind.PAGED else None,
            )
        )
        page += 1
    return tables, lineage


def _in_group(row: Row, table: TableSpec, group: int, ctx: Context) -> Row:
    """A row of a per-group answer: its group in `group_id`, clashing columns renamed."""
    out = {table.group_renames.get(k, k): v for k, v in row.items()}
    if GROUP_KEY in out:
        raise ctx.fail(f"the answer has a `{GROUP_KEY}` field, which would overwrite the group")
    out[GROUP_KEY] = str(group)
    return out
