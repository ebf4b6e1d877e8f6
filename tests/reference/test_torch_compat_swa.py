"""torch_compat.swa_utils against torch.optim.swa_utils (torch 2.13): SWALR's lr at every step,
and AveragedModel's averaged weights (SWA, EMA by multi_avg_fn and by avg_fn) at every step of
a training run, side by side."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import (assert_trajectories_close, loss, make_params, require_live, seeded_rng, start_values,
                     torch_available, torch_loss)

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc
from jaxopt_zoo.torch_compat import lr_scheduler as L
from jaxopt_zoo.torch_compat import swa_utils

STEPS = 100


def torch_lrs(make_scheds, lr, steps, which):
    """torch's lr at steps 0..steps; ``which(t)`` names the scheduler stepped after step t."""
    import torch

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheds = make_scheds(opt)
    out = []
    for t in range(steps + 1):
        out.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        scheds[which(t)].step()
    return np.asarray(out)


def zoo_lrs(schedule, steps):
    return np.asarray(jax.jit(jax.vmap(schedule))(jnp.arange(steps + 1, dtype=jnp.int32)), np.float64)


def test_swalr_equals_torch(request):
    require_live(torch_available(), "needs live torch")
    from torch.optim import swa_utils as ref

    rng = seeded_rng(request.node.name)[0]
    draws = [dict(lr=0.1, swa_lr=0.05), dict(lr=0.1, swa_lr=0.3, anneal_epochs=0),
             dict(lr=0.05, swa_lr=0.01, anneal_epochs=1, anneal_strategy="linear")]
    draws += [dict(lr=rng.uniform(0.01, 1), swa_lr=rng.uniform(0.0, 1), anneal_epochs=rng.randint(0, 60),
                   anneal_strategy=rng.choice(["cos", "linear"])) for _ in range(4)]
    for kw in draws:
        args = {k: v for k, v in kw.items() if k != "lr"}
        want = torch_lrs(lambda opt, args=args: [ref.SWALR(opt, **args)], kw["lr"], STEPS, lambda t: 0)
        got = zoo_lrs(swa_utils.SWALR(**kw), STEPS)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=str(kw))


def test_swalr_steps_per_epoch():
    s, e = swa_utils.SWALR(0.1, 0.01, anneal_epochs=3, steps_per_epoch=4), swa_utils.SWALR(0.1, 0.01, anneal_epochs=3)
    assert [float(s(t)) for t in range(20)] == [float(e(t // 4)) for t in range(20)]


def test_torch_recipe_cosine_then_swalr():
    """torch's documented recipe: SWALR built at the start, CosineAnnealingLR stepped after epochs
    0..swa_start, SWALR after the later ones — the zoo's join_schedules form."""
    require_live(torch_available(), "needs live torch")
    from torch.optim import lr_scheduler as TL
    from torch.optim import swa_utils as ref

    for swa_start, anneal, strategy in [(30, 10, "cos"), (12, 25, "linear"), (40, 1, "cos")]:
        def make(opt, anneal=anneal, strategy=strategy):
            return [TL.CosineAnnealingLR(opt, T_max=60),
                    ref.SWALR(opt, swa_lr=0.02, anneal_epochs=anneal, anneal_strategy=strategy)]

        want = torch_lrs(make, 0.1, STEPS, lambda t, swa_start=swa_start: 1 if t > swa_start else 0)
        cos = L.CosineAnnealingLR(0.1, T_max=60)
        swa = swa_utils.SWALR(cos(swa_start + 1), swa_lr=0.02, anneal_epochs=anneal, anneal_strategy=strategy)
        got = zoo_lrs(zoo.join_schedules([cos, swa], [swa_start + 1]), STEPS)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


AVERAGERS = {
    "swa": (lambda ref: {}, lambda: {}),
    "ema-multi": (lambda ref: dict(multi_avg_fn=ref.get_ema_multi_avg_fn(0.9)),
                  lambda: dict(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))),
    "ema-avg": (lambda ref: dict(avg_fn=ref.get_ema_avg_fn(0.95)), lambda: dict(avg_fn=swa_utils.get_ema_avg_fn(0.95))),
    "swa-avg": (lambda ref: dict(avg_fn=ref.get_swa_avg_fn()), lambda: dict(avg_fn=swa_utils.get_swa_avg_fn())),
}


def torch_averaged_path(dtype, averager, start, every, lr=0.05, momentum=0.9):
    import torch
    from torch.optim import swa_utils as ref

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterDict({k: torch.nn.Parameter(torch.tensor(v))
                                             for k, v in start_values(dtype).items()})

    model = Model()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    swa = ref.AveragedModel(model, **AVERAGERS[averager][0](ref))
    path = {k: [] for k in model.p}
    for n in range(1, STEPS + 1):
        opt.zero_grad()
        torch_loss(dict(model.p)).backward()
        opt.step()
        if n >= start and (n - start) % every == 0:
            swa.update_parameters(model)
        for k, v in swa.module.p.items():
            path[k].append(v.detach().numpy().copy())
    return {k: np.stack(v) for k, v in path.items()}


def zoo_averaged_path(dtype, averager, start, every, lr=0.05, momentum=0.9):
    tx = zoo.chain(tc.SGD(lr=lr, momentum=momentum), swa_utils.AveragedModel(**AVERAGERS[averager][1](),
                                                                            start=start, every=every))

    def step(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(loss)(p), s, p)
        p = zoo.apply_updates(p, u)
        return (p, s), swa_utils.averaged_params(s)

    params = make_params(dtype)
    _, path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=STEPS))((params, tx.init(params)))
    return path


