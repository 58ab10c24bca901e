-- Patients without direct identifiers (no name, date of birth, contact details, address or MRN):
-- an age band, sex, home facility and insurance kind are enough to cut every KPI.
-- Incremental by patient (changed_dim_patient_ids()): the patients whose rows, coverages or visits
-- changed, and those whose age band or primary coverage "today" moved past, are recomputed.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='ignore',
        order_by='patient_id',
        pre_hook="{{ stage_changed_keys('patient_id', changed_dim_patient_ids(), ['payers']) }}",
        post_hook="{{ drop_changed_keys() }}"
    )
}}

{% set changed = keyed_by('patient_id') if is_incremental() else none %}

with

patients as (
    select * from {{ ref('stg_ops__patients') }}
    {% if changed %}where {{ changed }}{% endif %}
),

coverages as (
    select * from {{ ref('stg_ops__coverages') }}
    {% if changed %}where {{ changed }}{% endif %}
),

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
    {% if changed %}where {{ changed }}{% endif %}
),

primary_coverage as (
    {{ primary_payer_kinds('coverages') }}
),

visits as (
    select
        patient_id,
        min(date_of_service) as first_visit_date,
        max(date_of_service) as last_visit_date,
        count() as visit_count
    from encounters
    group by patient_id
),

final as (
    select
        patients.patient_id as patient_id,
        patients.facility_id as facility_id,
        patients.sex as sex,
        {{ age_band('patients.date_of_birth') }} as age_band,
        coalesce(primary_coverage.primary_payer_kind, 'uninsured') as primary_payer_kind,
        patients.preferred_contact as preferred_contact,
        visits.first_visit_date as first_visit_date,
        visits.last_visit_date as last_visit_date,
        coalesce(visits.visit_count, 0) as visit_count,
        toDate(patients.created_at) as registered_date
    from patients
    left join primary_coverage on patients.patient_id = primary_coverage.patient_id
    left join visits on patients.patient_id = visits.patient_id
)

select * from final
