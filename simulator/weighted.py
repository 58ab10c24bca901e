"""A fixed weighted choice, drawn exactly as `random.choices(population, weights)[0]` draws it (one
`rng.random()`, the same bisect over the same cumulative sums), with the sums made once instead of
at every draw: the simulation makes millions of these draws over a few fixed tables."""

import random
from bisect import bisect
from collections.abc import Iterable
from itertools import accumulate


class Weighted:
    __slots__ = ("population", "cum", "total", "hi")

    def __init__(self, population: Iterable, weights: Iterable[float]):
        self.population = tuple(population)
        self.cum = list(accumulate(weights))
        if len(self.cum) != len(self.population):
            raise ValueError("the number of weights does not match the population")
        self.total = self.cum[-1] + 0.0
        self.hi = len(self.cum) - 1

    @classmethod
    def of(cls, pairs: Iterable[tuple]) -> "Weighted":
        """From (item, weight) pairs."""
        population, weights = zip(*pairs, strict=True)
        return cls(population, weights)

    def pick(self, rng: random.Random):
        return self.population[bisect(self.cum, rng.random() * self.total, 0, self.hi)]
