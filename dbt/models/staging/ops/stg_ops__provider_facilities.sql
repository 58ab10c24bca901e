{{ config(order_by='provider_facility_id', unique_key='provider_facility_id') }}

with

source as (
    {{ live_rows('provider_facilities') }}
),

renamed as (
    select
        id as provider_facility_id,
        provider_id,
        facility_id,
        created_at,
        _replicated_at
    from source
)

select * from renamed
