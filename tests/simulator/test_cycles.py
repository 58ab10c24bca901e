"""The bulk writer and its loader run with the cyclic garbage collector off (sink.py, bulk.py): that
is safe only while the simulation and the rows make no reference cycles, which would otherwise
pile up for the whole seed."""

import gc
from collections import Counter
from datetime import date

from ops_api import migrations
from ops_api.db import make_engine
from pms.settings import get_settings
from simulator import engine as sim_engine
from simulator.ids import Ids
from simulator.practice import build
from simulator.scales import SCALES
from simulator.writers.bulk import BulkWriter


def test_a_bulk_seed_leaves_no_reference_cycles(tmp_path):
    url = f"sqlite:///{tmp_path}/ops.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    practice = build(SCALES["tiny"], 5, date(2025, 11, 1))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage, to be looked at
    try:
        BulkWriter(engine, Ids(5)).write(sim_engine.stream(practice, get_settings().adjustment_approval_limit))
        gc.collect()
        ours = Counter(type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith("simulator"))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        engine.dispose()
    assert not ours, f"reference cycles through {dict(ours)}: break them, or the GC must stay on"
    assert gc.isenabled()
