{{ config(order_by='claim_id', unique_key='claim_id') }}

with

source as (
    {{ live_rows('claims') }}
),

renamed as (
    select
        id as claim_id,
        encounter_id,
        patient_id,
        facility_id,
        provider_id,
        coverage_id,
        payer_id,
        cast(status as String) as claim_status,
        total_charge,
        paid_amount,
        allowed_amount,
        patient_responsibility,
        denial_group_code,
        denial_reason_code,
        denial_remark_codes,
        submitted_at,
        adjudicated_at,
        status_changed_at,
        created_at,
        _replicated_at
    from source
)

select * from renamed
