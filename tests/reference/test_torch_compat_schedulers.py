"""torch_compat.lr_scheduler against torch.optim.lr_scheduler: live torch where installed,
committed fixtures (tools/fixtures/torch_compat_schedulers.py) where not."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import require_live, seeded_rng, x64_is_off
from tests.reference.torch_compat_schedulers import (FIXED_CASES, LAMBDAS, assert_sequences_close, case, load_fixtures, make_zoo,
                                     torch_available, torch_sequence, zoo_sequence)

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc
from jaxopt_zoo.torch_compat import lr_scheduler as L

FIXTURES = load_fixtures()
PUBLIC = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
          "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
          "SequentialLR", "ChainedScheduler"]
IDS = [f"{c['name']}-{i}" for i, c in enumerate(FIXTURES)]


_ZOO = {}


def _zoo(i):
    """The schedule of fixed case ``i`` and its jit(vmap) sequence, built once (compiles are slow)."""
    if i not in _ZOO:
        s = make_zoo(FIXED_CASES[i])
        _ZOO[i] = s, zoo_sequence(FIXED_CASES[i], s)
    return _ZOO[i]


@pytest.mark.parametrize("i", range(len(FIXTURES)), ids=IDS)
def test_fixed_cases_equal_torch(i):
    """lr (and SGD momentum, Adam betas[0] for CyclicLR / OneCycleLR) at every optimizer step."""
    c = FIXTURES[i]
    reference = torch_sequence(c) if torch_available() else c["torch"]
    assert_sequences_close(_zoo(i)[1], reference)


@pytest.mark.parametrize("c", FIXTURES, ids=IDS)
def test_committed_fixtures_still_equal_live_torch(c):
    """The fixtures are what machines without torch compare against: they must not rot."""
    if not torch_available():  # nothing to compare against: the fixtures are the reference here
        assert c["torch"]["lr"]
        return
    assert_sequences_close(c["torch"], torch_sequence(c), rtol=0.0)


def test_fixture_cases_are_the_generator_cases():
    assert [{k: v for k, v in c.items() if k != "torch"} for c in FIXTURES] == FIXED_CASES


def test_every_scheduler_has_fixed_cases_with_and_without_steps_per_epoch():
    names = {c["name"] for c in FIXED_CASES}
    assert names == set(PUBLIC)
    for name in names - {"OneCycleLR"}:
        assert {c["steps_per_epoch"] > 1 for c in FIXED_CASES if c["name"] == name} == {True, False}, name


# --- random hyperparameters (live torch only) ------------------------------------------


def _member(rng, name):
    return [name, {k: v for k, v in random_kwargs(rng, name).items()}]


def random_kwargs(rng, name):
    r = rng.uniform
    if name == "LambdaLR":
        return dict(lr_lambda=rng.choice(["pow95", "inv", "warmup10"]))
    if name == "MultiplicativeLR":
        return dict(lr_lambda=rng.choice(["const99", "wave", "halve7"]))
    if name == "StepLR":
        return dict(step_size=rng.randint(1, 20), gamma=r(0.1, 0.99))
    if name == "MultiStepLR":
        return dict(milestones=sorted(rng.randint(0, 60) for _ in range(rng.randint(0, 5))), gamma=r(0.1, 0.99))
    if name == "ConstantLR":
        return dict(factor=r(0.05, 1.0), total_iters=rng.randint(1, 30))
    if name == "LinearLR":
        return dict(start_factor=r(0.01, 1.0), end_factor=r(0.0, 1.0), total_iters=rng.randint(1, 40))
    if name == "ExponentialLR":
        return dict(gamma=r(0.8, 1.0))
    if name == "PolynomialLR":
        return dict(total_iters=rng.randint(1, 60), power=r(0.0, 3.0))
    if name == "CosineAnnealingLR":
        return dict(T_max=rng.randint(1, 40), eta_min=r(0.0, 0.01))
    if name == "CosineAnnealingWarmRestarts":
        return dict(T_0=rng.randint(1, 20), T_mult=rng.randint(1, 3), eta_min=r(0.0, 0.01))
    if name == "CyclicLR":
        kw = dict(base_lr=r(1e-4, 1e-2), max_lr=r(0.02, 0.5), step_size_up=rng.randint(1, 20),
                  step_size_down=rng.choice([None, rng.randint(1, 20)]), base_momentum=r(0.5, 0.85),
                  max_momentum=r(0.86, 0.99), cycle_momentum=rng.random() < 0.8)
        if rng.random() < 0.3:
            kw.update(scale_fn=rng.choice(["inv_sqrt", "decay995"]))
            kw.update(scale_mode="cycle" if kw["scale_fn"] == "inv_sqrt" else rng.choice(["cycle", "iterations"]))
        else:
            kw.update(mode=rng.choice(["triangular", "triangular2", "exp_range"]), gamma=r(0.9, 1.0))
        return kw
    if name == "OneCycleLR":
        kw = dict(max_lr=r(0.01, 1.0), pct_start=r(0.1, 0.45), anneal_strategy=rng.choice(["cos", "linear"]),
                  div_factor=r(2, 50), final_div_factor=r(10, 1e4), three_phase=rng.random() < 0.5,
                  base_momentum=r(0.5, 0.85), max_momentum=r(0.86, 0.99))
        if rng.random() < 0.5:
            return dict(kw, total_steps=rng.randint(20, 200))
        return dict(kw, epochs=rng.randint(2, 10), steps_per_epoch=rng.randint(3, 20))
    members = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
               "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts"]
    chosen = [_member(rng, rng.choice(members)) for _ in range(rng.randint(1, 3))]
    if name == "ChainedScheduler":
        return dict(schedulers=chosen)
    return dict(schedulers=chosen, milestones=sorted(rng.randint(0, 50) for _ in chosen[1:]))


DRAWS = [(name, draw) for name in PUBLIC for draw in range(6 if name in ("SequentialLR", "ChainedScheduler") else 3)]


@pytest.mark.parametrize("name, draw", DRAWS, ids=[f"{n}-{d}" for n, d in DRAWS])
def test_random_arguments_equal_live_torch(name, draw, request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover fixtures")
    rng, _ = seeded_rng(request.node.name)
    kw = random_kwargs(rng, name)
    lr = None if name in ("CyclicLR", "OneCycleLR") else rng.uniform(0.01, 1.0)
    if name == "OneCycleLR":
        c = case(name, lr, kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"], **kw)
    else:
        c = case(name, lr, rng.randint(20, 150), every=rng.choice([1, 1, 2, 5]), **kw)
    print(c)
    assert_sequences_close(zoo_sequence(c), torch_sequence(c))


# --- tracing --------------------------------------------------------------------------


@pytest.mark.parametrize("i", range(len(FIXED_CASES)), ids=[f"{c['name']}-{i}" for i, c in enumerate(FIXED_CASES)])
def test_python_int_equals_jit_vmap_int32(i):
    """s(python int) equals jit(vmap(s)) over int32 steps, in float64 (and so does .momentum)."""
    c = FIXED_CASES[i]
    s, want = _zoo(i)
    n = c["steps"]
    steps = sorted({0, 1, 2, c["steps_per_epoch"], n // 3, n // 2, n - 1, n})
    scale = {k: float(np.max(np.abs(v))) for k, v in want.items()}
    for t in steps:
        got = {"lr": s(t)}
        if getattr(s, "momentum", None) is not None:
            got["momentum"] = s.momentum(t)
        for key, value in got.items():
            assert jnp.asarray(value).dtype == jnp.float64, (key, jnp.asarray(value).dtype)
            np.testing.assert_allclose(float(value), want[key][t], rtol=0, atol=1e-14 * scale[key], err_msg=f"{key} at {t}")


def _python_cosine_chain(n, t_max=70, eta_min=1e-3, gamma=0.999, lr=0.1):
    """torch's recursion for ChainedScheduler([CosineAnnealingLR, ExponentialLR]), in Python floats."""
    out = [lr]
    for k in range(1, n + 1):
        if (k - 1 - t_max) % (2 * t_max) == 0:
            lr = lr + (0.1 - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        else:
            lr = (1 + math.cos(math.pi * k / t_max)) / (1 + math.cos(math.pi * (k - 1) / t_max)) * (lr - eta_min) + eta_min
        lr *= gamma
        out.append(lr)
    return np.asarray(out)


def _cosine_chain(gamma=0.999):
    return L.ChainedScheduler([L.CosineAnnealingLR(0.1, T_max=70, eta_min=1e-3), L.ExponentialLR(0.1, gamma=gamma)])


@pytest.mark.parametrize("horizon", [2**20, 2048], ids=["table", "past-the-table"])
def test_fold_far_out_equals_python_recursion(horizon, monkeypatch):
    """The recursions (ChainedScheduler with a cosine, MultiplicativeLR) far past one table
    block, with the table and past its end, equal a plain Python recursion."""
    from jaxopt_zoo.torch_compat import _sched_base

    monkeypatch.setattr(_sched_base, "_HORIZON", horizon)
    t = jnp.arange(3001, dtype=jnp.int32)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(_cosine_chain()))(t)), _python_cosine_chain(3000),
                               rtol=1e-11, atol=0)
    mult = L.MultiplicativeLR(1.0, LAMBDAS["wave"][1])
    want = np.cumprod([1.0] + [LAMBDAS["wave"][0](k) for k in range(1, 3001)])
    np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(mult))(t)), want, rtol=1e-12, atol=0)
    assert mult._fold._table.shape == (horizon // 1024 + 1,)


def test_fold_with_traced_hyperparameters_has_no_table():
    @jax.jit
    def f(gamma, t):
        return _cosine_chain(gamma)(t)

    np.testing.assert_allclose(float(f(0.999, 2500)), _python_cosine_chain(2500)[-1], rtol=1e-11)


# --- driving an optimizer -------------------------------------------------------------


def _torch_training(make_sched, steps, spe, momentum=0.0):
    import torch

    p = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=momentum)
    sched = make_sched(opt)
    out = [p.detach().numpy().copy()]
    for t in range(steps):
        opt.zero_grad()
        (0.5 * (p**2 * torch.tensor([1.0, 3.0, 10.0], dtype=torch.float64)).sum()).backward()
        opt.step()
        if (t + 1) % spe == 0:
            sched.step()
        out.append(p.detach().numpy().copy())
    return np.asarray(out)


