"""The service-layer writer: each op is one service call under the simulated clock and the seeded
id source, so every business rule, status machine and outbox hook applies as for an API request.

Transactions: ops are committed in batches (a failed op aborts the run; the stream is valid by
construction, so a failure is a bug in the simulator or a service). Batching changes neither the
rows nor the outbox order.
"""

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from ops_api.clock import frozen_at, id_source
from ops_api.models import Provider, User
from ops_api.principal import Principal
from ops_api.schemas.appointments import AppointmentCreate, AppointmentUpdate
from ops_api.schemas.claims import AdjustmentIn, ClaimCreate, ClaimStatusIn, DenialIn, RemittanceIn
from ops_api.schemas.encounters import EncounterCreate, EncounterLineIn
from ops_api.schemas.org import (FacilityCreate, FeeScheduleIn, PayerCreate, ProviderCreate, ScheduleIn,
                                 ScheduleTemplate, TimeOff)
from ops_api.schemas.patients import CoverageCreate, PatientCreate
from ops_api.schemas.payments import AdjustmentCreate, PaymentCreate
from ops_api.services import appointments, claims, encounters, org, patients, payments
from pms.enums import AppointmentStatus

from simulator import ops
from simulator.ids import Ids
from simulator.writers.common import NO_LOGIN

BATCH = 500


