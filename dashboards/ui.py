"""Rendering pieces every page shares: sign-in, the sidebar's global filters, number formats, and the
notices shown when a mart cannot answer. Pages call these; none of them queries except through data.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import streamlit as st

from dashboards import auth, catalog, charts, data
from dashboards.filters import Dims, Filters, unapplied

VIEWER_KEY = "viewer"
DEFAULT_DAYS = 90


# -- formats --------------------------------------------------------------------------------------

def money(value) -> str:
    """Exact to the cent (KPIS.md): "$12,345.67"; "–" for nothing."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def money_short(value) -> str:
    """For a tile, where the exact amount does not fit: "$178.2K", "$12.35M"; exact below 1,000."""
    if value is None:
        return "–"
    amount = float(value)
    for limit, suffix, digits in ((1e9, "B", 2), (1e6, "M", 2), (1e3, "K", 1)):
        if abs(amount) >= limit:
            return f"{'-' if amount < 0 else ''}${abs(amount) / limit:,.{digits}f}{suffix}"
    return money(value)


def rate(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def count(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def days(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.1f} days"


def pct_change(value: float | None) -> str | None:
    return None if value is None else f"{value:+.1%}"


def point_change(current: float | None, previous: float | None) -> str | None:
    """A rate's change in percentage points ("+1.2 pp")."""
    if current is None or previous is None:
        return None
    return f"{(current - previous) * 100:+.1f} pp"


# -- sign-in ----------------------------------------------------------------------------------------

def current_viewer() -> auth.Viewer | None:
    viewer = st.session_state.get(VIEWER_KEY)
    if viewer is not None and viewer.expired:
        del st.session_state[VIEWER_KEY]
        st.session_state["sign_in_notice"] = "Your session expired; sign in again."
        return None
    return viewer


def sign_in_page() -> None:
    _, middle, _ = st.columns([1, 2, 1])  # a narrow form on a wide screen; the columns stack on a phone
    with middle:
        _sign_in_form()


def _sign_in_form() -> None:
    st.title("Spark Den analytics")
    st.caption("Sign in with your Spark Den PMS account. Dashboards are for executives, analysts and administrators.")
    if notice := st.session_state.pop("sign_in_notice", None):
        st.info(notice)
    with st.form("sign_in", border=True, clear_on_submit=True):  # the password never lingers in state
        username = st.text_input("Username", key="sign_in_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="sign_in_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            st.session_state[VIEWER_KEY] = auth.sign_in(username, password)
        except auth.SignInError as exc:
            st.error(str(exc))
        else:
            st.rerun()


def sign_out_button(viewer: auth.Viewer) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{viewer.username}** ({viewer.role})")
        if st.button("Sign out", key="sign_out"):
            auth.sign_out(viewer)
            st.session_state.clear()
            st.rerun()


# -- global filters -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    viewer: auth.Viewer
    filters: Filters
    first_day: date
    last_day: date  # the marts' last built day: "today" for the data
    facility_names: dict[str, str]
    provider_names: dict[str, str]


def sidebar_filters(viewer: auth.Viewer) -> Context | None:
    """Date range, facility, provider and payer in the sidebar; widget keys keep them across pages.

    A facility-scoped viewer only gets their facilities to pick from, and picking none means all of
    *theirs*: the scope is in every Filters value from here on.
    """
    try:
        bounds = data.data_bounds()
        if bounds is None:
            return None
        facilities, providers, payers = data.facilities(viewer.facility_ids), data.providers(viewer.facility_ids), \
            data.payers()
    except data.MissingData:
        return None
    except data.Unavailable as exc:
        st.error(f"The analytics warehouse is not answering ({exc}). Try again in a moment.")
        st.stop()
    first, last = bounds
    facility_names = dict(zip(facilities["id"], facilities["name"], strict=True))
    provider_names = dict(zip(providers["id"], providers["name"], strict=True))
    payer_names = dict(zip(payers["id"], payers["name"], strict=True))
    with st.sidebar:
        st.subheader("Filters")
        picked = st.date_input("Date range", value=(max(first, last - timedelta(days=DEFAULT_DAYS - 1)), last),
                               min_value=first, max_value=last, key="filter_dates")
        chosen_facilities = st.multiselect("Facility", list(facility_names), format_func=facility_names.get,
                                           key="filter_facilities", placeholder="All facilities")
        chosen_providers = st.multiselect("Provider", list(provider_names), format_func=provider_names.get,
                                          key="filter_providers", placeholder="All providers")
        chosen_payers = st.multiselect("Payer", list(payer_names), format_func=payer_names.get,
                                       key="filter_payers", placeholder="All payers")
    picked = tuple(picked) if isinstance(picked, list | tuple) else (picked,)
    date_from, date_to = (picked[0], picked[-1]) if picked else (last - timedelta(days=DEFAULT_DAYS - 1), last)
    scope = tuple(sorted(chosen_facilities)) or (tuple(sorted(facility_names)) if viewer.facility_scoped else ())
    filters = Filters(date_from=date_from, date_to=date_to, facility_ids=scope,
                      provider_ids=tuple(sorted(chosen_providers)), payer_ids=tuple(sorted(chosen_payers)))
    return Context(viewer, filters, first, last, facility_names, provider_names)


def context() -> Context:
    """The page's viewer and filters (set by app.py before the page runs)."""
    ctx = st.session_state.get("context")
    if ctx is None:
        st.info("The marts are not built yet: run `pms dbt build` (or `make demo`), then reload.")
        st.stop()
    return ctx


def period_caption(ctx: Context) -> None:
    f = ctx.filters
    st.caption(f"{f.date_from:%d %b %Y} – {f.date_to:%d %b %Y} ({f.days} days) · data through "
               f"{ctx.last_day:%d %b %Y}")


def not_applied(f: Filters, dims: Dims, what: str) -> None:
    """Say which active filters a figure ignores because its mart has no such column."""
    if missing := unapplied(f, dims):
        st.caption(f"{what}: the {' and '.join(missing)} filter does not apply (the mart has no such column).")


@contextmanager
def section(title: str | None = None) -> Iterator[None]:
    """Render a block; a mart or model that is not there yet becomes a notice, not a traceback."""
    if title:
        st.subheader(title)
    try:
        yield
    except data.MissingData as exc:
        st.info(str(exc))


def table(frame: pd.DataFrame, *, money_columns=(), rate_columns=(), date_columns=(), **column_config) -> None:
    """A data table with money exact to the cent, rates as percentages and dates without a time."""
    shown = frame.assign(**{c: frame[c].map(money) for c in money_columns},
                         **{c: frame[c].map(rate) for c in rate_columns})
    config = {c: st.column_config.DateColumn(c.replace("_", " ").capitalize(), format="YYYY-MM-DD")
              for c in date_columns}
    st.dataframe(shown, hide_index=True, width="stretch", column_config={**config, **column_config})


def csv_download(frame: pd.DataFrame, name: str, key: str) -> None:
    st.download_button("Download CSV", frame.to_csv(index=False).encode(), file_name=f"{name}.csv",
                       mime="text/csv", key=key)


def custom_dashboard(spec: catalog.DashboardSpec, f: Filters, key: str, title: str = "") -> None:
    """Draw a custom dashboard (chart or table) with its CSV and PNG exports."""
    mart = catalog.mart(spec.mart)
    frame = data.custom(spec, f)
    not_applied(f, mart.dims, mart.label)
    if frame.empty:
        st.info("No rows for this selection.")
        return
    formats = {m.label: m.fmt for m in (mart.measure(k) for k in spec.measures)}
    if spec.chart == "table":
        chart = None
        shown = frame.copy()
        for column, fmt in formats.items():
            shown[column] = shown[column].map(money if fmt == "money" else rate if fmt == "rate" else
                                              (lambda v: "–" if v is None or pd.isna(v) else f"{float(v):,.2f}"))
        st.dataframe(shown, hide_index=True, width="stretch")
    else:
        chart = charts.custom(frame, spec, mart)
        if title:
            chart = chart.properties(title=title)
        st.altair_chart(chart, width="stretch")
    slug = "-".join((title or mart.key).lower().split())[:60] or "dashboard"
    buttons = st.columns(2, width=360)
    with buttons[0]:
        csv_download(frame, slug, key=f"{key}_csv")
    if chart is not None:
        with buttons[1]:
            if charts.png_available():
                st.download_button("Download PNG", lambda: charts.to_png(chart), file_name=f"{slug}.png",
                                   mime="image/png", key=f"{key}_png")
            else:  # without vl-convert: the Vega-Lite spec, which any Vega viewer turns into an image
                st.download_button("Download chart (Vega-Lite)", lambda: chart.to_json(), file_name=f"{slug}.vl.json",
                                   mime="application/json", key=f"{key}_vl")
