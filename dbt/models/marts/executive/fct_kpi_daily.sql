-- The KPI mart (KPIS.md "The KPI mart contract"): one row per calendar day × facility from the
-- first day of activity to today. Every column is an additive count or sum on its day, so a
-- period's rate is a ratio of sums; the ar_* and credit_balance columns are end-of-day snapshots
-- (sum them over facilities, never over days). reports/kpis and the dashboards read it by name.
-- Incremental by month, as fct_provider_productivity: the months a change can reach
-- (changed_kpi_months()) are recomputed whole from their inputs read for those months only.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(date)',
        order_by='(facility_id, date)',
        on_schema_change='fail',
        pre_hook="{{ stage_changed_months(changed_kpi_months(), 'date', ['facilities', 'payers', 'fee_schedule']) }}",
        post_hook="{{ drop_months_outside_calendar() }}"
    )
}}

{% set changed = is_incremental() %}

with

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

ar_aging as (
    select * from {{ ref('fct_ar_aging_daily') }}
),

encounters as (
    select * from {{ ref('int_encounters_summarized') }}
),

claims as (
    select * from {{ ref('int_claims_lifecycle') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

appointments as (
    select * from {{ ref('int_appointment_outcomes') }}
),

first_activity as (
    select {{ kpi_first_day() }} as first_day
),

spine as (
    select * from (
        select
            arrayJoin(arrayMap(
                offset -> first_activity.first_day + offset,
                range(toUInt32({{ as_of_date() }} - first_activity.first_day) + 1)
            )) as date,
            facilities.facility_id as facility_id
        from first_activity
        cross join facilities
    )
    {% if changed %}where {{ in_changed_months('toYYYYMM(date)') }}{% endif %}
),

receivables as (
    select
        date,
        facility_id,
        {{ money('sum(ar_balance)') }} as ar_total,
        {{ money("sumIf(ar_balance, aging_bucket = '0-30')") }} as ar_0_30,
        {{ money("sumIf(ar_balance, aging_bucket = '31-60')") }} as ar_31_60,
        {{ money("sumIf(ar_balance, aging_bucket = '61-90')") }} as ar_61_90,
        {{ money("sumIf(ar_balance, aging_bucket = '91-120')") }} as ar_91_120,
        {{ money("sumIf(ar_balance, aging_bucket = '121+')") }} as ar_over_120,
        {{ money("sumIf(ar_balance, responsibility = 'insurance')") }} as ar_insurance,
        {{ money("sumIf(ar_balance, responsibility = 'patient')") }} as ar_patient,
        {{ money('sum(credit_balance)') }} as credit_balance
    from ar_aging
    {% if changed %}where {{ in_changed_months('toYYYYMM(date)') }}{% endif %}
    group by date, facility_id
),

charges as (
    select
        date_of_service as date,
        facility_id,
        {{ money('sum(gross_charges)') }} as gross_charges,
        count() as visits,
        {{ money('sum(wrvus)') }} as wrvus
    from encounters
    {% if changed %}where {{ in_changed_months('toYYYYMM(date_of_service)') }}{% endif %}
    group by date_of_service, facility_id
),

contractuals as (
    select
        date_of_service as date,
        facility_id,
        {{ money('sum(contractual_adjustment)') }} as contractual_adjustments
    from claims
    {% if changed %}where {{ in_changed_months('toYYYYMM(date_of_service)') }}{% endif %}
    group by date_of_service, facility_id
),

collections as (
    select
        received_date as date,
        facility_id,
        {{ money('sum(amount)') }} as payments_received,
        {{ money("sumIf(amount, payment_source = 'insurance')") }} as payments_insurance,
        {{ money("sumIf(amount, payment_source = 'patient')") }} as payments_patient
    from payments
    {% if changed %}where {{ in_changed_months('toYYYYMM(received_date)') }}{% endif %}
    group by received_date, facility_id
),

submissions as (
    select
        first_submitted_date as date,
        facility_id,
        count() as claims_first_submitted,
        sum(is_clean_claim) as claims_clean
    from claims
    where first_submitted_date is not null{% if changed %} and {{ in_changed_months('toYYYYMM(first_submitted_date)') }}{% endif %}
    group by first_submitted_date, facility_id
),

adjudications as (
    select
        first_adjudicated_date as date,
        facility_id,
        count() as claims_first_adjudicated,
        sum(is_initial_denial) as claims_initially_denied,
        sum(is_first_pass_paid) as claims_first_pass_paid,
        {{ money('sum(total_charge)') }} as charges_first_adjudicated,
        {{ money('sumIf(total_charge, is_initial_denial = 1)') }} as charges_initially_denied
    from claims
    where first_adjudicated_date is not null{% if changed %} and {{ in_changed_months('toYYYYMM(first_adjudicated_date)') }}{% endif %}
    group by first_adjudicated_date, facility_id
),

schedule as (
    select
        start_date as date,
        facility_id,
        count() as appointments_scheduled,
        sum(is_completed) as appointments_completed,
        sum(is_checked_in) as appointments_checked_in,
        sum(is_no_show) as appointments_no_show,
        sum(is_cancelled) as appointments_cancelled,
        sum(is_late_cancel) as appointments_late_cancelled
    from appointments
    {% if changed %}where {{ in_changed_months('toYYYYMM(start_date)') }}{% endif %}
    group by start_date, facility_id
),

final as (
    select
        spine.date as date,
        spine.facility_id as facility_id,
        coalesce(receivables.ar_total, {{ zero_money() }}) as ar_total,
        coalesce(receivables.ar_0_30, {{ zero_money() }}) as ar_0_30,
        coalesce(receivables.ar_31_60, {{ zero_money() }}) as ar_31_60,
        coalesce(receivables.ar_61_90, {{ zero_money() }}) as ar_61_90,
        coalesce(receivables.ar_91_120, {{ zero_money() }}) as ar_91_120,
        coalesce(receivables.ar_over_120, {{ zero_money() }}) as ar_over_120,
        coalesce(receivables.ar_insurance, {{ zero_money() }}) as ar_insurance,
        coalesce(receivables.ar_patient, {{ zero_money() }}) as ar_patient,
        coalesce(receivables.credit_balance, {{ zero_money() }}) as credit_balance,
        coalesce(charges.gross_charges, {{ zero_money() }}) as gross_charges,
        coalesce(contractuals.contractual_adjustments, {{ zero_money() }}) as contractual_adjustments,
        coalesce(collections.payments_received, {{ zero_money() }}) as payments_received,
        coalesce(collections.payments_insurance, {{ zero_money() }}) as payments_insurance,
        coalesce(collections.payments_patient, {{ zero_money() }}) as payments_patient,
        toUInt64(coalesce(submissions.claims_first_submitted, 0)) as claims_first_submitted,
        toUInt64(coalesce(submissions.claims_clean, 0)) as claims_clean,
        toUInt64(coalesce(adjudications.claims_first_adjudicated, 0)) as claims_first_adjudicated,
        toUInt64(coalesce(adjudications.claims_initially_denied, 0)) as claims_initially_denied,
        toUInt64(coalesce(adjudications.claims_first_pass_paid, 0)) as claims_first_pass_paid,
        coalesce(adjudications.charges_first_adjudicated, {{ zero_money() }}) as charges_first_adjudicated,
        coalesce(adjudications.charges_initially_denied, {{ zero_money() }}) as charges_initially_denied,
        toUInt64(coalesce(schedule.appointments_scheduled, 0)) as appointments_scheduled,
        toUInt64(coalesce(schedule.appointments_completed, 0)) as appointments_completed,
        toUInt64(coalesce(schedule.appointments_checked_in, 0)) as appointments_checked_in,
        toUInt64(coalesce(schedule.appointments_no_show, 0)) as appointments_no_show,
        toUInt64(coalesce(schedule.appointments_cancelled, 0)) as appointments_cancelled,
        toUInt64(coalesce(schedule.appointments_late_cancelled, 0)) as appointments_late_cancelled,
        toUInt64(coalesce(charges.visits, 0)) as visits,
        coalesce(charges.wrvus, {{ zero_money() }}) as wrvus
    from spine
    left join receivables on spine.date = receivables.date and spine.facility_id = receivables.facility_id
    left join charges on spine.date = charges.date and spine.facility_id = charges.facility_id
    left join contractuals on spine.date = contractuals.date and spine.facility_id = contractuals.facility_id
    left join collections on spine.date = collections.date and spine.facility_id = collections.facility_id
    left join submissions on spine.date = submissions.date and spine.facility_id = submissions.facility_id
    left join adjudications on spine.date = adjudications.date and spine.facility_id = adjudications.facility_id
    left join schedule on spine.date = schedule.date and spine.facility_id = schedule.facility_id
)

select * from final
