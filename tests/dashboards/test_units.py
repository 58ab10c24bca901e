"""Pure pieces without a warehouse: the catalog's SQL builder, filters, KPI arithmetic, charts, the CLI."""

from datetime import date
from decimal import Decimal

import altair as alt
import pandas as pd
import pytest
from typer.testing import CliRunner

from dashboards import catalog, charts, cli, kpis
from dashboards.filters import Dims, Filters, unapplied, where

F = Filters(date(2026, 4, 1), date(2026, 4, 30), facility_ids=("f1",), provider_ids=("p1", "p2"))


def test_previous_period_has_the_same_length_and_ends_the_day_before():
    prev = F.previous()
    assert (prev.date_from, prev.date_to) == (date(2026, 3, 2), date(2026, 3, 31))
    assert prev.days == F.days == 30 and prev.facility_ids == F.facility_ids
    with pytest.raises(ValueError):
        Filters(date(2026, 5, 1), date(2026, 4, 1))


def test_where_binds_every_value_and_skips_columns_a_mart_lacks():
    sql, params = where(F, Dims(date="t.d", facility="t.facility_id", provider=None, payer="t.payer_id"))
    assert sql == "t.d between {date_from:Date} and {date_to:Date} and t.facility_id in {facility_ids:Array(UUID)}"
    assert params == {"date_from": F.date_from, "date_to": F.date_to, "facility_ids": ["f1"]}
    assert unapplied(F, Dims(date="d", provider=None)) == ["provider"]
    via, _ = where(F, Dims(date=None, facility=None, payer=None, facility_via_provider=True))
    assert "primary_facility_id in {facility_ids:Array(UUID)}" in via and unapplied(
        F, Dims(date=None, facility=None, payer=None, facility_via_provider=True)) == []


def test_custom_query_uses_registry_identifiers_and_bound_values():
    hostile = "x') or 1=1 --"
    spec = catalog.DashboardSpec("fct_claims", ("claims", "total_charge"), ("month", "payer"),
                                 filters=(("claim_status", ("paid", hostile)),), chart="table")
    sql, params = catalog.build_query(spec, F, limit=100)
    assert hostile not in sql and params["filter_0"] == ["paid", hostile]
    assert "from marts.fct_claims as t left join marts.dim_payer as y" in sql
    assert "toString(t.claim_status) in {filter_0:Array(String)}" in sql
    assert sql.endswith("group by _d0, _d1 order by _d0, _d1 limit 100")


def test_snapshot_measures_read_the_last_day_of_each_group_instead_of_summing_days():
    spec = catalog.DashboardSpec("fct_ar_aging_daily", ("ar_balance",), ("month",))
    sql, _ = catalog.build_query(spec, F, limit=10)
    assert "max(t.date) over (partition by _d0) as _snapshot" in sql
    assert "sumIf(t.ar_balance, _date = _snapshot)" in sql


@pytest.mark.parametrize("spec, message", [
    (catalog.DashboardSpec("raw_claims", ("claims",)), "not an available mart"),
    (catalog.DashboardSpec("fct_claims", ("sum(total_charge)",), ("month",)), "no measure"),
    (catalog.DashboardSpec("fct_claims", ("claims",), ("patient_id",)), "no dimension"),
    (catalog.DashboardSpec("fct_claims", ("claims",), ("month",), filters=(("payer", ("x",)),)), "cannot be filtered"),
    (catalog.DashboardSpec("fct_claims", ("claims",), ("month",), chart="pie"), "unknown chart"),
    (catalog.DashboardSpec("fct_claims", ("claims",), ("month",), chart="heatmap"), "two dimensions"),
    (catalog.DashboardSpec("fct_claims", ("claims",), (), chart="bar"), "needs a dimension"),
    (catalog.DashboardSpec("fct_claims", (), ("month",)), "at least one measure"),
])
def test_catalog_refuses_what_is_not_whitelisted(spec, message):
    with pytest.raises(catalog.CatalogError, match=message):
        catalog.validate(spec)


