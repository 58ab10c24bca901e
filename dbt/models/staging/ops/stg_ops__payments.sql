{{ config(order_by='payment_id', unique_key='payment_id') }}

with

source as (
    {{ live_rows('payments') }}
),

renamed as (
    select
        id as payment_id,
        patient_id,
        facility_id,
        claim_id,
        payer_id,
        remittance_id,
        cast(source as String) as payment_source,
        cast(method as String) as payment_method,
        amount,
        reference as payment_reference,
        received_at,
        _replicated_at
    from source
)

select * from renamed
