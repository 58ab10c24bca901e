"""What a visit is billed as: ICD-10-CM diagnoses and CPT/HCPCS lines by visit type and specialty.

- E/M levels follow catalog.EM_* (new, established, acute); a procedure on the same day as an E/M
  puts modifier 25 on the E/M (20 % of procedure visits carry a separately billed E/M).
- Primary-care follow-ups are mostly for the patient's chronic conditions (up to 3 listed); 55 % of
  them draw labs (36415 + one or two of 80053, 80061, 83036, 85025, 84443); follow-ups add the
  G2211 complexity add-on 30 % of the time for Medicare, 15 % for commercial plans.
- Sick visits draw acute diagnoses, respiratory ones weighted by the season's intensity (× 1 + 3
  × intensity); strep, flu and urine tests follow the diagnosis.
- Preventive visits bill the age-banded 9938x/9939x code (Medicare: G0438/G0439 annual wellness,
  with G0444 depression screening 40 % and 99497 advance care planning 8 %); adults get labs 70 %
  of the time (+ HbA1c for 40 % of those 40 and over); flu vaccine (90686 + 90471, or G0008 for Medicare) 50 % of preventive and 25 % of
  other visits from September to March; children get DTaP/MMR at well-child visits under 7.
Pointers name the diagnoses each line supports (1-based, at most 4).
"""

import random
from datetime import date

from simulator import catalog
from simulator.demand import respiratory_season
from simulator.weighted import Weighted

Line = tuple[str, int, tuple[str, ...], tuple[int, ...]]  # code, units, modifiers, diagnosis pointers


EM_NEW, EM_SICK, EM_ESTABLISHED = (Weighted.of(t) for t in (catalog.EM_NEW, catalog.EM_SICK, catalog.EM_ESTABLISHED))
PROCEDURE_VISITS = {specialty: Weighted(visits, [w for _, _, w in visits])
                    for specialty, visits in catalog.PROCEDURE_VISITS.items()}


def _pick(rng: random.Random, pool, boost=None) -> str:
    weights = [w * (boost(c) if boost else 1.0) for c, w in pool]
    return rng.choices([c for c, _ in pool], weights=weights)[0]


def _pointers(n: int) -> tuple[int, ...]:
    return tuple(range(1, min(n, 4) + 1))


