"""A small practice with a known history, written through the ops service layer (so outbox, rules and
balance logic are the real ones), for the dbt marts tests.

Every scenario the KPI definitions care about happens at least once: clean and rejected-then-corrected
claims, a denial overturned on appeal, a denial written off, a partial payment, a late (back-dated)
remittance, an overpayment refunded, a self-pay visit, an unbilled insured visit, a voided claim,
unapplied money, a pending (not yet approved) adjustment, and appointments in every final status
including an early and a late cancellation. Times are frozen per action (`ops_api.clock.frozen_at`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_api.clock import frozen_at
from ops_api.models import (Adjustment, Appointment, Claim, ClaimStatusEvent, Encounter, EncounterLine, Facility, Patient,
                            Payment, Provider)
from ops_api.principal import Principal
from ops_api.schemas.appointments import AppointmentCreate, AppointmentUpdate
from ops_api.schemas.claims import ClaimCreate, ClaimStatusIn, RemittanceIn
from ops_api.schemas.encounters import EncounterCreate
from ops_api.schemas.org import ScheduleIn, ScheduleTemplate, TimeOff
from ops_api.schemas.payments import AdjustmentCreate, PaymentCreate
from ops_api.services import appointments, claims, encounters, org, payments
from pms.enums import AppointmentStatus, ClaimStatus
from tests.ops_api.factories import Factory

AS_OF = date(2026, 6, 30)  # the build's "today" (dbt var as_of_date)
FIRST_DAY = date(2026, 1, 5)


@dataclass
class Built:
    """Handles the tests look things up by."""

    facilities: dict[str, Facility] = field(default_factory=dict)
    providers: dict[str, Provider] = field(default_factory=dict)
    patients: dict[str, Patient] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    encounters: dict[str, Encounter] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)


class PracticeBuilder:
    def __init__(self, session: Session):
        self.db = session
        self.make = Factory(session)
        self.built = Built()

    # -- time ----------------------------------------------------------------------------------------

    def local(self, facility: Facility, day: date, at: time = time(10, 0)) -> datetime:
        return datetime.combine(day, at, tzinfo=ZoneInfo(facility.timezone)).astimezone(UTC)

    @contextmanager
    def on(self, facility: Facility, day: date, at: time = time(10, 0)):
        with frozen_at(self.local(facility, day, at)):
            yield
        self.db.commit()

    # -- set-up --------------------------------------------------------------------------------------

    def setup(self) -> None:
        with frozen_at(datetime(2025, 12, 1, tzinfo=UTC)):
            east = self.make.facility("East Clinic", timezone="America/New_York")
            west = self.make.facility("West Clinic", timezone="America/Los_Angeles")
            self.built.facilities.update(east=east, west=west)
            self.commercial = self.make.payer("commercial", name="Acme Health")
            self.medicare = self.make.payer("medicare", name="Medicare")
            self.self_pay = self.make.payer("self_pay", name="Self-pay")
            self.make.fee("99213", "150.00", work_rvu="1.30", effective_from=date(2025, 1, 1))
            self.make.fee("99213", "160.00", work_rvu="1.30", effective_from=date(2026, 4, 1))  # a fee change
            self.make.fee("99214", "220.00", work_rvu="1.92", effective_from=date(2025, 1, 1))
            self.make.fee("36415", "20.00", work_rvu="0.17", effective_from=date(2025, 1, 1))
            ada = self.make.provider([east], first_name="Ada", last_name="Byron")
            ben = self.make.provider([east, west], first_name="Ben", last_name="Casey")
            self.built.providers.update(ada=ada, ben=ben)
            # Ada: weekdays 08:00-16:00 at East. Ben: Mon-Wed East, Thu-Fri West, 09:00-17:00; a week off.
            self._schedule(ada, [(d, time(8), time(16), east) for d in range(5)])
            self._schedule(ben, [(d, time(9), time(17), east if d < 3 else west) for d in range(5)],
                           time_off=[(datetime(2026, 2, 16, 14, tzinfo=UTC), datetime(2026, 2, 21, 2, tzinfo=UTC))])
            for name, facility, payer in [
                ("ann", east, self.commercial), ("bob", east, self.commercial), ("cat", east, self.medicare),
                ("dan", east, self.commercial), ("eve", west, self.commercial), ("fay", west, self.medicare),
                ("gus", east, None), ("hal", west, self.commercial), ("ivy", east, self.commercial),
            ]:
                patient = self.make.patient(facility, first_name=name.title(), last_name="Tester",
                                            date_of_birth=date(1950 + len(self.built.patients) * 7, 5, 17))
                if payer is not None:
                    self.make.coverage(patient, payer, effective_from=date(2024, 1, 1))
                self.built.patients[name] = patient
            # Gus is self-pay: a self-pay "coverage" is not insurance.
            self.make.coverage(self.built.patients["gus"], self.self_pay, effective_from=date(2024, 1, 1))

    def _schedule(self, provider: Provider, templates, time_off=()) -> None:
        """Templates are (weekday, start, end, facility[, effective_from, effective_to]): from 2025 by default."""
        rows = []
        for weekday, start, end, facility, *effective in templates:
            since, until = effective or (date(2025, 1, 1), None)
            rows.append(ScheduleTemplate(weekday=weekday, start_time=start, end_time=end, facility_id=facility.id,
                                         effective_from=since, effective_to=until))
        data = ScheduleIn(
            templates=rows,
            time_off=[TimeOff(starts_at=s, ends_at=e, reason="vacation") for s, e in time_off])
        org.replace_schedule(self.db, provider, data)
        self.db.commit()

    # -- building blocks ------------------------------------------------------------------------------

    @property
    def system(self):
        return self.make.system

    def visit(self, key: str, patient: str, provider: str, facility: str, day: date, lines=None,
              start: time = time(10, 0), booked_days_before: int = 7) -> Encounter:
        """Book, check in, complete and chart one visit on `day`."""
        fac, prov, pat = self.built.facilities[facility], self.built.providers[provider], self.built.patients[patient]
        appointment = self.book(key, patient, provider, facility, day, start, booked_days_before)
        with self.on(fac, day - timedelta(days=1), time(9, 0)):
            appointments.move_status(self.db, self.system, appointment.id, AppointmentStatus.confirmed)
        with self.on(fac, day, (datetime.combine(day, start) - timedelta(minutes=10)).time()):
            appointments.move_status(self.db, self.system, appointment.id, AppointmentStatus.checked_in)
        with self.on(fac, day, (datetime.combine(day, start) + timedelta(minutes=30)).time()):
            appointments.move_status(self.db, self.system, appointment.id, AppointmentStatus.completed)
            lines = lines or [{"procedure_code": "99213", "diagnosis_pointers": [1]}]
            encounter = encounters.create_encounter(self.db, self.system, EncounterCreate(
                appointment_id=appointment.id, patient_id=pat.id, provider_id=prov.id, facility_id=fac.id,
                date_of_service=day, diagnosis_codes=["E11.9", "I10"], lines=lines))
        self.built.encounters[key] = encounter
        return encounter

    def book(self, key: str, patient: str, provider: str, facility: str, day: date, start: time = time(10, 0),
             booked_days_before: int = 7, minutes: int = 30) -> Appointment:
        fac = self.built.facilities[facility]
        starts_at = self.local(fac, day, start)
        with self.on(fac, day - timedelta(days=booked_days_before), time(9, 0)):
            appointment, _ = appointments.book(self.db, self.system, AppointmentCreate(
                patient_id=self.built.patients[patient].id, provider_id=self.built.providers[provider].id,
                facility_id=fac.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                appointment_type="follow_up"))
        self.built.appointments[key] = appointment
        return appointment

    def appointment_status(self, key: str, status: str, when: datetime) -> None:
        with frozen_at(when):
            appointments.move_status(self.db, self.system, self.built.appointments[key].id, AppointmentStatus(status))
        self.db.commit()

    def claim(self, key: str, encounter: Encounter, day: date) -> Claim:
        fac = self.db.get(Facility, encounter.facility_id)
        with self.on(fac, day, time(11, 0)):
            claim = claims.create_claim(self.db, self.system, ClaimCreate(encounter_id=encounter.id))
        self.built.claims[key] = claim
        return claim

    def _fac(self, claim: Claim) -> Facility:
        return self.db.get(Facility, claim.facility_id)

    def submit(self, claim: Claim, day: date) -> None:
        with self.on(self._fac(claim), day, time(12, 0)):
            claims.submit(self.db, self.system, claim.id)

    def status(self, claim: Claim, status: str, day: date, note: str | None = None) -> None:
        with self.on(self._fac(claim), day, time(13, 0)):
            claims.change_status(self.db, self.system, claim.id, ClaimStatusIn(status=ClaimStatus(status), note=note))

    def remit(self, claim: Claim, day: date, paid: str, adjustments=(), denial=None, posted: date | None = None,
              **kw) -> None:
        """An 835 answer received on `day`, posted on `posted` (default the same day: a late posting
        back-dates received_at)."""
        data = RemittanceIn(paid_amount=paid, received_at=self.local(self._fac(claim), day, time(8, 0)),
                            adjustments=[{"group_code": g, "reason_code": r, "amount": a} for g, r, a in adjustments],
                            denial=denial, **kw)
        with self.on(self._fac(claim), posted or day, time(14, 0)):
            claims.post_remittance(self.db, self.system, claim.id, data)

    def pay(self, patient: str, amount: str, day: date, claim: Claim | None = None, source: str = "patient",
            method: str = "card") -> None:
        pat = self.built.patients[patient]
        fac = self.db.get(Facility, claim.facility_id if claim else pat.facility_id)
        with self.on(fac, day, time(15, 0)):
            payments.create_payment(self.db, self.system, PaymentCreate(
                patient_id=pat.id, claim_id=claim.id if claim else None, source=source, method=method,
                amount=amount))

    def adjust(self, patient: str, kind: str, amount: str, day: date, claim: Claim | None = None,
               approve_on: date | None = None) -> None:
        pat = self.built.patients[patient]
        fac = self.db.get(Facility, claim.facility_id if claim else pat.facility_id)
        with self.on(fac, day, time(16, 0)):
            adjustment = payments.create_adjustment(self.db, self.system, AdjustmentCreate(
                patient_id=pat.id, claim_id=claim.id if claim else None, kind=kind, amount=amount,
                reason=f"{kind} (test)"))
        if approve_on is not None:  # above the approval limit: another admin approves it
            approver = self.make.user("admin")
            with self.on(fac, approve_on, time(16, 30)):
                payments.decide_adjustment(self.db, Principal(approver), adjustment.id, approve=True)

    # -- the history ----------------------------------------------------------------------------------

    def build(self) -> Built:
        self.setup()
        d = date
        # 1. Clean claim, paid with coinsurance, patient pays the rest: balance 0.
        e = self.visit("clean", "ann", "ada", "east", d(2026, 1, 6))
        c = self.claim("clean", e, d(2026, 1, 7))
        self.submit(c, d(2026, 1, 7))
        self.status(c, "accepted", d(2026, 1, 8))
        self.remit(c, d(2026, 1, 26), "100.00", [("CO", "45", "20.00"), ("PR", "2", "30.00")])
        self.pay("ann", "30.00", d(2026, 2, 10), claim=c)

        # 2. Rejected by the clearinghouse, corrected, resubmitted, accepted, paid: not clean.
        e = self.visit("corrected", "bob", "ada", "east", d(2026, 1, 13), lines=[
            {"procedure_code": "99214", "diagnosis_pointers": [1, 2]},
            {"procedure_code": "36415", "diagnosis_pointers": [1]}])
        c = self.claim("corrected", e, d(2026, 1, 14))
        self.submit(c, d(2026, 1, 14))
        self.status(c, "rejected", d(2026, 1, 15), note="invalid member id")
        self.status(c, "draft", d(2026, 1, 16), note="corrected member id")
        self.submit(c, d(2026, 1, 16))
        self.status(c, "accepted", d(2026, 1, 17))
        self.remit(c, d(2026, 2, 9), "180.00", [("CO", "45", "40.00"), ("PR", "3", "20.00")])
        # (Bob never pays his 20.00: patient A/R that ages into 121+.)

        # 3. Denied, appealed, then paid on appeal (an overturned denial).
        e = self.visit("appealed", "cat", "ben", "east", d(2026, 1, 20))
        c = self.claim("appealed", e, d(2026, 1, 21))
        self.submit(c, d(2026, 1, 21))
        self.status(c, "accepted", d(2026, 1, 22))
        self.remit(c, d(2026, 2, 5), "0.00", [("CO", "197", "150.00")],
                   denial={"group_code": "CO", "reason_code": "197", "remark_codes": ["N130"]})
        self.status(c, "appealed", d(2026, 2, 12), note="authorization was on file")
        self.remit(c, d(2026, 3, 10), "120.00", [("CO", "45", "30.00")])

        # 4. Denied, then written off (approved above the limit by an admin).
        e = self.visit("written_off", "dan", "ada", "east", d(2026, 2, 3), lines=[
            {"procedure_code": "99214", "diagnosis_pointers": [1]},
            {"procedure_code": "99213", "diagnosis_pointers": [2], "charge_amount": "400.00"}])
        c = self.claim("written_off", e, d(2026, 2, 4))
        self.submit(c, d(2026, 2, 4))
        self.status(c, "accepted", d(2026, 2, 5))
        self.remit(c, d(2026, 2, 25), "0.00", [("CO", "50", "620.00")],
                   denial={"group_code": "CO", "reason_code": "50", "remark_codes": []})
        self.adjust("dan", "write_off", "620.00", d(2026, 3, 2), claim=c, approve_on=d(2026, 3, 4))
        self.status(c, "closed", d(2026, 3, 5))

        # 5. Accepted, awaiting the payer: its answer arrives late (see late_changes).
        e = self.visit("late_remit", "eve", "ben", "west", d(2026, 3, 5))
        c = self.claim("late_remit", e, d(2026, 3, 6))
        self.submit(c, d(2026, 3, 6))
        self.status(c, "accepted", d(2026, 3, 7))

        # 6. Partially paid (paid with a line denied), the patient overpays, the excess is refunded.
        e = self.visit("refund", "fay", "ben", "west", d(2026, 3, 12), lines=[
            {"procedure_code": "99213", "diagnosis_pointers": [1]},
            {"procedure_code": "36415", "diagnosis_pointers": [1]}])
        c = self.claim("refund", e, d(2026, 3, 13))
        self.submit(c, d(2026, 3, 13))
        self.status(c, "accepted", d(2026, 3, 14))
        self.remit(c, d(2026, 4, 1), "100.00", [("CO", "45", "30.00"), ("CO", "97", "20.00"), ("PR", "2", "20.00")],
                   denial={"group_code": "CO", "reason_code": "97", "remark_codes": ["M15"]})
        self.pay("fay", "50.00", d(2026, 4, 10), claim=c)  # owed 20.00: a 30.00 credit
        self.adjust("fay", "refund", "30.00", d(2026, 4, 20), claim=c)

        # 7. Self-pay visit (no insurance): patient A/R from the date of service, partly paid.
        self.visit("self_pay", "gus", "ada", "east", d(2026, 4, 7))
        self.pay("gus", "50.00", d(2026, 4, 7))

        # 8. Insured visit not billed yet: insurance A/R from the date of service.
        self.visit("unbilled", "hal", "ben", "west", d(2026, 6, 25))

        # 9. A draft claim voided and re-billed: the visit's charge counts once.
        e = self.visit("voided", "ivy", "ada", "east", d(2026, 5, 4))
        c = self.claim("voided_first", e, d(2026, 5, 5))
        self.status(c, "void", d(2026, 5, 6), note="duplicate")
        c = self.claim("rebilled", e, d(2026, 5, 6))
        self.submit(c, d(2026, 5, 6))
        self.status(c, "accepted", d(2026, 5, 7))   # still awaiting the payer on AS_OF

        # 10. Unapplied patient money, and an adjustment still waiting for approval (not posted).
        self.pay("ivy", "40.00", d(2026, 5, 20))
        self.adjust("ivy", "discount", "900.00", d(2026, 6, 1), claim=c)

        # 11. Appointments in every final status, incl. an early and a late cancellation.
        self.book("no_show", "ann", "ada", "east", d(2026, 6, 2), time(9, 0))
        self.appointment_status("no_show", "no_show",
                                self.local(self.built.facilities["east"], d(2026, 6, 2), time(9, 30)))
        self.book("early_cancel", "bob", "ada", "east", d(2026, 6, 3), time(9, 0))
        self.appointment_status("early_cancel", "cancelled",
                                self.local(self.built.facilities["east"], d(2026, 5, 30), time(12, 0)))
        self.book("late_cancel", "cat", "ben", "east", d(2026, 6, 3), time(11, 0))
        self.appointment_status("late_cancel", "cancelled",
                                self.local(self.built.facilities["east"], d(2026, 6, 2), time(17, 0)))
        self.book("checked_in", "dan", "ada", "east", d(2026, 6, 29), time(14, 0))
        self.appointment_status("checked_in", "confirmed",
                                self.local(self.built.facilities["east"], d(2026, 6, 28), time(10, 0)))
        self.appointment_status("checked_in", "checked_in",
                                self.local(self.built.facilities["east"], d(2026, 6, 29), time(13, 55)))
        self.book("upcoming", "eve", "ben", "west", d(2026, 7, 9), time(10, 0), booked_days_before=10)
        return self.built

    def late_changes(self) -> None:
        """What arrives after the first build and rewrites history (the incremental marts must follow):
        a remittance received 2026-03-20 but posted on AS_OF, a patient payment back-dated to 2026-02-20,
        an upcoming visit moved to another month, a schedule replaced from mid-June (its old rows deleted), the partial
        payment's denied line written off, a visit and its claims moved to another month, a payment and
        an adjustment deleted, and a status move's note and a charge line's modifiers corrected."""
        d = date
        east, west = self.built.facilities["east"], self.built.facilities["west"]
        c = self.built.claims["late_remit"]
        self.remit(c, d(2026, 3, 20), "100.00", [("CO", "45", "25.00"), ("PR", "1", "25.00")], posted=AS_OF)
        with self.on(east, AS_OF, time(15, 0)):
            payments.create_payment(self.db, self.system, PaymentCreate(
                patient_id=self.built.patients["bob"].id, claim_id=self.built.claims["corrected"].id,
                source="patient", method="check", amount="20.00",
                received_at=self.local(east, d(2026, 2, 20), time(11, 0))))
        with self.on(west, AS_OF, time(16, 0)):
            starts_at = self.local(west, d(2026, 8, 6), time(10, 0))
            appointments.reschedule(self.db, self.system, self.built.appointments["upcoming"].id,
                                    AppointmentUpdate(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30)))
        with frozen_at(self.local(east, AS_OF, time(17, 0))):
            # from 2026-06-15 Ada works until 17:00 (her earlier weeks keep their hours)
            self._schedule(self.built.providers["ada"],
                           [(wd, time(8), time(16), east, d(2025, 1, 1), d(2026, 6, 14)) for wd in range(5)]
                           + [(wd, time(8), time(17), east, d(2026, 6, 15), None) for wd in range(5)])
        self.adjust("fay", "write_off", "20.00", AS_OF, claim=self.built.claims["refund"])  # its CO-97 denial
        # Corrections made in the operational store (no service does these): Ivy's visit moves back to
        # April (both its claims leave May), and her unapplied payment and pending discount are deleted.
        ivy = self.built.patients["ivy"]
        with self.on(east, AS_OF, time(18, 0)):
            self.built.encounters["voided"].date_of_service = d(2026, 4, 28)
            for model in (Payment, Adjustment):
                for row in self.db.scalars(select(model).where(model.patient_id == ivy.id)):
                    if model is Adjustment or row.claim_id is None:
                        self.db.delete(row)
            self.db.flush()
        # New versions of child rows staged by the first build (staging sorts these tables by their parent's
        # key and must still find and replace them): a status move's note corrected, a modifier added to a line.
        late = self.built.claims["late_remit"]
        with self.on(east, AS_OF, time(18, 30)):
            event = self.db.scalars(select(ClaimStatusEvent).where(ClaimStatusEvent.claim_id == late.id)).first()
            event.note = "corrected: payer confirmed receipt by phone"
            line = self.db.scalars(select(EncounterLine).where(EncounterLine.encounter_id == late.encounter_id)).first()
            line.modifiers = [*line.modifiers, "25"]
            self.db.flush()
