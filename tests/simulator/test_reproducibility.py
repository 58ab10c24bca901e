"""The same seed gives the same data, id for id; another seed gives other data."""

from tests.simulator.conftest import dumped, seed_sqlite


def test_same_seed_same_dump_and_other_seed_other_dump(tmp_path, low_limit):
    first = dumped(seed_sqlite(tmp_path / "a.db"))
    again = dumped(seed_sqlite(tmp_path / "b.db"))
    other = dumped(seed_sqlite(tmp_path / "c.db", seed=2))
    assert first == again
    assert first["outbox"] and first["appointments"]
    assert first["patients"] != other["patients"]
    assert first["appointments"] != other["appointments"]
    assert {row[0] for row in first["appointments"]}.isdisjoint({row[0] for row in other["appointments"]})
