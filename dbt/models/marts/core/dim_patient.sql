-- Patients without direct identifiers (no name, date of birth, contact details, address or MRN):
-- an age band, sex, home facility and insurance kind are enough to cut every KPI.
{{ config(order_by='patient_id') }}

with

patients as (
    select * from {{ ref('stg_ops__patients') }}
),

coverages as (
    select * from {{ ref('stg_ops__coverages') }}
),

payers as (
    select * from {{ ref('stg_ops__payers') }}
),

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
),

primary_coverage as (
    select
        coverages.patient_id as patient_id,
        argMax(payers.payer_kind, coverages.effective_from) as primary_payer_kind
    from coverages
    inner join payers on coverages.payer_id = payers.payer_id
    where coverages.coverage_rank = 'primary'
      and coverages.effective_from <= {{ as_of_date() }}
      and (coverages.effective_to is null or coverages.effective_to >= {{ as_of_date() }})
    group by coverages.patient_id
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
        multiIf(
            age < 18, '0-17',
            age < 35, '18-34',
            age < 50, '35-49',
            age < 65, '50-64',
            age < 75, '65-74',
            '75+'
        ) as age_band,
        coalesce(primary_coverage.primary_payer_kind, 'uninsured') as primary_payer_kind,
        patients.preferred_contact as preferred_contact,
        visits.first_visit_date as first_visit_date,
        visits.last_visit_date as last_visit_date,
        coalesce(visits.visit_count, 0) as visit_count,
        toDate(patients.created_at) as registered_date
    from (
        select *, dateDiff('year', date_of_birth, {{ as_of_date() }})
                  - if(toDayOfYear(date_of_birth) > toDayOfYear({{ as_of_date() }}), 1, 0) as age
        from patients
    ) as patients
    left join primary_coverage on patients.patient_id = primary_coverage.patient_id
    left join visits on patients.patient_id = visits.patient_id
)

select * from final
