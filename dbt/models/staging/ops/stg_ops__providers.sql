{{ config(order_by='provider_id', unique_key='provider_id') }}

with

source as (
    {{ live_rows('providers') }}
),

renamed as (
    select
        id as provider_id,
        npi,
        first_name,
        last_name,
        concat(last_name, ', ', first_name) as provider_name,
        specialty,
        toUInt8(active) as is_active,
        created_at,
        updated_at,
        _replicated_at
    from source
)

select * from renamed
