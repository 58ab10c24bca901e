"""Spark Den analytics: the Streamlit entry point (``pms dashboards`` runs ``streamlit run`` on this file).

It signs the viewer in, puts the global filters in the sidebar, and hands over to the page the
viewer picked; which pages exist depends on the role. Pages only render (pages/); queries live in
data.py, charts in charts.py.
"""

from pathlib import Path

import streamlit as st

from dashboards import ui

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Spark Den analytics", page_icon=":bar_chart:", layout="wide",
                   initial_sidebar_state="auto")

viewer = ui.current_viewer()
if viewer is None:
    st.session_state.pop("context", None)
    st.navigation([st.Page(ui.sign_in_page, title="Sign in", url_path="sign_in")], position="hidden").run()
    st.stop()

st.session_state["context"] = ui.sidebar_filters(viewer)
analysis = [
    st.Page(PAGES / "executive.py", title="Executive overview", url_path="executive_overview", default=True),
    st.Page(PAGES / "revenue_cycle.py", title="Revenue cycle", url_path="revenue_cycle"),
    st.Page(PAGES / "scheduling.py", title="Scheduling & productivity", url_path="scheduling_productivity"),
    st.Page(PAGES / "forecasts.py", title="Forecasts", url_path="forecasts"),
]
custom = [
    st.Page(PAGES / "builder.py", title="Dashboard builder", url_path="builder"),
    st.Page(PAGES / "my_dashboards.py", title="My dashboards", url_path="my_dashboards"),
]
if viewer.may_run_sql:
    custom.append(st.Page(PAGES / "sql.py", title="SQL", url_path="sql"))
page = st.navigation({"Dashboards": analysis, "Your own": custom})
ui.sign_out_button(viewer)
page.run()
