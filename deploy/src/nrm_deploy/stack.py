"""``nrm-stack`` (what ``make run`` runs): the whole backbone on one machine.

Starts a single-node Kafka (unless ``KAFKA_BOOTSTRAP_SERVERS`` names a cluster to use),
then the four services as uvicorn processes and the web console (just below the first
service's port: 8000 by default), waits until each answers ``/readyz``,
prints where everything is, and runs until Ctrl-C or SIGTERM. Then it stops the
services first (they flush their outbox and commit their offsets against a live
broker) and Kafka last.

With ``--secure`` the broker is the secure one (``nrm-kafka start --secure``: SASL_SSL,
SCRAM-SHA-512, the local CA, deny-by-default ACLs generated from the services' code; data
in ``<var>/kafka-secure``), and each service connects as its own principal, checking the
broker's certificate against the CA.

With ``--topology cluster`` it runs the production-like topology instead
(:mod:`nrm_deploy.topology`): 3 brokers, PostgreSQL, two replicas of every service behind
HAProxy, all in ``<var>/cluster`` and thrown away at the next start.

Usage::

    nrm-stack [--var-dir var] [--base-port 8001] [--kafka-port 9092] [--secure]
    nrm-stack --topology cluster [--var-dir var] [--base-port 8001]
    python -m nrm_deploy.stack ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType

from nrm_deploy.catalogue import CONSOLE, SERVICES, ServiceKind
from nrm_deploy.kafka_cluster import BOOTSTRAP_ENV, KafkaCluster, external_bootstrap
from nrm_deploy.kafka_jars import KafkaLauncherError, repo_root
from nrm_deploy.kafka_layout import port_is_free
from nrm_deploy.kafka_security import KafkaSecurity

DEFAULT_BASE_PORT = 8001
DEFAULT_KAFKA_PORT = 9092
HEALTH_TIMEOUT_SECONDS = 60.0
KAFKA_START_TIMEOUT_SECONDS = 90.0
SERVICE_STOP_TIMEOUT_SECONDS = 15.0
KAFKA_STOP_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.2
LOG_TAIL_LINES = 30
HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The stack cannot start or keep running; the message says which part and why."""


class StopRequested(KeyboardInterrupt):
    """Ctrl-C or SIGTERM arrived while a blocking start-up step was running.

    A KeyboardInterrupt, so that code which cleans up after an interrupt (the Kafka
    launcher stops the nodes it started) does so for SIGTERM too.
    """


@dataclass(frozen=True)
class StackOptions:
    """What the command line decides."""

    var_dir: Path
    base_port: int
    kafka_port: int
    secure: bool = False
    topology: str = "single"

    @property
    def keys_dir(self) -> Path:
        return self.var_dir / "keys"

    @property
    def logs_dir(self) -> Path:
        return self.var_dir / "logs"

    @property
    def kafka_dir(self) -> Path:
        """The broker's storage; the secure broker keeps its own (its SCRAM credentials
        are written when the storage is formatted)."""
        return self.var_dir / ("kafka-secure" if self.secure else "kafka")


