"""Patients and their insurance coverages."""

import uuid
from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ops_api.models.base import Entity
from ops_api.models.org import enum_column
from ops_api.models.types import EncryptedString
from pms.enums import ContactMethod, CoverageRank, Sex


class Patient(Entity):
    __tablename__ = "patients"
    __table_args__ = (Index("ix_patients_identity", "last_name", "first_name", "date_of_birth"),)

    mrn: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(enum_column(Sex))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # None: SQL NULL, not JSON null
    preferred_contact: Mapped[ContactMethod] = mapped_column(enum_column(ContactMethod), default=ContactMethod.sms)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"), index=True)


class Coverage(Entity):
    __tablename__ = "coverages"

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"), index=True)
    payer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payers.id"))
    member_id: Mapped[str] = mapped_column(EncryptedString())  # encrypted at rest: identifies the patient
    group_number: Mapped[str | None] = mapped_column(EncryptedString())
    rank: Mapped[CoverageRank] = mapped_column(enum_column(CoverageRank), default=CoverageRank.primary)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)
