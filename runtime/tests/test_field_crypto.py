"""Field-level encryption: a sealed value opens only at its own place, under a known key."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from nrm_runtime.field_crypto import (
    FieldCryptoError,
    FieldKey,
    KeyRing,
    add_key,
    create_key_file,
    is_sealed,
    key_id_of,
    retire_key,
)

PLACE = {"table": "person", "record_id": "3f1c9a", "field": "given_name"}
NAME = "Sokha Chan"


@pytest.fixture
def ring(tmp_path) -> KeyRing:
    return KeyRing.load(create_key_file(tmp_path / "field-keys.json"))


def test_a_sealed_value_opens_at_its_place(ring) -> None:
    sealed = ring.seal(NAME, **PLACE)

    assert ring.open(sealed, **PLACE) == NAME


def test_a_sealed_value_names_its_version_and_key_and_hides_the_value(ring) -> None:
    sealed = ring.seal(NAME, **PLACE)

    version, kid, body = sealed.split(".")
    assert (version, kid) == ("v1", ring.current_kid)
    assert NAME.encode() not in base64.urlsafe_b64decode(body + "==")
    assert "Sokha" not in sealed


def test_every_seal_uses_a_fresh_nonce(ring) -> None:
    sealed = {ring.seal(NAME, **PLACE) for _ in range(50)}

    assert len(sealed) == 50
    nonces = {base64.urlsafe_b64decode(s.split(".")[2] + "==")[:12] for s in sealed}
    assert len(nonces) == 50


@pytest.mark.parametrize(
    "moved_to",
    [
        pytest.param({"record_id": "77aa01"}, id="another-record"),
        pytest.param({"field": "family_name"}, id="another-field"),
        pytest.param({"table": "contact"}, id="another-table"),
    ],
)
def test_a_value_copied_to_another_place_does_not_open(ring, moved_to) -> None:
    sealed = ring.seal(NAME, **PLACE)

    with pytest.raises(FieldCryptoError, match="tampered or moved"):
        ring.open(sealed, **{**PLACE, **moved_to})


def test_a_changed_byte_does_not_open(ring) -> None:
    version, kid, body = ring.seal(NAME, **PLACE).split(".")
    blob = bytearray(base64.urlsafe_b64decode(body + "=="))
    blob[20] ^= 0x01
    tampered = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(blob)).decode()}"

    with pytest.raises(FieldCryptoError):
        ring.open(tampered, **PLACE)


@pytest.mark.parametrize(
    "not_sealed",
    ["Sokha Chan", "", "v1.", "v2.abc.AAAA", "v1.ABC.AAAA", "v1.abc.%%%", "v1.abc.AAAA"],
)
def test_what_is_not_a_sealed_value_is_refused_without_quoting_it(ring, not_sealed) -> None:
    with pytest.raises(FieldCryptoError) as refused:
        ring.open(not_sealed, **PLACE)

    assert not is_sealed(not_sealed)
    assert "Sokha" not in str(refused.value)


def test_a_value_sealed_under_an_unknown_key_does_not_open(tmp_path, ring) -> None:
    other = KeyRing.load(create_key_file(tmp_path / "other-keys.json"))

    with pytest.raises(FieldCryptoError, match="unknown field key"):
        ring.open(other.seal(NAME, **PLACE), **PLACE)


def test_after_a_new_key_old_values_open_and_new_ones_use_the_new_key(tmp_path) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    old_ring = KeyRing.load(keys)
    old = old_ring.seal(NAME, **PLACE)

    new_kid = add_key(keys)
    ring = KeyRing.load(keys)

    assert ring.current_kid == new_kid != old_ring.current_kid
    assert ring.open(old, **PLACE) == NAME
    assert key_id_of(ring.seal(NAME, **PLACE)) == new_kid
    assert key_id_of(ring.reseal(old, **PLACE)) == new_kid


def test_a_retired_key_no_longer_opens_and_the_last_key_stays(tmp_path) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    first = KeyRing.load(keys)
    old = first.seal(NAME, **PLACE)
    add_key(keys)

    retire_key(keys, first.current_kid)

    with pytest.raises(FieldCryptoError, match="unknown field key"):
        KeyRing.load(keys).open(old, **PLACE)
    with pytest.raises(ValueError, match="last field key"):
        retire_key(keys, KeyRing.load(keys).current_kid)


def test_the_key_file_is_private_and_created_once(tmp_path) -> None:
    keys = tmp_path / "keys" / "field-keys.json"
    create_key_file(keys)
    first = keys.read_text()
    create_key_file(keys)

    assert keys.read_text() == first
    assert stat.S_IMODE(os.stat(keys).st_mode) == 0o600


def test_a_missing_key_file_says_how_to_create_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nrm keys init"):
        KeyRing.load(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("N123456", "n123456"),
        ("  Sokha   Chan ", "sokha chan"),
        ("Nguyê\u0303n", "Nguyễn"),  # decomposed and composed forms of the same letter
        ("STRASSE", "straße"),
    ],
)
def test_the_blind_index_matches_the_same_value_however_it_was_typed(ring, one, other) -> None:
    assert ring.blind_index(one, purpose="person.name") == ring.blind_index(
        other, purpose="person.name"
    )


def test_the_blind_index_differs_by_value_by_purpose_and_by_key(tmp_path, ring) -> None:
    other_ring = KeyRing.load(create_key_file(tmp_path / "other.json"))
    index = ring.blind_index("N123456", purpose="person.document_number")

    assert index != ring.blind_index("N123457", purpose="person.document_number")
    assert index != ring.blind_index("N123456", purpose="person.name")
    assert index != other_ring.blind_index("N123456", purpose="person.document_number")
    assert len(index) == 64 and "N123456" not in index


def test_the_index_key_survives_a_new_encryption_key(tmp_path) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    before = KeyRing.load(keys).blind_index("N123456", purpose="doc")
    add_key(keys)

    assert KeyRing.load(keys).blind_index("N123456", purpose="doc") == before


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param([], "at least one key", id="no-keys"),
        pytest.param([FieldKey("a1", b"k" * 32), FieldKey("a1", b"j" * 32)], "differ", id="dup"),
    ],
)
def test_a_malformed_ring_is_refused(keys, message) -> None:
    with pytest.raises(ValueError, match=message):
        KeyRing(keys, b"i" * 32)


@pytest.mark.parametrize(
    ("kid", "secret"), [("Bad.Kid", b"k" * 32), ("ok", b"short"), ("", b"k" * 32)]
)
def test_a_malformed_key_is_refused(kid, secret) -> None:
    with pytest.raises(ValueError):
        FieldKey(kid, secret)


def test_a_place_must_be_named_whole(ring) -> None:
    with pytest.raises(ValueError, match="all required"):
        ring.seal(NAME, table="person", record_id="", field="given_name")


def test_the_key_file_holds_the_keys_oldest_first(tmp_path) -> None:
    keys = create_key_file(tmp_path / "field-keys.json")
    add_key(keys)
    document = json.loads(keys.read_text())

    assert [key["kid"] for key in document["keys"]][-1] == KeyRing.load(keys).current_kid
