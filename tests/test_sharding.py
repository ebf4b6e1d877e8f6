"""Scale-out on 8 simulated CPU devices (checks in tests/sharding_checks.py).

``--xla_force_host_platform_device_count=8`` must be set before jax is first imported, so
the checks run once in a subprocess (the rest of the suite keeps its single device and
its compile caches). Each check is reported here as its own test:

* ``state_sharded_like_params:<name>`` — after ``jit(init)`` and two donated jitted steps
  with params ``NamedSharding``-ed over a ``Mesh`` (one leaf split along axis 0, one along
  axis 1, one replicated), every state leaf shaped like a param has that param's sharding,
  for every catalogued optimizer and the wrappers;
* ``adafactor_factored_leaves_sharded`` — the factored statistic along a sharded axis is
  sharded, not replicated;
* ``adafactor_state_type_stable_under_explicit_sharding`` — under explicit sharding the
  state from ``init`` (plain and jitted) has the type ``update`` gives it;
* ``sharded_equals_unsharded:<name>`` — global reductions (clip_by_global_norm, lars, lamb,
  record_norms, adafactor, adai) and muon's Newton-Schulz on sharded matrices give the
  single-device result to 1e-12 in float64;
* ``f32_sharded_equals_unsharded:<name>`` — soap, shampoo (both with ``spread=``) and kron
  on the sharded params in float32 equal the single-device run to float32 rounding; with
  ``spread`` the factor matrices are replicated;
* ``spread_equals_unspread:<name>`` — soap, shampoo and muon with ``spread=mesh`` on 8 equal
  layers (kron on 4) give the unspread result (soap, shampoo and kron bit for bit, muon to
  float32 rounding), and the compiled per-device program runs 1/8 of the
  eigh/QR/SVD/Newton-Schulz matrices / kron's triangular factor steps;
* ``packed_apply_per_shard:<name>`` — ``packed_apply`` with its in-place kernels on (``JAXOPT_ZOO_KERNELS=1``)
  and packed float32 buffers sharded over the mesh runs one kernel per device on its shards
  (no gather; ``explicit_adamw``: under explicit sharding), donated, keeps the sharding, equals update + apply_updates on the sharded buffers
  to float32 rounding and, without clipping, the unsharded kernel bit for bit (with clipping
  the norm is a sum over shards in another order; the difference is recorded in the notes);
* ``data_parallel:pmap_pmean`` / ``data_parallel:shard_map_pmean`` — a data-parallel step
  with ``lax.pmean`` over the data axis equals the single-device full-batch step.
"""

import json
from pathlib import Path

import pytest

import jaxopt_zoo
from jaxopt_zoo import _registry
from tests._subprocess import run_python
from tests.reference.harness import int_args
from tests.conftest import SUITE_XLA_FLAGS

# One worker runs this whole module (the root conftest.py's ONE_WORKER; xdist's own xdist_group
# mark is ignored under pytest 9), so the minute-long subprocess behind the ``report`` fixture
# runs once, not once per worker.

SCRIPT = Path(__file__).with_name("sharding_checks.py")
EXPECTED = (
    [f"state_sharded_like_params:{n}" for n in sorted(_registry.OPTIMIZERS)]
    + [f"state_sharded_like_params:{n}" for n in ("MultiSteps", "apply_if_finite", "inject_hyperparams", "record_norms", "reduce_on_plateau")]
    + ["adafactor_factored_leaves_sharded", "adafactor_state_type_stable_under_explicit_sharding"]
    + [f"sharded_equals_unsharded:{n}" for n in ("clip_by_global_norm", "lars", "lamb", "record_norms", "adafactor", "adai", "muon")]
    + [f"f32_sharded_equals_unsharded:{n}" for n in ("soap", "shampoo", "kron")]
    + [f"spread_equals_unspread:{n}" for n in ("soap", "shampoo", "muon", "kron")]
    + [f"packed_apply_per_shard:{n}" for n in ("adamw", "clip_adamw", "amsgrad", "inject_sgd_nesterov", "clip_rmsprop_centered_momentum",
                                                    "explicit_adamw")]
    + ["data_parallel:pmap_pmean", "data_parallel:shard_map_pmean"]
)


@pytest.fixture(scope="module")
def report():
    # the suite's flags as it started (the script adds the device count; in-process tests may have set one)
    proc = run_python([str(SCRIPT)], xla_flags=SUITE_XLA_FLAGS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("check", EXPECTED)
def test_sharding(report, check):
    assert check in report["results"], f"{check} did not run"
    assert report["results"][check] == "ok", report["results"][check]


def test_no_unexpected_checks(report):
    assert set(report["results"]) == set(EXPECTED)


@pytest.mark.parametrize("make", [
    lambda **kw: jaxopt_zoo.soap(**kw), lambda **kw: jaxopt_zoo.scale_by_soap(**kw),
    lambda **kw: jaxopt_zoo.shampoo(**kw), lambda **kw: jaxopt_zoo.scale_by_shampoo(**kw),
    lambda **kw: jaxopt_zoo.muon(0.1, **kw), lambda **kw: jaxopt_zoo.scale_by_muon(**kw),
    lambda **kw: jaxopt_zoo.kron(**kw), lambda **kw: jaxopt_zoo.scale_by_kron(**kw),
])
def test_spread_rejects_what_is_not_a_mesh_axis(make):
    import jax
    from jax.sharding import Mesh

    mesh = Mesh(jax.devices()[:1], ("data",))
    make(spread=mesh), make(spread=(mesh, "data"))  # accepted
    for bad in ("data", (mesh, "model"), (mesh, ())):
        with pytest.raises(ValueError, match="argument `spread`"):
            make(spread=bad)


@pytest.mark.parametrize("name", ["soap", "shampoo", "kron", "muon"])
def test_spread_under_inject_hyperparams_is_static(name):
    """A Mesh is callable (a context decorator): inject_hyperparams must not take it for a schedule."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import Mesh

    mesh = Mesh(jax.devices()[:1], ("data",))
    factory, kwargs = getattr(jaxopt_zoo, name), dict(learning_rate=0.1, spread=mesh)
    tx = jaxopt_zoo.inject_hyperparams(factory, static_args=int_args(factory, kwargs))(**kwargs)
    params = {"w": jnp.ones((4, 3)), "b": jnp.ones(3)}
    state = tx.init(params)
    updates, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
    assert jax.tree.structure(updates) == jax.tree.structure(params)
    assert set(state.hyperparams) >= {"learning_rate"} and "spread" not in state.hyperparams
