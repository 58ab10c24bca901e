-- A/R at the end of each day, by facility × provider × payer × responsibility × aging bucket.
-- Incremental: recomputes whole months from the first day a late change can alter (see
-- macros/incremental.sql) and swaps those partitions in; months before it are untouched.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(date)',
        order_by='(date, facility_id, provider_id, payer_id, responsibility, aging_bucket)',
        on_schema_change='fail'
    )
}}

with

balance_history as (
    select * from {{ ref('int_ar_balance_history') }}
),

bounds as (
    select
        {% if is_incremental() -%}
        assumeNotNull(if(
            {{ reference_data_changed() }},
            (select min(valid_from) from balance_history),
            toStartOfMonth(least(
                (select max(date) + 1 from {{ this }}),
                coalesce({{ ar_first_changed_day() }}, toDate('2149-06-01'))
            ))
        )) as start_date,
        {%- else -%}
        assumeNotNull((select min(valid_from) from balance_history)) as start_date,
        {%- endif %}
        {{ as_of_date() }} as end_date
),

-- Only non-zero balances occupy days; each interval is clipped to the range being (re)built.
open_intervals as (
    select
        balance_history.*,
        greatest(balance_history.valid_from, bounds.start_date) as first_day,
        least(coalesce(balance_history.valid_to, bounds.end_date), bounds.end_date) as last_day
    from balance_history
    cross join bounds
    where balance_history.balance != 0
      and first_day <= last_day
),

account_days as (
    select
        arrayJoin(arrayMap(
            offset -> assumeNotNull(first_day) + offset, range(toUInt32(last_day - first_day) + 1)
        )) as date,
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        {{ aging_bucket('date - date_of_service') }} as aging_bucket,
        balance
    from open_intervals
),

final as (
    select
        date,
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        aging_bucket,
        {{ money('sumIf(balance, balance > 0)') }} as ar_balance,
        {{ money('-sumIf(balance, balance < 0)') }} as credit_balance,
        countIf(balance > 0) as open_accounts,
        countIf(balance < 0) as credit_accounts,
        {{ reflected_through() }} as _source_watermark
    from account_days
    group by date, facility_id, provider_id, payer_id, responsibility, aging_bucket
)

select * from final
