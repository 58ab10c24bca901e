-- One row per claim: billing attributes, lifecycle milestones and KPI flags, money to date.
-- Incremental: every month (of date of service) holding a claim touched by a raw change since the
-- last build is recomputed whole (late remittances, payments and status moves included).
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by='toYYYYMM(date_of_service)',
        order_by='(facility_id, date_of_service, claim_id)',
        on_schema_change='ignore',
        pre_hook="{{ stage_changed_keys('claim_id', changed_claim_ids(), delete_rows=false) }}",
        post_hook="{{ drop_emptied_partitions('claim_id', 'toYYYYMM(date_of_service)') }}"
    )
}}

with

claims as (
    select * from {{ ref('int_claims_lifecycle') }}
),

{% if is_incremental() -%}
affected_months as (
    {{ affected_months('claims', 'claim_id', 'toYYYYMM(date_of_service)') }}
),
{%- endif %}

final as (
    select
        claim_id,
        encounter_id,
        patient_id,
        facility_id,
        provider_id,
        payer_id,
        coverage_id,
        assumeNotNull(date_of_service) as date_of_service,
        claim_status,
        is_void,
        line_count,
        units,
        total_charge,
        first_submitted_at,
        first_submitted_date,
        submission_count,
        first_accepted_at,
        first_rejected_at,
        is_clean_claim,
        first_adjudicated_at,
        first_adjudicated_date,
        first_adjudication_status,
        is_initial_denial,
        is_first_pass_paid,
        adjudication_count,
        denial_count,
        first_denied_at,
        first_appealed_at,
        is_appealed,
        is_overturned,
        first_paid_at,
        first_paid_date,
        closed_at,
        voided_at,
        allowed_amount,
        contractual_adjustment,
        patient_responsibility,
        carc_co_amount,
        carc_pr_amount,
        carc_oa_amount,
        carc_pi_amount,
        carc_cr_amount,
        insurance_paid,
        patient_paid,
        net_adjustments,
        write_offs,
        claim_balance,
        first_insurance_payment_date,
        days_to_submit,
        days_to_payment,
        {{ reflected_through() }} as _source_watermark
    from claims
    {% if is_incremental() -%}
    where toYYYYMM(date_of_service) in (select month from affected_months)
    {%- endif %}
)

select * from final
