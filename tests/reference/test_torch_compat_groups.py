"""torch param groups (``param_groups=[...]``) against torch.optim with param groups.

An MLP (a hidden layer, a layer norm's scale and bias, a head) is trained in both frameworks
from the same weights on the same batches, with torch's usual recipe: no weight decay on
biases and norms, another lr for the head; the whole loss curve and the final weights must be
equal (float64, 1e-10). Every torch_compat optimizer also runs 100 steps with two groups on the
parity pytree, and the MLP runs under ``flax.nnx.Optimizer``.
"""

from tests.reference import harness
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import require_live, torch_available, x64_is_off
from tests.reference.torch_compat_cases import OPTIMIZERS

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc
from jaxopt_zoo.torch_compat import lr_scheduler as L

STEPS = 100
SHAPES = {"l1": {"kernel": (4, 8), "bias": (8,)}, "norm": {"scale": (8,), "bias": (8,)},
          "head": {"kernel": (8, 3), "bias": (3,)}}
ORDER = [("l1", "kernel"), ("l1", "bias"), ("norm", "scale"), ("norm", "bias"), ("head", "kernel"), ("head", "bias")]


def _rtol(dtype="float64"):
    return 1e-5 if x64_is_off() or dtype == "float32" else 1e-10


def _start(dtype="float64"):
    rng = np.random.default_rng(0)
    return {m: {k: rng.normal(0.0, 0.5, size=s).astype(dtype) for k, s in leaves.items()} for m, leaves in SHAPES.items()}


def _batches(dtype="float64"):
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(16, 4)).astype(dtype), rng.normal(size=(16, 3)).astype(dtype)) for _ in range(5)]


def _forward(p, x, lib):
    h = lib.tanh(x @ p["l1"]["kernel"] + p["l1"]["bias"])
    mean = h.mean(-1, keepdims=True)
    var = ((h - mean) ** 2).mean(-1, keepdims=True)
    h = (h - mean) / lib.sqrt(var + 1e-5) * p["norm"]["scale"] + p["norm"]["bias"]
    return h @ p["head"]["kernel"] + p["head"]["bias"]


def _jax_loss(p, x, y):
    return jnp.mean((_forward(p, x, jnp) - y) ** 2)


def no_decay(path, leaf):  # the usual selector: biases and norms
    return path[-1].key == "bias" or path[0].key == "norm"


def head_kernel(path, leaf):
    return path[0].key == "head" and path[-1].key == "kernel"


def torch_mlp_run(name, kwargs, groups, steps=STEPS, sched=None, plateau=False, dtype="float64", keep=None):
    """torch: ``groups`` are (names, group keywords); the leaves in none get a last plain group.
    ``keep`` (a dict) receives the optimizer and the tensors by (layer, name)."""
    import torch

    t = {(m, k): torch.tensor(v, requires_grad=True) for m, leaves in _start(dtype).items() for k, v in leaves.items()}
    taken = [key for names, _ in groups for key in names]
    param_groups = [{"params": [t[k] for k in names], **kw} for names, kw in groups]
    rest = [t[k] for k in ORDER if k not in taken]
    opt = getattr(torch.optim, name)(param_groups + ([{"params": rest}] if rest else []), **kwargs)
    scheduler = sched(opt) if sched else None
    batches, losses = _batches(dtype), []
    for i in range(steps):
        x, y = (torch.tensor(a) for a in batches[i % len(batches)])
        p = {m: {k: t[(m, k)] for k in leaves} for m, leaves in SHAPES.items()}
        opt.zero_grad()
        value = torch.mean((_forward(p, x, torch) - y) ** 2)
        value.backward()
        losses.append(value.item())
        if plateau:
            scheduler.step(value.item())
        used = [g["lr"] for g in opt.param_groups]  # the lrs of this step
        opt.step()
        if scheduler is not None and not plateau:
            scheduler.step()
    if keep is not None:
        keep.update(opt=opt, t=t)
    final = {m: {k: t[(m, k)].detach().numpy() for k in leaves} for m, leaves in SHAPES.items()}
    return np.asarray(losses), final, used


