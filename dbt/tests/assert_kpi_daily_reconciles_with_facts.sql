-- fct_kpi_daily adds up to the facts it summarises (through the build date): payments, claim
-- submissions and first adjudications, appointments, visits.
{% set as_of %}{{ as_of_date() }}{% endset %}

with

kpis as (
    select
        sum(payments_received) as payments,
        sum(claims_first_submitted) as submitted,
        sum(claims_first_adjudicated) as adjudicated,
        sum(appointments_scheduled) as appointments,
        sum(visits) as visits
    from {{ ref('fct_kpi_daily') }}
),

facts as (
    select
        (select sum(amount) from {{ ref('fct_payments') }} where received_date <= {{ as_of }}) as payments,
        (select count() from {{ ref('fct_claims') }} where first_submitted_date <= {{ as_of }}) as submitted,
        (select count() from {{ ref('fct_claims') }} where first_adjudicated_date <= {{ as_of }}) as adjudicated,
        (select count() from {{ ref('fct_appointments') }} where start_date <= {{ as_of }}) as appointments,
        (select sum(visits) from {{ ref('fct_provider_productivity') }}) as visits
)

select kpis.*, facts.*
from kpis
cross join facts
where kpis.payments != coalesce(facts.payments, 0)
   or kpis.submitted != facts.submitted
   or kpis.adjudicated != facts.adjudicated
   or kpis.appointments != facts.appointments
   or kpis.visits != coalesce(facts.visits, 0)
