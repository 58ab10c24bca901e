{{ config(order_by='adjustment_id') }}

-- The free-text reason may name the patient: not carried into analytics.
with

source as (
    {{ latest_versions(source('ops', 'adjustments')) }}
),

renamed as (
    select
        id as adjustment_id,
        patient_id,
        facility_id,
        claim_id,
        cast(kind as String) as adjustment_kind,
        cast(status as String) as adjustment_status,
        amount,
        requested_by,
        approved_by,
        decided_at,
        posted_at,
        created_at,
        _replicated_at
    from source
)

select * from renamed
