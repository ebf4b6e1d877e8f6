"""The benchmark harness runs end to end at toy sizes and writes a well-formed table and JSON.

No timing is asserted: only that every figure is there, finite and positive.
"""

from __future__ import annotations

import json
import math

from benchmarks import run as bench


def test_harness_writes_table_and_json(tmp_path, capsys):
    assert bench.main(["--toy", "--only", "W1,W2,W4,W5", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "bench.json").read_text())
    md = (tmp_path / "bench.md").read_text()
    assert capsys.readouterr().out.strip() == md.strip()
    assert len(res["bandwidth"]) == 2 and all(b["bytes_per_s"] > 0 for b in res["bandwidth"])
    cases = {r["case"] for r in res["steps"]}
    assert cases >= {"AdamW, 1 leaf", "AdamW bf16 moments, 1 leaf"}
    # W2 also times the host floor of both layouts: a donated step that does nothing.
    assert cases >= {"AdamW, 8 leaves [no-op step]", "AdamW, 8 leaves [no-op step, packed]"}
    assert cases >= {"AdamW, 8 leaves, grads in the step", "AdamW, 8 leaves, grads in the step [packed params, in place]"}
    # packed_apply's in-place kernel (on by default), side by side with the same contender on the
    # pure-JAX path; zoo.packed's update kernel is off by default.
    from jaxopt_zoo import _kernels

    by_case = {r["case"]: r for r in res["steps"]}
    with bench._kernels_off(False):  # every contender traced with the library's defaults, "no kernel" ones off
        built = _kernels.available("adam_apply")
    assert built  # the machines the suite runs on have g++
    assert not by_case["AdamW, 1 leaf [packed]"]["kernel"]
    assert by_case["AdamW, 1 leaf [packed params, in place]"]["kernel"] is built
    assert by_case["AdamW, 8 leaves [packed params, in place, leaf grads]"]["kernel"] is built
    assert not by_case["AdamW, 1 leaf [packed params, in place, no kernel]"]["kernel"]
    assert not by_case["AdamW, 1 leaf"]["kernel"]
    for r in res["steps"]:
        for key in ("zoo_ms", "optax_ms", "floor_ms", "zoo_of_floor", "zoo_compile_s", "optax_compile_s"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r)
        assert f"| {r['workload']} | {r['case']} |" in md
        assert isinstance(r["same_program_as_optax"], bool)
    # One leaf of AdamW: the zoo compiles to optax's very program (see README, performance).
    assert next(r for r in res["steps"] if r["case"] == "AdamW, 1 leaf")["same_program_as_optax"]
    assert [r["leaves"] for r in res["compile"] if r["case"].startswith("AdamW")] == [2, 4]
    assert all(r["zoo_compile_s"] > 0 and r["optax_compile_s"] > 0 for r in res["compile"])
    assert {r["lib"] for r in res["memory"]} >= {"zoo", "optax"}
    for r in res["memory"]:
        assert r["live_bytes"] > 0 and r["peak_bytes"] >= r["live_bytes"]
        assert f"| W5 | {r['lib']}, " in md


def test_train_step_variants_compute_the_same_step():
    """The "grads in the step" contenders differ in layout only: one AdamW step from the
    same params gives the same params with per-leaf params, ``zoo.packed`` and packed params."""
    import jax
    import numpy as np

    import jaxopt_zoo as zoo
    from benchmarks import workloads

    params = workloads.make_tree(5, (7, 3))
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
    tx = zoo.adamw(1e-2, weight_decay=1e-3)
    plain = bench._with_grads_from_loss(bench._step(tx, zoo))
    want, _ = jax.jit(plain)(params, tx.init(params), {})
    ptx = zoo.packed(tx)
    got_packed, _ = jax.jit(bench._with_grads_from_loss(bench._step(ptx, zoo)))(params, ptx.init(params), {})
    flat = zoo.pack_tree(params, chunk_size=None)
    flat_step = bench._with_grads_from_loss(bench._step(tx, zoo), like)
    got_flat, _ = jax.jit(flat_step)(flat, tx.init(flat), {})
    got_flat = zoo.unpack_tree(got_flat, like, chunk_size=None)
    got_leaf, _ = jax.jit(bench._leaf_grads_step(tx, zoo, like, True))(flat, tx.init(flat), {})
    got_leaf = zoo.unpack_tree(got_leaf, like, chunk_size=None)
    for got in (got_packed, got_flat, got_leaf):
        for k in params:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-7)
            assert not np.allclose(got[k], params[k])  # the step moved every leaf


def test_muon_row_runs_at_toy_size():
    """W7: zoo.muon against optax.contrib.muon on the transformer-like tree (no timing asserted)."""
    from benchmarks import workloads

    res = bench.run(workloads.Sizes.toy(), only={"W7"}, log=lambda *a: None)
    (row,) = res["steps"]
    assert row["workload"] == "W7" and row["optimizer"] == "muon" and row["leaves"] == 2 * 10 + 2
    for key in ("zoo_ms", "optax_ms", "zoo_compile_s", "optax_compile_s"):
        assert math.isfinite(row[key]) and row[key] > 0, (key, row)


def test_soap_shampoo_rows_against_pytorch_optimizer_run_at_toy_size():
    """W8: zoo.soap / zoo.shampoo against pytorch_optimizer's, step time and state bytes (no timing
    asserted); the state counts match torch's up to the zoo's step counters."""
    from benchmarks import vs_torch, workloads

    res = bench.run(workloads.Sizes.toy(), only={"W8"}, log=lambda *a: None)
    assert res["torch_skipped"] is None and not res["steps"]
    assert [r["optimizer"] for r in res["torch"]] == ["SOAP", "Shampoo", "Shampoo"]
    for r in res["torch"]:
        for key in ("zoo_ms", "torch_ms", "zoo_over_torch", "zoo_compile_s"):
            assert math.isfinite(r[key]) and r[key] > 0, (key, r)
        assert r["steps_per_block"] % r["period"] == 0  # whole preconditioning periods per block
        assert 1 < r["torch_state_over_params"] <= r["zoo_state_over_params"]
        assert r["zoo_state_bytes"] - r["torch_state_bytes"] <= 16  # the zoo's int32 counters
    md = "\n".join(vs_torch.markdown(res))
    assert md.count("| W8 | ") == 3


def test_soap_shampoo_rows_skip_without_torch(monkeypatch):
    import sys

    from benchmarks import workloads

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    logged = []
    res = bench.run(workloads.Sizes.toy(), only={"W8"}, log=logged.append)
    assert res["torch"] == [] and "W8 skipped: torch" in res["torch_skipped"]
    assert any("W8 skipped" in s for s in logged) and "W8 skipped: torch" in bench.markdown(res)
