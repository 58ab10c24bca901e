"""The bulk writer: the rows and outbox events the service layer would write, derived without it and
written set-wise.

Each handler mirrors one service function: the same values, the same flushes (an op's events are
grouped as the service's `session.flush()` calls group them) and so the same ids, timestamps and
outbox payloads in the same order. Normalisations the services get from their pydantic schemas
(patients, coverages, facilities, providers) are applied by building the same schemas. The
equality test (tests/simulator/test_paths.py) compares both paths column by column.

Rows are kept in memory while they can still change. Every insert and change is recorded as the
row's values at that moment (a tuple; column values are never changed in place, only replaced, so
the tuple stays true), and every `batch` ops those events go to a loader process (sink.py), which
turns each into its outbox row (seq assigned by the database, in order) and writes each row's last
values table by table, parents first (new rows inserted; rows an earlier batch wrote brought to
their latest version by INSERT ... ON CONFLICT (id) DO UPDATE), while the simulation goes on.
"""

import gc
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from ops_api import codes
from ops_api.models import (Adjustment, Appointment, AppointmentStatusEvent, Base, Claim, ClaimLine,
                            ClaimStatusEvent, Counter, Coverage, Encounter, EncounterDiagnosis, EncounterLine,
                            Facility, FeeSchedule, Patient, Payer, Payment, Provider, ProviderFacility,
                            ProviderSchedule, ProviderTimeOff, Remittance, RemittanceAdjustment)
from ops_api.models.types import to_money
from ops_api.schemas.org import FacilityCreate, PayerCreate, ProviderCreate
from ops_api.schemas.patients import CoverageCreate, PatientCreate
from pms.settings import get_settings

from simulator import ops
from simulator.ids import Ids
from simulator.writers.common import NO_LOGIN
from simulator.writers.deferred import deferred_keys
from simulator.writers.rows import RowStore
from simulator.writers.sink import Loader

ZERO = Decimal("0.00")
TERMINAL = frozenset({"completed", "cancelled", "no_show"})  # no later op reads the appointment's row
BATCH = 100_000  # ops per batch: a few days of a large practice, so most rows that change are still in the batch


