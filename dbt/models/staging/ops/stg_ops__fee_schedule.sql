{{ config(order_by='fee_schedule_id', unique_key='fee_schedule_id') }}

with

source as (
    {{ live_rows('fee_schedule') }}
),

renamed as (
    select
        id as fee_schedule_id,
        procedure_code,
        description as procedure_description,
        charge_amount,
        cast(work_rvu as Decimal(18, 2)) as work_rvu,
        toDate(effective_from) as effective_from,
        _replicated_at
    from source
)

select * from renamed
