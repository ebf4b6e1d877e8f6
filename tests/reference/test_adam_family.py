"""Adam, AdamW, AMSGrad, NAdam against optax, side by side."""

import optax
import pytest
from harness import assert_trajectories_close, make_params, seeded_rng, trajectory

import jaxopt_zoo as zoo

FIXED = {
    "adam": [dict(learning_rate=1e-2), dict(learning_rate=3e-2, b1=0.5, b2=0.9, eps=1e-6, eps_root=1e-8)],
    "adamw": [dict(learning_rate=1e-2), dict(learning_rate=2e-2, b1=0.8, b2=0.95, weight_decay=0.1, nesterov=True)],
    "amsgrad": [dict(learning_rate=1e-2), dict(learning_rate=5e-2, b1=0.7, b2=0.99, eps=1e-4)],
    "nadam": [dict(learning_rate=1e-2), dict(learning_rate=3e-2, b1=0.85, b2=0.9)],
}


def random_adam_hparams(rng, name):
    h = dict(learning_rate=rng.uniform(1e-3, 5e-2), b1=rng.uniform(0.0, 0.99), b2=rng.uniform(0.5, 0.9999),
             eps=10 ** rng.uniform(-9, -3))
    if name == "adamw":
        h.update(weight_decay=rng.uniform(0.0, 0.3), nesterov=rng.random() < 0.5)
    return h


CASES = [(name, h) for name, hs in FIXED.items() for h in hs] + [(name, None) for name in FIXED]


@pytest.mark.parametrize("name,hparams", CASES, ids=lambda x: str(x) if not isinstance(x, dict) else "fixed")
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng, _ = seeded_rng(request.node.name)
        hparams = random_adam_hparams(rng, name)
    print(name, hparams)
    params = make_params(dtype)
    got = trajectory(getattr(zoo, name)(**hparams), params)
    want = trajectory(getattr(optax, name)(**hparams), params, apply=optax.apply_updates)
    assert_trajectories_close(got, want, dtype)


def test_schedule_learning_rate(dtype):
    sched = optax.cosine_decay_schedule(0.05, 100, alpha=0.1)
    params = make_params(dtype)
    got = trajectory(zoo.adamw(sched, weight_decay=0.05), params)
    want = trajectory(optax.adamw(sched, weight_decay=0.05), params, apply=optax.apply_updates)
    assert_trajectories_close(got, want, dtype)
