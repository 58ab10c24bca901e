"""Weighted draws exactly what random.choices draws, so precomputing the sums changes no practice."""

import random

import pytest

from simulator import catalog
from simulator.weighted import Weighted


@pytest.mark.parametrize("pairs", [catalog.EM_NEW, catalog.EM_ESTABLISHED, catalog.EM_SICK,
                                   [(r, w) for r, (w, *_) in catalog.DENIALS.items()], [("only", 3)]])
def test_the_same_draws_as_random_choices(pairs):
    population, weights = zip(*pairs)
    ours, theirs = random.Random(11), random.Random(11)
    table = Weighted.of(pairs)
    assert [table.pick(ours) for _ in range(5000)] == [theirs.choices(population, weights)[0] for _ in range(5000)]


def test_weights_must_match_the_population():
    with pytest.raises(ValueError, match="does not match"):
        Weighted(["a", "b"], [1.0])
