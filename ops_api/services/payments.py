"""Payments (the one ledger of money received), adjustments, and the patient balance.

Balance rules (KPIS.md, "A/R balance"), all sums exact Decimals over the caller's facilities:

    charges                  Σ encounter line charges
    insurance_paid           Σ payments with source insurance (remittance postings and manual ones)
    patient_paid             Σ payments with source patient
    contractual_adjustments  Σ non-PR adjustments of remittances whose outcome was paid or
                             partially_paid (= charge − allowed). A denial's CO-197 is NOT one: the
                             balance stays open as insurance A/R until an appeal or a write-off.
    other_adjustments        approved write_off + discount + fee_waiver + credit − debit − refund
    balance_due              charges − insurance_paid − patient_paid − contractual − other

Responsibility split: the patient owes the patient responsibility of every live (non-void) claim
plus the charges of self-pay encounters (no live claim and no insurance effective on the date of
service), less patient payments and the adjustments on the patient's side; the insurance side is
the rest (unbilled insured visits, claims awaiting or contesting adjudication). An adjustment is on
the insurance side when it names a live claim with no paid or partially_paid remittance yet (for
example the write-off of a denial), else on the patient's. A side that goes negative is an
overpayment: it is reported as `credit_balance`, not netted, so
balance_due = insurance_balance + patient_balance − credit_balance.
Pending adjustments count nowhere until approved (`pending_adjustments` shows them).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ops_api.clock import utcnow
from ops_api.errors import Conflict, Forbidden, Invalid
from ops_api.models import (Adjustment, Claim, Encounter, EncounterLine, Patient, Payer, Payment, Remittance,
                            RemittanceAdjustment)
from ops_api.principal import Principal
from ops_api.schemas.payments import AdjustmentCreate, PaymentCreate
from ops_api.services.claims import ZERO, lock_row, primary_coverage, timestamp_problems
from ops_api.services.patients import visible_patients
from pms.enums import AdjustmentKind, AdjustmentStatus, CarcGroup, ClaimStatus, PaymentSource
from pms.settings import get_settings

K = AdjustmentKind
REDUCING = frozenset({K.write_off, K.discount, K.fee_waiver, K.credit})  # the rest (debit, refund) add
PAID_OUTCOMES = (ClaimStatus.paid, ClaimStatus.partially_paid)


# -- shared reference checks ---------------------------------------------------------------------------

def _patient_and_claim(session: Session, principal: Principal, patient_id: uuid.UUID,
                       claim_id: uuid.UUID | None) -> tuple[list, Claim | None, Patient | None]:
    """Problems with the body's patient and claim references, the claim, and the patient."""
    patient = session.scalar(visible_patients(principal).where(Patient.id == patient_id))
    problems = [] if patient is not None else [(("body", "patient_id"), f"unknown patient {patient_id}")]
    claim = session.get(Claim, claim_id) if claim_id is not None else None
    if claim_id is not None and (claim is None or not principal.sees_facility(claim.facility_id)):
        problems.append((("body", "claim_id"), f"unknown claim {claim_id}"))
        claim = None
    elif claim is not None and claim.patient_id != patient_id:
        problems.append((("body", "claim_id"), f"claim {claim_id} is not the patient's"))
    return problems, claim, patient


# -- payments ---------------------------------------------------------------------------------------

def visible_payments(principal: Principal) -> Select:
    return principal.scope(select(Payment), Payment.facility_id)


def get_payment(session: Session, principal: Principal, payment_id: uuid.UUID) -> Payment:
    return principal.get_scoped(session, Payment, payment_id, "payment")


def _payer_problems(session: Session, data: PaymentCreate, claim: Claim | None) -> tuple[list, uuid.UUID | None]:
    """Insurance money names its payer (default: the claim's); patient money has none."""
    loc = ("body", "payer_id")
    if data.source == PaymentSource.patient:
        return ([(loc, "a patient payment has no payer")] if data.payer_id else []), None
    payer_id = data.payer_id or (claim.payer_id if claim else None)
    if payer_id is None:
        return [(loc, "an insurance payment needs payer_id (or a claim_id)")], None
    if session.get(Payer, payer_id) is None:
        return [(loc, f"unknown payer {payer_id}")], None
    if claim is not None and claim.payer_id != payer_id:
        return [(loc, "the payer is not the claim's payer")], None
    return [], payer_id


