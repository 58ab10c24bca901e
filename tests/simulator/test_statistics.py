"""The distributions the marts and models will see, within tolerances, on a one-year demo practice
(the op stream is analysed directly: no database needed)."""

import statistics
from collections import Counter, defaultdict
from datetime import date

import pytest

from simulator import catalog, engine, practice
from simulator.scales import SCALES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def history():
    """Per appointment: booking, final status and the time of a cancellation; per claim: its events."""
    built = practice.build(SCALES["demo"], 11, date(2025, 6, 2))
    appts: dict[int, dict] = {}
    claims: dict[int, list] = defaultdict(list)
    em = Counter()
    for op in engine.stream(built):
        kind = type(op).__name__
        if kind == "Book":
            appts[id(op.ref)] = {"booked": op.at, "start": op.starts_at, "status": "scheduled", "ref": op.ref}
            if op.rescheduled_from is not None:
                appts[id(op.rescheduled_from)].update(status="cancelled", cancelled=op.at)
        elif kind == "MoveAppointment":
            appts[id(op.appointment)]["status"] = op.status
            if op.status == "cancelled":
                appts[id(op.appointment)]["cancelled"] = op.at
        elif kind in ("SubmitClaim", "MoveClaim", "PostRemittance"):
            claims[id(op.claim)].append(op)
        elif kind == "RecordEncounter":
            em.update(code for code, *_ in op.lines if code in dict(catalog.EM_ESTABLISHED))
    return built, list(appts.values()), claims, em


def test_no_show_rate_and_cancellations(history):
    _, appts, _, _ = history
    final = Counter(a["status"] for a in appts)
    assert 0.14 <= final["no_show"] / (final["completed"] + final["no_show"]) <= 0.21
    cancelled = [a for a in appts if a["status"] == "cancelled"]
    late = sum((a["start"] - a["cancelled"]).total_seconds() < 86400 for a in cancelled)
    assert 0.04 <= len(cancelled) / len(appts) <= 0.15
    assert 0.25 <= late / len(cancelled) <= 0.55


def test_lead_times_are_a_mixture(history):
    _, appts, _, _ = history
    days = [(a["start"] - a["booked"]).total_seconds() / 86400 for a in appts]
    same_day = sum(d < 1 for d in days) / len(days)
    assert 0.08 <= same_day <= 0.30
    assert 3 <= statistics.median(days) <= 20
    assert sum(d > 30 for d in days) / len(days) >= 0.15


def test_weekly_and_seasonal_demand(history):
    _, appts, _, _ = history
    by_weekday = Counter(a["start"].weekday() for a in appts)
    assert by_weekday[5] == by_weekday[6] == 0
    assert by_weekday[0] > by_weekday[4] * 1.15
    per_day = Counter(a["start"].date() for a in appts)

    def daily(months: set[int]) -> float:
        days = [n for d, n in per_day.items() if d.month in months and d < date(2025, 6, 2)]
        return sum(days) / len(days)

    # Respiratory winter against the summer dip; whole seasons, since one month's holidays and the
    # reschedules of a single seed move a single month's mean by several per cent.
    assert daily({12, 1, 2}) > daily({6, 7, 8}) * 1.05


def _first_answers(claims):
    for events in claims.values():
        answers = [op for op in events if type(op).__name__ == "PostRemittance"]
        if answers:
            yield events, answers


def test_denials_appeals_and_payment_lags(history):
    _, _, claims, _ = history
    denied = overturned = appealed = 0
    lags, submit_lags = [], []
    first = 0
    for events, answers in _first_answers(claims):
        first += 1
        accepted = next(op.at for op in events if type(op).__name__ == "MoveClaim" and op.status == "accepted")
        lags.append((answers[0].at - accepted).days)
        if answers[0].denial is not None and answers[0].paid_amount == 0:
            denied += 1
            if any(type(op).__name__ == "MoveClaim" and op.status == "appealed" for op in events) and len(answers) > 1:
                appealed += 1
                overturned += answers[1].paid_amount > 0 or answers[1].allowed_amount > 0
    assert 0.05 <= denied / first <= 0.15
    assert appealed >= 30 and 0.35 <= overturned / appealed <= 0.70
    assert 10 <= statistics.median(lags) <= 25


def test_clean_claims_and_remittances_balance(history):
    _, _, claims, _ = history
    submitted = [events for events in claims.values() if events]
    rejected = sum(any(type(op).__name__ == "MoveClaim" and op.status == "rejected" for op in ev) for ev in submitted)
    assert rejected / len(submitted) <= 0.06
    for events, answers in _first_answers(claims):
        for answer in answers:
            patient = sum(a for g, _, a in answer.adjustments if g == "PR")
            assert answer.allowed_amount == answer.paid_amount + patient


def test_em_level_mix(history):
    *_, em = history
    total = sum(em.values())
    assert 0.70 <= (em["99213"] + em["99214"]) / total <= 0.92
    assert em["99214"] > em["99215"] > em["99211"]