def _zoo_training(tx, steps):
    curv = jnp.asarray([1.0, 3.0, 10.0])

    @jax.jit
    def run(p):
        def step(carry, _):
            p, state = carry
            updates, state = tx.update(curv * p, state, p)
            p = zoo.apply_updates(p, updates)
            return (p, state), p

        _, ps = jax.lax.scan(step, (p, tx.init(p)), None, length=steps)
        return ps

    p0 = jnp.asarray([1.0, -2.0, 0.5])
    return np.concatenate([np.asarray(p0)[None], np.asarray(run(p0))])


def test_schedules_drive_sgd_under_jit_like_torch():
    """A per-epoch StepLR as sgd's learning_rate, and OneCycleLR as lr and momentum."""
    require_live(torch_available(), "needs live torch; the fixture cases cover the schedules themselves")
    from torch.optim import lr_scheduler as TL

    steps, spe = 60, 4
    got = _zoo_training(zoo.sgd(learning_rate=L.StepLR(0.1, step_size=3, gamma=0.5, steps_per_epoch=spe)), steps)
    want = _torch_training(lambda o: TL.StepLR(o, step_size=3, gamma=0.5), steps, spe)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    s = L.OneCycleLR(0.05, total_steps=steps, pct_start=0.25)
    got = _zoo_training(zoo.inject_hyperparams(zoo.sgd)(learning_rate=s, momentum=s.momentum), steps)
    want = _torch_training(lambda o: TL.OneCycleLR(o, max_lr=0.05, total_steps=steps, pct_start=0.25), steps, 1,
                           momentum=0.9)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