def zoo_mlp_run(tx, steps=STEPS, plateau=False, dtype="float64"):
    params = jax.tree.map(jnp.asarray, _start(dtype))
    state = tx.init(params)
    batches = _batches(dtype)

    @jax.jit
    def step(params, state, x, y):
        value, grads = jax.value_and_grad(_jax_loss)(params, x, y)
        updates, state = tx.update(grads, state, params, **({"value": value} if plateau else {}))
        return zoo.apply_updates(params, updates), state, value

    losses = []
    for i in range(steps):
        x, y = batches[i % len(batches)]
        params, state, value = step(params, state, jnp.asarray(x), jnp.asarray(y))
        losses.append(float(value))
    return np.asarray(losses), params, state


def assert_same(zoo_out, torch_out, dtype="float64"):
    """The loss curve and the final weights, to the suite's tolerance (relative to each leaf's scale)."""
    rtol = _rtol(dtype)
    harness.assert_trajectories_close({"loss": zoo_out[0], "weights": zoo_out[1]},
                                      {"loss": torch_out[0], "weights": torch_out[1]}, dtype, rtol)
    if len(zoo_out) > 2:  # each group's lr at the last step: torch's param_groups[i]['lr']
        lrs = [float(zoo.current_hyperparams(s)["lr"]) for s in zoo_out[2].groups]
        np.testing.assert_allclose(lrs[:len(torch_out[2])], torch_out[2], rtol=rtol)


NO_DECAY = [("l1", "bias"), ("norm", "scale"), ("norm", "bias"), ("head", "bias")]
RECIPES = {
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=1e-2, nesterov=True),
    "Adam": dict(lr=3e-3, weight_decay=1e-2),
    "AdamW": dict(lr=3e-3, weight_decay=0.1, amsgrad=True),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_mlp_recipe_equals_torch(name, dtype):
    """No decay on biases and norms, a 10x lr for the head kernel: loss curve and weights."""
    require_live(torch_available(), "compares against live torch.optim")
    kw = RECIPES[name]
    groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": head_kernel, "lr": kw["lr"] * 10}]
    got = zoo_mlp_run(getattr(tc, name)(**kw, param_groups=groups), dtype=dtype)
    want = torch_mlp_run(name, kw, [(NO_DECAY, {"weight_decay": 0.0}), ([("head", "kernel")], {"lr": kw["lr"] * 10})],
                         dtype=dtype)
    assert_same(got, want, dtype)
    lrs = [float(zoo.current_hyperparams(s)["lr"]) for s in got[2].groups]
    assert lrs == pytest.approx([kw["lr"], kw["lr"] * 10, kw["lr"]], rel=1e-6)


def test_mask_tree_selects_like_a_callable():
    kw = RECIPES["AdamW"]
    mask = jax.tree_util.tree_map_with_path(no_decay, _start())
    a = zoo_mlp_run(tc.AdamW(**kw, param_groups=[{"params": no_decay, "weight_decay": 0.0}]), steps=10)
    b = zoo_mlp_run(tc.AdamW(**kw, param_groups=[{"params": mask, "weight_decay": 0.0}]), steps=10)
    np.testing.assert_array_equal(a[0], b[0])


# --- a scheduler as lr: each group's own base lr ------------------------------------------


def test_steplr_scales_each_groups_base_lr():
    require_live(torch_available(), "compares against live torch.optim")
    import torch

    kw = dict(lr=0.05, momentum=0.9)
    tx = tc.SGD(lr=L.StepLR(0.05, step_size=7, gamma=0.5), momentum=0.9,
                param_groups=[{"params": head_kernel, "lr": 0.2}, {"params": no_decay, "lr": 0.01}])
    got = zoo_mlp_run(tx)
    want = torch_mlp_run("SGD", kw, [([("head", "kernel")], {"lr": 0.2}), (NO_DECAY, {"lr": 0.01})],
                         sched=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5))
    assert_same(got, want)
    lrs = [float(zoo.current_hyperparams(s)["lr"]) for s in got[2].groups]
    assert lrs == pytest.approx([0.2 * 0.5 ** 14, 0.01 * 0.5 ** 14, 0.05 * 0.5 ** 14], rel=1e-9)


def test_sequential_warmup_cosine_rebased_per_group():
    require_live(torch_available(), "compares against live torch.optim")
    import torch

    T = torch.optim.lr_scheduler

    def zoo_sched(lr):
        return L.SequentialLR(lr, [L.LinearLR(lr, start_factor=0.1, total_iters=10),
                                   L.CosineAnnealingLR(lr, T_max=90, eta_min=1e-4)], milestones=[10])

    tx = tc.AdamW(lr=zoo_sched(3e-3), param_groups=[{"params": head_kernel, "lr": 1e-2}])
    got = zoo_mlp_run(tx)
    want = torch_mlp_run("AdamW", dict(lr=3e-3), [([("head", "kernel")], {"lr": 1e-2})],
                         sched=lambda opt: T.SequentialLR(opt, [T.LinearLR(opt, start_factor=0.1, total_iters=10),
                                                                T.CosineAnnealingLR(opt, T_max=90, eta_min=1e-4)],
                                                          milestones=[10]))
    assert_same(got, want)


