{{ config(order_by='(claim_id, claim_line_id)', unique_key='claim_line_id') }}

with

source as (
    {{ live_rows('claim_lines') }}
),

renamed as (
    select
        id as claim_line_id,
        claim_id,
        encounter_line_id,
        line_number,
        procedure_code,
        modifiers,
        units,
        charge_amount,
        created_at,
        _replicated_at
    from source
)

select * from renamed
