-- One row per denial: a payer answer that denied the claim (status denied) or part of it (a
-- partial payment carrying a denial), with its CARC reason and what happened next (appeal,
-- overturn, write-off). Appeal rate = appealed ÷ denials; overturn rate = overturned ÷ appealed.
-- Incremental by claim, as int_claims_lifecycle: every column is decided by the claim's own rows, so
-- the changed claims' denials are deleted and recomputed from their inputs read for them only.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='ignore',
        order_by='(facility_id, denied_date, denial_id)',
        pre_hook="{{ stage_changed_keys('claim_id', changed_claim_ids()) }}",
        post_hook="{{ drop_changed_keys() }}"
    )
}}

{% set changed = keyed_by('claim_id') if is_incremental() else none %}

with

remittances as (
    select * from {{ ref('stg_ops__remittances') }}
    {% if changed %}where {{ changed }}{% endif %}
),

remittance_adjustments as (
    select * from {{ ref('stg_ops__remittance_adjustments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

status_events as (
    select * from {{ ref('stg_ops__claim_status_events') }}
    {% if changed %}where {{ changed }}{% endif %}
),

adjustments as (
    select * from {{ ref('stg_ops__adjustments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

claims as (
    select * from {{ ref('int_claims_lifecycle') }}
    {% if changed %}where {{ changed }}{% endif %}
),

denials as (
    select *
    from remittances
    where remittance_claim_status = 'denied' or denial_reason_code is not null
),

-- Reason when the answer names none: its largest non-PR adjustment.
largest_adjustments as (
    select
        remittance_id,
        argMax(carc_group_code, (amount, remittance_adjustment_id)) as carc_group_code,
        argMax(carc_reason_code, (amount, remittance_adjustment_id)) as carc_reason_code,
        {{ money('sum(amount)') }} as denied_amount
    from remittance_adjustments
    where carc_group_code != 'PR'
    group by remittance_id
),

-- What followed each denial on its claim: the first appeal, the first paid answer after it.
followups as (
    select
        denials.remittance_id as remittance_id,
        minIfOrNull(status_events.occurred_at,
                    status_events.to_status = 'appealed' and status_events.occurred_at >= denials.received_at) as appealed_at
    from denials
    left join status_events on denials.claim_id = status_events.claim_id
    group by denials.remittance_id
),

recoveries as (
    select
        followups.remittance_id as remittance_id,
        minOrNull(later.received_at) as overturned_at,
        {{ money('sum(coalesce(later.paid_amount, 0))') }} as recovered_amount
    from followups
    inner join denials on followups.remittance_id = denials.remittance_id
    inner join remittances as later on denials.claim_id = later.claim_id
    where followups.appealed_at is not null
      and later.received_at > followups.appealed_at
      and later.remittance_claim_status in ('paid', 'partially_paid')
    group by followups.remittance_id
),

write_offs as (
    select
        denials.remittance_id as remittance_id,
        {{ money('sum(adjustments.amount)') }} as written_off_amount
    from denials
    inner join adjustments on denials.claim_id = adjustments.claim_id
    where adjustments.adjustment_kind = 'write_off'
      and adjustments.adjustment_status = 'approved'
      and adjustments.posted_at >= denials.received_at
    group by denials.remittance_id
),

final as (
    select
        denials.remittance_id as denial_id,
        denials.claim_id as claim_id,
        claims.encounter_id as encounter_id,
        claims.patient_id as patient_id,
        claims.facility_id as facility_id,
        claims.provider_id as provider_id,
        claims.payer_id as payer_id,
        assumeNotNull(claims.date_of_service) as date_of_service,
        denials.received_at as denied_at,
        assumeNotNull({{ local_date('denials.received_at', 'claims.timezone') }}) as denied_date,
        toUInt32(row_number() over (partition by denials.claim_id order by denials.received_at, denials.remittance_id))
            as denial_sequence,
        toUInt8(denial_sequence = 1 and claims.is_initial_denial = 1) as is_initial_denial,
        denials.remittance_claim_status as answer_status,
        coalesce(denials.denial_group_code, largest_adjustments.carc_group_code, 'OA') as carc_group_code,
        coalesce(denials.denial_reason_code, largest_adjustments.carc_reason_code, 'unknown') as carc_reason_code,
        denials.remark_codes as remark_codes,
        claims.total_charge as claim_charge,
        coalesce(largest_adjustments.denied_amount, {{ zero_money() }}) as denied_amount,
        followups.appealed_at as appealed_at,
        toUInt8(followups.appealed_at is not null) as is_appealed,
        recoveries.overturned_at as overturned_at,
        toUInt8(recoveries.overturned_at is not null) as is_overturned,
        coalesce(recoveries.recovered_amount, {{ zero_money() }}) as recovered_amount,
        coalesce(write_offs.written_off_amount, {{ zero_money() }}) as written_off_amount,
        claims.claim_status as current_claim_status,
        {{ reflected_through() }} as _source_watermark
    from denials
    inner join claims on denials.claim_id = claims.claim_id
    left join largest_adjustments on denials.remittance_id = largest_adjustments.remittance_id
    left join followups on denials.remittance_id = followups.remittance_id
    left join recoveries on denials.remittance_id = recoveries.remittance_id
    left join write_offs on denials.remittance_id = write_offs.remittance_id
)

select * from final