def test_onecycle_max_lr_per_group():
    """torch: ``OneCycleLR(opt, max_lr=[m0, m1])``; here each group names its own OneCycleLR."""
    require_live(torch_available(), "compares against live torch.optim")
    import torch

    one = L.OneCycleLR(0.02, total_steps=STEPS)
    head = L.OneCycleLR(0.1, total_steps=STEPS)
    tx = tc.SGD(lr=one, momentum=one.momentum, param_groups=[{"params": head_kernel, "lr": head, "momentum": head.momentum}])
    got = zoo_mlp_run(tx, steps=STEPS - 1)
    want = torch_mlp_run("SGD", dict(lr=0.02, momentum=0.9), [([("head", "kernel")], {})], steps=STEPS - 1,
                         sched=lambda opt: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.02], total_steps=STEPS))
    assert_same(got, want)


def test_a_group_lr_under_onecycle_raises_and_says_what_to_write():
    with pytest.raises(ValueError, match="give that group its own OneCycleLR"):
        tc.SGD(lr=L.OneCycleLR(0.02, total_steps=10), param_groups=[{"params": head_kernel, "lr": 0.1}])


def test_reduce_on_plateau_reduces_each_group():
    require_live(torch_available(), "compares against live torch.optim")
    import torch

    plateau = L.ReduceLROnPlateau(0.05, factor=0.5, patience=1, threshold=0.05, min_lr=4e-3)
    tx = tc.SGD(lr=plateau, momentum=0.9, param_groups=[{"params": head_kernel, "lr": 0.1}, {"params": no_decay, "lr": 0.01}])
    got = zoo_mlp_run(tx, plateau=True)
    want = torch_mlp_run("SGD", dict(lr=0.05, momentum=0.9), [([("head", "kernel")], {"lr": 0.1}), (NO_DECAY, {"lr": 0.01})],
                         plateau=True, sched=lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(
                             opt, factor=0.5, patience=1, threshold=0.05, min_lr=4e-3))
    assert_same(got, want)
    assert len(set(want[2])) == 1  # every group ended at min_lr


# --- every torch_compat optimizer, two groups, 100 steps on the parity pytree -------------

TOP = {"SGD": dict(lr=0.03, momentum=0.9), "Adam": dict(lr=0.01), "AdamW": dict(lr=0.01), "Adagrad": dict(lr=0.1),
       "RMSprop": dict(lr=0.01), "Adadelta": dict(lr=1.0), "Adamax": dict(lr=0.01), "NAdam": dict(lr=0.01),
       "RAdam": dict(lr=0.01), "Rprop": dict(lr=0.02), "ASGD": dict(lr=0.05, t0=20)}
GROUP = {"SGD": dict(lr=0.01, momentum=0.5, weight_decay=0.1), "Adam": dict(lr=0.03, betas=(0.8, 0.99), weight_decay=0.1),
         "AdamW": dict(lr=0.005, weight_decay=0.2), "Adagrad": dict(lr=0.3, lr_decay=0.01),
         "RMSprop": dict(lr=0.003, momentum=0.5, centered=True), "Adadelta": dict(lr=0.5, rho=0.8),
         "Adamax": dict(lr=0.03, weight_decay=0.05), "NAdam": dict(lr=0.02, momentum_decay=0.01),
         "RAdam": dict(lr=0.02, weight_decay=0.1), "Rprop": dict(lr=0.05, etas=(0.4, 1.3)),
         "ASGD": dict(lr=0.02, lambd=1e-3)}


