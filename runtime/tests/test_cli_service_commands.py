"""``nrm`` takes sub-commands from the ``nrm.commands`` entry point group, so that a
service adds its own (``nrm import``) without the runtime importing services."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import pytest

from nrm_runtime import cli


@dataclass
class _EntryPoint:
    name: str
    register: Any

    def load(self) -> Any:
        return self.register


def _greet(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("greet", help="a service's command")
    parser.add_argument("--times", type=int, default=1)
    parser.set_defaults(run=lambda args: 40 + args.times)


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    groups: list[str] = []

    def entry_points(*, group: str) -> list[_EntryPoint]:
        groups.append(group)
        return [_EntryPoint("greet", _greet)]

    monkeypatch.setattr(cli, "entry_points", entry_points)
    return groups


def test_a_declared_command_runs_and_its_status_is_the_exit_status(declared) -> None:
    assert cli.main(["greet", "--times", "2"]) == 42
    assert declared == ["nrm.commands"]


def test_the_runtime_commands_still_work_beside_declared_ones(declared, tmp_path, capsys) -> None:
    assert cli.main(["--keys-dir", str(tmp_path), "keys", "init"]) == 0
    assert "dev token keys" in capsys.readouterr().out


def test_a_declared_command_is_listed_in_the_help(declared, capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "greet" in capsys.readouterr().out
