"""torch's ReduceLROnPlateau lr sequences, live and as a committed fixture.

A case is ``{"name", "base_lr", "kwargs", "metrics"}``: torch's ``ReduceLROnPlateau(optimizer,
**kwargs)`` on an SGD optimizer with ``lr=base_lr``, stepped once per metric (after an
``optimizer.step()``), recording ``param_groups[0]['lr']`` after each ``scheduler.step(metric)``.
``metrics`` is a literal list or a recipe ``{"seed", "n", "sign"}`` for ``metric_sequence``.
For the fixed cases in ``CASES`` the metrics and torch's lrs are committed in
``tests/reference/fixtures/plateau_torch.json``; tests/reference/test_plateau.py compares the
zoo with it on every machine and, where torch is installed, checks that it still equals torch
and runs random draws against live torch.

Regenerate (needs torch): ``make fixtures``, or ``.venv/bin/python -m tools.fixtures plateau``
(tools/fixtures/plateau.py).
"""

from __future__ import annotations

import json
import os
import random

import numpy as np

from tests.reference.harness import torch_available

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "plateau_torch.json")


def case(name, base_lr, metrics, **kwargs):
    return dict(name=name, base_lr=base_lr, kwargs=kwargs, metrics=metrics)


def recipe(seed, sign, n=150):
    return dict(seed=seed, n=n, sign=sign)


# Every mode x threshold_mode x sign of the metric, with patience, cooldown, min_lr and an eps
# that stops reductions; each reduces at least twice, except the seed document's case.
CASES = [
    case("min-rel-positive", 0.1, recipe(1, 1), mode="min", factor=0.5, patience=3, threshold=1e-2, threshold_mode="rel"),
    case("min-rel-negative", 0.3, recipe(2, -1), mode="min", factor=0.3, patience=5, threshold=1e-4, threshold_mode="rel",
         cooldown=2),
    case("min-abs-positive", 0.05, recipe(3, 1), mode="min", factor=0.7, patience=2, threshold=0.05, threshold_mode="abs",
         cooldown=1),
    case("min-abs-negative", 1.0, recipe(4, -1), mode="min", factor=0.5, patience=4, threshold=1e-2, threshold_mode="abs",
         min_lr=0.1),
    case("max-rel-positive", 0.2, recipe(5, 1), mode="max", factor=0.25, patience=6, threshold=1e-2, threshold_mode="rel"),
    case("max-rel-negative", 0.1, recipe(6, -1), mode="max", factor=0.5, patience=2, threshold=1e-2, threshold_mode="rel",
         cooldown=3),
    case("max-abs-positive", 0.5, recipe(7, 1), mode="max", factor=0.6, patience=0, threshold=1e-4, threshold_mode="abs",
         cooldown=4, min_lr=0.05),
    case("max-abs-negative", 0.02, recipe(8, -1), mode="max", factor=0.9, patience=1, threshold=0.02, threshold_mode="abs"),
    case("min_lr-and-eps-stop", 0.4, [1.0] * 40, mode="min", factor=0.5, patience=1, threshold=0.0, min_lr=0.013, eps=0.02),
    case("seed-document-patience-3", 0.1, [1.0, 0.9, 0.85, 0.84, 0.84, 0.84, 0.84, 0.83, 0.83, 0.83],
         mode="min", factor=0.5, patience=3),
]


def metric_sequence(rng: random.Random, n: int, sign: int) -> list:
    """A noisy, mostly decreasing (sign 1) or increasing (sign -1) sequence with plateaus; the
    values have the sign of ``sign``."""
    level, out = rng.uniform(1, 5), []
    for _ in range(n):
        if rng.random() < 0.3:
            level *= rng.uniform(0.8, 1.0)
        out.append(sign * (level + rng.uniform(-0.05, 0.05) * level) + (0 if sign > 0 else -rng.uniform(0, 0.01)))
    return out


def metrics_of(c: dict) -> list:
    """The metric values of a case (from its recipe, or its literal list)."""
    m = c["metrics"]
    return list(m) if isinstance(m, list) else metric_sequence(random.Random(m["seed"]), m["n"], m["sign"])


def torch_lrs(metrics, base_lr: float, **kwargs) -> np.ndarray:
    """torch's lr after each ``scheduler.step(metric)`` (live torch)."""
    import torch

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
    return np.asarray(out)


def zoo_kwargs(base_lr: float, kwargs: dict) -> dict:
    """torch's keywords for ``zoo.reduce_on_plateau``: min_lr and eps are lr-valued in torch,
    scale-valued in the zoo."""
    kw = dict(kwargs)
    kw["min_scale"] = kw.pop("min_lr", 0.0) / base_lr
    kw["eps"] = kw.pop("eps", 1e-8) / base_lr
    return kw


def reductions(base_lr: float, lrs) -> int:
    """How many times the lr went down from ``base_lr`` along ``lrs``."""
    return int(np.sum(np.diff(np.concatenate([[base_lr], np.asarray(lrs, np.float64)])) < 0))


def load_fixture() -> list:
    """The committed cases: ``CASES`` with the metric values and ``torch_lr``, torch's lrs."""
    with open(FIXTURE) as f:
        return json.load(f)


def cases_as_stored() -> list:
    """``CASES`` as the fixture holds them (metric values instead of recipes)."""
    return json.loads(json.dumps([dict(c, metrics=metrics_of(c)) for c in CASES]))


def assert_fixture_equals_live(c: dict) -> None:
    """A committed case still equals live torch (to 1e-13), so it cannot rot.

    Without torch the fixture is the reference: it must then hold one lr per metric.
    """
    assert len(c["torch_lr"]) == len(c["metrics"]) > 0, c["name"]
    if not torch_available():
        return
    live = torch_lrs(c["metrics"], c["base_lr"], **c["kwargs"])
    np.testing.assert_allclose(c["torch_lr"], live, rtol=1e-13, err_msg=c["name"])
