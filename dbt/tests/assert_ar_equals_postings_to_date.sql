-- A/R invariant (KPIS.md): at the end of every day D, A/R − credit balances = charges − payments −
-- adjustments posted on or before D. Recomputed straight from staging (not from the marts' ledger):
-- charges by date of service; payments by local day received; contractual adjustments (non-PR
-- adjustments of paid / partially paid answers) by local day received; approved explicit
-- adjustments by local day posted (debits and refunds add).
with

kpis as (
    select date, sum(ar_total) - sum(credit_balance) as net_receivables
    from {{ ref('fct_kpi_daily') }}
    group by date
),

facilities as (
    select * from {{ ref('stg_ops__facilities') }}
),

postings as (
    select encounters.date_of_service as posted_date, lines.charge_amount as amount
    from {{ ref('stg_ops__encounter_lines') }} as lines
    inner join {{ ref('stg_ops__encounters') }} as encounters on lines.encounter_id = encounters.encounter_id

    union all

    select {{ local_date('payments.received_at', 'facilities.timezone') }}, -payments.amount
    from {{ ref('stg_ops__payments') }} as payments
    inner join facilities on payments.facility_id = facilities.facility_id

    union all

    select {{ local_date('remittances.received_at', 'facilities.timezone') }}, -adjustments.amount
    from {{ ref('stg_ops__remittance_adjustments') }} as adjustments
    inner join {{ ref('stg_ops__remittances') }} as remittances on adjustments.remittance_id = remittances.remittance_id
    inner join {{ ref('stg_ops__claims') }} as claims on remittances.claim_id = claims.claim_id
    inner join facilities on claims.facility_id = facilities.facility_id
    where adjustments.carc_group_code != 'PR'
      and remittances.remittance_claim_status in ('paid', 'partially_paid')

    union all

    select
        {{ local_date('adjustments.posted_at', 'facilities.timezone') }},
        if(adjustments.adjustment_kind in ('debit', 'refund'), adjustments.amount, -adjustments.amount)
    from {{ ref('stg_ops__adjustments') }} as adjustments
    inner join facilities on adjustments.facility_id = facilities.facility_id
    where adjustments.adjustment_status = 'approved' and adjustments.posted_at is not null
),

daily_postings as (
    select posted_date, sum(amount) as amount
    from postings
    group by posted_date
),

cumulative as (
    select
        1 as join_key,
        posted_date,
        sum(amount) over (order by posted_date rows between unbounded preceding and current row) as postings_to_date
    from daily_postings
),

compared as (
    select
        kpis.date as date,
        kpis.net_receivables as net_receivables,
        coalesce(cumulative.postings_to_date, 0) as postings_to_date
    from (select 1 as join_key, * from kpis) as kpis
    asof left join cumulative
        on kpis.join_key = cumulative.join_key
        and kpis.date >= cumulative.posted_date
)

select *
from compared
where net_receivables != postings_to_date
