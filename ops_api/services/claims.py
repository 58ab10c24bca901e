"""Claims: creation from an encounter, the scrubber, status moves and remittance (835) posting.

Status moves are checked by status_machines.check_claim_move and nowhere else; each one writes a
ClaimStatusEvent (creation too, from null to draft), which the claim-lifecycle marts read.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from ops_api import codes
from ops_api.clock import local_today, utcnow
from ops_api.errors import Conflict, Invalid
from ops_api.models import (Claim, ClaimLine, ClaimStatusEvent, Coverage, Encounter, EncounterLine, Facility, Payer,
                            Payment, Provider, Remittance, RemittanceAdjustment)
from ops_api.principal import Principal
from ops_api.schemas.claims import ClaimCreate, ClaimStatusIn, ClaimUpdate, DenialIn, RemittanceIn
from ops_api.services.encounters import Problems, diagnosis_problems, line_code_problems, visible_encounters
from ops_api.status_machines import check_claim_move
from pms.enums import CarcGroup, ClaimStatus, CoverageRank, PayerKind, PaymentMethod, PaymentSource

C = ClaimStatus
ZERO = Decimal("0.00")
REMITTANCE_OUTCOMES = frozenset({C.paid, C.partially_paid, C.denied})
REMITTABLE = frozenset({C.accepted, C.appealed})  # the payer answers only a claim it holds
CLOCK_SKEW = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # no money moved before; also keeps out year-1 times, which overflow in UTC


def visible_claims(principal: Principal) -> Select:
    return principal.scope(select(Claim), Claim.facility_id)


def get_claim(session: Session, principal: Principal, claim_id: uuid.UUID) -> Claim:
    return principal.get_scoped(session, Claim, claim_id, "claim")


def lock_row(session: Session, model, row_id: uuid.UUID) -> None:
    """Hold a write lock on one row until the transaction ends, so check-then-write cannot interleave
    (two remittances on one claim would otherwise both see it accepted and post two payments).

    PostgreSQL: SELECT ... FOR UPDATE. SQLite has one database-wide write lock, which a no-op Core
    UPDATE takes now (Core writes skip the outbox, and updated_at is set to itself).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(model.id).where(model.id == row_id).with_for_update())
    else:
        table = model.__table__
        session.execute(update(table).where(table.c.id == row_id).values(updated_at=table.c.updated_at))


def claim_for_update(session: Session, principal: Principal, claim_id: uuid.UUID) -> Claim:
    """The claim, locked and re-read, for a status check that its write must not outlive."""
    claim = get_claim(session, principal, claim_id)
    lock_row(session, Claim, claim.id)
    session.refresh(claim)
    return claim


def in_days(query: Select, column, date_from: date | None, date_to: date | None) -> Select:
    """Filter a UTC timestamp column to whole UTC days, both ends inclusive."""
    if date_from is not None:
        query = query.where(column >= _utc_midnight(date_from))
    if date_to is not None and date_to < date.max:
        query = query.where(column < _utc_midnight(date_to + timedelta(days=1)))
    return query


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def timestamp_problems(at: datetime | None, loc: tuple) -> Problems:
    """A money event happened, so not in the future (beyond clock skew) nor before the epoch."""
    if at is not None and at > utcnow() + CLOCK_SKEW:
        return [(loc, f"{loc[-1]} {at.isoformat()} is in the future")]
    if at is not None and at < EPOCH:
        return [(loc, f"{loc[-1]} {at.isoformat()} is before {EPOCH.date()}")]
    return []


# -- status moves ----------------------------------------------------------------------------------

def record_status(session: Session, claim: Claim, target: ClaimStatus, user_id: uuid.UUID | None,
                  note: str | None = None, *, initial: bool = False) -> None:
    """Move the claim (already checked) and keep the move in its history (from null when `initial`)."""
    at = utcnow()
    source = None if initial else claim.status
    session.add(ClaimStatusEvent(claim_id=claim.id, from_status=source.value if source else None,
                                 to_status=target.value, occurred_at=at, user_id=user_id, note=note))
    claim.status, claim.status_changed_at = target, at


def move(session: Session, claim: Claim, target: ClaimStatus, user_id: uuid.UUID | None,
         note: str | None = None) -> None:
    check_claim_move(claim.status, target)
    record_status(session, claim, target, user_id, note)


