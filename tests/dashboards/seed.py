"""A hand-made warehouse for the dashboard tests: the marts' real columns (SCHEMA, checked against a
dbt build by test_real_marts.py) filled with six months of a small, internally consistent practice.

Building the marts with dbt takes over a minute; this takes a few seconds, so every page test can
run against it. The facts are generated first and the KPI mart, A/R aging and provider productivity
are derived from them the way dbt derives them, so the pages' figures can be checked against any mart.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from ml.tables import ensure_schema as ensure_ml_schema

AS_OF = date(2026, 6, 30)
FIRST_DAY = date(2026, 1, 1)
UNKNOWN = "00000000-0000-0000-0000-000000000000"
CENT = Decimal("0.01")

SCHEMA: dict[str, list[tuple[str, str]]] = {
    "dim_facility": [("facility_id", "UUID"), ("facility_name", "String"), ("timezone", "String"),
                     ("pos_code", "String"), ("provider_count", "UInt64"), ("created_at", "DateTime64(6, 'UTC')")],
    "dim_provider": [("provider_id", "UUID"), ("npi", "String"), ("provider_name", "String"), ("first_name", "String"),
                     ("last_name", "String"), ("specialty", "String"), ("is_active", "UInt8"),
                     ("primary_facility_id", "Nullable(UUID)"), ("facility_count", "UInt64")],
    "dim_payer": [("payer_id", "UUID"), ("payer_name", "String"), ("edi_payer_id", "Nullable(String)"),
                  ("payer_kind", "String"), ("is_insurance", "UInt8")],
    "fct_appointments": [
        ("appointment_id", "UUID"), ("start_date", "Date"), ("starts_at", "DateTime64(6, 'UTC')"),
        ("ends_at", "DateTime64(6, 'UTC')"), ("start_hour", "UInt8"), ("start_weekday", "UInt8"),
        ("facility_id", "UUID"), ("provider_id", "UUID"), ("patient_id", "UUID"), ("encounter_id", "Nullable(UUID)"),
        ("rescheduled_from_appointment_id", "Nullable(UUID)"), ("appointment_type", "String"),
        ("appointment_status", "String"), ("duration_minutes", "Int32"), ("booked_at", "DateTime64(6, 'UTC')"),
        ("lead_time_days", "Int32"), ("reminder_sent", "UInt8"),
        ("cancelled_at", "Nullable(DateTime64(6, 'UTC'))"), ("cancellation_notice_hours", "Nullable(Float64)"),
        ("is_completed", "UInt8"), ("is_checked_in", "UInt8"), ("is_no_show", "UInt8"), ("is_cancelled", "UInt8"),
        ("is_late_cancel", "UInt8"), ("is_kept_or_missed", "UInt8"), ("is_reschedule", "UInt8"),
        ("was_rescheduled", "UInt8"), ("has_encounter", "UInt8"), ("_source_watermark", "Nullable(DateTime64(3, 'UTC'))")],
    "fct_ar_aging_daily": [
        ("date", "Date"), ("facility_id", "UUID"), ("provider_id", "UUID"), ("payer_id", "UUID"),
        ("responsibility", "String"), ("aging_bucket", "String"), ("ar_balance", "Decimal(18, 2)"),
        ("credit_balance", "Decimal(18, 2)"), ("open_accounts", "UInt64"), ("credit_accounts", "UInt64"),
        ("_source_watermark", "Nullable(DateTime64(3, 'UTC'))")],
    "fct_claim_denials": [
        ("denial_id", "UUID"), ("claim_id", "UUID"), ("encounter_id", "UUID"), ("patient_id", "UUID"),
        ("facility_id", "UUID"), ("provider_id", "UUID"), ("payer_id", "UUID"), ("date_of_service", "Date"),
        ("denied_at", "DateTime64(6, 'UTC')"), ("denied_date", "Date"), ("denial_sequence", "UInt32"),
        ("is_initial_denial", "UInt8"), ("answer_status", "String"), ("carc_group_code", "String"),
        ("carc_reason_code", "String"), ("remark_codes", "Array(String)"), ("claim_charge", "Decimal(18, 2)"),
        ("denied_amount", "Decimal(18, 2)"), ("appealed_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("is_appealed", "UInt8"), ("overturned_at", "Nullable(DateTime64(6, 'UTC'))"), ("is_overturned", "UInt8"),
        ("recovered_amount", "Decimal(18, 2)"), ("written_off_amount", "Decimal(18, 2)"),
        ("current_claim_status", "String")],
    "fct_claims": [
        ("claim_id", "UUID"), ("encounter_id", "UUID"), ("patient_id", "UUID"), ("facility_id", "UUID"),
        ("provider_id", "UUID"), ("payer_id", "UUID"), ("coverage_id", "Nullable(UUID)"), ("date_of_service", "Date"),
        ("claim_status", "String"), ("is_void", "UInt8"), ("line_count", "UInt64"), ("units", "Int64"),
        ("total_charge", "Decimal(18, 2)"), ("first_submitted_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("first_submitted_date", "Nullable(Date)"), ("submission_count", "UInt64"),
        ("first_accepted_at", "Nullable(DateTime64(6, 'UTC'))"), ("first_rejected_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("is_clean_claim", "Nullable(UInt8)"), ("first_adjudicated_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("first_adjudicated_date", "Nullable(Date)"), ("first_adjudication_status", "Nullable(String)"),
        ("is_initial_denial", "UInt8"), ("is_first_pass_paid", "Nullable(UInt8)"), ("adjudication_count", "UInt64"),
        ("denial_count", "UInt64"), ("first_denied_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("first_appealed_at", "Nullable(DateTime64(6, 'UTC'))"), ("is_appealed", "UInt8"),
        ("is_overturned", "Nullable(UInt8)"), ("first_paid_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("first_paid_date", "Nullable(Date)"), ("closed_at", "Nullable(DateTime64(6, 'UTC'))"),
        ("voided_at", "Nullable(DateTime64(6, 'UTC'))"), ("allowed_amount", "Nullable(Decimal(18, 2))"),
        ("contractual_adjustment", "Decimal(18, 2)"), ("patient_responsibility", "Decimal(18, 2)"),
        ("carc_co_amount", "Decimal(18, 2)"), ("carc_pr_amount", "Decimal(18, 2)"), ("carc_oa_amount", "Decimal(18, 2)"),
        ("carc_pi_amount", "Decimal(18, 2)"), ("carc_cr_amount", "Decimal(18, 2)"), ("insurance_paid", "Decimal(18, 2)"),
        ("patient_paid", "Decimal(18, 2)"), ("net_adjustments", "Decimal(18, 2)"), ("write_offs", "Decimal(18, 2)"),
        ("claim_balance", "Decimal(18, 2)"), ("first_insurance_payment_date", "Nullable(Date)"),
        ("days_to_submit", "Nullable(Int32)"), ("days_to_payment", "Nullable(Int32)"),
        ("_source_watermark", "Nullable(DateTime64(3, 'UTC'))")],
    "fct_kpi_daily": [("date", "Date"), ("facility_id", "UUID"),
                      *((c, "Decimal(18, 2)") for c in (
                          "ar_total", "ar_0_30", "ar_31_60", "ar_61_90", "ar_91_120", "ar_over_120", "ar_insurance",
                          "ar_patient", "credit_balance", "gross_charges", "contractual_adjustments",
                          "payments_received", "payments_insurance", "payments_patient")),
                      *((c, "UInt64") for c in ("claims_first_submitted", "claims_clean", "claims_first_adjudicated",
                                                "claims_initially_denied", "claims_first_pass_paid")),
                      ("charges_first_adjudicated", "Decimal(18, 2)"), ("charges_initially_denied", "Decimal(18, 2)"),
                      *((c, "UInt64") for c in ("appointments_scheduled", "appointments_completed",
                                                "appointments_checked_in", "appointments_no_show",
                                                "appointments_cancelled", "appointments_late_cancelled", "visits")),
                      ("wrvus", "Decimal(18, 2)")],
    "fct_payments": [
        ("payment_id", "UUID"), ("received_date", "Date"), ("received_at", "DateTime64(6, 'UTC')"),
        ("facility_id", "UUID"), ("patient_id", "UUID"), ("claim_id", "Nullable(UUID)"),
        ("encounter_id", "Nullable(UUID)"), ("provider_id", "UUID"), ("payer_id", "UUID"),
        ("remittance_id", "Nullable(UUID)"), ("payment_source", "String"), ("payment_method", "String"),
        ("amount", "Decimal(18, 2)"), ("is_applied", "UInt8"), ("date_of_service", "Nullable(Date)"),
        ("days_from_service", "Nullable(Int32)"), ("_source_watermark", "Nullable(DateTime64(3, 'UTC'))")],
    "fct_provider_productivity": [
        ("date", "Date"), ("provider_id", "UUID"), ("scheduled_minutes", "Int64"), ("time_off_minutes", "Int64"),
        ("available_minutes", "Int64"), ("booked_minutes", "Int64"),
        *((c, "UInt64") for c in ("appointments_scheduled", "appointments_completed", "appointments_checked_in",
                                  "appointments_no_show", "appointments_cancelled", "appointments_late_cancelled",
                                  "visits")),
        ("is_day_worked", "UInt8"), ("wrvus", "Decimal(18, 2)"), ("gross_charges", "Decimal(18, 2)"),
        ("payments_received", "Decimal(18, 2)")],
}
ORDER_BY = {"dim_facility": "facility_id", "dim_provider": "provider_id", "dim_payer": "payer_id",
            "fct_appointments": "(facility_id, start_date, appointment_id)",
            "fct_ar_aging_daily": "(date, facility_id, provider_id, payer_id, responsibility, aging_bucket)",
            "fct_claim_denials": "(facility_id, denied_date, denial_id)",
            "fct_claims": "(facility_id, date_of_service, claim_id)", "fct_kpi_daily": "(facility_id, date)",
            "fct_payments": "(facility_id, received_date, payment_id)", "fct_provider_productivity": "(provider_id, date)"}

PAYERS = [("Acme Health", "commercial"), ("Medicare", "medicare"), ("Blue Star", "commercial")]
PROVIDERS = [("Ada", "Byron", 0), ("Ben", "Casey", 0), ("Cleo", "Diaz", 1), ("Dev", "Eng", 1)]
FEES = [(Decimal("150.00"), Decimal("1.30")), (Decimal("220.00"), Decimal("1.92")), (Decimal("170.00"), Decimal("1.47"))]
REASONS = [("CO", "197"), ("CO", "16"), ("CO", "50"), ("OA", "18")]


def bucket(age: int) -> str:
    return "0-30" if age <= 30 else "31-60" if age <= 60 else "61-90" if age <= 90 else "91-120" if age <= 120 else "121+"


@dataclass
class Seeded:
    facilities: dict[str, str]  # id -> name
    providers: dict[str, str]
    payers: dict[str, str]
    claim_ids: list[str] = field(default_factory=list)
    upcoming_ids: list[str] = field(default_factory=list)


def _ts(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def build(client, facility_ids: list[str], models_dir: Path | None = None, seed: int = 20260630) -> Seeded:
    """Create ``marts.*`` and ``ml.*`` on ``client``'s server and fill them."""
    rng = random.Random(seed)
    uid = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # noqa: E731 - reproducible ids
    client.command("CREATE DATABASE IF NOT EXISTS marts")
    for table, columns in SCHEMA.items():
        client.command(f"DROP TABLE IF EXISTS marts.{table}")
        client.command(f"CREATE TABLE marts.{table} ({', '.join(f'`{c}` {t}' for c, t in columns)}) "
                       f"ENGINE = MergeTree ORDER BY {ORDER_BY[table]}")

    facilities = dict(zip(facility_ids[:2], ("East Clinic", "West Clinic"), strict=True))
    fac = list(facilities)
    providers = [(uid(), f"{first} {last}", first, last, fac[i]) for first, last, i in PROVIDERS]
    payers = [(uid(), name, kind) for name, kind in PAYERS]
    _insert(client, "dim_facility", ["facility_id", "facility_name", "timezone", "pos_code", "provider_count",
                                     "created_at"],
            [[uuid.UUID(f), n, "America/New_York", "11", 2, _ts(FIRST_DAY)] for f, n in facilities.items()])
    _insert(client, "dim_provider", ["provider_id", "npi", "provider_name", "first_name", "last_name", "specialty",
                                     "is_active", "primary_facility_id", "facility_count"],
            [[p, f"10000000{i:02d}", n, a, b, "Family Medicine", 1, uuid.UUID(f), 1]
             for i, (p, n, a, b, f) in enumerate(providers)]
            + [[uuid.UUID(UNKNOWN), "", "(none)", "", "", "(none)", 0, None, 0]])
    _insert(client, "dim_payer", ["payer_id", "payer_name", "edi_payer_id", "payer_kind", "is_insurance"],
            [[p, n, f"EDI{i}", k, 1] for i, (p, n, k) in enumerate(payers)]
            + [[uuid.UUID(UNKNOWN), "(self-pay / none)", None, "self_pay", 0]])

    appointments, claims, denials, payments = [], [], [], []
    upcoming = []
    day = FIRST_DAY
    while day <= AS_OF + timedelta(days=14):
        if day.weekday() < 5:
            for provider_id, _, _, _, facility in providers:
                for slot in range(rng.randint(5, 9)):
                    hour = 8 + slot
                    appointment = uid()
                    future = day > AS_OF
                    roll = rng.random()
                    status = (rng.choice(["scheduled", "confirmed"]) if future else
                              "no_show" if roll < 0.08 else "cancelled" if roll < 0.18 else
                              "checked_in" if roll < 0.19 and day == AS_OF else "completed")
                    late = status == "cancelled" and rng.random() < 0.3
                    appointments.append(dict(
                        appointment_id=appointment, start_date=day, starts_at=_ts(day, hour + 4),
                        ends_at=_ts(day, hour + 4) + timedelta(minutes=30), start_hour=hour,
                        start_weekday=day.isoweekday(), facility_id=uuid.UUID(facility), provider_id=provider_id,
                        patient_id=uid(), appointment_type=rng.choice(["new_patient", "follow_up", "annual"]),
                        appointment_status=status, duration_minutes=30, booked_at=_ts(day - timedelta(days=10)),
                        lead_time_days=10, is_completed=int(status == "completed"),
                        is_checked_in=int(status == "checked_in"), is_no_show=int(status == "no_show"),
                        is_cancelled=int(status == "cancelled"), is_late_cancel=int(late),
                        is_kept_or_missed=int(status in ("completed", "checked_in", "no_show")),
                        has_encounter=int(status == "completed")))
                    if future:
                        upcoming.append(appointment)
                    if status == "completed" and rng.random() < 0.92:
                        claims.append(_claim(rng, uid, day, facility, provider_id, rng.choice(payers)[0],
                                             denials, payments))
        day += timedelta(days=1)

    _insert_dicts(client, "fct_appointments", appointments)
    _insert_dicts(client, "fct_claims", claims)
    _insert_dicts(client, "fct_claim_denials", denials)
    _insert_dicts(client, "fct_payments", payments)
    aging = _ar_aging(claims, payments)
    _insert_dicts(client, "fct_ar_aging_daily", aging)
    _insert_dicts(client, "fct_kpi_daily", _kpi_daily(fac, appointments, claims, payments, aging))
    _insert_dicts(client, "fct_provider_productivity", _productivity(providers, appointments, claims, payments))
    _ml(client, rng, fac, upcoming, payments, models_dir)
    return Seeded(facilities=facilities, providers={str(p[0]): p[1] for p in providers},
                  payers={str(p[0]): p[1] for p in payers}, claim_ids=[str(c["claim_id"]) for c in claims],
                  upcoming_ids=[str(a) for a in upcoming])


