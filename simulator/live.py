"""Live mode: keep a practice going through the HTTP API at a steady request rate, for demos and
for measuring replication lag (every request is a real write with its outbox event, at wall time).

Every request is paced: at most `rate` per second, discovery included, and a slow answer does not
earn a burst afterwards. Work flows through a pipeline: book a visit today (10 % for a newly
registered patient with coverage) → confirm → check in → complete → encounter → claim → submit →
accepted → remittance (paid, with CO-45 and a copay) → patient payment; a self-pay patient's
visit skips the claim and is paid at the desk. Each step advances the most downstream item that is
waiting, so the pipeline drains as fast as it fills. Today's free slots come from the providers'
templates less their bookings; when none is left (a full day, a weekend), providers get extra hours
today one at a time, once per local day, so the practice keeps going, across midnight too. Stops
after `duration` seconds or on Ctrl-C (the request in flight completes first).
"""

import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from simulator.coding import Coder

API = "/api/v1"
STAGES = ("pay", "remit", "accept", "submit", "claim", "encounter", "complete", "check_in", "confirm")


class LiveSimulator:
    def __init__(self, api_url: str, username: str, password: str, rate: float = 20.0, seed: int = 0,
                 client: httpx.Client | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.clock = clock  # the wall clock (UTC); a test moves it across midnight
        self.client = client or httpx.Client(base_url=api_url, timeout=30)
        self.username, self.password = username, password
        self.interval = 1.0 / rate
        self.rng = random.Random(seed)
        self.coder = Coder(self.rng)
        self.queues: dict[str, deque] = {stage: deque() for stage in STAGES}
        self.created: dict[str, int] = {}
        self.requests = 0
        self.errors = 0
        self.elapsed = 0.0
        self._token_at = 0.0
        self._next_at = 0.0  # when the next request may go
        self.insured: dict[str, bool] = {}  # patient id → has insurance to claim (cached)

    # -- http --

    def _login(self) -> None:
        r = self.client.post(f"{API}/auth/token", data={"username": self.username, "password": self.password})
        r.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        self._token_at = time.monotonic()

    def _call(self, method: str, path: str, **kw) -> httpx.Response:
        if time.monotonic() - self._token_at > 1800:
            self._login()
        r = self._send(method, path, **kw)
        if r.status_code == 401:
            self._login()
            r = self._send(method, path, **kw)
        if r.status_code >= 400:
            self.errors += 1
        return r

    def _send(self, method: str, path: str, **kw) -> httpx.Response:
        self._pace()
        self.requests += 1
        return self.client.request(method, f"{API}{path}", **kw)

    def _pace(self) -> None:
        now = time.monotonic()
        if now < self._next_at:
            time.sleep(self._next_at - now)
        self._next_at = max(self._next_at, now) + self.interval

    def _count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1

    def close(self) -> None:
        self.client.close()

    # -- set-up --

    def _discover(self) -> None:
        self.facilities = {f["id"]: f for f in self._call("GET", "/facilities", params={"limit": 500}).json()["items"]}
        self.providers = [p for p in self._call("GET", "/providers", params={"limit": 500}).json()["items"]
                          if p["active"]]
        self.payers = self._call("GET", "/payers", params={"limit": 500}).json()["items"]
        self.patients = self._call("GET", "/patients", params={"limit": 500}).json()["items"]
        if not (self.facilities and self.providers and self.payers):
            raise RuntimeError("live mode needs a seeded practice: run `pms seed` first")
        self.slots: deque = deque()
        self.opened: set[tuple[str, date]] = set()  # (provider, local day) given extra hours

    def _today_slots(self) -> None:
        """Free 20-minute slots today (facility time) in the providers' templates, less those already
        booked or off. When none is left (a seeded practice has filled today, or nobody works today: a
        weekend), one more provider at a time gets extra hours today so the live practice keeps going.
        Once per local day: after midnight every provider can be opened again."""
        for provider in self.providers:
            self._free_slots(provider, extra=False)
        for provider in self.providers:
            if self.slots:
                break
            key = (provider["id"], self._today(provider["facility_ids"][0]))
            if key not in self.opened:
                self.opened.add(key)
                self._free_slots(provider, extra=True)
        self.rng.shuffle(self.slots)

    def _today(self, facility_id: str) -> date:
        return self.clock().astimezone(ZoneInfo(self.facilities[facility_id]["timezone"])).date()

    def _free_slots(self, provider: dict, extra: bool) -> None:
        schedule = self._call("GET", f"/providers/{provider['id']}/schedule").json()
        for facility_id in provider["facility_ids"][:1] if extra else provider["facility_ids"]:
            tz = ZoneInfo(self.facilities[facility_id]["timezone"])
            today = self._today(facility_id)
            if extra:
                spans, time_off = self._open_today(provider, schedule, facility_id, today), []
            else:
                spans = [t for t in schedule["templates"] if t["weekday"] == today.weekday()
                         and t["facility_id"] == facility_id and t["effective_from"] <= today.isoformat()
                         and (t["effective_to"] is None or today.isoformat() <= t["effective_to"])]
                time_off = schedule["time_off"]
            if not spans:
                continue
            taken = self._booked(provider["id"], today) + [
                (datetime.fromisoformat(t["starts_at"]), datetime.fromisoformat(t["ends_at"])) for t in time_off]
            for span in spans:
                start = datetime.combine(today, datetime.strptime(span["start_time"], "%H:%M:%S").time(), tz)
                end = datetime.combine(today, datetime.strptime(span["end_time"], "%H:%M:%S").time(), tz)
                while start + timedelta(minutes=20) <= end:
                    slot = (start.astimezone(UTC), (start + timedelta(minutes=20)).astimezone(UTC))
                    if not any(a < slot[1] and slot[0] < b for a, b in taken):
                        self.slots.append((provider["id"], facility_id, slot[0]))
                    start += timedelta(minutes=20)

    def _booked(self, provider_id: str, day: date) -> list[tuple[datetime, datetime]]:
        """The provider's live bookings that day (a seeded practice has filled much of it already)."""
        params = {"provider_id": provider_id, "date_from": day.isoformat(),
                  "date_to": day.isoformat(), "status": ["scheduled", "confirmed", "checked_in", "completed"],
                  "limit": 500}
        items = self._call("GET", "/appointments", params=params).json().get("items", [])
        return [(datetime.fromisoformat(a["starts_at"]), datetime.fromisoformat(a["ends_at"])) for a in items]

    def _open_today(self, provider: dict, schedule: dict, facility_id: str, today: date) -> list[dict]:
        keep = ("weekday", "start_time", "end_time", "facility_id", "effective_from", "effective_to")
        templates = [{k: t[k] for k in keep} for t in schedule["templates"]]
        extra = {"weekday": today.weekday(), "start_time": "00:00:00", "end_time": "23:40:00",
                 "facility_id": facility_id, "effective_from": today.isoformat(), "effective_to": today.isoformat()}
        time_off = [{k: t[k] for k in ("starts_at", "ends_at", "reason")} for t in schedule["time_off"]
                    if not (t["starts_at"][:10] <= today.isoformat() <= t["ends_at"][:10])]
        self._call("PUT", f"/providers/{provider['id']}/schedule", json={"templates": templates + [extra],
                                                                         "time_off": time_off})
        return [extra]

    # -- the pipeline --

    def run(self, duration: float | None = None) -> None:
        self._login()
        started = time.monotonic()  # discovery's requests are paced and counted too
        self._discover()
        try:
            while duration is None or time.monotonic() - started < duration:
                self.step()
        finally:
            self.elapsed = time.monotonic() - started

    def step(self) -> None:
        for stage in STAGES:
            if self.queues[stage]:
                getattr(self, f"_{stage}")(self.queues[stage].popleft())
                return
        self._book()

    def _book(self) -> None:
        if not self.slots:
            self._today_slots()
            if not self.slots:
                raise RuntimeError("no provider can be booked today")
        provider_id, facility_id, start = self.slots.popleft()
        patient = self._patient(facility_id)
        if patient is None:
            return
        r = self._call("POST", "/appointments", json={
            "patient_id": patient["id"], "provider_id": provider_id, "facility_id": facility_id,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=20)).isoformat(),
            "appointment_type": "follow_up", "reason": "Follow-up"})
        if r.status_code == 201:
            self._count("appointments")
            self.queues["confirm"].append(r.json())

    def _patient(self, facility_id: str) -> dict | None:
        local = [p for p in self.patients if p["facility_id"] == facility_id]
        if local and self.rng.random() > 0.10:
            return self.rng.choice(local)
        n = uuid.uuid4().hex[:8]
        r = self._call("POST", "/patients", params={"allow_duplicate": "true"}, json={
            "first_name": "Live", "last_name": f"Patient-{n}", "date_of_birth": "1980-05-17", "sex": "F",
            "phone": f"(555) 555-{self.rng.randrange(10000):04d}", "facility_id": facility_id})
        if r.status_code != 201:
            return None
        patient = r.json()
        self._count("patients")
        payer = self.rng.choice([p for p in self.payers if p["kind"] == "commercial"] or self.payers)
        r = self._call("POST", f"/patients/{patient['id']}/coverages", json={
            "payer_id": payer["id"], "member_id": f"LIVE{n}", "effective_from": "2020-01-01"})
        if r.status_code == 201:
            self._count("coverages")
        self.patients.append(patient)
        return patient

    def _move(self, appointment: dict, target: str, then: str | None) -> None:
        r = self._call("POST", f"/appointments/{appointment['id']}/status", json={"status": target})
        if r.status_code == 200 and then:
            self.queues[then].append(r.json())

    def _confirm(self, appointment: dict) -> None:
        self._move(appointment, "confirmed", "check_in")

    def _check_in(self, appointment: dict) -> None:
        self._move(appointment, "checked_in", "complete")

    def _complete(self, appointment: dict) -> None:
        self._move(appointment, "completed", "encounter")

    def _encounter(self, appointment: dict) -> None:
        tz = ZoneInfo(self.facilities[appointment["facility_id"]]["timezone"])
        day = datetime.fromisoformat(appointment["starts_at"]).astimezone(tz).date()
        dx, lines = self.coder.encounter("follow_up", "Family Medicine", 45, "commercial", ("I10", "E78.5"), day)
        r = self._call("POST", "/encounters", json={
            "appointment_id": appointment["id"], "patient_id": appointment["patient_id"],
            "provider_id": appointment["provider_id"], "facility_id": appointment["facility_id"],
            "date_of_service": day.isoformat(), "diagnosis_codes": dx,
            "lines": [{"procedure_code": c, "units": u, "modifiers": list(m), "diagnosis_pointers": list(p)}
                      for c, u, m, p in lines]})
        if r.status_code == 201:
            self._count("encounters")
            encounter = r.json()
            if self._insured(encounter["patient_id"]):
                self.queues["claim"].append(encounter)
            else:  # billed to the patient, paid at the desk
                self.queues["pay"].append((encounter["patient_id"], None, Decimal(encounter["total_charge"]),
                                           encounter["id"]))

    def _insured(self, patient_id: str) -> bool:
        """Whether the patient has insurance to claim (a seeded patient may be self-pay)."""
        if patient_id not in self.insured:
            kinds = {p["id"]: p["kind"] for p in self.payers}
            today = self.clock().date().isoformat()
            coverages = self._call("GET", f"/patients/{patient_id}/coverages").json()
            self.insured[patient_id] = any(
                c["rank"] == "primary" and kinds.get(c["payer_id"]) != "self_pay"
                and (c["effective_to"] is None or c["effective_to"] >= today) for c in coverages)
        return self.insured[patient_id]

    def _claim(self, encounter: dict) -> None:
        r = self._call("POST", "/claims", json={"encounter_id": encounter["id"]})
        if r.status_code == 201:
            self._count("claims")
            self.queues["submit"].append(r.json())

    def _submit(self, claim: dict) -> None:
        if self._call("POST", f"/claims/{claim['id']}/submit").status_code == 200:
            self.queues["accept"].append(claim)

    def _accept(self, claim: dict) -> None:
        r = self._call("POST", f"/claims/{claim['id']}/status", json={"status": "accepted"})
        if r.status_code == 200:
            self.queues["remit"].append(r.json())

    def _remit(self, claim: dict) -> None:
        charge = Decimal(claim["total_charge"])
        allowed = (charge * Decimal("0.62")).quantize(Decimal("0.01"))
        copay = min(Decimal("25.00"), allowed)
        body = {"paid_amount": str(allowed - copay), "allowed_amount": str(allowed),
                "adjustments": [{"group_code": "CO", "reason_code": "45", "amount": str(charge - allowed)}]
                + ([{"group_code": "PR", "reason_code": "3", "amount": str(copay)}] if copay else []),
                "payment_reference": f"EFT{self.rng.randrange(10**9):09d}"}
        r = self._call("POST", f"/claims/{claim['id']}/remittance", json=body,
                       headers={"Idempotency-Key": f"live-remit-{claim['id']}"})
        if r.status_code == 201:
            self._count("remittances")
            if copay:
                self.queues["pay"].append((claim["patient_id"], claim["id"], copay, claim["id"]))

    def _pay(self, item) -> None:
        patient_id, claim_id, amount, key = item
        r = self._call("POST", "/payments", json={
            "patient_id": patient_id, "claim_id": claim_id, "source": "patient", "method": "card",
            "amount": str(amount)}, headers={"Idempotency-Key": f"live-pay-{key}"})
        if r.status_code == 201:
            self._count("payments")
