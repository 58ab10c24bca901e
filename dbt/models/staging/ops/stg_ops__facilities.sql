{{ config(order_by='facility_id', unique_key='facility_id') }}

with

source as (
    {{ live_rows('facilities') }}
),

renamed as (
    select
        id as facility_id,
        name as facility_name,
        timezone,
        pos_code,
        address as address_json,
        created_at,
        updated_at,
        _replicated_at
    from source
)

select * from renamed