# --- bad arguments --------------------------------------------------------------------

BAD = [
    (lambda: L.StepLR(-0.1, step_size=3), "StepLR: argument `lr`"),
    (lambda: L.StepLR(zoo.constant_schedule(0.1), step_size=3), "StepLR: argument `lr`"),
    (lambda: L.StepLR(0.1, step_size=0), "StepLR: argument `step_size`"),
    (lambda: L.StepLR(0.1, step_size=2.5), "StepLR: argument `step_size`"),
    (lambda: L.StepLR(0.1, step_size=3, gamma=-1.0), "StepLR: argument `gamma`"),
    (lambda: L.StepLR(0.1, step_size=3, steps_per_epoch=0), "StepLR: argument `steps_per_epoch`"),
    (lambda: L.MultiStepLR(0.1, milestones=[30, 10]), "MultiStepLR: argument `milestones`"),
    (lambda: L.MultiStepLR(0.1, milestones=[-1, 10]), "MultiStepLR: argument `milestones`"),
    (lambda: L.LambdaLR(0.1, lr_lambda=0.5), "LambdaLR: argument `lr_lambda`"),
    (lambda: L.MultiplicativeLR(0.1, lr_lambda=None), "MultiplicativeLR: argument `lr_lambda`"),
    (lambda: L.ConstantLR(0.1, factor=1.5), "ConstantLR: argument `factor`"),
    (lambda: L.ConstantLR(0.1, factor=0.0), "ConstantLR: argument `factor`"),
    (lambda: L.ConstantLR(0.1, total_iters=0), "ConstantLR: argument `total_iters`"),
    (lambda: L.LinearLR(0.1, start_factor=0.0), "LinearLR: argument `start_factor`"),
    (lambda: L.LinearLR(0.1, end_factor=1.2), "LinearLR: argument `end_factor`"),
    (lambda: L.LinearLR(0.1, total_iters=-3), "LinearLR: argument `total_iters`"),
    (lambda: L.ExponentialLR(0.1, gamma=-0.5), "ExponentialLR: argument `gamma`"),
    (lambda: L.PolynomialLR(0.1, total_iters=0), "PolynomialLR: argument `total_iters`"),
    (lambda: L.PolynomialLR(0.1, power=-1.0), "PolynomialLR: argument `power`"),
    (lambda: L.CosineAnnealingLR(0.1, T_max=0), "CosineAnnealingLR: argument `T_max`"),
    (lambda: L.CosineAnnealingLR(0.1, T_max=10, eta_min=-1e-3), "CosineAnnealingLR: argument `eta_min`"),
    (lambda: L.CosineAnnealingWarmRestarts(0.1, T_0=0), "CosineAnnealingWarmRestarts: argument `T_0`"),
    (lambda: L.CosineAnnealingWarmRestarts(0.1, T_0=5, T_mult=0), "CosineAnnealingWarmRestarts: argument `T_mult`"),
    (lambda: L.CyclicLR(-1e-3, max_lr=0.1), "CyclicLR: argument `base_lr`"),
    (lambda: L.CyclicLR(1e-3, max_lr=0.1, mode="sawtooth"), "CyclicLR: argument `mode`"),
    (lambda: L.CyclicLR(1e-3, max_lr=0.1, scale_fn=LAMBDAS["decay995"][1], scale_mode="epochs"),
     "CyclicLR: argument `scale_mode`"),
    (lambda: L.CyclicLR(1e-3, max_lr=0.1, step_size_up=0), "CyclicLR: argument `step_size_up`"),
    (lambda: L.CyclicLR(1e-3, max_lr=0.1, gamma=0.0), "CyclicLR: argument `gamma`"),
    (lambda: L.OneCycleLR(0.1), "OneCycleLR: argument `total_steps`"),
    (lambda: L.OneCycleLR(0.1, epochs=3), "OneCycleLR: argument `total_steps`"),
    (lambda: L.OneCycleLR(0.1, epochs=3, steps_per_epoch=0), "OneCycleLR: argument `steps_per_epoch`"),
    (lambda: L.OneCycleLR(0.1, total_steps=100, pct_start=1.0), "OneCycleLR: argument `pct_start`"),
    (lambda: L.OneCycleLR(0.1, total_steps=100, anneal_strategy="cosine"), "OneCycleLR: argument `anneal_strategy`"),
    (lambda: L.OneCycleLR(0.1, total_steps=100, div_factor=0.0), "OneCycleLR: argument `div_factor`"),
    (lambda: L.SequentialLR(0.1, [L.StepLR(0.1, 3), L.ExponentialLR(0.1, 0.9)], milestones=[]),
     "SequentialLR: argument `milestones`"),
    (lambda: L.SequentialLR(0.1, [L.StepLR(0.1, 3), L.ExponentialLR(0.1, 0.9), L.StepLR(0.1, 2)], milestones=[9, 4]),
     "SequentialLR: argument `milestones`"),
    (lambda: L.SequentialLR(0.1, [L.StepLR(0.2, 3), L.ExponentialLR(0.2, 0.9)], milestones=[5]),
     "SequentialLR: argument `schedulers`"),
    (lambda: L.SequentialLR(0.1, [], milestones=[]), "SequentialLR: argument `schedulers`"),
    (lambda: L.SequentialLR(0.1, [L.StepLR(0.1, 3, steps_per_epoch=2)], milestones=[]),
     "SequentialLR: argument `schedulers`"),
    (lambda: L.ChainedScheduler([L.StepLR(0.1, 3), L.ExponentialLR(0.3, 0.9)]), "ChainedScheduler: argument `schedulers`"),
    (lambda: L.ChainedScheduler([L.StepLR(0.1, 3), L.OneCycleLR(0.1, total_steps=10)]),
     "ChainedScheduler: argument `schedulers`"),
    (lambda: L.ChainedScheduler([L.StepLR(0.1, 3), L.ChainedScheduler([L.StepLR(0.1, 3)])]),
     "ChainedScheduler: argument `schedulers`"),
    (lambda: L.ChainedScheduler([zoo.constant_schedule(0.1)]), "ChainedScheduler: argument `schedulers`"),
    (lambda: L.ChainedScheduler([L.StepLR(0.1, 3)], steps_per_epoch=0), "ChainedScheduler: argument `steps_per_epoch`"),
]