class StopSignals:
    """SIGINT and SIGTERM handled by the stack itself, at points it chooses.

    A signal only sets ``requested``; the start-up and watch loops look at it between
    steps, so no child is ever half-started or half-stopped by an exception. Only
    inside :meth:`interruptible` (the Kafka start, a single blocking call) does the
    first signal raise :class:`StopRequested`. A further signal while stopping sets
    ``hurry``: the services are then killed without waiting.
    """

    def __init__(self) -> None:
        self.requested: int | None = None
        self.hurry = False
        self._raise = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None:
            self.hurry = True
            return
        self.requested = signum
        if self._raise:
            self._raise = False
            raise StopRequested(signum)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Within this block the first signal raises :class:`StopRequested`."""
        if self.requested is not None:
            raise StopRequested(self.requested)
        self._raise = True
        try:
            yield
        finally:
            self._raise = False


@dataclass
class RunningService:
    """One service process of the stack: a uvicorn in its own process group."""

    kind: ServiceKind
    port: int
    log_file: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def is_healthy(self) -> bool:
        """Whether ``/readyz`` answers 200 now: alive, and its database, broker and
        consumers working (``/healthz`` alone would not prove the broker is reachable)."""
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def exit_report(self) -> str | None:
        """If the process has exited: its exit code and the tail of its log; else None."""
        code = self.process.poll()
        if code is None:
            return None
        return f"{self.kind.name} exited with code {code}\n{self.log_tail()}"

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        tail = "\n".join(text.splitlines()[-lines:]) or "(log is empty)"
        return f"--- {display_path(self.log_file)} (tail) ---\n{tail}"

    def send(self, signum: int) -> None:
        # Each service leads its own process group (start_new_session): this reaches it
        # and anything it spawned, and nothing else.
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signum)


# --- command line ---------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``nrm-stack`` command line."""
    parser = argparse.ArgumentParser(
        prog="nrm-stack",
        description="Run the NRM backbone locally: Kafka, the four services and the console, "
        "until Ctrl-C.",
    )
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=None,
        help="databases, logs, dev token keys and Kafka data (default <repo>/var)",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=DEFAULT_BASE_PORT,
        help="port of the first service; the others follow, the console is just below "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--kafka-port",
        type=int,
        default=DEFAULT_KAFKA_PORT,
        help=f"Kafka client port, unless {BOOTSTRAP_ENV} is set (default %(default)s)",
    )
    parser.add_argument(
        "--secure",
        action="store_true",
        help="the secure broker (SASL_SSL, SCRAM principals, ACLs per service; data in "
        "<var>/kafka-secure), each service connecting as its own principal",
    )
    parser.add_argument(
        "--topology",
        choices=["single", "cluster"],
        default="single",
        help="single: one broker, SQLite (default); cluster: 3 brokers (RF 3, min ISR 2), "
        "PostgreSQL, two replicas of every service behind HAProxy (data in <var>/cluster)",
    )
    return parser


def parse_options(argv: Sequence[str] | None) -> StackOptions:
    args = build_parser().parse_args(argv)
    var_dir = (args.var_dir or repo_root() / "var").resolve()
    if args.topology == "cluster" and args.secure:
        raise SystemExit("nrm-stack: --secure is for the single-broker topology")
    return StackOptions(
        var_dir=var_dir,
        base_port=args.base_port,
        kafka_port=args.kafka_port,
        secure=args.secure,
        topology=args.topology,
    )


def service_ports(base_port: int) -> dict[str, int]:
    """Each service's port: base+0..3 in catalogue order (8001..8004 by default)."""
    return {name: base_port + index for index, name in enumerate(SERVICES)}


def console_port(base_port: int) -> int:
    """The console's port: just below the services' (8000 by default)."""
    return base_port - 1


# --- starting -------------------------------------------------------------------------


def start_kafka(options: StackOptions, signals: StopSignals) -> tuple[KafkaCluster | None, str]:
    """The broker to use: an external one (nothing started) or a node started here
    (the secure one with ``--secure``: its ACLs are granted before this returns)."""
    external = external_bootstrap()
    if external is not None:
        if options.secure:
            # The services' passwords and the CA are those of a broker started here.
            raise StackError(
                f"--secure starts its own secure broker: unset {BOOTSTRAP_ENV}={external}"
            )
        return None, external
    security = KafkaSecurity.ensure(options.kafka_dir / "security") if options.secure else None
    cluster = KafkaCluster(
        options.kafka_dir, nodes=1, ports=[options.kafka_port], security=security
    )
    mode = " (secure: SASL_SSL, ACLs per service)" if options.secure else ""
    print(f"starting Kafka on {cluster.bootstrap_servers}{mode} ...", flush=True)
    # On an interrupt or failure the launcher stops the node it started.
    with signals.interruptible():
        cluster.start(timeout=KAFKA_START_TIMEOUT_SECONDS)
    return cluster, cluster.bootstrap_servers


def ensure_keys(keys_dir: Path) -> Path:
    """The dev token JWKS in ``keys_dir``, created with its signing key if missing."""
    from nrm_runtime.devtokens import ensure_dev_keys

    return ensure_dev_keys(keys_dir)


