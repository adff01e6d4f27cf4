"""The queue of training runs the API fills and `cloud-hub serve` empties (real SQLite)."""

from __future__ import annotations

from cloud_hub import hubdb, training_runs


def test_one_active_run_per_model_oldest_first_and_interrupted_runs_fail(tmp_path):
    conn = hubdb.connect(tmp_path / "hub.db")
    training_runs.ensure_schema(conn)
    labor, created = training_runs.queue(conn, "labor", actor="root")
    assert created and labor["state"] == "queued" and labor["actor"] == "root"
    again, created = training_runs.queue(conn, "labor", actor="ana")
    assert not created and again["id"] == labor["id"]  # one queued or running per model
    replenishment, _ = training_runs.queue(conn, "replenishment", actor="ana")

    first = training_runs.claim_next(conn)
    assert first is not None and first["id"] == labor["id"] and first["state"] == "running"
    assert first["started_at"] is not None
    training_runs.set_progress(conn, first["id"], "exporting ONNX")
    assert training_runs.get(conn, first["id"])["progress"] == "exporting ONNX"
    result = {"version": "2026.07.01-1", "promoted": True, "reasons": ["better"]}
    training_runs.finish(conn, first["id"], result=result)
    done = training_runs.get(conn, first["id"])
    assert (done["state"], done["version"], done["promoted"]) == ("succeeded", "2026.07.01-1",
                                                                  True)  # fmt: skip
    assert done["result"] == result and done["finished_at"] is not None
    assert training_runs.queue(conn, "labor", actor="root")[1]  # ended: a new one may start

    second = training_runs.claim_next(conn)
    assert second is not None and second["id"] == replenishment["id"]
    # The hub stopped while it ran: the next start marks it failed, saying so.
    assert training_runs.fail_interrupted(conn) == 1
    failed = training_runs.get(conn, second["id"])
    assert failed["state"] == "failed" and "stopped" in failed["error"]
    listed = training_runs.list_runs(conn)
    assert [r["id"] for r in listed] == sorted((r["id"] for r in listed), reverse=True)
    assert [r["model"] for r in training_runs.list_runs(conn, model="labor")] == ["labor"] * 2
    page = training_runs.list_runs(conn, before_id=listed[0]["id"], limit=1)
    assert [r["id"] for r in page] == [listed[1]["id"]]
    conn.close()