def test_saved_definitions_round_trip_and_tampered_ones_fail():
    spec = catalog.DashboardSpec("fct_payments", ("amount",), ("week", "payer"),
                                 filters=(("payment_source", ("insurance",)),), chart="line")
    assert catalog.DashboardSpec.from_json(spec.to_json()) == spec
    with pytest.raises(catalog.CatalogError):
        catalog.DashboardSpec.from_json({**spec.to_json(), "measures": ["amount); drop table x; --"]})


def test_every_registry_expression_names_real_columns_of_its_mart():
    """Registry SQL may only use the mart's own columns (the seed SCHEMA mirrors dbt's marts)."""
    from tests.dashboards.seed import SCHEMA

    for mart in catalog.MARTS.values():
        columns = {c for c, _ in SCHEMA[mart.key]}
        for expression in [m.sql for m in mart.measures] + [d.sql for d in mart.dimensions]:
            used = set(pd.Series([expression]).str.findall(r"\bt\.([a-z_0-9]+)")[0])
            assert used <= columns, f"{mart.key}: {sorted(used - columns)}"


def test_kpi_rates_are_ratios_of_sums():
    sums = {"ar_total": Decimal("900"), "ar_91_120": Decimal("100"), "ar_over_120": Decimal("80"),
            "charges_90_days": Decimal("2700"), "claims_clean": 19, "claims_first_submitted": 20,
            "claims_initially_denied": 1, "claims_first_adjudicated": 25, "charges_initially_denied": Decimal("150"),
            "charges_first_adjudicated": Decimal("3000"), "claims_first_pass_paid": 24,
            "payments_received": Decimal("1800"), "gross_charges": Decimal("2000"),
            "contractual_adjustments": Decimal("200"), "appointments_completed": 90, "appointments_checked_in": 0,
            "appointments_no_show": 10, "appointments_late_cancelled": 5}
    r = kpis.rates(sums)
    assert r["days_in_ar"] == pytest.approx(30.0)
    assert r["pct_ar_over_90"] == pytest.approx(0.2) and r["pct_ar_over_120"] == pytest.approx(80 / 900)
    assert r["clean_claim_rate"] == pytest.approx(0.95) and r["denial_rate_count"] == pytest.approx(0.04)
    assert r["net_collection_rate"] == pytest.approx(1.0) and r["no_show_rate"] == pytest.approx(0.1)
    assert r["late_cancel_rate"] == pytest.approx(5 / 105)
    assert kpis.ratio(1, 0) is None and kpis.change(110, 100) == pytest.approx(0.1) and kpis.change(1, 0) is None


def _spec_frame():
    return pd.DataFrame({"Month": pd.to_datetime(["2026-04-01", "2026-05-01"]),
                         "Payments": [Decimal("10.50"), Decimal("20.25")]})


def test_chart_builders_produce_vega_lite_from_decimal_frames():
    weeks = pd.to_datetime(["2026-04-06", "2026-04-13"])
    built = [
        charts.payments_trend(pd.DataFrame({"week": weeks, "source": ["insurance", "patient"],
                                            "amount": [Decimal("1.10"), Decimal("2.20")]})),
        charts.claims_pipeline(pd.DataFrame({"status": ["paid", "draft"], "claims": [3, 1],
                                             "charges": [Decimal("300"), Decimal("100")]})),
        charts.rate_trend(pd.DataFrame({"week": weeks, "r": [0.1, None]}), "r", "t", target=0.05),
        charts.custom(_spec_frame(), catalog.DashboardSpec("fct_payments", ("amount",), ("month",)),
                      catalog.mart("fct_payments")),
    ]
    for chart in built:
        spec = chart.to_dict()
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    values = built[0].to_dict()["datasets"]
    assert [row["amount"] for row in next(iter(values.values()))] == [1.1, 2.2]