class Coder:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def encounter(self, visit_type: str, specialty: str, age: int, payer_kind: str, chronic: tuple[str, ...],
                  day: date) -> tuple[list[str], list[Line]]:
        rng = self.rng
        if visit_type == "medicare_wellness" and age < 65:
            visit_type = "annual_physical"
        if visit_type in ("annual_physical", "well_child", "medicare_wellness"):
            return self._preventive(visit_type, age, payer_kind, chronic, day)
        if visit_type == "procedure":
            return self._procedure(specialty, age, payer_kind, day)
        dx = [self._problem(visit_type, specialty, age, chronic, day)]
        if specialty in ("Family Medicine", "Internal Medicine") and visit_type != "sick_visit":
            dx += [c for c in chronic if c not in dx][:3]
        if visit_type == "new_patient":
            em = EM_NEW.pick(rng)
        elif visit_type == "sick_visit":
            em = EM_SICK.pick(rng)
        else:
            em = EM_ESTABLISHED.pick(rng)
        lines: list[Line] = [(em, 1, (), _pointers(len(dx)))]
        if visit_type == "follow_up" and rng.random() < {"medicare": 0.30, "commercial": 0.15}.get(payer_kind, 0.0):
            lines.append(("G2211", 1, (), (1,)))
        lines += self._tests(visit_type, specialty, dx, age)
        if flu := self._flu(payer_kind, day, 0.25, len(dx)):
            dx.append("Z23")
            lines += flu
        return dx, lines

    def _problem(self, visit_type: str, specialty: str, age: int, chronic: tuple[str, ...], day: date) -> str:
        rng = self.rng
        season = respiratory_season(day)
        boost = lambda c: 1.0 + 3.0 * season if c in catalog.RESPIRATORY else 1.0  # noqa: E731
        pool = {"Pediatrics": catalog.PEDIATRIC_ACUTE, "Obstetrics & Gynecology": catalog.OBGYN,
                "Cardiology": catalog.CARDIOLOGY, "Dermatology": catalog.DERMATOLOGY,
                "Orthopedic Surgery": catalog.ORTHOPEDICS}.get(specialty)
        if pool is not None:
            if specialty == "Obstetrics & Gynecology" and visit_type == "prenatal":
                return rng.choice(("Z34.81", "Z34.82", "Z34.83", "Z34.82", "O09.90"))
            return _pick(rng, pool, boost)
        if visit_type != "sick_visit" and chronic and rng.random() < 0.8:
            return chronic[0] if rng.random() < 0.6 else rng.choice(chronic)
        return _pick(rng, catalog.PEDIATRIC_ACUTE if age < 18 else catalog.ACUTE, boost)

    def _tests(self, visit_type: str, specialty: str, dx: list[str], age: int) -> list[Line]:
        rng = self.rng
        lines: list[Line] = []
        primary = dx[0]
        if primary == "J02.9" and rng.random() < 0.8:
            lines.append(("87880", 1, (), (1,)))
        elif primary in ("J11.1", "J06.9", "R05.9", "B34.9") and rng.random() < 0.35:
            lines.append(("87804", 1, (), (1,)))
        elif primary == "N39.0":
            lines.append(("81002", 1, (), (1,)))
        if (visit_type == "follow_up" and specialty in ("Family Medicine", "Internal Medicine") and age >= 18
                and rng.random() < 0.55):
            lines.append(("36415", 1, (), (1,)))
            for code in rng.sample(("80053", "80061", "83036", "85025", "84443"), rng.choice((1, 1, 2))):
                lines.append((code, 1, (), _pointers(len(dx))[:2]))
        return lines

    def _flu(self, payer_kind: str, day: date, probability: float, n_dx: int) -> list[Line]:
        if day.month not in (9, 10, 11, 12, 1, 2, 3) or self.rng.random() >= probability:
            return []
        admin = "G0008" if payer_kind == "medicare" else "90471"
        return [("90686", 1, (), (n_dx + 1,)), (admin, 1, (), (n_dx + 1,))]

    def _preventive(self, visit_type: str, age: int, payer_kind: str, chronic: tuple[str, ...],
                    day: date) -> tuple[list[str], list[Line]]:
        rng = self.rng
        child = age < 18
        dx = [_pick(rng, catalog.PREVENTIVE_CHILD if child else catalog.PREVENTIVE_ADULT)]
        if not child:
            dx += list(chronic[:2])
        if visit_type == "medicare_wellness":
            lines: list[Line] = [("G0439" if rng.random() < 0.85 else "G0438", 1, (), (1,))]
            if rng.random() < 0.40:
                lines.append(("G0444", 1, (), (1,)))
            if rng.random() < 0.08:
                lines.append(("99497", 1, (), (1,)))
        else:
            lines = [(catalog.preventive_code(age, new=False), 1, (), (1,))]
        if not child and rng.random() < 0.70:
            lines += [("36415", 1, (), (1,)), ("80053", 1, (), (1,)), ("80061", 1, (), (1,))]
            if rng.random() < 0.5:
                lines.append(("85025", 1, (), (1,)))
            if age >= 40 and rng.random() < 0.4:
                lines.append(("83036", 1, (), (1,)))
        vaccines = self._flu(payer_kind, day, 0.50, len(dx))
        if vaccines:
            dx.append("Z23")
        if child and age < 7 and rng.random() < 0.6:
            if "Z23" not in dx:
                dx.append("Z23")
            z23 = dx.index("Z23") + 1
            vaccines = [v for v in vaccines if v[0] == "90686"]
            vaccines += [(rng.choice(("90700", "90707")), 1, (), (z23,)), ("90460", 1, (), (z23,))]
        return dx, lines + vaccines

    def _procedure(self, specialty: str, age: int, payer_kind: str, day: date) -> tuple[list[str], list[Line]]:
        rng = self.rng
        dx_code, procedures, _ = PROCEDURE_VISITS.get(specialty, PROCEDURE_VISITS["primary"]).pick(rng)
        dx = [dx_code]
        lines: list[Line] = [(code, units, mods, (1,)) for code, units, mods in procedures]
        if rng.random() < 0.20:
            em = EM_ESTABLISHED.pick(rng)
            lines.insert(0, (em, 1, ("25",), (1,)))
        return dx, lines