def _claim(rng, uid, dos: date, facility: str, provider_id, payer_id, denials: list, payments: list) -> dict:
    charge, _ = rng.choice(FEES)
    claim_id = uid()
    row = dict(claim_id=claim_id, encounter_id=uid(), patient_id=uid(), facility_id=uuid.UUID(facility),
               provider_id=provider_id, payer_id=payer_id, date_of_service=dos, line_count=1, units=1,
               total_charge=charge, insurance_paid=Decimal("0.00"), patient_paid=Decimal("0.00"),
               contractual_adjustment=Decimal("0.00"), claim_balance=charge, is_initial_denial=0, is_appealed=0,
               adjudication_count=0, denial_count=0, submission_count=0)
    age = (AS_OF - dos).days
    if age < 2 or rng.random() < 0.02:
        row.update(claim_status="draft")
        return row
    submitted = dos + timedelta(days=rng.randint(0, min(4, age)))
    clean = int(rng.random() < 0.94)
    row.update(first_submitted_at=_ts(submitted), first_submitted_date=submitted, submission_count=1 if clean else 2,
               is_clean_claim=clean, days_to_submit=(submitted - dos).days, claim_status="submitted")
    adjudicated = submitted + timedelta(days=rng.randint(6, 25))
    if adjudicated > AS_OF:
        row.update(claim_status=rng.choice(["submitted", "accepted"]))
        return row
    denied = rng.random() < 0.09
    row.update(first_adjudicated_at=_ts(adjudicated), first_adjudicated_date=adjudicated, adjudication_count=1,
               first_adjudication_status="denied" if denied else "paid", is_initial_denial=int(denied),
               is_first_pass_paid=int(not denied))
    paid_on = adjudicated
    if denied:
        group, reason = rng.choice(REASONS)
        appealed = rng.random() < 0.5
        overturned = appealed and rng.random() < 0.6
        written_off = not appealed and rng.random() < 0.3
        paid_on = adjudicated + timedelta(days=rng.randint(15, 40)) if overturned else None
        if paid_on and paid_on > AS_OF:
            paid_on, overturned = None, False
        status = "paid" if overturned else "appealed" if appealed else "closed" if written_off else "denied"
        row.update(claim_status=status, denial_count=1, is_appealed=int(appealed), is_overturned=int(overturned),
                   first_denied_at=_ts(adjudicated))
        denials.append(dict(
            denial_id=uid(), claim_id=claim_id, encounter_id=row["encounter_id"], patient_id=row["patient_id"],
            facility_id=row["facility_id"], provider_id=provider_id, payer_id=payer_id, date_of_service=dos,
            denied_at=_ts(adjudicated), denied_date=adjudicated, denial_sequence=1, is_initial_denial=1,
            answer_status="denied", carc_group_code=group, carc_reason_code=reason, claim_charge=charge,
            denied_amount=charge, is_appealed=int(appealed), appealed_at=_ts(adjudicated + timedelta(days=3)) if appealed else None,
            is_overturned=int(overturned), overturned_at=_ts(paid_on) if overturned else None,
            recovered_amount=(charge * Decimal("0.8")).quantize(CENT) if overturned else Decimal("0.00"),
            written_off_amount=charge if written_off else Decimal("0.00"), current_claim_status=status))
        if written_off:
            row.update(write_offs=charge, claim_balance=Decimal("0.00"))
        if not paid_on:
            return row
    allowed = (charge * Decimal(rng.choice(["0.70", "0.80", "0.90"]))).quantize(CENT)
    patient_part = (allowed * Decimal("0.2")).quantize(CENT) if rng.random() < 0.5 else Decimal("0.00")
    insurance = allowed - patient_part
    row.update(claim_status="paid" if not patient_part else rng.choice(["partially_paid", "paid"]),
               allowed_amount=allowed, contractual_adjustment=charge - allowed, patient_responsibility=patient_part,
               insurance_paid=insurance, first_paid_at=_ts(paid_on), first_paid_date=paid_on,
               first_insurance_payment_date=paid_on, days_to_payment=(paid_on - submitted).days)
    payments.append(_payment(uid, paid_on, row, "insurance", insurance))
    balance = patient_part
    patient_paid_on = paid_on + timedelta(days=rng.randint(5, 30))
    if patient_part and patient_paid_on <= AS_OF and rng.random() < 0.7:
        payments.append(_payment(uid, patient_paid_on, row, "patient", patient_part))
        row["patient_paid"], balance = patient_part, Decimal("0.00")
    row["claim_balance"] = balance
    if not balance:
        row["claim_status"] = "paid"
    return row


