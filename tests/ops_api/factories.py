"""Valid rows for tests, built through the ops service layer (so outbox and rules apply)."""

import itertools
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

from sqlalchemy.orm import Session
from stdnum import luhn

from ops_api.models import (Appointment, Claim, Encounter, Facility, FeeSchedule, Patient, Payer, Provider, Remittance,
                            User)
from ops_api.principal import Principal
from ops_api.schemas.claims import ClaimCreate, ClaimStatusIn, RemittanceIn
from ops_api.schemas.encounters import EncounterCreate
from ops_api.schemas.org import FacilityCreate, FeeScheduleIn, PayerCreate, ProviderCreate, ScheduleIn, ScheduleTemplate
from ops_api.schemas.patients import CoverageCreate, PatientCreate
from ops_api.schemas.users import UserCreate
from ops_api.security import create_access_token
from ops_api.services import claims, encounters, org, patients, users
from pms.enums import Role

_counter = itertools.count(1)


def valid_npi(n: int) -> str:
    body = f"1{n:08d}"
    return body + luhn.calc_check_digit("80840" + body)


class Factory:
    def __init__(self, db: Session):
        self.db = db
        self._system = None

    @property
    def system(self) -> Principal:
        """An unscoped admin principal for arranging data."""
        if self._system is None:
            self._system = Principal(self.user("admin"))
        return self._system

    def _commit(self, obj):
        self.db.commit()
        return obj

    def user(self, role: str = "admin", facilities=None, provider=None) -> User:
        n = next(_counter)
        data = UserCreate(username=f"{role}{n}", password="correct-horse-9", role=role,
                          facility_ids=[f.id for f in facilities or []], provider_id=provider.id if provider else None)
        return self._commit(users.create_user(self.db, data))

    def facility(self, name: str | None = None, timezone: str = "America/New_York") -> Facility:
        n = next(_counter)
        return self._commit(org.create_facility(self.db, FacilityCreate(name=name or f"Clinic {n}", timezone=timezone)))

    def provider(self, facilities: list[Facility], **kw) -> Provider:
        n = next(_counter)
        data = ProviderCreate(npi=valid_npi(n), first_name=kw.pop("first_name", "Pat"),
                              last_name=kw.pop("last_name", f"Doc{n}"), specialty=kw.pop("specialty", "Family Medicine"),
                              facility_ids=[f.id for f in facilities], **kw)
        return self._commit(org.create_provider(self.db, data))

    def schedule(self, provider: Provider, facility: Facility, weekdays=range(7), start=time(0, 0), end=time(23, 59),
                 effective_from: date = date(2020, 1, 1)):
        """Default: available all day, every day, so booking tests are not about the template."""
        data = ScheduleIn(templates=[ScheduleTemplate(weekday=d, start_time=start, end_time=end, facility_id=facility.id,
                                                      effective_from=effective_from) for d in weekdays])
        return self._commit(org.replace_schedule(self.db, provider, data))

    def payer(self, kind: str = "commercial", name: str | None = None) -> Payer:
        n = next(_counter)
        return self._commit(org.create_payer(self.db, PayerCreate(name=name or f"Payer {n}", edi_payer_id=f"P{n:05d}",
                                                                  kind=kind)))

    def patient(self, facility: Facility, **kw) -> Patient:
        n = next(_counter)
        data = PatientCreate(first_name=kw.pop("first_name", f"Alex{n}"), last_name=kw.pop("last_name", f"Smith{n}"),
                             date_of_birth=kw.pop("date_of_birth", date(1980, 1, 1)), sex=kw.pop("sex", "F"),
                             facility_id=facility.id, **kw)
        return self._commit(patients.create_patient(self.db, self.system, data))

    def coverage(self, patient: Patient, payer: Payer, effective_from: date = date(2020, 1, 1), **kw):
        data = CoverageCreate(payer_id=payer.id, member_id=kw.pop("member_id", f"M{next(_counter):08d}"),
                              effective_from=effective_from, **kw)
        return self._commit(patients.create_coverage(self.db, self.system, patient.id, data))

    # -- billing: fees, visits, encounters, claims, remittances ----------------------------------------

    def headers(self, user: User | None = None) -> dict:
        """Bearer headers for `user` (default: the factory's own admin, saving a password hash per test)."""
        user = user or self.system.user
        return {"Authorization": f"Bearer {create_access_token(user.id, Role(user.role).value)}"}

    def staff_user(self, role: str = "biller", facilities=None, provider=None) -> User:
        """A user stored without hashing a password (argon2 costs ~0.5 s a user under load), for
        tests that sign requests with tokens and never log in."""
        n = next(_counter)
        user = User(username=f"{role}-{n}", password_hash="!no-login", role=role,
                    facility_ids=[str(f.id) for f in facilities or []], provider_id=provider.id if provider else None)
        self.db.add(user)
        return self._commit(user)

    def staff(self, role: str = "biller", facilities=None, provider=None) -> dict:
        """Bearer headers for a new token-only user of `role`."""
        return self.headers(self.staff_user(role, facilities, provider))

    def token_only(self) -> "Factory":
        """Make the factory's own admin a token-only user: one password hash fewer per test."""
        if self._system is None:
            self._system = Principal(self.staff_user("admin"))
        return self

    def practice(self, timezone: str = "America/New_York") -> SimpleNamespace:
        """A facility with a provider, a patient insured (primary, since 2020) by a commercial payer."""
        facility = self.facility(timezone=timezone)
        patient, payer = self.patient(facility), self.payer()
        return SimpleNamespace(facility=facility, provider=self.provider([facility]), patient=patient, payer=payer,
                               coverage=self.coverage(patient, payer))

    def fee(self, procedure_code: str = "99213", amount: str = "150.00", effective_from: date = date(2020, 1, 1),
            work_rvu: str = "1.30") -> FeeSchedule:
        data = FeeScheduleIn(procedure_code=procedure_code, description=f"Procedure {procedure_code}",
                             charge_amount=amount, work_rvu=work_rvu, effective_from=effective_from)
        return self._commit(org.upsert_fee(self.db, data))

    def appointment(self, patient: Patient, provider: Provider, facility: Facility, starts_at: datetime | None = None,
                    status: str = "completed") -> Appointment:
        """A visit row as it stands after the day (written directly: only its status matters to billing)."""
        starts_at = starts_at or datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
        appointment = Appointment(patient_id=patient.id, provider_id=provider.id, facility_id=facility.id,
                                  starts_at=starts_at, ends_at=starts_at.replace(minute=30),
                                  appointment_type="follow_up", status=status,
                                  booked_at=datetime(2025, 3, 1, tzinfo=UTC))
        self.db.add(appointment)
        return self._commit(appointment)

    def encounter(self, patient: Patient, provider: Provider, facility: Facility | None = None,
                  date_of_service: date = date(2025, 3, 10), diagnosis_codes=("E11.9",), lines=None,
                  appointment: Appointment | None = None) -> Encounter:
        """Default: one office visit (99213) for $150.00 pointing at the first diagnosis."""
        lines = lines or [{"procedure_code": "99213", "charge_amount": "150.00", "diagnosis_pointers": [1]}]
        data = EncounterCreate(appointment_id=appointment.id if appointment else None, patient_id=patient.id,
                               provider_id=provider.id, facility_id=facility.id if facility else patient.facility_id,
                               date_of_service=date_of_service, diagnosis_codes=list(diagnosis_codes), lines=lines)
        return self._commit(encounters.create_encounter(self.db, self.system, data))

    def claim(self, encounter: Encounter, coverage=None, status: str = "draft") -> Claim:
        """A claim walked through its lifecycle to draft, submitted or accepted."""
        claim = claims.create_claim(self.db, self.system, ClaimCreate(encounter_id=encounter.id,
                                                                      coverage_id=coverage.id if coverage else None))
        self.db.commit()
        if status in ("submitted", "accepted"):
            claims.submit(self.db, self.system, claim.id)
            self.db.commit()
        if status == "accepted":
            claims.change_status(self.db, self.system, claim.id, ClaimStatusIn(status="accepted"))
            self.db.commit()
        return claim

    def remit(self, claim: Claim, paid: str, adjustments=(), **kw) -> Remittance:
        """Post an 835 answer; `adjustments` as (group, reason, amount) triples."""
        data = RemittanceIn(paid_amount=paid, adjustments=[{"group_code": g, "reason_code": r, "amount": a}
                                                           for g, r, a in adjustments], **kw)
        remittance, _claim, _payment = claims.post_remittance(self.db, self.system, claim.id, data)
        return self._commit(remittance)
