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


# One shape for every service: the layer is the folder's name (ARCHITECTURE.md).
ROOMS = ("domain", "schemas", "store", "views", "usecases", "entrypoints/http", "migrations")
ROOT_MODULES = ("app.py", "settings.py", "context.py", "access.py", "entrypoints/events.py")
# A rule is pure: what it imports says nothing of the web, the database or the broker.
IMPURE = ("fastapi", "starlette", "sqlalchemy", "sqlmodel", "aiokafka", "httpx")
IMPURE_RUNTIME = ("nrm_runtime.database", "nrm_runtime.http", "nrm_runtime.broker")
# What opens a transaction or runs a query; a router calls a use case or a view instead.
TRANSACTION_CALLS = {"unit_of_work", "session", "execute", "scalars", "scalar", "commit", "select"}


def imported_modules(path: Path) -> set[str]:
    """The dotted names ``path`` imports (``from a.b import c`` counts as ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def transaction_calls(path: Path) -> list[str]:
    """The calls in ``path`` that open a transaction or query the database, with lines."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = getattr(function, "attr", getattr(function, "id", ""))
        on_session = isinstance(function, ast.Attribute) and "session" in ast.unparse(
            function.value
        )
        if name in TRANSACTION_CALLS or (name == "get" and on_session):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(function)}")
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_has_the_same_rooms(service: str) -> None:
    package = SERVICES[service]
    missing = [room for room in ROOMS if not (package / room).is_dir()]
    missing += [module for module in ROOT_MODULES if not (package / module).is_file()]
    assert missing == []


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_domain_imports_no_web_database_or_broker(service: str) -> None:
    impure: dict[str, set[str]] = {}
    for path in (SERVICES[service] / "domain").rglob("*.py"):
        names = imported_modules(path)
        bad = {
            name
            for name in names
            if name.split(".")[0] in IMPURE
            or any(name == mod or name.startswith(f"{mod}.") for mod in IMPURE_RUNTIME)
        }
        if bad:
            impure[str(path.relative_to(ROOT))] = bad
    assert impure == {}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_routers_open_no_transaction_and_run_no_query(service: str) -> None:
    routers = sorted((SERVICES[service] / "entrypoints/http").rglob("*.py"))
    assert routers, "no routers found"
    assert [call for path in routers for call in transaction_calls(path)] == []


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_background_jobs_run_in_the_runtime_loop(service: str) -> None:
    """A loop of our own is where a job dies silently; ``nrm_runtime.periodic.every``
    logs a failed round and goes on."""
    loops = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in SERVICES[service].rglob("*.py")
        if "simulator" not in path.parts
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.While)
        and isinstance(node.test, ast.Constant)
        and node.test.value is True
    ]
    assert loops == []