def _payment(uid, day: date, claim: dict, source: str, amount: Decimal) -> dict:
    return dict(payment_id=uid(), received_date=day, received_at=_ts(day, 15), facility_id=claim["facility_id"],
                patient_id=claim["patient_id"], claim_id=claim["claim_id"], encounter_id=claim["encounter_id"],
                provider_id=claim["provider_id"], payer_id=claim["payer_id"] if source == "insurance" else uuid.UUID(UNKNOWN),
                payment_source=source, payment_method="eft" if source == "insurance" else "card", amount=amount,
                is_applied=1, date_of_service=claim["date_of_service"],
                days_from_service=(day - claim["date_of_service"]).days)


def _ar_aging(claims: list[dict], payments: list[dict]) -> list[dict]:
    """Each day's open balance per claim: the charge from the date of service, less what was paid,
    contractually adjusted or written off on or before the day (the rule of KPIS.md, simplified)."""
    changes = defaultdict(list)
    for p in payments:
        changes[p["claim_id"]].append((p["received_date"], -p["amount"]))
    totals: dict[tuple, list] = defaultdict(lambda: [Decimal("0.00"), 0])
    accounts: dict[tuple, int] = {}  # small ints in the hot loop's keys: UUIDs hash slowly
    for c in claims:
        events = list(changes[c["claim_id"]])
        if c.get("first_paid_date"):
            events.append((c["first_paid_date"], -c["contractual_adjustment"]))
        if c.get("write_offs"):
            events.append((c["first_adjudicated_date"], -c["write_offs"]))
        events.sort(key=lambda e: e[0])
        account = accounts.setdefault((c["facility_id"], c["provider_id"], c["payer_id"]), len(accounts))
        paid_on = c.get("first_paid_date") or date.max
        balance, pending = c["total_charge"], 0
        for age in range((AS_OF - c["date_of_service"]).days + 1):
            day = c["date_of_service"] + timedelta(days=age)
            while pending < len(events) and events[pending][0] <= day:
                balance += events[pending][1]
                pending += 1
            if balance > 0:
                total = totals[(day, account, "patient" if paid_on <= day else "insurance", bucket(age))]
                total[0] += balance
                total[1] += 1
    keys = {index: key for key, index in accounts.items()}
    return [dict(date=day, facility_id=keys[account][0], provider_id=keys[account][1], payer_id=keys[account][2],
                 responsibility=responsibility, aging_bucket=age_bucket, ar_balance=v[0],
                 credit_balance=Decimal("0.00"), open_accounts=v[1], credit_accounts=0)
            for (day, account, responsibility, age_bucket), v in totals.items()]