def change_status(session: Session, principal: Principal, claim_id: uuid.UUID, data: ClaimStatusIn) -> Claim:
    """Clearinghouse and payer answers, and staff moves (correct, appeal, close, void).

    An illegal move is a 409, as API.md says for any endpoint. A legal move that needs more than a
    status is a 422 naming its endpoint: submitting must pass the scrubber, and paid, partially_paid
    or denied need the payer's amounts (a status alone would leave the money unposted).
    """
    claim = claim_for_update(session, principal, claim_id)
    check_claim_move(claim.status, data.status)
    if data.status == C.submitted:
        raise Invalid([(("body", "status"), "submit with POST /claims/{id}/submit, which scrubs the claim first")])
    if data.status in REMITTANCE_OUTCOMES:
        raise Invalid([(("body", "status"), f"{data.status.value} is the payer's answer: post it with "
                                            "POST /claims/{id}/remittance")])
    record_status(session, claim, data.status, principal.id, data.note)
    session.flush()
    return claim


# -- creation --------------------------------------------------------------------------------------

def primary_coverage(session: Session, patient_id: uuid.UUID, day: date) -> Coverage | None:
    """The patient's primary insurance in force on `day` (a self-pay "payer" is not insurance)."""
    return session.scalar(
        select(Coverage).join(Payer, Payer.id == Coverage.payer_id)
        .where(Coverage.patient_id == patient_id, Coverage.rank == CoverageRank.primary,
               Coverage.effective_from <= day, (Coverage.effective_to.is_(None)) | (Coverage.effective_to >= day),
               Payer.kind != PayerKind.self_pay)
        .order_by(Coverage.effective_from.desc()).limit(1))


def coverage_problems(session: Session, coverage: Coverage | None, patient_id: uuid.UUID, day: date,
                      loc: tuple) -> Problems:
    if coverage is None:
        return [(loc, "no coverage effective on date of service")]
    if coverage.patient_id != patient_id:
        return [(loc, f"coverage {coverage.id} is not the patient's")]
    problems = []
    if not coverage.covers(day):
        problems.append((loc, f"coverage {coverage.id} is not effective on the date of service {day}"))
    if session.get(Payer, coverage.payer_id).kind == PayerKind.self_pay:
        problems.append((loc, "a self-pay visit is billed to the patient, not claimed"))
    return problems


def _coverage_for(session: Session, encounter: Encounter, coverage_id: uuid.UUID | None) -> Coverage | None:
    if coverage_id is None:
        return primary_coverage(session, encounter.patient_id, encounter.date_of_service)
    return session.get(Coverage, coverage_id)


def create_claim(session: Session, principal: Principal, data: ClaimCreate) -> Claim:
    encounter = session.scalar(visible_encounters(principal).where(Encounter.id == data.encounter_id))
    if encounter is None:
        raise Invalid([(("body", "encounter_id"), f"unknown encounter {data.encounter_id}")])
    coverage = _coverage_for(session, encounter, data.coverage_id)
    if problems := coverage_problems(session, coverage, encounter.patient_id, encounter.date_of_service,
                                     ("body", "coverage_id")):
        raise Invalid(problems)
    lock_row(session, Encounter, encounter.id)  # one live claim per encounter and coverage, even under races
    _check_not_claimed(session, encounter, coverage)
    claim = Claim(encounter_id=encounter.id, patient_id=encounter.patient_id, facility_id=encounter.facility_id,
                  provider_id=encounter.provider_id, coverage_id=coverage.id, payer_id=coverage.payer_id,
                  status=C.draft, total_charge=encounter.total_charge,
                  lines=[ClaimLine(encounter_line_id=line.id, line_number=line.line_number,
                                   procedure_code=line.procedure_code, modifiers=list(line.modifiers),
                                   units=line.units, charge_amount=line.charge_amount) for line in encounter.lines])
    session.add(claim)
    session.flush()  # the claim's id, for its first status event
    record_status(session, claim, C.draft, principal.id, initial=True)
    session.flush()
    return claim


def _check_not_claimed(session: Session, encounter: Encounter, coverage: Coverage) -> None:
    """One live claim per encounter and coverage: a second would bill the payer twice."""
    existing = session.scalar(select(Claim.id).where(Claim.encounter_id == encounter.id,
                                                     Claim.coverage_id == coverage.id, Claim.status != C.void))
    if existing:
        raise Conflict(f"encounter {encounter.id} already has claim {existing} for this coverage; void it first",
                       existing_id=str(existing))


def update_claim(session: Session, principal: Principal, claim_id: uuid.UUID, data: ClaimUpdate) -> Claim:
    claim = claim_for_update(session, principal, claim_id)
    if claim.status != C.draft:
        raise Conflict(f"only a draft claim can be corrected; this one is {claim.status.value}",
                       current_status=claim.status.value)
    encounter = session.get(Encounter, claim.encounter_id)
    coverage = session.get(Coverage, data.coverage_id)
    if problems := coverage_problems(session, coverage, claim.patient_id, encounter.date_of_service,
                                     ("body", "coverage_id")):
        raise Invalid(problems)
    claim.coverage_id, claim.payer_id = coverage.id, coverage.payer_id
    session.flush()
    return claim


