"""Claims: create from an encounter, scrub and submit, status moves, remittances (PHI: audited)."""

import uuid
from datetime import date

from fastapi import APIRouter, status
from sqlalchemy import func
from sqlalchemy.orm import Session

from ops_api.api.deps import SessionDep, allow
from ops_api.api.pagination import PageDep, paginate
from ops_api.idempotency import OptionalKey, run_once
from ops_api.models import Claim
from ops_api.principal import Principal
from ops_api.schemas.claims import (ClaimCreate, ClaimDetail, ClaimPublic, ClaimStatusIn, ClaimUpdate,
                                    RemittanceIn, RemittanceResult)
from ops_api.schemas.common import Page
from ops_api.services import claims as svc
from pms.enums import ClaimStatus

router = APIRouter(prefix="/claims", tags=["claims"])
MOVE_ERRORS = {409: {"description": "illegal status move (nothing changes)"},
               422: {"description": "every problem found"}}


def _detail(session: Session, principal: Principal, claim: Claim, action: str = "read",
            status_code: int = 200) -> ClaimDetail:
    """Audit, commit, and answer with the claim's full view."""
    principal.audit(session, action, "claims", claim.id, claim.patient_id, status_code)
    session.commit()
    base = ClaimPublic.model_validate(claim).model_dump()
    return ClaimDetail.model_validate({**base, "lines": claim.lines, **svc.claim_history(session, claim)})


@router.post("", response_model=ClaimDetail, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the encounter already has a live claim for this coverage"},
                        422: {"description": "unknown encounter; no coverage effective on date of service"}})
def create_claim(session: SessionDep, principal: allow("claims:write"), data: ClaimCreate):
    """A draft claim copying the encounter's lines; the payer is the coverage's (default: the
    patient's primary coverage effective on the date of service)."""
    claim = svc.create_claim(session, principal, data)
    return _detail(session, principal, claim, "create", 201)


@router.get("", response_model=Page[ClaimPublic])
def list_claims(session: SessionDep, principal: allow("claims:read"), page: PageDep,
                status: ClaimStatus | None = None, payer_id: uuid.UUID | None = None,
                facility_id: uuid.UUID | None = None, patient_id: uuid.UUID | None = None,
                provider_id: uuid.UUID | None = None, encounter_id: uuid.UUID | None = None,
                date_from: date | None = None, date_to: date | None = None):
    """`date_from`/`date_to` (inclusive, UTC days) filter on the submission time, or for claims never
    submitted on the creation time: the work queue's "when did this go out" date."""
    query = svc.visible_claims(principal).order_by(Claim.created_at.desc(), Claim.id)
    for column, value in ((Claim.status, status), (Claim.payer_id, payer_id), (Claim.facility_id, facility_id),
                          (Claim.patient_id, patient_id), (Claim.provider_id, provider_id),
                          (Claim.encounter_id, encounter_id)):
        if value is not None:
            query = query.where(column == value)
    query = svc.in_days(query, func.coalesce(Claim.submitted_at, Claim.created_at), date_from, date_to)
    result = paginate(session, query, page)
    for claim in result["items"]:
        principal.audit(session, "read", "claims", claim.id, claim.patient_id)
    session.commit()
    return result


@router.get("/{claim_id}", response_model=ClaimDetail)
def get_claim(session: SessionDep, principal: allow("claims:read"), claim_id: uuid.UUID):
    return _detail(session, principal, svc.get_claim(session, principal, claim_id))


@router.patch("/{claim_id}", response_model=ClaimDetail, responses=MOVE_ERRORS)
def update_claim(session: SessionDep, principal: allow("claims:write"), claim_id: uuid.UUID, data: ClaimUpdate):
    """Correct a draft claim's coverage (and so its payer)."""
    return _detail(session, principal, svc.update_claim(session, principal, claim_id, data), "update")


@router.post("/{claim_id}/submit", response_model=ClaimDetail, responses=MOVE_ERRORS)
def submit_claim(session: SessionDep, principal: allow("claims:write"), claim_id: uuid.UUID):
    """Scrub, then draft → submitted. A 422 lists every problem the scrubber found."""
    return _detail(session, principal, svc.submit(session, principal, claim_id), "update")


@router.post("/{claim_id}/status", response_model=ClaimDetail, responses=MOVE_ERRORS)
def change_status(session: SessionDep, principal: allow("claims:write"), claim_id: uuid.UUID, data: ClaimStatusIn):
    """accepted | rejected (clearinghouse), draft (correction), appealed, closed, void. Moves to
    submitted go through /submit and to paid | partially_paid | denied through /remittance (422)."""
    return _detail(session, principal, svc.change_status(session, principal, claim_id, data), "update")


@router.post("/{claim_id}/remittance", response_model=RemittanceResult, status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "the claim is not accepted or appealed; or the Idempotency-Key "
                                             "was used for another request"},
                        422: {"description": "the remittance does not balance, or bad codes"}})
def post_remittance(session: SessionDep, principal: allow("claims:write"), claim_id: uuid.UUID, data: RemittanceIn,
                    idempotency_key: OptionalKey = None):
    """The payer's answer: charge = paid + Σ adjustments. Posts the insurance payment when paid > 0;
    a denial posts no write-off."""
    def action():
        remittance, claim, payment = svc.post_remittance(session, principal, claim_id, data)
        principal.audit(session, "create", "remittances", remittance.id, claim.patient_id, 201)
        result = RemittanceResult.model_validate({"remittance": remittance, "claim": claim, "payment": payment})
        return status.HTTP_201_CREATED, result.model_dump(mode="json")

    def on_replay(body):
        patient_id = uuid.UUID(body["claim"]["patient_id"])
        principal.audit(session, "read", "remittances", body["remittance"]["id"], patient_id)

    request = {"claim_id": str(claim_id), "body": data.model_dump(mode="json")}
    return run_once(session, principal, idempotency_key, request, action, on_replay).response()
