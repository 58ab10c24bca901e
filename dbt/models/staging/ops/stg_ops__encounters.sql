{{ config(order_by='encounter_id', unique_key='encounter_id') }}

with

source as (
    {{ live_rows('encounters') }}
),

renamed as (
    select
        id as encounter_id,
        appointment_id,
        patient_id,
        provider_id,
        facility_id,
        toDate(date_of_service) as date_of_service,
        created_at,
        _replicated_at
    from source
)

select * from renamed