class BulkWriter:
    def __init__(self, engine: Engine, ids: Ids, batch: int | None = None):
        self.engine = engine
        self.ids = ids
        self.store = RowStore(ids)
        self.spec = self.store.specs
        self.batch = batch or BATCH
        self.rows: dict[ops.Ref, dict] = {}  # current row of the entities later ops read, while they can change
        self.lines: dict[ops.Ref, list[dict]] = {}  # an encounter's line rows, until its claim copies them
        self.facility_of: dict[ops.Ref, str] = {}  # patient → facility (patients and coverages are not kept whole)
        self.payer_of: dict[ops.Ref, str] = {}  # coverage → payer
        self.fees: dict[str, list[tuple[date, Decimal]]] = {}
        self.fee_on: dict[tuple[str, date], Decimal] = {}
        self.patients = 0
        self.limit = get_settings().adjustment_approval_limit
        self.upsert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)

    # -- driving --

    def write(self, stream: Iterable[ops.Op], progress: Callable[[ops.Op], None] | None = None) -> None:
        """Without the cyclic garbage collector: the simulation and the rows make no reference cycles
        (tests/simulator/test_cycles.py), and on millions of live rows its passes took a fifth of
        the writer's CPU. Reference counting still frees everything."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._write(stream, progress)
        finally:
            if collecting:
                gc.enable()

    def _write(self, stream: Iterable[ops.Op], progress: Callable[[ops.Op], None] | None) -> None:
        with deferred_keys(self.engine):
            loader = Loader(self.engine.url.render_as_string(hide_password=False))
            handlers = {kind: getattr(self, kind.__name__) for kind in ops.Op.__subclasses__()}  # one per op kind
            try:
                for n, op in enumerate(stream, 1):
                    handlers[type(op)](op)
                    if n % self.batch == 0:
                        loader.put(self.store.take())
                    if progress:
                        progress(op)
                loader.put(self.store.take())
            finally:
                loader.close()
        with self.engine.begin() as conn:
            conn.execute(self.upsert(Counter).values(name="mrn", value=self.patients)
                         .on_conflict_do_update(index_elements=["name"], set_={"value": self.patients}))
            # Planner statistics now, not whenever autovacuum gets to tables that grew from nothing:
            # without them PostgreSQL scans the whole outbox for the replicator's `seq > n` reads.
            if conn.dialect.name == "postgresql":
                for table in Base.metadata.sorted_tables:
                    conn.exec_driver_sql(f"ANALYZE {table.name}")
            else:
                conn.exec_driver_sql("ANALYZE")

    def _row(self, ref: ops.Ref) -> dict:
        return self.rows[ref]

    def _insert_one(self, op: ops.Op, model, ref: ops.Ref | None = None, **values) -> dict:
        spec = self.spec[model]
        row = self.store.insert(op.at, spec, spec.new(**values))
        if ref is not None:
            ref.id = row["id"]
            self.rows[ref] = row
        return row

    # -- set-up --

    def CreateFacility(self, op: ops.CreateFacility) -> None:
        data = FacilityCreate(name=op.name, timezone=op.timezone, address=op.address, pos_code=op.pos_code)
        self._insert_one(op, Facility, op.ref, **data.model_dump(mode="json"))

    def CreatePayer(self, op: ops.CreatePayer) -> None:
        data = PayerCreate(name=op.name, edi_payer_id=op.edi_payer_id, kind=op.kind)
        self._insert_one(op, Payer, op.ref, **data.model_dump())

    def SetFee(self, op: ops.SetFee) -> None:
        self._insert_one(op, FeeSchedule, procedure_code=op.procedure_code, description=op.description,
                         charge_amount=op.charge_amount, work_rvu=op.work_rvu, effective_from=op.effective_from)
        fees = self.fees.setdefault(op.procedure_code, [])
        fees.append((op.effective_from, op.charge_amount))
        fees.sort()
        self.fee_on.clear()

    def CreateProvider(self, op: ops.CreateProvider) -> None:
        data = ProviderCreate(npi=op.npi, first_name=op.first_name, last_name=op.last_name, specialty=op.specialty,
                              facility_ids=[f.id for f in op.facilities])
        link_spec = self.spec[ProviderFacility]
        provider = self.spec[Provider].new(**data.model_dump(exclude={"facility_ids"}))
        links = [link_spec.new(provider_id=None, facility_id=str(f)) for f in dict.fromkeys(data.facility_ids)]
        # One ORM flush writes the provider, then its links: split here only to hand the links its id.
        self.store.insert(op.at, self.spec[Provider], provider)
        for link in links:
            link["provider_id"] = provider["id"]
            self.store.insert(op.at, link_spec, link)
        op.ref.id = provider["id"]

    def CreateUser(self, op: ops.CreateUser) -> None:
        op.ref.id = self.ids.text("users")
        self.store.insert_quietly(Base.metadata.tables["users"], {
            "id": op.ref.id, "username": op.username, "password_hash": NO_LOGIN, "role": op.role,
            "provider_id": op.provider.id if op.provider else None, "facility_ids": [f.id for f in op.facilities],
            "active": True, "created_at": op.at, "updated_at": op.at})

    def SetSchedule(self, op: ops.SetSchedule) -> None:
        provider_id = op.provider.id
        schedule, time_off = self.spec[ProviderSchedule], self.spec[ProviderTimeOff]
        # One ORM flush: the templates, then the time off (flush order).
        for d, s, e, f, since in op.templates:
            self.store.insert(op.at, schedule, schedule.new(
                provider_id=provider_id, weekday=d, start_time=s, end_time=e, facility_id=f.id,
                effective_from=since, effective_to=None))
        for a, b, why in op.time_off:
            self.store.insert(op.at, time_off, time_off.new(provider_id=provider_id, starts_at=a, ends_at=b,
                                                            reason=why))

    # -- front desk --

    def RegisterPatient(self, op: ops.RegisterPatient) -> None:
        data = PatientCreate(first_name=op.first_name, last_name=op.last_name, date_of_birth=op.date_of_birth,
                             sex=op.sex, phone=op.phone, email=op.email, address=op.address,
                             preferred_contact=op.preferred_contact, facility_id=op.facility.id)
        self.patients += 1
        values = data.model_dump(mode="json", exclude={"date_of_birth", "facility_id"})
        row = self._insert_one(op, Patient, mrn=f"MRN{self.patients:08d}", **values,
                               date_of_birth=data.date_of_birth, facility_id=op.facility.id)
        op.ref.id = row["id"]
        self.facility_of[op.ref] = op.facility.id

    def AddCoverage(self, op: ops.AddCoverage) -> None:
        data = CoverageCreate(payer_id=op.payer.id, member_id=op.member_id, group_number=op.group_number,
                              effective_from=op.effective_from)
        row = self._insert_one(op, Coverage, patient_id=op.patient.id, **data.model_dump(exclude={"payer_id"}),
                               payer_id=op.payer.id)
        op.ref.id = row["id"]
        self.payer_of[op.ref] = op.payer.id

    def _status_event(self, op, appointment_id, source, target) -> None:
        """Inserted after the appointment's own change: its table comes later in flush order."""
        spec = self.spec[AppointmentStatusEvent]
        self.store.insert(op.at, spec, spec.new(appointment_id=appointment_id, from_status=source, to_status=target,
                                                occurred_at=op.at, user_id=op.actor.id))

    def Book(self, op: ops.Book) -> None:
        if op.rescheduled_from is not None:
            old = self._row(op.rescheduled_from)
            source = old["status"]
            self.store.update(op.at, self.spec[Appointment], old, {"status": "cancelled", "status_changed_at": op.at})
            self._status_event(op, old["id"], source, "cancelled")
            del self.rows[op.rescheduled_from]
        row = self._insert_one(op, Appointment, op.ref, status="scheduled", booked_at=op.at, status_changed_at=op.at,
                               patient_id=op.patient.id, provider_id=op.provider.id, facility_id=op.facility.id,
                               starts_at=op.starts_at, ends_at=op.ends_at, appointment_type=op.appointment_type,
                               reason=op.reason,
                               rescheduled_from_id=op.rescheduled_from.id if op.rescheduled_from else None)
        self._status_event(op, row["id"], None, "scheduled")

    def SendReminder(self, op: ops.SendReminder) -> None:
        self.store.update(op.at, self.spec[Appointment], self._row(op.appointment), {"reminder_sent_at": op.at})

    def MoveAppointment(self, op: ops.MoveAppointment) -> None:
        row = self._row(op.appointment)
        source = row["status"]
        self.store.update(op.at, self.spec[Appointment], row, {"status": op.status, "status_changed_at": op.at})
        self._status_event(op, row["id"], source, op.status)
        if op.status in TERMINAL:
            del self.rows[op.appointment]

    # -- clinical and billing --

    def _fee(self, code: str, day: date) -> Decimal:
        """The fee in force on `day` (remembered per code and day until the next fee change)."""
        key = (code, day)
        fee = self.fee_on.get(key)
        if fee is None:
            fee = self.fee_on[key] = next(charge for since, charge in reversed(self.fees[code]) if since <= day)
        return fee

    def RecordEncounter(self, op: ops.RecordEncounter) -> None:
        spec, insert = self.spec, self.store.insert
        diagnosis, line = spec[EncounterDiagnosis], spec[EncounterLine]
        # One ORM flush: the encounter, then its diagnoses, then its lines (flush order).
        encounter = insert(op.at, spec[Encounter], spec[Encounter].new(
            appointment_id=op.appointment.id, patient_id=op.patient.id, provider_id=op.provider.id,
            facility_id=op.facility.id, date_of_service=op.date_of_service))
        encounter_id = encounter["id"]
        for i, code in enumerate(op.diagnosis_codes, start=1):
            insert(op.at, diagnosis, diagnosis.new(rank=i, code=codes.normalize_icd10(code), encounter_id=encounter_id))
        lines = [insert(op.at, line, line.new(
            line_number=i, procedure_code=code, modifiers=list(mods), units=units,
            charge_amount=to_money(self._fee(code, op.date_of_service) * units), diagnosis_pointers=list(pointers),
            encounter_id=encounter_id)) for i, (code, units, mods, pointers) in enumerate(op.lines, start=1)]
        op.ref.id = encounter_id
        self.rows[op.ref] = encounter
        self.lines[op.ref] = lines

    def CreateClaim(self, op: ops.CreateClaim) -> None:
        encounter = self.rows.pop(op.encounter)
        lines = self.lines.pop(op.encounter)
        claim = self._insert_one(
            op, Claim, op.ref, encounter_id=encounter["id"], patient_id=encounter["patient_id"],
            facility_id=encounter["facility_id"], provider_id=encounter["provider_id"], coverage_id=op.coverage.id,
            payer_id=self.payer_of[op.coverage], status="draft",
            total_charge=sum((ln["charge_amount"] for ln in lines), ZERO))
        claim_line = self.spec[ClaimLine]
        for ln in lines:
            self.store.insert(op.at, claim_line, claim_line.new(
                claim_id=claim["id"], encounter_line_id=ln["id"], line_number=ln["line_number"],
                procedure_code=ln["procedure_code"], modifiers=list(ln["modifiers"]), units=ln["units"],
                charge_amount=ln["charge_amount"]))
        self._move_claim(op, claim, None, "draft", {"status": "draft", "status_changed_at": op.at})

    def _move_claim(self, op, claim: dict, source: str | None, target: str, changes: dict,
                    note: str | None = None) -> None:
        """One flush: the claim's change, then its status event (flush order)."""
        self.store.update(op.at, self.spec[Claim], claim, changes)
        spec = self.spec[ClaimStatusEvent]
        self.store.insert(op.at, spec, spec.new(claim_id=claim["id"], from_status=source, to_status=target,
                                                occurred_at=op.at, user_id=op.actor.id, note=note))

    def SubmitClaim(self, op: ops.SubmitClaim) -> None:
        claim = self._row(op.claim)
        self._move_claim(op, claim, claim["status"], "submitted",
                         {"status": "submitted", "status_changed_at": op.at, "submitted_at": op.at})

    def MoveClaim(self, op: ops.MoveClaim) -> None:
        claim = self._row(op.claim)
        self._move_claim(op, claim, claim["status"], op.status, {"status": op.status, "status_changed_at": op.at},
                         op.note)
        if op.status == "closed":
            self.rows.pop(op.claim, None)

    def PostRemittance(self, op: ops.PostRemittance) -> None:
        claim = self._row(op.claim)
        pr = sum((a for g, _, a in op.adjustments if g == "PR"), ZERO)
        allowed = op.paid_amount + pr
        denial = op.denial
        if op.paid_amount == ZERO and (pr == ZERO or denial is not None):
            status = "denied"
            if denial is None:
                first = next(((g, r) for g, r, _ in op.adjustments if g != "PR"), None)
                denial = (first[0], first[1], list(op.remark_codes)) if first else None
        else:
            status = "partially_paid" if denial is not None else "paid"
        spec, insert = self.spec, self.store.insert
        # Flush 1: the claim's status, its status event, the remittance (flush order).
        self._move_claim(op, claim, claim["status"], status, {"status": status, "status_changed_at": op.at})
        remittance = insert(op.at, spec[Remittance], spec[Remittance].new(
            claim_id=claim["id"], payer_id=claim["payer_id"], received_at=op.at, claim_status=status,
            paid_amount=op.paid_amount, allowed_amount=allowed, patient_responsibility=pr,
            remark_codes=list(dict.fromkeys(list(op.remark_codes) + (list(denial[2]) if denial else []))),
            payment_reference=op.payment_reference, denial_group_code=denial[0] if denial else None,
            denial_reason_code=denial[1] if denial else None))
        # Flush 2: its adjustments.
        adjustment = spec[RemittanceAdjustment]
        for g, r, a in op.adjustments:
            insert(op.at, adjustment, adjustment.new(remittance_id=remittance["id"], claim_id=claim["id"],
                                                     group_code=g, reason_code=r, amount=a))
        # Flush 3: the claim's money, then the insurance payment (flush order).
        self.store.update(op.at, spec[Claim], claim, {
            "paid_amount": claim["paid_amount"] + op.paid_amount, "allowed_amount": allowed,
            "patient_responsibility": pr, "denial_group_code": denial[0] if denial else None,
            "denial_reason_code": denial[1] if denial else None,
            "denial_remark_codes": list(denial[2]) if denial else None, "adjudicated_at": op.at})
        if op.paid_amount > ZERO:
            insert(op.at, spec[Payment], spec[Payment].new(
                patient_id=claim["patient_id"], facility_id=claim["facility_id"], claim_id=claim["id"],
                payer_id=claim["payer_id"], remittance_id=remittance["id"], source="insurance", method="eft",
                amount=op.paid_amount, received_at=op.at, reference=op.payment_reference))

    def PatientPayment(self, op: ops.PatientPayment) -> None:
        facility = self._row(op.claim)["facility_id"] if op.claim else self.facility_of[op.patient]
        self._insert_one(op, Payment, patient_id=op.patient.id, facility_id=facility,
                         claim_id=op.claim.id if op.claim else None, payer_id=None, source="patient", method=op.method,
                         amount=op.amount, received_at=op.at, reference=op.reference)

    def RequestAdjustment(self, op: ops.RequestAdjustment) -> None:
        facility = self._row(op.claim)["facility_id"] if op.claim else self.facility_of[op.patient]
        within = op.amount <= self.limit  # posted at once; only a pending one is read again (its approval)
        row = self._insert_one(op, Adjustment, None if within else op.ref, patient_id=op.patient.id,
                               facility_id=facility, claim_id=op.claim.id if op.claim else None, kind=op.kind,
                               amount=op.amount, reason=op.reason, requested_by=op.actor.id,
                               status="approved" if within else "pending", decided_at=op.at if within else None,
                               posted_at=op.at if within else None)
        op.ref.id = row["id"]

    def DecideAdjustment(self, op: ops.DecideAdjustment) -> None:
        row = self.rows.pop(op.adjustment)
        self.store.update(op.at, self.spec[Adjustment], row, {
            "status": "approved" if op.approve else "rejected", "approved_by": op.actor.id if op.approve else None,
            "decided_at": op.at, "posted_at": op.at if op.approve else None})
