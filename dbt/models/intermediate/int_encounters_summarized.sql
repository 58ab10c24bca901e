-- One row per encounter (visit): its charges and work RVUs, and who pays for it. The encounter is
-- the receivables account: charges are owed from the date of service whether or not a claim exists
-- yet (unbilled insured visits are insurance A/R; self-pay visits are never claimed).
-- Incremental by encounter (changed_encounter_ids()); a fee schedule change recomputes all.
{{
    config(
        order_by='encounter_id',
        unique_key='encounter_id',
        pre_hook="{{ stage_changed_keys('encounter_id', changed_encounter_ids(), ['facilities', 'payers', 'fee_schedule']) }}"
    )
}}

{% set changed = keyed_by('encounter_id') if is_incremental() else none %}

with

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
    {% if changed %}where {{ changed }}{% endif %}
),

encounter_lines as (
    select * from {{ ref('stg_ops__encounter_lines') }}
    {% if changed %}where {{ changed }}{% endif %}
),

fee_schedule as (
    select * from {{ ref('stg_ops__fee_schedule') }}
),

claims as (
    select * from {{ ref('stg_ops__claims') }}
    {% if changed %}where {{ changed }}{% endif %}
),

coverages as (
    select * from {{ ref('stg_ops__coverages') }}
),

payers as (
    select * from {{ ref('stg_ops__payers') }}
),

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

lines_dated as (
    select
        encounter_lines.*,
        encounters.date_of_service as date_of_service
    from encounter_lines
    inner join encounters on encounter_lines.encounter_id = encounters.encounter_id
),

-- Work RVUs from the fee schedule version in force on the date of service.
lines_valued as (
    select
        encounter_lines.encounter_id as encounter_id,
        encounter_lines.units as units,
        encounter_lines.charge_amount as charge_amount,
        fee_schedule.work_rvu as work_rvu
    from lines_dated as encounter_lines
    asof left join fee_schedule
        on encounter_lines.procedure_code = fee_schedule.procedure_code
        and encounter_lines.date_of_service >= fee_schedule.effective_from
),

line_totals as (
    select
        encounter_id,
        count() as line_count,
        sum(lines_valued.units) as total_units,
        {{ money('sum(lines_valued.charge_amount)') }} as gross_charges,
        {{ money('sum(lines_valued.units * coalesce(lines_valued.work_rvu, 0))') }} as wrvus,
        countIf(lines_valued.work_rvu is null) as lines_without_rvu
    from lines_valued
    group by encounter_id
),

-- The encounter's claim: the first live (non-void) one; its payer is the encounter's payer.
live_claims as (
    select
        claims.encounter_id as encounter_id,
        argMin(claims.claim_id, (claims.created_at, claims.claim_id)) as first_live_claim_id,
        argMin(claims.payer_id, (claims.created_at, claims.claim_id)) as claim_payer_id,
        count() as live_claim_count
    from claims
    where claims.claim_status != 'void'
    group by claims.encounter_id
),

-- Primary insurance in force on the date of service (a self-pay "payer" is not insurance).
primary_coverage as (
    select
        encounters.encounter_id as encounter_id,
        argMax(coverages.payer_id, coverages.effective_from) as coverage_payer_id
    from encounters
    inner join coverages on encounters.patient_id = coverages.patient_id
    inner join payers on coverages.payer_id = payers.payer_id
    where coverages.coverage_rank = 'primary'
      and coverages.effective_from <= encounters.date_of_service
      and (coverages.effective_to is null or coverages.effective_to >= encounters.date_of_service)
      and payers.payer_kind != 'self_pay'
    group by encounters.encounter_id
),

final as (
    select
        encounters.encounter_id as encounter_id,
        encounters.appointment_id as appointment_id,
        encounters.patient_id as patient_id,
        encounters.provider_id as provider_id,
        encounters.facility_id as facility_id,
        encounters.date_of_service as date_of_service,
        coalesce(facilities.timezone, 'UTC') as timezone,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.total_units, 0) as units,
        coalesce(line_totals.gross_charges, {{ zero_money() }}) as gross_charges,
        coalesce(line_totals.wrvus, {{ zero_money() }}) as wrvus,
        coalesce(line_totals.lines_without_rvu, 0) as lines_without_rvu,
        live_claims.first_live_claim_id as claim_id,
        coalesce(live_claims.live_claim_count, 0) as live_claim_count,
        coalesce(live_claims.claim_payer_id, primary_coverage.coverage_payer_id, {{ unknown_key() }}) as payer_id,
        toUInt8(live_claims.first_live_claim_id is null and primary_coverage.coverage_payer_id is null) as is_self_pay,
        {{ reflected_through() }} as _source_watermark
    from encounters
    left join line_totals on encounters.encounter_id = line_totals.encounter_id
    left join live_claims on encounters.encounter_id = live_claims.encounter_id
    left join primary_coverage on encounters.encounter_id = primary_coverage.encounter_id
    left join facilities on encounters.facility_id = facilities.facility_id
)

select * from final
