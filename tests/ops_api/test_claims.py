"""Claims over HTTP on SQLite and PostgreSQL: creation, the scrubber, the status machine, remittances."""

import itertools
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from ops_api.models import (Adjustment, AuditEvent, Claim, ClaimLine, ClaimStatusEvent, Coverage, Encounter,
                            EncounterDiagnosis, EncounterLine, OutboxEvent, Payment, Provider, Remittance)
from ops_api.services import claims as claims_service
from pms.enums import ClaimStatus

URL = "/api/v1/claims"

# The claim status machine exactly as API.md words it; the expected moves are derived from this text.
API_MD_CLAIM_MACHINE = """
  `draft → submitted → accepted|rejected`; `rejected → draft` (corrected);
  `accepted → paid|partially_paid|denied`; `denied → appealed → paid|partially_paid|denied`;
  `paid|partially_paid|denied → closed`; `draft|rejected → void`. Any other move → 409.
"""


def legal_moves(text: str) -> set[tuple[str, str]]:
    """Every (from, to) of each backquoted chain `a|b → c → d|e`."""
    moves = set()
    for chain in re.findall(r"`([^`]+)`", text):
        steps = [part.strip().split("|") for part in chain.split("→")]
        for sources, targets in itertools.pairwise(steps):
            moves |= set(itertools.product(sources, targets))
    return moves


@pytest.fixture
def make(make):
    return make.token_only()


@pytest.fixture
def admin(make):
    return make.headers()


@pytest.fixture
def p(make):
    """An insured patient with a two-line encounter ($150.00 + $25.00) on 2025-03-10."""
    practice = make.practice()
    practice.encounter = make.encounter(
        practice.patient, practice.provider, diagnosis_codes=["E11.9", "I10"],
        lines=[{"procedure_code": "99213", "charge_amount": "150.00", "diagnosis_pointers": [1, 2]},
               {"procedure_code": "36415", "charge_amount": "25.00", "diagnosis_pointers": [1]}])
    return practice


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def snapshot(db) -> tuple[int, ...]:
    """Row counts of everything a claim move could write, in one round trip."""
    models = (Claim, ClaimStatusEvent, Remittance, Payment, Adjustment, OutboxEvent)
    return tuple(db.execute(select(*(select(func.count()).select_from(m).scalar_subquery() for m in models))).one())


def history(db, claim_id) -> list[tuple]:
    return db.execute(select(ClaimStatusEvent.from_status, ClaimStatusEvent.to_status)
                      .where(ClaimStatusEvent.claim_id == claim_id)
                      .order_by(ClaimStatusEvent.occurred_at, ClaimStatusEvent.created_at)).all()


def post_claim(client, headers, encounter, **kw):
    return client.post(URL, json={"encounter_id": str(encounter.id), **kw}, headers=headers)


def created_id(response) -> uuid.UUID:
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


# -- creation -----------------------------------------------------------------------------------------

def test_create_copies_lines_and_takes_primary_coverage_in_force(client, admin, make, p, db):
    db.execute(update(Coverage).where(Coverage.id == p.coverage.id).values(effective_to=date(2024, 12, 31)))
    db.commit()
    current, secondary = make.payer(), make.payer()
    now_covered = make.coverage(p.patient, current, effective_from=date(2025, 1, 1))
    make.coverage(p.patient, secondary, rank="secondary")
    r = post_claim(client, admin, p.encounter)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert (claim["coverage_id"], claim["payer_id"]) == (str(now_covered.id), str(current.id))
    assert claim["status"] == "draft" and claim["total_charge"] == "175.00" and claim["denial"] is None
    assert [(ln["procedure_code"], ln["charge_amount"]) for ln in claim["lines"]] == [("99213", "150.00"),
                                                                                     ("36415", "25.00")]
    assert [(h["from_status"], h["to_status"]) for h in claim["status_history"]] == [(None, "draft")]
    assert client.get(f"{URL}/{claim['id']}", headers=admin).json() == claim
    assert {"claims", "claim_lines", "claim_status_events"} <= set(db.scalars(select(OutboxEvent.entity)))
    audited = db.execute(select(AuditEvent.action, AuditEvent.patient_id).where(AuditEvent.entity == "claims")).all()
    assert sorted(audited) == [("create", p.patient.id), ("read", p.patient.id)]


