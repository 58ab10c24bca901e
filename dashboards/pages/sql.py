"""Analyst SQL: read-only queries on marts.* and ml.*, a table, a quick chart and a CSV export.

sql.py checks the statement with ClickHouse's own parser and runs it with readonly=1 and limits;
this page only collects the text and shows the answer.
"""

import streamlit as st

from dashboards import charts, sql, ui
from dashboards.config import get_dashboard_settings

ctx = ui.context()
if not ctx.viewer.may_run_sql:  # app.py does not list the page for others; a direct URL lands here
    st.error("The SQL page is for analysts and administrators with access to every facility.")
    st.stop()

settings = get_dashboard_settings()
st.title("SQL")
st.caption(f"Read-only SELECT / WITH on marts.* and ml.* (unqualified names are marts tables). At most "
           f"{settings.dashboards_sql_max_rows:,} rows and {settings.dashboards_sql_max_seconds} s per query. "
           "The sidebar filters do not apply here.")

text = st.text_area("Query", key="sql_text", height=180,
                    placeholder="select toStartOfMonth(date) as month, sum(payments_received) as payments\n"
                                "from marts.fct_kpi_daily group by month order by month")
if st.button("Run", type="primary", key="sql_run"):
    try:
        st.session_state["sql_result"] = sql.run(text)
        st.session_state.pop("sql_error", None)
    except sql.RejectedQuery as exc:
        st.session_state["sql_error"] = str(exc)
        st.session_state.pop("sql_result", None)

if error := st.session_state.get("sql_error"):
    st.error(error)
result: sql.Result | None = st.session_state.get("sql_result")
if result is not None:
    frame = result.frame
    st.caption(f"{len(frame):,} rows · {result.rows_read:,} rows read · {result.elapsed_ms:,.0f} ms"
               + (f" · truncated at {settings.dashboards_sql_max_rows:,} rows" if result.truncated else ""))
    money = {c: st.column_config.NumberColumn(format="%.2f") for c in charts.decimal_columns(frame)}
    st.dataframe(frame, hide_index=True, width="stretch", column_config=money)
    ui.csv_download(frame, "query-result", key="sql_csv")
    numeric = charts.numeric_columns(frame)
    if len(frame.columns) >= 2 and numeric and not frame.empty:
        with st.expander("Quick chart", expanded=True):
            left, right, kind = st.columns(3)
            x = left.selectbox("X", list(frame.columns), key="sql_x")
            y = right.selectbox("Y", [c for c in numeric if c != x], key="sql_y")
            mark = kind.segmented_control("Chart", ["bar", "line"], default="bar", key="sql_mark") or "bar"
            if y:
                st.altair_chart(charts.quick(frame, x, y, mark), width="stretch")
