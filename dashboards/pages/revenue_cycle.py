"""Revenue cycle: A/R aging by payer with a drill-down, denials and appeals, timeliness, collections."""

import streamlit as st

from dashboards import charts, data, kpis, ui

ctx = ui.context()
f, viewer = ctx.filters, ctx.viewer
as_of = min(f.date_to, ctx.last_day)

st.title("Revenue cycle")
ui.period_caption(ctx)
data.prefetch(lambda: data.ar_by_payer(f, as_of), lambda: data.denials(f), lambda: data.claim_timeliness(f),
              lambda: data.days_to_payment_histogram(f), lambda: data.collections_monthly(f))

with ui.section(f"A/R aging on {as_of:%d %b %Y}"):
    aging = data.ar_by_payer(f, as_of)
    if aging.empty:
        st.info("No open A/R on this day for the selection.")
    else:
        st.altair_chart(charts.ar_by_payer(aging), width="stretch")
        st.dataframe(kpis.aging_table(aging).map(ui.money), width="stretch")

        st.markdown("**Drill down** to the claims behind one payer and bucket")
        payer_names = dict(aging[["payer_id", "payer"]].drop_duplicates().itertuples(index=False, name=None))
        pick_payer, pick_bucket = st.columns(2)
        payer_id = pick_payer.selectbox("Payer", list(payer_names), format_func=payer_names.get, key="drill_payer")
        buckets = [b for b in kpis.AGING_BUCKETS if b in set(aging.loc[aging["payer_id"] == payer_id, "bucket"])]
        bucket = pick_bucket.selectbox("Aging bucket", buckets, key="drill_bucket")
        if bucket:
            if viewer.may_see_claim_ids:
                claims = data.open_claims(f, payer_id, bucket, as_of, viewer)
                ui.table(claims, money_columns=("charge", "balance"), date_columns=("date_of_service",))
                ui.csv_download(claims, f"open-claims-{bucket}", key="drill_csv")
            else:
                summary = data.open_claims_by_provider(f, payer_id, bucket, as_of)
                ui.table(summary, money_columns=("balance",))
                st.caption("Your role sees claim aggregates; claim-level detail is for administrators.")
            st.caption("Claims with an open balance, aged from the date of service to the A/R day. Self-pay "
                       "balances without a claim are in the A/R totals above but have no claim to list.")

with ui.section("Denials by CARC reason and payer"):
    denials = data.denials(f)
    if denials.empty:
        st.info("No denials in this period.")
    else:
        st.altair_chart(charts.denials_by_reason(denials), width="stretch")
        summary = kpis.denial_summary(denials)
        ui.table(summary, money_columns=("denied_amount", "recovered", "written_off"),
                 rate_columns=("appeal_rate", "overturn_rate"))
        ui.csv_download(summary, "denials-by-reason", key="denials_csv")

left, right = st.columns(2)
with left, ui.section("Days to submit and to payment"):
    timeliness = data.claim_timeliness(f)
    if timeliness.empty:
        st.info("No claims for services in this period.")
    else:
        st.altair_chart(charts.grouped_bars(
            timeliness, "payer", {"median_days_to_submit": "Median days to submit",
                                  "median_days_to_payment": "Median days to payment"},
            "Median days by payer", "Days"), width="stretch")
        ui.table(timeliness.round(1), median_days_to_submit=st.column_config.NumberColumn("Submit, median"),
                 mean_days_to_submit=st.column_config.NumberColumn("Submit, mean"),
                 median_days_to_payment=st.column_config.NumberColumn("Payment, median"),
                 mean_days_to_payment=st.column_config.NumberColumn("Payment, mean"),
                 paid_claims=st.column_config.NumberColumn("Paid"))
with right, ui.section("Time to payment"):
    histogram = data.days_to_payment_histogram(f)
    if histogram.empty:
        st.info("No paid claims for services in this period.")
    else:
        st.altair_chart(charts.histogram(histogram, "days", "claims", ["0-7", "8-14", "15-30", "31-60", "61+"],
                                         "Claims by days from submission to first payment"), width="stretch")
        st.caption("Target: first payment within 15 days of submission.")

with ui.section("Collection and claim rates by month"):
    monthly = data.collections_monthly(f)
    if monthly.empty:
        st.info("No activity in this period.")
    else:
        st.altair_chart(charts.rates_by_month(kpis.monthly_rates(monthly, ctx.last_day), {
            "gross_collection_rate": "Gross collection rate", "net_collection_rate": "Net collection rate",
            "clean_claim_rate": "Clean claim rate", "first_pass_rate": "First-pass resolution rate"},
            "Rates by month (payments posted ÷ charges for services in the month)"), width="stretch")
        ui.not_applied(f, data.KPI, "Monthly rates (fct_kpi_daily)")
