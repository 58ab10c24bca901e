"""The no-show ceiling (benchmarks/noshow_ceiling.py): what no model can beat on the simulated practice."""

from datetime import date

import numpy as np
from sklearn.metrics import roc_auc_score

from benchmarks import noshow_ceiling as ceiling
from simulator import engine, noshow

DAY = 86_400


def _visits(outcomes: dict[int, list[int]], booked_after_settled: bool = True) -> dict[str, np.ndarray]:
    """One visit a week per patient, each booked the day before its start (after the previous one
    settled) or, if not `booked_after_settled`, all booked before the first starts."""
    rows = [(p, i, y) for p, ys in outcomes.items() for i, y in enumerate(ys)]
    start = np.array([(i + 1) * 7 * DAY for _, i, _ in rows], dtype=np.int64)
    return {"patient": np.array([p for p, _, _ in rows]), "start": start,
            "booked": start - DAY if booked_after_settled else np.zeros(len(rows), dtype=np.int64),
            "x": np.full(len(rows), -1.5), "y": np.array([y for _, _, y in rows], dtype=np.int8)}


def test_history_moves_the_estimate_only_once_settled_before_booking():
    p = ceiling.with_history(_visits({1: [1, 1, 1, 1, 0], 2: [0, 0, 0, 0, 0]}))
    missed, kept = p[:5], p[5:]
    assert missed[0] == kept[0]  # no history yet: the prior mean for both
    assert np.all(np.diff(missed[:5]) > 0) and np.all(np.diff(kept) < 0)
    assert missed[4] > 0.7 and kept[4] < 0.12  # the prior alone: 0.25
    blind = ceiling.with_history(_visits({1: [1, 1, 1, 1, 0], 2: [0, 0, 0, 0, 0]}, booked_after_settled=False))
    assert np.allclose(blind, blind[0])  # every visit booked before any outcome: nothing learnt


def test_the_ceiling_sits_between_the_law_alone_and_the_hidden_trait():
    law, arrive = noshow.no_show_probability, engine.FacilitySim._arrive
    v = ceiling.simulate("demo", 42, date(2025, 11, 1))
    assert (noshow.no_show_probability, engine.FacilitySim._arrive) == (law, arrive)  # restored
    assert 0.12 < v["y"].mean() < 0.22
    test = ceiling.holdout(v["start"])
    assert 0.15 < test.mean() < 0.25 and v["start"][test].min() > v["start"][~test].max()
    auc = {name: roc_auc_score(v["y"][test], p[test]) for name, p in (
        ("trait", ceiling._sigmoid(v["x"] + v["trait"])), ("history", ceiling.with_history(v)),
        ("law", ceiling._sigmoid(v["x"])))}
    assert auc["trait"] > auc["history"] + 0.03 > auc["law"] + 0.06, auc
