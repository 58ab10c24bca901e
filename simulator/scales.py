"""How big a practice `pms seed --scale` builds. Patients are the number registered by the end of
history (approximately: a patient is registered at their first booking)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    facilities: int
    providers: int
    patients: int
    days: int  # of appointment history before the anchor date
    demand: float = 1.0  # × every specialty's utilisation; tiny books few visits to stay quick on the service path


SCALES: dict[str, Scale] = {s.name: s for s in [
    Scale("tiny", 1, 1, 120, 100, 0.25),   # tests: every kind of op, ~3k ops through the service layer
    Scale("demo", 1, 5, 3_000, 365),
    Scale("small", 3, 20, 20_000, 730),
    Scale("large", 10, 120, 300_000, 1095),  # ≥ 1M appointments, ≥ 2M claim lines
]}