def _kpi_daily(facility_ids: list[str], appointments, claims, payments, aging) -> list[dict]:
    rows = {}
    day = FIRST_DAY
    while day <= AS_OF:
        for f in facility_ids:
            rows[(day, uuid.UUID(f))] = defaultdict(int, date=day, facility_id=uuid.UUID(f))
        day += timedelta(days=1)

    def add(day, facility, **values):
        if (day, facility) in rows:
            for k, v in values.items():
                rows[(day, facility)][k] += v

    for a in appointments:
        add(a["start_date"], a["facility_id"], appointments_scheduled=1, appointments_completed=a["is_completed"],
            appointments_checked_in=a["is_checked_in"], appointments_no_show=a["is_no_show"],
            appointments_cancelled=a["is_cancelled"], appointments_late_cancelled=a["is_late_cancel"],
            visits=a["is_completed"], wrvus=Decimal("1.30") * a["is_completed"])
    for c in claims:
        add(c["date_of_service"], c["facility_id"], gross_charges=c["total_charge"],
            contractual_adjustments=c["contractual_adjustment"])
        if c.get("first_submitted_date"):
            add(c["first_submitted_date"], c["facility_id"], claims_first_submitted=1, claims_clean=c["is_clean_claim"])
        if c.get("first_adjudicated_date"):
            add(c["first_adjudicated_date"], c["facility_id"], claims_first_adjudicated=1,
                claims_initially_denied=c["is_initial_denial"], claims_first_pass_paid=c["is_first_pass_paid"],
                charges_first_adjudicated=c["total_charge"],
                charges_initially_denied=c["total_charge"] * c["is_initial_denial"])
    for p in payments:
        add(p["received_date"], p["facility_id"], payments_received=p["amount"],
            **{f"payments_{p['payment_source']}": p["amount"]})
    columns = {"0-30": "ar_0_30", "31-60": "ar_31_60", "61-90": "ar_61_90", "91-120": "ar_91_120", "121+": "ar_over_120"}
    for a in aging:
        add(a["date"], a["facility_id"], ar_total=a["ar_balance"], **{columns[a["aging_bucket"]]: a["ar_balance"]},
            **{f"ar_{a['responsibility']}": a["ar_balance"]})
    money = {c for c, t in SCHEMA["fct_kpi_daily"] if t.startswith("Decimal")}
    return [{c: (Decimal(str(r[c])) if c in money else r[c]) for c, _ in SCHEMA["fct_kpi_daily"]} for r in rows.values()]


