"""The checked-in contract files are what `nrm-contracts generate` writes, and it behaves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nrm_contracts.generate import ASYNCAPI_FILE, generated_files, main, write_schemas

CONTRACTS_DIR = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = CONTRACTS_DIR / "schemas"
PUBLISHED_DIR = CONTRACTS_DIR / "published"
STALE_HINT = "contracts/schemas/ is stale: run `make contracts` and commit the result"


def directory_contents(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}


def test_schemas_are_current(tmp_path: Path) -> None:
    write_schemas(tmp_path)

    generated, checked_in = directory_contents(tmp_path), directory_contents(SCHEMAS_DIR)
    assert sorted(generated) == sorted(checked_in), STALE_HINT
    for name, text in generated.items():
        assert checked_in[name] == text, f"{name}: {STALE_HINT}"


def test_one_schema_per_event_type_and_the_asyncapi_document() -> None:
    names = set(generated_files())

    assert ASYNCAPI_FILE in names
    assert "kh.nrm.identification.screening.recorded.v1.json" in names
    assert "kh.nrm.referral.case.opened.v1.json" in names


def test_generation_is_deterministic(tmp_path: Path) -> None:
    assert generated_files() == generated_files()
    write_schemas(tmp_path)

    assert write_schemas(tmp_path) == []


def test_generate_removes_schemas_of_vanished_types_but_keeps_them_published(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas_dir, published_dir = copy_contracts(tmp_path)
    gone = "kh.nrm.identification.screening.withdrawn.v1"
    (schemas_dir / f"{gone}.json").write_text("{}\n", encoding="utf-8")
    (published_dir / f"{gone}.json").write_text(json.dumps({"type": "object"}), encoding="utf-8")

    status = run("generate", schemas_dir, published_dir)

    assert status == 1
    assert not (schemas_dir / f"{gone}.json").exists()
    assert (published_dir / f"{gone}.json").exists()
    assert f"{gone}: event type no longer defined" in capsys.readouterr().err


def test_generate_publishes_new_types_once(tmp_path: Path) -> None:
    schemas_dir, published_dir = tmp_path / "schemas", tmp_path / "published"

    assert run("generate", schemas_dir, published_dir) == 0
    first = directory_contents(published_dir)
    # The same types; not the same text: a published type may since have gained an
    # optional field, which a fresh publication includes and the frozen file does not.
    assert sorted(first) == sorted(directory_contents(PUBLISHED_DIR))
    assert run("generate", schemas_dir, published_dir) == 0
    assert directory_contents(published_dir) == first


def test_check_passes_on_the_checked_in_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("check", SCHEMAS_DIR, PUBLISHED_DIR) == 0
    assert "contracts are current" in capsys.readouterr().out


def test_check_fails_on_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schemas_dir, published_dir = copy_contracts(tmp_path)
    (schemas_dir / ASYNCAPI_FILE).write_text("asyncapi: 3.0.0\n", encoding="utf-8")
    (published_dir / "kh.nrm.referral.case.opened.v1.json").unlink()

    status = run("check", schemas_dir, published_dir)

    err = capsys.readouterr().err
    assert status == 1
    assert "make contracts" in err
    assert f"out of date: {schemas_dir / ASYNCAPI_FILE}" in err
    assert "unpublished: kh.nrm.referral.case.opened.v1" in err


def test_check_fails_on_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schemas_dir, published_dir = copy_contracts(tmp_path)
    frozen = published_dir / "kh.nrm.referral.case.opened.v1.json"
    published = json.loads(frozen.read_text(encoding="utf-8"))
    published["properties"]["closed_at"] = {"type": "string", "format": "date-time"}
    frozen.write_text(json.dumps(published), encoding="utf-8")

    status = run("check", schemas_dir, published_dir)

    assert status == 1
    err = capsys.readouterr().err
    assert "kh.nrm.referral.case.opened.v1: field 'closed_at' removed" in err
    assert "new type with the next version number" in err


def copy_contracts(tmp_path: Path) -> tuple[Path, Path]:
    schemas_dir, published_dir = tmp_path / "schemas", tmp_path / "published"
    shutil.copytree(SCHEMAS_DIR, schemas_dir)
    shutil.copytree(PUBLISHED_DIR, published_dir)
    return schemas_dir, published_dir


def run(command: str, schemas_dir: Path, published_dir: Path) -> int:
    return main([command, "--schemas-dir", str(schemas_dir), "--published-dir", str(published_dir)])
