"""The practice simulator behind `pms seed`: years of a realistic practice's history, reproducible
from a seed, written through the ops service layer or by a bulk writer that produces the same rows.

generate  practice.py (facilities, providers, payers, staff, population) and engine.py (a discrete-event
          simulation per facility) yield a time-ordered stream of domain operations (ops.py) with every
          outcome and timestamp decided; catalog/specialties/demand/noshow/coding/billing hold the
          distributions and document them.
write     writers/service.py replays the stream through ops_api.services under the simulated clock and
          a seeded id source; writers/bulk.py derives the same rows and outbox events set-wise.
run       run.py wires a scale, a seed and a writer; cli.py is `pms seed`; live.py drives the HTTP API.
"""
