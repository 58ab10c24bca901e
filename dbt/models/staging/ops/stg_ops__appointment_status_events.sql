{{ config(order_by='(appointment_id, appointment_status_event_id)', unique_key='appointment_status_event_id') }}

with

source as (
    {{ live_rows('appointment_status_events') }}
),

renamed as (
    select
        id as appointment_status_event_id,
        appointment_id,
        from_status,
        to_status,
        occurred_at,
        user_id,
        _replicated_at
    from source
)

select * from renamed
