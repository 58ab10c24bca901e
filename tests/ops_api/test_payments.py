"""Payments (idempotent), adjustments (approval) and the patient balance, on SQLite and PostgreSQL."""

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ops_api import idempotency
from ops_api.models import Adjustment, AuditEvent, IdempotencyRecord, OutboxEvent, Payment, Remittance

PAYMENTS, ADJUSTMENTS = "/api/v1/payments", "/api/v1/adjustments"
D = Decimal


@pytest.fixture
def make(make):
    return make.token_only()


@pytest.fixture
def admin(make):
    return make.headers()


@pytest.fixture
def p(make):
    return make.practice()


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def key() -> dict:
    return {"Idempotency-Key": str(uuid.uuid4())}


def pay(client, headers, patient, amount="40.00", **kw):
    body = {"patient_id": str(patient.id), "source": "patient", "method": "card", "amount": amount, **kw}
    return client.post(PAYMENTS, json=body, headers=headers)


def adjust(client, headers, patient, kind, amount, **kw):
    body = {"patient_id": str(patient.id), "kind": kind, "amount": amount, "reason": f"{kind} test", **kw}
    r = client.post(ADJUSTMENTS, json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def balance(client, headers, patient) -> dict:
    r = client.get(f"/api/v1/patients/{patient.id}/balance", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def money(figures: dict) -> dict:
    """The balance's money fields as exact Decimals."""
    return {k: D(v) for k, v in figures.items() if k not in ("patient_id", "adjustments_by_kind")}


# -- payments and idempotency -----------------------------------------------------------------------------

def test_same_key_and_body_replay_the_first_answer_never_a_second_payment(client, admin, p, db):
    headers = {**admin, **key()}
    first = pay(client, headers, p.patient, "40.00", reference="R1")
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == "40.00" and first.json()["facility_id"] == str(p.facility.id)
    same = client.post(PAYMENTS, headers=headers, json={  # same request: other key order, "40" parses as 40.00
        "reference": "R1", "amount": "40", "method": "card", "source": "patient", "patient_id": str(p.patient.id)})
    assert (same.status_code, same.json()) == (201, first.json())
    assert same.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    other = pay(client, headers, p.patient, "41.00", reference="R1")
    assert other.status_code == 409 and "different request" in other.json()["detail"]
    assert count(db, Payment) == 1
    assert pay(client, {**admin, **key()}, p.patient, "40.00", reference="R1").status_code == 201
    assert count(db, Payment) == 2
    reads = db.scalars(select(AuditEvent.action).where(AuditEvent.entity == "payments")).all()
    assert sorted(reads) == ["create", "create", "read"]  # the replay is audited as a read


def test_idempotency_key_is_required_for_payments(client, admin, p, db):
    r = pay(client, admin, p.patient)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert pay(client, {**admin, "Idempotency-Key": "k" * 201}, p.patient).status_code == 422
    assert count(db, Payment) == 0 and count(db, IdempotencyRecord) == 0


def test_concurrent_requests_with_one_key_post_one_payment(client, admin, p, db, monkeypatch):
    """Every request passes the look-up before any inserts: the unique key alone must decide."""
    n = 4
    barrier, calls, real_find = threading.Barrier(n, timeout=30), itertools.count(), idempotency.find

    def racing_find(session, scope, k):
        record = real_find(session, scope, k)
        if next(calls) < n:
            barrier.wait()
        return record

    monkeypatch.setattr(idempotency, "find", racing_find)
    headers = {**admin, **key()}
    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(lambda _: pay(client, headers, p.patient, "75.00"), range(n)))
    assert [r.status_code for r in responses] == [201] * n, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == [""] + ["true"] * (n - 1)
    assert count(db, Payment) == 1
    assert db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.entity == "payments")) == 1


def test_payment_problems_are_reported_together_and_nothing_is_written(client, admin, make, p, db):
    other = make.practice()
    claim = make.claim(make.encounter(other.patient, other.provider))
    stranger = make.patient(make.facility())
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    before = (count(db, Payment), count(db, OutboxEvent), count(db, IdempotencyRecord))
    r = pay(client, {**admin, **key()}, p.patient, source="patient", payer_id=str(p.payer.id),
            claim_id=str(claim.id), received_at=future)
    assert r.status_code == 422
    found = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert found == {("body", "claim_id"): f"claim {claim.id} is not the patient's",
                     ("body", "payer_id"): "a patient payment has no payer",
                     ("body", "received_at"): f"received_at {future} is in the future"}
    r = pay(client, {**admin, **key()}, p.patient, source="insurance", method="eft")
    assert r.status_code == 422 and "needs payer_id" in r.text
    r = pay(client, {**admin, **key()}, stranger, source="patient",
            claim_id="00000000-0000-0000-0000-000000000000")
    assert r.status_code == 422 and "unknown claim" in r.text
    for bad in ({"amount": "0"}, {"amount": "-5.00"}, {"amount": "1.005"}, {"method": "bitcoin"},
                {"source": "charity"}, {"received_at": "2025-01-01T10:00:00"},
                {"received_at": "0001-01-01T00:00:00+14:00"}, {"reference": "r" * 101}):
        assert pay(client, {**admin, **key()}, p.patient, **bad).status_code == 422, bad
    assert (count(db, Payment), count(db, OutboxEvent), count(db, IdempotencyRecord)) == before


