"""Dependencies run one way: contracts <- runtime <- services <- deploy and bench. Read
from the source (ast), not from what happens to be imported at run time."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    "identification": ROOT / "services/identification/src/identification",
    "referral": ROOT / "services/referral/src/referral",
    "shelter_registry": ROOT / "services/shelter-registry/src/shelter_registry",
    "repatriation": ROOT / "services/repatriation/src/repatriation",
}
RUNTIME = ROOT / "runtime/src/nrm_runtime"
CONTRACTS = ROOT / "contracts/src/nrm_contracts"


def imported_packages(package: Path) -> dict[str, set[str]]:
    """Each module of ``package`` and the top-level packages it imports; a module name
    computed at run time (``import_module(f"...")``) counts as ``<dynamic>``."""
    found: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
                and not (node.args and isinstance(node.args[0], ast.Constant))
            ):
                names.add("<dynamic>")
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(package: Path, forbidden: set[str]) -> dict[str, set[str]]:
    return {
        module: names & forbidden
        for module, names in imported_packages(package).items()
        if names & forbidden
    }


def test_the_runtime_imports_no_service_and_guesses_no_module_name() -> None:
    forbidden = {*SERVICES, "nrm_deploy", "<dynamic>"}
    assert offenders(RUNTIME, forbidden) == {}


def test_the_contracts_import_neither_runtime_nor_services() -> None:
    assert offenders(CONTRACTS, {*SERVICES, "nrm_runtime", "nrm_deploy", "<dynamic>"}) == {}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_service_imports_another(service: str) -> None:
    others = {name for name in SERVICES if name != service} | {"nrm_deploy"}
    assert offenders(SERVICES[service], others) == {}
