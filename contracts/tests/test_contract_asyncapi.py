"""The AsyncAPI document: what it says, and that the official AsyncAPI parser accepts it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nrm_contracts import CONTENT_TYPE, Topic, event_types
from nrm_contracts.asyncapi import asyncapi_document
from nrm_contracts.generate import ASYNCAPI_FILE, generated_files
from nrm_contracts.registry import notice_types

REPO_ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = REPO_ROOT / "contracts" / "tools" / "validate-asyncapi.mjs"
TOOLS_DIR = Path(os.environ.get("NRM_TOOLS_DIR", REPO_ROOT / ".tools"))
PARSER_PACKAGE = TOOLS_DIR / "node_modules" / "@asyncapi" / "parser" / "package.json"
PARSER_TIMEOUT_SECONDS = 60


def official_parser(document: Path) -> subprocess.CompletedProcess[str]:
    """Run contracts/tools/validate-asyncapi.mjs on ``document``; fail if it cannot run."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20) is not on PATH: install it, then run `make setup`")
    if not PARSER_PACKAGE.is_file():
        pytest.fail(f"@asyncapi/parser is not installed in {TOOLS_DIR}: run `make setup`")
    return subprocess.run(
        [node, str(VALIDATOR), str(document)],
        capture_output=True,
        text=True,
        timeout=PARSER_TIMEOUT_SECONDS,
        env={**os.environ, "NRM_TOOLS_DIR": str(TOOLS_DIR)},
        check=False,
    )


def test_official_parser_accepts_the_document(tmp_path: Path) -> None:
    document = tmp_path / ASYNCAPI_FILE
    document.write_text(generated_files()[ASYNCAPI_FILE], encoding="utf-8")

    result = official_parser(document)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid AsyncAPI 3.0.0" in result.stdout


def test_official_parser_rejects_a_broken_document(tmp_path: Path) -> None:
    # Proves the check can fail: AsyncAPI 3 knows no "publish" action (AsyncAPI 2 did).
    broken = asyncapi_document()
    broken["operations"]["identification.send"]["action"] = "publish"
    document = tmp_path / ASYNCAPI_FILE
    document.write_text(yaml.safe_dump(broken), encoding="utf-8")

    result = official_parser(document)

    assert result.returncode == 1
    assert "operations.identification.send.action" in result.stderr


def test_document_header() -> None:
    document = asyncapi_document()

    assert document["asyncapi"] == "3.0.0"
    assert document["defaultContentType"] == CONTENT_TYPE
    assert document["servers"]["kafka"] == {
        **document["servers"]["kafka"],
        "host": "127.0.0.1:9092",
        "protocol": "kafka",
    }


def test_one_channel_per_topic_with_the_messages_of_its_events() -> None:
    channels = asyncapi_document()["channels"]

    assert sorted(channel["address"] for channel in channels.values()) == sorted(
        [
            *Topic,
            "nrm.referral.provider.{organisation}",
            "nrm.{service}.audit",
            "{topic}.dlq.{consumer_group}",
        ]
    )
    for event_type, payload in event_types().items():
        address = payload.channel or payload.topic.value
        (channel,) = [c for c in channels.values() if c["address"] == address]
        assert channel["messages"][event_type] == {"$ref": f"#/components/messages/{event_type}"}


def test_the_notices_and_the_dead_letters_have_their_channel_families() -> None:
    document = asyncapi_document()
    providers = document["channels"]["provider_notices"]
    dead_letters = document["channels"]["dead_letters"]

    assert set(providers["parameters"]) == {"organisation"}
    for event_type, notice in notice_types().items():
        assert providers["messages"][event_type] == {"$ref": f"#/components/messages/{event_type}"}
        schema = document["components"]["schemas"][event_type]
        assert schema["properties"]["type"]["const"] == event_type
        assert "referral_id" in schema["properties"]["data"]["required"]
        assert notice.event_type not in event_types()  # never accepted on a backbone topic
    assert set(dead_letters["parameters"]) == {"topic", "consumer_group"}
    assert sorted(dead_letters["parameters"]["topic"]["enum"]) == sorted(Topic)
    headers = document["components"]["messages"]["DeadLetter"]["headers"]
    assert set(headers["required"]) == {
        "nrm.dlq.reason",
        "nrm.dlq.topic",
        "nrm.dlq.partition",
        "nrm.dlq.offset",
        "nrm.dlq.consumer-group",
    }


def test_messages_carry_the_envelope_and_key_the_subject() -> None:
    components = asyncapi_document()["components"]

    for event_type, payload in event_types().items():
        message = components["messages"][event_type]
        assert message["payload"] == {"$ref": f"#/components/schemas/{event_type}"}
        assert message["contentType"] == CONTENT_TYPE
        assert message["correlationId"]["location"] == "$message.payload#/subject"
        assert payload.subject_field in message["bindings"]["kafka"]["key"]["description"]
        envelope = components["schemas"][event_type]
        assert envelope["properties"]["type"]["const"] == event_type
        assert "traceparent" in envelope["required"]


def test_owners_send_and_known_readers_receive() -> None:
    operations = asyncapi_document()["operations"]

    for topic in Topic:
        owner = topic.value.removeprefix("nrm.")
        assert operations[f"{owner}.send"]["action"] == "send"
        assert operations[f"{owner}.send"]["channel"] == {
            "$ref": f"#/channels/{topic.name.lower()}"
        }
    referral_reads = operations["referral.receive.identification"]
    assert referral_reads["action"] == "receive"
    assert referral_reads["channel"] == {"$ref": "#/channels/identification"}
    assert_all_refs_resolve(asyncapi_document())


def assert_all_refs_resolve(document: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = document
                for token in ref.removeprefix("#/").split("/"):
                    assert isinstance(target, dict) and token in target, f"dangling {ref}"
                    target = target[token]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(document)
