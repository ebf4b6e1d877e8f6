"""The torch side of the torch_compat.lr_scheduler parity suite, shared with the fixture writer.

A case is a JSON-able dict ``{"name", "lr", "kwargs", "steps", "steps_per_epoch"}``: the
torch_compat scheduler ``name`` built as ``name(lr, **kwargs, steps_per_epoch=...)`` (``lr``
is ``None`` for CyclicLR / OneCycleLR, which take torch's arguments only). Callables are named
(``LAMBDAS``: a torch version on Python ints, a jnp version on traced ints); members of
SequentialLR / ChainedScheduler are ``[name, kwargs]`` pairs.

``torch_sequence`` runs a training loop in torch — ``optimizer.step()`` every step,
``scheduler.step()`` every ``steps_per_epoch`` steps — and records the lr used at optimizer
steps ``0..steps`` (plus the momentum of SGD and ``betas[0]`` of Adam for CyclicLR and
OneCycleLR); ``zoo_sequence`` evaluates the schedule at the same steps (jit + vmap over int32
steps). torch is imported lazily, so the fixture tests collect without it.
tools/fixtures/torch_compat_schedulers.py writes ``FIXED_CASES`` with torch's sequences to
fixtures/torch_compat_schedulers.json (``make fixtures``).
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from tests.reference.harness import torch_available  # noqa: F401  (re-exported for the tests)

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "torch_compat_schedulers.json")


def _jnp():
    import jax.numpy as jnp

    return jnp


# name -> (torch version on a Python int, zoo version on an int array)
LAMBDAS = {
    "pow95": (lambda e: 0.95**e, lambda e: 0.95**e),
    "inv": (lambda e: 1.0 / (1.0 + 0.05 * e), lambda e: 1.0 / (1.0 + 0.05 * e)),
    "warmup10": (lambda e: (e + 1) / 10 if e < 10 else 0.97 ** (e - 10),
                 lambda e: _jnp().where(e < 10, (e + 1) / 10, 0.97 ** (e - 10))),
    "const99": (lambda e: 0.99, lambda e: 0.99),
    "wave": (lambda e: 0.98 + 0.03 * math.sin(e), lambda e: 0.98 + 0.03 * _jnp().sin(e)),
    "halve7": (lambda e: 0.5 if e % 7 == 0 else 1.0, lambda e: _jnp().where(e % 7 == 0, 0.5, 1.0)),
    "inv_sqrt": (lambda x: 1.0 / x**0.5, lambda x: 1.0 / x**0.5),
    "decay995": (lambda x: 0.995**x, lambda x: 0.995**x),
}
CALLABLE_ARGS = ("lr_lambda", "scale_fn")
COMPOSITES = ("SequentialLR", "ChainedScheduler")
CYCLICAL = ("CyclicLR", "OneCycleLR")


def case(name, lr, steps, every=1, **kwargs):
    """``every``: optimizer steps per scheduler step (the schedule's ``steps_per_epoch``)."""
    return dict(name=name, lr=lr, kwargs=kwargs, steps=steps, steps_per_epoch=every)


FIXED_CASES = [
    case("LambdaLR", 0.1, 60, lr_lambda="pow95"),
    case("LambdaLR", 0.3, 40, every=3, lr_lambda="warmup10"),
    case("MultiplicativeLR", 0.2, 300, lr_lambda="wave"),
    case("MultiplicativeLR", 0.05, 60, every=2, lr_lambda="halve7"),
    case("StepLR", 0.1, 100, step_size=7, gamma=0.5),
    case("StepLR", 0.1, 120, every=4, step_size=5),
    case("MultiStepLR", 0.4, 80, milestones=[0, 10, 10, 25, 60], gamma=0.3),
    case("MultiStepLR", 0.1, 90, every=5, milestones=[3, 8]),
    case("ConstantLR", 0.1, 30, factor=0.25, total_iters=7),
    case("ConstantLR", 0.1, 40, every=3, factor=1.0, total_iters=2),
    case("LinearLR", 0.1, 40, start_factor=0.01, end_factor=0.5, total_iters=17),
    case("LinearLR", 0.2, 50, every=2, end_factor=0.0, total_iters=9),
    case("ExponentialLR", 0.5, 80, gamma=0.93),
    case("ExponentialLR", 0.5, 40, every=7, gamma=0.5),
    case("PolynomialLR", 0.1, 40, total_iters=25, power=2.5),
    case("PolynomialLR", 0.1, 30, every=2, total_iters=8, power=0.5),
    case("CosineAnnealingLR", 0.1, 130, T_max=20, eta_min=1e-3),
    case("CosineAnnealingLR", 0.05, 70, every=3, T_max=7),
    case("CosineAnnealingWarmRestarts", 0.1, 120, T_0=5, T_mult=2, eta_min=1e-3),
    case("CosineAnnealingWarmRestarts", 0.1, 60, every=2, T_0=4),
    case("CyclicLR", None, 100, base_lr=1e-3, max_lr=6e-3, step_size_up=7, step_size_down=13, mode="triangular2",
         base_momentum=0.7, max_momentum=0.95),
    case("CyclicLR", None, 100, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.97),
    case("CyclicLR", None, 80, base_lr=0.01, max_lr=0.1, step_size_up=6, scale_fn="inv_sqrt"),
    case("CyclicLR", None, 80, base_lr=0.01, max_lr=0.1, step_size_up=4, step_size_down=9, scale_fn="decay995",
         scale_mode="iterations", cycle_momentum=False),
    case("CyclicLR", None, 60, every=3, base_lr=0.02, max_lr=0.2, step_size_up=3),
    case("OneCycleLR", None, 100, max_lr=0.1, total_steps=100),
    case("OneCycleLR", None, 60, max_lr=0.3, epochs=5, steps_per_epoch=12, pct_start=0.25, anneal_strategy="linear",
         div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
    case("OneCycleLR", None, 90, max_lr=0.2, total_steps=90, three_phase=True, cycle_momentum=False),
    case("SequentialLR", 0.1, 60, schedulers=[["LinearLR", dict(start_factor=0.01, total_iters=5)],
                                              ["CosineAnnealingLR", dict(T_max=20)]], milestones=[5]),
    case("SequentialLR", 0.1, 90, every=3,
         schedulers=[["ConstantLR", dict(factor=0.25, total_iters=3)], ["ExponentialLR", dict(gamma=0.9)],
                     ["StepLR", dict(step_size=5, gamma=0.5)]], milestones=[4, 20]),
    case("SequentialLR", 0.2, 40, schedulers=[["ExponentialLR", dict(gamma=0.95)],
                                              ["MultiplicativeLR", dict(lr_lambda="halve7")]], milestones=[6]),
    case("SequentialLR", 0.1, 40, schedulers=[["StepLR", dict(step_size=3)], ["LinearLR", dict(start_factor=0.2)],
                                              ["CosineAnnealingWarmRestarts", dict(T_0=6, eta_min=0.01)]],
         milestones=[0, 10]),
    case("SequentialLR", 0.1, 40, schedulers=[["LambdaLR", dict(lr_lambda="inv")], ["MultiStepLR", dict(milestones=[2])],
                                              ["PolynomialLR", dict(total_iters=10, power=2.0)]], milestones=[4, 4]),
    case("SequentialLR", 0.1, 100, every=2,
         schedulers=[["CosineAnnealingLR", dict(T_max=5, eta_min=0.01)],
                     ["LinearLR", dict(start_factor=0.3, end_factor=0.8, total_iters=6)],
                     ["MultiplicativeLR", dict(lr_lambda="wave")]], milestones=[12, 30]),
    case("ChainedScheduler", 1.0, 40, schedulers=[["ConstantLR", dict(factor=0.1, total_iters=2)],
                                                  ["ExponentialLR", dict(gamma=0.9)]]),
    case("ChainedScheduler", 0.1, 80, schedulers=[["StepLR", dict(step_size=10, gamma=0.5)],
                                                  ["MultiStepLR", dict(milestones=[0, 15, 15, 40], gamma=0.8)]]),
    case("ChainedScheduler", 0.1, 600, schedulers=[["LinearLR", dict(start_factor=0.1, total_iters=30)],
                                                   ["CosineAnnealingLR", dict(T_max=50, eta_min=1e-3)]]),
    case("ChainedScheduler", 0.1, 150, every=2,
         schedulers=[["CosineAnnealingLR", dict(T_max=12)], ["ExponentialLR", dict(gamma=0.97)]]),
    case("ChainedScheduler", 0.1, 50, schedulers=[["ExponentialLR", dict(gamma=0.9)], ["LambdaLR", dict(lr_lambda="inv")],
                                                  ["ConstantLR", dict(factor=0.5, total_iters=4)]]),
    case("ChainedScheduler", 0.1, 60, schedulers=[["CosineAnnealingWarmRestarts", dict(T_0=8, T_mult=2)],
                                                  ["StepLR", dict(step_size=9, gamma=0.7)]]),
    case("ChainedScheduler", 0.1, 300, schedulers=[["MultiplicativeLR", dict(lr_lambda="const99")],
                                                   ["PolynomialLR", dict(total_iters=200, power=1.5)]]),
]


def _resolve(kwargs: dict, which: int) -> dict:
    return {k: (LAMBDAS[v][which] if k in CALLABLE_ARGS else v) for k, v in kwargs.items()}


def make_zoo(c: dict):
    """The torch_compat schedule of a case."""
    from jaxopt_zoo.torch_compat import lr_scheduler as L

    name, kw = c["name"], dict(c["kwargs"])
    if name in CYCLICAL:
        extra = {} if name == "OneCycleLR" else dict(steps_per_epoch=c["steps_per_epoch"])
        return getattr(L, name)(**_resolve(kw, 1), **extra)
    spe = dict(steps_per_epoch=c["steps_per_epoch"])
    if name in COMPOSITES:
        members = [getattr(L, n)(c["lr"], **_resolve(k, 1)) for n, k in kw.pop("schedulers")]
        if name == "SequentialLR":
            return L.SequentialLR(c["lr"], members, **kw, **spe)
        return L.ChainedScheduler(members, **kw, **spe)
    return getattr(L, name)(c["lr"], **_resolve(kw, 1), **spe)


def _make_torch(c: dict, opt):
    from torch.optim import lr_scheduler as L

    name, kw = c["name"], dict(c["kwargs"])
    if name in COMPOSITES:
        members = [getattr(L, n)(opt, **_resolve(k, 0)) for n, k in kw.pop("schedulers")]
        if name == "SequentialLR":
            return L.SequentialLR(opt, members, **kw)
        return L.ChainedScheduler(members)
    return getattr(L, name)(opt, **_resolve(kw, 0))


def _torch_run(c: dict, opt_name: str) -> dict:
    import torch

    param = torch.zeros(1, requires_grad=True)
    lr = c["lr"] if c["lr"] is not None else 0.5  # CyclicLR / OneCycleLR overwrite the optimizer's lr
    if opt_name == "sgd":
        opt = torch.optim.SGD([param], lr=lr, momentum=0.9)
    else:
        opt = torch.optim.Adam([param], lr=lr, betas=(0.9, 0.999))
    sched = _make_torch(c, opt)
    spe, n = c["steps_per_epoch"], c["steps"]
    lrs, moms = [], []
    for t in range(n + 1):
        group = opt.param_groups[0]
        lrs.append(float(group["lr"]))
        moms.append(float(group["momentum"] if opt_name == "sgd" else group["betas"][0]))
        if t == n:
            break
        opt.step()
        if (t + 1) % spe == 0:
            sched.step()
    return dict(lr=lrs, momentum=moms)


def torch_sequence(c: dict) -> dict:
    """torch's lr at optimizer steps 0..steps; for CyclicLR / OneCycleLR with
    ``cycle_momentum`` also SGD's ``momentum`` and Adam's ``betas[0]`` (and Adam's lr)."""
    sgd = _torch_run(c, "sgd")
    out = {"lr": sgd["lr"]}
    if c["name"] in CYCLICAL and c["kwargs"].get("cycle_momentum", True):
        adam = _torch_run(c, "adam")
        out.update(momentum=sgd["momentum"], beta1=adam["momentum"], lr_adam=adam["lr"])
    return out


def zoo_sequence(c: dict, schedule=None) -> dict:
    import jax
    import jax.numpy as jnp

    s = make_zoo(c) if schedule is None else schedule
    n = c["steps"] + 1
    t = jnp.arange(n, dtype=jnp.int32)
    out = {"lr": np.asarray(jax.jit(jax.vmap(s))(t), np.float64) * np.ones(n)}
    if getattr(s, "momentum", None) is not None:
        m = np.asarray(jax.jit(jax.vmap(s.momentum))(t), np.float64) * np.ones(n)
        out.update(momentum=m, beta1=m, lr_adam=out["lr"])
    return out


def load_fixtures() -> list:
    with open(FIXTURE) as f:
        return json.load(f)


def assert_sequences_close(got: dict, want: dict, rtol: float = 1e-12) -> None:
    """Every key of ``want`` (torch) equals ``got`` to ``rtol`` relative to its largest value."""
    assert set(got) == set(want), (sorted(got), sorted(want))
    for key in want:
        g, w = np.asarray(got[key], np.float64), np.asarray(want[key], np.float64)
        assert g.shape == w.shape, (key, g.shape, w.shape)
        assert np.all(np.isfinite(g)), f"{key}: non-finite values {g}"
        scale = max(float(np.max(np.abs(w))), 1e-30)
        err = np.abs(g - w) / scale
        i = int(np.argmax(err))
        assert err[i] <= rtol, f"{key}: relative error {err[i]:.2e} > {rtol:.0e} at step {i}: got {g[i]!r}, torch {w[i]!r}"
