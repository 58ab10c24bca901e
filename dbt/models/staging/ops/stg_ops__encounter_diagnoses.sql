{{ config(order_by='encounter_diagnosis_id', unique_key='encounter_diagnosis_id') }}

with

source as (
    {{ live_rows('encounter_diagnoses') }}
),

renamed as (
    select
        id as encounter_diagnosis_id,
        encounter_id,
        rank as diagnosis_rank,
        code as icd10_code,
        _replicated_at
    from source
)

select * from renamed
