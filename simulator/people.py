"""The people: facilities' areas, providers (valid NPIs) and a patient population.

Patients are drawn as arrays (numpy) for speed at 300k: age from a US-like pyramid (22 % under 18,
28 % 18-39, 32 % 40-64, 18 % 65+), sex 51 % female, a visit propensity (gamma, shape 1.2, higher
for older patients and for each chronic condition), chronic conditions (Poisson by age band: mean
0.1 / 0.5 / 1.3 / 2.2 per band, drawn from catalog.CHRONIC), and a payer by age band (see
PAYER_MIX). Names and streets come from pools that a Faker instance seeded with the run's seed
fills once, so 300k patients cost a few seconds instead of minutes.

Groups are the pools specialties draw from: child (< 18), adult (18+), women (female 15-70),
cardio (40+, weighted to the old), any (everyone).
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from faker import Faker
from stdnum import luhn

from simulator import catalog, noshow

# (city, state, timezone, ZIP prefix, area code)
AREAS = (
    ("Asheville", "NC", "America/New_York", "288", "828"), ("Madison", "WI", "America/Chicago", "537", "608"),
    ("Boulder", "CO", "America/Denver", "803", "303"), ("Sacramento", "CA", "America/Los_Angeles", "958", "916"),
    ("Columbus", "OH", "America/New_York", "432", "614"), ("Austin", "TX", "America/Chicago", "787", "512"),
    ("Tucson", "AZ", "America/Phoenix", "857", "520"), ("Spokane", "WA", "America/Los_Angeles", "992", "509"),
    ("Burlington", "VT", "America/New_York", "054", "802"), ("Nashville", "TN", "America/Chicago", "372", "615"),
)
AGE_BANDS = ((0, 18, 0.22), (18, 40, 0.28), (40, 65, 0.32), (65, 95, 0.18))
CHRONIC_MEAN = (0.1, 0.5, 1.3, 2.2)
# Primary payer by age band: (payer kind or name, share). Commercial shares split across PAYERS.
PAYER_MIX = {
    0: (("medicaid", 0.38), ("commercial", 0.58), ("self_pay", 0.04)),
    1: (("medicaid", 0.18), ("commercial", 0.70), ("self_pay", 0.08), ("workers_comp", 0.04)),
    2: (("medicaid", 0.12), ("commercial", 0.78), ("self_pay", 0.05), ("workers_comp", 0.05)),
    3: (("medicare", 0.93), ("commercial", 0.05), ("self_pay", 0.02)),
}
CONTACT = (("sms", 0.55), ("email", 0.25), ("phone", 0.15), ("letter", 0.05))
GROUPS = ("child", "adult", "women", "cardio", "any")


def valid_npi(rng: random.Random, taken: set[str]) -> str:
    """A 10-digit NPI starting with 1 whose check digit passes the Luhn test over 80840 + 9 digits."""
    while True:
        body = "1" + "".join(str(rng.randrange(10)) for _ in range(8))
        npi = body + luhn.calc_check_digit("80840" + body)
        if npi not in taken:
            taken.add(npi)
            return npi


@dataclass
class NamePools:
    female: list[str]
    male: list[str]
    last: list[str]
    streets: list[str]

    @classmethod
    def from_faker(cls, seed: int) -> "NamePools":
        fake = Faker("en_US")
        fake.seed_instance(seed)
        uniq = lambda f, n: sorted({f() for _ in range(n)})  # noqa: E731  sorted: order-independent of set hashing
        return cls(uniq(fake.first_name_female, 1500), uniq(fake.first_name_male, 1500), uniq(fake.last_name, 3000),
                   uniq(fake.street_name, 600))


@dataclass
class Population:
    """Column arrays, one entry per potential patient (index = patient number)."""

    facility: np.ndarray
    age: np.ndarray  # at the start of history
    female: np.ndarray
    propensity: np.ndarray
    payer: np.ndarray  # index into catalog.PAYERS
    chronic: list[tuple[str, ...]]
    no_show_trait: np.ndarray  # the patient's own pull towards missing visits, on the logit scale

    def __len__(self) -> int:
        return len(self.age)

    def groups(self, i: int) -> list[str]:
        age, female = int(self.age[i]), bool(self.female[i])
        out = ["any", "child" if age < 18 else "adult"]
        if female and 15 <= age <= 70:
            out.append("women")
        if age >= 40:
            out.append("cardio")
        return out


def _band(age: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array([18, 40, 65]), age, side="right")


def make_population(rng: np.random.Generator, n: int, facility_weights: list[float]) -> Population:
    facility = rng.choice(len(facility_weights), size=n, p=np.array(facility_weights) / sum(facility_weights))
    band = rng.choice(4, size=n, p=[b[2] for b in AGE_BANDS])
    low = np.array([b[0] for b in AGE_BANDS])[band]
    high = np.array([b[1] for b in AGE_BANDS])[band]
    age = (low + rng.random(n) * (high - low)).astype(np.int64)
    female = rng.random(n) < 0.51
    n_chronic = rng.poisson(np.array(CHRONIC_MEAN)[_band(age)])
    chronic = _chronic(rng, np.minimum(n_chronic, 5))
    propensity = rng.gamma(1.2, 1.0, n) * (1 + 0.25 * np.minimum(n_chronic, 4)) * np.where(age >= 65, 1.5, 1.0)
    payer = _payers(rng, _band(age))
    trait = rng.normal(0.0, noshow.TRAIT_SD, n)  # drawn last: the other columns do not depend on it
    return Population(facility, age, female, propensity, payer, chronic, trait)


def _chronic(rng: np.random.Generator, counts: np.ndarray) -> list[tuple[str, ...]]:
    """k conditions per patient, weighted, without replacement (Gumbel top-k, vectorised)."""
    codes = [c for c, _ in catalog.CHRONIC]
    weights = np.log(np.array([w for _, w in catalog.CHRONIC], dtype=float))
    order = np.argsort(-(weights + rng.gumbel(size=(len(counts), len(codes)))), axis=1)
    return [tuple(codes[j] for j in row[:k]) for row, k in zip(order.tolist(), counts.tolist(), strict=True)]


def _payers(rng: np.random.Generator, band: np.ndarray) -> np.ndarray:
    by_kind: dict[str, list[int]] = {}
    for i, spec in enumerate(catalog.PAYERS):
        by_kind.setdefault(spec.kind, []).append(i)
    out = np.empty(len(band), dtype=np.int64)
    for b, mix in PAYER_MIX.items():
        idx = np.flatnonzero(band == b)
        kinds = rng.choice(len(mix), size=len(idx), p=[s for _, s in mix])
        for k, (kind, _) in enumerate(mix):
            members = idx[kinds == k]
            out[members] = rng.choice(by_kind[kind], size=len(members))
    return out


def birth_date(rng: random.Random, age: int, start: date) -> date:
    return start - timedelta(days=int(age * 365.25) + rng.randrange(365))


def demographics(rng: random.Random, pools: NamePools, i: int, female: bool, area: tuple) -> dict:
    """Name, contact details and address of patient i (deterministic given the rng state)."""
    first = rng.choice(pools.female if female else pools.male)
    last = rng.choice(pools.last)
    city, state, _tz, zip3, area_code = area
    contact = rng.choices([c for c, _ in CONTACT], cum_weights=_CONTACT_CUM)[0]
    email = None
    if contact == "email" or rng.random() < 0.6:
        local = "".join(ch for ch in f"{first}.{last}" if ch.isalnum() or ch == ".").lower()
        email = f"{local}{i % 1000}@example.{rng.choice(('com', 'net', 'org'))}"
    return {
        "first_name": first, "last_name": last,
        "phone": f"({area_code}) 555-{rng.randrange(10000):04d}" if rng.random() < 0.97 else None,
        "email": email,
        "address": {"line1": f"{rng.randrange(10, 9999)} {rng.choice(pools.streets)}", "city": city, "state": state,
                    "postal_code": f"{zip3}{rng.randrange(100):02d}"},
        "preferred_contact": contact if email or contact != "email" else "sms",
    }


_CONTACT_CUM = list(np.cumsum([s for _, s in CONTACT]))