def test_creation_refusals(client, admin, make, p, db):
    uninsured = make.patient(p.facility)
    r = post_claim(client, admin, make.encounter(uninsured, p.provider))
    assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "no coverage effective on date of service"
    self_pay = make.coverage(uninsured, make.payer(kind="self_pay"))
    assert post_claim(client, admin, make.encounter(uninsured, p.provider)).status_code == 422
    r = post_claim(client, admin, make.encounter(uninsured, p.provider), coverage_id=str(self_pay.id))
    assert r.status_code == 422 and "self-pay" in r.text
    someone_elses = make.coverage(make.patient(p.facility), p.payer)
    r = post_claim(client, admin, p.encounter, coverage_id=str(someone_elses.id))
    assert r.status_code == 422 and "not the patient's" in r.text
    r = client.post(URL, json={"encounter_id": "00000000-0000-0000-0000-000000000000"}, headers=admin)
    assert r.status_code == 422 and "unknown encounter" in r.text
    assert count(db, Claim) == 0
    first = post_claim(client, admin, p.encounter).json()
    duplicate = post_claim(client, admin, p.encounter)
    assert duplicate.status_code == 409 and duplicate.json()["existing_id"] == first["id"]
    client.post(f"{URL}/{first['id']}/status", json={"status": "void"}, headers=admin)
    assert post_claim(client, admin, p.encounter).status_code == 201


def test_correct_coverage_only_while_draft(client, admin, make, p):
    claim = post_claim(client, admin, p.encounter).json()
    other = make.coverage(p.patient, new_payer := make.payer(), rank="secondary")
    r = client.patch(f"{URL}/{claim['id']}", json={"coverage_id": str(other.id)}, headers=admin)
    assert r.status_code == 200 and r.json()["payer_id"] == str(new_payer.id)
    client.post(f"{URL}/{claim['id']}/submit", headers=admin)
    r = client.patch(f"{URL}/{claim['id']}", json={"coverage_id": str(p.coverage.id)}, headers=admin)
    assert r.status_code == 409


# -- submission and the scrubber ------------------------------------------------------------------------

def test_submit_sets_submitted_at_and_records_the_move(client, admin, p, db):
    claim_id = created_id(post_claim(client, admin, p.encounter))
    r = client.post(f"{URL}/{claim_id}/submit", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted" and r.json()["submitted_at"] is not None
    assert history(db, claim_id) == [(None, "draft"), ("draft", "submitted")]


def test_scrub_reports_every_problem_at_once_and_changes_nothing(client, admin, p, db):
    claim_id = created_id(post_claim(client, admin, p.encounter))
    future = (datetime.now(UTC) + timedelta(days=2)).date()
    first_line = p.encounter.lines[0].id
    db.execute(update(Coverage).where(Coverage.id == p.coverage.id).values(effective_to=date(2025, 1, 31)))
    db.execute(update(EncounterDiagnosis).where(EncounterDiagnosis.encounter_id == p.encounter.id,
                                                EncounterDiagnosis.rank == 2).values(code="E11"))
    db.execute(update(EncounterLine).where(EncounterLine.id == first_line).values(diagnosis_pointers=[1, 3]))
    db.execute(update(ClaimLine).where(ClaimLine.claim_id == claim_id, ClaimLine.line_number == 1)
               .values(procedure_code="9921X", charge_amount=Decimal("0.00")))
    db.execute(update(Encounter).where(Encounter.id == p.encounter.id).values(date_of_service=future))
    db.execute(update(Provider).where(Provider.id == p.provider.id).values(active=False))
    db.commit()
    before = snapshot(db)
    r = client.post(f"{URL}/{claim_id}/submit", headers=admin)
    assert r.status_code == 422
    found = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert "not effective on the date of service" in found[("claim", "coverage_id")]
    assert "category" in found[("claim", "diagnosis_codes", 1)]
    assert "outside 1..2" in found[("claim", "lines", 0, "diagnosis_pointers", 1)]
    assert "not a CPT" in found[("claim", "lines", 0, "procedure_code")]
    assert "must be greater than 0" in found[("claim", "lines", 0, "charge_amount")]
    assert "not the sum of the lines" in found[("claim", "total_charge")]
    assert "in the future" in found[("claim", "date_of_service")]
    assert "inactive" in found[("claim", "provider_id")]
    assert len(found) == 8
    assert snapshot(db) == before
    assert client.get(f"{URL}/{claim_id}", headers=admin).json()["status"] == "draft"


def test_scrub_finds_a_claim_without_lines_or_coverage(client, admin, p, db):
    claim_id = created_id(post_claim(client, admin, p.encounter))
    for line in db.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim_id)):
        db.delete(line)
    db.execute(update(Claim).where(Claim.id == claim_id).values(coverage_id=None))
    db.commit()
    r = client.post(f"{URL}/{claim_id}/submit", headers=admin)
    assert r.status_code == 422
    messages = {d["msg"] for d in r.json()["detail"]}
    assert {"the claim has no lines", "no coverage effective on date of service"} <= messages


# -- the status machine, exhaustively --------------------------------------------------------------------

