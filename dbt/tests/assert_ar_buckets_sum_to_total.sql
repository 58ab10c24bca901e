-- A/R invariant: on every day and facility the aging buckets add up to the total, and so do the
-- two responsibilities (exact to the cent).
select
    date,
    facility_id,
    ar_total,
    ar_0_30 + ar_31_60 + ar_61_90 + ar_91_120 + ar_over_120 as sum_of_buckets,
    ar_insurance + ar_patient as sum_of_responsibilities
from {{ ref('fct_kpi_daily') }}
where ar_total != ar_0_30 + ar_31_60 + ar_61_90 + ar_91_120 + ar_over_120
   or ar_total != ar_insurance + ar_patient
