{{ config(order_by='payer_id', unique_key='payer_id') }}

with

source as (
    {{ live_rows('payers') }}
),

renamed as (
    select
        id as payer_id,
        name as payer_name,
        edi_payer_id,
        cast(kind as String) as payer_kind,
        _replicated_at
    from source
)

select * from renamed
