"""The discrete-event simulation: one per facility, merged into one time-ordered stream of ops.

Each day is planned 120 days ahead (the longest lead time): the provider's sessions are cut into
slots (specialties.py), each slot is booked with the day's demand (demand.py) by a patient from
the specialty's pool, with a lead time from the visit type's mixture. From the booking on, every
step is an event at its own instant: reminder 48 h before, confirmation, cancellation or
reschedule (noshow.py), arrival or no-show (the logistic model), completion, the encounter
(coding.py), the claim's life (billing.py) and the patient's payments. Events at or after the
anchor are not emitted, so history ends "now" with visits booked ahead and claims in flight.

Randomness: one random.Random per facility, seeded from (seed, facility), consumed in event
order, so a run is a pure function of (scale, seed, anchor). Time inside the engine is integer
epoch seconds (UTC); ops carry aware UTC datetimes.
"""

import heapq
import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from ops_api.models.types import to_money

from simulator import billing, catalog, demand, noshow, ops, people
from simulator.coding import Coder
from simulator.practice import FacilityInfo, Practice, ProviderInfo
from simulator.weighted import Weighted

DAY = 86400
HOUR = 3600
MINUTE = 60
APPROVAL_LIMIT = Decimal("500.00")  # settings.adjustment_approval_limit's default; run.py passes the live one
REASONS = {
    "sick_visit": ("Cough and fever", "Sore throat", "Ear pain", "Back pain", "Rash", "Stomach ache", "Headache",
                   "Urinary symptoms", "Cold symptoms", "Dizziness"),
    "follow_up": ("Follow-up", "Medication review", "Lab results review", "Chronic care follow-up"),
    "annual_physical": ("Annual physical",), "well_child": ("Well-child check",),
    "medicare_wellness": ("Annual wellness visit",), "new_patient": ("New patient visit",),
    "procedure": ("Procedure",), "prenatal": ("Prenatal visit",),
}
LIVE = ("scheduled", "confirmed")
# Event kinds, in the order they are handled when they fall on the same second.
(BOOK, REMIND, CONFIRM, CANCEL, ARRIVE, NOSHOW, COMPLETE, ENCOUNTER, CLAIM, SUBMIT, ACK, CORRECT, ADJUDICATE,
 APPEAL, APPEAL_RESULT, WRITE_OFF, APPROVE, STATEMENT, PAY, DUPLICATE, REFUND, COLLECT, CLOSE, SELF_PAY) = range(24)


class Visit:
    __slots__ = ("provider", "start", "end", "vtype", "patient", "booked_at", "ref", "status", "reminded",
                 "new", "day")

    def __init__(self, provider: ProviderInfo, start: int, end: int, vtype: str, patient: int, day: date):
        self.provider, self.start, self.end, self.vtype = provider, start, end, vtype
        self.patient, self.day = patient, day
        self.booked_at = 0
        self.ref = ops.Ref()
        self.status = "planned"
        self.reminded = False
        self.new = vtype == "new_patient"


class ClaimState:
    __slots__ = ("ref", "encounter", "visit", "payer", "lines", "total", "status", "first_submit", "corrected",
                 "appealed", "reason")

    def __init__(self, encounter: ops.Ref, visit: Visit, payer: int, lines: list[tuple[str, Decimal]]):
        self.ref, self.encounter, self.visit, self.payer, self.lines = ops.Ref(), encounter, visit, payer, lines
        self.total = sum((c for _, c in lines), Decimal("0.00"))
        self.status = "draft"
        self.first_submit = 0
        self.corrected = 0
        self.appealed = False
        self.reason = ""


class Bill:
    """What the patient owes for one visit (a claim's patient share, or a self-pay visit)."""

    __slots__ = ("patient", "claim", "amount", "paid", "settled", "duplicate", "last")

    def __init__(self, patient: int, claim: ClaimState | None, amount: Decimal):
        self.patient, self.claim, self.amount = patient, claim, amount
        self.paid = Decimal("0.00")
        self.settled = False
        self.duplicate = False
        self.last = Decimal("0.00")  # the last payment, which a duplicate repeats


_INSTANTS: dict[int, datetime] = {}


