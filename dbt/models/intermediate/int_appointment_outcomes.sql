-- One row per appointment: its final status, local start date, and how late a cancellation came
-- (KPIS.md: a late cancellation is cancelled less than 24 h before the start).
-- Incremental by appointment: a change to it, its status moves, its visit, or a reschedule from it.
{{
    config(
        order_by='appointment_id',
        unique_key='appointment_id',
        pre_hook="{{ stage_changed_keys('appointment_id', changed_appointment_ids(), ['facilities']) }}"
    )
}}

{% set changed = keyed_by('appointment_id') if is_incremental() else none %}

with

appointments as (
    select * from {{ ref('stg_ops__appointments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

status_events as (
    select * from {{ ref('stg_ops__appointment_status_events') }}
    {% if changed %}where {{ changed }}{% endif %}
),

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
    {% if changed %}where {{ changed }}{% endif %}
),

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

cancellations as (
    select
        appointment_id,
        maxOrNull(occurred_at) as cancelled_at
    from status_events
    where to_status = 'cancelled'
    group by appointment_id
),

successors as (
    select
        rescheduled_from_appointment_id as appointment_id,
        count() as successor_count
    from {{ ref('stg_ops__appointments') }}
    where rescheduled_from_appointment_id is not null
    {% if changed %}and {{ keyed_by('rescheduled_from_appointment_id') }}{% endif %}
    group by rescheduled_from_appointment_id
),

visits as (
    select
        appointment_id,
        any(encounter_id) as encounter_id
    from encounters
    where appointment_id is not null
    group by appointment_id
),

joined as (
    select
        appointments.appointment_id as appointment_id,
        appointments.patient_id as patient_id,
        appointments.provider_id as provider_id,
        appointments.facility_id as facility_id,
        appointments.rescheduled_from_appointment_id as rescheduled_from_appointment_id,
        appointments.appointment_type as appointment_type,
        appointments.appointment_status as appointment_status,
        appointments.starts_at as starts_at,
        appointments.ends_at as ends_at,
        appointments.booked_at as booked_at,
        appointments.reminder_sent_at as reminder_sent_at,
        coalesce(facilities.timezone, 'UTC') as timezone,
        coalesce(cancellations.cancelled_at,
                 if(appointments.appointment_status = 'cancelled', appointments.status_changed_at, null)) as cancelled_at,
        coalesce(successors.successor_count, 0) as successor_count,
        visits.encounter_id as encounter_id
    from appointments
    left join cancellations on appointments.appointment_id = cancellations.appointment_id
    left join successors on appointments.appointment_id = successors.appointment_id
    left join visits on appointments.appointment_id = visits.appointment_id
    left join facilities on appointments.facility_id = facilities.facility_id
),

final as (
    select
        appointment_id,
        patient_id,
        provider_id,
        facility_id,
        encounter_id,
        rescheduled_from_appointment_id,
        appointment_type,
        appointment_status,
        starts_at,
        ends_at,
        {{ local_date('starts_at', 'timezone') }} as start_date,
        toHour({{ local_datetime('starts_at', 'timezone') }}) as start_hour,
        toUInt8(toDayOfWeek({{ local_date('starts_at', 'timezone') }}) - 1) as start_weekday,
        toInt32(dateDiff('minute', starts_at, ends_at)) as duration_minutes,
        booked_at,
        toInt32({{ local_date('starts_at', 'timezone') }} - {{ local_date('booked_at', 'timezone') }}) as lead_time_days,
        reminder_sent_at,
        toUInt8(reminder_sent_at is not null) as reminder_sent,
        cancelled_at,
        if(cancelled_at is null, null, dateDiff('minute', cancelled_at, starts_at) / 60.0) as cancellation_notice_hours,
        toUInt8(appointment_status = 'completed') as is_completed,
        toUInt8(appointment_status = 'checked_in') as is_checked_in,
        toUInt8(appointment_status = 'no_show') as is_no_show,
        toUInt8(appointment_status = 'cancelled') as is_cancelled,
        toUInt8(ifNull(appointment_status = 'cancelled' and cancelled_at > starts_at - interval 24 hour, 0)) as is_late_cancel,
        -- the no-show rate's denominator (KPIS.md): appointments that were kept or missed
        toUInt8(appointment_status in ('completed', 'checked_in', 'no_show')) as is_kept_or_missed,
        toUInt8(rescheduled_from_appointment_id is not null) as is_reschedule,
        toUInt8(successor_count > 0) as was_rescheduled,
        toUInt8(encounter_id is not null) as has_encounter,
        {{ reflected_through() }} as _source_watermark
    from joined
)

select * from final
