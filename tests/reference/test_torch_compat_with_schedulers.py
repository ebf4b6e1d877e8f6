"""torch_compat optimizers driven by schedules, against torch.optim with real torch schedulers:
StepLR stepped per epoch, OneCycleLR driving the lr and the momentum / beta1, ReduceLROnPlateau
as the lr (the loss as metric), a hand-set lr, and ASGD's averaged parameters."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import make_params, seeded_rng, torch_loss, require_live
from tests.reference.torch_compat_cases import (OPTIMIZERS, assert_equals_torch, draw, flag_combinations, reductions,
                                torch_available, torch_runs, zoo_run)

from tests.reference import harness
import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc


def random_case(name, request, **fixed_flags):
    rng, _ = seeded_rng(request.node.name)
    combos = [f for f in flag_combinations(name) if all(f.get(k) == v for k, v in fixed_flags.items())]
    kwargs = draw(name, rng.choice(combos), rng)
    print(name, kwargs)
    return kwargs


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_steplr_per_epoch_equals_torch(name, request):
    """torch: StepLR(step_size=2, gamma) stepped once per epoch of 15 steps; zoo: step_decay_schedule."""
    require_live(torch_available(), "the fixed cases (fixtures) cover machines without torch")
    kwargs = random_case(name, request)
    rng, _ = seeded_rng(request.node.name + "-schedule")
    schedule = {"kind": "steplr", "step_size": rng.randint(1, 3), "gamma": rng.uniform(0.2, 0.9), "epoch": rng.randint(5, 20)}
    print(schedule)
    want = torch_runs(name, kwargs, schedule, dtypes=("float64",))
    assert reductions(want["float64"]["lr"]) >= 2
    assert_equals_torch(zoo_run(name, kwargs, schedule), want, "float64")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_onecycle_driving_lr_and_momentum_equals_torch(name, request):
    """torch: OneCycleLR stepped every step, cycling momentum / betas[0] where the optimizer has one."""
    require_live(torch_available(), "needs live torch")
    kwargs = random_case(name, request)
    rng, _ = seeded_rng(request.node.name + "-schedule")
    schedule = {"kind": "onecycle", "max_lr": kwargs["lr"], "pct_start": rng.uniform(0.2, 0.5),
                "anneal_strategy": rng.choice(["cos", "linear"]), "three_phase": rng.random() < 0.5}
    print(schedule)
    assert_equals_torch(zoo_run(name, kwargs, schedule), torch_runs(name, kwargs, schedule, dtypes=("float64",)), "float64")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_reduce_lr_on_plateau_as_lr_equals_torch(name, request):
    """torch: scheduler.step(loss) before each optimizer step; zoo: update(..., value=loss)."""
    require_live(torch_available(), "needs live torch")
    kwargs = random_case(name, request, maximize=False)
    rng, _ = seeded_rng(request.node.name + "-schedule")
    schedule = {"kind": "plateau", "factor": rng.uniform(0.3, 0.7), "patience": rng.randint(0, 3), "threshold": 0.05,
                "threshold_mode": "rel", "cooldown": rng.randint(0, 2), "min_lr": kwargs["lr"] * 1e-3, "eps": 1e-8}
    print(schedule)
    want = torch_runs(name, kwargs, schedule, dtypes=("float64",))
    assert reductions(want["float64"]["lr"]) >= 3
    assert_equals_torch(zoo_run(name, kwargs, schedule), want, "float64")


NONLINEAR = [("Adagrad", dict(lr=0.2, lr_decay=0.05)), ("ASGD", dict(lr=0.08, lambd=1e-2, alpha=0.6, t0=5.0)),
             ("Rprop", dict(lr=0.05))]


@pytest.mark.parametrize("name,kwargs", NONLINEAR, ids=[n for n, _ in NONLINEAR])
def test_plateau_lr_enters_nonlinear_uses_as_torch(name, kwargs):
    """Adagrad decays the current lr, ASGD turns it into eta one step late, Rprop reads it once."""
    require_live(torch_available(), "needs live torch")
    schedule = {"kind": "plateau", "factor": 0.5, "patience": 1, "threshold": 0.05, "min_lr": 1e-5}
    want = torch_runs(name, kwargs, schedule, dtypes=("float64",))
    assert reductions(want["float64"]["lr"]) >= 3
    assert_equals_torch(zoo_run(name, kwargs, schedule), want, "float64")


def _torch_loop(make_opt, steps, before_step=None):
    import torch

    params = make_params("float64")
    tensors = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in params.items()}
    opt = make_opt(list(tensors.values()))
    for k in range(steps):
        opt.zero_grad()
        value = torch_loss(tensors)
        value.backward()
        if before_step:
            before_step(k, opt, value.item())
        opt.step()
    return opt, {k: t.detach().numpy() for k, t in tensors.items()}


def _zoo_loop(tx, steps, before_step=None):
    params = make_params("float64")
    state = tx.init(params)
    value_and_grad = jax.jit(jax.value_and_grad(harness.loss))
    update = jax.jit(tx.update)
    for k in range(steps):
        value, g = value_and_grad(params)
        kwargs, state = before_step(k, state, value) if before_step else ({}, state)
        u, state = update(g, state, params, **kwargs)
        params = zoo.apply_updates(params, u)
    return state, params


def test_setting_the_lr_in_the_state_is_setting_param_groups_lr():
    """torch: opt.param_groups[0]['lr'] = x between steps; zoo: state.hyperparams['lr'] = x."""
    require_live(torch_available(), "needs live torch")
    import torch

    def torch_set(k, opt, value):
        if k == 40:
            opt.param_groups[0]["lr"] = 0.002

    def zoo_set(k, state, value):
        if k == 40:
            state = state._replace(hyperparams={**state.hyperparams, "lr": jnp.asarray(0.002)})
        return {}, state

    _, want = _torch_loop(lambda ps: torch.optim.Adam(ps, lr=0.02, amsgrad=True), 80, torch_set)
    state, got = _zoo_loop(tc.Adam(lr=0.02, amsgrad=True), 80, zoo_set)
    harness.assert_trajectories_close(got, want, "float64")
    assert float(zoo.current_hyperparams(state)["lr"]) == 0.002


def test_plateau_steps_only_on_updates_with_a_value():
    """Validation once per 'epoch' of 5 steps: torch steps the scheduler then; the zoo gets value= then."""
    require_live(torch_available(), "needs live torch")
    import torch

    kw = dict(factor=0.5, patience=1, threshold=0.05, cooldown=0, min_lr=1e-4)

    scheduler = {}

    def torch_val(k, opt, value):
        if k % 5 == 0:
            scheduler["plateau"].step(value)

    def make(ps):
        opt = torch.optim.SGD(ps, lr=0.05, momentum=0.9)
        scheduler["plateau"] = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        return opt

    opt, want = _torch_loop(make, 100, torch_val)
    state, got = _zoo_loop(tc.SGD(lr=tc.lr_scheduler.ReduceLROnPlateau(0.05, **kw), momentum=0.9), 100,
                           lambda k, s, v: ({"value": v} if k % 5 == 0 else {}, s))
    harness.assert_trajectories_close(got, want, "float64")
    assert opt.param_groups[0]["lr"] <= 0.05 * 0.5**3
    assert float(zoo.current_hyperparams(state)["lr"]) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-14)


@pytest.mark.parametrize("groups", [False, True], ids=["one-group", "param-groups"])
def test_plateau_per_epoch_metric_in_one_compiled_step(groups):
    """torch: ``sched.step(val_loss)`` after each epoch of 5 steps (the loss at the epoch's last
    params); zoo: ``steps_per_epoch=5`` and ``value=`` at every update of ONE jitted step."""
    require_live(torch_available(), "needs live torch")
    import torch

    kw = dict(factor=0.5, patience=1, threshold=0.05, cooldown=1, min_lr=1e-4)
    scheduler = {}

    def torch_val(k, opt, value):
        if k > 0 and k % 5 == 0:
            scheduler["plateau"].step(value)

    def make(ps):
        head = [{"params": ps[:1], "lr": 0.2}] if groups else []
        opt = torch.optim.SGD(head + [{"params": ps[1:] if groups else ps}], lr=0.05, momentum=0.9)
        scheduler["plateau"] = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        return opt

    opt, want = _torch_loop(make, 100, torch_val)
    first = next(iter(make_params("float64")))
    tx = tc.SGD(lr=tc.lr_scheduler.ReduceLROnPlateau(0.05, steps_per_epoch=5, **kw), momentum=0.9,
                param_groups=[{"params": lambda path, leaf: path[0].key == first, "lr": 0.2}] if groups else None)
    traces = []

    @jax.jit
    def train_step(params, state):
        traces.append(1)
        value, g = jax.value_and_grad(harness.loss)(params)
        u, state = tx.update(g, state, params, value=value)  # read at updates 5, 10, ... only
        return zoo.apply_updates(params, u), state

    params = make_params("float64")
    state = tx.init(params)
    for _ in range(100):
        params, state = train_step(params, state)
    assert len(traces) == 1
    harness.assert_trajectories_close(params, want, "float64")
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs[-1] <= 0.05 * 0.5**3
    got = [float(zoo.current_hyperparams(s)["lr"]) for s in state.groups] if groups else \
        [float(zoo.current_hyperparams(state)["lr"])]
    np.testing.assert_allclose(got, lrs, rtol=1e-14)


def test_asgd_averaged_params_are_torchs_ax():
    require_live(torch_available(), "needs live torch")
    import torch

    opt, _ = _torch_loop(lambda ps: torch.optim.ASGD(ps, lr=0.05, lambd=1e-3, t0=10), 60)
    state, _ = _zoo_loop(tc.ASGD(lr=0.05, lambd=1e-3, t0=10), 60)
    want = {k: opt.state[p]["ax"].numpy() for k, p in zip(make_params("float64"), opt.param_groups[0]["params"])}
    got = tc.asgd_averaged_params(state)
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k]), want[k], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="asgd_averaged_params"):
        tc.asgd_averaged_params(tc.SGD().init({"w": jnp.zeros(2)}))


def test_plateau_is_not_a_schedule_and_checks_its_arguments():
    plateau = tc.lr_scheduler.ReduceLROnPlateau(0.1)
    with pytest.raises(TypeError, match="not a schedule"):
        plateau(jnp.asarray(3))
    for kw, arg in [(dict(factor=1.0), "factor"), (dict(mode="up"), "mode"), (dict(min_lr=-1.0), "min_lr"),
                    (dict(threshold_mode="pct"), "threshold_mode"), (dict(patience=-1), "patience"),
                    (dict(steps_per_epoch=0), "steps_per_epoch")]:
        with pytest.raises(ValueError, match=rf"torch_compat\.lr_scheduler\.ReduceLROnPlateau: argument `{arg}`"):
            tc.lr_scheduler.ReduceLROnPlateau(0.1, **kw)
    with pytest.raises(ValueError, match="argument `lr`"):
        tc.lr_scheduler.ReduceLROnPlateau(lambda t: 0.1)


def test_current_hyperparams_report_the_lr_and_momentum_in_use():
    schedule = zoo.one_cycle_schedule(0.1, 50)
    tx = tc.SGD(lr=schedule, momentum=schedule.momentum)
    params = {"w": jnp.ones(3)}
    state = tx.init(params)
    for _ in range(7):
        _, state = tx.update({"w": jnp.ones(3)}, state, params)
    hp = zoo.current_hyperparams(state)
    assert float(hp["lr"]) == pytest.approx(float(schedule(6)), rel=1e-14)
    assert float(hp["momentum"]) == pytest.approx(float(schedule.momentum(6)), rel=1e-14)
    plateau_state = tc.Adam(lr=tc.lr_scheduler.ReduceLROnPlateau(1e-3)).init(params)
    assert float(zoo.current_hyperparams(plateau_state)["lr"]) == 1e-3
    assert plateau_state.inner_state.plateau.scale == 1.0


@pytest.mark.parametrize("lr,min_lr,eps", [(1e-6, 0.0, 1e-7), (0.1, 0.013, 1e-8), (0.3, 0.0, 0.02)])
def test_plateau_min_lr_and_eps_are_torchs_lr_valued_ones(lr, min_lr, eps):
    """torch's min_lr and eps are in lr units; the zoo's plateau works on a scale (min_lr / lr, eps / lr)."""
    require_live(torch_available(), "needs live torch")
    import torch

    kw = dict(factor=0.5, patience=0, threshold=0.0, min_lr=min_lr, eps=eps)
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    tx = tc.SGD(lr=tc.lr_scheduler.ReduceLROnPlateau(lr, **kw))
    params = {"w": jnp.zeros(2)}
    state, update = tx.init(params), jax.jit(tx.update)
    want, got = [], []
    for _ in range(15):
        sched.step(1.0)  # never better than the first: a reduction every step until min_lr / eps stop it
        want.append(opt.param_groups[0]["lr"])
        _, state = update({"w": jnp.ones(2)}, state, params, value=1.0)
        got.append(float(zoo.current_hyperparams(state)["lr"]))
    assert reductions(want) >= 2 and want[-1] == want[-2]  # stopped by min_lr or eps
    np.testing.assert_allclose(got, want, rtol=1e-14)
