"""The practice's structure and its set-up operations: facilities, payers, a fee schedule that
rises 3 % each January, providers with schedule templates and time off, staff accounts, and the
patient population (people.py) the engine books from.

Staff accounts the simulation acts as (all `sim.*`): a front desk and a biller per facility, a
physician account per provider, an admin who approves adjustments above the limit, and two
service accounts for electronic traffic: `sim.edi.clearinghouse` (277CA acknowledgements) and
`sim.era.autopost` (835 remittance posting). They cannot log in (see writers.common.NO_LOGIN).
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from ops_api.models.types import to_money

from simulator import catalog, demand, ops, people
from simulator.scales import Scale
from simulator.specialties import SPECIALTIES, Specialty, roster

FEE_INFLATION = Decimal("1.03")
VACATION_WEEKS = 3


@dataclass
class ProviderInfo:
    index: int
    ref: ops.Ref
    user: ops.Ref
    specialty: Specialty
    # weekday → facility index for the days the provider works (both sessions)
    days: dict[int, int]
    off: set[date] = field(default_factory=set)


@dataclass
class FacilityInfo:
    index: int
    ref: ops.Ref
    name: str
    area: tuple
    tz: ZoneInfo
    front_desk: ops.Ref
    biller: ops.Ref


@dataclass
class Practice:
    scale: Scale
    seed: int
    start: date  # first day of appointment history
    anchor: date  # history ends at the start of this day
    setup_at: datetime
    end_at: datetime
    facilities: list[FacilityInfo]
    providers: list[ProviderInfo]
    payers: list[ops.Ref]
    fees: dict[str, list[tuple[date, Decimal]]]  # code → [(effective_from, charge)] ascending
    admin: ops.Ref
    clearinghouse: ops.Ref
    remittance_bot: ops.Ref
    population: people.Population
    pools: people.NamePools
    setup_ops: list[ops.Op]  # at setup_at, before any booking
    scheduled_ops: list[ops.Op]  # later set-up changes (next years' fees), merged in by time

    def fee(self, code: str, day: date) -> Decimal:
        return next(charge for since, charge in reversed(self.fees[code]) if since <= day)


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def build(scale: Scale, seed: int, anchor: date) -> Practice:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    start = anchor - timedelta(days=scale.days)
    setup_day = start - timedelta(days=demand.MAX_LEAD_DAYS + 1)
    t0 = _at(setup_day)
    setup: list[ops.Op] = []

    facilities = []
    for i in range(scale.facilities):
        area = people.AREAS[i % len(people.AREAS)]
        ref = ops.Ref()
        name = f"Spark Den {area[0]}" + ("" if i < len(people.AREAS) else f" {i // len(people.AREAS) + 1}")
        address = {"line1": f"{100 + 17 * i} {rng.choice(('Main St', 'Oak Ave', 'Medical Pkwy', 'Park Blvd'))}",
                   "city": area[0], "state": area[1], "postal_code": f"{area[3]}{10 + i:02d}"}
        setup.append(ops.CreateFacility(t0, ref, name, area[2], address))
        facilities.append(FacilityInfo(i, ref, name, area, ZoneInfo(area[2]), ops.Ref(), ops.Ref()))

    payers = []
    for spec in catalog.PAYERS:
        ref = ops.Ref()
        setup.append(ops.CreatePayer(t0, ref, spec.name, spec.edi, spec.kind))
        payers.append(ref)

    fees: dict[str, list[tuple[date, Decimal]]] = {}
    for year in range(setup_day.year, anchor.year + 1):
        since = setup_day if year == setup_day.year else date(year, 1, 1)
        factor = FEE_INFLATION ** (year - setup_day.year)
        for proc in catalog.PROCEDURES.values():
            charge = to_money(proc.charge * factor)
            fees.setdefault(proc.code, []).append((since, charge))
            setup.append(ops.SetFee(_at(since, 8) if year != setup_day.year else t0, proc.code, proc.description,
                                    charge, proc.work_rvu, since))
    setup.sort(key=lambda op: op.at)  # stable: the next years' fees are entered on their January 1

    providers = _providers(rng, scale, facilities, setup, t0, start, anchor)
    users = _users(facilities, providers, t0)
    admin, clearinghouse, bot = ops.Ref(), ops.Ref(), ops.Ref()
    staff = [ops.CreateUser(t0, admin, "sim.admin", "admin", []),
             ops.CreateUser(t0, clearinghouse, "sim.edi.clearinghouse", "biller", []),
             ops.CreateUser(t0, bot, "sim.era.autopost", "biller", [])] + users
    # Order: facilities, payers, this year's fees, providers, staff, schedules; later years' fees last.
    first = [op for op in setup if op.at == t0 and not isinstance(op, ops.SetSchedule)]
    schedules = [op for op in setup if isinstance(op, ops.SetSchedule)]
    later = [op for op in setup if op.at != t0]
    setup_ops = first + staff + schedules

    weights = [sum(len([d for d, f in p.days.items() if f == fac.index]) for p in providers) or 1
               for fac in facilities]
    population = people.make_population(nrng, int(scale.patients * 1.25), weights)
    end_at = min(datetime.combine(anchor, time(0), fac.tz) for fac in facilities).astimezone(UTC)
    return Practice(scale, seed, start, anchor, t0, end_at, facilities, providers, payers, fees, admin,
                    clearinghouse, bot, population, people.NamePools.from_faker(seed), setup_ops, later)


def _providers(rng: random.Random, scale: Scale, facilities: list[FacilityInfo], setup: list[ops.Op],
               t0: datetime, start: date, anchor: date) -> list[ProviderInfo]:
    pools = people.NamePools.from_faker(seed=rng.randrange(2**31))
    npis: set[str] = set()
    out = []
    specialties = roster(scale.providers)
    for i, name in enumerate(specialties):
        spec = SPECIALTIES[name]
        home = i % len(facilities)
        workdays = [0, 1, 2, 3, 4]
        if rng.random() < 0.25:
            workdays.remove(rng.randrange(5))  # part time: four days
        days = {d: home for d in workdays}
        outreach = spec.group in ("cardio", "women") or (name in ("Dermatology", "Orthopedic Surgery")
                                                          and rng.random() < 0.5)
        if len(facilities) > 1 and outreach:
            other = (home + 1 + rng.randrange(len(facilities) - 1)) % len(facilities)
            for d in (1, 3):
                if d in days:
                    days[d] = other  # an outreach clinic on Tuesdays and Thursdays
        ref = ops.Ref()
        female = rng.random() < 0.5
        first = rng.choice(pools.female if female else pools.male)
        last = rng.choice(pools.last)
        linked = sorted(set(days.values()))
        setup.append(ops.CreateProvider(t0, ref, people.valid_npi(rng, npis), first, last, name,
                                        [facilities[f].ref for f in linked]))
        info = ProviderInfo(i, ref, ops.Ref(), spec, days)
        templates = [(d, s, e, facilities[f].ref, t0.date()) for d, f in sorted(days.items())
                     for s, e in spec.sessions]
        time_off = _time_off(rng, info, facilities, start, anchor)
        setup.append(ops.SetSchedule(t0, ref, templates, time_off))
        out.append(info)
    return out


def _time_off(rng: random.Random, provider: ProviderInfo, facilities: list[FacilityInfo], start: date,
              anchor: date) -> list[tuple[datetime, datetime, str]]:
    """Federal holidays (closed) and three vacation weeks a year, planned ahead for the whole horizon."""
    last = anchor + timedelta(days=demand.MAX_LEAD_DAYS)
    tz = facilities[next(iter(provider.days.values()))].tz
    spans = []
    for year in range(start.year, last.year + 1):
        for day, name in sorted(demand.holidays(year).items()):
            if start <= day <= last:
                provider.off.add(day)
                spans.append((day, day + timedelta(days=1), name))
        mondays = [date(year, 1, 1) + timedelta(days=(7 - date(year, 1, 1).weekday()) % 7 + 7 * w) for w in range(51)]
        for monday in sorted(rng.sample(mondays, VACATION_WEEKS)):
            if start <= monday <= last:
                provider.off.update(monday + timedelta(days=k) for k in range(5))
                spans.append((monday, monday + timedelta(days=5), "Vacation"))
    return [(datetime.combine(a, time(0), tz).astimezone(UTC), datetime.combine(b, time(0), tz).astimezone(UTC), why)
            for a, b, why in sorted(spans)]


def _users(facilities: list[FacilityInfo], providers: list[ProviderInfo], t0: datetime) -> list[ops.CreateUser]:
    users = []
    for fac in facilities:
        slug = fac.area[0].lower() + ("" if fac.index < len(people.AREAS) else str(fac.index))
        users.append(ops.CreateUser(t0, fac.front_desk, f"sim.frontdesk.{slug}", "front_desk", [fac.ref]))
        users.append(ops.CreateUser(t0, fac.biller, f"sim.billing.{slug}", "biller", [fac.ref]))
    for p in providers:
        users.append(ops.CreateUser(t0, p.user, f"sim.dr.{p.index:03d}", "physician",
                                    [facilities[f].ref for f in sorted(set(p.days.values()))], p.ref))
    return users
