{{ config(order_by='adjustment_id', unique_key='adjustment_id') }}

-- The free-text reason may name the patient: not carried into analytics.
with

source as (
    {{ live_rows('adjustments') }}
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