# A value torch takes that tests/test_bad_input.py exempts from its bad-value walk: CyclicLR's
# scale_mode without a scale_fn (torch ignores it). (Momentum bounds above 1, which torch also
# takes, are refused here: the momentum schedule also feeds Adam's betas[0].)
TORCH_ACCEPTS = [
    case("CyclicLR", None, 40, base_lr=0.01, max_lr=0.1, step_size_up=5, scale_mode="bogus"),
]


@pytest.mark.parametrize("c", TORCH_ACCEPTS, ids=[f"{c['name']}-{i}" for i, c in enumerate(TORCH_ACCEPTS)])
def test_values_torch_accepts_give_torchs_numbers(c):
    require_live(torch_available(), "needs live torch")
    assert_sequences_close(zoo_sequence(c), torch_sequence(c))


@pytest.mark.parametrize("make, message", BAD, ids=[m for _, m in BAD])
def test_bad_arguments_raise_value_error_naming_function_argument_value(make, message):
    with pytest.raises(ValueError, match="jaxopt_zoo.torch_compat.lr_scheduler." + message.replace("`", ".")) as err:
        make()
    assert ", got " in str(err.value)


def test_cycle_momentum_false_leaves_momentum_alone():
    assert L.CyclicLR(1e-3, max_lr=0.1, cycle_momentum=False).momentum is None
    assert L.OneCycleLR(0.1, total_steps=10, cycle_momentum=False).momentum is None


