{{ config(order_by='coverage_id', unique_key='coverage_id') }}

-- Member and group numbers are identifiers: not carried into analytics.
with

source as (
    {{ live_rows('coverages') }}
),

renamed as (
    select
        id as coverage_id,
        patient_id,
        payer_id,
        cast(rank as String) as coverage_rank,
        toDate(effective_from) as effective_from,
        toDate(effective_to) as effective_to,
        _replicated_at
    from source
)

select * from renamed
