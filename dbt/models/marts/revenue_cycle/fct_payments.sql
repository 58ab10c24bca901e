-- One row per payment received (insurance or patient), on the facility-local day it was received.
-- Incremental: the months changed payments (or payments on changed claims) are in are recomputed whole
-- from the payments of those months only.
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(received_date)',
        order_by='(facility_id, received_date, payment_id)',
        on_schema_change='ignore',
        pre_hook="{{ stage_changed_keys('payment_id', changed_payment_ids(), delete_rows=false) }}",
        post_hook="{{ drop_emptied_partitions('payment_id', 'toYYYYMM(received_date)') }}"
    )
}}

with

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

{% if is_incremental() -%}
-- The months changed payments are received in now and were at the last build.
affected_months as (
    select toYYYYMM({{ local_date('payments.received_at', "coalesce(facilities.timezone, 'UTC')") }}) as month
    from {{ ref('stg_ops__payments') }} as payments
    left join facilities on payments.facility_id = facilities.facility_id
    where {{ keyed_by('payments.payment_id') }}
    union distinct
    select toYYYYMM(received_date) as month
    from {{ this }}
    where {{ keyed_by('payment_id') }}
),
{%- endif %}

-- Incremental runs read only the payments whose local day can fall in an affected month (any
-- timezone is within a day of UTC) and the claims they name.
payments as (
    select * from {{ ref('stg_ops__payments') }}
    {% if is_incremental() -%}
    where toYYYYMM(toDate(received_at) - 1) in (select month from affected_months)
       or toYYYYMM(toDate(received_at) + 1) in (select month from affected_months)
    {%- endif %}
),

claims as (
    select * from {{ ref('int_claims_lifecycle') }}
    {% if is_incremental() -%}
    where claim_id in (select claim_id from payments where claim_id is not null)
    {%- endif %}
),

enriched as (
    select
        payments.payment_id as payment_id,
        payments.patient_id as patient_id,
        payments.facility_id as facility_id,
        payments.claim_id as claim_id,
        claims.encounter_id as encounter_id,
        coalesce(claims.provider_id, {{ unknown_key() }}) as provider_id,
        coalesce(payments.payer_id, {{ unknown_key() }}) as payer_id,
        payments.remittance_id as remittance_id,
        payments.payment_source as payment_source,
        payments.payment_method as payment_method,
        payments.amount as amount,
        payments.received_at as received_at,
        {{ local_date('payments.received_at', "coalesce(facilities.timezone, 'UTC')") }} as received_date,
        claims.date_of_service as date_of_service
    from payments
    left join claims on payments.claim_id = claims.claim_id
    left join facilities on payments.facility_id = facilities.facility_id
),

final as (
    select
        payment_id,
        received_date,
        received_at,
        facility_id,
        patient_id,
        claim_id,
        encounter_id,
        provider_id,
        payer_id,
        remittance_id,
        payment_source,
        payment_method,
        amount,
        toUInt8(claim_id is not null) as is_applied,
        date_of_service,
        toInt32(received_date - date_of_service) as days_from_service,
        {{ reflected_through() }} as _source_watermark
    from enriched
    {% if is_incremental() -%}
    where toYYYYMM(received_date) in (select month from affected_months)
    {%- endif %}
)

select * from final