def create_payment(session: Session, principal: Principal, data: PaymentCreate) -> Payment:
    problems, claim, patient = _patient_and_claim(session, principal, data.patient_id, data.claim_id)
    payer_problems, payer_id = _payer_problems(session, data, claim)
    problems += payer_problems + timestamp_problems(data.received_at, ("body", "received_at"))
    if problems:
        raise Invalid(problems)
    payment = Payment(patient_id=patient.id, facility_id=claim.facility_id if claim else patient.facility_id,
                      claim_id=data.claim_id, payer_id=payer_id, source=data.source, method=data.method,
                      amount=data.amount, received_at=data.received_at or utcnow(), reference=data.reference)
    session.add(payment)
    session.flush()
    return payment


# -- adjustments --------------------------------------------------------------------------------------

def visible_adjustments(principal: Principal) -> Select:
    return principal.scope(select(Adjustment), Adjustment.facility_id)


def get_adjustment(session: Session, principal: Principal, adjustment_id: uuid.UUID) -> Adjustment:
    return principal.get_scoped(session, Adjustment, adjustment_id, "adjustment")


def create_adjustment(session: Session, principal: Principal, data: AdjustmentCreate) -> Adjustment:
    """Within the approval limit it posts at once (approved_by stays null: no second person was
    needed); above it, it waits for an admin other than the requester."""
    problems, claim, patient = _patient_and_claim(session, principal, data.patient_id, data.claim_id)
    if problems:
        raise Invalid(problems)
    now = utcnow()
    within_limit = data.amount <= get_settings().adjustment_approval_limit
    adjustment = Adjustment(
        patient_id=patient.id, facility_id=claim.facility_id if claim else patient.facility_id,
        claim_id=data.claim_id, kind=data.kind, amount=data.amount, reason=data.reason, requested_by=principal.id,
        status=AdjustmentStatus.approved if within_limit else AdjustmentStatus.pending,
        decided_at=now if within_limit else None, posted_at=now if within_limit else None)
    session.add(adjustment)
    session.flush()
    return adjustment


def decide_adjustment(session: Session, principal: Principal, adjustment_id: uuid.UUID, approve: bool) -> Adjustment:
    """Four eyes: the requester may withdraw (reject) their request but never approve it."""
    adjustment = get_adjustment(session, principal, adjustment_id)
    lock_row(session, Adjustment, adjustment.id)
    session.refresh(adjustment)
    if adjustment.status != AdjustmentStatus.pending:
        raise Conflict(f"adjustment {adjustment.id} is already {adjustment.status.value}",
                       current_status=adjustment.status.value)
    if approve and adjustment.requested_by == principal.id:
        raise Forbidden("the requester of an adjustment cannot approve it")
    now = utcnow()
    adjustment.status = AdjustmentStatus.approved if approve else AdjustmentStatus.rejected
    adjustment.approved_by = principal.id if approve else None
    adjustment.decided_at = now
    adjustment.posted_at = now if approve else None
    session.flush()
    return adjustment


# -- balance ----------------------------------------------------------------------------------------

def _total(session: Session, query: Select) -> Decimal:
    return session.scalar(query) or ZERO


def _charges(session: Session, principal: Principal, patient_id: uuid.UUID) -> Decimal:
    query = (select(func.sum(EncounterLine.charge_amount)).join(Encounter, Encounter.id == EncounterLine.encounter_id)
             .where(Encounter.patient_id == patient_id))
    return _total(session, principal.scope(query, Encounter.facility_id))


def _paid(session: Session, principal: Principal, patient_id: uuid.UUID, source: PaymentSource) -> Decimal:
    query = select(func.sum(Payment.amount)).where(Payment.patient_id == patient_id, Payment.source == source)
    return _total(session, principal.scope(query, Payment.facility_id))


