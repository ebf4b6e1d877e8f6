"""The torch-world references of the zoo, live and as committed fixtures.

Members whose reference lives outside JAX: rprop (``torch.optim.Rprop``), schedule_free_sgd and
schedule_free_adamw (the ``schedulefree`` package's reference classes; the evaluation average
``x`` is compared too), adan, padam and adai (``pytorch_optimizer``), and ranger's gradient
centralization (``pytorch_optimizer``). For the fixed cases in ``CASES`` the reference
trajectories (float64, and float32 where the float32 reference is the reference run in float32)
are committed in ``tests/reference/fixtures/zoo_torch_<member>.json``; the parity tests compare
the zoo to those on every machine, and, where the packages are installed, check that the
fixtures still equal the live reference and run random hyperparameters against it.

Regenerate (needs torch, schedulefree and pytorch_optimizer): ``make fixtures``, or
``.venv/bin/python -m tools.fixtures zoo_torch`` (tools/fixtures/zoo_torch.py).

The tests import this module for ``CASES``, ``reference`` (live), ``zoo_run``,
``load_fixture``, ``fixture_reference`` and ``available``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os

import numpy as np

from tests.reference.harness import STEPS, assert_trajectories_close, loss, make_params, torch_loss, torch_trajectory, trajectory

FIXTURE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

# Keyword arguments are the reference's own (torch names); ``zoo_kwargs`` translates them.
CASES = {
    "rprop": [
        (dict(), STEPS),
        (dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.2)), STEPS),
        (dict(lr=0.02, maximize=False, etas=(0.6, 1.1)), STEPS),
        (dict(lr=0.01, maximize=True), 30),  # ascent grows without bound: a short run
    ],
    "schedule_free_sgd": [
        (dict(lr=0.5), STEPS),
        (dict(lr=0.3, momentum=0.8, weight_decay=0.05, warmup_steps=20, r=0.5, weight_lr_power=1.0), STEPS),
    ],
    "schedule_free_adamw": [
        (dict(lr=1e-2), STEPS),
        (dict(lr=2e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, warmup_steps=15, r=1.0, weight_lr_power=2.0), STEPS),
        (dict(lr=1e-2, weight_decay=0.05, decay_at_z=True, warmup_steps=5), STEPS),
    ],
    "adan": [
        (dict(lr=1e-2), STEPS),
        (dict(lr=1e-2, betas=(0.9, 0.9, 0.95), weight_decay=0.05), STEPS),
        (dict(lr=1e-2, weight_decay=0.05, weight_decouple=True, max_grad_norm=1.0, eps=1e-6), STEPS),
    ],
    "padam": [
        (dict(lr=3e-2), STEPS),
        (dict(lr=5e-2, betas=(0.8, 0.99), partial=0.125, weight_decay=0.05), STEPS),
        (dict(lr=3e-2, partial=0.5, weight_decay=0.1, weight_decouple=True, fixed_decay=True), STEPS),
    ],
    "adai": [
        (dict(lr=0.1), STEPS),
        (dict(lr=0.05, betas=(0.2, 0.95), weight_decay=0.05, dampening=0.5), STEPS),
        (dict(lr=0.1, weight_decay=0.02, weight_decouple=True, stable_weight_decay=True, eps=1e-4), STEPS),
    ],
}
PACKAGES = {
    "rprop": ("torch",),
    "schedule_free_sgd": ("torch", "schedulefree"),
    "schedule_free_adamw": ("torch", "schedulefree"),
    "adan": ("torch", "pytorch_optimizer"),
    "padam": ("torch", "pytorch_optimizer"),
    "adai": ("torch", "pytorch_optimizer"),
    "centralization": ("torch", "pytorch_optimizer"),
}
# Where the float32 reference is the reference run in float32 (so it is stored too). Elsewhere
# float32 zoo runs are compared with the float64 reference (torch's float32 kernels drift from
# float64 further than ours, see test_adan_padam_adai.py; schedule-free is exact enough).
FLOAT32_REFERENCE = {"rprop"}
CENTRALIZATION_SHAPES = [(4, 3), (5, 2, 3), (3, 2, 2, 2), (7,)]


def available(member: str) -> bool:
    """Whether the live reference of ``member`` can be imported here."""
    try:
        for name in PACKAGES[member]:
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def zoo_kwargs(member: str, kw: dict) -> dict:
    """The reference's keyword arguments in the zoo's names."""
    kw = dict(kw)
    out = {"learning_rate": kw.pop("lr", 1e-2)}
    if member == "rprop":
        if "etas" in kw:
            out["eta_minus"], out["eta_plus"] = kw.pop("etas")
        if "step_sizes" in kw:
            out["min_step_size"], out["max_step_size"] = kw.pop("step_sizes")
    if member == "schedule_free_sgd" and "momentum" in kw:
        out["b1"] = kw.pop("momentum")  # optax's name for schedulefree's momentum
    betas = kw.pop("betas", None)
    if betas is not None:
        names = {"schedule_free_adamw": ("b1", "b2"), "adan": ("b1", "b2", "b3"), "padam": ("b1", "b2"), "adai": ("b0", "b2")}
        out.update(zip(names[member], betas))
    out.update(kw)
    return out


def _schedulefree_paths(cls, params, steps, **kw):
    import torch

    tensors = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in params.items()}
    opt = cls(list(tensors.values()), **kw)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Switching to train mode"
        opt.train()
    ys, xs = {k: [] for k in tensors}, {k: [] for k in tensors}
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(tensors).backward()
        opt.step()
        for k, t in tensors.items():
            ys[k].append(t.detach().numpy().copy())
            xs[k].append(opt.state[t]["x"].detach().numpy().copy())
    return {"params": {k: np.stack(v) for k, v in ys.items()}, "x": {k: np.stack(v) for k, v in xs.items()}}


def reference(member: str, kw: dict, dtype: str = "float64", steps: int = STEPS) -> dict:
    """Run the live reference from ``make_params(dtype)``: ``{"params": path}`` (and ``"x"``
    for schedule-free), each leaf stacked over steps like ``harness.trajectory``."""
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    params = make_params(dtype)
    if member == "rprop":
        import torch

        return {"params": torch_trajectory(lambda ps: torch.optim.Rprop(ps, **kw), params, steps)}
    if member.startswith("schedule_free"):
        import schedulefree

        cls = schedulefree.SGDScheduleFreeReference if member == "schedule_free_sgd" else schedulefree.AdamWScheduleFreeReference
        return _schedulefree_paths(cls, params, steps, **kw)
    import pytorch_optimizer

    cls = {"adan": pytorch_optimizer.Adan, "padam": pytorch_optimizer.PAdam, "adai": pytorch_optimizer.Adai}[member]
    # pytorch_optimizer's Adan breaks on 0-d parameters when clipping (an in-place broadcast
    # to shape [1]); the reference gets the scalar as a 1-vector, the same numbers.
    params = {k: (np.reshape(v, (1,)) if k == "scalar" else v) for k, v in params.items()}
    path = torch_trajectory(lambda ps: cls(ps, foreach=False, **kw), params, steps)
    path["scalar"] = path["scalar"].reshape(-1)
    return {"params": path}


def zoo_run(member: str, kw: dict, dtype: str, steps: int = STEPS) -> dict:
    """The zoo's side of ``reference``: the same structure, from ``make_params(dtype)``."""
    import jax

    import jaxopt_zoo as zoo

    tx = getattr(zoo, member)(**zoo_kwargs(member, kw))
    params = make_params(dtype)
    if not member.startswith("schedule_free"):
        return {"params": trajectory(tx, params, steps)}

    def step(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(loss)(p), s, p)
        p = zoo.apply_updates(p, u)
        return (p, s), (p, zoo.schedule_free_eval_params(s, p))

    _, (ys, xs) = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, tx.init(params)))
    return {"params": ys, "x": xs}


