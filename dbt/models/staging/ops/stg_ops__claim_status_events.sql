{{ config(order_by='(claim_id, claim_status_event_id)', unique_key='claim_status_event_id') }}

with

source as (
    {{ live_rows('claim_status_events') }}
),

renamed as (
    select
        id as claim_status_event_id,
        claim_id,
        from_status,
        to_status,
        occurred_at,
        user_id,
        note,
        _replicated_at
    from source
)

select * from renamed
