{{ config(order_by='provider_time_off_id', unique_key='provider_time_off_id') }}

with

source as (
    {{ live_rows('provider_time_off') }}
),

renamed as (
    select
        id as provider_time_off_id,
        provider_id,
        starts_at,
        ends_at,
        _replicated_at
    from source
)

select * from renamed
