"""The practice's structure: facilities, providers and their schedules, payers, fee schedule, users."""

import uuid
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Integer, Numeric, String, Time, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ops_api.models.base import Base, Entity
from ops_api.models.types import Money, UTCDateTime, utcnow
from pms.enums import PayerKind, Role


def enum_column(enum_cls):
    """Portable enum: VARCHAR plus a CHECK constraint, the same on SQLite and PostgreSQL."""
    return Enum(enum_cls, native_enum=False, create_constraint=True, length=20,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Facility(Entity):
    __tablename__ = "facilities"

    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    address: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # None: SQL NULL, not JSON null
    pos_code: Mapped[str] = mapped_column(String(2))


class ProviderFacility(Entity):
    __tablename__ = "provider_facilities"
    __table_args__ = (UniqueConstraint("provider_id", "facility_id"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"), index=True)


class Provider(Entity):
    __tablename__ = "providers"

    npi: Mapped[str] = mapped_column(String(10), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    specialty: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    facility_links: Mapped[list[ProviderFacility]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by=(ProviderFacility.created_at, ProviderFacility.id)
    )

    @property
    def facility_ids(self) -> list[uuid.UUID]:
        return [link.facility_id for link in self.facility_links]


class ProviderSchedule(Entity):
    """A weekly availability template: the provider works `weekday` from start to end (facility local time)."""

    __tablename__ = "provider_schedules"

    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("facilities.id"))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday, as in ISO/Python
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)


class ProviderTimeOff(Entity):
    __tablename__ = "provider_time_off"

    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))


class Payer(Entity):
    __tablename__ = "payers"

    name: Mapped[str] = mapped_column(String(200))
    edi_payer_id: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[PayerKind] = mapped_column(enum_column(PayerKind))


class FeeSchedule(Entity):
    __tablename__ = "fee_schedule"
    __table_args__ = (UniqueConstraint("procedure_code", "effective_from"),)

    procedure_code: Mapped[str] = mapped_column(String(5), index=True)
    description: Mapped[str] = mapped_column(String(300))
    charge_amount: Mapped[Decimal] = mapped_column(Money)
    work_rvu: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    effective_from: Mapped[date] = mapped_column(Date)


class User(Base):
    """Staff login. Not replicated: credentials never leave the operational store."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"))  # physicians
    facility_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all facilities
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
