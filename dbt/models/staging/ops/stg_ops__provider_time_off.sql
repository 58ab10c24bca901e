{{ config(order_by='provider_time_off_id') }}

with

source as (
    {{ latest_versions(source('ops', 'provider_time_off')) }}
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