def test_every_optimizer_has_cases():
    assert sorted(TOP) == sorted(GROUP) == sorted(OPTIMIZERS)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_two_groups_equal_torch(name, dtype):
    require_live(torch_available(), "compares against live torch.optim")
    import torch

    start = harness.start_values(dtype)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    opt = getattr(torch.optim, name)([{"params": [t["scalar"], t["vector"]], **GROUP[name]}, {"params": [t["cube"]]}],
                                     **TOP[name])
    for _ in range(STEPS):
        opt.zero_grad()
        harness.torch_loss(t).backward()
        opt.step()

    tx = getattr(tc, name)(**TOP[name], param_groups=[{"params": lambda path, leaf: leaf.ndim <= 1, **GROUP[name]}])
    params = {k: jnp.asarray(v) for k, v in start.items()}
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(harness.loss)(params), state, params)
        return zoo.apply_updates(params, updates), state

    for _ in range(STEPS):
        params, state = step(params, state)
    harness.assert_trajectories_close(params, {k: v.detach().numpy() for k, v in t.items()}, dtype, _rtol(dtype))


# --- under flax.nnx.Optimizer ----------------------------------------------------------


def _nnx_mlp():
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self):
            s = _start()
            self.l1 = nnx.Dict(kernel=nnx.Param(jnp.asarray(s["l1"]["kernel"])), bias=nnx.Param(jnp.asarray(s["l1"]["bias"])))
            self.norm = nnx.Dict(scale=nnx.Param(jnp.asarray(s["norm"]["scale"])), bias=nnx.Param(jnp.asarray(s["norm"]["bias"])))
            self.head = nnx.Dict(kernel=nnx.Param(jnp.asarray(s["head"]["kernel"])), bias=nnx.Param(jnp.asarray(s["head"]["bias"])))

        def __call__(self, x):
            p = {m: {k: getattr(self, m)[k][...] for k in leaves} for m, leaves in SHAPES.items()}
            return _forward(p, x, jnp)

    return MLP()


def test_under_nnx_optimizer_equals_torch():
    """nnx.Optimizer calls init with Variables and update with arrays: the path selector works in both."""
    require_live(torch_available(), "compares against live torch.optim")
    from flax import nnx

    kw = RECIPES["AdamW"]
    groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": head_kernel, "lr": kw["lr"] * 10}]
    model = _nnx_mlp()
    optimizer = nnx.Optimizer(model, tc.AdamW(**kw, param_groups=groups), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, x, y):
        value, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        optimizer.update(model, grads)
        return value

    batches, losses = _batches(), []
    for i in range(STEPS):
        x, y = batches[i % len(batches)]
        losses.append(float(train_step(model, optimizer, jnp.asarray(x), jnp.asarray(y))))
    final = {m: {k: getattr(model, m)[k][...] for k in leaves} for m, leaves in SHAPES.items()}
    want = torch_mlp_run("AdamW", kw, [(NO_DECAY, {"weight_decay": 0.0}), ([("head", "kernel")], {"lr": kw["lr"] * 10})])
    assert_same((np.asarray(losses), final), want)


def test_setting_a_groups_lr_by_hand_under_nnx():
    """torch's ``opt.param_groups[1]['lr'] = x`` is ``optimizer.opt_state.groups[1].hyperparams['lr'][...] = x``."""
    require_live(torch_available(), "compares against live torch.optim")
    import torch
    from flax import nnx

    kw = dict(lr=0.05, momentum=0.9)
    model = _nnx_mlp()
    optimizer = nnx.Optimizer(model, tc.SGD(**kw, param_groups=[{"params": head_kernel, "lr": 0.1}]), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, x, y):
        value, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        optimizer.update(model, grads)
        return value

    t = {(m, k): torch.tensor(v, requires_grad=True) for m, leaves in _start().items() for k, v in leaves.items()}
    opt = torch.optim.SGD([{"params": [t[("head", "kernel")]], "lr": 0.1},
                           {"params": [t[k] for k in ORDER if k != ("head", "kernel")]}], **kw)
    batches = _batches()
    for i in range(40):
        if i == 20:  # by hand, between two steps, in both
            opt.param_groups[0]["lr"] = 0.02
            opt.param_groups[1]["lr"] = 0.01
            optimizer.opt_state.groups[0].hyperparams["lr"][...] = 0.02
            optimizer.opt_state.groups[1].hyperparams["lr"][...] = 0.01
        x, y = batches[i % len(batches)]
        got = float(train_step(model, optimizer, jnp.asarray(x), jnp.asarray(y)))
        p = {m: {k: t[(m, k)] for k in leaves} for m, leaves in SHAPES.items()}
        opt.zero_grad()
        value = torch.mean((_forward(p, torch.tensor(x), torch) - torch.tensor(y)) ** 2)
        value.backward()
        opt.step()
        np.testing.assert_allclose(got, value.item(), rtol=_rtol())
    np.testing.assert_allclose(np.asarray(model.head["kernel"][...]), t[("head", "kernel")].detach().numpy(), rtol=_rtol())
    assert float(optimizer.opt_state.groups[0].hyperparams["lr"][...]) == pytest.approx(0.02)