# -- the scrubber ----------------------------------------------------------------------------------

def scrub(session: Session, claim: Claim) -> Problems:
    """Everything a payer or clearinghouse would reject the claim for, found at once."""
    encounter = session.get(Encounter, claim.encounter_id)
    facility = session.get(Facility, claim.facility_id)
    provider = session.get(Provider, claim.provider_id)
    coverage = session.get(Coverage, claim.coverage_id) if claim.coverage_id else None
    problems = coverage_problems(session, coverage, claim.patient_id, encounter.date_of_service,
                                 ("claim", "coverage_id"))
    if coverage is not None and coverage.payer_id != claim.payer_id:
        problems.append((("claim", "payer_id"), "the claim's payer is not the coverage's payer"))
    problems += diagnosis_problems(encounter.diagnosis_codes, ("claim", "diagnosis_codes"))
    problems += _line_problems(session, claim, len(encounter.diagnosis_codes))
    if encounter.date_of_service > local_today(facility.timezone):
        problems.append((("claim", "date_of_service"), f"date of service {encounter.date_of_service} is in the future"))
    if not provider.active:
        problems.append((("claim", "provider_id"), "the rendering provider is inactive"))
    return problems


def _line_problems(session: Session, claim: Claim, diagnosis_count: int) -> Problems:
    if not claim.lines:
        return [(("claim", "lines"), "the claim has no lines")]
    problems = []
    for i, line in enumerate(claim.lines):
        loc = ("claim", "lines", i)
        pointers = session.get(EncounterLine, line.encounter_line_id).diagnosis_pointers
        problems += line_code_problems(line.procedure_code, line.modifiers, pointers, diagnosis_count, loc)
        if line.charge_amount <= ZERO:
            problems.append(((*loc, "charge_amount"), f"charge {line.charge_amount} must be greater than 0"))
        if line.units < 1:
            problems.append(((*loc, "units"), "units must be at least 1"))
    total = sum((line.charge_amount for line in claim.lines), ZERO)
    if total != claim.total_charge:
        problems.append((("claim", "total_charge"), f"total charge {claim.total_charge} is not the sum of the "
                                                    f"lines {total}"))
    return problems


def submit(session: Session, principal: Principal, claim_id: uuid.UUID) -> Claim:
    claim = claim_for_update(session, principal, claim_id)
    check_claim_move(claim.status, C.submitted)
    if problems := scrub(session, claim):
        raise Invalid(problems)
    record_status(session, claim, C.submitted, principal.id)
    claim.submitted_at = claim.status_changed_at  # the latest submission; the events keep the first
    session.flush()
    return claim


# -- remittance (835) -------------------------------------------------------------------------------

@dataclass
class Adjudication:
    """What one remittance says: its outcome, patient share, allowed amount and denial (if any)."""

    status: ClaimStatus
    patient_responsibility: Decimal
    allowed: Decimal
    denial: DenialIn | None


def adjudicate(data: RemittanceIn) -> Adjudication:
    """Nothing paid and nothing owed by the patient, or an explicit denial with nothing paid → denied;
    something paid with a denial → partially_paid; otherwise paid (possibly all to the patient)."""
    pr = sum((a.amount for a in data.adjustments if a.group_code == CarcGroup.PR), ZERO)
    allowed = data.paid_amount + pr
    if data.paid_amount == ZERO and (pr == ZERO or data.denial is not None):
        return Adjudication(C.denied, pr, allowed, data.denial or _implied_denial(data))
    if data.denial is not None:
        return Adjudication(C.partially_paid, pr, allowed, data.denial)
    return Adjudication(C.paid, pr, allowed, None)


def _implied_denial(data: RemittanceIn) -> DenialIn | None:
    first = next((a for a in data.adjustments if a.group_code != CarcGroup.PR), None)
    if first is None:
        return None
    return DenialIn(group_code=first.group_code, reason_code=first.reason_code, remark_codes=data.remark_codes)


