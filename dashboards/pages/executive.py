"""Executive overview: the four headline tiles, the KPI strip, and the trends behind them."""

from datetime import timedelta

import streamlit as st

from dashboards import charts, data, kpis, ui

ctx = ui.context()
f, prev = ctx.filters, ctx.filters.previous()

st.title("Executive overview")
ui.period_caption(ctx)

today, week_before = f.date_to, f.date_to - timedelta(days=7)
data.prefetch(  # every query of the page at once; the sections below read the answers from the cache
    lambda: data.appointments_on(f, today), lambda: data.appointments_on(f, week_before),
    lambda: data.payments_total(f), lambda: data.payments_total(prev), lambda: data.payments_by_source(f),
    lambda: data.appointment_status(f), lambda: data.appointment_status(prev),
    lambda: data.claim_status(f), lambda: data.claim_status(prev), lambda: data.kpi_sums(f),
    lambda: data.kpi_sums(prev), lambda: data.payments_weekly(f),
    lambda: data.ar_aging_snapshots(f, data.snapshot_dates(f, ctx.last_day)), lambda: data.denial_rate_weekly(f),
    lambda: data.no_show_weekly(f), lambda: data.weekly_history(f), lambda: data.forecast(f))

with ui.section():
    booked_today, booked_week_before = data.appointments_on(f, today), data.appointments_on(f, week_before)
    paid, paid_before = data.payments_total(f), data.payments_total(prev)
    by_source = data.payments_by_source(f)
    status, status_before = data.appointment_status(f), data.appointment_status(prev)
    claims, claims_before = data.claim_status(f), data.claim_status(prev)

    by_status = dict(zip(status["status"], status["appointments"], strict=True))
    by_status_before = dict(zip(status_before["status"], status_before["appointments"], strict=True))
    claim_counts = dict(zip(claims["status"], claims["claims"], strict=True))
    paid_claims = sum(claim_counts.get(s, 0) for s in ("paid", "partially_paid", "closed"))
    denied_claims = sum(claim_counts.get(s, 0) for s in ("denied", "rejected", "appealed"))
    open_claims = sum(claim_counts.get(s, 0) for s in ("draft", "submitted", "accepted"))

    tiles = st.columns(4)
    tiles[0].metric("Appointments today", ui.count(booked_today),
                    ui.pct_change(kpis.change(booked_today, booked_week_before)), border=True,
                    help=f"Appointments starting {today:%a %d %b %Y} (the period's last day), cancellations "
                         f"excluded; change vs {week_before:%a %d %b}.")
    tiles[1].metric("Payments received", ui.money_short(paid), ui.pct_change(kpis.change(paid, paid_before)),
                    border=True, help="Revenue: payments posted in the period, insurance and patient; change vs the "
                                      "previous period of the same length.")
    tiles[1].caption(" · ".join([ui.money(paid)] + [f"{s} {ui.money(a)}" for s, a in by_source.items()]))
    kept = by_status.get("completed", 0) + by_status.get("checked_in", 0)
    kept_before = by_status_before.get("completed", 0) + by_status_before.get("checked_in", 0)
    tiles[2].metric("Kept appointments", ui.count(kept), ui.pct_change(kpis.change(kept, kept_before)), border=True,
                    help="Appointments in the period that were completed or checked in; below, every final "
                         "status. Change vs the previous period.")
    tiles[2].caption(" · ".join(f"{s.replace('_', ' ')} {ui.count(n)}" for s, n in sorted(by_status.items())))
    tiles[3].metric("Claims", ui.count(claims["claims"].sum()),
                    ui.pct_change(kpis.change(claims["claims"].sum(), claims_before["claims"].sum())), border=True,
                    help="Claims for services in the period by current status; change vs the previous period.")
    tiles[3].caption(f"paid {ui.count(paid_claims)} · in process {ui.count(open_claims)} · "
                     f"denied or rejected {ui.count(denied_claims)}")
    ui.not_applied(f, data.APPOINTMENTS, "Appointment tiles")

with ui.section("Key rates"):
    now, before = kpis.rates(data.kpi_sums(f)), kpis.rates(data.kpi_sums(prev))
    strip = [*st.columns(3), *st.columns(3)]
    strip[0].metric("Days in A/R", "–" if now["days_in_ar"] is None else f"{now['days_in_ar']:.1f}",
                    None if now["days_in_ar"] is None or before["days_in_ar"] is None
                    else f"{now['days_in_ar'] - before['days_in_ar']:+.1f}", delta_color="inverse",
                    help="A/R at period end ÷ average daily gross charges of the last 90 days. Target < 30.")
    strip[1].metric("A/R over 90 days", ui.rate(now["pct_ar_over_90"]),
                    ui.point_change(now["pct_ar_over_90"], before["pct_ar_over_90"]), delta_color="inverse")
    strip[2].metric("Clean claim rate", ui.rate(now["clean_claim_rate"]),
                    ui.point_change(now["clean_claim_rate"], before["clean_claim_rate"]), help="Target > 95%.")
    strip[3].metric("Initial denial rate", ui.rate(now["denial_rate_count"]),
                    ui.point_change(now["denial_rate_count"], before["denial_rate_count"]), delta_color="inverse",
                    help="Claims denied at first adjudication ÷ claims first adjudicated. Target < 5%.")
    strip[4].metric("Net collection rate", ui.rate(now["net_collection_rate"]),
                    ui.point_change(now["net_collection_rate"], before["net_collection_rate"]),
                    help="Payments ÷ (gross charges − contractual adjustments). Target > 98%; provisional for "
                         "services less than 120 days old.")
    strip[5].metric("No-show rate", ui.rate(now["no_show_rate"]),
                    ui.point_change(now["no_show_rate"], before["no_show_rate"]), delta_color="inverse",
                    help="No-shows ÷ (completed + checked in + no-shows).")
    ui.not_applied(f, data.KPI, "Key rates (fct_kpi_daily, by facility and day)")

left, right = st.columns(2)
with left, ui.section():
    st.altair_chart(charts.payments_trend(data.payments_weekly(f)), width="stretch")
with right, ui.section():
    st.altair_chart(charts.claims_pipeline(data.claim_status(f)), width="stretch")

left, right = st.columns(2)
with left, ui.section():
    st.altair_chart(charts.ar_aging_stacked(data.ar_aging_snapshots(f, data.snapshot_dates(f, ctx.last_day))),
                    width="stretch")
with right, ui.section():
    st.altair_chart(charts.rate_trend(data.denial_rate_weekly(f), "denial_rate", "Initial denial rate by week",
                                      target=0.05, target_label="target 5%"), width="stretch")

left, right = st.columns(2)
with left, ui.section():
    st.altair_chart(charts.rate_trend(data.no_show_weekly(f), "no_show_rate", "No-show rate by week"),
                    width="stretch")
with right, ui.section():
    history, ahead = data.weekly_history(f), data.forecast(f)
    if ahead.empty:
        st.info("No revenue forecast for this selection yet: run `pms ml score`.")
    else:
        names = {"": "Practice", **ctx.facility_names}
        st.altair_chart(charts.forecast_band(history, ahead, names), width="stretch")
        st.caption("Dashed: the 13-week forecast with its 80% and 95% intervals (shaded). Forecasts are per facility "
                   "or for the whole practice; provider and payer filters do not apply.")
