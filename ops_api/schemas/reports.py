"""The KPI report (GET /reports/kpis): period sums of marts.fct_kpi_daily and the KPIS.md rates."""

import uuid
from datetime import date

from pydantic import BaseModel, Field

from ops_api.schemas.common import Money


class KpiSums(BaseModel):
    """fct_kpi_daily's columns under their own names: flows summed over the period, snapshots as of `as_of`."""

    # snapshots (end of `as_of`)
    ar_total: Money
    ar_0_30: Money
    ar_31_60: Money
    ar_61_90: Money
    ar_91_120: Money
    ar_over_120: Money
    ar_insurance: Money
    ar_patient: Money
    credit_balance: Money
    # flows over the period
    gross_charges: Money
    contractual_adjustments: Money
    payments_received: Money
    payments_insurance: Money
    payments_patient: Money
    claims_first_submitted: int
    claims_clean: int
    claims_first_adjudicated: int
    claims_initially_denied: int
    claims_first_pass_paid: int
    charges_first_adjudicated: Money
    charges_initially_denied: Money
    appointments_scheduled: int
    appointments_completed: int
    appointments_checked_in: int
    appointments_no_show: int
    appointments_cancelled: int
    appointments_late_cancelled: int
    visits: int
    wrvus: Money


class KpiRates(BaseModel):
    """Ratios of the sums (never averages of daily rates); null when the denominator is zero."""

    days_in_ar: float | None = Field(description="ar_total ÷ (gross charges of the 90 days ending as_of ÷ 90)")
    clean_claim_rate: float | None = Field(description="claims_clean ÷ claims_first_submitted")
    denial_rate_count: float | None = Field(description="claims_initially_denied ÷ claims_first_adjudicated")
    denial_rate_amount: float | None = Field(description="charges_initially_denied ÷ charges_first_adjudicated")
    first_pass_resolution_rate: float | None = Field(description="claims_first_pass_paid ÷ claims_first_adjudicated")
    gross_collection_rate: float | None = Field(description="payments_received ÷ gross_charges")
    net_collection_rate: float | None = Field(
        description="payments_received ÷ (gross_charges − contractual_adjustments)")
    net_collection_rate_provisional: bool = Field(
        description="true until the period ended at least 120 days ago (KPIS.md)")
    no_show_rate: float | None = Field(
        description="appointments_no_show ÷ (completed + checked_in + no_show)")
    late_cancel_rate: float | None = Field(
        description="appointments_late_cancelled ÷ (completed + checked_in + no_show + late_cancelled)")
    pct_ar_over_90: float | None = Field(description="(ar_91_120 + ar_over_120) ÷ ar_total")
    pct_ar_over_120: float | None = Field(description="ar_over_120 ÷ ar_total")


class KpiReport(BaseModel):
    date_from: date
    date_to: date
    facility_id: uuid.UUID | None = Field(description="null: every facility the caller may see")
    as_of: date | None = Field(description="Day of the A/R snapshots: the last built day on or before date_to "
                                           "(null when the marts hold no day in range)")
    sums: KpiSums
    rates: KpiRates
