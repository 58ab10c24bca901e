-- One row per provider and day (from the first day of activity to today): availability, the
-- appointments that started, completed visits and their work RVUs and charges, and payments
-- posted that day on the provider's visits. Utilisation = booked_minutes ÷ available_minutes.
-- Incremental by month (no entity key: a row sums many): the months a change can reach
-- (changed_productivity_months()) are recomputed whole from their inputs read for those months only.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(date)',
        order_by='(provider_id, date)',
        on_schema_change='ignore',
        pre_hook="{{ stage_changed_months(changed_productivity_months(), 'date', ['facilities', 'payers', 'fee_schedule']) }}",
        post_hook="{{ drop_emptied_months('toYYYYMM(date)') }}"
    )
}}

{% set changed = is_incremental() %}

with

availability as (
    select * from {{ ref('int_provider_availability_daily') }}
),

appointments as (
    select * from {{ ref('int_appointment_outcomes') }}
),

encounters as (
    select * from {{ ref('int_encounters_summarized') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

available as (
    select
        provider_id,
        date,
        sum(scheduled_minutes) as scheduled_minutes,
        sum(time_off_minutes) as time_off_minutes,
        sum(available_minutes) as available_minutes
    from availability
    where date <= {{ as_of_date() }}{% if changed %} and {{ in_changed_months('toYYYYMM(date)') }}{% endif %}
    group by provider_id, date
),

booked as (
    select
        provider_id,
        start_date as date,
        count() as appointments_scheduled,
        sum(is_completed) as appointments_completed,
        sum(is_checked_in) as appointments_checked_in,
        sum(is_no_show) as appointments_no_show,
        sum(is_cancelled) as appointments_cancelled,
        sum(is_late_cancel) as appointments_late_cancelled,
        sumIf(duration_minutes, is_completed = 1 or is_checked_in = 1) as booked_minutes
    from appointments
    where start_date <= {{ as_of_date() }}{% if changed %} and {{ in_changed_months('toYYYYMM(start_date)') }}{% endif %}
    group by provider_id, start_date
),

visits as (
    select
        provider_id,
        date_of_service as date,
        count() as visits,
        {{ money('sum(wrvus)') }} as wrvus,
        {{ money('sum(gross_charges)') }} as gross_charges
    from encounters
    where date_of_service <= {{ as_of_date() }}{% if changed %} and {{ in_changed_months('toYYYYMM(date_of_service)') }}{% endif %}
    group by provider_id, date_of_service
),

collected as (
    select
        provider_id,
        received_date as date,
        {{ money('sum(amount)') }} as payments_received
    from payments
    where provider_id != {{ unknown_key() }}
      and received_date <= {{ as_of_date() }}{% if changed %} and {{ in_changed_months('toYYYYMM(received_date)') }}{% endif %}
    group by provider_id, received_date
),

provider_days as (
    select distinct assumeNotNull(provider_id) as provider_id, assumeNotNull(date) as date
    from (
        select provider_id, date from available
        union all
        select provider_id, date from booked
        union all
        select provider_id, date from visits
        union all
        select provider_id, date from collected
    )
),

final as (
    select
        provider_days.date as date,
        provider_days.provider_id as provider_id,
        coalesce(available.scheduled_minutes, 0) as scheduled_minutes,
        coalesce(available.time_off_minutes, 0) as time_off_minutes,
        coalesce(available.available_minutes, 0) as available_minutes,
        coalesce(booked.booked_minutes, 0) as booked_minutes,
        coalesce(booked.appointments_scheduled, 0) as appointments_scheduled,
        coalesce(booked.appointments_completed, 0) as appointments_completed,
        coalesce(booked.appointments_checked_in, 0) as appointments_checked_in,
        coalesce(booked.appointments_no_show, 0) as appointments_no_show,
        coalesce(booked.appointments_cancelled, 0) as appointments_cancelled,
        coalesce(booked.appointments_late_cancelled, 0) as appointments_late_cancelled,
        coalesce(visits.visits, 0) as visits,
        toUInt8(coalesce(visits.visits, 0) > 0) as is_day_worked,
        coalesce(visits.wrvus, {{ zero_money() }}) as wrvus,
        coalesce(visits.gross_charges, {{ zero_money() }}) as gross_charges,
        coalesce(collected.payments_received, {{ zero_money() }}) as payments_received,
        {{ reflected_through() }} as _source_watermark
    from provider_days
    left join available on provider_days.provider_id = available.provider_id and provider_days.date = available.date
    left join booked on provider_days.provider_id = booked.provider_id and provider_days.date = booked.date
    left join visits on provider_days.provider_id = visits.provider_id and provider_days.date = visits.date
    left join collected on provider_days.provider_id = collected.provider_id and provider_days.date = collected.date
)

select * from final
