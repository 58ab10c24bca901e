"""Provider templates and capacity by specialty, and the visit mix each specialty books.

A provider's day is two clinic sessions (morning, afternoon, lunch in between) cut into slots of the
specialty's base length (15, 20 or 30 min); a visit takes one or two slots, so new patients and
physicals run 30-60 min. Templates are written to provider_schedules; time off (vacations,
holidays) to provider_time_off, so utilisation has an honest denominator.

Visit types carry a lead-time profile (same-day, short, long booking) and the patient group they
draw from. Shares are rounded from typical office-based practice mixes (NAMCS visit reasons).
"""

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class VisitType:
    name: str
    share: float
    slots: int  # in base slots
    lead: tuple[float, float, float]  # P(same day), P(1-14 days), P(15-120 days)


@dataclass(frozen=True)
class Specialty:
    name: str
    slot_minutes: int
    sessions: tuple[tuple[time, time], ...]
    group: str  # patient pool the specialty draws from (see people.GROUPS)
    visits: tuple[VisitType, ...]
    utilisation: float  # share of slots booked on an average day (busy practices run at ~90 %)


SICK = (0.55, 0.43, 0.02)
ROUTINE = (0.04, 0.36, 0.60)
PREVENTIVE = (0.02, 0.18, 0.80)

SPECIALTIES: dict[str, Specialty] = {s.name: s for s in [
    Specialty("Family Medicine", 20, ((time(8), time(12)), (time(13), time(17))), "any", (
        VisitType("follow_up", 0.40, 1, ROUTINE), VisitType("sick_visit", 0.25, 1, SICK),
        VisitType("annual_physical", 0.12, 2, PREVENTIVE), VisitType("new_patient", 0.09, 2, ROUTINE),
        VisitType("medicare_wellness", 0.07, 2, PREVENTIVE), VisitType("procedure", 0.07, 1, ROUTINE)), 0.90),
    Specialty("Internal Medicine", 20, ((time(8, 30), time(12)), (time(13), time(17))), "adult", (
        VisitType("follow_up", 0.52, 1, ROUTINE), VisitType("sick_visit", 0.16, 1, SICK),
        VisitType("annual_physical", 0.10, 2, PREVENTIVE), VisitType("new_patient", 0.08, 2, ROUTINE),
        VisitType("medicare_wellness", 0.10, 2, PREVENTIVE), VisitType("procedure", 0.04, 1, ROUTINE)), 0.90),
    Specialty("Pediatrics", 15, ((time(8), time(12)), (time(13), time(17, 30))), "child", (
        VisitType("well_child", 0.30, 2, PREVENTIVE), VisitType("sick_visit", 0.45, 1, SICK),
        VisitType("follow_up", 0.15, 1, ROUTINE), VisitType("new_patient", 0.10, 2, ROUTINE)), 0.88),
    Specialty("Obstetrics & Gynecology", 20, ((time(8), time(12)), (time(13), time(16, 40))), "women", (
        VisitType("annual_physical", 0.30, 2, PREVENTIVE), VisitType("prenatal", 0.28, 1, ROUTINE),
        VisitType("follow_up", 0.20, 1, ROUTINE), VisitType("new_patient", 0.12, 2, ROUTINE),
        VisitType("procedure", 0.10, 2, ROUTINE)), 0.87),
    Specialty("Cardiology", 30, ((time(8), time(12)), (time(13), time(16))), "cardio", (
        VisitType("follow_up", 0.55, 1, ROUTINE), VisitType("new_patient", 0.25, 2, ROUTINE),
        VisitType("procedure", 0.20, 2, ROUTINE)), 0.89),
    Specialty("Orthopedic Surgery", 15, ((time(8), time(12)), (time(13), time(16))), "any", (
        VisitType("follow_up", 0.45, 1, ROUTINE), VisitType("new_patient", 0.25, 2, ROUTINE),
        VisitType("procedure", 0.30, 1, ROUTINE)), 0.88),
    Specialty("Dermatology", 15, ((time(8), time(12)), (time(13), time(16, 30))), "any", (
        VisitType("follow_up", 0.35, 1, ROUTINE), VisitType("new_patient", 0.25, 2, ROUTINE),
        VisitType("procedure", 0.40, 1, ROUTINE)), 0.89),
]}

# The specialty mix of a practice with n providers: primary care first, then specialists.
MIX = (("Family Medicine", 0.30), ("Internal Medicine", 0.20), ("Pediatrics", 0.15),
       ("Obstetrics & Gynecology", 0.10), ("Cardiology", 0.09), ("Orthopedic Surgery", 0.09),
       ("Dermatology", 0.07))
SMALL_PRACTICE = ("Family Medicine", "Family Medicine", "Pediatrics", "Internal Medicine", "Obstetrics & Gynecology")


def roster(n: int) -> list[str]:
    """n specialties: the small-practice list for n ≤ 5, else the MIX shares (largest remainder)."""
    if n <= len(SMALL_PRACTICE):
        return list(SMALL_PRACTICE[:n])
    raw = [(name, share * n) for name, share in MIX]
    counts = {name: int(x) for name, x in raw}
    for name, x in sorted(raw, key=lambda r: r[1] - int(r[1]), reverse=True)[: n - sum(counts.values())]:
        counts[name] += 1
    return [name for name, _ in MIX for _ in range(counts[name])]
