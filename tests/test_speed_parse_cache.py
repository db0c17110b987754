"""The parse shared between pipelines: which parse fits, and how it is shared."""

from __future__ import annotations

import shutil
from pathlib import Path

from transforms import PROJECT_DIR
from transforms.fingerprint import PACKAGE_FILES
from transforms.runner import _adopt_parse, _publish_parse, parse_key

CONNECTION = {"DLT__CREDENTIALS__DATABASE": "livechat.duckdb"}
VARIABLES = {"source_dataset_name": "livechat_reports"}


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "package"
    for name in PACKAGE_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            root.mkdir(exist_ok=True)
            shutil.copyfile(source, root / name)
    return root


def test_a_changed_model_or_connection_needs_another_parse(tmp_path: Path) -> None:
    root = _package(tmp_path)
    key = parse_key(root, "duckdb", CONNECTION, VARIABLES)
    assert parse_key(root, "duckdb", dict(CONNECTION), dict(VARIABLES)) == key
    other = {"DLT__CREDENTIALS__DATABASE": "other.duckdb"}
    assert parse_key(root, "duckdb", other, VARIABLES) != key
    assert parse_key(root, "duckdb", CONNECTION, {"source_dataset_name": "x"}) != key
    assert parse_key(root, "postgres", CONNECTION, VARIABLES) != key
    model = next((root / "models").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- changed\n")
    assert parse_key(root, "duckdb", CONNECTION, VARIABLES) != key


def test_the_password_does_not_name_the_parse(tmp_path: Path) -> None:
    root = _package(tmp_path)
    one = {**CONNECTION, "DLT__CREDENTIALS__PASSWORD": "one"}
    two = {**CONNECTION, "DLT__CREDENTIALS__PASSWORD": "two"}
    assert parse_key(root, "postgres", one, VARIABLES) == parse_key(
        root, "postgres", two, {**VARIABLES}
    )


def test_a_parse_is_shared_once_and_adopted_only_by_a_pipeline_without_one(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "cache" / "key.msgpack"
    first, second = tmp_path / "a" / "parse", tmp_path / "b" / "parse"
    first.parent.mkdir()
    second.parent.mkdir()
    _adopt_parse(shared, first)  # nothing shared yet
    assert not first.exists()
    first.write_bytes(b"parse of a")
    _publish_parse(first, shared)
    assert shared.read_bytes() == b"parse of a"
    assert [p.name for p in shared.parent.iterdir()] == ["key.msgpack"]  # no temporary left
    first.write_bytes(b"a later parse of a")
    _publish_parse(first, shared)  # the first one shared stays
    assert shared.read_bytes() == b"parse of a"
    _adopt_parse(shared, second)
    assert second.read_bytes() == b"parse of a"
    second.write_bytes(b"parse of b")
    _adopt_parse(shared, second)  # a pipeline's own parse is kept
    assert second.read_bytes() == b"parse of b"