def service_environment(
    kind: ServiceKind,
    port: int,
    options: StackOptions,
    bootstrap: str,
    jwks: Path,
    security: KafkaSecurity | None = None,
) -> dict[str, str]:
    """The process environment of one service: the caller's, plus the stack's settings
    (with ``security``: the service's own principal, password and the broker's CA)."""
    settings = {
        "ENVIRONMENT": "dev",
        "PORT": str(port),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": f"sqlite+aiosqlite:///{options.var_dir / f'{kind.name}.db'}",
        "JWT_JWKS_FILE": str(jwks),
    }
    prefixed = {f"{kind.env_prefix}{key}": value for key, value in settings.items()}
    if security is not None:
        prefixed.update(security.service_environment(kind.name, kind.env_prefix))
    return {**os.environ, **prefixed}


def console_environment(port: int, ports: dict[str, int], keys_dir: Path) -> dict[str, str]:
    """The console's process environment: where the four services are; in dev it signs
    people in with its own dev issuer, using the stack's dev token key."""
    settings = {
        "ENVIRONMENT": "dev",
        "PORT": str(port),
        "PUBLIC_URL": f"http://{HOST}:{port}",
        "DEV_KEYS_DIR": str(keys_dir),
        **{
            f"{name.replace('-', '_').upper()}_URL": f"http://{HOST}:{service_port}"
            for name, service_port in ports.items()
        },
    }
    return {**os.environ, **{f"{CONSOLE.env_prefix}{k}": v for k, v in settings.items()}}


def logging_config(kind: ServiceKind) -> dict[str, object]:
    """A ``logging.dictConfig`` for uvicorn: JSON lines from the first line on.

    The service switches its logs to JSON when its lifespan starts; uvicorn's own
    lines before that would be plain text and break ``jq`` on the log file.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "nrm_runtime.logs.JsonFormatter", "service": kind.name}},
        "filters": {"scrub": {"()": "nrm_runtime.logs.ScrubPersonalData"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["scrub"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
    }


def fresh_log_file(logs_dir: Path, name: str) -> Path:
    """``<logs>/<name>.log``, empty; the previous run's log is kept as ``<name>.log.1``."""
    log_file = logs_dir / f"{name}.log"
    if log_file.exists():
        log_file.replace(logs_dir / f"{name}.log.1")
    return log_file


def launch_service(
    kind: ServiceKind,
    port: int,
    options: StackOptions,
    bootstrap: str,
    jwks: Path,
    security: KafkaSecurity | None = None,
    environment: dict[str, str] | None = None,
) -> RunningService:
    """Start one service process (without waiting for it), its output into its log
    (``environment``: instead of a backbone service's, e.g. the console's)."""
    log_config = options.logs_dir / f"{kind.name}.logging.json"
    log_config.write_text(json.dumps(logging_config(kind), indent=2))
    log_file = fresh_log_file(options.logs_dir, kind.name)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        kind.app_factory,
        "--factory",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-config",
        str(log_config),
    ]
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=environment or service_environment(kind, port, options, bootstrap, jwks, security),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C in the terminal reaches only the stack,
            # which then stops the services in order.
            start_new_session=True,
        )
    return RunningService(kind, port, log_file, process)


def refuse_busy_ports(ports: dict[str, int]) -> None:
    """Fail early when a service port is taken (another stack still running?).

    Otherwise the health check could see the other process's ``/healthz`` answer.
    """
    busy = [f"{name} {port}" for name, port in ports.items() if not port_is_free(port)]
    if busy:
        raise StackError(
            f"port(s) already in use on {HOST}: {', '.join(busy)}; is another stack running? "
            "(choose others with --base-port)"
        )