def _productivity(providers, appointments, claims, payments) -> list[dict]:
    rows = {}
    day = FIRST_DAY
    while day <= AS_OF:
        for provider_id, *_ in providers:
            available = 480 if day.weekday() < 5 else 0
            rows[(day, provider_id)] = defaultdict(int, date=day, provider_id=provider_id, scheduled_minutes=available,
                                                   available_minutes=available)
        day += timedelta(days=1)
    for a in appointments:
        if (a["start_date"], a["provider_id"]) in rows:
            r = rows[(a["start_date"], a["provider_id"])]
            r["appointments_scheduled"] += 1
            r["appointments_completed"] += a["is_completed"]
            r["appointments_checked_in"] += a["is_checked_in"]
            r["appointments_no_show"] += a["is_no_show"]
            r["appointments_cancelled"] += a["is_cancelled"]
            r["appointments_late_cancelled"] += a["is_late_cancel"]
            r["booked_minutes"] += a["duration_minutes"] if a["is_completed"] or a["is_checked_in"] else 0
            r["visits"] += a["is_completed"]
            r["wrvus"] += Decimal("1.30") * a["is_completed"]
    for c in claims:
        rows[(c["date_of_service"], c["provider_id"])]["gross_charges"] += c["total_charge"]
    for p in payments:
        if (p["received_date"], p["provider_id"]) in rows:
            rows[(p["received_date"], p["provider_id"])]["payments_received"] += p["amount"]
    out = []
    for r in rows.values():
        r["is_day_worked"] = int(r["visits"] > 0)
        out.append({c: (Decimal(str(r[c])) if t.startswith("Decimal") else r[c])
                    for c, t in SCHEMA["fct_provider_productivity"]})
    return out


