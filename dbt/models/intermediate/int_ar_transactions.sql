-- The receivables ledger: one row per posting that moves a balance, on one account and one side
-- (insurance or patient), signed so that an account side's balance at day D is the sum of its rows
-- posted on or before D (KPIS.md, ops_api/services/payments.py):
--   + charges, at the date of service, on the patient side for self-pay visits, else insurance
--   − insurance payments and contractual adjustments (non-PR adjustments = charge − allowed of
--     paid / partially paid answers): insurance side. A denial's CO adjustment is not posted.
--   ± the patient responsibility of each answer moves from the insurance to the patient side
--   − patient payments: patient side
--   − write-offs, discounts, fee waivers, credits; + debits, refunds: on the insurance side while
--     their claim awaits a paid answer (e.g. writing off a denial), moved to the patient side when
--     it comes; otherwise on the patient side
-- Accounts are encounters; money that names no claim sits on the patient's unapplied account
-- (account_id = patient_id).
-- Incremental by patient (changed_ar_patient_ids()): a patient's rows are recomputed whole from
-- that patient's rows of every input.
{{
    config(
        order_by='(patient_id, account_id, side, posted_date)',
        unique_key='patient_id',
        pre_hook="{{ stage_changed_keys('patient_id', changed_ar_patient_ids()) }}"
    )
}}

{% set changed = keyed_by('patient_id') if is_incremental() else none %}

with

encounters as (
    select * from {{ ref('int_encounters_summarized') }}
    {% if changed %}where {{ changed }}{% endif %}
),

