{{ config(order_by='claim_line_id') }}

with

source as (
    {{ latest_versions(source('ops', 'claim_lines')) }}
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