def remittance_problems(claim: Claim, data: RemittanceIn) -> Problems:
    problems = [(("body", "adjustments", i, "reason_code"), f"{a.reason_code!r} is not a CARC code")
                for i, a in enumerate(data.adjustments) if not codes.CARC_RE.match(a.reason_code)]
    problems += [(("body", "remark_codes", i), f"{c!r} is not a RARC code")
                 for i, c in enumerate(data.remark_codes) if not codes.RARC_RE.match(c)]
    if data.denial is not None:
        if not codes.CARC_RE.match(data.denial.reason_code):
            problems.append((("body", "denial", "reason_code"), f"{data.denial.reason_code!r} is not a CARC code"))
        problems += [(("body", "denial", "remark_codes", i), f"{c!r} is not a RARC code")
                     for i, c in enumerate(data.denial.remark_codes) if not codes.RARC_RE.match(c)]
    adjusted = sum((a.amount for a in data.adjustments), ZERO)
    if data.paid_amount + adjusted != claim.total_charge:
        problems.append((("body",), f"the remittance does not balance: charge {claim.total_charge} ≠ paid "
                                    f"{data.paid_amount} + adjustments {adjusted} = {data.paid_amount + adjusted}"))
    outcome = adjudicate(data)
    if data.allowed_amount is not None and data.allowed_amount != outcome.allowed:
        problems.append((("body", "allowed_amount"), f"allowed {data.allowed_amount} ≠ paid {data.paid_amount} + "
                                                     f"patient responsibility {outcome.patient_responsibility} = "
                                                     f"{outcome.allowed}"))
    return problems + timestamp_problems(data.received_at, ("body", "received_at"))


def post_remittance(session: Session, principal: Principal, claim_id: uuid.UUID,
                    data: RemittanceIn) -> tuple[Remittance, Claim, Payment | None]:
    """Record the payer's answer. A denial posts no write-off: its CO amount stays open as insurance A/R."""
    claim = claim_for_update(session, principal, claim_id)
    if claim.status not in REMITTABLE:
        raise Conflict(f"a remittance is posted only on an accepted or appealed claim; this one is "
                       f"{claim.status.value}", current_status=claim.status.value)
    if problems := remittance_problems(claim, data):
        raise Invalid(problems)
    outcome = adjudicate(data)
    received_at = data.received_at or utcnow()
    move(session, claim, outcome.status, principal.id)
    remittance = _remittance_row(claim, data, outcome, received_at)
    session.add(remittance)
    session.flush()
    _apply(claim, data, outcome, received_at)
    payment = _insurance_payment(claim, remittance) if data.paid_amount > ZERO else None
    if payment is not None:
        session.add(payment)
    session.flush()
    return remittance, claim, payment


def _remittance_row(claim: Claim, data: RemittanceIn, outcome: Adjudication, received_at: datetime) -> Remittance:
    denial = outcome.denial
    remarks = list(dict.fromkeys(data.remark_codes + (denial.remark_codes if denial else [])))
    return Remittance(
        claim_id=claim.id, payer_id=claim.payer_id, received_at=received_at, claim_status=outcome.status,
        paid_amount=data.paid_amount, allowed_amount=outcome.allowed,
        patient_responsibility=outcome.patient_responsibility, remark_codes=remarks,
        payment_reference=data.payment_reference,
        denial_group_code=denial.group_code.value if denial else None,
        denial_reason_code=denial.reason_code if denial else None,
        adjustments=[RemittanceAdjustment(claim_id=claim.id, group_code=a.group_code, reason_code=a.reason_code,
                                          amount=a.amount) for a in data.adjustments])


def _apply(claim: Claim, data: RemittanceIn, outcome: Adjudication, received_at: datetime) -> None:
    """Paid accumulates across an appeal; allowed, patient share and denial are the latest answer's."""
    denial = outcome.denial
    claim.paid_amount = claim.paid_amount + data.paid_amount
    claim.allowed_amount = outcome.allowed
    claim.patient_responsibility = outcome.patient_responsibility
    claim.denial_group_code = denial.group_code.value if denial else None
    claim.denial_reason_code = denial.reason_code if denial else None
    claim.denial_remark_codes = list(denial.remark_codes) if denial else None
    claim.adjudicated_at = received_at


def _insurance_payment(claim: Claim, remittance: Remittance) -> Payment:
    return Payment(patient_id=claim.patient_id, facility_id=claim.facility_id, claim_id=claim.id,
                   payer_id=claim.payer_id, remittance_id=remittance.id, source=PaymentSource.insurance,
                   method=PaymentMethod.eft, amount=remittance.paid_amount, received_at=remittance.received_at,
                   reference=remittance.payment_reference)


# -- reading -----------------------------------------------------------------------------------------

def claim_history(session: Session, claim: Claim) -> dict:
    """The claim's remittances (oldest first) and status history, for the detail view."""
    remittances = session.scalars(select(Remittance).where(Remittance.claim_id == claim.id)
                                  .order_by(Remittance.received_at, Remittance.created_at)).all()
    history = session.scalars(select(ClaimStatusEvent).where(ClaimStatusEvent.claim_id == claim.id)
                              .order_by(ClaimStatusEvent.occurred_at, ClaimStatusEvent.created_at)).all()
    return {"remittances": remittances, "status_history": history}

