"""torch_compat.clip_grad_norm / clip_grad_value against torch.nn.utils.clip_grad_norm_ /
clip_grad_value_, each called between backward() and a torch optimizer's step(), as torch users
do: whole 100-step trajectories (float64 to 1e-12) and the total norm torch returns."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import assert_trajectories_close, loss, make_params, require_live, start_values, torch_available, torch_loss
from tests.reference.torch_compat_cases import X64_OFF_RTOL

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc

STEPS = 100
# (id, clip kind, clip arguments, torch optimizer, its keywords). The limits bind for the first
# steps and not for the last ones (checked below), so both sides of min(coef, 1) are used.
CASES = [
    ("norm2-sgd", "norm", dict(max_norm=2.0), "SGD", dict(lr=0.05, momentum=0.9)),
    ("norm-inf-adamw", "norm", dict(max_norm=1.0, norm_type=math.inf), "AdamW", dict(lr=0.02, weight_decay=0.05)),
    ("norm1.5-sgd-nesterov", "norm", dict(max_norm=3.0, norm_type=1.5), "SGD", dict(lr=0.03, momentum=0.8, nesterov=True)),
    ("value-adam", "value", dict(clip_value=2.0), "Adam", dict(lr=0.02, amsgrad=True)),
]


def _torch_run(kind, clip_kwargs, opt_name, opt_kwargs, dtype):
    import torch

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in start_values(dtype).items()}
    params = list(tensors.values())
    opt = getattr(torch.optim, opt_name)(params, **opt_kwargs)
    path, norms = {k: [] for k in tensors}, []
    for _ in range(STEPS):
        opt.zero_grad()
        torch_loss(tensors).backward()
        if kind == "norm":
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, **clip_kwargs)))
        else:
            norms.append(max(float(p.grad.abs().max()) for p in params))
            torch.nn.utils.clip_grad_value_(params, **clip_kwargs)
        opt.step()
        for k, t in tensors.items():
            path[k].append(t.detach().numpy().copy())
    return {k: np.stack(v) for k, v in path.items()}, np.asarray(norms)


def _zoo_run(tx, dtype):
    def step(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(loss)(p), s, p)
        p = zoo.apply_updates(p, u)
        return (p, s), (p, s[0].total_norm if hasattr(s[0], "total_norm") else jnp.zeros([]))

    params = make_params(dtype)
    _, (path, norms) = jax.jit(lambda c: jax.lax.scan(step, c, None, length=STEPS))((params, tx.init(params)))
    return jax.tree.map(np.asarray, path), np.asarray(norms, np.float64)


def _clip(kind, kwargs):
    return tc.clip_grad_norm(**kwargs) if kind == "norm" else tc.clip_grad_value(**kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_clipping_in_a_chain_equals_torch(case, dtype):
    require_live(torch_available(), "needs live torch")
    _, kind, clip_kwargs, opt_name, opt_kwargs = case
    want, torch_norms = _torch_run(kind, clip_kwargs, opt_name, opt_kwargs, dtype)
    limit = clip_kwargs.get("max_norm", clip_kwargs.get("clip_value"))
    assert np.any(torch_norms > limit * 1.01) and np.any(torch_norms < limit * 0.99), torch_norms  # both sides used
    got, norms = _zoo_run(zoo.chain(_clip(kind, clip_kwargs), getattr(tc, opt_name)(**opt_kwargs)), dtype)
    rtol = {"float64": 1e-12, "float32": X64_OFF_RTOL if not jax.config.jax_enable_x64 else None}[dtype]
    assert_trajectories_close(got, want, dtype, rtol)
    if kind == "norm":  # the state holds what torch's clip_grad_norm_ returns (relative to the largest)
        err = np.max(np.abs(norms - torch_norms)) / np.max(torch_norms)
        assert err <= (1e-12 if dtype == "float64" else 1e-5), err


def test_torch_clipping_is_not_optaxs():
    """The README row: optax's clip_by_global_norm scales by max_norm / norm (no 1e-6), so it
    differs from torch's in float64; torch_compat.clip_grad_norm does not."""
    require_live(torch_available(), "the claim is about torch itself")
    want, _ = _torch_run("norm", dict(max_norm=2.0), "SGD", dict(lr=0.05, momentum=0.9), "float64")
    theirs, _ = _zoo_run(optax.chain(optax.clip_by_global_norm(2.0), tc.SGD(lr=0.05, momentum=0.9)), "float64")
    with pytest.raises(AssertionError):
        assert_trajectories_close(theirs, want, "float64", 1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 0.5, math.inf, -math.inf, 0.0, "inf"])
def test_total_norm_of_any_order_is_torchs(norm_type):
    """One step on a tree with a zero and a negative entry: every norm_type torch accepts."""
    require_live(torch_available(), "needs live torch")
    import torch

    grads = {"a": np.array([3.0, -4.0, 0.0]), "b": np.array([[0.5, -0.25], [2.0, 1.0]]), "c": np.array(-1.5)}
    ts = [torch.nn.Parameter(torch.zeros(np.shape(v), dtype=torch.float64)) for v in grads.values()]
    for t, v in zip(ts, grads.values()):
        t.grad = torch.tensor(v)
    total = float(torch.nn.utils.clip_grad_norm_(ts, 1.0, norm_type=norm_type))
    tx = tc.clip_grad_norm(1.0, norm_type=norm_type)
    g = jax.tree.map(jnp.asarray, grads)
    clipped, state = tx.update(g, tx.init(g))
    assert float(state.total_norm) == pytest.approx(total, rel=1e-14)
    for k, t in zip(grads, ts):
        np.testing.assert_allclose(np.asarray(clipped[k]), t.grad.numpy(), rtol=1e-14)


def test_clip_grad_value_keeps_dtype_and_the_norm_state_starts_at_zero():
    g = {"w": jnp.array([-2.0, 0.1, 3.0], jnp.float32)}
    out, _ = tc.clip_grad_value(0.5).update(g, tc.clip_grad_value(0.5).init(g))
    assert out["w"].dtype == jnp.float32 and out["w"].tolist() == pytest.approx([-0.5, 0.1, 0.5])
    assert float(tc.clip_grad_norm(1.0).init(g).total_norm) == 0.0


@pytest.mark.parametrize("call,arg", [
    (lambda: tc.clip_grad_norm(-1.0), "max_norm"),
    (lambda: tc.clip_grad_norm(1.0, norm_type="two"), "norm_type"),
    (lambda: tc.clip_grad_norm(1.0, error_if_nonfinite=True), "error_if_nonfinite"),
    (lambda: tc.clip_grad_value(-0.1), "clip_value"),
], ids=["max_norm", "norm_type", "error_if_nonfinite", "clip_value"])
def test_bad_arguments_raise_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.torch_compat\.clip_grad_(norm|value): argument `{arg}`"):
        call()


def test_signatures_are_torchs_minus_parameters():
    require_live(torch_available(), "needs live torch")
    import inspect

    import torch

    for ours, theirs in ((tc.clip_grad_norm, torch.nn.utils.clip_grad_norm_), (tc.clip_grad_value, torch.nn.utils.clip_grad_value_)):
        want = [(p.name, p.default) for p in list(inspect.signature(theirs).parameters.values())[1:]]
        assert [(p.name, p.default) for p in inspect.signature(ours).parameters.values()] == want
