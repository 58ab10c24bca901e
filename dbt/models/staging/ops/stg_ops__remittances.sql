{{ config(order_by='(claim_id, remittance_id)', unique_key='remittance_id') }}

with

source as (
    {{ live_rows('remittances') }}
),

renamed as (
    select
        id as remittance_id,
        claim_id,
        payer_id,
        cast(claim_status as String) as remittance_claim_status,
        paid_amount,
        allowed_amount,
        patient_responsibility,
        denial_group_code,
        denial_reason_code,
        remark_codes,
        payment_reference,
        received_at,
        created_at,
        _replicated_at
    from source
)

select * from renamed
