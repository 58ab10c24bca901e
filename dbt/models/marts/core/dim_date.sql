-- The calendar: one row per day from the start of the first year of activity through the end of
-- next year.
{{ config(order_by='date') }}

with

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
),

appointments as (
    select * from {{ ref('stg_ops__appointments') }}
),

bounds as (
    select
        toStartOfYear(assumeNotNull(least(
            coalesce((select minOrNull(date_of_service) from encounters), {{ as_of_date() }}),
            coalesce((select minOrNull(toDate(starts_at)) from appointments), {{ as_of_date() }})
        ))) as first_day,
        toStartOfYear({{ as_of_date() }}) + interval 2 year - interval 1 day as last_day
),

days as (
    select arrayJoin(arrayMap(offset -> first_day + offset, range(toUInt32(last_day - first_day) + 1))) as date
    from bounds
),

final as (
    select
        date,
        toYear(date) as year,
        toQuarter(date) as quarter,
        toMonth(date) as month,
        formatDateTime(date, '%Y-%m') as year_month,
        formatDateTime(date, '%M') as month_name,
        toStartOfMonth(date) as month_start,
        toMonday(date) as week_start,
        toISOWeek(date) as iso_week,
        toDayOfMonth(date) as day_of_month,
        toDayOfWeek(date) as day_of_week,
        formatDateTime(date, '%W') as day_name,
        toUInt8(toDayOfWeek(date) >= 6) as is_weekend
    from days
)

select * from final
