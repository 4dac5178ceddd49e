"""Where the Kafka broker's files live, and fetching its jars from Maven Central.

The broker is not downloaded as an Apache release tarball: ``deploy/kafka/pom.xml``
declares ``org.apache.kafka:kafka_2.13`` and Maven copies its runtime classpath into
a gitignored jar cache (``.cache/kafka/libs``). Maven only runs when that cache is
missing or was filled from a different ``pom.xml`` (a stamp file holds the pom's hash).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT_ENV = "NRM_ROOT"
LIBS_ENV = "NRM_KAFKA_LIBS"
JAVA_HOME_ENV = "JAVA_HOME"

MIN_JAVA_MAJOR = 17  # Kafka 4.x brokers refuse to run on older JVMs
STAMP_NAME = ".pom-sha256"
# A jar whose absence means the cache is unusable even if the stamp matches.
BROKER_JAR_PREFIX = "kafka_2.13-"

JAVA_INSTALL_HINT = (
    f"Java {MIN_JAVA_MAJOR} not found: install openjdk-{MIN_JAVA_MAJOR}-jre-headless "
    f"(Debian/Ubuntu: apt-get install openjdk-{MIN_JAVA_MAJOR}-jre-headless), "
    f"or set {JAVA_HOME_ENV} to a Java {MIN_JAVA_MAJOR}+ installation"
)
MAVEN_INSTALL_HINT = (
    "Maven (mvn) not found: it fetches the Kafka broker jars from Maven Central; "
    "install it (Debian/Ubuntu: apt-get install maven)"
)


class KafkaLauncherError(RuntimeError):
    """Base class of the errors the Kafka launcher reports to its user."""


class ToolMissingError(KafkaLauncherError):
    """A program the launcher needs (java, mvn) is not installed or too old."""


class FetchError(KafkaLauncherError):
    """Maven could not fetch the Kafka jars."""


@dataclass(frozen=True)
class KafkaFiles:
    """The checked-in broker configuration files and the jar cache they go with."""

    root: Path
    pom: Path
    log4j_config: Path
    server_template: Path
    libs_dir: Path


def repo_root() -> Path:
    """The repository root: ``$NRM_ROOT`` if set, else found from this file's location."""
    configured = os.environ.get(ROOT_ENV)
    # deploy/src/nrm_deploy/kafka_jars.py -> parents[3] is the repository root
    root = Path(configured) if configured else Path(__file__).resolve().parents[3]
    if not (root / "deploy" / "kafka" / "pom.xml").is_file():
        raise KafkaLauncherError(
            f"{root} does not look like the NRM repository (no deploy/kafka/pom.xml); "
            f"set {ROOT_ENV} to the repository root"
        )
    return root


def kafka_files() -> KafkaFiles:
    """Locate the broker's configuration files and jar cache (``$NRM_KAFKA_LIBS`` wins)."""
    root = repo_root()
    kafka_dir = root / "deploy" / "kafka"
    libs = os.environ.get(LIBS_ENV)
    return KafkaFiles(
        root=root,
        pom=kafka_dir / "pom.xml",
        log4j_config=kafka_dir / "log4j2.yaml",
        server_template=kafka_dir / "server.properties.template",
        libs_dir=Path(libs).resolve() if libs else root / ".cache" / "kafka" / "libs",
    )


def find_java() -> Path:
    """The ``java`` executable (``$JAVA_HOME/bin/java`` first, then ``PATH``), version-checked."""
    java_home = os.environ.get(JAVA_HOME_ENV)
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    if candidate is None or not os.access(candidate, os.X_OK):
        found = shutil.which("java")
        if found is None:
            raise ToolMissingError(JAVA_INSTALL_HINT)
        candidate = Path(found)
    major = _java_major_version(str(candidate))
    if major < MIN_JAVA_MAJOR:
        raise ToolMissingError(f"{candidate} is Java {major}; {JAVA_INSTALL_HINT}")
    return candidate


@cache
def _java_major_version(java: str) -> int:
    result = subprocess.run(
        [java, "-version"], capture_output=True, text=True, timeout=60, check=False
    )
    # `java -version` prints e.g. 'openjdk version "17.0.15" ...' (or "1.8.0_x") on stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if match is None:
        raise ToolMissingError(f"could not read the version of {java}; {JAVA_INSTALL_HINT}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_maven() -> Path:
    """The ``mvn`` executable on ``PATH``."""
    found = shutil.which("mvn")
    if found is None:
        raise ToolMissingError(MAVEN_INSTALL_HINT)
    return Path(found)


def pom_digest(pom: Path) -> str:
    """The hash recorded in the jar cache's stamp: the cache is stale when it changes."""
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def jars_are_current(files: KafkaFiles) -> bool:
    """Whether the jar cache was filled from the current ``pom.xml`` and still has the broker."""
    stamp = files.libs_dir / STAMP_NAME
    if not stamp.is_file() or stamp.read_text().strip() != pom_digest(files.pom):
        return False
    return any(files.libs_dir.glob(f"{BROKER_JAR_PREFIX}*.jar"))


def ensure_kafka_jars(files: KafkaFiles | None = None) -> Path:
    """Fetch the broker jars with Maven unless the cache is current; return the jar dir."""
    files = files or kafka_files()
    if jars_are_current(files):
        return files.libs_dir
    files.libs_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(files.libs_dir / ".fetch.lock"):
        # Another process may have fetched while we waited for the lock.
        if not jars_are_current(files):
            _fetch_into(files)
    return files.libs_dir


def _fetch_into(files: KafkaFiles) -> None:
    mvn = find_maven()
    find_java()  # Maven itself needs a JVM; report the clearer message first
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=files.libs_dir) as staging:
        command = [
            str(mvn), "-q", "-B", "-f", str(files.pom),
            "dependency:copy-dependencies", f"-Dkafka.libs.dir={staging}",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise FetchError(
                f"Maven could not fetch the Kafka jars (exit {result.returncode}):\n"
                + "\n".join(output.splitlines()[-30:])
            )
        _replace_jars(files.libs_dir, Path(staging))
    (files.libs_dir / STAMP_NAME).write_text(pom_digest(files.pom) + "\n")


def _replace_jars(libs_dir: Path, staging: Path) -> None:
    # The JVM classpath is '<libs>/*': jars of a previous Kafka version left beside
    # the new ones would be loaded too, so old jars go. Only *.jar files are touched,
    # in case $NRM_KAFKA_LIBS points at a directory that holds anything else.
    for old_jar in libs_dir.glob("*.jar"):
        old_jar.unlink()
    for new_jar in staging.glob("*.jar"):
        new_jar.replace(libs_dir / new_jar.name)


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    # Parallel test sessions or services may ask for the jars at the same moment.
    with lock_path.open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def classpath(libs_dir: Path) -> str:
    """The JVM ``-cp`` value for every jar in the cache (the JVM expands the wildcard)."""
    return str(libs_dir / "*")