-- A claim, its encounter and the money posted on it have one patient (ops_api refuses a payment or
-- an adjustment on another patient's claim; assert_money_on_a_claim_is_its_patients guards it), so
-- an incremental run reads every lookup for the changed patients only. ClickHouse builds a join's
-- right side whole: filtering after the join would read every claim.
claims as (
    select * from {{ ref('int_claims_lifecycle') }}
    {% if changed %}where {{ changed }}{% endif %}
),

remittances as (
    select * from {{ ref('stg_ops__remittances') }}
    {% if changed %}where claim_id in (select claim_id from claims){% endif %}
),

remittance_adjustments as (
    select * from {{ ref('stg_ops__remittance_adjustments') }}
    {% if changed %}where claim_id in (select claim_id from claims){% endif %}
),

payments as (
    select * from {{ ref('stg_ops__payments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

adjustments as (
    select * from {{ ref('stg_ops__adjustments') }}
    {% if changed %}where {{ changed }}{% endif %}
),

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

charges as (
    select
        'charge' as transaction_type,
        '' as detail,
        encounter_id as source_id,
        encounter_id,
        cast(null as Nullable(UUID)) as claim_id,
        if(is_self_pay = 1, 'patient', 'insurance') as side,
        toDateTime64(date_of_service, 6, 'UTC') as posted_at,
        date_of_service as posted_date,
        gross_charges as amount
    from encounters
),

answers as (
    select
        remittances.remittance_id as remittance_id,
        remittances.claim_id as claim_id,
        claims.encounter_id as encounter_id,
        claims.is_void as is_void,
        remittances.remittance_claim_status as remittance_claim_status,
        remittances.received_at as received_at,
        {{ local_date('remittances.received_at', 'claims.timezone') }} as received_date,
        remittances.patient_responsibility as patient_responsibility,
        lagInFrame(remittances.patient_responsibility, 1, {{ zero_money() }}) over (
            partition by remittances.claim_id order by remittances.created_at, remittances.remittance_id
            rows between unbounded preceding and unbounded following
        ) as previous_patient_responsibility
    from remittances
    inner join claims on remittances.claim_id = claims.claim_id
),

contractuals as (
    select
        'contractual_adjustment' as transaction_type,
        'CO' as detail,
        answers.remittance_id as source_id,
        answers.encounter_id as encounter_id,
        toNullable(answers.claim_id) as claim_id,
        'insurance' as side,
        answers.received_at as posted_at,
        answers.received_date as posted_date,
        -sum(remittance_adjustments.amount) as amount
    from answers
    inner join remittance_adjustments on answers.remittance_id = remittance_adjustments.remittance_id
    where answers.remittance_claim_status in ('paid', 'partially_paid')
      and remittance_adjustments.carc_group_code != 'PR'
    group by answers.remittance_id, answers.encounter_id, answers.claim_id, answers.received_at, answers.received_date
),

-- The claim's patient share is its latest answer's: each answer moves the change across sides.
responsibility_transfers as (
    select
        'responsibility_transfer' as transaction_type,
        '' as detail,
        remittance_id as source_id,
        encounter_id,
        toNullable(claim_id) as claim_id,
        arrayJoin(['insurance', 'patient']) as side,
        received_at as posted_at,
        received_date as posted_date,
        if(side = 'insurance', -1, 1) * (patient_responsibility - previous_patient_responsibility) as amount
    from answers
    where is_void = 0
      and patient_responsibility != previous_patient_responsibility
),

payment_entries as (
    select
        concat(payments.payment_source, '_payment') as transaction_type,
        payments.payment_method as detail,
        payments.payment_id as source_id,
        claims.encounter_id as encounter_id,
        payments.claim_id as claim_id,
        payments.payment_source as side,
        payments.received_at as posted_at,
        {{ local_date('payments.received_at', "coalesce(facilities.timezone, 'UTC')") }} as posted_date,
        -payments.amount as amount,
        payments.patient_id as patient_id,
        payments.facility_id as facility_id
    from payments
    left join claims on payments.claim_id = claims.claim_id
    left join facilities on payments.facility_id = facilities.facility_id
),

adjustments_posted as (
    select
        adjustments.adjustment_id as adjustment_id,
        adjustments.adjustment_kind as adjustment_kind,
        adjustments.claim_id as claim_id,
        claims.encounter_id as encounter_id,
        adjustments.patient_id as patient_id,
        adjustments.facility_id as facility_id,
        adjustments.posted_at as posted_at,
        {{ local_date('adjustments.posted_at', "coalesce(facilities.timezone, 'UTC')") }} as posted_date,
        if(adjustments.adjustment_kind in ('debit', 'refund'), adjustments.amount, -adjustments.amount) as amount,
        -- the day the claim stopped awaiting insurance (its first paid answer); null: still awaiting
        if(claims.claim_id is null, null, claims.first_paid_date) as insurance_done_date,
        toUInt8(claims.claim_id is not null and claims.is_void = 0) as on_live_claim
    from adjustments
    left join claims on adjustments.claim_id = claims.claim_id
    left join facilities on adjustments.facility_id = facilities.facility_id
    -- only approved adjustments take effect (pending ones wait for an admin; rejected never post)
    where adjustments.adjustment_status = 'approved'
      and adjustments.posted_at is not null
),

adjustment_entries as (
    select
        'adjustment' as transaction_type,
        adjustment_kind as detail,
        adjustment_id as source_id,
        encounter_id,
        claim_id,
        if(on_live_claim = 1 and (insurance_done_date is null or posted_date < insurance_done_date),
           'insurance', 'patient') as side,
        posted_at,
        posted_date,
        amount,
        patient_id,
        facility_id
    from adjustments_posted

    union all

    -- its claim's paid answer came after it: from then on it is on the patient's side
    select
        'adjustment_transfer' as transaction_type,
        adjustment_kind as detail,
        adjustment_id as source_id,
        encounter_id,
        claim_id,
        arrayJoin(['insurance', 'patient']) as side,
        toDateTime64(insurance_done_date, 6, 'UTC') as posted_at,
        assumeNotNull(insurance_done_date) as posted_date,
        if(side = 'insurance', -1, 1) * amount as amount,
        patient_id,
        facility_id
    from adjustments_posted
    where on_live_claim = 1
      and insurance_done_date is not null
      and posted_date < insurance_done_date
),

encounter_entries as (
    select * from charges
    union all
    select * from contractuals
    union all
    select * from responsibility_transfers
),

encounter_ledger as (
    select
        encounter_entries.transaction_type as transaction_type,
        encounter_entries.detail as detail,
        encounter_entries.source_id as source_id,
        'encounter' as account_type,
        encounter_entries.encounter_id as account_id,
        encounter_entries.claim_id as claim_id,
        encounters.patient_id as patient_id,
        encounters.facility_id as facility_id,
        encounters.provider_id as provider_id,
        encounters.payer_id as payer_id,
        encounters.date_of_service as date_of_service,
        encounter_entries.side as side,
        encounter_entries.posted_at as posted_at,
        encounter_entries.posted_date as posted_date,
        encounter_entries.amount as amount
    from encounter_entries
    inner join encounters on encounter_entries.encounter_id = encounters.encounter_id
),

-- Payments and adjustments: on their claim's encounter when there is one, else unapplied.
money_entries as (
    select * from payment_entries
    union all
    select * from adjustment_entries
),

money_ledger as (
    select
        money_entries.transaction_type as transaction_type,
        money_entries.detail as detail,
        money_entries.source_id as source_id,
        if(encounters.encounter_id is null, 'unapplied', 'encounter') as account_type,
        coalesce(encounters.encounter_id, money_entries.patient_id) as account_id,
        money_entries.claim_id as claim_id,
        money_entries.patient_id as patient_id,
        coalesce(encounters.facility_id, money_entries.facility_id) as facility_id,
        coalesce(encounters.provider_id, {{ unknown_key() }}) as provider_id,
        coalesce(encounters.payer_id, {{ unknown_key() }}) as payer_id,
        -- unapplied money ages from the day it was posted
        coalesce(encounters.date_of_service, money_entries.posted_date) as date_of_service,
        money_entries.side as side,
        money_entries.posted_at as posted_at,
        money_entries.posted_date as posted_date,
        money_entries.amount as amount
    from money_entries
    left join encounters on money_entries.encounter_id = encounters.encounter_id
),

unioned as (
    select * from encounter_ledger
    union all
    select * from money_ledger
),

final as (
    select
        cityHash64(transaction_type, source_id, side) as transaction_key,
        transaction_type,
        detail,
        source_id,
        account_type,
        -- keys are never null here (tests guard it); ClickHouse sorting keys must not be Nullable
        assumeNotNull(account_id) as account_id,
        claim_id,
        assumeNotNull(patient_id) as patient_id,
        assumeNotNull(facility_id) as facility_id,
        assumeNotNull(provider_id) as provider_id,
        assumeNotNull(payer_id) as payer_id,
        assumeNotNull(date_of_service) as date_of_service,
        assumeNotNull(side) as side,
        posted_at,
        assumeNotNull(posted_date) as posted_date,
        {{ money('assumeNotNull(amount)') }} as amount,
        {{ reflected_through() }} as _source_watermark
    from unioned
)

select * from final
