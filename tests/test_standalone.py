"""The repository stands alone: a fresh clone needs no folder beside it."""

from __future__ import annotations

import importlib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Where the team's notes and sample copies live on its own machines, never in a clone. Spelled in
# pieces so that grepping the repository for them finds nothing, this file included.
SHARED = b"shared"
OUTSIDE = (b"../" + SHARED, b"/work" + b"/", SHARED + b"/livechat-api")


def tracked_files() -> list[Path]:
    """The files git tracks in this checkout (skips when this is not a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no list of tracked files to scan")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    files = tracked_files()
    assert ROOT / "README.md" in files
    found = []
    for path in files:
        if path == Path(__file__).resolve() or not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            found += [
                f"{path.relative_to(ROOT)}:{number}: {word.decode()}"
                for word in OUTSIDE
                if word in line
            ]
    assert not found, "references to folders outside the repository:\n" + "\n".join(found)


def test_path_constants_of_the_tests_stay_inside_the_repository() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "tests").rglob("*.py")
        if p.name != "__init__.py"
    )
    checked = {}
    for name in modules:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, Path) and not attr.startswith("_"):
                checked[f"{name}.{attr}"] = value.resolve()
    assert "tests.conftest.SAMPLES" in checked
    outside = {k: str(v) for k, v in checked.items() if not v.is_relative_to(ROOT)}
    assert not outside, f"test paths outside {ROOT}: {outside}"


def test_the_sample_fixtures_are_tracked() -> None:
    from tests.conftest import SAMPLES

    present = {p for p in SAMPLES.iterdir() if p.is_file()}
    assert SAMPLES / "README.md" in present
    untracked = present - set(tracked_files())
    assert not untracked, f"fixtures a clone would not have (git add them): {sorted(untracked)}"
