{#- dim_patient's columns that depend on "today" (as_of_date()): its incremental run compares them
    with what the table holds to find the patients a new day moved (changed_dim_patient_ids()). -#}

{#- Age on as_of_date(), banded. -#}
{% macro age_band(date_of_birth) -%}
    multiIf(
        {{ patient_age(date_of_birth) }} < 18, '0-17',
        {{ patient_age(date_of_birth) }} < 35, '18-34',
        {{ patient_age(date_of_birth) }} < 50, '35-49',
        {{ patient_age(date_of_birth) }} < 65, '50-64',
        {{ patient_age(date_of_birth) }} < 75, '65-74',
        '75+'
    )
{%- endmacro %}

{% macro patient_age(date_of_birth) -%}
    (dateDiff('year', {{ date_of_birth }}, {{ as_of_date() }})
     - if(toDayOfYear({{ date_of_birth }}) > toDayOfYear({{ as_of_date() }}), 1, 0))
{%- endmacro %}

{#- Each patient's primary coverage in force on as_of_date() (the latest effective), as the payer's
    kind; `coverages` is a relation or CTE with stg_ops__coverages' columns. -#}
{% macro primary_payer_kinds(coverages) -%}
    select
        coverages.patient_id as patient_id,
        argMax(payers.payer_kind, coverages.effective_from) as primary_payer_kind
    from {{ coverages }} as coverages
    inner join {{ ref('stg_ops__payers') }} as payers on coverages.payer_id = payers.payer_id
    where coverages.coverage_rank = 'primary'
      and coverages.effective_from <= {{ as_of_date() }}
      and (coverages.effective_to is null or coverages.effective_to >= {{ as_of_date() }})
    group by coverages.patient_id
{%- endmacro %}

{#- The patients dim_patient recomputes: any version's patient of changed patient rows, coverages and
    visits, and those whose age band or primary coverage on as_of_date() differs from the table's (a
    birthday or a coverage boundary passed since the last build). -#}
{% macro changed_dim_patient_ids() -%}
    {{ changed_rows('patients') }}
    union distinct
    {{ changed_rows('coverages', 'patient_id') }}
    union distinct
    {{ changed_rows('encounters', 'patient_id') }}
    union distinct
    select built.patient_id
    from {{ this }} as built
    inner join {{ ref('stg_ops__patients') }} as patients on built.patient_id = patients.patient_id
    left join ({{ primary_payer_kinds(ref('stg_ops__coverages')) }}) as coverage
        on built.patient_id = coverage.patient_id
    where built.age_band != {{ age_band('patients.date_of_birth') }}
       or built.primary_payer_kind != coalesce(coverage.primary_payer_kind, 'uninsured')
{%- endmacro %}
