-- Rates over whole periods (here: each facility's full history and each month) lie in [0, 1]:
-- the KPI numerators are subsets of their denominators when summed, not just day by day.
with

periods as (
    select
        facility_id,
        toStartOfMonth(date) as period,
        sum(claims_clean) as clean, sum(claims_first_submitted) as submitted,
        sum(claims_initially_denied) as denied, sum(claims_first_pass_paid) as first_pass,
        sum(claims_first_adjudicated) as adjudicated,
        sum(charges_initially_denied) as denied_charges, sum(charges_first_adjudicated) as adjudicated_charges,
        sum(appointments_no_show) as no_shows,
        sum(appointments_completed + appointments_checked_in + appointments_no_show) as kept_or_missed
    from {{ ref('fct_kpi_daily') }}
    group by grouping sets ((facility_id, toStartOfMonth(date)), (facility_id))
)

select *
from periods
where (submitted > 0 and clean / submitted not between 0 and 1)
   or (adjudicated > 0 and (denied / adjudicated not between 0 and 1 or first_pass / adjudicated not between 0 and 1))
   or (adjudicated_charges > 0 and denied_charges / adjudicated_charges not between 0 and 1)
   or (kept_or_missed > 0 and no_shows / kept_or_missed not between 0 and 1)
