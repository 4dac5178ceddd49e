"""The Kafka launcher against a real broker: start, produce/consume, restart, failover."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from nrm_deploy import kafka as kafka_cli
from nrm_deploy.kafka import (
    KafkaCluster,
    KafkaStartError,
    ToolMissingError,
    external_bootstrap,
    free_port,
)
from nrm_deploy.kafka_jars import ensure_kafka_jars, find_java, find_maven
from nrm_deploy.kafka_layout import port_is_free

pytestmark = [pytest.mark.timeout(180), pytest.mark.broker]


async def create_topic(
    bootstrap_servers: str, name: str, replication_factor: int = 1, min_insync: int = 1
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=1,
                    replication_factor=replication_factor,
                    topic_configs={"min.insync.replicas": str(min_insync)},
                )
            ]
        )
        assert [error[1] for error in response.topic_errors] == [0], response
    finally:
        await admin.close()


async def partition_leader(bootstrap_servers: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        [description] = await admin.describe_topics([topic])
        return int(description["partitions"][0]["leader"])
    finally:
        await admin.close()


async def produce(
    bootstrap_servers: str, topic: str, values: list[bytes], **config: object
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, **config)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def consume_all(bootstrap_servers: str, topic: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(values) < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            values += [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()
    return values


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.asyncio
async def test_single_node_produces_consumes_and_stops(tmp_path: Path, kafka_libs: Path) -> None:
    port = free_port()
    cluster = KafkaCluster(tmp_path / "kafka", ports=[port])
    assert cluster.bootstrap_servers == f"127.0.0.1:{port}"
    cluster.start()
    try:
        assert cluster.startup_seconds is not None
        print(f"single node ready in {cluster.startup_seconds:.1f}s")
        [node] = cluster.nodes
        assert node.process is not None
        pid = node.process.pid
        await create_topic(cluster.bootstrap_servers, "referrals")
        await produce(
            cluster.bootstrap_servers, "referrals", [b"case-1"], enable_idempotence=True, acks="all"
        )
        assert await consume_all(cluster.bootstrap_servers, "referrals", 1) == [b"case-1"]
    finally:
        cluster.stop()
    assert process_gone(pid)
    assert not node.pid_path.exists()
    assert port_is_free(port)


@pytest.mark.asyncio
async def test_restart_on_same_data_dir_and_port_keeps_messages(
    tmp_path: Path, kafka_libs: Path
) -> None:
    data_dir = tmp_path / "kafka"
    port = free_port()
    with KafkaCluster(data_dir, ports=[port]) as first:
        await create_topic(first.bootstrap_servers, "cases")
        await produce(first.bootstrap_servers, "cases", [b"kept"], enable_idempotence=True)
    meta = data_dir / "node-1" / "data" / "meta.properties"
    formatted_at = meta.stat().st_mtime_ns

    with KafkaCluster(data_dir, ports=[port]) as second:
        assert second.cluster_id == first.cluster_id
        assert await consume_all(second.bootstrap_servers, "cases", 1) == [b"kept"]
    assert meta.stat().st_mtime_ns == formatted_at  # reused, not reformatted


@pytest.mark.asyncio
async def test_three_nodes_keep_accepting_acks_all_with_one_node_down(
    tmp_path: Path, kafka_libs: Path
) -> None:
    cluster = KafkaCluster(tmp_path / "kafka", nodes=3)
    cluster.start()
    try:
        assert cluster.startup_seconds is not None
        print(f"3 nodes ready in {cluster.startup_seconds:.1f}s")
        bootstrap = cluster.bootstrap_servers
        await create_topic(bootstrap, "events", replication_factor=3, min_insync=2)
        await produce(bootstrap, "events", [b"before"], acks="all", enable_idempotence=True)

        # Stop the partition leader: the hardest case (leader failover, ISR shrink).
        leader_index = await partition_leader(bootstrap, "events") - 1
        cluster.stop_node(leader_index)
        assert len(cluster.running_nodes()) == 2
        await produce(bootstrap, "events", [b"during"], acks="all", enable_idempotence=True)

        cluster.start_node(leader_index)
        assert len(cluster.running_nodes()) == 3
        await produce(bootstrap, "events", [b"after"], acks="all", enable_idempotence=True)
        assert await consume_all(bootstrap, "events", 3) == [b"before", b"during", b"after"]
    finally:
        cluster.stop()
    assert cluster.running_nodes() == []


def test_external_bootstrap_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:9092,broker-b:9092")
    assert external_bootstrap() == "broker-a:9092,broker-b:9092"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "  ")
    assert external_bootstrap() is None
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")
    assert external_bootstrap() is None


def test_cli_start_uses_external_cluster_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")

    def no_cluster(*args: object, **kwargs: object) -> None:
        raise AssertionError("no broker may be started when KAFKA_BOOTSTRAP_SERVERS is set")

    monkeypatch.setattr(kafka_cli, "KafkaCluster", no_cluster)
    assert kafka_cli.main(["start"]) == 0
    assert "kafka.example:9092" in capsys.readouterr().out


def test_missing_java_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no java, no mvn
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(ToolMissingError, match="openjdk-17-jre-headless"):
        find_java()
    with pytest.raises(ToolMissingError, match="openjdk-17-jre-headless"):
        KafkaCluster(tmp_path / "kafka", ports=[free_port()]).start()
    assert kafka_cli.main(["start", "--port", str(free_port()), "--data-dir", str(tmp_path)]) == 1
    assert "Java 17 not found" in capsys.readouterr().err


def test_missing_maven_is_a_clear_error_only_when_jars_must_be_fetched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka_libs: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match="apt-get install maven"):
        find_maven()
    # The cache matches pom.xml, so no Maven is needed...
    assert ensure_kafka_jars() == kafka_libs
    # ...but an empty jar directory must be fetched, which needs Maven.
    monkeypatch.setenv("NRM_KAFKA_LIBS", str(tmp_path / "libs"))
    with pytest.raises(ToolMissingError, match="Maven"):
        ensure_kafka_jars()


def test_fetch_fills_an_empty_jar_dir_once_and_drops_stale_jars(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka_libs: Path
) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-0.0.1.jar").write_bytes(b"a jar of another Kafka version")
    monkeypatch.setenv("NRM_KAFKA_LIBS", str(libs))
    assert ensure_kafka_jars() == libs  # runs Maven (from its local repository by now)
    jars = {jar.name for jar in libs.glob("*.jar")}
    assert jars == {jar.name for jar in kafka_libs.glob("*.jar")}
    assert "kafka_2.13-0.0.1.jar" not in jars
    monkeypatch.setenv("PATH", str(tmp_path))  # a second call must not need Maven
    assert ensure_kafka_jars() == libs


def test_a_broker_that_fails_to_start_is_reported_with_its_log(
    tmp_path: Path, kafka_libs: Path
) -> None:
    cluster = KafkaCluster(tmp_path / "kafka", ports=[free_port()])
    [node] = cluster.nodes
    # Storage "formatted" for another node: the broker refuses it and exits.
    node.data_dir.mkdir(parents=True)
    (node.data_dir / "meta.properties").write_text(
        f"version=1\ncluster.id={cluster.cluster_id}\nnode.id=99\n"
    )
    with pytest.raises(KafkaStartError, match=r"exited with code [1-9](.|\n)*server\.log"):
        cluster.start(timeout=60)
    assert cluster.running_nodes() == []


def test_a_cluster_id_never_starts_with_a_dash_that_the_storage_tool_reads_as_an_option(
    monkeypatch,
) -> None:
    import uuid

    from nrm_deploy import kafka_layout

    dash_first = uuid.UUID(bytes=bytes([0xFB]) + bytes(15))  # base64url "-w..."
    ids = iter([dash_first, uuid.UUID(int=1)])
    monkeypatch.setattr(kafka_layout.uuid, "uuid4", lambda: next(ids))

    cluster_id = kafka_layout.new_cluster_id()

    assert not cluster_id.startswith("-")
    assert len(cluster_id) == 22