class ServiceWriter:
    def __init__(self, session: Session, ids: Ids):
        self.session = session
        self.ids = ids
        self.principals: dict[ops.Ref, Principal] = {}

    def write(self, stream: Iterable[ops.Op], progress: Callable[[ops.Op], None] | None = None) -> None:
        with id_source(self.ids):
            for n, op in enumerate(stream, 1):
                with frozen_at(op.at):
                    getattr(self, type(op).__name__)(op)
                if n % BATCH == 0:
                    self.session.commit()
                if progress:
                    progress(op)
            self.session.commit()

    def _principal(self, ref: ops.Ref) -> Principal:
        return self.principals[ref]

    # -- set-up --

    def CreateFacility(self, op: ops.CreateFacility) -> None:
        op.ref.id = org.create_facility(self.session, FacilityCreate(
            name=op.name, timezone=op.timezone, address=op.address, pos_code=op.pos_code)).id

    def CreatePayer(self, op: ops.CreatePayer) -> None:
        op.ref.id = org.create_payer(self.session, PayerCreate(name=op.name, edi_payer_id=op.edi_payer_id,
                                                               kind=op.kind)).id

    def SetFee(self, op: ops.SetFee) -> None:
        org.upsert_fee(self.session, FeeScheduleIn(procedure_code=op.procedure_code, description=op.description,
                                                   charge_amount=op.charge_amount, work_rvu=op.work_rvu,
                                                   effective_from=op.effective_from))

    def CreateProvider(self, op: ops.CreateProvider) -> None:
        op.ref.id = org.create_provider(self.session, ProviderCreate(
            npi=op.npi, first_name=op.first_name, last_name=op.last_name, specialty=op.specialty,
            facility_ids=[f.id for f in op.facilities])).id

    def CreateUser(self, op: ops.CreateUser) -> None:
        # Not through services.users: that hashes a real password (random salt) and draws a random id.
        user = User(id=self.ids("users"), username=op.username, password_hash=NO_LOGIN, role=op.role,
                    facility_ids=[str(f.id) for f in op.facilities],
                    provider_id=op.provider.id if op.provider else None)
        self.session.add(user)
        self.session.flush()
        op.ref.id = user.id
        self.principals[op.ref] = Principal(user)

    def SetSchedule(self, op: ops.SetSchedule) -> None:
        provider = self.session.get(Provider, op.provider.id)
        data = ScheduleIn(
            templates=[ScheduleTemplate(weekday=d, start_time=s, end_time=e, facility_id=f.id, effective_from=since)
                       for d, s, e, f, since in op.templates],
            time_off=[TimeOff(starts_at=a, ends_at=b, reason=why) for a, b, why in op.time_off])
        org.replace_schedule(self.session, provider, data)

    # -- front desk --

    def RegisterPatient(self, op: ops.RegisterPatient) -> None:
        data = PatientCreate(first_name=op.first_name, last_name=op.last_name, date_of_birth=op.date_of_birth,
                             sex=op.sex, phone=op.phone, email=op.email, address=op.address,
                             preferred_contact=op.preferred_contact, facility_id=op.facility.id)
        op.ref.id = patients.create_patient(self.session, self._principal(op.actor), data, allow_duplicate=True).id

    def AddCoverage(self, op: ops.AddCoverage) -> None:
        data = CoverageCreate(payer_id=op.payer.id, member_id=op.member_id, group_number=op.group_number,
                              effective_from=op.effective_from)
        op.ref.id = patients.create_coverage(self.session, self._principal(op.actor), op.patient.id, data).id

    def Book(self, op: ops.Book) -> None:
        data = AppointmentCreate(patient_id=op.patient.id, provider_id=op.provider.id, facility_id=op.facility.id,
                                 starts_at=op.starts_at, ends_at=op.ends_at, appointment_type=op.appointment_type,
                                 reason=op.reason,
                                 rescheduled_from_id=op.rescheduled_from.id if op.rescheduled_from else None)
        op.ref.id = appointments.book(self.session, self._principal(op.actor), data)[0].id

    def SendReminder(self, op: ops.SendReminder) -> None:
        appointments.reschedule(self.session, self._principal(op.actor), op.appointment.id,
                                AppointmentUpdate(reminder_sent_at=op.at))

    def MoveAppointment(self, op: ops.MoveAppointment) -> None:
        appointments.move_status(self.session, self._principal(op.actor), op.appointment.id,
                                 AppointmentStatus(op.status))

    # -- clinical and billing --

    def RecordEncounter(self, op: ops.RecordEncounter) -> None:
        data = EncounterCreate(
            appointment_id=op.appointment.id, patient_id=op.patient.id, provider_id=op.provider.id,
            facility_id=op.facility.id, date_of_service=op.date_of_service, diagnosis_codes=op.diagnosis_codes,
            lines=[EncounterLineIn(procedure_code=code, modifiers=list(mods), units=units,
                                   diagnosis_pointers=list(pointers)) for code, units, mods, pointers in op.lines])
        op.ref.id = encounters.create_encounter(self.session, self._principal(op.actor), data).id

    def CreateClaim(self, op: ops.CreateClaim) -> None:
        op.ref.id = claims.create_claim(self.session, self._principal(op.actor),
                                        ClaimCreate(encounter_id=op.encounter.id, coverage_id=op.coverage.id)).id

    def SubmitClaim(self, op: ops.SubmitClaim) -> None:
        claims.submit(self.session, self._principal(op.actor), op.claim.id)

    def MoveClaim(self, op: ops.MoveClaim) -> None:
        claims.change_status(self.session, self._principal(op.actor), op.claim.id,
                             ClaimStatusIn(status=op.status, note=op.note))

    def PostRemittance(self, op: ops.PostRemittance) -> None:
        denial = None
        if op.denial:
            denial = DenialIn(group_code=op.denial[0], reason_code=op.denial[1], remark_codes=op.denial[2])
        data = RemittanceIn(paid_amount=op.paid_amount, allowed_amount=op.allowed_amount,
                            adjustments=[AdjustmentIn(group_code=g, reason_code=r, amount=a)
                                         for g, r, a in op.adjustments],
                            remark_codes=op.remark_codes, payment_reference=op.payment_reference, denial=denial)
        claims.post_remittance(self.session, self._principal(op.actor), op.claim.id, data)

    def PatientPayment(self, op: ops.PatientPayment) -> None:
        payments.create_payment(self.session, self._principal(op.actor), PaymentCreate(
            patient_id=op.patient.id, claim_id=op.claim.id if op.claim else None, source="patient", method=op.method,
            amount=op.amount, reference=op.reference))

    def RequestAdjustment(self, op: ops.RequestAdjustment) -> None:
        op.ref.id = payments.create_adjustment(self.session, self._principal(op.actor), AdjustmentCreate(
            patient_id=op.patient.id, claim_id=op.claim.id if op.claim else None, kind=op.kind, amount=op.amount,
            reason=op.reason)).id

    def DecideAdjustment(self, op: ops.DecideAdjustment) -> None:
        payments.decide_adjustment(self.session, self._principal(op.actor), op.adjustment.id, op.approve)

