"""The parity harness: run a transformation and its reference side by side.

A parity test (DESIGN §4) runs >= 100 steps on a pytree with a scalar, a vector and a 3-D
leaf, with gradients that depend on the parameters, and compares the *whole* trajectory
against the reference: float64 to 1e-10 relative, float32 to 1e-5.

``relative`` is measured per leaf against the scale of that leaf's reference trajectory
(``max |reference|``), so values that pass through zero are not held to an impossible bound.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import random
import zlib
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

RTOL = {"float64": 1e-10, "float32": 1e-5}


def x64_is_off() -> bool:
    """Whether this test runs in JAX's default mode, x64 off (the ``[float32-x64off]`` case of
    the ``dtype`` fixture): Python floats then become float32."""
    return not jax.config.jax_enable_x64 and jnp.asarray(1.0).dtype == jnp.float32
STEPS = 120
SHAPES = {"scalar": (), "vector": (5,), "cube": (2, 3, 4)}


def start_values(dtype: str = "float64", seed: int = 0) -> dict:
    """The start parameters of ``make_params`` as numpy arrays (for torch references: a
    float64 torch run needs no JAX float64, so it also runs when x64 is off)."""
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-2.0, 2.0, size=s).astype(dtype) for k, s in SHAPES.items()}


def make_params(dtype: str = "float64", seed: int = 0) -> dict:
    """Start parameters: a scalar, a vector and a 3-D leaf, values in about [-2, 2]."""
    return {k: jnp.asarray(v, dtype=dtype) for k, v in start_values(dtype, seed).items()}


def _curvatures(seed: int = 0) -> dict:
    rng = np.random.default_rng(1000 + seed)
    return {k: rng.uniform(0.5, 3.0, size=s) for k, s in SHAPES.items()}


def loss(params: dict, seed: int = 0) -> jax.Array:
    """A smooth non-quadratic loss: sum_i c_i/2 (x_i - 0.3)^2 + 0.2 cos(2 x_i) + 0.05 x_i^4 / 4.

    Its gradient depends on the parameters in a non-linear way, the minimum is not at zero,
    and it stays well conditioned so trajectories do not amplify rounding differences.
    """
    c = _curvatures(seed)
    total = 0.0
    for k, x in params.items():
        ck = jnp.asarray(c[k], dtype=x.dtype)
        total = total + jnp.sum(0.5 * ck * (x - 0.3) ** 2 + 0.2 * jnp.cos(2.0 * x) + 0.0125 * x**4)
    return total


def torch_loss(params: dict, seed: int = 0):
    """The same loss for a dict of torch tensors (for torch.optim references)."""
    import torch

    c = _curvatures(seed)
    total = 0.0
    for k, x in params.items():
        ck = torch.as_tensor(c[k], dtype=x.dtype)
        total = total + torch.sum(0.5 * ck * (x - 0.3) ** 2 + 0.2 * torch.cos(2.0 * x) + 0.0125 * x**4)
    return total


def trajectory(
    tx,
    params: Any,
    steps: int = STEPS,
    loss_fn: Callable = loss,
    jit: bool = True,
    extra_args: Callable[[Any, jax.Array], dict] | None = None,
    apply: Callable | None = None,
):
    """Run ``steps`` updates of ``tx`` from ``params``; return the stacked params after each step.

    Args:
      tx: any (init, update) pair (zoo or optax).
      params: start parameters.
      loss_fn: ``params -> scalar``; gradients come from ``jax.grad`` of it.
      jit: run the whole trajectory in one ``lax.scan`` under ``jit`` (else a Python loop).
      extra_args: ``(params, loss_value) -> dict`` of keyword arguments for ``update``
        (for instance ``value=``).
      apply: how to add updates to params (default ``jaxopt_zoo.apply_updates``).
    """
    import jaxopt_zoo as zoo

    apply = apply or zoo.apply_updates
    value_and_grad = jax.value_and_grad(loss_fn)

    def step(carry, _):
        p, s = carry
        value, g = value_and_grad(p)
        kwargs = extra_args(p, value) if extra_args else {}
        u, s = tx.update(g, s, p, **kwargs)
        p = apply(p, u)
        return (p, s), p

    state = tx.init(params)
    if jit:
        _, path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, state))
        return path
    carry, path = (params, state), []
    for _ in range(steps):
        carry, p = step(carry, None)
        path.append(p)
    return jax.tree.map(lambda *xs: jnp.stack(xs), *path)


def torch_trajectory(make_optimizer: Callable, params: dict, steps: int = STEPS, seed: int = 0, closure_value: bool = False, scheduler: Callable | None = None):
    """Run a torch optimizer on ``torch_loss`` from ``params`` (numpy/jax arrays).

    Args:
      make_optimizer: ``list_of_tensors -> torch optimizer``.
      params: start parameters (dict of arrays); their dtype is kept.
      closure_value: pass the loss value to ``scheduler.step`` (ReduceLROnPlateau).
      scheduler: optional ``optimizer -> torch lr scheduler``; stepped after every step.

    Returns:
      A dict of numpy arrays, each stacked over steps like ``trajectory``.
    """
    import torch

    tensors = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in params.items()}
    opt = make_optimizer(list(tensors.values()))
    sched = scheduler(opt) if scheduler else None
    path = {k: [] for k in tensors}
    for _ in range(steps):
        opt.zero_grad()
        value = torch_loss(tensors, seed)
        value.backward()
        opt.step()
        if sched is not None:
            sched.step(value.item()) if closure_value else sched.step()
        for k, t in tensors.items():
            path[k].append(t.detach().numpy().copy())
    return {k: np.stack(v) for k, v in path.items()}


@contextlib.contextmanager
def float64_torch_scalars():
    """pytorch_optimizer keeps its global statistics in tensors of torch's default dtype
    (float32); a float64 comparison needs them in float64."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def torch_available() -> bool:
    """Whether live torch can be imported (else parity runs against committed fixtures)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def require_live(available: bool, reason: str) -> None:
    """Skip the calling test when the live reference it compares against is not installed.

    Only for checks that have no committed fixture (random draws, claims about the reference
    library itself): they are reported as skipped, with ``reason``, instead of passing
    without having compared anything. CI installs every reference, so nothing skips there.
    """
    if not available:
        pytest.skip(reason)


def assert_trajectories_close(got, want, dtype: str, rtol: float | None = None) -> None:
    """Every step of every leaf agrees to ``rtol`` relative to that leaf's scale."""
    rtol = RTOL[str(dtype)] if rtol is None else rtol
    got_leaves, got_def = jax.tree.flatten(got)
    want_leaves, want_def = jax.tree.flatten(want)
    assert got_def == want_def, f"structures differ:\n{got_def}\n{want_def}"
    paths = [jax.tree_util.keystr(k) for k, _ in jax.tree_util.tree_flatten_with_path(want)[0]]
    for name, g, w in zip(paths, got_leaves, want_leaves):
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        assert g.shape == w.shape, f"{name}: shape {g.shape} != {w.shape}"
        assert np.all(np.isfinite(w)), f"{name}: the reference trajectory is not finite"
        scale = max(float(np.max(np.abs(w))), 1e-30)
        err = np.abs(g - w) / scale
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err[worst] <= rtol, (
            f"{name}: relative error {err[worst]:.3e} > {rtol:.0e} at step {worst[0]} "
            f"(got {g[worst]!r}, want {w[worst]!r}, scale {scale:.3e})"
        )