# --- bad input --------------------------------------------------------------------------


def test_a_leaf_in_two_groups_raises():
    tx = tc.Adam(param_groups=[{"params": no_decay}, {"params": lambda p, x: p[-1].key == "bias"}])
    with pytest.raises(ValueError, match="two groups"):
        tx.init(jax.tree.map(jnp.asarray, _start()))


@pytest.mark.parametrize("groups,match", [
    ([{"lr": 0.1}], "'params' entry"),
    ([{"params": no_decay, "momentum_decay": 0.1}], "does not take"),
    ({"params": no_decay}, "list of dicts"),
])
def test_bad_groups_raise(groups, match):
    with pytest.raises(ValueError, match=match):
        tc.Adam(param_groups=groups)


def test_a_bad_group_keyword_raises_like_the_top_level_one():
    with pytest.raises(ValueError, match="torch_compat.SGD: argument `momentum`"):
        tc.SGD(param_groups=[{"params": no_decay, "momentum": -1.0}])


def test_asgd_averaged_params_with_groups_are_torchs_ax(dtype):
    """``asgd_averaged_params(state, params, param_groups)`` is torch's ``state[p]['ax']`` per parameter."""
    require_live(torch_available(), "compares against live torch.optim")
    kw = dict(lr=0.05, lambd=1e-3, t0=20)
    groups = [{"params": no_decay, "lr": 0.1, "t0": 5}, {"params": head_kernel, "weight_decay": 1e-2}]
    got = zoo_mlp_run(tc.ASGD(**kw, param_groups=groups), steps=60, dtype=dtype)
    keep = {}
    want = torch_mlp_run("ASGD", kw, [(NO_DECAY, {"lr": 0.1, "t0": 5}), ([("head", "kernel")], {"weight_decay": 1e-2})],
                         steps=60, dtype=dtype, keep=keep)
    assert_same(got, want, dtype)
    ax = tc.asgd_averaged_params(got[2], got[1], groups)
    want_ax = {m: {k: keep["opt"].state[keep["t"][(m, k)]]["ax"].numpy() for k in leaves} for m, leaves in SHAPES.items()}
    harness.assert_trajectories_close(ax, want_ax, dtype, _rtol(dtype))
    assert not np.allclose(ax["l1"]["kernel"], got[1]["l1"]["kernel"])  # averaging in every group by now
    with pytest.raises(ValueError, match=r"asgd_averaged_params: argument `param_groups`"):
        tc.asgd_averaged_params(got[2])
    with pytest.raises(ValueError, match=r"asgd_averaged_params: argument `param_groups`.*2 groups"):
        tc.asgd_averaged_params(got[2], got[1], groups[:1])
    assert len(tc.asgd_averaged_params(got[2].groups[0])) == 4  # one group's leaves: biases and norm


def test_setting_the_lr_by_hand_under_nnx_without_groups():
    """torch's ``opt.param_groups[0]['lr'] = x`` is ``optimizer.opt_state.hyperparams['lr'][...] = x``."""
    require_live(torch_available(), "compares against live torch.optim")
    import torch
    from flax import nnx

    model = _nnx_mlp()
    optimizer = nnx.Optimizer(model, tc.Adam(lr=3e-3), wrt=nnx.Param)

    @nnx.jit
    def train_step(model, optimizer, x, y):
        value, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        optimizer.update(model, grads)
        return value

    t = {(m, k): torch.tensor(v, requires_grad=True) for m, leaves in _start().items() for k, v in leaves.items()}
    opt = torch.optim.Adam([t[k] for k in ORDER], lr=3e-3)
    batches = _batches()
    for i in range(30):
        if i == 15:
            opt.param_groups[0]["lr"] = 1e-3
            optimizer.opt_state.hyperparams["lr"][...] = 1e-3
        x, y = batches[i % len(batches)]
        got = float(train_step(model, optimizer, jnp.asarray(x), jnp.asarray(y)))
        p = {m: {k: t[(m, k)] for k in leaves} for m, leaves in SHAPES.items()}
        opt.zero_grad()
        value = torch.mean((_forward(p, torch.tensor(x), torch) - torch.tensor(y)) ** 2)
        value.backward()
        opt.step()
        np.testing.assert_allclose(got, value.item(), rtol=_rtol())
    np.testing.assert_allclose(np.asarray(model.l1["kernel"][...]), t[("l1", "kernel")].detach().numpy(), rtol=_rtol())
    assert float(zoo.current_hyperparams(nnx.as_pure(optimizer.opt_state))["lr"]) == pytest.approx(1e-3)


