"""The marts agree with the operational store they were replicated from, and with KPIS.md on known cases.

A/R is reconciled with the API's own balance computation (ops_api/services/payments.py); claim counts by
status and payments by day with the operational tables. The history holds one instance of each scenario
(tests/dbt/practice.py), so KPI values are known exactly.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ops_api.models import Claim, Facility, Patient, Payment, User
from ops_api.principal import Principal
from ops_api.services import payments as ops_payments
from tests.dbt.conftest import INCREMENTAL_MODELS
from tests.dbt.practice import AS_OF

pytestmark = [pytest.mark.warehouse, pytest.mark.xdist_group("dbt-marts")]  # one build per session
ZERO = Decimal("0.00")


def _ops_balances(session) -> dict:
    admin = session.scalars(select(User).where(User.role == "admin", User.facility_ids == [])).first()
    principal = Principal(admin)
    return {p.id: ops_payments.balance(session, principal, p.id) for p in session.scalars(select(Patient))}


def test_total_ar_equals_the_sum_of_patient_balances(marts, ops_session_factory):
    with ops_session_factory() as session:
        balances = _ops_balances(session)
    expected = {k: sum((b[k] for b in balances.values()), ZERO)
                for k in ("balance_due", "insurance_balance", "patient_balance", "credit_balance")}
    [(ar_total, ar_insurance, ar_patient, credit)] = marts.query(
        "select sum(ar_total), sum(ar_insurance), sum(ar_patient), sum(credit_balance) "
        "from marts.fct_kpi_daily where date = {d:Date}", d=AS_OF)
    assert ar_total - credit == expected["balance_due"]
    assert (ar_insurance, ar_patient, credit) == (
        expected["insurance_balance"], expected["patient_balance"], expected["credit_balance"])
    assert ar_total == expected["insurance_balance"] + expected["patient_balance"]


def test_each_patients_ar_matches_their_balance(marts, ops_session_factory):
    with ops_session_factory() as session:
        balances = _ops_balances(session)
    rows = marts.query(
        "select patient_id, responsibility, sum(balance) from intermediate.int_ar_balance_history "
        "where valid_from <= {d:Date} and (valid_to is null or valid_to >= {d:Date}) group by all", d=AS_OF)
    mart = defaultdict(lambda: {"insurance": ZERO, "patient": ZERO})
    for patient_id, side, amount in rows:
        mart[patient_id][side] += amount
    for patient_id, b in balances.items():
        sides = mart[patient_id]
        assert sides["insurance"] + sides["patient"] == b["balance_due"], patient_id
        assert max(sides["insurance"], ZERO) == b["insurance_balance"], patient_id
        assert max(sides["patient"], ZERO) == b["patient_balance"], patient_id


def test_claim_counts_by_status_match_the_operational_store(marts, ops_session_factory):
    with ops_session_factory() as session:
        ops = dict(session.execute(select(Claim.status, func.count()).group_by(Claim.status)).all())
    mart = dict(marts.query("select claim_status, count() from marts.fct_claims group by claim_status"))
    assert mart == {status.value: n for status, n in ops.items()}


def test_payments_by_day_match_the_operational_store(marts, ops_session_factory):
    with ops_session_factory() as session:
        zones = {f.id: ZoneInfo(f.timezone) for f in session.scalars(select(Facility))}
        ops = defaultdict(lambda: ZERO)
        for p in session.scalars(select(Payment)):
            ops[(p.received_at.astimezone(zones[p.facility_id]).date(), p.source.value)] += p.amount
    mart = {(d, source): amount for d, source, amount in marts.query(
        "select received_date, payment_source, sum(amount) from marts.fct_payments group by all")}
    assert mart == dict(ops)
    kpi = dict(marts.query("select date, sum(payments_received) from marts.fct_kpi_daily "
                           "where payments_received != 0 group by date"))
    by_day = defaultdict(lambda: ZERO)
    for (day, _source), amount in ops.items():
        by_day[day] += amount
    assert kpi == dict(by_day)


def test_claim_kpis_on_the_known_history(marts):
    [row] = marts.query(
        "select sum(claims_first_submitted), sum(claims_clean), sum(claims_first_adjudicated), "
        "sum(claims_initially_denied), sum(claims_first_pass_paid), sum(charges_initially_denied) "
        "from marts.fct_kpi_daily")
    # 7 submitted (the voided draft never was), all clean but the rejected-and-corrected one;
    # 6 answered: denials = the appealed (150), the written-off (620) and the partial payment (170).
    assert row == (7, 6, 6, 3, 4, Decimal("940.00"))
    appeal = marts.query("select is_initial_denial, is_first_pass_paid, is_appealed, is_overturned, "
                         "contractual_adjustment, claim_balance from marts.fct_claims where claim_id = {c:UUID}",
                         c=str(marts.built.claims["appealed"].id))
    assert appeal == [(1, 0, 1, 1, Decimal("30.00"), ZERO)]
    denials = marts.query("select carc_group_code, carc_reason_code, is_appealed, is_overturned, written_off_amount "
                          "from marts.fct_claim_denials order by denied_at")
    # the CO-97 line was written off after the first build (late_changes): the incremental run recomputed it
    assert denials == [("CO", "197", 1, 1, ZERO), ("CO", "50", 0, 0, Decimal("620.00")),
                       ("CO", "97", 0, 0, Decimal("20.00"))]


def test_a_denial_is_not_a_write_off(marts):
    """The CO-50 denial stays open as insurance A/R until the explicit write-off is approved (2026-03-04)."""
    encounter = str(marts.built.encounters["written_off"].id)
    rows = dict(marts.query(
        "select valid_from, balance from intermediate.int_ar_balance_history "
        "where account_id = {e:UUID} and responsibility = 'insurance' order by valid_from", e=encounter))
    assert rows == {date(2026, 2, 3): Decimal("620.00")}  # open from the visit, through the denial, to the write-off
    [(valid_to,)] = marts.query("select valid_to from intermediate.int_ar_balance_history "
                                "where account_id = {e:UUID}", e=encounter)
    assert valid_to == date(2026, 3, 3)


def test_late_remittance_rewrote_history_incrementally(marts):
    """Received 2026-03-20, posted after the first build: from 2026-03-20 Eve's visit is patient A/R 25."""
    encounter = str(marts.built.encounters["late_remit"].id)
    rows = marts.query("select valid_from, responsibility, balance from intermediate.int_ar_balance_history "
                       "where account_id = {e:UUID} order by valid_from, responsibility", e=encounter)
    assert rows == [(date(2026, 3, 5), "insurance", Decimal("150.00")),
                    (date(2026, 3, 20), "patient", Decimal("25.00"))]
    march = dict(marts.query(
        "select responsibility, sum(ar_balance) from marts.fct_ar_aging_daily "
        "where date = '2026-03-25' and payer_id = {p:UUID} group by responsibility",
        p=str(marts.built.claims["late_remit"].payer_id)))
    assert march == {"patient": Decimal("25.00")}


