-- One row per claim: where it was billed and how it moved through the payer's hands. The claim
-- definitions of KPIS.md (clean claim, first adjudication, initial denial, first-pass resolution,
-- appeal and overturn, days to submit / to payment) are decided here, once, for every mart.
-- Incremental by claim: every input is read for the changed claims only (changed_claim_ids()).
{{
    config(
        order_by='claim_id',
        unique_key='claim_id',
        pre_hook="{{ stage_changed_keys('claim_id', changed_claim_ids()) }}"
    )
}}

{% set changed = keyed_by('claim_id') if is_incremental() else none %}

with

claims as (
    select * from {{ ref('stg_ops__claims') }}
    {% if changed %}where {{ changed }}{% endif %}
),

claim_lines as (
    select * from {{ ref('stg_ops__claim_lines') }}
    {% if changed %}where {{ changed }}{% endif %}
),

status_events as (
    select * from {{ ref('stg_ops__claim_status_events') }}
    {% if changed %}where {{ changed }}{% endif %}
),

remittances as (
    select * from {{ ref('stg_ops__remittances') }}
    {% if changed %}where {{ changed }}{% endif %}
),

remittance_adjustments as (
    select * from {{ ref('stg_ops__remittance_adjustments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

payments as (
    select * from {{ ref('stg_ops__payments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

adjustments as (
    select * from {{ ref('stg_ops__adjustments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
    {% if changed %}where encounter_id in (select encounter_id from claims){% endif %}
),

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

payers as (
    select * from {{ ref('stg_ops__payers') }}
),

line_totals as (
    select
        claim_id,
        count() as line_count,
        sum(claim_lines.units) as total_units,
        {{ money('sum(claim_lines.charge_amount)') }} as line_charges
    from claim_lines
    group by claim_id
),

-- Submission history. A correction is a move back to draft (rejected → draft) or a resubmission.
status_history as (
    select
        claim_id,
        minIfOrNull(occurred_at, to_status = 'submitted') as first_submitted_at,
        countIf(to_status = 'submitted') as submission_count,
        minIfOrNull(occurred_at, to_status = 'accepted') as first_accepted_at,
        minIfOrNull(occurred_at, to_status = 'rejected') as first_rejected_at,
        minIfOrNull(occurred_at, to_status = 'draft' and from_status is not null) as first_corrected_at,
        minIfOrNull(occurred_at, to_status = 'appealed') as first_appealed_at,
        minIfOrNull(occurred_at, to_status = 'closed') as closed_at,
        minIfOrNull(occurred_at, to_status = 'void') as voided_at
    from status_events
    group by claim_id
),

second_submissions as (
    select
        claim_id,
        min(occurred_at) as second_submitted_at
    from (
        select
            claim_id,
            occurred_at,
            row_number() over (partition by claim_id order by occurred_at, claim_status_event_id) as submission_number
        from status_events
        where to_status = 'submitted'
    )
    where submission_number = 2
    group by claim_id
),

-- A payer answer is the remittance (received_at: the payer's date, which may be back-dated when
-- posted late) or, failing one, the status move that recorded it.
answers as (
    select
        claim_id,
        received_at as answered_at,
        remittance_claim_status as outcome,
        toUInt8(remittance_claim_status = 'denied' or denial_reason_code is not null) as is_denial
    from remittances
    where remittance_claim_status in ('paid', 'partially_paid', 'denied')

    union all

    select
        claim_id,
        occurred_at as answered_at,
        to_status as outcome,
        toUInt8(to_status = 'denied') as is_denial
    from status_events
    where to_status in ('paid', 'partially_paid', 'denied')
      and claim_id not in (select claim_id from remittances)
),

first_answers as (
    select
        claim_id,
        min(answered_at) as first_adjudicated_at,
        argMin(outcome, answered_at) as first_adjudication_status,
        argMin(is_denial, answered_at) as is_initial_denial,
        minIfOrNull(answered_at, outcome in ('paid', 'partially_paid')) as first_paid_at,
        minIfOrNull(answered_at, is_denial = 1) as first_denied_at,
        countIf(is_denial = 1) as denial_count,
        count() as answer_count
    from answers
    group by claim_id
),

-- KPIS.md: a contractual adjustment is charge − allowed on a paid or partially paid answer, i.e. its
-- non-PR adjustments (the answer balances: charge = paid + adjustments, allowed = paid + PR). A
-- denial's CO adjustment is not one: the denied balance stays open.
remittance_money as (
    select
        remittances.claim_id as claim_id,
        {{ money("sumIf(remittance_adjustments.amount, remittance_adjustments.carc_group_code != 'PR'
                   and remittances.remittance_claim_status in ('paid', 'partially_paid'))") }} as contractual_adjustment,
        {{ money("sumIf(remittance_adjustments.amount, remittance_adjustments.carc_group_code = 'CO')") }} as carc_co_amount,
        {{ money("sumIf(remittance_adjustments.amount, remittance_adjustments.carc_group_code = 'PR')") }} as carc_pr_amount,
        {{ money("sumIf(remittance_adjustments.amount, remittance_adjustments.carc_group_code = 'OA')") }} as carc_oa_amount,
        {{ money("sumIf(remittance_adjustments.amount, remittance_adjustments.carc_group_code = 'PI')") }} as carc_pi_amount,
        {{ money("sumIf(remittance_adjustments.amount, remittance_adjustments.carc_group_code = 'CR')") }} as carc_cr_amount
    from remittance_adjustments
    inner join remittances on remittance_adjustments.remittance_id = remittances.remittance_id
    group by remittances.claim_id
),

latest_answers as (
    select
        claim_id,
        argMax(allowed_amount, (created_at, remittance_id)) as allowed_amount,
        argMax(patient_responsibility, (created_at, remittance_id)) as patient_responsibility
    from remittances
    group by claim_id
),

payment_totals as (
    select
        claim_id,
        {{ money("sumIf(amount, payment_source = 'insurance')") }} as insurance_paid,
        {{ money("sumIf(amount, payment_source = 'patient')") }} as patient_paid,
        minIfOrNull(received_at, payment_source = 'insurance' and amount > 0) as first_insurance_payment_at
    from payments
    where claim_id is not null
    group by claim_id
),

adjustment_totals as (
    select
        claim_id,
        {{ money("sumIf(if(adjustment_kind in ('debit', 'refund'), -amount, amount), adjustment_status = 'approved')") }}
            as net_adjustments,
        {{ money("sumIf(amount, adjustment_status = 'approved' and adjustment_kind = 'write_off')") }} as write_offs
    from adjustments
    where claim_id is not null
    group by claim_id
),

joined as (
    select
        claims.claim_id as claim_id,
        claims.encounter_id as encounter_id,
        claims.patient_id as patient_id,
        claims.facility_id as facility_id,
        claims.provider_id as provider_id,
        claims.coverage_id as coverage_id,
        claims.payer_id as payer_id,
        claims.claim_status as claim_status,
        claims.created_at as created_at,
        coalesce(payers.payer_kind, 'unknown') as payer_kind,
        coalesce(facilities.timezone, 'UTC') as timezone,
        encounters.date_of_service as date_of_service,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.total_units, 0) as units,
        coalesce(line_totals.line_charges, claims.total_charge) as claim_charges,
        coalesce(status_history.first_submitted_at, claims.submitted_at) as first_submitted_at_,
        coalesce(status_history.submission_count, toUInt64(claims.submitted_at is not null)) as submission_count,
        status_history.first_accepted_at as first_accepted_at,
        status_history.first_rejected_at as first_rejected_at,
        status_history.first_corrected_at as first_corrected_at,
        status_history.first_appealed_at as first_appealed_at,
        status_history.closed_at as closed_at,
        coalesce(status_history.voided_at,
                 if(claims.claim_status = 'void', coalesce(claims.status_changed_at, claims.created_at), null)) as voided_at,
        second_submissions.second_submitted_at as second_submitted_at,
        first_answers.first_adjudicated_at as first_adjudicated_at,
        first_answers.first_adjudication_status as first_adjudication_status,
        coalesce(first_answers.is_initial_denial, 0) as is_initial_denial,
        first_answers.first_paid_at as first_paid_at,
        first_answers.first_denied_at as first_denied_at,
        coalesce(first_answers.denial_count, 0) as denial_count,
        coalesce(first_answers.answer_count, 0) as answer_count,
        coalesce(remittance_money.contractual_adjustment, {{ zero_money() }}) as contractual_adjustment,
        coalesce(remittance_money.carc_co_amount, {{ zero_money() }}) as carc_co_amount,
        coalesce(remittance_money.carc_pr_amount, {{ zero_money() }}) as carc_pr_amount,
        coalesce(remittance_money.carc_oa_amount, {{ zero_money() }}) as carc_oa_amount,
        coalesce(remittance_money.carc_pi_amount, {{ zero_money() }}) as carc_pi_amount,
        coalesce(remittance_money.carc_cr_amount, {{ zero_money() }}) as carc_cr_amount,
        latest_answers.allowed_amount as remitted_allowed_amount,
        latest_answers.patient_responsibility as remitted_patient_responsibility,
        coalesce(payment_totals.insurance_paid, {{ zero_money() }}) as insurance_paid,
        coalesce(payment_totals.patient_paid, {{ zero_money() }}) as patient_paid,
        payment_totals.first_insurance_payment_at as first_insurance_payment_at,
        coalesce(adjustment_totals.net_adjustments, {{ zero_money() }}) as net_adjustments,
        coalesce(adjustment_totals.write_offs, {{ zero_money() }}) as write_offs
    from claims
    left join line_totals on claims.claim_id = line_totals.claim_id
    left join status_history on claims.claim_id = status_history.claim_id
    left join second_submissions on claims.claim_id = second_submissions.claim_id
    left join first_answers on claims.claim_id = first_answers.claim_id
    left join remittance_money on claims.claim_id = remittance_money.claim_id
    left join latest_answers on claims.claim_id = latest_answers.claim_id
    left join payment_totals on claims.claim_id = payment_totals.claim_id
    left join adjustment_totals on claims.claim_id = adjustment_totals.claim_id
    left join encounters on claims.encounter_id = encounters.encounter_id
    left join facilities on claims.facility_id = facilities.facility_id
    left join payers on claims.payer_id = payers.payer_id
),

final as (
    select
        claim_id,
        encounter_id,
        patient_id,
        facility_id,
        provider_id,
        coverage_id,
        coalesce(payer_id, {{ unknown_key() }}) as payer_id,
        payer_kind,
        date_of_service,
        claim_status,
        toUInt8(claim_status = 'void') as is_void,
        line_count,
        units,
        claim_charges as total_charge,

        first_submitted_at_ as first_submitted_at,
        {{ local_date('first_submitted_at_', 'timezone') }} as first_submitted_date,
        submission_count,
        first_accepted_at,
        first_rejected_at,
        -- Clean: accepted with no rejection, correction or resubmission before the acceptance.
        toUInt8(ifNull(
            first_accepted_at is not null
            and (first_rejected_at is null or first_rejected_at > first_accepted_at)
            and (first_corrected_at is null or first_corrected_at > first_accepted_at)
            and (second_submitted_at is null or second_submitted_at > first_accepted_at),
            0
        )) as is_clean_claim,

        first_adjudicated_at,
        {{ local_date('first_adjudicated_at', 'timezone') }} as first_adjudicated_date,
        first_adjudication_status,
        toUInt8(is_initial_denial = 1) as is_initial_denial,
        toUInt8(ifNull(first_adjudication_status in ('paid', 'partially_paid'), 0)) as is_first_pass_paid,
        answer_count as adjudication_count,
        denial_count,
        first_denied_at,
        first_appealed_at,
        toUInt8(first_appealed_at is not null) as is_appealed,
        -- Overturned: appealed, then paid or partially paid.
        toUInt8(ifNull(first_appealed_at is not null and first_paid_at > first_denied_at, 0)) as is_overturned,
        first_paid_at,
        {{ local_date('first_paid_at', 'timezone') }} as first_paid_date,
        closed_at,
        voided_at,

        remitted_allowed_amount as allowed_amount,
        contractual_adjustment,
        coalesce(remitted_patient_responsibility, {{ zero_money() }}) as patient_responsibility,
        carc_co_amount,
        carc_pr_amount,
        carc_oa_amount,
        carc_pi_amount,
        carc_cr_amount,
        insurance_paid,
        patient_paid,
        net_adjustments,
        write_offs,
        -- What is still owed on this claim's own money (A/R is kept per encounter: fct_ar_aging_daily).
        if(claim_status = 'void', {{ zero_money() }},
           {{ money('claim_charges - insurance_paid - patient_paid - contractual_adjustment - net_adjustments') }}) as claim_balance,

        first_insurance_payment_at,
        {{ local_date('first_insurance_payment_at', 'timezone') }} as first_insurance_payment_date,
        toInt32({{ local_date('first_submitted_at_', 'timezone') }} - date_of_service) as days_to_submit,
        toInt32({{ local_date('first_insurance_payment_at', 'timezone') }}
                - {{ local_date('first_submitted_at_', 'timezone') }}) as days_to_payment,
        timezone,
        created_at,
        {{ reflected_through() }} as _source_watermark
    from joined
)

select * from final
