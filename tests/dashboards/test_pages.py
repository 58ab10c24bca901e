"""Every page through Streamlit's AppTest against the hand-made warehouse, signed in through the real API;
the figures on screen are checked against the marts queried directly."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from dashboards import data, ui
from dashboards.filters import Filters
from tests.dashboards.seed import AS_OF
from tests.dashboards.support import environment, sign_in

pytestmark = pytest.mark.warehouse

PAGES = ["pages/executive.py", "pages/revenue_cycle.py", "pages/scheduling.py", "pages/forecasts.py",
         "pages/builder.py", "pages/my_dashboards.py"]
DATE_FROM, DATE_TO = AS_OF - timedelta(days=89), AS_OF  # the default period: 90 days to the last built day
PERIOD = {"d1": DATE_FROM, "d2": DATE_TO}


def metric(at, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return found[0]


def paid_exact(at) -> str:
    """The exact amount under the Payments tile (the tile itself shows it short)."""
    return next(c.value for c in at.caption if c.value.startswith("$")).split(" · ")[0]


def delta(at, label: str) -> str | None:
    return next(m.delta for m in at.metric if m.label == label)


def all_text(at) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "title", "subheader", "info", "error", "warning")
             for e in getattr(at, kind)]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def charts(at) -> list[dict]:
    """The Vega-Lite specs the page drew."""
    return [json.loads(node.proto.spec) for node in at.get("vega_lite_chart")]


def chart_titles(at) -> list[str]:
    titles = []
    for spec in charts(at):
        title = spec.get("title") or next((layer.get("title") for layer in spec.get("layer", []) if "title" in layer), "")
        titles.append(title.get("text", "") if isinstance(title, dict) else title)
    return titles


def pages_of(at) -> set[str]:
    return {str(info.get("script_path", "")).rsplit("/", 1)[-1] for info in at._registered_pages.values()}


# -- sign-in and roles ----------------------------------------------------------------------------------

def test_sign_in_through_the_api_and_refusals(stack, app):
    at = sign_in(app(), "exec")
    assert not at.exception and not at.error
    assert metric(at, "Payments received").startswith("$") and paid_exact(at).startswith("$")
    assert "executive.py" in pages_of(at) and "sql.py" not in pages_of(at)

    refused = sign_in(app(), "biller")
    assert "does not include the analytics dashboards" in refused.error[0].value
    assert not refused.metric and pages_of(refused) == {""}  # only the sign-in page (a function page)

    wrong = sign_in(app(), "exec", "not-the-password-1")
    assert wrong.error[0].value == "Incorrect username or password."
    assert "viewer" not in wrong.session_state


@pytest.mark.parametrize("user", ["admin", "exec", "analyst", "east_analyst"])
def test_every_page_renders_without_exception(stack, app, user):
    at = app(user).run()
    assert ("sql.py" in pages_of(at)) == (user in ("admin", "analyst"))
    for page in PAGES + (["pages/sql.py"] if user in ("admin", "analyst") else []):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert at.title[0].value


# -- executive overview ---------------------------------------------------------------------------------

def test_executive_tiles_match_the_marts(stack, app):
    at = app("exec").run()
    today = stack.scalar("select countIf(appointment_status != 'cancelled') from marts.fct_appointments "
                         "where start_date = {d:Date}", d=AS_OF)
    assert metric(at, "Appointments today") == f"{today:,}"
    paid = stack.scalar("select sum(amount) from marts.fct_payments where received_date between {d1:Date} and {d2:Date}",
                        **PERIOD)
    assert paid == stack.scalar("select sum(payments_received) from marts.fct_kpi_daily "
                                "where date between {d1:Date} and {d2:Date}", **PERIOD)
    assert metric(at, "Payments received") == ui.money_short(paid) and paid_exact(at) == ui.money(paid)
    before = stack.scalar("select sum(amount) from marts.fct_payments where received_date between {d1:Date} and {d2:Date}",
                          d1=DATE_FROM - timedelta(days=90), d2=DATE_FROM - timedelta(days=1))
    assert delta(at, "Payments received") == f"{(paid - before) / before:+.1%}"
    kept = stack.scalar("select sum(is_completed + is_checked_in) from marts.fct_appointments "
                        "where start_date between {d1:Date} and {d2:Date}", **PERIOD)
    assert metric(at, "Kept appointments") == f"{kept:,}"
    claims = stack.scalar("select count() from marts.fct_claims where date_of_service between {d1:Date} and {d2:Date}",
                          **PERIOD)
    assert metric(at, "Claims") == f"{claims:,}"
    assert chart_titles(at) == [
        "Payments received per week", "Claims pipeline (by current status)", "A/R by age (end of month and period end)",
        "Initial denial rate by week", "No-show rate by week",
        "Payments per week and forecast"]


def test_executive_key_rates_match_the_kpi_mart(stack, app):
    at = app("analyst").run()
    denied, adjudicated, no_show, kept = (Decimal(x) for x in stack.client().query(
        "select sum(claims_initially_denied), sum(claims_first_adjudicated), sum(appointments_no_show), "
        "sum(appointments_completed + appointments_checked_in + appointments_no_show) from marts.fct_kpi_daily "
        "where date between {d1:Date} and {d2:Date}", parameters=PERIOD).result_rows[0])
    assert metric(at, "Initial denial rate") == f"{denied / adjudicated:.1%}"
    assert metric(at, "No-show rate") == f"{no_show / kept:.1%}"
    ar, charges = stack.client().query(
        "select sumIf(ar_total, date = {d2:Date}), sumIf(gross_charges, date > {d2:Date} - 90) "
        "from marts.fct_kpi_daily", parameters=PERIOD).result_rows[0]
    assert metric(at, "Days in A/R") == f"{ar / (charges / 90):.1f}"


def test_filters_cut_the_figures_and_the_scope_is_enforced(stack, app):
    at = app("admin").run()
    ada = next(i for i, n in stack.seeded.providers.items() if n == "Ada Byron")
    at.multiselect(key="filter_providers").select(ada).run()
    paid = stack.scalar("select sum(amount) from marts.fct_payments where received_date between {d1:Date} and {d2:Date} "
                        "and provider_id = {p:UUID}", p=ada, **PERIOD)
    assert paid_exact(at) == ui.money(paid)
    assert any("does not apply" in c.value for c in at.caption)  # fct_kpi_daily has no provider

    scoped = app("east_analyst").run()
    east = stack.api.facility_ids[0]
    assert scoped.multiselect(key="filter_facilities").options == ["East Clinic"]
    east_paid = stack.scalar("select sum(amount) from marts.fct_payments where received_date between {d1:Date} "
                             "and {d2:Date} and facility_id = {f:UUID}", f=east, **PERIOD)
    assert paid_exact(scoped) == ui.money(east_paid)
    assert east_paid < stack.scalar("select sum(amount) from marts.fct_payments where received_date "
                                    "between {d1:Date} and {d2:Date}", **PERIOD)
    assert "sql.py" not in pages_of(scoped)


# -- revenue cycle ----------------------------------------------------------------------------------------

def _money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def test_ar_aging_by_payer_matches_the_mart(stack, app):
    at = app("exec").run()
    at.switch_page("pages/revenue_cycle.py").run()
    table = at.dataframe[0].value
    total = sum(_money(v) for v in table["Total"])
    assert total == stack.scalar("select sum(ar_balance) from marts.fct_ar_aging_daily where date = {d:Date}", d=AS_OF)
    medicare = stack.scalar("select sum(t.ar_balance) from marts.fct_ar_aging_daily t join marts.dim_payer p "
                            "using payer_id where date = {d:Date} and payer_name = 'Medicare' and aging_bucket = '0-30'",
                            d=AS_OF)
    assert _money(table.loc["Medicare", "0-30"]) == medicare


def test_claim_ids_in_the_drill_down_are_for_admins_only(stack, app):
    admin = app("admin").run()
    admin.switch_page("pages/revenue_cycle.py").run()
    payer_id, bucket = admin.selectbox(key="drill_payer").value, admin.selectbox(key="drill_bucket").value
    detail = next(df.value for df in admin.dataframe if "claim_id" in df.value.columns)
    expected = stack.scalar(
        "select count() from marts.fct_claims where payer_id = {p:UUID} and claim_balance > 0 and "
        "multiIf(dateDiff('day', date_of_service, {d:Date}) <= 30, '0-30', dateDiff('day', date_of_service, {d:Date}) "
        "<= 60, '31-60', dateDiff('day', date_of_service, {d:Date}) <= 90, '61-90', dateDiff('day', date_of_service, "
        "{d:Date}) <= 120, '91-120', '121+') = {b:String}", p=payer_id, d=AS_OF, b=bucket)
    assert len(detail) == expected > 0
    assert set(detail["claim_id"]) <= set(stack.seeded.claim_ids)

    with pytest.raises(PermissionError):  # the data layer refuses too, not only the page
        data.open_claims(Filters(DATE_FROM, DATE_TO), payer_id, bucket, AS_OF, stack.viewers["exec"])
    for user in ("exec", "analyst"):
        at = app(user).run()
        at.switch_page("pages/revenue_cycle.py").run()
        assert not at.exception
        assert not any("claim_id" in df.value.columns for df in at.dataframe)
        text = all_text(at)
        assert not any(claim in text for claim in detail["claim_id"])
        summary = next(df.value for df in at.dataframe if "average_age_days" in df.value.columns)
        assert summary["claims"].sum() == expected


def test_denials_table_matches_the_denials_mart(stack, app):
    at = app("analyst").run()
    at.switch_page("pages/revenue_cycle.py").run()
    table = next(df.value for df in at.dataframe if "appeal_rate" in df.value.columns)
    denials, appealed = stack.client().query(
        "select count(), sum(is_appealed) from marts.fct_claim_denials where denied_date between {d1:Date} and {d2:Date}",
        parameters=PERIOD).result_rows[0]
    assert table["denials"].sum() == denials and table["appealed"].sum() == appealed


# -- scheduling and forecasts ------------------------------------------------------------------------------------

def test_scheduling_figures_and_risk_list_without_patient_details(stack, app):
    at = app("exec").run()
    at.switch_page("pages/scheduling.py").run()
    no_show, kept = stack.client().query(
        "select sum(is_no_show), sum(is_completed + is_checked_in + is_no_show) from marts.fct_appointments "
        "where start_date between {d1:Date} and {d2:Date}", parameters=PERIOD).result_rows[0]
    assert metric(at, "No-show rate") == f"{no_show / kept:.1%}"
    risk = next(df.value for df in at.dataframe if "risk" in df.value.columns)
    assert list(risk.columns) == ["appointment_id", "date", "hour", "provider", "type", "risk"]
    assert set(risk["appointment_id"]) <= set(stack.seeded.upcoming_ids) and 0 < len(risk) <= 100
    top = stack.scalar("select max(probability) from ml.latest_no_show")
    assert risk["risk"].iloc[0] == pytest.approx(top)
    prod = next(df.value for df in at.dataframe if "wrvus_per_visit" in df.value.columns)
    visits = stack.scalar("select sum(visits) from marts.fct_provider_productivity where date between {d1:Date} "
                          "and {d2:Date}", **PERIOD)
    assert prod["visits"].sum() == visits


def test_forecasts_page_shows_the_forecast_and_model_metrics(stack, app):
    at = app("exec").run()
    at.switch_page("pages/forecasts.py").run()
    forecast = next(df.value for df in at.dataframe if "lo95" in df.value.columns)
    assert len(forecast) == 13 and set(forecast["series"]) == {"Practice"}
    first = stack.scalar("select point from ml.latest_revenue_forecast where facility_id is null order by week_start "
                         "limit 1")
    assert forecast["point"].iloc[0] == ui.money(first)
    mase = stack.scalar("select value from ml.model_metrics final where model = 'revenue_forecast' and "
                        "split = 'backtest/practice' and metric = 'mase_model'")
    assert metric(at, "MASE (model)") == f"{mase:.3f}"
    assert metric(at, "ROC AUC") == "0.740"
    assert len(charts(at)) == 3  # forecast band, MASE bars, reliability curve
    assert "Reliability (holdout deciles)" in chart_titles(at)


# -- custom dashboards -----------------------------------------------------------------------------------------

def test_build_save_share_and_open_a_custom_dashboard(stack, app):
    at = app("analyst").run()
    at.switch_page("pages/builder.py").run()
    at.selectbox(key="b_mart").set_value("fct_payments").run()
    at.multiselect(key="b_measures").set_value(["amount", "payments"]).run()
    at.multiselect(key="b_dimensions").set_value(["payer"]).run()
    at.multiselect(key="b_filter_payment_source").set_value(["insurance"]).run()
    at.segmented_control(key="b_chart").set_value("table").run()
    assert not at.exception and not at.warning
    preview = at.dataframe[0].value
    expected = dict(stack.client().query(
        "select y.payer_name, sum(t.amount) from marts.fct_payments t join marts.dim_payer y using payer_id "
        "where received_date between {d1:Date} and {d2:Date} and payment_source = 'insurance' group by 1",
        parameters=PERIOD).result_rows)
    assert {p: _money(v) for p, v in zip(preview["Payer"], preview["Payments"], strict=True)} == expected

    at.text_input(key="b_name").input("Insurance by payer")
    at.multiselect(key="b_share").set_value(["executive"])
    at.button[-1].click().run()  # the form's Save button
    assert "Saved" in at.success[0].value
    row = stack.client().query("select owner_username, shared_with_roles, definition from app.saved_dashboards final "
                               "where name = 'Insurance by payer' and is_deleted = 0").result_rows
    assert row[0][0] == "analyst" and row[0][1] == ["executive"] and '"mart": "fct_payments"' in row[0][2]

    executive = app("exec").run()
    executive.switch_page("pages/my_dashboards.py").run()
    boards = [s.value for s in executive.subheader]  # other tests may have saved boards of their own
    shared = boards.index("Insurance by payer")
    assert any(df.value.equals(preview) for df in executive.dataframe)
    keys = {b.key for b in executive.button}
    assert f"edit_{shared}" in keys and f"delete_{shared}" not in keys  # shared with them, not theirs to delete

    admin = app("admin").run()
    admin.switch_page("pages/my_dashboards.py").run()
    assert "Insurance by payer" not in [s.value for s in admin.subheader]  # not shared with admins

    at.switch_page("pages/my_dashboards.py").run()
    at.button(key=f"delete_{[s.value for s in at.subheader].index('Insurance by payer')}").click().run()
    assert not at.exception
    assert stack.scalar("select count() from app.saved_dashboards final where name = 'Insurance by payer' "
                        "and is_deleted = 0") == 0


def test_builder_explains_an_incomplete_pick(stack, app):
    at = app("exec").run()
    at.switch_page("pages/builder.py").run()
    at.segmented_control(key="b_chart").set_value("heatmap").run()
    assert "two dimensions" in at.warning[0].value and not at.exception


# -- analyst SQL -----------------------------------------------------------------------------------------

def _run_sql(at, text: str):
    at.text_area(key="sql_text").input(text)
    at.button(key="sql_run").click()
    return at.run()


def test_sql_page_runs_read_only_queries_and_refuses_the_rest(stack, app):
    at = app("analyst").run()
    at.switch_page("pages/sql.py").run()
    _run_sql(at, "-- claims per status\nselect claim_status, count() as n from fct_claims group by claim_status "
                 "order by claim_status;")
    assert not at.error
    result = at.dataframe[0].value
    assert result["n"].sum() == stack.scalar("select count() from marts.fct_claims")
    assert len(charts(at)) == 1  # the quick chart

    refused = {
        "insert into marts.fct_claims (claim_id) values (generateUUIDv4())": "Only SELECT or WITH",
        "select * from system.tables": "not 'system'",
        "select * from raw.claims": "not 'raw'",
        "select * from url('http://127.0.0.1:9/x', CSV, 'a String')": "Table functions",
        "select count() from fct_claims settings readonly = 0": "SETTINGS",
        "select file('/etc/passwd')": "file()",
        "with x as (select 1) select * from x into outfile '/tmp/x'": "single SELECT",
        "select 1; drop table marts.fct_claims": "cannot parse",
    }
    for query, message in refused.items():
        _run_sql(at, query)
        assert at.error and message in at.error[0].value, (query, [e.value for e in at.error])
    assert stack.scalar("select count() from marts.fct_claims") > 0

    _run_sql(at, "select arrayJoin(range(20000)) as n")
    assert len(at.dataframe[0].value) == 10_000 and "truncated" in at.caption[1].value


def test_a_warehouse_that_does_not_answer_is_a_message_not_a_traceback(stack):
    from tests.dashboards.browser import free_port

    with environment(f"http://127.0.0.1:{free_port()}/default", stack.api.url):
        at = stack.app("exec").run()
    assert not at.exception
    assert "not answering" in at.error[0].value