REMITTANCES = {  # a remittance (on the $175.00 claim) whose outcome is the key
    "paid": {"paid_amount": "140.00", "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": "35.00"}]},
    "partially_paid": {"paid_amount": "100.00", "denial": {"group_code": "CO", "reason_code": "50"},
                       "adjustments": [{"group_code": "CO", "reason_code": "50", "amount": "75.00"}]},
    "denied": {"paid_amount": "0", "adjustments": [{"group_code": "CO", "reason_code": "197", "amount": "175.00"}]},
}


def attempt(client, headers, claim_id, target: str):
    """Ask for `target` through the endpoint that owns it."""
    if target == "submitted":
        return client.post(f"{URL}/{claim_id}/submit", headers=headers)
    if target in REMITTANCES:
        return client.post(f"{URL}/{claim_id}/remittance", json=REMITTANCES[target], headers=headers)
    return client.post(f"{URL}/{claim_id}/status", json={"status": target, "note": "test"}, headers=headers)


def test_claim_status_machine_every_pair(client, admin, p, db):
    legal = legal_moves(API_MD_CLAIM_MACHINE)
    assert len(legal) == 16 and ("denied", "appealed") in legal and ("paid", "denied") not in legal
    claim_id = created_id(post_claim(client, admin, p.encounter))
    for source, target in itertools.product([s.value for s in ClaimStatus], repeat=2):
        db.execute(update(Claim).where(Claim.id == claim_id).values(status=source))
        db.commit()
        before = snapshot(db)
        if target in REMITTANCES or target == "submitted":  # /status names the right endpoint, or 409s
            r = client.post(f"{URL}/{claim_id}/status", json={"status": target}, headers=admin)
            assert r.status_code == (422 if (source, target) in legal else 409), (source, target, r.text)
            assert snapshot(db) == before
        r = attempt(client, admin, claim_id, target)
        db.expire_all()
        if (source, target) in legal:
            assert r.status_code in (200, 201), (source, target, r.text)
            assert history(db, claim_id)[-1] == (source, target)
            assert db.get(Claim, claim_id).status.value == target
        else:
            assert r.status_code == 409, (source, target, r.text)
            assert db.get(Claim, claim_id).status.value == source and snapshot(db) == before, (source, target)


# -- remittances --------------------------------------------------------------------------------------------

def remit(client, headers, claim_id, **body):
    return client.post(f"{URL}/{claim_id}/remittance", json=body, headers=headers)


def adj(group, reason, amount) -> dict:
    return {"group_code": group, "reason_code": reason, "amount": amount}


def test_paid_remittance_posts_the_insurance_payment(client, admin, make, p, db):
    claim = make.claim(p.encounter, status="accepted")
    r = remit(client, admin, claim.id, paid_amount="110.00", allowed_amount="140.00", payment_reference="EFT123",
              adjustments=[adj("CO", "45", "35.00"), adj("PR", "2", "30.00")], remark_codes=["N130"])
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["claim"]["status"] == "paid" and result["claim"]["denial"] is None
    assert (result["claim"]["paid_amount"], result["claim"]["allowed_amount"],
            result["claim"]["patient_responsibility"]) == ("110.00", "140.00", "30.00")
    assert result["remittance"]["claim_status"] == "paid" and result["remittance"]["remark_codes"] == ["N130"]
    payment = result["payment"]
    assert (payment["source"], payment["method"], payment["amount"], payment["reference"]) == (
        "insurance", "eft", "110.00", "EFT123")
    assert (payment["claim_id"], payment["payer_id"], payment["remittance_id"]) == (
        str(claim.id), str(p.payer.id), result["remittance"]["id"])
    detail = client.get(f"{URL}/{claim.id}", headers=admin).json()
    assert [a["reason_code"] for a in detail["remittances"][0]["adjustments"]] == ["45", "2"]
    assert [h["to_status"] for h in detail["status_history"]] == ["draft", "submitted", "accepted", "paid"]


def test_denial_posts_no_write_off_and_an_appeal_accumulates(client, admin, make, p, db):
    claim = make.claim(p.encounter, status="accepted")
    denied = remit(client, admin, claim.id, paid_amount="0.00", adjustments=[adj("CO", "197", "175.00")],
                   remark_codes=["N54"]).json()
    assert denied["claim"]["status"] == "denied" and denied["payment"] is None
    assert denied["claim"]["denial"] == {"group_code": "CO", "reason_code": "197", "remark_codes": ["N54"]}
    assert count(db, Adjustment) == 0 and count(db, Payment) == 0
    assert client.post(f"{URL}/{claim.id}/status", json={"status": "appealed", "note": "auth on file"},
                       headers=admin).status_code == 200
    paid = remit(client, admin, claim.id, paid_amount="120.00",
                 adjustments=[adj("CO", "45", "40.00"), adj("PR", "3", "15.00")]).json()
    assert paid["claim"]["status"] == "paid" and paid["claim"]["denial"] is None
    assert paid["claim"]["paid_amount"] == "120.00" and paid["claim"]["patient_responsibility"] == "15.00"
    detail = client.get(f"{URL}/{claim.id}", headers=admin).json()
    assert [(r["claim_status"], r["denial_reason_code"]) for r in detail["remittances"]] == [("denied", "197"),
                                                                                            ("paid", None)]
    assert detail["status_history"][-2]["note"] == "auth on file"


