"""How well can any no-show model do on the simulated practice? The Bayes ceiling, on the ML holdout.

    python -m benchmarks.noshow_ceiling --scale small

Runs the simulator in memory (no store) and records, at every visit's arrival, the terms of its
no-show law (simulator/noshow.py) and the outcome. Three predictors are then scored on the latest 20 %
of visits by start day (the no-show model's holdout, ml/no_show/train.py):

- law + trait: the true probability, the patient's hidden trait included. No model can know the
  trait; this is the ceiling usually quoted (≈ 0.85).
- law + history: the Bayes-optimal use of what a model can know at booking. It knows the law and
  every feature exactly, and infers the trait from the patient's outcomes settled before the booking
  (the posterior over a grid, prior normal with SD TRAIT_SD). A model learning from the data can at
  best match it; this is the real ceiling for the issue's target.
- law only: the features without the trait or history.

Appends a section to docs/benchmarks.md (--no-report: print only).
"""

import argparse
import math
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from benchmarks.machine import machine
from ml.no_show.train import time_cut
from simulator import engine, noshow
from simulator.practice import build
from simulator.scales import SCALES

REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TEST_FRACTION = 0.2
GRID = np.linspace(-7.5, 7.5, 301)  # trait values: ±5 SD


def simulate(scale: str, seed: int, anchor: date) -> dict[str, np.ndarray]:
    """Every visit that reached its start: patient, start, booking (seconds), law logit without the
    trait, the trait, whether it was a no-show."""
    arrivals: list[tuple] = []
    law = noshow.no_show_probability
    arrive = engine.FacilitySim._arrive
    arriving = [None]  # the visit whose law is being evaluated

    def recording_law(*args, **kwargs):
        p = law(*args, **kwargs)
        trait = args[7] if len(args) > 7 else kwargs.get("trait", 0.0)
        arrivals.append((arriving[0], _logit(p) - trait, trait))
        return p

    def recording_arrive(self, t, visit):
        arriving[0] = visit
        arrive(self, t, visit)

    noshow.no_show_probability, engine.FacilitySim._arrive = recording_law, recording_arrive
    try:
        practice = build(SCALES[scale], seed, anchor)
        for _ in engine.stream(practice):
            pass
    finally:
        noshow.no_show_probability, engine.FacilitySim._arrive = law, arrive
    settled = [(v, x, tr) for v, x, tr in arrivals if v.status in ("no_show", "completed")]
    return {
        "patient": np.array([v.patient for v, _, _ in settled]),
        "start": np.array([v.start for v, _, _ in settled], dtype=np.int64),
        "booked": np.array([v.booked_at for v, _, _ in settled], dtype=np.int64),
        "x": np.array([x for _, x, _ in settled]),
        "trait": np.array([tr for _, _, tr in settled]),
        "y": np.array([v.status == "no_show" for v, _, _ in settled], dtype=np.int8),
    }


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def with_history(v: dict[str, np.ndarray]) -> np.ndarray:
    """P(no-show) given the law, the visit's features, and the patient's outcomes settled (start
    passed) before this visit was booked: E[sigmoid(x + trait) | those outcomes]."""
    out = np.empty(len(v["y"]))
    log_prior = -0.5 * (GRID / noshow.TRAIT_SD) ** 2
    order = np.lexsort((v["start"], v["patient"]))
    bounds = np.flatnonzero(np.diff(v["patient"][order])) + 1
    for idx in np.split(order, bounds):
        p = _sigmoid(v["x"][idx, None] + GRID[None, :])  # visits × grid
        y = v["y"][idx, None]
        loglik = np.where(y == 1, np.log(p), np.log1p(-p))
        cumulative = np.vstack([np.zeros(len(GRID)), np.cumsum(loglik, axis=0)])
        known = np.searchsorted(v["start"][idx], v["booked"][idx], side="left")  # settled before booking
        log_post = log_prior[None, :] + cumulative[known]
        w = np.exp(log_post - log_post.max(axis=1, keepdims=True))
        out[idx] = (w * p).sum(axis=1) / w.sum(axis=1)
    return out


def holdout(start: np.ndarray) -> np.ndarray:
    """The no-show model's own holdout (ml/no_show/train.time_cut) on the visits' starts."""
    starts_at = pd.Series(pd.to_datetime(start, unit="s", utc=True))
    return (starts_at >= time_cut(starts_at, TEST_FRACTION)).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small", choices=sorted(SCALES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--anchor", type=date.fromisoformat, default=date(2025, 11, 1))
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    v = simulate(args.scale, args.seed, args.anchor)
    simulated = time.perf_counter() - started
    test = holdout(v["start"])
    y = v["y"][test]
    rows = []
    for name, p in (("law + trait (hidden from any model)", _sigmoid(v["x"] + v["trait"])),
                    ("law + history at booking (Bayes ceiling)", with_history(v)),
                    ("law only", _sigmoid(v["x"]))):
        rows.append((name, roc_auc_score(y, p[test]), brier_score_loss(y, p[test])))
    base = brier_score_loss(y, np.full(len(y), v["y"][~test].mean()))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## No-show ceiling, `{args.scale}` practice ({stamp})", "",
             f"Machine: {machine('at the end')}. Seed {args.seed}, history to {args.anchor}. "
             f"`python -m benchmarks.noshow_ceiling --scale {args.scale} --anchor {args.anchor}`; "
             f"simulation {simulated:.0f} s.", "",
             f"{len(v['y']):,} kept-or-missed visits, {int(test.sum()):,} in the holdout (latest 20 % by start); "
             f"no-show rate {v['y'].mean():.1%}. Brier of the training base rate: {base:.4f}.", "",
             "| predictor | ROC AUC | Brier |", "|---|---:|---:|"]
    lines += [f"| {name} | {auc:.3f} | {brier:.4f} |" for name, auc, brier in rows]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_report:
        with REPORT.open("a") as f:
            f.write("\n" + section)


if __name__ == "__main__":
    main()
