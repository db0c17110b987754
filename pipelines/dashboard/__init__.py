"""`livechat-reports dashboard`: one self-contained HTML file from the marts.

`read.py` reads the marts (DuckDB read-only, or the pipeline's SQL client), `model.py` picks
what each account's page shows, `charts.py` writes the Vega-Lite specs with Altair, `page.py`
fills `template.html` with them and Vega's own scripts (inlined from vl-convert), so the file
opens offline, from a mail or a file share, with no server.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .read import DashboardError, Marts

__all__ = ["DEFAULT_MONTHS", "DashboardError", "DashboardResult", "build_html", "write_dashboard"]

DEFAULT_MONTHS = 6


@dataclass(frozen=True)
class DashboardResult:
    """What was written: the file's absolute path, its size, and the accounts on the page."""

    path: str
    size: int
    accounts: tuple[str, ...]


def _dependencies() -> tuple[Any, Any]:
    try:
        import altair
        import vl_convert
    except ImportError as error:
        raise DashboardError(
            f"The dashboard needs Altair and vl-convert ({error.name} is not installed):"
            ' pip install "livechat-reports[dashboard]" (the project\'s .venv has them).'
        ) from None
    return altair, vl_convert


def _bundle_cache() -> Path:
    altair, vl_convert = _dependencies()
    major_minor = ".".join(str(altair.SCHEMA_VERSION).lstrip("v").split(".")[:2])
    version = getattr(vl_convert, "__version__", "unknown")
    return _cache_dir() / f"vega-bundle-vl-convert-{version}-vega-lite-{major_minor}.js"


def warm_bundle_cache() -> subprocess.Popen[bytes] | None:
    """Start making the bundle in another process when it is not cached yet, or return None.

    vl-convert holds the GIL while it bundles (about 1.3 s), so a thread would not overlap
    it with reading the marts; a process does. `javascript_bundle` then finds it cached (or
    makes it itself, should that process fail).
    """
    try:
        if _bundle_cache().is_file():
            return None
    except DashboardError:
        return None
    code = "from pipelines.dashboard import javascript_bundle; javascript_bundle()"
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def javascript_bundle() -> str:
    """Return Vega, Vega-Lite and Vega-Embed as one script, for the Vega-Lite Altair writes.

    vl-convert takes about 1.3 s to bundle them, the same bytes every time for one version, so
    the bundle is kept in the user's cache directory (`$XDG_CACHE_HOME/livechat-reports`, else
    `~/.cache/livechat-reports`) under the versions it was made from. Without a writable cache
    it is made anew each time.
    """
    altair, vl_convert = _dependencies()
    major_minor = ".".join(str(altair.SCHEMA_VERSION).lstrip("v").split(".")[:2])
    cache = _bundle_cache()
    try:
        cached, _, digest = cache.read_text(encoding="utf-8").rpartition("\n// sha256 ")
        if digest == _sha256(cached):
            return cached
    except (OSError, UnicodeDecodeError):
        pass  # not cached yet, or unreadable: made anew (a damaged one fails its digest)
    bundle = str(vl_convert.javascript_bundle(vl_version=major_minor))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        _write_whole(cache, f"{bundle}\n// sha256 {_sha256(bundle)}".encode())
    except OSError:
        pass  # a read-only or full home: the next run bundles again
    return bundle


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "livechat-reports"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_whole(target: Path, content: bytes) -> None:
    """Write a file under a temporary name and rename it: readers see all of it or nothing."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temporary, 0o666 & ~_umask())  # as an ordinary new file, not mkstemp's 0600
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_html(marts: Marts, account: str | None = None, months: int = DEFAULT_MONTHS) -> str:
    """Return the page for the account (every account of the dataset when None).

    Raises:
        DashboardError: When the dataset has no data, or not for `account`.
    """
    _dependencies()
    from .charts import WEEKLY, charts, weekly_charts
    from .combined import all_accounts_view
    from .model import account_view, accounts_in
    from .page import render

    accounts = accounts_in(marts)
    if not accounts and marts.unfinished_loads:
        raise DashboardError(
            f"Dataset `{marts.dataset}` has no rows in kpi_daily to show. {marts.unfinished()}"
            " Then run the dashboard again."
        )
    if not accounts:
        raise DashboardError(
            f"Dataset `{marts.dataset}` has no rows in kpi_daily yet: load some days first."
        )
    if account is not None:
        if account not in accounts:
            raise DashboardError(
                f"Account `{account}` has no data in dataset `{marts.dataset}`; it holds:"
                f" {', '.join(accounts)}. Pass one of these to --account, or leave it out."
            )
        accounts = [account]
    views = [account_view(marts, a, months) for a in accounts]
    combined = None
    if len(views) > 1:
        everyone = all_accounts_view(views)
        combined = (everyone, weekly_charts(everyone.weeks, WEEKLY))
    return render(marts.dataset, views, [charts(v) for v in views], javascript_bundle(), combined)


def write_dashboard(
    marts: Marts, out: str, account: str | None = None, months: int = DEFAULT_MONTHS
) -> DashboardResult:
    """Build the page and write it to `out` whole (a reader never sees half a file)."""
    page = build_html(marts, account, months).encode("utf-8")
    target = Path(out).expanduser().resolve()
    _write_whole(target, page)
    from .model import accounts_in

    accounts = (account,) if account else tuple(accounts_in(marts))
    return DashboardResult(str(target), len(page), accounts)
