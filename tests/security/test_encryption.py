"""Coverage member id and group number: encrypted at rest, pseudonymous in the outbox, rotatable."""

import json
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from typer.testing import CliRunner

from ops_api import crypto
from ops_api.models import Coverage, OutboxEvent
from pms.cli import app as pms_cli
from pms.settings import Settings, get_settings

MEMBER, GROUP = "ZX9876543210", "GRP-4455"


@pytest.fixture
def keys(monkeypatch):
    """`keys("k1,k2")` sets PMS_ENCRYPTION_KEYS for the rest of the test (settings re-read)."""
    def set_keys(value: str) -> None:
        monkeypatch.setenv("PMS_ENCRYPTION_KEYS", value)
        get_settings.cache_clear()

    yield set_keys
    monkeypatch.undo()
    get_settings.cache_clear()


def stored(backend, coverage_id) -> tuple[str, str]:
    with backend.engine.connect() as conn:
        row = conn.execute(text("SELECT member_id, group_number FROM coverages WHERE id = :id"),
                           {"id": coverage_id.hex if backend.name == "sqlite" else coverage_id}).one()
    return row.member_id, row.group_number


def test_member_id_and_group_number_are_ciphertext_at_rest(client, admin, make, backend, db):
    patient, payer = make.patient(make.facility()), make.payer()
    r = client.post(f"/api/v1/patients/{patient.id}/coverages", headers=admin, json={
        "payer_id": str(payer.id), "member_id": MEMBER, "group_number": GROUP, "effective_from": "2024-01-01"})
    assert r.status_code == 201 and r.json()["member_id"] == MEMBER and r.json()["group_number"] == GROUP
    coverage = db.get(Coverage, uuid.UUID(r.json()["id"]))
    member, group = stored(backend, coverage.id)
    assert MEMBER not in member and GROUP not in group
    assert crypto.decrypt(member) == MEMBER and crypto.decrypt(group) == GROUP
    assert member != crypto.encrypt(MEMBER)  # randomised: equal plaintexts do not show as equal ciphertexts
    assert client.get(f"/api/v1/patients/{patient.id}/coverages", headers=admin).json()[0]["member_id"] == MEMBER


def test_outbox_carries_a_keyed_pseudonym_not_the_member_id(make, db):
    patient, payer = make.patient(make.facility()), make.payer()
    make.coverage(patient, payer, member_id=MEMBER, group_number=GROUP)
    make.coverage(patient, payer, member_id=MEMBER, rank="secondary")
    payloads = [json.loads(e.payload) for e in db.scalars(select(OutboxEvent).where(OutboxEvent.entity == "coverages"))]
    raw = json.dumps(payloads)
    assert MEMBER not in raw and GROUP not in raw
    assert payloads[0]["member_id"] == payloads[1]["member_id"] == crypto.pseudonym(MEMBER)  # joinable, not readable
    assert payloads[0]["group_number"].startswith("hmac:") and payloads[1]["group_number"] is None


def test_dev_key_is_derived_from_the_secret_and_explicit_keys_win(monkeypatch):
    monkeypatch.delenv("PMS_ENCRYPTION_KEYS", raising=False)
    a, b = Settings(pms_secret_key="a" * 40), Settings(pms_secret_key="b" * 40)
    assert a.encryption_keys == Settings(pms_secret_key="a" * 40).encryption_keys != b.encryption_keys
    Fernet(a.encryption_keys[0])  # a valid Fernet key
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert Settings(pms_encryption_keys=f" {k1} , {k2} ,").encryption_keys == [k1, k2]


def test_rotation_rewrites_every_value_under_the_new_key(make, backend, db, keys, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys(old)
    patient, payer = make.patient(make.facility()), make.payer()
    first = make.coverage(patient, payer, member_id=MEMBER, group_number=GROUP)
    second = make.coverage(patient, payer, member_id="OTHER1", rank="secondary")  # group number NULL
    outbox_before = db.scalar(select(OutboxEvent.seq).order_by(OutboxEvent.seq.desc()).limit(1))
    keys(f"{new},{old}")
    monkeypatch.setenv("DATABASE_URL", backend.url)
    from ops_api.db import get_engine

    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(pms_cli, ["keys", "rotate"])
        assert result.exit_code == 0 and "2 rows" in result.output, result.output
    finally:
        get_engine().dispose()
        get_engine.cache_clear()
    only_new = Fernet(new.encode())
    assert only_new.decrypt(stored(backend, first.id)[0].encode()).decode() == MEMBER
    assert only_new.decrypt(stored(backend, first.id)[1].encode()).decode() == GROUP
    assert stored(backend, second.id)[1] is None
    keys(new)  # the old key retired: everything still reads
    db.expire_all()
    assert db.get(Coverage, first.id).member_id == MEMBER and db.get(Coverage, second.id).member_id == "OTHER1"
    assert db.scalar(select(OutboxEvent.seq).order_by(OutboxEvent.seq.desc()).limit(1)) == outbox_before


def test_a_value_no_configured_key_opens_is_an_error_not_garbage(make, db, keys):
    keys(Fernet.generate_key().decode())
    coverage = make.coverage(make.patient(make.facility()), make.payer(), member_id=MEMBER)
    keys(Fernet.generate_key().decode())
    db.expire_all()
    with pytest.raises(crypto.DecryptionError):
        db.get(Coverage, coverage.id).member_id  # noqa: B018
    with pytest.raises(crypto.DecryptionError):
        crypto.rotate(db.connection())
