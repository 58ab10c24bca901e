"""Dashboard builder: pick a mart, measures, dimensions, filters and a chart; preview; save by name.

Everything offered comes from catalog.py's whitelist; nothing typed here reaches SQL except as a
bound value. "My dashboards" opens a saved one here by filling these widgets' state.
"""

import streamlit as st

from dashboards import catalog, data, store, ui
from dashboards.auth import DASHBOARD_ROLES

ctx = ui.context()
f, viewer = ctx.filters, ctx.viewer

st.title("Dashboard builder")
st.caption("Build a chart from the marts. The sidebar filters apply to it here and wherever it is opened later.")


def _reset_picks() -> None:
    """A new mart has other measures and dimensions: start its picks from its defaults."""
    for key in [k for k in st.session_state if str(k).startswith("b_filter_")] + ["b_measures", "b_dimensions"]:
        st.session_state.pop(key, None)


mart_key = st.selectbox("Mart", list(catalog.MARTS), format_func=lambda k: catalog.MARTS[k].label, key="b_mart",
                        on_change=_reset_picks)
mart = catalog.mart(mart_key)
st.caption(mart.description)

measures = {m.key: m.label for m in mart.measures}
dimensions = {d.key: d.label for d in mart.dimensions}
# Defaults go into state (not default=) so "My dashboards" can preset these widgets the same way.
st.session_state.setdefault("b_measures", [mart.measures[0].key])
st.session_state.setdefault("b_dimensions", ["month"])
st.session_state.setdefault("b_chart", "bar")
left, right = st.columns(2)
picked_measures = left.multiselect("Measures", list(measures), format_func=measures.get,
                                   max_selections=catalog.MAX_MEASURES, key="b_measures")
picked_dimensions = right.multiselect("Dimensions", list(dimensions), format_func=dimensions.get,
                                      max_selections=catalog.MAX_DIMENSIONS, key="b_dimensions")

filters = []
filterable = [d for d in mart.dimensions if d.filterable]
if filterable:
    with st.expander("Filters", expanded=any(st.session_state.get(f"b_filter_{d.key}") for d in filterable)):
        for d in filterable:
            with ui.section():
                values = st.multiselect(d.label, data.distinct_values(mart.key, d.key), key=f"b_filter_{d.key}",
                                        placeholder="Any")
                if values:
                    filters.append((d.key, tuple(values)))

chart = st.segmented_control("Chart", list(catalog.CHART_TYPES), key="b_chart", format_func=str.capitalize) or "bar"

try:
    spec = catalog.DashboardSpec(mart=mart.key, measures=tuple(picked_measures), dimensions=tuple(picked_dimensions),
                                 filters=tuple(sorted(filters)), chart=chart)
    catalog.validate(spec)
except catalog.CatalogError as exc:
    st.warning(f"Not yet: {exc}.")
    st.stop()

with ui.section("Preview"):
    ui.custom_dashboard(spec, f, key="preview")

st.subheader("Save")
with st.form("b_save", border=True):
    name = st.text_input("Name", key="b_name", max_chars=store.MAX_NAME, placeholder="e.g. Monthly payments by payer")
    share = st.multiselect("Share with roles", sorted(DASHBOARD_ROLES), key="b_share",
                           help="Everyone with these roles will see it under My dashboards (read-only).")
    saved = st.form_submit_button("Save dashboard", type="primary")
if saved:
    try:
        cleaned = store.save(data.client(), viewer, name, spec, tuple(share))
    except ValueError as exc:
        st.error(str(exc).capitalize())
    else:
        st.success(f"Saved “{cleaned}”. It is on your My dashboards page.")
