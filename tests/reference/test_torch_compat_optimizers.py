"""torch_compat optimizers against live torch.optim: random hyperparameters with every flag
crossed (float64, 1e-10), torch's signatures, bad arguments."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import require_live, seeded_rng, x64_is_off
from tests.reference.torch_compat_cases import (FLAGS, OPTIMIZERS, assert_equals_torch, draw, flag_combinations, torch_available,
                                torch_runs, zoo_run)

from jaxopt_zoo import torch_compat as tc

CROSSED = [(name, flags) for name in FLAGS for flags in flag_combinations(name)]


@pytest.mark.parametrize("name,flags", CROSSED, ids=[f"{n}-" + "-".join(f"{k}={v}" for k, v in f.items()) for n, f in CROSSED])
def test_random_hyperparameters_equal_torch(name, flags, request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover the fixtures")
    rng, _ = seeded_rng(request.node.name)
    kwargs = draw(name, flags, rng)
    print(name, kwargs)
    assert_equals_torch(zoo_run(name, kwargs), torch_runs(name, kwargs, dtypes=("float64",)), "float64")


def test_the_cases_cover_every_torch_compat_optimizer():
    """The parity suites run over OPTIMIZERS: a new torch_compat optimizer must join it."""
    from jaxopt_zoo import _registry

    assert sorted(OPTIMIZERS) == sorted(_registry.TORCH_OPTIMIZERS)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_random_hyperparameters_equal_torch_in_float32(name, request):
    """JAX's default mode (x64 off): torch's float32 run to 5e-6 over 100 steps. (float32 with x64
    on is covered by the fixed cases' [float32] runs.)"""
    require_live(torch_available(), "needs live torch")
    rng, _ = seeded_rng(request.node.name)
    flags = rng.choice(flag_combinations(name))
    kwargs = draw(name, flags, rng)
    print(name, kwargs)
    with jax.enable_x64(False):
        assert x64_is_off()
        got = zoo_run(name, kwargs, dtype="float32")
    assert got["params"]["cube"].dtype == np.float32
    with jax.enable_x64(False):
        assert_equals_torch(got, torch_runs(name, kwargs, dtypes=("float32",)), "float32")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_signature_is_torchs(name):
    """Same keyword names, order, kinds and defaults as torch.optim (minus `params`)."""
    require_live(torch_available(), "needs live torch")
    import torch

    theirs = list(inspect.signature(getattr(torch.optim, name)).parameters.values())[1:]
    ours = [p for p in inspect.signature(getattr(tc, name)).parameters.values() if p.name not in ("scalar_dtype", "param_groups")]
    assert [(p.name, p.kind) for p in ours] == [(p.name, p.kind) for p in theirs]
    assert [p.default for p in ours] == [p.default for p in theirs]


def test_adamw_default_weight_decay_is_torchs_not_optaxs():
    assert inspect.signature(tc.AdamW).parameters["weight_decay"].default == 1e-2
    assert inspect.signature(tc.SGD).parameters["lr"].default == 1e-3


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_torch_only_switches_are_accepted(name):
    """foreach / fused / capturable / differentiable: accepted where torch has them, and ignored."""
    params = inspect.signature(getattr(tc, name)).parameters
    flags = {k: v for k, v in dict(foreach=True, fused=False, capturable=True, differentiable=True).items() if k in params}
    assert flags
    plain, switched = getattr(tc, name)(), getattr(tc, name)(**flags)
    p = {"w": jnp.linspace(-1.0, 1.0, 4)}
    g = {"w": jnp.linspace(0.5, -0.3, 4)}
    u1, _ = plain.update(g, plain.init(p), p)
    u2, _ = switched.update(g, switched.init(p), p)
    assert jnp.array_equal(u1["w"], u2["w"])


BAD = [
    ("SGD", dict(lr=-0.1), "lr"),
    ("SGD", dict(momentum=-0.5), "momentum"),
    ("SGD", dict(weight_decay=-1e-4), "weight_decay"),
    ("SGD", dict(nesterov=True), "nesterov"),
    ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    ("Adam", dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    ("Adam", dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    ("Adam", dict(eps=-1e-8), "eps"),
    ("AdamW", dict(weight_decay=-0.01), "weight_decay"),
    ("Adagrad", dict(lr_decay=-0.1), "lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    ("RMSprop", dict(alpha=1.5), "alpha"),
    ("Adadelta", dict(rho=1.5), "rho"),
    ("Adamax", dict(betas=(0.9,)), "betas"),
    ("NAdam", dict(momentum_decay=-1.0), "momentum_decay"),
    ("RAdam", dict(lr=float("nan")), "lr"),
    ("Rprop", dict(etas=(1.2, 0.5)), r"etas\[0\]"),
    ("Rprop", dict(step_sizes=(1.0, 0.1)), r"step_sizes\[1\]"),
    ("ASGD", dict(lambd=-1.0), "lambd"),
]


@pytest.mark.parametrize("name,kwargs,arg", BAD, ids=[f"{n}-{a}" for n, _, a in BAD])
def test_bad_arguments_raise_naming_the_argument(name, kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.torch_compat\.{name}: argument `{arg}`"):
        getattr(tc, name)(**kwargs)


# Values outside the usual ranges that torch takes (tests/test_bad_input.py exempts them from
# its bad-value walk): accepted here too, with torch's numbers.
TORCH_ACCEPTS = [
    ("SGD", dict(lr=0.01, momentum=1.02)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=-0.5)),
    ("RMSprop", dict(lr=1e-3, momentum=1.02)),
    ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=1.5)),
]


@pytest.mark.parametrize("name,kwargs", TORCH_ACCEPTS, ids=[f"{n}-{k}" for n, k in TORCH_ACCEPTS])
def test_values_torch_accepts_give_torchs_numbers(name, kwargs):
    require_live(torch_available(), "needs live torch")
    assert_equals_torch(zoo_run(name, kwargs), torch_runs(name, kwargs, dtypes=("float64",)), "float64")


def test_only_betas0_momentum_and_lr_take_schedules():
    with pytest.raises(TypeError, match=r"betas\[1\]"):
        tc.Adam(betas=(0.9, lambda t: 0.999))
    with pytest.raises(TypeError, match="weight_decay"):
        tc.SGD(weight_decay=lambda t: 1e-4)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_jit_equals_eager_traces_once_and_chains(name):
    """The protocol: one trace for many steps, jit = eager, `value=` reaches a plateau lr through zoo.chain."""
    import jax

    import jaxopt_zoo as zoo

    lr = tc.lr_scheduler.ReduceLROnPlateau(0.01, patience=0, factor=0.5)
    tx = zoo.chain(zoo.clip_by_global_norm(10.0), getattr(tc, name)(lr=lr))
    params = {"w": jnp.linspace(-1.0, 1.0, 4), "b": jnp.asarray(0.5, jnp.float64)}
    traces = []

    def update(g, s, p, value):
        traces.append(1)
        return tx.update(g, s, p, value=value)

    jitted = jax.jit(update)
    states = {"jit": tx.init(params), "eager": tx.init(params)}
    for k in range(4):
        grads = jax.tree.map(lambda x: (k + 1.0) * x + 0.1, params)  # noqa: B023
        value = jnp.asarray(1.0)  # never improves after the first: the lr halves every step
        u_jit, states["jit"] = jitted(grads, states["jit"], params, value)
        u_eager, states["eager"] = tx.update(grads, states["eager"], params, value=value)
        for a, b in zip(jax.tree.leaves(u_jit), jax.tree.leaves(u_eager)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-15)
    assert len(traces) == 1
    assert float(zoo.current_hyperparams(states["jit"])["lr"]) == pytest.approx(0.01 * 0.5**3, rel=1e-14)