# --- every scheduler on a group's own base lr, against torch with two groups ---------------

REBASED = {
    "StepLR": (lambda lr: L.StepLR(lr, step_size=4, gamma=0.7), lambda T, o: T.StepLR(o, step_size=4, gamma=0.7)),
    "MultiStepLR": (lambda lr: L.MultiStepLR(lr, [3, 9], gamma=0.5), lambda T, o: T.MultiStepLR(o, [3, 9], gamma=0.5)),
    "ConstantLR": (lambda lr: L.ConstantLR(lr, factor=0.3, total_iters=6), lambda T, o: T.ConstantLR(o, factor=0.3, total_iters=6)),
    "LinearLR": (lambda lr: L.LinearLR(lr, start_factor=0.2, total_iters=8), lambda T, o: T.LinearLR(o, start_factor=0.2, total_iters=8)),
    "ExponentialLR": (lambda lr: L.ExponentialLR(lr, gamma=0.9), lambda T, o: T.ExponentialLR(o, gamma=0.9)),
    "PolynomialLR": (lambda lr: L.PolynomialLR(lr, total_iters=20, power=2.0), lambda T, o: T.PolynomialLR(o, total_iters=20, power=2.0)),
    "CosineAnnealingLR": (lambda lr: L.CosineAnnealingLR(lr, T_max=15, eta_min=0.01),
                          lambda T, o: T.CosineAnnealingLR(o, T_max=15, eta_min=0.01)),
    "CosineAnnealingWarmRestarts": (lambda lr: L.CosineAnnealingWarmRestarts(lr, T_0=5, T_mult=2, eta_min=0.005),
                                    lambda T, o: T.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.005)),
    "LambdaLR": (lambda lr: L.LambdaLR(lr, lambda e: min(1.0, (e + 1) / 5)), lambda T, o: T.LambdaLR(o, lambda e: min(1.0, (e + 1) / 5))),
    "MultiplicativeLR": (lambda lr: L.MultiplicativeLR(lr, lambda e: 0.95), lambda T, o: T.MultiplicativeLR(o, lambda e: 0.95)),
    "ChainedScheduler": (lambda lr: L.ChainedScheduler([L.ExponentialLR(lr, gamma=0.9), L.CosineAnnealingLR(lr, T_max=10)]),
                         lambda T, o: T.ChainedScheduler([T.ExponentialLR(o, gamma=0.9), T.CosineAnnealingLR(o, T_max=10)])),
    "SequentialLR": (lambda lr: L.SequentialLR(lr, [L.LinearLR(lr, start_factor=0.1, total_iters=5),
                                                    L.CosineAnnealingLR(lr, T_max=20, eta_min=0.002)], milestones=[5]),
                     lambda T, o: T.SequentialLR(o, [T.LinearLR(o, start_factor=0.1, total_iters=5),
                                                     T.CosineAnnealingLR(o, T_max=20, eta_min=0.002)], milestones=[5])),
}


@pytest.mark.parametrize("name", sorted(REBASED))
def test_each_group_gets_the_scheduler_on_its_own_base_lr(name):
    require_live(torch_available(), "compares against live torch.optim.lr_scheduler")
    import torch

    zoo_sched, torch_sched = REBASED[name]
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.03},
                           {"params": [torch.zeros(1, requires_grad=True)]}], lr=0.1)
    sched = torch_sched(torch.optim.lr_scheduler, opt)
    want = []
    for _ in range(30):
        want.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    tx = tc.SGD(lr=zoo_sched(0.1), param_groups=[{"params": lambda path, leaf: path[-1].key == "a", "lr": 0.03}])
    params = {"a": jnp.zeros(1), "b": jnp.zeros(1)}
    state, got = tx.init(params), []
    step = jax.jit(tx.update)
    for _ in range(30):
        _, state = step(params, state, params)
        got.append([float(zoo.current_hyperparams(s)["lr"]) for s in state.groups])
    np.testing.assert_allclose(got, want, rtol=1e-6 if x64_is_off() else 1e-12)
