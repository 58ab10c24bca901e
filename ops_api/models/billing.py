"""Encounters and charges, claims, remittances, payments and adjustments."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ops_api.models.base import Entity
from ops_api.models.org import enum_column
from ops_api.models.types import Money, UTCDateTime
from pms.enums import AdjustmentKind, AdjustmentStatus, CarcGroup, ClaimStatus, PaymentMethod, PaymentSource


class EncounterDiagnosis(Entity):
    __tablename__ = "encounter_diagnoses"
    __table_args__ = (UniqueConstraint("encounter_id", "rank"),)

    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)  # 1-based; lines point at it
    code: Mapped[str] = mapped_column(String(8))


class EncounterLine(Entity):
    """A charge: one procedure on one date of service."""

    __tablename__ = "encounter_lines"
    __table_args__ = (UniqueConstraint("encounter_id", "line_number"),)

    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    procedure_code: Mapped[str] = mapped_column(String(5))
    modifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    units: Mapped[int] = mapped_column(Integer)
    charge_amount: Mapped[Decimal] = mapped_column(Money)
    diagnosis_pointers: Mapped[list[int]] = mapped_column(JSON, default=list)


class Encounter(Entity):
    __tablename__ = "encounters"

    appointment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("appointments.id"), unique=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"), index=True)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"), index=True)
    date_of_service: Mapped[date] = mapped_column(Date, index=True)

    diagnoses: Mapped[list[EncounterDiagnosis]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=EncounterDiagnosis.rank
    )
    lines: Mapped[list[EncounterLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=EncounterLine.line_number
    )

    @property
    def diagnosis_codes(self) -> list[str]:
        return [d.code for d in self.diagnoses]

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge_amount for line in self.lines), Decimal("0.00"))


class ClaimLine(Entity):
    __tablename__ = "claim_lines"
    __table_args__ = (UniqueConstraint("claim_id", "line_number"),)

    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    encounter_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounter_lines.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    procedure_code: Mapped[str] = mapped_column(String(5))
    modifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    units: Mapped[int] = mapped_column(Integer)
    charge_amount: Mapped[Decimal] = mapped_column(Money)


class Claim(Entity):
    __tablename__ = "claims"

    encounter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("encounters.id"), index=True)
    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    coverage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("coverages.id"))
    payer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payers.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus), default=ClaimStatus.draft, index=True)
    total_charge: Mapped[Decimal] = mapped_column(Money)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    adjudicated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    allowed_amount: Mapped[Decimal | None] = mapped_column(Money)
    patient_responsibility: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    denial_group_code: Mapped[str | None] = mapped_column(String(2))
    denial_reason_code: Mapped[str | None] = mapped_column(String(5))
    denial_remark_codes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))  # None: SQL NULL
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[ClaimLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=ClaimLine.line_number
    )

    @property
    def denial(self) -> dict | None:
        if self.denial_reason_code is None:
            return None
        return {"group_code": self.denial_group_code, "reason_code": self.denial_reason_code,
                "remark_codes": self.denial_remark_codes or []}


class ClaimStatusEvent(Entity):
    """Every claim status move: the claim lifecycle marts (clean claims, first adjudication) read these."""

    __tablename__ = "claim_status_events"

    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(500))  # why: rejection reason, appeal, correction


class RemittanceAdjustment(Entity):
    __tablename__ = "remittance_adjustments"

    remittance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("remittances.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    group_code: Mapped[CarcGroup] = mapped_column(enum_column(CarcGroup))
    reason_code: Mapped[str] = mapped_column(String(5))
    amount: Mapped[Decimal] = mapped_column(Money)


class Remittance(Entity):
    """The payer's answer to one claim (an 835 CLP loop): balances as charge = paid + adjustments."""

    __tablename__ = "remittances"

    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claims.id"), index=True)
    payer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payers.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claim_status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus))  # outcome posted
    paid_amount: Mapped[Decimal] = mapped_column(Money)
    allowed_amount: Mapped[Decimal] = mapped_column(Money)
    patient_responsibility: Mapped[Decimal] = mapped_column(Money)
    remark_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    payment_reference: Mapped[str | None] = mapped_column(String(50))
    # The denial this answer carried, kept here because the claim's own denial is overwritten on appeal.
    denial_group_code: Mapped[str | None] = mapped_column(String(2))
    denial_reason_code: Mapped[str | None] = mapped_column(String(5))

    adjustments: Mapped[list[RemittanceAdjustment]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class Payment(Entity):
    __tablename__ = "payments"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"), index=True)
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), index=True)
    payer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payers.id"))
    remittance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("remittances.id"))
    source: Mapped[PaymentSource] = mapped_column(enum_column(PaymentSource))
    method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    amount: Mapped[Decimal] = mapped_column(Money)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reference: Mapped[str | None] = mapped_column(String(100))


class Adjustment(Entity):
    __tablename__ = "adjustments"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"), index=True)
    claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claims.id"), index=True)
    kind: Mapped[AdjustmentKind] = mapped_column(enum_column(AdjustmentKind))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[AdjustmentStatus] = mapped_column(enum_column(AdjustmentStatus))
    requested_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it took effect (approved)
