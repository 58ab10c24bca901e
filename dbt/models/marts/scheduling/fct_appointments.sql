-- One row per appointment (past and upcoming) with its final status, local start date and
-- cancellation notice. No free text (the reason may hold clinical detail).
-- Incremental: the months (of start date) changed appointments are in are recomputed whole.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(start_date)',
        order_by='(facility_id, start_date, appointment_id)',
        on_schema_change='ignore',
        pre_hook="{{ stage_changed_keys('appointment_id', changed_appointment_ids(), delete_rows=false) }}",
        post_hook="{{ drop_emptied_partitions('appointment_id', 'toYYYYMM(start_date)') }}"
    )
}}

with

appointments as (
    select * from {{ ref('int_appointment_outcomes') }}
),

{% if is_incremental() -%}
affected_months as (
    {{ affected_months('appointments', 'appointment_id', 'toYYYYMM(start_date)') }}
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
        {{ reflected_through() }} as _source_watermark
    from appointments
    {% if is_incremental() -%}
    where toYYYYMM(start_date) in (select month from affected_months)
    {%- endif %}
)

select * from final
