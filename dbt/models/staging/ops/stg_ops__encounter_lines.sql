{{ config(order_by='(encounter_id, encounter_line_id)', unique_key='encounter_line_id') }}

with

source as (
    {{ live_rows('encounter_lines') }}
),

renamed as (
    select
        id as encounter_line_id,
        encounter_id,
        line_number,
        procedure_code,
        modifiers,
        units,
        charge_amount,
        diagnosis_pointers,
        created_at,
        _replicated_at
    from source
)

select * from renamed
