{{ config(order_by='(claim_id, remittance_adjustment_id)', unique_key='remittance_adjustment_id') }}

with

source as (
    {{ live_rows('remittance_adjustments') }}
),

renamed as (
    select
        id as remittance_adjustment_id,
        remittance_id,
        claim_id,
        cast(group_code as String) as carc_group_code,
        reason_code as carc_reason_code,
        amount,
        _replicated_at
    from source
)

select * from renamed