def centralization_reference(g: np.ndarray) -> np.ndarray:
    """pytorch_optimizer's gradient centralization (torch layout: keep axis 0), in place on a copy."""
    import torch
    from pytorch_optimizer.optimizer.gradient_centralization import centralize_gradient

    t = torch.tensor(np.array(g, dtype=np.float64))
    centralize_gradient(t, gc_conv_only=False)
    return t.numpy()


def centralization_inputs() -> list:
    rng = np.random.default_rng(0)
    return [rng.normal(size=shape) for shape in CENTRALIZATION_SHAPES]


def fixture_path(member: str) -> str:
    return os.path.join(FIXTURE_DIR, f"zoo_torch_{member}.json")


def load_fixture(member: str) -> list:
    """The committed cases of ``member``: dicts with ``kwargs``, ``steps`` and ``reference``
    (``{dtype: {"params": {leaf: list}, ...}}``); for ``"centralization"`` dicts with
    ``grad`` and ``want``."""
    with open(fixture_path(member)) as f:
        return json.load(f)


def fixture_reference(case: dict, dtype: str) -> dict:
    """The stored reference for comparing a ``dtype`` zoo run, as arrays."""
    stored = case["reference"]["float32" if dtype == "float32" and "float32" in case["reference"] else "float64"]
    as_dtype = np.float32 if dtype == "float32" and "float32" in case["reference"] else np.float64
    return {name: {leaf: np.asarray(v, as_dtype).astype(np.float64) for leaf, v in tree.items()} for name, tree in stored.items()}


def assert_fixture_equals_live(member: str, case: dict, dtype: str = "float64") -> None:
    """The committed ``case`` still equals the live reference (to 1e-8), so it cannot rot.

    Not to the last bits: torch picks its kernels by CPU features, and the references keep
    some statistics in float32 (adan's clipping norm), so the same run on another CPU drifts by
    up to ~1e-9 over 120 steps; a rotten fixture (other code, other case) is off by far more.

    Where the reference package is absent the fixture is the reference: it must then at least
    hold a trajectory for every leaf.
    """
    stored = fixture_reference(case, dtype)
    if not available(member):
        assert all(len(leaf) for tree in stored.values() for leaf in tree.values()), case["kwargs"]
        return
    live = reference(member, case["kwargs"], dtype, case["steps"])
    assert_trajectories_close(stored, live, "float64", rtol=1e-8)


def cases_as_stored(member: str) -> list:
    """``CASES[member]`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps([dict(kwargs=kw, steps=steps) for kw, steps in CASES[member]]))