def test_traced_hyperparameters_are_not_checked():
    @jax.jit
    def f(lr, gamma, t):
        return L.ExponentialLR(lr, gamma=gamma)(t)

    assert float(f(0.5, 0.5, 2)) == 0.125


# --- lambdas with Python control flow (torch's usual warmup lambda) ----------------------

CONTROL_FLOW_LAMBDAS = {
    "min_warmup": lambda e: min(1.0, (e + 1) / 5),
    "if_else": lambda e: (e + 1) / 10 if e < 10 else 0.97 ** (e - 10),
    "traceable": lambda e: 0.95 ** e,
}


def _torch_lambda_lrs(cls_name, lr, fn, steps):
    require_live(torch_available(), "compares against live torch's LambdaLR / MultiplicativeLR")
    import torch

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = getattr(torch.optim.lr_scheduler, cls_name)(opt, fn)
    out = []
    for _ in range(steps + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.asarray(out)


@pytest.mark.parametrize("cls_name", ["LambdaLR", "MultiplicativeLR"])
@pytest.mark.parametrize("fn_name", sorted(CONTROL_FLOW_LAMBDAS))
def test_lambdas_with_python_control_flow_equal_torch_under_jit(cls_name, fn_name):
    """A lambda with ``min``/``if`` on the step runs on the host on Python ints (as torch calls
    it): the same values eagerly, under jit and vmap, and inside a jitted optimizer update."""
    rtol = 1e-6 if x64_is_off() else 1e-12
    fn = CONTROL_FLOW_LAMBDAS[fn_name]
    want = _torch_lambda_lrs(cls_name, 0.1, fn, 30)
    s = getattr(L, cls_name)(0.1, fn)
    ts = jnp.arange(31)
    np.testing.assert_allclose([float(s(t)) for t in range(31)], want, rtol=rtol)
    np.testing.assert_allclose(jax.jit(jax.vmap(s))(ts), want, rtol=rtol)
    tx = tc.SGD(lr=s)
    params = jnp.ones(2)
    step = jax.jit(tx.update)
    state, lrs = tx.init(params), []
    for _ in range(31):
        _, state = step(params, state, params)
        lrs.append(float(zoo.current_hyperparams(state)["lr"]))
    np.testing.assert_allclose(lrs, want, rtol=rtol)


def test_control_flow_lambda_in_float32_mode():
    fn = CONTROL_FLOW_LAMBDAS["min_warmup"]
    s = L.LambdaLR(0.1, fn)
    got = jax.jit(jax.vmap(s))(jnp.arange(8))
    assert got.dtype == jnp.result_type(float)
    np.testing.assert_allclose(got, [0.1 * min(1.0, (e + 1) / 5) for e in range(8)], rtol=1e-6)


def test_a_lambda_broken_on_python_ints_raises_its_own_error():
    def broken(e):
        if e < 3:
            return {}["missing"]
        return 1.0

    with pytest.raises(KeyError):
        L.LambdaLR(0.1, broken)(0)