def _dt(t: int) -> datetime:
    """Epoch seconds → an aware UTC datetime, one object per recent instant: an op's time recurs in
    its rows and events, and shared objects are pickled and converted once per batch (sink.py)."""
    instant = _INSTANTS.get(t)
    if instant is None:
        if len(_INSTANTS) >= 100_000:
            _INSTANTS.clear()
        instant = _INSTANTS[t] = datetime.fromtimestamp(t, UTC)
    return instant


class FacilitySim:
    def __init__(self, practice: Practice, facility: FacilityInfo, approval_limit: Decimal = APPROVAL_LIMIT):
        self.p = practice
        self.f = facility
        self.rng = random.Random(practice.seed * 1009 + facility.index)
        self.coder = Coder(self.rng)
        self.limit = approval_limit
        self.heap: list = []
        self._visit_types: dict[str, Weighted] = {}  # specialty → its visit mix
        self.n = 0
        self.out: list[ops.Op] = []
        self.end = int(practice.end_at.timestamp())
        self.providers = [p for p in practice.providers if facility.index in p.days.values()]
        self.free: dict[tuple[int, int], list[tuple[int, int, str]]] = {}  # (provider, day ordinal) → free slots
        pop = practice.population
        self.members = {g: [] for g in people.GROUPS}
        for i in map(int, (pop.facility == facility.index).nonzero()[0]):
            for g in pop.groups(i):
                self.members[g].append(i)
        self.pools = {g: self._pool(m) for g, m in self.members.items()}
        self.patient_ref: dict[int, ops.Ref] = {}
        self.coverage_ref: dict[int, ops.Ref] = {}
        self.dob: dict[int, date] = {}
        self.contact: dict[int, str] = {}
        self.no_shows: dict[int, int] = {}
        self.deductible: dict[tuple[int, int], Decimal] = {}
        self.plan_day = practice.start
        self.last_day = practice.anchor + timedelta(days=demand.MAX_LEAD_DAYS)

    # -- patients -------------------------------------------------------------------------------------

    def _pool(self, members: list[int]) -> dict:
        """Members in a random arrival order; the first 55 % are the panel at the start of history."""
        order = members[:]
        self.rng.shuffle(order)
        weights = [float(self.p.population.propensity[i]) for i in order]
        cum, total = [], 0.0
        for w in weights:
            total += w
            cum.append(total)
        return {"order": order, "cum": cum, "introduced": int(len(order) * 0.55)}

    def _pick_patient(self, group: str, new: bool) -> tuple[int, bool] | None:
        pool = self.pools[group]
        k = pool["introduced"]
        if new and k < len(pool["order"]):
            pool["introduced"] = k + 1
            return pool["order"][k], True
        if k == 0:
            return None
        u = self.rng.random() * pool["cum"][k - 1]
        lo, hi = 0, k - 1
        while lo < hi:  # bisect on the introduced prefix
            mid = (lo + hi) // 2
            if pool["cum"][mid] < u:
                lo = mid + 1
            else:
                hi = mid
        return pool["order"][lo], False

    def _payer(self, patient: int) -> catalog.PayerSpec:
        return catalog.PAYERS[int(self.p.population.payer[patient])]

    def _age(self, patient: int, day: date) -> int:
        return (day - self.dob[patient]).days * 100 // 36525

    def _register(self, patient: int, t: int) -> None:
        if patient in self.patient_ref:
            return
        rng, pop, at = self.rng, self.p.population, _dt(t)
        female = bool(pop.female[patient])
        self.dob[patient] = people.birth_date(rng, int(pop.age[patient]), self.p.start)
        info = people.demographics(rng, self.p.pools, patient, female, self.f.area)
        self.contact[patient] = info["preferred_contact"]
        ref = ops.Ref()
        self.patient_ref[patient] = ref
        self.out.append(ops.RegisterPatient(at, self.f.front_desk, ref, self.f.ref, date_of_birth=self.dob[patient],
                                            sex="F" if female else "M", **info))
        payer_index = int(pop.payer[patient])
        spec = catalog.PAYERS[payer_index]
        since = max(self.dob[patient], date(self.p.start.year - rng.randrange(6), 1, 1))
        mbi = f"{rng.randrange(1, 10)}EG{rng.randrange(10)}TE{rng.randrange(10)}MK{rng.randrange(100):02d}"  # MBI-like
        member = {"medicare": mbi, "self_pay": f"SELF-{patient:07d}"}.get(spec.kind,
                                                                        f"{spec.edi[:3]}{rng.randrange(10**9):09d}")
        group = f"GRP{rng.randrange(10**5):05d}" if spec.kind in ("commercial", "workers_comp") else None
        cov = ops.Ref()
        self.coverage_ref[patient] = cov
        self.out.append(ops.AddCoverage(at, self.f.front_desk, cov, ref, self.p.payers[payer_index], member, group,
                                        since))

    # -- events ---------------------------------------------------------------------------------------

    def push(self, t: float, kind: int, obj) -> None:
        self.n += 1
        heapq.heappush(self.heap, (int(t), kind, self.n, obj))

    def run(self) -> Iterator[ops.Op]:
        handlers = {BOOK: self._book, REMIND: self._remind, CONFIRM: self._confirm, CANCEL: self._cancel,
                    ARRIVE: self._arrive, NOSHOW: self._no_show, COMPLETE: self._complete,
                    ENCOUNTER: self._encounter, CLAIM: self._claim, SUBMIT: self._submit, ACK: self._ack,
                    CORRECT: self._correct, ADJUDICATE: self._adjudicate, APPEAL: self._appeal,
                    APPEAL_RESULT: self._appeal_result, WRITE_OFF: self._write_off, APPROVE: self._approve,
                    STATEMENT: self._statement, PAY: self._pay, DUPLICATE: self._duplicate, REFUND: self._refund,
                    COLLECT: self._collect,
                    CLOSE: self._close, SELF_PAY: self._self_pay}
        heap, out = self.heap, self.out
        plan_at = self._plan_time(self.plan_day)
        while True:
            horizon = heap[0][0] if heap else self.end
            while plan_at <= horizon and self.plan_day <= self.last_day:
                self._plan(self.plan_day)
                self.plan_day += timedelta(days=1)
                plan_at = self._plan_time(self.plan_day)
                horizon = heap[0][0] if heap else self.end
            if not heap or heap[0][0] >= self.end:
                return
            t, kind, _, obj = heapq.heappop(heap)
            handlers[kind](t, obj)
            if out:
                yield from out
                out.clear()

    # -- planning -------------------------------------------------------------------------------------

    def _midnight(self, day: date) -> int:
        """Local midnight as epoch seconds, with the offset in force at noon (DST moves at 2 am)."""
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=self.f.tz)
        return int(noon.timestamp()) - 12 * HOUR

    def _plan_time(self, day: date) -> int:
        return self._midnight(day) - demand.MAX_LEAD_DAYS * DAY

    def _plan(self, day: date) -> None:
        weekday = day.weekday()
        midnight = self._midnight(day)
        for prov in self.providers:
            if prov.days.get(weekday) != self.f.index or day in prov.off:
                continue
            spec = prov.specialty
            share = demand.booked_share(spec.utilisation * self.p.scale.demand, day, spec.group == "child")
            types = self._visit_types.get(spec.name)
            if types is None:
                types = self._visit_types[spec.name] = Weighted(spec.visits, [v.share for v in spec.visits])
            free = self.free.setdefault((prov.index, day.toordinal()), [])
            for s_start, s_end in spec.sessions:
                cursor = midnight + s_start.hour * HOUR + s_start.minute * MINUTE
                stop = midnight + s_end.hour * HOUR + s_end.minute * MINUTE
                base = spec.slot_minutes * MINUTE
                while cursor + base <= stop:
                    vt = types.pick(self.rng)
                    length = vt.slots * base
                    if cursor + length > stop:
                        vt, length = types.population[0], base
                    if self.rng.random() < share:
                        self._plan_visit(prov, day, cursor, cursor + length, vt, midnight)
                    else:
                        free.append((cursor, cursor + length, vt.name))
                    cursor += length

    def _plan_visit(self, prov: ProviderInfo, day: date, start: int, end: int, vt, midnight: int) -> None:
        picked = self._pick_patient(prov.specialty.group, vt.name == "new_patient")
        if picked is None:
            return
        patient, new = picked
        vtype = vt.name if new or vt.name != "new_patient" else "follow_up"  # no newcomer left in the pool
        visit = Visit(prov, start, end, vtype, patient, day)
        visit.new = new
        lead = demand.lead_days(self.rng, vt.lead)
        if lead == 0:
            opening = midnight + 7 * HOUR
            booked = start - int(self.rng.uniform(0.5, max(0.5, min(6.0, (start - opening) / HOUR))) * HOUR)
        else:
            booked = midnight - lead * DAY + int(self.rng.uniform(8, 17) * HOUR)
        if booked < int(self.p.setup_at.timestamp()) + DAY:
            return
        visit.booked_at = booked
        self.push(booked, BOOK, visit)

    # -- scheduling events ----------------------------------------------------------------------------

    def _book(self, t: int, visit: Visit, rescheduled_from: Visit | None = None) -> None:
        self._register(visit.patient, t)
        reason = self.rng.choice(REASONS[visit.vtype])
        self.out.append(ops.Book(_dt(t), self.f.front_desk, visit.ref, self.patient_ref[visit.patient],
                                 visit.provider.ref, self.f.ref, _dt(visit.start), _dt(visit.end), visit.vtype, reason,
                                 rescheduled_from.ref if rescheduled_from else None))
        visit.status = "scheduled"
        visit.booked_at = t
        self._fate(t, visit)

    def _fate(self, t: int, visit: Visit) -> None:
        rng = self.rng
        lead_h = (visit.start - t) / HOUR
        if lead_h > 2 and rng.random() < noshow.cancel_probability(lead_h / 24):
            self.push(visit.start - noshow.cancel_offset_hours(rng, lead_h) * HOUR, CANCEL, visit)
        reminders = self.contact[visit.patient] != "letter" and rng.random() < 0.92
        if lead_h > 48 and reminders:
            self.push(visit.start - 48 * HOUR, REMIND, visit)
        self.push(visit.start - rng.randrange(0, 21) * MINUTE, ARRIVE, visit)

    def _remind(self, t: int, visit: Visit) -> None:
        if visit.status not in LIVE:
            return
        self.out.append(ops.SendReminder(_dt(t), self.f.front_desk, visit.ref))
        visit.reminded = True
        if self.rng.random() < 0.65:
            self.push(min(t + self.rng.uniform(0.5, 8) * HOUR, visit.start - HOUR), CONFIRM, visit)

    def _confirm(self, t: int, visit: Visit) -> None:
        if visit.status == "scheduled":
            self.out.append(ops.MoveAppointment(_dt(t), self.f.front_desk, visit.ref, "confirmed"))
            visit.status = "confirmed"

    def _cancel(self, t: int, visit: Visit) -> None:
        if visit.status not in LIVE:
            return
        visit.status = "cancelled"
        slot = self._free_slot(visit, t) if self.rng.random() < noshow.RESCHEDULE_SHARE else None
        if slot is None:
            self.out.append(ops.MoveAppointment(_dt(t), self.f.front_desk, visit.ref, "cancelled"))
        else:
            start, end, day = slot
            new = Visit(visit.provider, start, end, visit.vtype, visit.patient, day)
            new.new = visit.new
            self._book(t, new, rescheduled_from=visit)  # the service cancels the old visit in the same request
        if visit.start - t > 48 * HOUR:  # the slot can be given to someone else
            self.free.setdefault((visit.provider.index, visit.day.toordinal()), []).append(
                (visit.start, visit.end, visit.vtype))

    def _free_slot(self, visit: Visit, t: int) -> tuple[int, int, date] | None:
        today = _dt(t).date().toordinal()
        first = today + 2 + int(self.rng.expovariate(1 / 5))
        for ordinal in range(first, first + 21):
            slots = self.free.get((visit.provider.index, ordinal))
            if slots:
                start, end, _ = slots.pop(self.rng.randrange(len(slots)))
                return start, end, date.fromordinal(ordinal)
        return None

    def _arrive(self, t: int, visit: Visit) -> None:
        if visit.status not in LIVE:
            return
        self.free.pop((visit.provider.index, visit.day.toordinal() - 2), None)  # past days: no more reschedules
        p = noshow.no_show_probability((visit.start - visit.booked_at) / DAY, self.no_shows.get(visit.patient, 0),
                                       self._age(visit.patient, visit.day), visit.day.weekday(), visit.reminded,
                                       self._payer(visit.patient).kind, visit.new,
                                       float(self.p.population.no_show_trait[visit.patient]))
        if self.rng.random() < p:
            self.push(visit.start + self.rng.randrange(15, 46) * MINUTE, NOSHOW, visit)
            return
        if visit.status == "scheduled":
            self.out.append(ops.MoveAppointment(_dt(t), self.f.front_desk, visit.ref, "confirmed"))
        self.out.append(ops.MoveAppointment(_dt(t), self.f.front_desk, visit.ref, "checked_in"))
        visit.status = "checked_in"
        self.push(visit.end + self.rng.randrange(0, 16) * MINUTE, COMPLETE, visit)

    def _no_show(self, t: int, visit: Visit) -> None:
        if visit.status not in LIVE:
            return
        self.out.append(ops.MoveAppointment(_dt(t), self.f.front_desk, visit.ref, "no_show"))
        visit.status = "no_show"
        self.no_shows[visit.patient] = self.no_shows.get(visit.patient, 0) + 1

    def _complete(self, t: int, visit: Visit) -> None:
        self.out.append(ops.MoveAppointment(_dt(t), self.f.front_desk, visit.ref, "completed"))
        visit.status = "completed"
        self.push(t + self.rng.randrange(10, 300) * MINUTE, ENCOUNTER, visit)

    # -- clinical and billing events ------------------------------------------------------------------

    def _encounter(self, t: int, visit: Visit) -> None:
        patient = visit.patient
        payer = self._payer(patient)
        dx, lines = self.coder.encounter(visit.vtype, visit.provider.specialty.name, self._age(patient, visit.day),
                                         payer.kind, self.p.population.chronic[patient], visit.day)
        ref = ops.Ref()
        self.out.append(ops.RecordEncounter(_dt(t), visit.provider.user, ref, visit.ref, self.patient_ref[patient],
                                            visit.provider.ref, self.f.ref, visit.day, dx, lines))
        charges = [(code, self.p.fee(code, visit.day) * units) for code, units, _, _ in lines]
        if payer.kind == "self_pay":
            bill = Bill(patient, None, sum((c for _, c in charges), Decimal("0.00")))
            self.push(t + MINUTE, SELF_PAY, bill)
            return
        claim = ClaimState(ref, visit, int(self.p.population.payer[patient]), [(c, to_money(a)) for c, a in charges])
        self.push(t + self.rng.uniform(0.5, 20) * HOUR, CLAIM, claim)

    def _claim(self, t: int, claim: ClaimState) -> None:
        self.out.append(ops.CreateClaim(_dt(t), self.f.biller, claim.ref, claim.encounter,
                                        self.coverage_ref[claim.visit.patient]))
        due = claim.visit.end + billing.submission_lag_days(self.rng) * DAY
        self.push(max(due, t + 10 * MINUTE), SUBMIT, claim)

    def _submit(self, t: int, claim: ClaimState) -> None:
        self.out.append(ops.SubmitClaim(_dt(t), self.f.biller, claim.ref))
        claim.first_submit = claim.first_submit or t
        self.push(t + self.rng.uniform(2, 20) * HOUR, ACK, claim)

    def _ack(self, t: int, claim: ClaimState) -> None:
        payer = catalog.PAYERS[claim.payer]
        if self.rng.random() < payer.reject * (0.1 if claim.corrected else 1.0):
            reason = self.rng.choice(catalog.REJECTIONS)
            self.out.append(ops.MoveClaim(_dt(t), self.p.clearinghouse, claim.ref, "rejected", f"277CA: {reason}"))
            claim.reason = reason
            self.push(t + self.rng.uniform(1, 4) * DAY, CORRECT, claim)
            return
        self.out.append(ops.MoveClaim(_dt(t), self.p.clearinghouse, claim.ref, "accepted"))
        self.push(t + billing.adjudication_lag_days(self.rng, payer) * DAY, ADJUDICATE, claim)

    def _correct(self, t: int, claim: ClaimState) -> None:
        claim.corrected += 1
        self.out.append(ops.MoveClaim(_dt(t), self.f.biller, claim.ref, "draft", f"corrected: {claim.reason}"))
        self._submit(t, claim)

    def _answer(self, claim: ClaimState, deny_reason: str | None) -> billing.Answer:
        if deny_reason is not None:
            return billing.denial(claim.total, deny_reason)
        patient, day = claim.visit.patient, claim.visit.day
        payer = catalog.PAYERS[claim.payer]
        key = (patient, day.year)
        hdhp = payer.kind == "medicare" or (payer.kind == "commercial" and (patient * 2654435761) % 100 < 35)
        left = Decimal(payer.deductible) - self.deductible.get(key, Decimal("0.00")) if hdhp else Decimal("0.00")
        copay = payer.copay[patient % len(payer.copay)] if payer.copay else 0
        answer = billing.pay(self.rng, payer, claim.lines, claim.visit.vtype, max(left, Decimal("0.00")), copay,
                             self.rng.random() < billing.PARTIAL_SHARE)
        if answer.deductible_used:
            self.deductible[key] = self.deductible.get(key, Decimal("0.00")) + answer.deductible_used
        return answer

    def _post(self, t: int, claim: ClaimState, answer: billing.Answer) -> None:
        ref = f"EFT{self.f.index:02d}{t % 10**9:09d}" if answer.paid else None
        self.out.append(ops.PostRemittance(_dt(t), self.p.remittance_bot, claim.ref, answer.paid, answer.allowed,
                                           answer.adjustments, [], ref, answer.denial))

    def _adjudicate(self, t: int, claim: ClaimState) -> None:
        payer = catalog.PAYERS[claim.payer]
        late = claim.first_submit - claim.visit.end > billing.TIMELY_FILING_DAYS * DAY
        reason = None
        if self.rng.random() < payer.deny or (late and self.rng.random() < 0.5):
            reason = billing.denial_reason(self.rng, late)
        answer = self._answer(claim, reason)
        self._post(t, claim, answer)
        self._after_answer(t, claim, answer, reason)

    def _after_answer(self, t: int, claim: ClaimState, answer: billing.Answer, reason: str | None) -> None:
        if reason is not None:
            claim.status, claim.reason = "denied", reason
            if not claim.appealed and self.rng.random() < catalog.DENIALS[reason][2]:
                self.push(t + self.rng.uniform(7, 30) * DAY, APPEAL, claim)
            else:
                self.push(t + self.rng.uniform(10, 40) * DAY, WRITE_OFF, claim)
            return
        claim.status = "partially_paid" if answer.denial else "paid"
        pr = answer.patient_responsibility
        if pr:
            self.push(t + self.rng.uniform(2, 5) * DAY, STATEMENT, Bill(claim.visit.patient, claim, pr))
        else:
            self.push(t + self.rng.uniform(1, 7) * DAY, CLOSE, claim)

    def _appeal(self, t: int, claim: ClaimState) -> None:
        self.out.append(ops.MoveClaim(_dt(t), self.f.biller, claim.ref, "appealed",
                                      f"appeal of CO-{claim.reason} with supporting documentation"))
        claim.status, claim.appealed = "appealed", True  # a second denial stands
        payer = catalog.PAYERS[claim.payer]
        overturn = self.rng.random() < min(0.95, payer.appeal_overturn * catalog.DENIALS[claim.reason][3])
        self.push(t + max(7.0, self.rng.lognormvariate(math.log(30), 0.4)) * DAY, APPEAL_RESULT, (claim, overturn))

    def _appeal_result(self, t: int, item) -> None:
        claim, overturn = item
        reason = None if overturn else claim.reason
        answer = self._answer(claim, reason)
        self._post(t, claim, answer)
        self._after_answer(t, claim, answer, reason)

    def _adjust(self, t: int, patient: int, claim: ClaimState | None, kind: str, amount: Decimal, reason: str,
                then: tuple[int, object] | None) -> None:
        """Request an adjustment; above the limit an admin approves it 1-72 h later, then `then` runs."""
        ref = ops.Ref()
        self.out.append(ops.RequestAdjustment(_dt(t), self.f.biller, ref, self.patient_ref[patient],
                                              claim.ref if claim else None, kind, amount, reason))
        if amount > self.limit:
            self.push(t + self.rng.uniform(1, 72) * HOUR, APPROVE, (ref, then))
        elif then is not None:
            self.push(t + self.rng.uniform(0.1, 3) * DAY, *then)

    def _approve(self, t: int, item) -> None:
        ref, then = item
        approve = self.rng.random() < 0.95
        self.out.append(ops.DecideAdjustment(_dt(t), self.p.admin, ref, approve))
        if approve and then is not None:
            self.push(t + self.rng.uniform(0.1, 3) * DAY, *then)

    def _write_off(self, t: int, claim: ClaimState) -> None:
        self._adjust(t, claim.visit.patient, claim, "write_off", claim.total,
                     f"Denial CO-{claim.reason} not recoverable: written off", (CLOSE, claim))

    def _statement(self, t: int, bill: Bill) -> None:
        plan = billing.pay_plan(self.rng, self._payer(bill.patient).kind)
        for days, share in plan.instalments:
            self.push(t + days * DAY, PAY, (bill, share))
        bill.duplicate = plan.duplicate
        self.push(t + billing.COLLECTIONS_DAYS * DAY, COLLECT, bill)

    def _pay(self, t: int, item) -> None:
        bill, share = item
        if bill.settled:
            return
        amount = to_money(bill.amount * Decimal(str(share))) - bill.paid
        if amount <= 0:
            return
        method = billing.payment_method(self.rng)
        claim = bill.claim.ref if bill.claim else None
        self.out.append(ops.PatientPayment(_dt(t), self.f.biller, self.patient_ref[bill.patient], claim, amount,
                                           method, None))
        bill.paid += amount
        bill.last = amount
        if bill.paid >= bill.amount:
            bill.settled = True
            if bill.duplicate:  # the statement paid twice (online, then the mailed check): refunded weeks later
                self.push(t + self.rng.uniform(1, 6) * DAY, DUPLICATE, bill)
            elif bill.claim is not None:
                self.push(t + self.rng.uniform(1, 5) * DAY, CLOSE, bill.claim)

    def _duplicate(self, t: int, bill: Bill) -> None:
        claim = bill.claim.ref if bill.claim else None
        self.out.append(ops.PatientPayment(_dt(t), self.f.biller, self.patient_ref[bill.patient], claim, bill.last,
                                           "check", None))
        self.push(t + self.rng.uniform(14, 42) * DAY, REFUND, bill)

    def _refund(self, t: int, bill: Bill) -> None:
        then = (CLOSE, bill.claim) if bill.claim is not None else None
        self._adjust(t, bill.patient, bill.claim, "refund", bill.last, "Refund of duplicate patient payment", then)

    def _collect(self, t: int, bill: Bill) -> None:
        if bill.settled:
            return
        bill.settled = True
        then = (CLOSE, bill.claim) if bill.claim is not None else None
        self._adjust(t, bill.patient, bill.claim, "write_off", bill.amount - bill.paid,
                     "Bad debt: placed with collection agency", then)

    def _close(self, t: int, claim: ClaimState) -> None:
        if claim.status in ("paid", "partially_paid", "denied"):
            self.out.append(ops.MoveClaim(_dt(t), self.f.biller, claim.ref, "closed"))
            claim.status = "closed"

    def _self_pay(self, t: int, bill: Bill) -> None:
        """At checkout: 60 % pay now with the prompt-pay discount, the rest get a statement."""
        if self.rng.random() < 0.60:
            discount = to_money(bill.amount * Decimal("0.25"))
            self._adjust(t, bill.patient, None, "discount", discount, "Self-pay prompt-pay discount (25%)", None)
            bill.amount -= discount
            self.push(t, PAY, (bill, 1.0))
        else:
            self.push(t + self.rng.uniform(2, 5) * DAY, STATEMENT, bill)


def stream(practice: Practice, approval_limit: Decimal = APPROVAL_LIMIT) -> Iterator[ops.Op]:
    """Set-up ops, then every facility's events merged by time with the yearly fee updates (ties: fee
    updates first, then facility order)."""
    yield from practice.setup_ops
    sims = [FacilitySim(practice, f, approval_limit) for f in practice.facilities]
    later = [op for op in practice.scheduled_ops if op.at < practice.end_at]
    yield from heapq.merge(later, *(s.run() for s in sims), key=lambda op: op.at)
