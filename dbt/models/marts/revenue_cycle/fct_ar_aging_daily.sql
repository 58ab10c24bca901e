-- A/R at the end of each day, by facility × provider × payer × responsibility × aging bucket.
-- Incremental: recomputes whole months from the first day a late change can alter (see
-- macros/incremental.sql) and swaps those partitions in; months before it are untouched.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(date)',
        order_by='(date, facility_id, provider_id, payer_id, responsibility, aging_bucket)',
        on_schema_change='ignore',
        pre_hook="{{ require_built_columns() }}"
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

-- An interval crosses at most five aging buckets: split it where its age passes 30, 60, 90, 120 days.
bucket_segments as (
    select
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        balance,
        date_of_service,
        greatest(first_day, segment.1) as segment_from,
        least(last_day, segment.2) as segment_to
    from open_intervals
    array join [
        (first_day, date_of_service + 30),
        (date_of_service + 31, date_of_service + 60),
        (date_of_service + 61, date_of_service + 90),
        (date_of_service + 91, date_of_service + 120),
        (date_of_service + 121, last_day)
    ] as segment
    where segment_from <= segment_to
),

-- Each segment opens on its first day and closes the day after its last: the day's totals are the
-- running sum of these changes, so the work is per change, not per account and day.
changes as (
    select
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        aging_bucket,
        day,
        sum(ar_change) as ar_change,
        sum(credit_change) as credit_change,
        sum(open_change) as open_change,
        sum(credit_accounts_change) as credit_accounts_change
    from (
        select
            facility_id, provider_id, payer_id, responsibility,
            {{ aging_bucket('segment_from - date_of_service') }} as aging_bucket,
            arrayJoin([(segment_from, 1), (segment_to + 1, -1)]) as edge,
            edge.1 as day,
            edge.2 * if(balance > 0, balance, 0) as ar_change,
            edge.2 * if(balance < 0, -balance, 0) as credit_change,
            edge.2 * toInt64(balance > 0) as open_change,
            edge.2 * toInt64(balance < 0) as credit_accounts_change
        from bucket_segments
    )
    group by facility_id, provider_id, payer_id, responsibility, aging_bucket, day
),

running as (
    select
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        aging_bucket,
        day as from_day,
        leadInFrame(day) over (
            partition by facility_id, provider_id, payer_id, responsibility, aging_bucket order by day
            rows between unbounded preceding and unbounded following
        ) - 1 as to_day,
        sum(ar_change) over cell as ar_balance,
        sum(credit_change) over cell as credit_balance,
        sum(open_change) over cell as open_accounts,
        sum(credit_accounts_change) over cell as credit_accounts
    from changes
    window cell as (
        partition by facility_id, provider_id, payer_id, responsibility, aging_bucket order by day
        rows between unbounded preceding and current row
    )
),

final as (
    select
        arrayJoin(arrayMap(offset -> from_day + offset, range(toUInt32(to_day - from_day) + 1))) as date,
        facility_id,
        provider_id,
        payer_id,
        responsibility,
        aging_bucket,
        {{ money('ar_balance') }} as ar_balance,
        {{ money('credit_balance') }} as credit_balance,
        toUInt64(open_accounts) as open_accounts,
        toUInt64(credit_accounts) as credit_accounts,
        {{ reflected_through() }} as _source_watermark
    from running
    -- A cell with no account open until its next change has no row (the last change always closes).
    where open_accounts + credit_accounts > 0
)

select * from final