@pytest.mark.parametrize("schema, model", INCREMENTAL_MODELS)
def test_incremental_build_equals_a_full_rebuild(marts, schema, model):
    """After late data (moves and deletes included), every incrementally maintained model equals what a
    full build computes now, row for row (its watermark aside)."""
    columns = [r[0] for r in marts.query(
        "select name from system.columns where database = {s:String} and table = {t:String} "
        "and name != '_source_watermark' order by position", s=schema, t=model)]
    listed = ", ".join(columns)
    incremental = marts.query(f"select {listed} from {schema}.{model} order by {listed}")
    full = marts.query_compiled(f"select {listed} from ({marts.full_build_sql[model]}) order by {listed}")
    assert len(incremental) > 0
    assert incremental == full


@pytest.mark.parametrize("fact, day, recomputed", [
    ("fct_ar_aging_daily", "date", {202602, 202603, 202604, 202605, 202606}),  # from Bob's 2026-02-20 payment on
    ("fct_claims", "date_of_service", {202601, 202603, 202604}),  # Bob's, Eve's and Fay's claims, Ivy's moved ones
    ("fct_payments", "received_date", {202602, 202603, 202604}),  # back-dated, late remittance's, Fay's (write-off)
    ("fct_appointments", "start_date", {202605, 202608}),  # Ivy's (its visit moved), the moved one (July emptied)
    # Bob's payment, the late remittance's, Ivy's moved visit and deleted payment, Ada's new hours (not January)
    ("fct_provider_productivity", "date", {202602, 202603, 202604, 202605, 202606}),
])
def test_late_data_recomputed_only_the_partitions_it_touches(marts, fact, day, recomputed):
    rows = marts.query(f"select toYYYYMM({day}) as month, _source_watermark = (select max(_source_watermark) "
                       f"from marts.{fact}) as fresh from marts.{fact} group by all")
    assert {month for month, fresh in rows if fresh} == recomputed
    assert any(not fresh for _, fresh in rows)


def test_late_data_recomputed_only_the_kpi_months_it_touches(marts):
    # from Bob's payment back-dated to 2026-02-20 (the A/R snapshots) through today, not Fay's January claim
    # (a write-off moves none of its KPI columns); the moved visit's August is beyond the calendar (it ends today)
    assert {month for month, fresh in marts.kpi_months.items() if fresh} == {202602, 202603, 202604, 202605, 202606}
    assert any(not fresh for fresh in marts.kpi_months.values())


