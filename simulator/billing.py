"""How payers answer claims and how patients pay what is left: the revenue-cycle distributions.

Claims (timing in engine.py):
- submitted 1-5 days after the visit (1 + an exponential with mean 1.2 days, capped at 5), 6 % late
  (10-45 days, uniform); the clearinghouse answers within hours and rejects the payer's `reject`
  share (2.5-6 %) for a front-end error, corrected and resubmitted in 1-4 days;
- the payer answers after a lognormal lag per payer (medians: Medicare 13 d, commercial 14-17 d,
  Medicaid 24 d, workers' comp 35 d);
- the first answer is a denial with the payer's `deny` probability (5.5-13 %, ~8 % overall), with a
  reason drawn from catalog.DENIALS (CO-16, CO-97, CO-197, CO-50, CO-29, CO-22, CO-18, CO-27, CO-4,
  CO-11); a claim submitted more than 60 days after the visit is denied for timely filing (CO-29)
  half the time; 5 % of paid multi-line claims are partially paid (one add-on line denied CO-97);
- denials are appealed with the reason's probability (overall ~60 %) 7-30 days later; the payer
  overturns the payer's base rate × the reason's multiplier (overall ~50 %) after a lognormal lag
  (median 30 d); a denial that stands is written off 10-40 days later (and needs an admin's approval
  above the organization's limit), then the claim is closed.
Amounts (an 835 that balances: charge = paid + Σ adjustments):
- allowed = charge × a normal ratio per payer (Medicare 0.47, Medicaid 0.36, commercial 0.62-0.70,
  workers' comp 0.78; sd 0.04-0.06); CO-45 = charge − allowed;
- patient share: commercial copay (PR-3) on office visits, deductible (PR-1) for the 35 % of
  commercial members on high-deductible plans, coinsurance (PR-2) on procedures and labs; Medicare
  Part B deductible (PR-1) then 20 % coinsurance (PR-2), none on wellness visits, labs or vaccines;
  Medicaid copays of $0-4; preventive visits carry no patient share (ACA); paid = allowed − PR.
Patients (after the remittance; PR-1/2/3 become a statement):
- 58 % pay in full after a lognormal lag (median 18 days), 14 % in two instalments (~20 and ~50
  days), 10 % pay half then the rest goes to collections, 18 % never pay: at 120 days the balance is
  written off as bad debt (placed with a collection agency); Medicaid patients are twice as likely
  not to pay; 1.5 % of payments are made twice and refunded within 2-6 weeks.
- self-pay visits: 60 % pay at checkout with a 25 % prompt-pay discount; the rest get a statement
  and follow the same payment behaviour on the full charge.
"""

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from ops_api.models.types import to_money

from simulator import catalog
from simulator.catalog import PayerSpec
from simulator.weighted import Weighted

ZERO = Decimal("0.00")
PREVENTIVE_TYPES = frozenset({"annual_physical", "well_child", "medicare_wellness"})
NO_COINSURANCE_MEDICARE = frozenset({"36415", "85025", "80053", "80061", "83036", "84443", "81002", "87880",
                                     "87804", "81025", "90686", "G0008", "G0438", "G0439", "G0444"})
OFFICE_VISITS = frozenset(c for c, _ in catalog.EM_NEW + catalog.EM_ESTABLISHED)
ADD_ON_LINES = frozenset({"G2211", "36415", "85025", "80053", "80061", "83036", "84443", "17003", "J3301"})
PARTIAL_SHARE = 0.05
LATE_SUBMISSION = 0.06
TIMELY_FILING_DAYS = 60


@dataclass(slots=True)
class Answer:
    """One payer answer, ready for PostRemittance."""

    paid: Decimal
    allowed: Decimal
    adjustments: list[tuple[str, str, Decimal]]
    denial: tuple[str, str, list[str]] | None
    deductible_used: Decimal = ZERO

    @property
    def patient_responsibility(self) -> Decimal:
        return sum((a for g, _, a in self.adjustments if g == "PR"), ZERO)


def submission_lag_days(rng: random.Random) -> float:
    if rng.random() < LATE_SUBMISSION:
        return rng.uniform(10, 45)
    return min(5.0, 1.0 + rng.expovariate(1 / 1.2))


def adjudication_lag_days(rng: random.Random, payer: PayerSpec) -> float:
    median, sigma = payer.lag
    return max(3.0, rng.lognormvariate(math.log(median), sigma))


