"""SQLAlchemy models; importing this module registers every table on `Base.metadata`."""

from ops_api.models.base import Base, Entity
from ops_api.models.billing import (
    Adjustment,
    Claim,
    ClaimLine,
    ClaimStatusEvent,
    Encounter,
    EncounterDiagnosis,
    EncounterLine,
    Payment,
    Remittance,
    RemittanceAdjustment,
)
from ops_api.models.infra import AuditEvent, Counter, IdempotencyRecord, OutboxEvent
from ops_api.models.org import (
    Facility,
    FeeSchedule,
    Payer,
    Provider,
    ProviderFacility,
    ProviderSchedule,
    ProviderTimeOff,
    User,
)
from ops_api.models.patients import Coverage, Patient
from ops_api.models.scheduling import Appointment, AppointmentStatusEvent

__all__ = [
    "Adjustment", "Appointment", "AppointmentStatusEvent", "AuditEvent", "Base", "Claim", "ClaimLine",
    "ClaimStatusEvent", "Counter", "Coverage", "Encounter", "EncounterDiagnosis", "EncounterLine", "Entity",
    "Facility", "FeeSchedule", "IdempotencyRecord", "OutboxEvent", "Patient", "Payer", "Payment", "Provider",
    "ProviderFacility", "ProviderSchedule", "ProviderTimeOff", "Remittance", "RemittanceAdjustment", "User",
]


def replicated_tables() -> list[str]:
    """Names of the tables whose every change is written to the outbox (and so to raw.*)."""
    return sorted(m.class_.__tablename__ for m in Base.registry.mappers if getattr(m.class_, "replicated", False))

from ops_api import outbox  # noqa: E402,F401  (registers the outbox hooks with every Session)