def test_the_kpi_calendar_starts_again_at_the_first_activity(marts):
    """A day before the first activity slipped into fct_kpi_daily: the next run drops its month (the equality
    with a full rebuild checks the months after it)."""
    assert marts.calendar_run.returncode == 0, marts.calendar_run.output
    [(first,)] = marts.query("select min(date) from marts.fct_kpi_daily")
    assert first.year == 2026
    assert not marts.query("select partition from system.parts where database = 'marts' "
                           "and table = 'fct_kpi_daily' and active and partition in ('202511', '202512')")


def test_a_kpi_table_from_before_its_partitioning_asks_for_a_full_refresh(marts):
    """Its partitions cannot be swapped into a table partitioned otherwise; the run says what to do, and leaves
    the table as it was (the equality with a full rebuild is checked on the table put back)."""
    assert marts.unpartitioned_run.returncode != 0
    assert "rebuild it once with `pms dbt run --full-refresh -s fct_kpi_daily`" in marts.unpartitioned_run.output
    assert not marts.query("select name from system.tables where database = 'marts' "
                           "and startsWith(name, 'fct_kpi_daily__')")


def test_a_table_built_by_another_version_of_its_model_stops_the_run_before_anything_is_deleted(marts):
    """The incremental run compares the model's columns with the built table's before its pre-hook deletes
    the changed keys' rows: it names the difference and what to run, and the table keeps every row."""
    assert marts.older_shape_run.returncode != 0
    assert "columns it now selects: timezone String" in marts.older_shape_run.output
    assert "rebuild it once with `pms dbt run --full-refresh -s int_claims_lifecycle`" in marts.older_shape_run.output
    before, after = marts.older_shape_rows
    assert after == before > 0


def test_late_data_recomputed_only_the_denials_of_the_claims_it_touches(marts):
    fresh = marts.query("select claim_id from marts.fct_claim_denials where _source_watermark = "
                        "(select max(_source_watermark) from marts.fct_claim_denials)")
    assert fresh == [(marts.built.claims["refund"].id,)]  # its denied line was written off


def test_moved_appointment_left_its_old_month(marts):
    moved = str(marts.built.appointments["upcoming"].id)
    rows = marts.query("select start_date from marts.fct_appointments where appointment_id = {a:UUID}",
                       a=moved)
    assert rows == [(date(2026, 8, 6),)]


def test_staging_dedupes_redelivered_versions_and_drops_deletes(marts):
    [(raw_rows, raw_ids)] = marts.query("select count(), uniqExact(id) from raw.provider_schedules")
    assert raw_rows > raw_ids  # re-delivered copies and old versions are there
    live = marts.query("select count() from staging.stg_ops__provider_schedules")
    assert live == [(15,)]  # Ada's replaced weeks (5 to mid-June, 5 after) and Ben's (5); the deleted ones are gone
    [(hours,)] = marts.query(
        "select max(end_minute - start_minute) / 60 from staging.stg_ops__provider_schedules s "
        "inner join staging.stg_ops__providers p on s.provider_id = p.provider_id where p.last_name = 'Byron'")
    assert hours == 9


def test_scheduling_kpis_on_the_known_history(marts):
    [row] = marts.query(
        "select sum(appointments_scheduled), sum(appointments_completed), sum(appointments_checked_in), "
        "sum(appointments_no_show), sum(appointments_cancelled), sum(appointments_late_cancelled), sum(visits) "
        "from marts.fct_kpi_daily")
    assert row == (13, 9, 1, 1, 2, 1, 9)
    [(available, time_off)] = marts.query(
        "select sum(available_minutes), sum(time_off_minutes) from marts.fct_provider_productivity p "
        "inner join marts.dim_provider d using provider_id where d.last_name = 'Casey' "
        "and date between '2026-02-16' and '2026-02-20'")
    assert (available, time_off) == (0, 5 * 480)  # a week off


def test_dim_patient_holds_no_direct_identifiers(marts):
    columns = {r[0] for r in marts.query("select name from system.columns where database = 'marts' "
                                         "and table = 'dim_patient'")}
    assert not columns & {"first_name", "last_name", "date_of_birth", "phone", "email", "address", "mrn"}
    assert {"age_band", "sex", "facility_id", "primary_payer_kind"} <= columns
    for schema in ("staging", "intermediate", "marts"):
        leaked = marts.query("select table, name from system.columns where database = {s:String} "
                             "and name in ('first_name', 'last_name', 'mrn', 'phone', 'email', 'member_id') "
                             "and table not like '%provider%'", s=schema)
        assert leaked == [], schema
