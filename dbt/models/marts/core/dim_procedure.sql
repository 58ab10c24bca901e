-- Procedure codes (CPT / HCPCS) with the fee schedule in force on the build date; codes billed but
-- missing from the fee schedule appear with no fee.
{{ config(order_by='procedure_code') }}

with

fee_schedule as (
    select * from {{ ref('stg_ops__fee_schedule') }}
),

encounter_lines as (
    select * from {{ ref('stg_ops__encounter_lines') }}
),

codes as (
    select procedure_code from fee_schedule
    union distinct
    select procedure_code from encounter_lines
),

current_fees as (
    select
        procedure_code,
        argMax(procedure_description, effective_from) as procedure_description,
        argMax(charge_amount, effective_from) as charge_amount,
        argMax(work_rvu, effective_from) as work_rvu,
        max(effective_from) as effective_from,
        count() as fee_versions
    from fee_schedule
    where effective_from <= {{ as_of_date() }}
    group by procedure_code
),

final as (
    select
        codes.procedure_code as procedure_code,
        coalesce(current_fees.procedure_description, '(not in fee schedule)') as procedure_description,
        current_fees.charge_amount as charge_amount,
        current_fees.work_rvu as work_rvu,
        current_fees.effective_from as effective_from,
        coalesce(current_fees.fee_versions, 0) as fee_versions,
        multiIf(
            match(codes.procedure_code, '^[0-9]{5}$'), 'CPT',
            match(codes.procedure_code, '^[0-9]{4}[FT]$'), 'CPT (category II/III)',
            'HCPCS'
        ) as code_system
    from codes
    left join current_fees on codes.procedure_code = current_fees.procedure_code
)

select * from final
