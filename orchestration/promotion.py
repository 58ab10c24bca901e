"""Model promotion: a newly trained version stays current only if it is not worse than the one before.

The registry (ml/registry.py) treats its greatest version as current and ignores folders whose
name starts with a dot. Rejecting a version renames it to `.rejected-<version>`: the previous model
becomes current again for every reader (scoring, the CLI), and the rejected files stay for a look.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ml import registry

REJECTED_PREFIX = ".rejected-"


@dataclass(frozen=True)
class Rule:
    series: str  # key under the card's "metrics"
    metric: str
    higher_is_better: bool
    margin: str  # CheckThresholds field holding the allowed loss


RULES: dict[str, tuple[Rule, ...]] = {
    "no_show": (Rule("gradient_boosting", "roc_auc", True, "no_show_auc_margin"),
                Rule("gradient_boosting", "brier", False, "no_show_brier_margin")),
    "revenue_forecast": (Rule("practice", "mase_model", False, "forecast_mase_margin"),),
}


@dataclass(frozen=True)
class Comparison:
    rule: Rule
    new: float
    old: float
    allowed: float

    @property
    def worse(self) -> bool:
        """Worse than `old` by more than `allowed`; a metric that became undefined counts as worse."""
        if math.isnan(self.old):
            return False
        if math.isnan(self.new):
            return True
        loss = self.old - self.new if self.rule.higher_is_better else self.new - self.old
        return loss > self.allowed


@dataclass(frozen=True)
class Review:
    name: str
    version: str | None  # the version reviewed (the newest), None when there is no model
    previous: str | None
    comparisons: tuple[Comparison, ...]

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.worse]

    @property
    def passed(self) -> bool:
        return self.version is not None and not self.regressions


def _metric(card: dict, rule: Rule) -> float:
    value = card.get("metrics", {}).get(rule.series, {}).get(rule.metric)
    return float("nan") if value is None else float(value)


def review(name: str, margins: dict[str, float], root: Path | None = None) -> Review:
    """Compare the newest version of `name` with the one before it (nothing to compare: it passes)."""
    versions = registry.versions(name, root)
    if not versions:
        return Review(name, None, None, ())
    if len(versions) == 1:
        return Review(name, versions[-1], None, ())
    new, old = (registry.card(name, v, root) for v in versions[-2:][::-1])
    comparisons = tuple(Comparison(rule, _metric(new, rule), _metric(old, rule), margins[rule.margin])
                        for rule in RULES[name])
    return Review(name, versions[-1], versions[-2], comparisons)


def reject(name: str, version: str, root: Path | None = None) -> Path:
    """Take `version` out of the registry's view; the previous version is current again."""
    folder = (root or registry.models_dir()) / name
    target = folder / f"{REJECTED_PREFIX}{version}"
    os.replace(folder / version, target)
    return target