@pytest.mark.parametrize("averager", sorted(AVERAGERS))
def test_averaged_model_equals_torch(averager, dtype):
    require_live(torch_available(), "needs live torch")
    for start, every in [(1, 1), (31, 5)]:
        got = zoo_averaged_path(dtype, averager, start, every)
        assert all(x.dtype == jnp.dtype(dtype) for x in jax.tree.leaves(got))
        assert_trajectories_close(got, torch_averaged_path(dtype, averager, start, every), dtype)


def test_averaged_params_before_any_update_are_the_start_weights_and_donation_safe():
    params = make_params()
    tx = swa_utils.AveragedModel(start=5)
    state = tx.init(params)
    for a, p in zip(jax.tree.leaves(swa_utils.averaged_params(state)), jax.tree.leaves(params)):
        assert np.array_equal(a, p) and a is not p


def test_averaged_model_under_nnx_optimizer():
    """flax.nnx.Optimizer (init with Variables, update with arrays): the EMA is readable from opt_state."""
    from flax import nnx

    model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
    tx = zoo.chain(tc.SGD(lr=0.1), swa_utils.AveragedModel(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.5)))
    opt = nnx.Optimizer(model, tx, wrt=nnx.Param)
    x = jnp.ones((4, 3))

    @nnx.jit
    def train_step(model, opt):
        grads = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(model)
        opt.update(model, grads)

    leaves = lambda t: [np.array(getattr(v, "value", v)) for v in jax.tree.leaves(t)]  # noqa: E731 - snapshots
    before = leaves(nnx.state(model, nnx.Param))
    train_step(model, opt)
    ema, after = leaves(swa_utils.averaged_params(opt.opt_state)), leaves(nnx.state(model, nnx.Param))
    for e, a, b in zip(ema, after, before):
        assert not np.allclose(a, b)
        np.testing.assert_allclose(e, a, rtol=1e-12)  # the first update copies the new weights
    train_step(model, opt)
    for e, a, prev in zip(leaves(swa_utils.averaged_params(opt.opt_state)), leaves(nnx.state(model, nnx.Param)), ema):
        np.testing.assert_allclose(e, 0.5 * prev + 0.5 * a, rtol=1e-6)


def test_averaged_model_passes_extra_args_in_a_chain():
    """value= for a ReduceLROnPlateau lr before it in the chain (it used to raise a TypeError)."""
    tx = zoo.chain(tc.SGD(lr=tc.lr_scheduler.ReduceLROnPlateau(0.1, patience=0)), swa_utils.AveragedModel())
    params = make_params()
    state = tx.init(params)
    for value in (1.0, 2.0, 3.0):
        _, state = jax.jit(tx.update)(params, state, params, value=jnp.asarray(value))
    assert float(zoo.current_hyperparams(state[0])["lr"]) == pytest.approx(0.1 * 0.1**2)


BAD = [
    (swa_utils.SWALR, dict(lr=0.1, swa_lr=-0.1), "swa_lr"),
    (swa_utils.SWALR, dict(lr=0.1, swa_lr=0.1, anneal_epochs=-1), "anneal_epochs"),
    (swa_utils.SWALR, dict(lr=0.1, swa_lr=0.1, anneal_strategy="exp"), "anneal_strategy"),
    (swa_utils.get_ema_multi_avg_fn, dict(decay=1.5), "decay"),
    (swa_utils.get_ema_avg_fn, dict(decay=-0.1), "decay"),
    (swa_utils.AveragedModel, dict(avg_fn=lambda a, c, n: a, multi_avg_fn=lambda a, c, n: a), "multi_avg_fn"),
    (swa_utils.AveragedModel, dict(start=0), "start"),
    (swa_utils.AveragedModel, dict(every=0), "every"),
]


@pytest.mark.parametrize("fn,kw,arg", BAD, ids=[f"{f.__name__}-{a}" for f, _, a in BAD])
def test_bad_arguments_raise(fn, kw, arg):
    with pytest.raises(ValueError, match=f"jaxopt_zoo.torch_compat.swa_utils.{fn.__name__}: argument `{arg}`"):
        fn(**kw)


def test_averaged_params_needs_one_averaged_model_state():
    with pytest.raises(ValueError, match="averaged_params: argument `state`"):
        swa_utils.averaged_params(tc.SGD(lr=0.1).init(make_params()))
