"""Forecasts: the 13-week revenue forecast with its intervals and backtest error, and the model cards."""

import streamlit as st

from dashboards import charts, data, kpis, ui

ctx = ui.context()
f = ctx.filters

st.title("Forecasts")
st.caption("Model outputs from ml.* (written by `pms ml train` and `pms ml score`).")

names = {"": "Practice", **ctx.facility_names}

with ui.section("Revenue forecast, next 13 weeks"):
    ahead = data.forecast(f)
    if ahead.empty:
        st.info("No forecast for this selection: run `pms ml train` and `pms ml score` (a facility needs about "
                "39 weeks of payments for its own series).")
    else:
        st.altair_chart(charts.forecast_band(data.weekly_history(f, weeks=52), ahead, names), width="stretch")
        table = ahead.assign(series=ahead["series_id"].map(names))[
            ["series", "week", "point", "lo80", "hi80", "lo95", "hi95"]]
        ui.table(table, money_columns=("point", "lo80", "hi80", "lo95", "hi95"), date_columns=("week",))
        ui.csv_download(table, "revenue-forecast", key="forecast_csv")
        st.caption(f"Model version {ahead['model_version'].iloc[0]}. Provider and payer filters do not apply.")

with ui.section("Model cards"):
    metrics = data.model_metrics()
    if metrics.empty:
        st.info("No model metrics yet: run `pms ml train`.")
    forecast_metrics = metrics[metrics["model"] == "revenue_forecast"]
    if not forecast_metrics.empty:
        st.markdown(f"#### Revenue forecast · version {forecast_metrics['version'].iloc[0]}")
        splits = sorted(forecast_metrics["split"].unique(), key=lambda s: (s != "backtest/practice", s))
        labels = {s: names.get(s.removeprefix("backtest/"), "Practice" if s.endswith("practice") else s) for s in splits}
        split = st.selectbox("Series", splits, format_func=labels.get, key="backtest_series")
        values = kpis.metric_values(forecast_metrics[forecast_metrics["split"] == split])
        left, right = st.columns(2)
        left.altair_chart(charts.mase_bars(kpis.backtest_methods(values)), width="stretch")
        cols = right.columns(2)
        cols[0].metric("MASE (model)", f"{values.get('mase_model', float('nan')):.3f}",
                       help="Mean absolute scaled error over rolling origins; below 1 beats the naive scale.")
        cols[1].metric("MAE vs seasonal naive", ui.rate(values.get("mae_ratio_to_seasonal_naive")),
                       help="Model MAE ÷ seasonal-naive MAE on the same backtest points.")
        cols = right.columns(2)
        cols[0].metric("80% interval coverage", ui.rate(values.get("coverage_80")), help="Nominal 80%.")
        cols[1].metric("95% interval coverage", ui.rate(values.get("coverage_95")), help="Nominal 95%.")
        scale = "52-week seasonal naive" if values.get("season") == 52 else "naive (history too short for a year)"
        right.caption(f"MASE scale: {scale} · {values.get('origins', float('nan')):.0f} backtest origins")
        if card := data.model_card("revenue_forecast"):
            with st.expander("Card"):
                st.json({k: card.get(k) for k in ("model", "version", "created_at", "horizon_weeks", "levels",
                                                  "data_window", "skipped_facilities", "season_note", "libraries")})

    no_show = metrics[metrics["model"] == "no_show"]
    if not no_show.empty:
        st.markdown(f"#### No-show risk · version {no_show['version'].iloc[0]}")
        values = kpis.metric_values(no_show)
        cols = st.columns(4)
        cols[0].metric("ROC AUC", f"{values.get('roc_auc', float('nan')):.3f}", help="Time-based holdout.")
        cols[1].metric("PR AUC", f"{values.get('pr_auc', float('nan')):.3f}")
        cols[2].metric("Brier score", f"{values.get('brier', float('nan')):.4f}", help="Lower is better.")
        cols[3].metric("Brier of base rate", f"{values.get('brier_base_rate', float('nan')):.4f}",
                       help="Always predicting the training no-show rate: the bar to beat.")
        deciles = kpis.reliability_deciles(no_show)
        if not deciles.empty:
            st.altair_chart(charts.reliability(deciles), width="stretch")
        if card := data.model_card("no_show"):
            with st.expander("Card"):
                st.json({k: card.get(k) for k in ("model", "version", "created_at", "calibration", "features",
                                                  "feature_cutoff", "data_window", "libraries")})