def seeded_rng(request_node_name: str) -> tuple[random.Random, int]:
    """A random generator for hyperparameters, with its seed printed so a failure replays.

    Set ``ZOO_SEED`` to replay a seed; by default it is derived from the test's name so a
    run is reproducible.
    """
    seed = int(os.environ.get("ZOO_SEED", zlib.crc32(request_node_name.encode())))
    print(f"hyperparameter seed for {request_node_name}: {seed} (replay with ZOO_SEED={seed})")
    return random.Random(seed), seed


def assert_same_as_optax(zoo_tx, optax_tx, dtype: str, steps: int = STEPS, rtol: float | None = None, **kwargs) -> None:
    """Run a zoo transformation and an optax one side by side from the same start."""
    import optax

    params = make_params(dtype)
    got = trajectory(zoo_tx, params, steps, **kwargs)
    want = trajectory(optax_tx, params, steps, apply=optax.apply_updates, **kwargs)
    assert_trajectories_close(got, want, dtype, rtol)


def cases(fixed: dict, n_random: int = 1) -> list:
    """Parametrize cases: every fixed (name, kwargs) plus ``n_random`` random draws per name.

    A random case carries ``None`` kwargs; the test draws them with ``seeded_rng`` so the
    seed is printed and replayable.
    """
    out = [(name, h) for name, hs in fixed.items() for h in hs]
    out += [(name, None) for name in fixed for _ in range(n_random)]
    return out


def _id_value(v) -> str:
    """A stable id for a parameter value: functions by name, not by address (xdist needs
    every worker to collect the same ids)."""
    return getattr(v, "__name__", None) or str(v) if callable(v) else str(v)


def case_id(x) -> str:
    if isinstance(x, dict):
        return "-".join(f"{k}={_id_value(v)}" for k, v in x.items()) or "defaults"
    return "random" if x is None else str(x)


def int_args(factory: Callable, kwargs: dict) -> tuple:
    """The integer arguments of ``factory(**kwargs)``, defaults included (periods, sizes, step
    counts shape the computation: under ``inject_hyperparams`` they are kept in ``static_args``)."""
    bound = inspect.signature(factory).bind(**kwargs)
    bound.apply_defaults()
    return tuple(k for k, v in bound.arguments.items() if isinstance(v, int) and not isinstance(v, bool))
