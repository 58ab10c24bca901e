-- One row per appointment (past and upcoming) with its final status, local start date and
-- cancellation notice. No free text (the reason may hold clinical detail).
-- Incremental: months (of start date) of changed appointments, now and as last built.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(start_date)',
        order_by='(facility_id, start_date, appointment_id)',
        on_schema_change='fail',
        post_hook="{{ delete_stale_rows('appointment_id', ref('int_appointment_outcomes')) }}"
    )
}}

{% set watermark_sources = ['appointments', 'appointment_status_events', 'encounters', 'facilities'] %}

with

appointments as (
    select * from {{ ref('int_appointment_outcomes') }}
),

{% if is_incremental() -%}
changed_appointments as (
    {{ changed_rows('appointments') }}
    union distinct
    {{ changed_rows('appointment_status_events', 'appointment_id') }}
    union distinct
    select assumeNotNull(appointment_id) from ({{ changed_rows('encounters', 'appointment_id') }})
    where appointment_id is not null
),

affected_months as (
    {{ affected_months('appointments', 'appointment_id', 'toYYYYMM(start_date)', 'select * from changed_appointments') }}
),
{%- endif %}

final as (
    select
        appointment_id,
        assumeNotNull(start_date) as start_date,
        starts_at,
        ends_at,
        start_hour,
        start_weekday,
        facility_id,
        provider_id,
        patient_id,
        encounter_id,
        rescheduled_from_appointment_id,
        appointment_type,
        appointment_status,
        duration_minutes,
        booked_at,
        lead_time_days,
        reminder_sent,
        cancelled_at,
        cancellation_notice_hours,
        is_completed,
        is_checked_in,
        is_no_show,
        is_cancelled,
        is_late_cancel,
        is_kept_or_missed,
        is_reschedule,
        was_rescheduled,
        has_encounter,
        {{ source_watermark(watermark_sources) }} as _source_watermark
    from appointments
    {% if is_incremental() -%}
    where toYYYYMM(start_date) in (select month from affected_months)
    {%- endif %}
)

select * from final