def _ml(client, rng, facility_ids, upcoming, payments, models_dir: Path | None) -> None:
    """ml.* as `pms ml train` and `pms ml score` leave them (tables from ml.tables), and registry cards."""
    client.command("DROP DATABASE IF EXISTS ml")
    ensure_ml_schema(client)
    version = "20260630T060000000000Z"
    created = datetime(2026, 6, 30, 6, tzinfo=UTC)
    client.insert("ml.no_show_scores", [[a, version, round(rng.uniform(0.02, 0.6), 4), created] for a in upcoming],
                  column_names=["appointment_id", "model_version", "probability", "scored_at"])
    weekly = defaultdict(Decimal)
    for p in payments:
        weekly[p["received_date"] - timedelta(days=p["received_date"].weekday())] += p["amount"]
    level = sum(list(weekly.values())[-8:], Decimal("0")) / 8
    forecast = []
    first_week = AS_OF - timedelta(days=AS_OF.weekday())
    for series, share in [(None, Decimal("1")), *((uuid.UUID(f), Decimal("0.5")) for f in facility_ids)]:
        for h in range(13):
            point = (level * share * Decimal(str(1 + 0.01 * h))).quantize(CENT)
            width80, width95 = point * Decimal(str(0.08 + 0.01 * h)), point * Decimal(str(0.15 + 0.015 * h))
            forecast.append([first_week + timedelta(weeks=h), series, point, (point - width80).quantize(CENT),
                             (point + width80).quantize(CENT), (point - width95).quantize(CENT),
                             (point + width95).quantize(CENT), version, created])
    client.insert("ml.revenue_forecast", forecast, column_names=["week_start", "facility_id", "point", "lo80", "hi80",
                                                                 "lo95", "hi95", "model_version", "created_at"])
    metrics = [["revenue_forecast", version, m, v, f"backtest/{s}", created]
               for s in ["practice", *facility_ids]
               for m, v in [("mase_model", 0.71), ("mase_seasonal_naive", 1.0), ("mase_moving_average", 0.93),
                            ("mae_ratio_to_seasonal_naive", 0.74), ("coverage_80", 0.81), ("coverage_95", 0.94),
                            ("season", 1.0), ("origins", 40.0)]]
    metrics += [["no_show", version, m, v, "test", created] for m, v in
                [("roc_auc", 0.74), ("pr_auc", 0.21), ("brier", 0.061), ("brier_base_rate", 0.069), ("n", 900.0)]]
    for b in range(1, 11):
        metrics += [["no_show", version, f"reliability_{b:02d}_{k}", v, "test", created]
                    for k, v in [("n", 90.0), ("mean_predicted", 0.01 * b), ("observed_rate", 0.01 * b + 0.004)]]
    client.insert("ml.model_metrics", metrics, column_names=["model", "version", "metric", "value", "split", "created_at"])
    if models_dir is not None:
        for name, card in [("revenue_forecast", {"model": "Ridge on log payments", "horizon_weeks": 13,
                                                 "levels": ["80", "95"]}),
                           ("no_show", {"model": "HistGradientBoostingClassifier + CalibratedClassifierCV",
                                        "calibration": "isotonic"})]:
            folder = models_dir / name / version
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "card.json").write_text(json.dumps({"name": name, "version": version,
                                                          "created_at": created.isoformat(), **card}))


def _insert(client, table: str, columns: list[str], rows: list[list]) -> None:
    client.insert(f"marts.{table}", rows, column_names=columns)


def _insert_dicts(client, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    known = [c for c, _ in SCHEMA[table]]
    columns = sorted({c for r in rows for c in r} & set(known), key=known.index)
    client.insert(f"marts.{table}", [[r[c] if c in r else _default(table, c) for c in columns] for r in rows],
                  column_names=columns)


def _default(table: str, column: str):
    kind = dict(SCHEMA[table])[column]
    if kind.startswith("Nullable"):
        return None
    if kind.startswith("Decimal"):
        return Decimal("0.00")
    if kind.startswith(("UInt", "Int")):
        return 0
    if kind == "String":
        return ""
    raise ValueError(f"{table}.{column} needs a value")