def _contractual(session: Session, principal: Principal, patient_id: uuid.UUID) -> Decimal:
    query = (select(func.sum(RemittanceAdjustment.amount))
             .join(Remittance, Remittance.id == RemittanceAdjustment.remittance_id)
             .join(Claim, Claim.id == Remittance.claim_id)
             .where(Claim.patient_id == patient_id, RemittanceAdjustment.group_code != CarcGroup.PR,
                    Remittance.claim_status.in_(PAID_OUTCOMES)))
    return _total(session, principal.scope(query, Claim.facility_id))


def _patient_gross(session: Session, principal: Principal, patient_id: uuid.UUID, live: list[Claim]) -> Decimal:
    """What the patient owes before payments: the live claims' patient shares plus self-pay visits."""
    claimed = {c.encounter_id for c in live}
    encounters = session.scalars(principal.scope(select(Encounter).where(Encounter.patient_id == patient_id),
                                                 Encounter.facility_id)).all()
    self_pay = sum((e.total_charge for e in encounters
                    if e.id not in claimed and primary_coverage(session, patient_id, e.date_of_service) is None), ZERO)
    return sum((c.patient_responsibility for c in live), ZERO) + self_pay


@dataclass
class AdjustmentTotals:
    by_kind: dict[str, Decimal]
    net: Decimal  # reductions − increases, all approved adjustments
    patient_side_net: Decimal  # the same, on the patient's side only
    pending: Decimal


def _adjustment_totals(session: Session, principal: Principal, patient_id: uuid.UUID,
                       awaiting_insurance: set[uuid.UUID]) -> AdjustmentTotals:
    adjustments = session.scalars(principal.scope(select(Adjustment).where(Adjustment.patient_id == patient_id),
                                                  Adjustment.facility_id)).all()
    totals = AdjustmentTotals(defaultdict(lambda: ZERO), ZERO, ZERO, ZERO)
    for adj in adjustments:
        if adj.status == AdjustmentStatus.pending:
            totals.pending += adj.amount
        if adj.status != AdjustmentStatus.approved:
            continue
        signed = adj.amount if adj.kind in REDUCING else -adj.amount
        totals.by_kind[adj.kind.value] += adj.amount
        totals.net += signed
        if adj.claim_id not in awaiting_insurance:
            totals.patient_side_net += signed
    totals.by_kind = dict(totals.by_kind)
    return totals


def balance(session: Session, principal: Principal, patient_id: uuid.UUID) -> dict:
    """The patient's account over the caller's facilities (rules in this module's docstring)."""
    live = [c for c in session.scalars(principal.scope(select(Claim).where(Claim.patient_id == patient_id),
                                                       Claim.facility_id)) if c.status != ClaimStatus.void]
    paid_claims = set(session.scalars(select(Remittance.claim_id).where(
        Remittance.claim_id.in_([c.id for c in live]), Remittance.claim_status.in_(PAID_OUTCOMES))))
    adjustments = _adjustment_totals(session, principal, patient_id, {c.id for c in live} - paid_claims)
    figures = {
        "charges": _charges(session, principal, patient_id),
        "insurance_paid": _paid(session, principal, patient_id, PaymentSource.insurance),
        "patient_paid": _paid(session, principal, patient_id, PaymentSource.patient),
        "contractual_adjustments": _contractual(session, principal, patient_id),
        "other_adjustments": adjustments.net,
    }
    balance_due = (figures["charges"] - figures["insurance_paid"] - figures["patient_paid"]
                   - figures["contractual_adjustments"] - figures["other_adjustments"])
    patient_side = (_patient_gross(session, principal, patient_id, live) - figures["patient_paid"]
                    - adjustments.patient_side_net)
    insurance_side = balance_due - patient_side
    return {"patient_id": patient_id, **figures, "adjustments_by_kind": adjustments.by_kind,
            "balance_due": balance_due, "pending_adjustments": adjustments.pending,
            "insurance_balance": max(insurance_side, ZERO), "patient_balance": max(patient_side, ZERO),
            "credit_balance": max(-insurance_side, ZERO) + max(-patient_side, ZERO)}