def test_insurance_payment_takes_the_claims_payer_and_lists_filter(client, admin, make, p):
    claim = make.claim(make.encounter(p.patient, p.provider), status="accepted")
    r = pay(client, {**admin, **key()}, p.patient, "60.00", source="insurance", method="check",
            claim_id=str(claim.id), received_at="2025-05-02T14:00:00+00:00")
    assert r.status_code == 201 and r.json()["payer_id"] == str(p.payer.id)
    pay(client, {**admin, **key()}, p.patient, "15.00")
    ids = lambda q: [x["amount"] for x in client.get(f"{PAYMENTS}?{q}", headers=admin).json()["items"]]  # noqa: E731
    assert ids(f"patient_id={p.patient.id}") == ["15.00", "60.00"]
    assert ids("source=insurance") == ["60.00"] == ids(f"claim_id={claim.id}")
    assert ids("date_from=2025-05-02&date_to=2025-05-02") == ["60.00"]
    assert ids("date_from=0001-01-01&date_to=9999-12-31") == ["15.00", "60.00"]
    assert client.get(PAYMENTS, headers=make.staff("front_desk")).status_code == 403


def test_remittance_with_a_key_posts_once(client, admin, make, p, db):
    claim = make.claim(make.encounter(p.patient, p.provider), status="accepted")
    url, headers = f"/api/v1/claims/{claim.id}/remittance", {**admin, **key()}
    body = {"paid_amount": "100.00", "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "50.00"}]}
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert count(db, Remittance) == 1 and count(db, Payment) == 1
    assert client.post(url, json={**body, "paid_amount": "150.00", "adjustments": []},
                       headers=headers).status_code == 409
    assert client.post(url, json=body, headers=admin).status_code == 409  # no key: the claim is paid now


# -- adjustments ------------------------------------------------------------------------------------------

def test_adjustments_within_the_limit_post_at_once_above_it_wait_for_another_admin(client, make, p, db):
    biller, requester, approver = make.staff("biller"), make.staff("admin"), make.staff("admin")
    small = adjust(client, biller, p.patient, "write_off", "500.00")  # the default limit, inclusive
    assert (small["status"], small["approved_by"]) == ("approved", None) and small["posted_at"]
    big = adjust(client, requester, p.patient, "discount", "500.01")
    assert (big["status"], big["posted_at"]) == ("pending", None)
    url = f"{ADJUSTMENTS}/{big['id']}"
    assert client.post(f"{url}/approve", headers=requester).status_code == 403  # not one's own
    assert client.post(f"{url}/approve", headers=biller).status_code == 403  # not a biller's
    r = client.post(f"{url}/approve", headers=approver)
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["approved_by"] is not None
    assert client.post(f"{url}/approve", headers=approver).status_code == 409
    assert client.post(f"{url}/reject", headers=approver).status_code == 409
    withdrawn = adjust(client, requester, p.patient, "credit", "900.00")
    r = client.post(f"{ADJUSTMENTS}/{withdrawn['id']}/reject", headers=requester)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    listed = client.get(f"{ADJUSTMENTS}?status=approved&patient_id={p.patient.id}", headers=biller).json()
    assert {a["id"] for a in listed["items"]} == {small["id"], big["id"]}


def test_adjustment_refusals(client, make, p, db):
    biller = make.staff("biller")
    bad = [{"kind": "gift"}, {"amount": "0"}, {"reason": ""}, {"patient_id": "00000000-0000-0000-0000-000000000000"}]
    for change in bad:
        body = {"patient_id": str(p.patient.id), "kind": "write_off", "amount": "5.00", "reason": "x", **change}
        assert client.post(ADJUSTMENTS, json=body, headers=biller).status_code == 422, change
    assert count(db, Adjustment) == 0
    for role in ("front_desk", "physician", "executive"):
        kw = {"provider": p.provider} if role == "physician" else {}
        assert client.get(ADJUSTMENTS, headers=make.staff(role, **kw)).status_code == 403


# -- the balance ------------------------------------------------------------------------------------------

def remit(client, headers, claim, paid, *adjustments):
    body = {"paid_amount": paid, "adjustments": [{"group_code": g, "reason_code": r, "amount": a}
                                                 for g, r, a in adjustments]}
    r = client.post(f"/api/v1/claims/{claim.id}/remittance", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_balance_reconciles_a_realistic_history_to_the_cent(client, admin, make, p):
    visit1 = make.encounter(p.patient, p.provider, date_of_service=date(2025, 3, 10), lines=[
        {"procedure_code": "99214", "charge_amount": "200.00", "diagnosis_pointers": [1]},
        {"procedure_code": "36415", "charge_amount": "25.00", "diagnosis_pointers": [1]}])
    visit2 = make.encounter(p.patient, p.provider, date_of_service=date(2025, 4, 14), lines=[
        {"procedure_code": "99213", "charge_amount": "150.00", "diagnosis_pointers": [1]}])
    claim1, claim2 = make.claim(visit1, status="accepted"), make.claim(visit2, status="accepted")
    remit(client, admin, claim1, "120.00", ("CO", "45", "60.00"), ("PR", "2", "45.00"))
    remit(client, admin, claim2, "0.00", ("CO", "197", "150.00"))  # denied: no prior authorization

    # The denial is not a write-off: claim 2's $150.00 stays open as insurance A/R.
    charges = D("225.00") + D("150.00")
    mid = money(balance(client, admin, p.patient))
    assert mid == {"charges": charges, "insurance_paid": D("120.00"), "patient_paid": D("0.00"),
                   "contractual_adjustments": D("60.00"), "other_adjustments": D("0.00"),
                   "balance_due": charges - D("120.00") - D("60.00"), "insurance_balance": D("150.00"),
                   "patient_balance": D("45.00"), "credit_balance": D("0.00"), "pending_adjustments": D("0.00")}

    appeal = client.post(f"/api/v1/claims/{claim2.id}/status", json={"status": "appealed"}, headers=admin)
    assert appeal.status_code == 200
    remit(client, admin, claim2, "95.00", ("CO", "45", "35.00"), ("PR", "3", "20.00"))
    assert pay(client, {**admin, **key()}, p.patient, "40.00").status_code == 201
    adjust(client, admin, p.patient, "refund", "10.00")
    adjust(client, admin, p.patient, "write_off", "5.00")
    adjust(client, admin, p.patient, "discount", "750.00")  # above the limit: pending, not in the balance

    insurance_paid = D("120.00") + D("95.00")
    contractual = D("60.00") + D("35.00")  # CO-45 twice; never the CO-197 of the denial
    other = D("5.00") - D("10.00")  # the write-off reduces, the refund increases
    due = charges - insurance_paid - D("40.00") - contractual - other
    patient_side = D("45.00") + D("20.00") - D("40.00") - other
    final = balance(client, admin, p.patient)
    assert money(final) == {"charges": D("375.00"), "insurance_paid": insurance_paid, "patient_paid": D("40.00"),
                            "contractual_adjustments": contractual, "other_adjustments": other,
                            "balance_due": due, "insurance_balance": D("0.00"), "patient_balance": patient_side,
                            "credit_balance": D("0.00"), "pending_adjustments": D("750.00")}
    assert due == patient_side == D("30.00")
    assert final["adjustments_by_kind"] == {"refund": "10.00", "write_off": "5.00"}
    assert final["balance_due"] == "30.00"  # money as 2-place strings


def test_balance_sides_self_pay_unbilled_written_off_denial_and_credit(client, admin, make, p):
    """Self-pay visits are the patient's, unbilled insured ones the payer's; a written-off denial is closed."""
    make.encounter(p.patient, p.provider, date_of_service=date(2019, 6, 1), lines=[  # before any coverage
        {"procedure_code": "99212", "charge_amount": "80.00", "diagnosis_pointers": [1]}])
    make.encounter(p.patient, p.provider, date_of_service=date(2025, 3, 10), lines=[  # insured, not billed yet
        {"procedure_code": "99213", "charge_amount": "100.00", "diagnosis_pointers": [1]}])
    denied = make.claim(make.encounter(p.patient, p.provider, date_of_service=date(2025, 4, 14), lines=[
        {"procedure_code": "99214", "charge_amount": "175.00", "diagnosis_pointers": [1]}]), status="accepted")
    make.remit(denied, "0.00", [("CO", "197", "175.00")])
    adjust(client, admin, p.patient, "write_off", "175.00", claim_id=str(denied.id))  # closes the insurance side
    pay(client, {**admin, **key()}, p.patient, "100.00")  # pays $20.00 more than the self-pay visit
    figures = money(balance(client, admin, p.patient))
    assert figures["balance_due"] == D("355.00") - D("100.00") - D("175.00") == D("80.00")
    assert (figures["insurance_balance"], figures["patient_balance"], figures["credit_balance"]) == (
        D("100.00"), D("0.00"), D("20.00"))
    assert figures["insurance_balance"] + figures["patient_balance"] - figures["credit_balance"] == D("80.00")


def test_balance_access(client, make, p):
    front_desk = make.staff("front_desk", facilities=[p.facility])
    assert balance(client, front_desk, p.patient)["balance_due"] == "0.00"
    for role, kw in (("physician", {"provider": p.provider}), ("executive", {}), ("analyst", {})):
        r = client.get(f"/api/v1/patients/{p.patient.id}/balance", headers=make.staff(role, **kw))
        assert r.status_code == 403, role
    elsewhere = make.staff("front_desk", facilities=[make.facility()])
    assert client.get(f"/api/v1/patients/{p.patient.id}/balance", headers=elsewhere).status_code == 404
