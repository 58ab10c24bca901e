-- Facilities (practice locations).
{{ config(order_by='facility_id') }}

with

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

providers as (
    select * from {{ ref('stg_ops__provider_facilities') }}
),

provider_counts as (
    select facility_id, uniqExact(provider_id) as provider_count
    from providers
    group by facility_id
),

final as (
    select
        facilities.facility_id as facility_id,
        facilities.facility_name as facility_name,
        facilities.timezone as timezone,
        facilities.pos_code as pos_code,
        coalesce(provider_counts.provider_count, 0) as provider_count,
        facilities.created_at as created_at
    from facilities
    left join provider_counts on facilities.facility_id = provider_counts.facility_id
)

select * from final
