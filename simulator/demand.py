"""When patients want to be seen: weekly and seasonal demand, holidays, booking lead times.

Booked share of a slot = specialty utilisation × weekday factor × season factor (capped at 97 %):
- weekday: Mon 1.10, Tue 1.03, Wed 1.00, Thu 0.97, Fri 0.86 (Mondays absorb the weekend's
  problems; Friday afternoons are light), clinics are closed on weekends;
- season: a winter respiratory peak (+9 % at mid-January, a cosine over the year) and a summer dip
  (−8 % centred on late July, a Gaussian of 3 weeks' width); pediatrics also gets a back-to-school
  bump for well-child visits (+10 % centred on mid-August);
- US federal holidays (and the day after Thanksgiving, Christmas Eve) are closed days, written as
  provider time off.
Sick-visit diagnoses shift to respiratory codes in the respiratory season (see coding.py).

Lead time (start − booked_at) is a mixture by visit type (specialties.VisitType.lead):
same day (30 min to 6 h before, within opening hours), short (1-14 days, 1 + the whole part of an
exponential with mean 3.5 days), long (15-120 days, 15 + a lognormal with median 18 days).
"""

import math
import random
from datetime import date, timedelta

WEEKDAY = (1.10, 1.03, 1.00, 0.97, 0.86, 0.0, 0.0)
MAX_LEAD_DAYS = 120


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    """A holiday on Saturday is observed on Friday, on Sunday on Monday."""
    return day - timedelta(days=1) if day.weekday() == 5 else day + timedelta(days=1) if day.weekday() == 6 else day


def holidays(year: int) -> dict[date, str]:
    thanksgiving = _nth_weekday(year, 11, 3, 4)
    days = {
        _observed(date(year, 1, 1)): "New Year's Day",
        _nth_weekday(year, 1, 0, 3): "Martin Luther King Jr. Day",
        _last_weekday(year, 5, 0): "Memorial Day",
        _observed(date(year, 6, 19)): "Juneteenth",
        _observed(date(year, 7, 4)): "Independence Day",
        _nth_weekday(year, 9, 0, 1): "Labor Day",
        thanksgiving: "Thanksgiving Day",
        thanksgiving + timedelta(days=1): "Day after Thanksgiving",
        date(year, 12, 24): "Christmas Eve",
        _observed(date(year, 12, 25)): "Christmas Day",
    }
    return {d: name for d, name in days.items() if d.weekday() < 5}


def season_factor(day: date, pediatric: bool = False) -> float:
    doy = day.timetuple().tm_yday
    winter = 0.09 * math.cos(2 * math.pi * (doy - 15) / 365.25)
    summer = -0.08 * math.exp(-(((doy - 205) / 21) ** 2))
    school = 0.10 * math.exp(-(((doy - 228) / 14) ** 2)) if pediatric else 0.0
    return 1.0 + winter + summer + school


def respiratory_season(day: date) -> float:
    """0..1 intensity of the respiratory season (peak mid-January, nil in summer)."""
    doy = day.timetuple().tm_yday
    return max(0.0, math.cos(2 * math.pi * (doy - 15) / 365.25)) ** 1.5


def booked_share(utilisation: float, day: date, pediatric: bool = False) -> float:
    return min(0.97, utilisation * WEEKDAY[day.weekday()] * season_factor(day, pediatric))


def lead_days(rng: random.Random, profile: tuple[float, float, float]) -> int:
    """Whole days between booking and visit: 0 = same day."""
    u = rng.random()
    if u < profile[0]:
        return 0
    if u < profile[0] + profile[1]:
        return min(14, 1 + int(rng.expovariate(1 / 3.5)))
    return min(MAX_LEAD_DAYS, 15 + int(rng.lognormvariate(math.log(18), 0.7)))
