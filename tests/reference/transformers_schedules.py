"""Shared by the transformers-schedule suites: transformers' lr sequence, live or from fixtures.

``hf_sequence(name, lr, steps, **kwargs)`` runs torch SGD with ``transformers.optimization.<name>``
and records the lr the optimizer uses at steps 0..steps (the lr after t scheduler steps).
tools/fixtures/transformers_schedules.py writes FIXED_CASES with those sequences to
fixtures/transformers_schedules.json for machines without transformers (``make fixtures``).
"""

import json
import os

import numpy as np

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "transformers_schedules.json")


def transformers_available() -> bool:
    try:
        import torch  # noqa: F401
        import transformers.optimization  # noqa: F401
    except ImportError:
        return False
    return True


def hf_sequence(name: str, lr: float, steps: int, **kwargs) -> list:
    """transformers' lr at scheduler steps 0..steps (``last_epoch`` given: resumed, torch's way)."""
    import torch
    import transformers.optimization as hf

    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    if kwargs.get("last_epoch", -1) != -1:  # torch resumes from the groups' initial_lr
        opt.param_groups[0]["initial_lr"] = lr
    sched = getattr(hf, name)(opt, **kwargs)
    out = []
    for t in range(steps + 1):
        out.append(float(opt.param_groups[0]["lr"]))
        if t < steps:
            opt.step()
            sched.step()
    return out


def case(name, lr, steps, **kwargs):
    return dict(name=name, lr=lr, steps=steps, kwargs=kwargs)


FIXED_CASES = [
    case("get_constant_schedule", 0.1, 20),
    case("get_constant_schedule_with_warmup", 0.1, 60, num_warmup_steps=25),
    case("get_constant_schedule_with_warmup", 0.3, 20, num_warmup_steps=0),
    case("get_linear_schedule_with_warmup", 5e-5, 130, num_warmup_steps=10, num_training_steps=120),
    case("get_linear_schedule_with_warmup", 1e-3, 60, num_warmup_steps=0, num_training_steps=50, last_epoch=7),
    case("get_cosine_schedule_with_warmup", 2e-4, 130, num_warmup_steps=13, num_training_steps=117),
    case("get_cosine_schedule_with_warmup", 0.1, 130, num_warmup_steps=5, num_training_steps=100, num_cycles=1.7),
    case("get_cosine_with_hard_restarts_schedule_with_warmup", 0.1, 130, num_warmup_steps=10,
         num_training_steps=110, num_cycles=3),
    case("get_cosine_with_hard_restarts_schedule_with_warmup", 0.05, 60, num_warmup_steps=0, num_training_steps=55),
    case("get_polynomial_decay_schedule_with_warmup", 1e-3, 130, num_warmup_steps=10, num_training_steps=100),
    case("get_polynomial_decay_schedule_with_warmup", 0.1, 130, num_warmup_steps=3, num_training_steps=90,
         lr_end=1e-3, power=2.5),
    case("get_inverse_sqrt_schedule", 0.1, 130, num_warmup_steps=16),
    case("get_inverse_sqrt_schedule", 0.1, 130, num_warmup_steps=10, timescale=3),
    case("get_inverse_sqrt_schedule", 0.1, 60, num_warmup_steps=0),
    case("get_cosine_with_min_lr_schedule_with_warmup", 0.1, 130, num_warmup_steps=10, num_training_steps=100,
         min_lr=1e-3),
    case("get_cosine_with_min_lr_schedule_with_warmup", 0.1, 130, num_warmup_steps=7, num_training_steps=100,
         num_cycles=0.8, min_lr_rate=0.2),
    case("get_wsd_schedule", 0.1, 130, num_warmup_steps=10, num_decay_steps=30, num_training_steps=100),
    case("get_wsd_schedule", 0.1, 130, num_warmup_steps=12, num_decay_steps=40, num_stable_steps=50,
         warmup_type="cosine", decay_type="1-sqrt", min_lr_ratio=0.1),
    case("get_wsd_schedule", 0.1, 130, num_warmup_steps=12, num_decay_steps=40, num_stable_steps=20,
         warmup_type="1-sqrt", decay_type="linear", min_lr_ratio=0.05, num_cycles=0.7),
    case("get_wsd_schedule", 0.1, 130, num_warmup_steps=12, num_decay_steps=40, num_stable_steps=20,
         decay_type="cosine", num_cycles=0.7),
]


def load_fixtures() -> list:
    with open(FIXTURE) as f:
        return json.load(f)


def assert_close(got, want, rtol: float = 1e-12, what: str = "") -> None:
    """Every step equal to ``rtol`` relative to the largest value of ``want``."""
    g, w = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert g.shape == w.shape, (what, g.shape, w.shape)
    assert np.all(np.isfinite(g)), f"{what}: non-finite values {g}"
    err = np.abs(g - w) / max(float(np.max(np.abs(w))), 1e-30)
    i = int(np.argmax(err))
    assert err[i] <= rtol, f"{what}: relative error {err[i]:.2e} at step {i}: got {g[i]!r}, transformers {w[i]!r}"
