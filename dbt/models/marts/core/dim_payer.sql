-- Payers, plus the "(self-pay / none)" member for visits and money with no insurer.
{{ config(order_by='payer_id') }}

with

payers as (
    select * from {{ ref('stg_ops__payers') }}
),

known as (
    select
        payer_id,
        payer_name,
        edi_payer_id,
        payer_kind,
        toUInt8(payer_kind != 'self_pay') as is_insurance
    from payers
),

unknown as (
    select
        {{ unknown_key() }} as payer_id,
        '(self-pay / none)' as payer_name,
        cast(null as Nullable(String)) as edi_payer_id,
        'self_pay' as payer_kind,
        toUInt8(0) as is_insurance
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
