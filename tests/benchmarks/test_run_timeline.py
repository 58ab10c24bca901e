"""The benchmark's account of a dbt run's wall time: the start-up before the first node and the chain of
models that ends last, read from dbt's own run_results.json and manifest.json."""

from datetime import UTC, datetime, timedelta

from benchmarks.large_bench import run_timeline

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    """A time as run_results.json writes it (UTC, with a Z)."""
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _result(unique_id: str, start: float, end: float) -> dict:
    return {"unique_id": unique_id, "timing": [
        {"name": "compile", "started_at": _at(start), "completed_at": _at(start)},
        {"name": "execute", "started_at": _at(start), "completed_at": _at(end)}]}


def test_the_chain_follows_the_input_that_finished_last():
    # stg_a and stg_b feed int_x; stg_b finishes later, so it is on the path. dim_y runs beside int_x
    # and finishes earlier than the fact; the fact waits on int_x.
    results = [_result("model.p.stg_a", 3.0, 4.0), _result("model.p.stg_b", 3.0, 5.5),
               _result("model.p.int_x", 5.5, 8.0), _result("model.p.dim_y", 5.6, 6.0),
               _result("model.p.fct_z", 8.0, 9.5), {"unique_id": "model.p.skipped", "timing": []}]
    manifest = {"nodes": {"model.p.int_x": {"depends_on": {"nodes": ["model.p.stg_a", "model.p.stg_b"]}},
                          "model.p.dim_y": {"depends_on": {"nodes": ["model.p.stg_a"]}},
                          "model.p.fct_z": {"depends_on": {"nodes": ["model.p.int_x", "model.p.dim_y",
                                                                     "source.p.raw.t"]}}}}

    timeline = run_timeline(results, manifest, T0)

    assert timeline["start_s"] == 3.0
    assert list(timeline["critical_path"]) == ["stg_b", "int_x", "fct_z"]
    assert timeline["critical_path"] == {"stg_b": 2.5, "int_x": 2.5, "fct_z": 1.5}


def test_a_run_that_ran_no_node_has_no_timeline():
    assert run_timeline([{"unique_id": "model.p.a", "timing": []}], {"nodes": {}}, T0) == {}