def wait_healthy(
    services: list[RunningService], kafka: KafkaCluster | None, signals: StopSignals
) -> bool:
    """Wait until every service is ready; False if a stop was requested."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    waiting = list(services)
    while waiting:
        if signals.requested is not None:
            return False
        raise_if_any_died(services, kafka)
        waiting = [service for service in waiting if not service.is_healthy()]
        if waiting and time.monotonic() > deadline:
            tails = "\n".join(service.log_tail() for service in waiting)
            names = ", ".join(service.kind.name for service in waiting)
            raise StackError(
                f"not ready (/readyz) within {HEALTH_TIMEOUT_SECONDS:.0f}s: {names}\n{tails}"
            )
        if waiting:
            time.sleep(POLL_SECONDS)
    return True


# --- running and stopping -------------------------------------------------------------


def raise_if_any_died(services: list[RunningService], kafka: KafkaCluster | None) -> None:
    """A child that exited on its own ends the stack: a half-running backbone misleads."""
    for service in services:
        report = service.exit_report()
        if report is not None:
            raise StackError(report)
    if kafka is not None:
        for node in kafka.nodes:
            node_report = node.exit_report()
            if node_report is not None:
                raise StackError(f"Kafka broker died: {node_report}")


def watch(services: list[RunningService], kafka: KafkaCluster | None, signals: StopSignals) -> None:
    """Block until a stop is requested; raise :class:`StackError` if a child dies."""
    while signals.requested is None:
        raise_if_any_died(services, kafka)
        time.sleep(POLL_SECONDS)


def stop_services(services: list[RunningService], signals: StopSignals) -> None:
    """SIGTERM to all at once (graceful shutdown), SIGKILL to those still up after a while."""
    for service in services:
        service.send(signal.SIGTERM)
    deadline = time.monotonic() + SERVICE_STOP_TIMEOUT_SECONDS
    while any(service.process.poll() is None for service in services):
        if signals.hurry or time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)
    for service in services:
        if service.process.poll() is None:
            print(f"{service.kind.name} did not stop in time: killing it", file=sys.stderr)
            service.send(signal.SIGKILL)
            service.process.wait()


def stop_all(
    services: list[RunningService], kafka: KafkaCluster | None, signals: StopSignals
) -> None:
    """Services first, so they can still reach the broker while shutting down; Kafka last."""
    # From here on a signal must not interrupt the clean-up: it only makes it hurry.
    if signals.requested is None:
        signals.requested = signal.SIGTERM
    if services:
        print("stopping services ...", flush=True)
        stop_services(services, signals)
    if kafka is not None:
        print("stopping Kafka ...", flush=True)
        kafka.stop(timeout=KAFKA_STOP_TIMEOUT_SECONDS)
    print("stopped", flush=True)


# --- the banner -----------------------------------------------------------------------


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it: shorter to read and paste."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def token_command(organisation: str, role: str, keys_dir: Path) -> str:
    """A shell command printing a dev token that this stack's services accept."""
    bin_dir = Path(sys.executable).parent  # the venv's bin, not resolved past its symlink
    command = f"{display_path(bin_dir / 'nrm')}"
    if keys_dir.resolve() != (repo_root() / "var" / "keys").resolve():
        command += f" --keys-dir {shlex.quote(display_path(keys_dir))}"
    return f"{command} token --org {organisation} --role {role}"


def example_screening() -> dict[str, object]:
    """A valid minimal ``ScreeningCreate`` body for the banner's curl example."""
    return {
        "person": {
            "given_name": "Sokha",
            "family_name": "Chan",
            "sex": "female",
            "estimated_age": 16,
            "nationality": "KHM",
        },
        "encounter": {
            "type": "police_operation",
            "date": date.today().isoformat(),
            "province_code": "02",
        },
        "indicators": {"acts": ["harbouring"], "purposes": ["sexual_exploitation"]},
        "consents": [{"purpose": "referral", "given": True, "basis": "guardian"}],
    }


EXAMPLE_DECISION = {
    "stage": "preliminary",
    "outcome": "identified",
    "rationale": "reasonable grounds",
}
CASE_ID_OF_ANSWER = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"case_id\"])'"


