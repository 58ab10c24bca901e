-- fct_ar_aging_daily sums running changes (an account's balance opens and closes per aging bucket).
-- Recompute its cells the direct way, account by account from int_ar_balance_history, at every month
-- end and on the as-of day, and return every cell where the two differ or only one has it.
with

days as (
    select groupArray(date) as dates
    from (
        select distinct least(toLastDayOfMonth(date), {{ as_of_date() }}) as date from {{ ref('fct_ar_aging_daily') }}
    )
),

direct as (
    select
        date,
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        {{ aging_bucket('date - date_of_service') }} as aging_bucket,
        sumIf(balance, balance > 0) as ar_balance,
        -sumIf(balance, balance < 0) as credit_balance,
        countIf(balance > 0) as open_accounts,
        countIf(balance < 0) as credit_accounts,
        1 as found
    from (
        select
            history.*,
            arrayJoin(arrayFilter(
                d -> d >= history.valid_from and (history.valid_to is null or d <= history.valid_to),
                (select dates from days)
            )) as date
        from {{ ref('int_ar_balance_history') }} as history
        where history.balance != 0
    )
    group by date, facility_id, provider_id, payer_id, responsibility, aging_bucket
),

fact as (
    select date, facility_id, provider_id, payer_id, responsibility, aging_bucket,
           ar_balance, credit_balance, open_accounts, credit_accounts, 1 as found
    from {{ ref('fct_ar_aging_daily') }}
    where has((select dates from days), date)
)

select
    direct.date, direct.facility_id, direct.aging_bucket, direct.ar_balance, direct.open_accounts,
    fact.date, fact.facility_id, fact.aging_bucket, fact.ar_balance, fact.open_accounts
from direct
full outer join fact
    on direct.date = fact.date
    and direct.facility_id = fact.facility_id
    and direct.provider_id = fact.provider_id
    and direct.payer_id = fact.payer_id
    and direct.responsibility = fact.responsibility
    and direct.aging_bucket = fact.aging_bucket
where direct.found is null
   or fact.found is null
   or direct.ar_balance != fact.ar_balance
   or direct.credit_balance != fact.credit_balance
   or direct.open_accounts != fact.open_accounts
   or direct.credit_accounts != fact.credit_accounts