def test_png_export_renders_without_a_browser():
    chart = charts.custom(_spec_frame(), catalog.DashboardSpec("fct_payments", ("amount",), ("month",)),
                          catalog.mart("fct_payments"))
    png = charts.to_png(chart, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_numeric_columns_see_decimals_and_skip_text():
    frame = pd.DataFrame({"a": ["x", "y"], "b": [Decimal("1"), None], "c": [1, 2], "d": [True, False]})
    assert charts.numeric_columns(frame) == ["b", "c"]
    assert isinstance(charts.quick(frame, "a", "b"), alt.Chart)


def test_cli_runs_streamlit_headless_on_the_app(monkeypatch):
    import typer

    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    app = typer.Typer()
    app.command()(cli.dashboards_command)
    result = CliRunner().invoke(app, ["--port", "8611"])
    assert result.exit_code == 0, result.output
    cmd = calls[0]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("dashboards/app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8611" and cmd[cmd.index("--server.headless") + 1] == "true"


def test_money_is_exact_in_tables_and_short_on_tiles():
    from dashboards import ui

    assert ui.money(Decimal("1234.5")) == "$1,234.50" and ui.money(Decimal("-3")) == "-$3.00" and ui.money(None) == "–"
    assert ui.money_short(Decimal("178185.20")) == "$178.2K" and ui.money_short(Decimal("12345678")) == "$12.35M"
    assert ui.money_short(Decimal("999.99")) == "$999.99" and ui.money_short(Decimal("-2500")) == "-$2.5K"


def test_derived_tables_for_the_pages():
    denials = pd.DataFrame({"reason": ["CO-16", "CO-16", "OA-18"], "payer": ["Acme", "Acme", "Acme"],
                            "outcome": ["not appealed", "overturned on appeal", "written off"],
                            "denials": [3, 1, 2], "denied_amount": [Decimal("300"), Decimal("100"), Decimal("50")],
                            "appealed": [0, 1, 0], "overturned": [0, 1, 0], "recovered": [Decimal("0")] * 3,
                            "written_off": [Decimal("0"), Decimal("0"), Decimal("50")]})
    summary = kpis.denial_summary(denials)
    assert list(summary["reason"]) == ["CO-16", "OA-18"]
    assert summary.loc[0, "appeal_rate"] == pytest.approx(0.25) and summary.loc[0, "overturn_rate"] == 1.0
    assert pd.isna(summary.loc[1, "overturn_rate"]) and summary.loc[0, "denied_amount"] == Decimal("400")

    monthly = pd.DataFrame({"month": pd.to_datetime(["2026-01-01", "2026-06-01"]),
                            "last_day": pd.to_datetime(["2026-01-31", "2026-06-30"]),
                            "payments": [Decimal("90"), Decimal("10")], "gross_charges": [Decimal("100")] * 2,
                            "contractual_adjustments": [Decimal("10"), Decimal("0")], "claims_clean": [9, 0],
                            "claims_first_submitted": [10, 0], "claims_first_pass_paid": [1, 1],
                            "claims_first_adjudicated": [1, 2]})
    rates = kpis.monthly_rates(monthly, date(2026, 6, 30))
    assert list(rates["net_collection_rate"]) == [1.0, 0.1] and list(rates["provisional"]) == [False, True]
    assert pd.isna(rates.loc[1, "clean_claim_rate"])

    aging = pd.DataFrame({"payer": ["B", "A", "A"], "bucket": ["121+", "31-60", "0-30"],
                          "balance": [Decimal("5"), Decimal("2"), Decimal("1")]})
    table = kpis.aging_table(aging)
    assert list(table.columns) == ["0-30", "31-60", "121+", "Total"] and table.loc["A", "Total"] == Decimal("3")

    metrics = pd.DataFrame({"metric": ["roc_auc", "reliability_02_n", "reliability_02_observed_rate",
                                       "reliability_02_mean_predicted", "reliability_01_n",
                                       "reliability_01_observed_rate", "reliability_01_mean_predicted"],
                            "value": [0.7, 5, 0.2, 0.25, 4, 0.1, 0.05]})
    deciles = kpis.reliability_deciles(metrics)
    assert list(deciles["bin"]) == [1, 2] and list(deciles["observed_rate"]) == [0.1, 0.2]
    assert kpis.backtest_methods({"mase_model": 0.7, "mase_seasonal_naive": 1.0})["method"].tolist() == [
        "Model", "Seasonal naive"]
