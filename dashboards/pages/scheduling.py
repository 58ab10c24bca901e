"""Scheduling and productivity: utilisation, no-shows, upcoming risk, and providers against their peers."""

import streamlit as st

from dashboards import charts, data, kpis, ui

ctx = ui.context()
f = ctx.filters

st.title("Scheduling & productivity")
ui.period_caption(ctx)
data.prefetch(lambda: data.utilisation_by_weekday(f), lambda: data.no_show_by_provider(f),
              lambda: data.no_show_weekly(f), lambda: data.upcoming_risk(f, ctx.last_day), lambda: data.productivity(f))

with ui.section("Utilisation"):
    view = st.segmented_control("View", ["By weekday", "By hour"], default="By weekday", key="utilisation_view",
                                label_visibility="collapsed")
    if view == "By hour":
        hourly = data.booked_by_hour(f)
        if hourly.empty:
            st.info("No appointments in this period.")
        else:
            hourly["share"] = kpis.share_within(hourly, "booked_minutes", "provider")
            st.altair_chart(charts.heatmap(hourly, "hour", "provider", "share",
                                           "Share of each provider's kept minutes by start hour",
                                           x_title="Local start hour", tooltip=["appointments:Q", "no_shows:Q"]),
                            width="stretch")
            st.caption("Provider availability is daily in the marts, so the hourly view shows where booked time "
                       "falls; the weekday view is true utilisation (booked ÷ available minutes).")
    else:
        weekly = data.utilisation_by_weekday(f)
        if weekly.empty:
            st.info("No provider availability in this period.")
        else:
            weekly["day"] = weekly["weekday"].map(lambda d: charts.WEEKDAYS[int(d) - 1])
            st.altair_chart(charts.heatmap(weekly, "day", "provider", "utilisation",
                                           "Utilisation: booked ÷ available minutes", x_sort=charts.WEEKDAYS,
                                           tooltip=["booked_minutes:Q", "available_minutes:Q"]), width="stretch")
    ui.not_applied(f, data.APPOINTMENTS, "Utilisation")

left, right = st.columns(2)
with left, ui.section("No-show rate"):
    by_provider = data.no_show_by_provider(f)
    no_shows, kept_or_missed = by_provider["no_shows"].sum(), by_provider["kept_or_missed"].sum()
    st.metric("No-show rate", ui.rate(kpis.ratio(no_shows, kept_or_missed)),
              help="No-shows ÷ (completed + checked in + no-shows), appointments starting in the period.")
    st.altair_chart(charts.rate_trend(data.no_show_weekly(f), "no_show_rate", "No-show rate by week"),
                    width="stretch")
with right, ui.section("No-shows by provider"):
    if by_provider.empty:
        st.info("No kept or missed appointments in this period.")
    else:
        st.altair_chart(charts.versus_peers(by_provider, "no_show_rate", "No-show rate", ".1%"), width="stretch")

with ui.section("Upcoming appointments by no-show risk"):
    upcoming = data.upcoming_risk(f, ctx.last_day)
    if upcoming.empty:
        st.info("No scored upcoming appointments: run `pms ml score` after the marts are built.")
    else:
        st.dataframe(
            upcoming[["appointment_id", "date", "hour", "provider", "type", "risk"]],
            hide_index=True, width="stretch",
            column_config={"risk": st.column_config.ProgressColumn("No-show risk", format="percent", min_value=0,
                                                                   max_value=1),
                           "date": st.column_config.DateColumn("Date"),
                           "hour": st.column_config.NumberColumn("Local hour", format="%d:00")})
        st.caption(f"Open appointments from {ctx.last_day:%d %b %Y}, highest risk first (top {len(upcoming)}). "
                   "Risk is the latest calibrated probability from the no-show model; no patient details are shown.")

with ui.section("Visits and wRVUs per provider vs peers"):
    prod = data.productivity(f)
    if prod.empty:
        st.info("No visits in this period.")
    else:
        prod = kpis.provider_rates(prod)
        left, right = st.columns(2)
        left.altair_chart(charts.versus_peers(prod, "visits", "Visits", ",.0f"), width="stretch")
        right.altair_chart(charts.versus_peers(prod, "wrvus", "wRVUs", ",.1f"), width="stretch")
        ui.table(prod.round({"visits_per_day": 2, "wrvus_per_visit": 2}), money_columns=("gross_charges", "payments"),
                 rate_columns=("utilisation",))
        ui.not_applied(f, data.PRODUCTIVITY, "Productivity")
        if f.facility_ids:
            st.caption("Productivity is per provider across facilities; a facility filter keeps the providers "
                       "whose primary facility it is.")
