{{ config(order_by='patient_id', unique_key='patient_id') }}

-- Direct identifiers (name, MRN, phone, email, address) stay in raw.*: nothing downstream needs
-- them, so the analytics schemas never hold them. Date of birth is kept only to derive age bands.
with

source as (
    {{ live_rows('patients') }}
),

renamed as (
    select
        id as patient_id,
        facility_id,
        date_of_birth,
        cast(sex as String) as sex,
        cast(preferred_contact as String) as preferred_contact,
        toUInt8(phone is not null and phone != '') as has_phone,
        toUInt8(email is not null and email != '') as has_email,
        created_at,
        _replicated_at
    from source
)

select * from renamed
