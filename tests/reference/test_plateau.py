"""reduce_on_plateau (and torch_compat's ReduceLROnPlateau lr) against torch's ReduceLROnPlateau.

Fixed cases compare with the committed fixture (tools/fixtures/plateau.py), so
they run without torch; where torch is installed the fixture is checked against it and random
metric sequences and hyperparameters run against live torch.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import seeded_rng, torch_available, require_live
from tests.reference.plateau_cases import (assert_fixture_equals_live, cases_as_stored, load_fixture, metric_sequence, reductions,
                                   torch_lrs, zoo_kwargs)

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc

FIXTURES = load_fixture()
IDS = [c["name"] for c in FIXTURES]
NEVER_REDUCES = "seed-document-patience-3"


def zoo_scales(metrics, **kw):
    tx = zoo.reduce_on_plateau(**kw)

    def step(state, m):
        _, state = tx.update({"w": jnp.ones(())}, state, value=m)
        return state, state.scale

    _, scales = jax.jit(lambda ms: jax.lax.scan(step, tx.init({"w": jnp.ones(())}), ms))(jnp.asarray(metrics))
    return np.asarray(scales)


def torch_compat_hyperparams(metrics, base_lr, **kw):
    """``current_hyperparams`` of a torch_compat SGD with a ReduceLROnPlateau lr after each ``value=``."""
    tx = tc.SGD(lr=tc.lr_scheduler.ReduceLROnPlateau(base_lr, **kw), momentum=0.9)
    params = {"w": jnp.ones(3), "b": jnp.ones(())}

    def step(state, m):
        _, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params, value=m)
        hp = zoo.current_hyperparams(state)
        return state, (hp["lr"], hp["plateau_scale"])

    _, (lr, scale) = jax.jit(lambda ms: jax.lax.scan(step, tx.init(params), ms))(jnp.asarray(metrics))
    return np.asarray(lr), np.asarray(scale)


def reference_lrs(case):
    """torch's lrs for a fixture case: live torch where installed, else the fixture."""
    if torch_available():
        return torch_lrs(case["metrics"], case["base_lr"], **case["kwargs"])
    return np.asarray(case["torch_lr"])


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
def test_fixed_cases_match_torch(case):
    got = zoo_scales(case["metrics"], **zoo_kwargs(case["base_lr"], case["kwargs"])) * case["base_lr"]
    np.testing.assert_allclose(got, case["torch_lr"], rtol=1e-12)


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
def test_committed_fixtures_still_equal_live_torch(case):
    """The fixture is what machines without torch compare against: it must not rot."""
    assert_fixture_equals_live(case)


def test_fixture_cases_are_the_generator_cases():
    assert [{k: v for k, v in c.items() if k != "torch_lr"} for c in FIXTURES] == cases_as_stored()


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
def test_fixed_cases_reduce_at_least_twice(case):
    """A case that never reduces would test little; the seed document's case is about that."""
    n = reductions(case["base_lr"], case["torch_lr"])
    assert n == 0 if case["name"] == NEVER_REDUCES else n >= 2, (case["name"], n)


@pytest.mark.parametrize("case", [c for c in FIXTURES if c["name"] != NEVER_REDUCES], ids=[i for i in IDS if i != NEVER_REDUCES])
def test_current_hyperparams_of_a_torch_compat_plateau_lr_are_torchs_lr(case):
    """After each value: ``lr`` is torch's ``param_groups[0]['lr']``, ``plateau_scale`` that over the initial lr."""
    want = reference_lrs(case)
    lr, scale = torch_compat_hyperparams(case["metrics"], case["base_lr"], **case["kwargs"])
    np.testing.assert_allclose(lr, want, rtol=1e-12)
    np.testing.assert_allclose(scale * case["base_lr"], want, rtol=1e-12)


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("draw", range(3))
def test_random_draws_match_live_torch(mode, sign, threshold_mode, draw, request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover the fixture")
    rng, _ = seeded_rng(request.node.name)
    base_lr = rng.uniform(0.01, 1.0)
    kw = dict(mode=mode, factor=rng.uniform(0.1, 0.9), patience=rng.randint(0, 6), threshold=rng.choice([1e-4, 1e-2, 0.1]),
              threshold_mode=threshold_mode, cooldown=rng.randint(0, 4), min_lr=rng.choice([0.0, base_lr * 0.01]), eps=1e-8)
    metrics = metric_sequence(rng, 150, sign if mode == "min" else -sign)
    want = torch_lrs(metrics, base_lr, **kw)
    print(kw, "reductions:", reductions(base_lr, want))
    got = zoo_scales(metrics, **zoo_kwargs(base_lr, kw)) * base_lr
    np.testing.assert_allclose(got, want, rtol=1e-12)
    lr, _ = torch_compat_hyperparams(metrics, base_lr, **kw)
    np.testing.assert_allclose(lr, want, rtol=1e-12)


def test_seed_document_case_never_reduces_with_patience_3():
    """The lecture's ReduceLROnPlateau table claims a reduction; torch (and we) make none."""
    (case,) = [c for c in FIXTURES if c["name"] == NEVER_REDUCES]
    assert case["kwargs"] == dict(mode="min", factor=0.5, patience=3)
    want = reference_lrs(case)
    np.testing.assert_array_equal(want, 0.1)
    got = zoo_scales(case["metrics"], mode="min", factor=0.5, patience=3) * 0.1
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_update_with_a_value_already_uses_the_new_scale_and_no_value_keeps_it():
    tx = zoo.chain(zoo.sgd(1.0), zoo.reduce_on_plateau(factor=0.5, patience=0))
    params = {"w": jnp.ones(())}
    state = tx.init(params)
    g = {"w": jnp.ones(())}
    u, state = tx.update(g, state, params, value=1.0)  # first value: an improvement
    assert float(u["w"]) == -1.0
    u, state = tx.update(g, state, params, value=2.0)  # worse: patience 0 -> reduce now
    assert float(u["w"]) == -0.5
    u, state = tx.update(g, state, params)  # no value: no plateau step
    assert float(u["w"]) == -0.5 and int(state[1].count) == 2
    assert float(zoo.current_hyperparams(state)["plateau_scale"]) == 0.5


@pytest.mark.parametrize("kwargs,arg", [(dict(factor=1.0), "factor"), (dict(mode="low"), "mode"),
                                        (dict(threshold_mode="pct"), "threshold_mode"), (dict(patience=-1), "patience"),
                                        (dict(min_scale=-0.1), "min_scale")])
def test_bad_arguments(kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.reduce_on_plateau: argument `{arg}`"):
        zoo.reduce_on_plateau(**kwargs)
