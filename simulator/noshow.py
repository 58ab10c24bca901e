"""Whether a booked patient comes: a logistic no-show model and the cancellation process.

No-show: logit p = INTERCEPT + trait + Σ coefficient × feature, with features a model can learn
from the operational data at prediction time (documented in docs/simulator.md):

| feature | coefficient |
|---|---|
| ln(1 + lead days) | +0.30 |
| prior no-shows of the patient (capped at 3) | +0.25 each |
| age 0-17 / 18-29 / 30-44 / 45-64 / 65+ | +0.15 / +0.45 / +0.20 / 0 / −0.40 |
| weekday Mon / Tue / Wed / Thu / Fri | +0.10 / 0 / 0 / +0.05 / +0.20 |
| reminder sent | −0.55 |
| payer medicaid / self_pay / workers_comp / commercial / medicare | +0.60 / +0.55 / +0.20 / 0 / −0.15 |
| new patient | +0.25 |

The trait is the patient's own, drawn once (people.py): normal, SD TRAIT_SD. It is what makes a
patient's history predictive, as it is in real clinics; it is only seen through that history.
The intercept (−3.20) puts the overall rate at 15-20 % of kept-or-missed visits for the default mix.

Cancellation: P(cancel) = 0.03 + 0.12 × (1 − e^(−lead/21)): the longer ahead a visit was booked,
the likelier plans change. 35 % of cancellations are late (within 24 h of the start), the rest
fall uniformly between booking and the day before; 55 % of cancelled visits are rebooked at
once (a reschedule: a new appointment pointing at the old one).
"""

import math
import random

INTERCEPT = -3.2
LEAD = 0.30
PRIOR = 0.25
AGE = ((18, 0.15), (30, 0.45), (45, 0.20), (65, 0.0), (200, -0.40))
WEEKDAY = (0.10, 0.0, 0.0, 0.05, 0.20, 0.0, 0.0)
REMINDER = -0.55
PAYER = {"medicaid": 0.60, "self_pay": 0.55, "workers_comp": 0.20, "commercial": 0.0, "medicare": -0.15,
         "other": 0.0}
NEW_PATIENT = 0.25
TRAIT_SD = 1.5

LATE_CANCEL_SHARE = 0.35
RESCHEDULE_SHARE = 0.55


def no_show_probability(lead_days: float, prior_no_shows: int, age: int, weekday: int, reminder_sent: bool,
                        payer_kind: str, new_patient: bool, trait: float = 0.0) -> float:
    z = (INTERCEPT + trait + LEAD * math.log1p(lead_days) + PRIOR * min(prior_no_shows, 3)
         + next(c for limit, c in AGE if age < limit) + WEEKDAY[weekday] + (REMINDER if reminder_sent else 0.0)
         + PAYER[payer_kind] + (NEW_PATIENT if new_patient else 0.0))
    return 1.0 / (1.0 + math.exp(-z))


def cancel_probability(lead_days: float) -> float:
    return 0.03 + 0.12 * (1.0 - math.exp(-lead_days / 21.0))


def cancel_offset_hours(rng: random.Random, lead_hours: float) -> float:
    """Hours before the start at which the patient cancels (always after the booking)."""
    if lead_hours <= 24 or rng.random() < LATE_CANCEL_SHARE:
        return rng.uniform(1.0, min(24.0, max(1.0, lead_hours - 0.25)))
    return rng.uniform(24.0, lead_hours - 0.25)