DENIAL_REASONS = Weighted(catalog.DENIALS, [weight for weight, *_ in catalog.DENIALS.values()])
PAYMENT_METHODS = Weighted(("card", "check", "cash", "ach"), (0.62, 0.18, 0.08, 0.12))


def denial_reason(rng: random.Random, late: bool) -> str:
    if late and rng.random() < 0.5:
        return "29"
    return DENIAL_REASONS.pick(rng)


def denial(total: Decimal, reason: str) -> Answer:
    remark = catalog.DENIALS[reason][1]
    return Answer(ZERO, ZERO, [("CO", reason, total)], ("CO", reason, [remark]))


def pay(rng: random.Random, payer: PayerSpec, lines: list[tuple[str, Decimal]], visit_type: str,
        deductible_left: Decimal, copay: int, partial: bool) -> Answer:
    """Allowed, CO-45 and the patient's PR-1/2/3 for a claim the payer pays (wholly or but one line)."""
    ratio = min(0.95, max(0.25, rng.gauss(*payer.allowed)))
    denied_line = None
    if partial:
        candidates = [i for i, (code, _) in enumerate(lines) if code in ADD_ON_LINES]
        denied_line = candidates[-1] if candidates and len(lines) > 1 else None
    allowed_lines = [(code, to_money(charge * Decimal(str(round(ratio, 4))))) for i, (code, charge) in enumerate(lines)
                     if i != denied_line]
    allowed = sum((a for _, a in allowed_lines), ZERO)
    deductible = coinsurance = copay_due = ZERO
    if visit_type not in PREVENTIVE_TYPES:
        if payer.kind == "medicare":
            billable = sum((a for c, a in allowed_lines if c not in NO_COINSURANCE_MEDICARE), ZERO)
            deductible = min(deductible_left, billable)
            coinsurance = to_money((billable - deductible) * Decimal("0.20"))
        elif payer.kind in ("commercial", "medicaid"):
            if copay and any(c in OFFICE_VISITS for c, _ in allowed_lines):
                copay_due = min(Decimal(copay), allowed)
            rest = allowed - copay_due
            deductible = min(deductible_left, rest)
            procedures = sum((a for c, a in allowed_lines if c not in OFFICE_VISITS), ZERO)
            coinsurance = to_money(max(ZERO, min(procedures, rest - deductible)) * Decimal(str(payer.coinsurance)))
    pr = [("PR", code, amount) for code, amount in (("1", deductible), ("2", coinsurance), ("3", copay_due)) if amount]
    total = sum((c for _, c in lines), ZERO)
    adjustments: list[tuple[str, str, Decimal]] = []
    denial_info = None
    if denied_line is not None:
        adjustments.append(("CO", "97", lines[denied_line][1]))
        denial_info = ("CO", "97", [catalog.DENIALS["97"][1]])
    contractual = total - allowed - (lines[denied_line][1] if denied_line is not None else ZERO)
    if contractual:
        adjustments.append(("CO", "45", contractual))
    adjustments += pr
    paid = allowed - sum((a for _, _, a in pr), ZERO)
    return Answer(paid, allowed, adjustments, denial_info, deductible)


@dataclass(slots=True)
class PayPlan:
    """How a patient settles a statement: [(days after the statement, share of the balance)], and
    whether what is left goes to collections at COLLECTIONS_DAYS."""

    instalments: list[tuple[float, float]]
    duplicate: bool


COLLECTIONS_DAYS = 120


def pay_plan(rng: random.Random, payer_kind: str) -> PayPlan:
    u = rng.random()
    if payer_kind == "medicaid":
        u = min(0.999, u + 0.18) if u > 0.64 else u  # twice the non-payers
    lag = lambda median: max(1.0, rng.lognormvariate(math.log(median), 0.6))  # noqa: E731
    if u < 0.58:
        plan = [(lag(18), 1.0)]
    elif u < 0.72:
        first = lag(20)
        plan = [(first, 0.5), (first + lag(30), 1.0)]
    elif u < 0.82:
        plan = [(lag(25), 0.5)]
    else:
        plan = []
    return PayPlan([(d, s) for d, s in plan if d < COLLECTIONS_DAYS], bool(plan) and rng.random() < 0.015)


def payment_method(rng: random.Random) -> str:
    return PAYMENT_METHODS.pick(rng)
