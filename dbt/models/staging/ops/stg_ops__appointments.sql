{{ config(order_by='appointment_id', unique_key='appointment_id') }}

-- The free-text reason may hold clinical detail: not carried into analytics.
with

source as (
    {{ live_rows('appointments') }}
),

renamed as (
    select
        id as appointment_id,
        patient_id,
        provider_id,
        facility_id,
        rescheduled_from_id as rescheduled_from_appointment_id,
        appointment_type,
        cast(status as String) as appointment_status,
        starts_at,
        ends_at,
        booked_at,
        reminder_sent_at,
        status_changed_at,
        created_at,
        _replicated_at
    from source
)

select * from renamed
