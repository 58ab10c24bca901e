"""The global filters (date range, facility, provider, payer) and how they become SQL.

Every query in ``data.py`` takes one ``Filters`` value: it is frozen and made of tuples so Streamlit's
cache can key on it, and it already carries the viewer's facility scope (``ui.sidebar_filters``
puts the viewer's facilities in when they chose none), so no query can forget the scope.
Values always travel as bound parameters; only column names from this code reach the SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    facility_ids: tuple[str, ...] = ()  # empty: all facilities (only for unscoped viewers)
    provider_ids: tuple[str, ...] = ()
    payer_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.date_from > self.date_to:
            raise ValueError("date_from must be on or before date_to")

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> Filters:
        """The period of the same length that ends the day before this one starts."""
        end = self.date_from - timedelta(days=1)
        return replace(self, date_from=end - timedelta(days=self.days - 1), date_to=end)

    def on(self, day: date) -> Filters:
        return replace(self, date_from=day, date_to=day)


@dataclass(frozen=True)
class Dims:
    """Which columns of a mart the global filters map to (None: the mart has no such column)."""

    date: str | None
    facility: str | None = "facility_id"
    provider: str | None = "provider_id"
    payer: str | None = "payer_id"
    # A mart without a facility column (per-provider facts) filters on the providers whose primary
    # facility is selected, so a facility-scoped viewer never sees other facilities' providers.
    facility_via_provider: bool = False


def where(f: Filters, dims: Dims, *, dates: bool = True) -> tuple[str, dict]:
    """A WHERE condition and its parameters for the filters this mart can apply."""
    clauses: list[str] = []
    params: dict = {}
    if dates and dims.date:
        clauses.append(f"{dims.date} between {{date_from:Date}} and {{date_to:Date}}")
        params.update(date_from=f.date_from, date_to=f.date_to)
    if f.facility_ids and not dims.facility and dims.facility_via_provider and dims.provider:
        clauses.append(f"{dims.provider} in (select provider_id from marts.dim_provider "
                       "where primary_facility_id in {facility_ids:Array(UUID)})")
        params["facility_ids"] = list(f.facility_ids)
    for column, values, name in ((dims.facility, f.facility_ids, "facility_ids"),
                                 (dims.provider, f.provider_ids, "provider_ids"),
                                 (dims.payer, f.payer_ids, "payer_ids")):
        if column and values:
            clauses.append(f"{column} in {{{name}:Array(UUID)}}")
            params[name] = list(values)
    return (" and ".join(clauses) or "1"), params


def unapplied(f: Filters, dims: Dims) -> list[str]:
    """Names of the active filters this mart cannot apply, for a caption under its figures."""
    missing = []
    if f.facility_ids and not dims.facility and not dims.facility_via_provider:
        missing.append("facility")
    if f.provider_ids and not dims.provider:
        missing.append("provider")
    if f.payer_ids and not dims.payer:
        missing.append("payer")
    return missing
