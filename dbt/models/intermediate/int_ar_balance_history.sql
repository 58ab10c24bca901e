-- Receivables as a step function: for each patient × responsibility side, one row per day on which
-- anything on that side changes and per open balance it then holds (an encounter's residual
-- debit, or the side's leftover credit), valid through the day before the side's next change
-- (valid_to null: still current). The daily A/R marts expand these over the calendar.
--
-- Netting (as ops_api/services/payments.py balances a patient): postings go to their own
-- encounter first; money left over on a side (an overpayment, or unapplied money such as a
-- self-pay patient's payment at the desk) pays that patient's oldest open debits on the same
-- side (FIFO by date of service); what is still left is the side's credit balance, reported
-- separately, never netted against other patients. Only sides that ever hold a credit need the
-- netting (checkpoints × accounts); every other side's accounts stand on their own.
-- Incremental by patient, as int_ar_transactions: a changed patient's sides are recomputed whole.
{{
    config(
        order_by='(patient_id, responsibility, valid_from)',
        unique_key='patient_id',
        pre_hook="{{ stage_changed_keys('patient_id', changed_ar_patient_ids()) }}"
    )
}}

with

transactions as (
    select * from {{ ref('int_ar_transactions') }}
    {% if is_incremental() %}where {{ keyed_by('patient_id') }}{% endif %}
),

-- One set of attributes per account: an encounter's own; an unapplied account takes its first
-- posting's facility and ages from it.
accounts as (
    select
        account_id,
        any(account_type) as account_type,
        any(patient_id) as patient_id,
        argMin(facility_id, (posted_date, source_id)) as facility_id,
        any(provider_id) as provider_id,
        any(payer_id) as payer_id,
        min(date_of_service) as date_of_service
    from transactions
    group by account_id
),

account_changes as (
    select
        patient_id,
        side as responsibility,
        account_id,
        posted_date as change_date,
        sum(amount) as change
    from transactions
    group by patient_id, side, account_id, posted_date
),

-- Each account side's balance after each day it changes, and whether its patient's side ever held a
-- credit (an account's money exceeding what it owed): such sides must be netted.
account_running as (
    select
        *,
        max(account_balance < 0) over (partition by patient_id, responsibility) as side_nets
    from (
        select
            patient_id,
            account_id,
            responsibility,
            change_date,
            sum(change) over (
                partition by account_id, responsibility order by change_date rows between unbounded preceding and current row
            ) as account_balance,
            leadInFrame(toNullable(change_date)) over (
                partition by account_id, responsibility order by change_date
                rows between unbounded preceding and unbounded following
            ) - 1 as valid_to
        from account_changes
    )
),

-- Sides that never held a credit: each account's own balance is what is owed.
standalone_debits as (
    select
        account_running.patient_id as patient_id,
        account_running.responsibility as responsibility,
        account_running.change_date as valid_from,
        account_running.valid_to as valid_to,
        account_running.account_id as account_id,
        accounts.account_type as account_type,
        accounts.facility_id as facility_id,
        accounts.provider_id as provider_id,
        accounts.payer_id as payer_id,
        accounts.date_of_service as date_of_service,
        account_running.account_balance as balance
    from account_running
    inner join accounts on account_running.account_id = accounts.account_id
    where account_running.account_balance > 0
      and account_running.side_nets = 0
),

-- Every day a netting side changes, and until when that state holds.
checkpoints as (
    select
        patient_id,
        responsibility,
        valid_from,
        leadInFrame(toNullable(valid_from)) over (
            partition by patient_id, responsibility order by valid_from
            rows between unbounded preceding and unbounded following
        ) - 1 as valid_to
    from (
        select distinct patient_id, responsibility, change_date as valid_from
        from account_running
        where side_nets = 1
    )
),

side_accounts as (
    select distinct patient_id, responsibility, account_id
    from account_running
    where side_nets = 1
),

-- Each account's own balance at each checkpoint of its patient's side.
states as (
    select
        checkpoints.patient_id as patient_id,
        checkpoints.responsibility as responsibility,
        checkpoints.valid_from as valid_from,
        checkpoints.valid_to as valid_to,
        side_accounts.account_id as account_id,
        account_running.account_balance as account_balance
    from checkpoints
    inner join side_accounts
        on checkpoints.patient_id = side_accounts.patient_id
        and checkpoints.responsibility = side_accounts.responsibility
    asof inner join (select * from account_running where side_nets = 1) as account_running
        on side_accounts.account_id = account_running.account_id
        and side_accounts.responsibility = account_running.responsibility
        and checkpoints.valid_from >= account_running.change_date
),

-- ClickHouse inlines a CTE at each reference, so the netted states are read once: each yields its
-- open debit and, on the account holding most of the side's leftover credit, that credit.
netted as (
    select
        states.*,
        accounts.account_type as account_type,
        accounts.facility_id as facility_id,
        accounts.provider_id as provider_id,
        accounts.payer_id as payer_id,
        accounts.date_of_service as date_of_service,
        sum(if(states.account_balance < 0, -states.account_balance, 0)) over side_state as side_credits,
        sum(if(states.account_balance > 0, states.account_balance, 0)) over side_state as side_debits,
        sum(if(states.account_balance > 0, states.account_balance, 0)) over (
            partition by states.patient_id, states.responsibility, states.valid_from
            order by accounts.date_of_service, states.account_id
            rows between unbounded preceding and current row
        ) as debits_through_this,
        argMin(states.account_id, (states.account_balance, states.account_id)) over side_state as credit_account_id
    from states
    inner join accounts on states.account_id = accounts.account_id
    window side_state as (partition by states.patient_id, states.responsibility, states.valid_from)
),

-- What the side's credits leave of each debit (oldest paid first), and the side's leftover credit.
netted_balances as (
    select
        patient_id,
        responsibility,
        valid_from,
        valid_to,
        account_id,
        account_type,
        facility_id,
        provider_id,
        payer_id,
        date_of_service,
        if(is_credit,
           -(side_credits - side_debits),
           greatest(least(account_balance, debits_through_this - side_credits), 0)) as balance
    from netted
    array join [0, 1] as is_credit
    where if(is_credit,
             account_id = credit_account_id and side_credits > side_debits,
             account_balance > 0 and debits_through_this > side_credits)
),

final as (
    select
        patient_id,
        responsibility,
        valid_from,
        valid_to,
        account_id,
        account_type,
        facility_id,
        provider_id,
        payer_id,
        date_of_service,
        {{ money('balance') }} as balance,
        {{ reflected_through() }} as _source_watermark
    from (
        select * from standalone_debits
        union all
        select * from netted_balances
    )
)

select * from final
