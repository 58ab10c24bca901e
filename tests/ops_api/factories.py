"""Valid rows for tests, built through the ops service layer (so outbox and rules apply)."""

import itertools
from datetime import date, time

from sqlalchemy.orm import Session
from stdnum import luhn

from ops_api.models import Facility, Patient, Payer, Provider, User
from ops_api.principal import Principal
from ops_api.schemas.org import FacilityCreate, PayerCreate, ProviderCreate, ScheduleIn, ScheduleTemplate
from ops_api.schemas.patients import CoverageCreate, PatientCreate
from ops_api.schemas.users import UserCreate
from ops_api.services import org, patients, users

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
