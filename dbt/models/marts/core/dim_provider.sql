-- Rendering providers, plus the "(none)" member that facts use for money not tied to a visit.
{{ config(order_by='provider_id') }}

with

providers as (
    select * from {{ ref('stg_ops__providers') }}
),

provider_facilities as (
    select * from {{ ref('stg_ops__provider_facilities') }}
),

links as (
    select
        provider_id,
        argMin(facility_id, (created_at, provider_facility_id)) as primary_facility_id,
        count() as facility_count
    from provider_facilities
    group by provider_id
),

known as (
    select
        providers.provider_id as provider_id,
        providers.npi as npi,
        providers.provider_name as provider_name,
        providers.first_name as first_name,
        providers.last_name as last_name,
        providers.specialty as specialty,
        providers.is_active as is_active,
        links.primary_facility_id as primary_facility_id,
        coalesce(links.facility_count, 0) as facility_count
    from providers
    left join links on providers.provider_id = links.provider_id
),

unknown as (
    select
        {{ unknown_key() }} as provider_id,
        '' as npi,
        '(none)' as provider_name,
        '' as first_name,
        '' as last_name,
        '(none)' as specialty,
        toUInt8(0) as is_active,
        cast(null as Nullable(UUID)) as primary_facility_id,
        toUInt64(0) as facility_count
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
