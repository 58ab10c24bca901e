-- A claim, its encounter and the payments and adjustments posted on it belong to one patient
-- (ops_api refuses the others). int_ar_transactions relies on it: an incremental run recomputes a
-- patient from that patient's rows of every input.
select 'claim' as kind, claims.claim_id as id
from {{ ref('stg_ops__claims') }} as claims
inner join {{ ref('stg_ops__encounters') }} as encounters on claims.encounter_id = encounters.encounter_id
where claims.patient_id != encounters.patient_id

union all

select 'payment', payments.payment_id
from {{ ref('stg_ops__payments') }} as payments
inner join {{ ref('stg_ops__claims') }} as claims on payments.claim_id = claims.claim_id
where payments.patient_id != claims.patient_id

union all

select 'adjustment', adjustments.adjustment_id
from {{ ref('stg_ops__adjustments') }} as adjustments
inner join {{ ref('stg_ops__claims') }} as claims on adjustments.claim_id = claims.claim_id
where adjustments.patient_id != claims.patient_id
