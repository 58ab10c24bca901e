{{ config(order_by='provider_schedule_id', unique_key='provider_schedule_id') }}

with

source as (
    {{ live_rows('provider_schedules') }}
),

renamed as (
    select
        id as provider_schedule_id,
        provider_id,
        facility_id,
        toUInt8(weekday) as weekday,
        start_time,
        end_time,
        -- 'HH:MM[:SS]' → minutes after local midnight
        toInt32(splitByChar(':', start_time)[1]) * 60 + toInt32(splitByChar(':', start_time)[2]) as start_minute,
        toInt32(splitByChar(':', end_time)[1]) * 60 + toInt32(splitByChar(':', end_time)[2]) as end_minute,
        toDate(effective_from) as effective_from,
        toDate(effective_to) as effective_to,
        _replicated_at
    from source
)

select * from renamed
