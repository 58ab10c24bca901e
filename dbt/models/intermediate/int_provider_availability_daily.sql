-- Minutes each provider is available per facility and day: the weekly schedule templates expanded
-- over the calendar (in the facility's local time), less any overlapping time off. The utilisation
-- KPI divides kept appointment minutes by these.
-- A table, rebuilt every run: small, and its horizon moves with "today" (as_of_date) anyway.
{{ config(materialized='table', order_by='(provider_id, facility_id, date)') }}

with

schedules as (
    select * from {{ ref('stg_ops__provider_schedules') }}
),

time_off as (
    select * from {{ ref('stg_ops__provider_time_off') }}
),

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

appointments as (
    select * from {{ ref('stg_ops__appointments') }}
),

encounters as (
    select * from {{ ref('stg_ops__encounters') }}
),

-- From the first day of activity through the horizon past "today" (upcoming capacity).
bounds as (
    select
        assumeNotNull(least(
            coalesce((select minOrNull(toDate(starts_at)) from appointments), {{ as_of_date() }}),
            coalesce((select minOrNull(date_of_service) from encounters), {{ as_of_date() }})
        )) as first_day,
        {{ as_of_date() }} + {{ var('availability_horizon_days') }} as last_day
),

template_ranges as (
    select
        schedules.provider_schedule_id as provider_schedule_id,
        schedules.provider_id as provider_id,
        schedules.facility_id as facility_id,
        schedules.weekday as weekday,
        schedules.start_minute as start_minute,
        schedules.end_minute as end_minute,
        facilities.timezone as timezone,
        greatest(schedules.effective_from, bounds.first_day) as range_start,
        least(coalesce(schedules.effective_to, bounds.last_day), bounds.last_day) as range_end
    from schedules
    inner join facilities on schedules.facility_id = facilities.facility_id
    cross join bounds
    where schedules.end_minute > schedules.start_minute
),

template_days as (
    select
        provider_schedule_id,
        provider_id,
        facility_id,
        timezone,
        arrayJoin(arrayFilter(
            day -> toDayOfWeek(day) - 1 = weekday,
            arrayMap(offset -> range_start + offset, range(toUInt32(greatest(range_end - range_start + 1, 0))))
        )) as date,
        toDateTime64(date, 6, 'UTC') + toIntervalMinute(start_minute) as local_start,
        toDateTime64(date, 6, 'UTC') + toIntervalMinute(end_minute) as local_end
    from template_ranges
    where range_start <= range_end
),

time_off_overlaps as (
    select
        template_days.provider_schedule_id as provider_schedule_id,
        template_days.date as date,
        sum(greatest(
            dateDiff('minute',
                     greatest(template_days.local_start, {{ local_datetime('time_off.starts_at', 'template_days.timezone') }}),
                     least(template_days.local_end, {{ local_datetime('time_off.ends_at', 'template_days.timezone') }})),
            0
        )) as minutes_off
    from template_days
    inner join time_off on template_days.provider_id = time_off.provider_id
    where time_off.starts_at < template_days.local_end + interval 1 day
      and time_off.ends_at > template_days.local_start - interval 1 day
    group by template_days.provider_schedule_id, template_days.date
),

final as (
    select
        template_days.provider_id as provider_id,
        template_days.facility_id as facility_id,
        template_days.date as date,
        toInt64(sum(dateDiff('minute', template_days.local_start, template_days.local_end))) as scheduled_minutes,
        toInt64(sum(least(coalesce(time_off_overlaps.minutes_off, 0),
                          dateDiff('minute', template_days.local_start, template_days.local_end)))) as time_off_minutes,
        scheduled_minutes - time_off_minutes as available_minutes
    from template_days
    left join time_off_overlaps
        on template_days.provider_schedule_id = time_off_overlaps.provider_schedule_id
        and template_days.date = time_off_overlaps.date
    group by template_days.provider_id, template_days.facility_id, template_days.date
)

select * from final