def test_partial_payment_and_explicit_denial(client, admin, make, p):
    claim = make.claim(p.encounter, status="accepted")
    r = remit(client, admin, claim.id, paid_amount="100.00", adjustments=[adj("CO", "45", "50.00"),
                                                                          adj("CO", "96", "25.00")],
              denial={"group_code": "CO", "reason_code": "96", "remark_codes": ["M15"]})
    assert r.status_code == 201, r.text
    assert r.json()["claim"]["status"] == "partially_paid"
    assert r.json()["claim"]["denial"] == {"group_code": "CO", "reason_code": "96", "remark_codes": ["M15"]}
    assert r.json()["claim"]["allowed_amount"] == "100.00"


def test_remittance_must_balance_and_codes_must_be_real(client, admin, make, p, db):
    claim = make.claim(p.encounter, status="accepted")
    before = snapshot(db)
    r = remit(client, admin, claim.id, paid_amount="100.00", allowed_amount="150.00",
              adjustments=[adj("CO", "45", "50.00"), adj("PR", "ABCD", "20.00")], remark_codes=["X1"],
              received_at=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert r.status_code == 422
    found = {tuple(d["loc"]): d["msg"] for d in r.json()["detail"]}
    assert found[("body",)] == ("the remittance does not balance: charge 175.00 ≠ paid 100.00 + adjustments 70.00 "
                                "= 170.00")
    assert found[("body", "allowed_amount")] == "allowed 150.00 ≠ paid 100.00 + patient responsibility 20.00 = 120.00"
    assert "not a CARC" in found[("body", "adjustments", 1, "reason_code")]
    assert "not a RARC" in found[("body", "remark_codes", 0)]
    assert "in the future" in found[("body", "received_at")]
    for bad in ({"paid_amount": "-1.00"}, {"paid_amount": "1.001"},
                {"paid_amount": "175.00", "adjustments": [adj("XX", "45", "1.00")]},
                {"paid_amount": "175.00", "adjustments": [adj("CO", "45", "0.00")]}):
        assert remit(client, admin, claim.id, **bad).status_code == 422, bad
    assert snapshot(db) == before


def test_concurrent_remittances_on_one_claim_post_once(client, admin, make, p, db, monkeypatch):
    """Both requests read the claim as accepted before either locks it: the lock and re-read decide."""
    claim = make.claim(p.encounter, status="accepted")
    barrier, real_lock = threading.Barrier(2, timeout=30), claims_service.lock_row

    def racing_lock(session, model, row_id):
        if model is Claim:
            barrier.wait()
        real_lock(session, model, row_id)

    monkeypatch.setattr(claims_service, "lock_row", racing_lock)
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: remit(client, admin, claim.id, **REMITTANCES["paid"]), range(2)))
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert count(db, Remittance) == 1 and count(db, Payment) == 1


# -- reading and access ----------------------------------------------------------------------------------------

def test_list_filters(client, admin, make, p):
    draft = make.claim(p.encounter)
    other = make.practice()
    submitted = make.claim(make.encounter(other.patient, other.provider), status="submitted")
    ids = lambda q: {c["id"] for c in client.get(f"{URL}?{q}", headers=admin).json()["items"]}  # noqa: E731
    assert ids("") == {str(draft.id), str(submitted.id)}
    assert ids("status=submitted") == {str(submitted.id)}
    assert ids(f"payer_id={p.payer.id}") == {str(draft.id)}
    assert ids(f"patient_id={other.patient.id}&facility_id={other.facility.id}") == {str(submitted.id)}
    today = datetime.now(UTC).date()
    assert ids(f"date_from={today}&date_to={today}") == {str(draft.id), str(submitted.id)}
    assert ids(f"date_to={today - timedelta(days=1)}") == set()


def test_roles_and_facility_scope(client, make, p):
    claim = make.claim(p.encounter)
    for role, kw in (("front_desk", {}), ("physician", {"provider": p.provider}), ("executive", {}), ("analyst", {})):
        assert client.get(f"{URL}/{claim.id}", headers=make.staff(role, **kw)).status_code == 403
    elsewhere = make.staff("biller", facilities=[make.facility()])
    assert client.get(f"{URL}/{claim.id}", headers=elsewhere).status_code == 404
    assert client.post(f"{URL}/{claim.id}/submit", headers=elsewhere).status_code == 404
    assert client.get(URL, headers=elsewhere).json()["total"] == 0
    assert client.post(f"{URL}/{claim.id}/submit", headers=make.staff("biller")).status_code == 200