def kafka_line(kafka: KafkaCluster | None, bootstrap: str) -> str:
    if kafka is None:
        return f"  {'kafka':<17} {bootstrap}   (external: {BOOTSTRAP_ENV})"
    ready = f"ready in {kafka.startup_seconds or 0:.1f}s"
    data = display_path(kafka.data_dir)
    line = f"  {'kafka':<17} {bootstrap}   (started here, {ready}, data in {data})"
    if kafka.security is not None:
        line += (
            f"\n  {'':<17} secure: SASL_SSL/SCRAM-SHA-512, one principal per service, "
            f"ACLs deny by default; CA {display_path(kafka.security.ca_file)}"
        )
    return line


def try_it_lines(services: list[RunningService], keys_dir: Path) -> list[str]:
    """Paste-ready: record a screening, presume the victim (the Competent Authority's
    preliminary decision), then see the referral case it opened."""
    by_name = {service.kind.name: service for service in services}
    identification = by_name["identification"].url
    return [
        "Try it:",
        f"  TOKEN=$({token_command('moi-dahtjp', 'screener', keys_dir)})",
        f"  CASE=$(curl -s -X POST {identification}/screenings \\",
        '    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
        f"    -d {shlex.quote(json.dumps(example_screening()))} | {CASE_ID_OF_ANSWER})",
        f"  TOKEN=$({token_command('mosvy', 'competent_authority', keys_dir)})",
        f"  curl -s -X POST {identification}/cases/$CASE/decisions \\",
        '    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
        f"    -d {shlex.quote(json.dumps(EXAMPLE_DECISION))}",
        f"  TOKEN=$({token_command('mosvy', 'case_manager', keys_dir)})",
        f'  curl -s {by_name["referral"].url}/referral-cases -H "Authorization: Bearer $TOKEN"',
    ]


def banner(
    services: list[RunningService],
    kafka: KafkaCluster | None,
    bootstrap: str,
    options: StackOptions,
    healthy_seconds: float,
) -> str:
    """What is running where, and how to call it."""
    return "\n".join(
        [
            "",
            f"NRM backbone: all healthy in {healthy_seconds:.1f}s",
            *(
                f"  {service.kind.name:<17} {service.url}   "
                + (
                    "sign in (dev: pick organisation and role)"
                    if service.kind is CONSOLE
                    else f"docs {service.url}/docs"
                )
                for service in services
            ),
            kafka_line(kafka, bootstrap),
            f"  {'logs':<17} {display_path(options.logs_dir)}/<service>.log (JSON lines)",
            "",
            *try_it_lines(services, options.keys_dir),
            "",
            "Ctrl-C stops everything.",
        ]
    )


# --- main -----------------------------------------------------------------------------


def run(options: StackOptions, signals: StopSignals) -> int:
    """Start, watch, stop. Returns the exit code."""
    started_at = time.monotonic()
    ports = service_ports(options.base_port)
    refuse_busy_ports({**ports, CONSOLE.name: console_port(options.base_port)})
    options.logs_dir.mkdir(parents=True, exist_ok=True)
    jwks = ensure_keys(options.keys_dir)
    kafka: KafkaCluster | None = None
    services: list[RunningService] = []
    try:
        kafka, bootstrap = start_kafka(options, signals)
        security = kafka.security if kafka is not None else None
        for name, kind in SERVICES.items():
            if signals.requested is not None:
                return 0
            services.append(launch_service(kind, ports[name], options, bootstrap, jwks, security))
        port = console_port(options.base_port)
        environment = console_environment(port, ports, options.keys_dir)
        services.append(launch_service(CONSOLE, port, options, bootstrap, jwks, None, environment))
        if not wait_healthy(services, kafka, signals):
            return 0
        healthy_seconds = time.monotonic() - started_at
        print(banner(services, kafka, bootstrap, options, healthy_seconds), flush=True)
        watch(services, kafka, signals)
        return 0
    except StopRequested:
        return 0
    except (KafkaLauncherError, StackError) as error:
        print(f"nrm-stack: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        stop_all(services, kafka, signals)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nrm-stack``; returns the process exit code."""
    options = parse_options(argv)
    signals = StopSignals()
    signals.install()
    if options.topology == "cluster":
        from nrm_deploy.topology_run import run_cluster

        return run_cluster(options, signals)
    try:
        return run(options, signals)
    except (KafkaLauncherError, StackError) as error:
        print(f"nrm-stack: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
