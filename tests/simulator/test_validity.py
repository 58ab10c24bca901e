"""Referential validity of a simulated practice: real codes, valid NPIs, balanced remittances."""

from decimal import Decimal

import simple_icd_10_cm as icd10
from sqlalchemy import func, select

from ops_api.codes import npi_problem
from ops_api.db import make_engine
from ops_api.models import (Claim, EncounterDiagnosis, EncounterLine, FeeSchedule, Provider, Remittance,
                            RemittanceAdjustment)
from simulator import catalog


def test_catalog_codes_are_billable_and_priced():
    assert catalog.validate() == []
    assert catalog.PROCEDURES["99213"].work_rvu == Decimal("1.30")
    assert catalog.PROCEDURES["99214"].work_rvu == Decimal("1.92")
    assert catalog.PROCEDURES["G0439"].work_rvu == Decimal("1.92")


def test_seeded_rows_are_valid(bulk_url):
    engine = make_engine(bulk_url)
    with engine.connect() as conn:
        codes = conn.execute(select(EncounterDiagnosis.code).distinct()).scalars().all()
        assert codes and all(icd10.is_leaf(c.replace(".", "")) for c in codes)
        assert all(npi_problem(npi) is None for npi in conn.execute(select(Provider.npi)).scalars())
        priced = set(conn.execute(select(FeeSchedule.procedure_code)).scalars())
        assert set(conn.execute(select(EncounterLine.procedure_code).distinct()).scalars()) <= priced
        # 835 balancing: every remittance's paid + adjustments equals its claim's charge.
        adjusted = (select(RemittanceAdjustment.remittance_id, func.sum(RemittanceAdjustment.amount).label("adj"))
                    .group_by(RemittanceAdjustment.remittance_id).subquery())
        rows = conn.execute(select(Remittance.paid_amount, adjusted.c.adj, Claim.total_charge)
                            .join(adjusted, adjusted.c.remittance_id == Remittance.id)
                            .join(Claim, Claim.id == Remittance.claim_id)).all()
        assert rows and all(paid + adj == total for paid, adj, total in rows)
        assert conn.execute(select(func.count()).select_from(Remittance)).scalar_one() == len(rows)
    engine.dispose()
