"""The torch side of the schedule parity suites, shared by the tests and the fixture writer.

Each case names a zoo schedule and the torch scheduler it must equal; ``torch_sequence``
runs torch (lr after t calls of ``scheduler.step()``, t = 0..steps) and ``zoo_sequence``
evaluates the zoo schedule at the same steps. tools/fixtures/schedules.py writes ``FIXED_CASES`` with
torch's sequences to fixtures/schedules_torch.json (``make fixtures``).
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from tests.reference.harness import torch_available  # noqa: F401  (re-exported for the tests)

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "schedules_torch.json")

# (zoo name, zoo kwargs, steps): the torch scheduler is derived from these in torch_sequence.
FIXED_CASES = [
    ("step_decay_schedule", dict(init_value=0.1, step_size=30, gamma=0.1), 100),
    ("step_decay_schedule", dict(init_value=0.5, step_size=7, gamma=0.8), 100),
    ("multistep_decay_schedule", dict(init_value=0.1, milestones=[50, 80, 100], gamma=0.1), 120),
    ("multistep_decay_schedule", dict(init_value=1.0, milestones=[3, 3, 10], gamma=0.5), 40),
    ("inverse_time_decay_schedule", dict(init_value=0.3, decay_rate=0.05), 100),
    ("cosine_warm_restarts_schedule", dict(init_value=0.1, t_0=10, t_mult=1, eta_min=0.0), 100),
    ("cosine_warm_restarts_schedule", dict(init_value=0.1, t_0=5, t_mult=2, eta_min=1e-3), 200),
    ("cosine_warm_restarts_schedule", dict(init_value=0.05, t_0=3, t_mult=3, eta_min=0.0), 300),
    ("one_cycle_schedule", dict(max_value=0.1, total_steps=100), 100),
    ("one_cycle_schedule", dict(max_value=0.3, total_steps=77, pct_start=0.25, anneal_strategy="linear",
                                div_factor=10.0, final_div_factor=100.0), 77),
    ("one_cycle_schedule", dict(max_value=0.2, total_steps=120, three_phase=True), 120),
    ("cyclic_schedule", dict(base_value=1e-3, max_value=6e-3, step_size_up=10), 100),
    ("cyclic_schedule", dict(base_value=1e-3, max_value=6e-3, step_size_up=7, step_size_down=13, mode="triangular2"), 150),
    ("cyclic_schedule", dict(base_value=0.01, max_value=0.1, step_size_up=5, mode="exp_range", gamma=0.97), 100),
    ("warmup_linear_decay_schedule", dict(peak_value=5e-5, warmup_steps=10, total_steps=100), 120),
    ("warmup_linear_decay_schedule", dict(peak_value=1e-3, warmup_steps=0, total_steps=50), 60),
]


def _lambda_for(name, kw):
    if name == "inverse_time_decay_schedule":
        return lambda t: 1.0 / (1.0 + kw["decay_rate"] * t)
    warm, total = kw["warmup_steps"], kw["total_steps"]
    return lambda t: t / max(1, warm) if t < warm else max(0.0, (total - t) / max(1, total - warm))


def torch_sequence(name: str, kw: dict, steps: int) -> dict:
    """torch's lr (and momentum, where torch cycles it) after t = 0..steps scheduler steps."""
    import torch
    from torch.optim import lr_scheduler as L

    base = {"one_cycle_schedule": kw.get("max_value"), "cyclic_schedule": kw.get("base_value")}.get(name)
    base = base if base is not None else kw.get("init_value", kw.get("peak_value"))
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=base, momentum=0.9)
    if name == "step_decay_schedule":
        sched = L.StepLR(opt, step_size=kw["step_size"], gamma=kw["gamma"])
    elif name == "multistep_decay_schedule":
        sched = L.MultiStepLR(opt, milestones=kw["milestones"], gamma=kw["gamma"])
    elif name in ("inverse_time_decay_schedule", "warmup_linear_decay_schedule"):
        sched = L.LambdaLR(opt, _lambda_for(name, kw))
    elif name == "cosine_warm_restarts_schedule":
        sched = L.CosineAnnealingWarmRestarts(opt, T_0=kw["t_0"], T_mult=kw["t_mult"], eta_min=kw["eta_min"])
    elif name == "one_cycle_schedule":
        sched = L.OneCycleLR(opt, max_lr=kw["max_value"], total_steps=kw["total_steps"],
                             pct_start=kw.get("pct_start", 0.3), anneal_strategy=kw.get("anneal_strategy", "cos"),
                             div_factor=kw.get("div_factor", 25.0), final_div_factor=kw.get("final_div_factor", 1e4),
                             three_phase=kw.get("three_phase", False))
    elif name == "cyclic_schedule":
        sched = L.CyclicLR(opt, base_lr=kw["base_value"], max_lr=kw["max_value"], step_size_up=kw["step_size_up"],
                           step_size_down=kw.get("step_size_down"), mode=kw.get("mode", "triangular"),
                           gamma=kw.get("gamma", 1.0))
    else:
        raise KeyError(name)
    lrs, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(float(opt.param_groups[0]["lr"]))
        moms.append(float(opt.param_groups[0]["momentum"]))
    out = {"lr": lrs}
    if name in ("one_cycle_schedule", "cyclic_schedule"):
        out["momentum"] = moms
    return out


def zoo_sequence(name: str, kw: dict, steps: int) -> dict:
    import jax
    import jax.numpy as jnp

    import jaxopt_zoo as zoo

    schedule = getattr(zoo, name)(**kw)
    t = jnp.arange(steps + 1, dtype=jnp.int32)
    out = {"lr": np.asarray(jax.jit(jax.vmap(schedule))(t), np.float64) * np.ones(steps + 1)}
    if hasattr(schedule, "momentum"):
        out["momentum"] = np.asarray(jax.jit(jax.vmap(schedule.momentum))(t), np.float64) * np.ones(steps + 1)
    return out


def load_fixtures() -> list:
    with open(FIXTURE) as f:
        return json.load(f)


def assert_sequences_close(got: dict, want: dict, rtol: float = 1e-12) -> None:
    for key in want:
        g, w = np.asarray(got[key], np.float64), np.asarray(want[key], np.float64)
        assert g.shape == w.shape, (key, g.shape, w.shape)
        scale = max(float(np.max(np.abs(w))), 1e-30)
        err = np.abs(g - w) / scale
        i = int(np.argmax(err))
        assert err[i] <= rtol, f"{key}: relative error {err[i]:.2e} > {rtol:.0e} at step {i}: got {g[i]!r}, torch {w[i]!r}"
        assert not math.isnan(float(np.sum(g)))
