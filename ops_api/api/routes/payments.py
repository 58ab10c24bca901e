"""Payments, adjustments and the patient balance (PHI: every access is audited)."""

import uuid
from datetime import date

from fastapi import APIRouter, status

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.idempotency import OptionalKey, RequiredKey, run_once
from ops_api.models import Adjustment, Payment
from ops_api.schemas.common import Page
from ops_api.schemas.payments import AdjustmentCreate, AdjustmentPublic, BalancePublic, PaymentCreate, PaymentPublic
from ops_api.services import patients
from ops_api.services import payments as svc
from ops_api.services.claims import in_days
from pms.enums import AdjustmentKind, AdjustmentStatus, PaymentSource

router = APIRouter()
IDEMPOTENT = {409: {"description": "the Idempotency-Key was already used for a different request"},
              422: {"description": "every problem found"}}


@router.post("/payments", response_model=PaymentPublic, status_code=status.HTTP_201_CREATED, responses=IDEMPOTENT,
             tags=["payments"])
def create_payment(session: SessionDep, principal: allow("payments:write"), data: PaymentCreate,
                   idempotency_key: RequiredKey):
    """Post money received. The Idempotency-Key header is required: a retry with the same key and body
    returns the first answer (header `Idempotent-Replayed: true`), never a second payment."""
    def action():
        payment = svc.create_payment(session, principal, data)
        principal.audit(session, "create", "payments", payment.id, payment.patient_id, 201)
        return status.HTTP_201_CREATED, PaymentPublic.model_validate(payment).model_dump(mode="json")

    def on_replay(body):
        principal.audit(session, "read", "payments", body["id"], uuid.UUID(body["patient_id"]))

    return run_once(session, principal, idempotency_key, data.model_dump(mode="json"), action, on_replay).response()


@router.get("/payments", response_model=Page[PaymentPublic], tags=["payments"])
def list_payments(session: SessionDep, principal: allow("payments:read"), page: PageDep,
                  patient_id: uuid.UUID | None = None, claim_id: uuid.UUID | None = None,
                  source: PaymentSource | None = None, facility_id: uuid.UUID | None = None,
                  date_from: date | None = None, date_to: date | None = None):
    """`date_from`/`date_to`: the day received (UTC, inclusive)."""
    query = svc.visible_payments(principal).order_by(Payment.received_at.desc(), Payment.id)
    for column, value in ((Payment.patient_id, patient_id), (Payment.claim_id, claim_id), (Payment.source, source),
                          (Payment.facility_id, facility_id)):
        if value is not None:
            query = query.where(column == value)
    result = paginate(session, in_days(query, Payment.received_at, date_from, date_to), page)
    for payment in result["items"]:
        principal.audit(session, "read", "payments", payment.id, payment.patient_id)
    session.commit()
    return result


@router.get("/payments/{payment_id}", response_model=PaymentPublic, tags=["payments"])
def get_payment(session: SessionDep, principal: allow("payments:read"), payment_id: uuid.UUID):
    payment = svc.get_payment(session, principal, payment_id)
    principal.audit(session, "read", "payments", payment.id, payment.patient_id)
    session.commit()
    return payment


@router.post("/adjustments", response_model=AdjustmentPublic, status_code=status.HTTP_201_CREATED,
             responses=IDEMPOTENT, tags=["adjustments"])
def create_adjustment(session: SessionDep, principal: allow("adjustments:write"), data: AdjustmentCreate,
                      idempotency_key: OptionalKey = None):
    """Up to the approval limit: approved at once. Above: pending until an admin other than the
    requester approves it. Optional Idempotency-Key as for payments."""
    def action():
        adjustment = svc.create_adjustment(session, principal, data)
        principal.audit(session, "create", "adjustments", adjustment.id, adjustment.patient_id, 201)
        return status.HTTP_201_CREATED, AdjustmentPublic.model_validate(adjustment).model_dump(mode="json")

    def on_replay(body):
        principal.audit(session, "read", "adjustments", body["id"], uuid.UUID(body["patient_id"]))

    return run_once(session, principal, idempotency_key, data.model_dump(mode="json"), action, on_replay).response()


@router.get("/adjustments", response_model=Page[AdjustmentPublic], tags=["adjustments"])
def list_adjustments(session: SessionDep, principal: allow("adjustments:read"), page: PageDep,
                     patient_id: uuid.UUID | None = None, claim_id: uuid.UUID | None = None,
                     status: AdjustmentStatus | None = None, kind: AdjustmentKind | None = None,
                     date_from: date | None = None, date_to: date | None = None):
    """`date_from`/`date_to`: the day requested (UTC, inclusive)."""
    query = svc.visible_adjustments(principal).order_by(Adjustment.created_at.desc(), Adjustment.id)
    for column, value in ((Adjustment.patient_id, patient_id), (Adjustment.claim_id, claim_id),
                          (Adjustment.status, status), (Adjustment.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    result = paginate(session, in_days(query, Adjustment.created_at, date_from, date_to), page)
    for adjustment in result["items"]:
        principal.audit(session, "read", "adjustments", adjustment.id, adjustment.patient_id)
    session.commit()
    return result


@router.get("/adjustments/{adjustment_id}", response_model=AdjustmentPublic, tags=["adjustments"])
def get_adjustment(session: SessionDep, principal: allow("adjustments:read"), adjustment_id: uuid.UUID):
    adjustment = svc.get_adjustment(session, principal, adjustment_id)
    principal.audit(session, "read", "adjustments", adjustment.id, adjustment.patient_id)
    session.commit()
    return adjustment


def _decide(session, principal, adjustment_id: uuid.UUID, approve: bool) -> Adjustment:
    adjustment = svc.decide_adjustment(session, principal, adjustment_id, approve)
    principal.audit(session, "update", "adjustments", adjustment.id, adjustment.patient_id)
    session.commit()
    return adjustment


DECIDE_ERRORS = {403: {"description": "not an admin, or approving one's own request"},
                 409: {"description": "the adjustment is not pending"}}


@router.post("/adjustments/{adjustment_id}/approve", response_model=AdjustmentPublic, responses=DECIDE_ERRORS,
             tags=["adjustments"])
def approve_adjustment(session: SessionDep, principal: allow("adjustments:approve"), adjustment_id: uuid.UUID):
    return _decide(session, principal, adjustment_id, approve=True)


@router.post("/adjustments/{adjustment_id}/reject", response_model=AdjustmentPublic, responses=DECIDE_ERRORS,
             tags=["adjustments"])
def reject_adjustment(session: SessionDep, principal: allow("adjustments:approve"), adjustment_id: uuid.UUID):
    """Also how a requester withdraws their own pending request."""
    return _decide(session, principal, adjustment_id, approve=False)


@router.get("/patients/{patient_id}/balance", response_model=BalancePublic, tags=["patients"])
def get_balance(session: SessionDep, principal: allow("balance:read"), patient_id: uuid.UUID):
    """Charges, payments and adjustments over the caller's facilities, split by who owes what."""
    patient = patients.get_patient(session, principal, patient_id)
    result = svc.balance(session, principal, patient.id)
    principal.audit(session, "read", "balance", patient.id, patient.id)
    session.commit()
    return result
