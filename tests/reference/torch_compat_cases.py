"""Both sides of the torch_compat parity suites, shared by the tests and the fixture writer.

A case is ``(name, kwargs, schedule)``: ``name`` is a torch.optim class (and the torch_compat
function of the same name), ``kwargs`` torch's keywords (the same for both), ``schedule``
``None`` or a dict naming what drives the lr:

* ``{"kind": "steplr", "step_size": s, "gamma": g, "epoch": e}``: torch's StepLR stepped once
  per epoch of ``e`` optimizer steps; the zoo's ``step_decay_schedule(lr, s * e, g)``;
* ``{"kind": "onecycle", "max_lr": m, ...}``: torch's OneCycleLR over the run, cycling the
  momentum / beta1 where the optimizer has one; the zoo's ``one_cycle_schedule`` and its
  ``.momentum``;
* ``{"kind": "plateau", ...ReduceLROnPlateau keywords}``: torch's ReduceLROnPlateau stepped
  with the objective *before* each optimizer step; the zoo's ``ReduceLROnPlateau`` as ``lr``
  with ``value=`` the same objective.

With ``maximize`` the objective is ``-loss`` (ascending it descends the harness loss, so the
run stays bounded). Each run returns the parameters after every step and the lr every step
used (torch's ``param_groups[0]['lr']``; the zoo's ``current_hyperparams(state)['lr']``).
"""

from __future__ import annotations

import base64
import json
import os

import numpy as np

from tests.reference import harness
from tests.reference.harness import torch_available  # noqa: F401  (re-exported for the tests)

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "torch_compat_optimizers.json")
STEPS = 100
MOMENTUM_KEY = {"SGD": "momentum", "RMSprop": "momentum", "Adam": "betas", "AdamW": "betas", "Adamax": "betas",
                "NAdam": "betas", "RAdam": "betas"}
OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"]

STEPLR = {"kind": "steplr", "step_size": 2, "gamma": 0.5, "epoch": 15}


def plateau(lr: float, threshold: float = 0.01, **kw) -> dict:
    """A ReduceLROnPlateau case that reduces several times in 100 steps (down to min_lr)."""
    return {"kind": "plateau", "factor": 0.5, "patience": 2, "threshold": threshold, "cooldown": 1,
            "min_lr": lr * 0.01, **kw}


# The committed fixtures: a few fixed cases per optimizer (every flag on at least once).
FIXED_CASES = [
    ("SGD", dict(lr=0.05), None),
    ("SGD", dict(lr=0.03, momentum=0.9, dampening=0.2, weight_decay=0.01, maximize=True), STEPLR),
    ("SGD", dict(lr=0.02, momentum=0.8, nesterov=True, weight_decay=0.05), {"kind": "onecycle", "max_lr": 0.05}),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True, maximize=True), {"kind": "onecycle", "max_lr": 0.02}),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True), plateau(0.05)),
    ("AdamW", dict(lr=0.01, amsgrad=True), STEPLR),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.3, eps=1e-6, maximize=True),
     plateau(0.1, 0.3, mode="max", threshold_mode="abs")),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.005, alpha=0.95, momentum=0.5, centered=True, weight_decay=0.02, maximize=True), {"kind": "onecycle", "max_lr": 0.01}),
    ("Adadelta", dict(lr=1.0, weight_decay=0.02), STEPLR),
    ("Adamax", dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.02, maximize=True), {"kind": "onecycle", "max_lr": 0.02}),
    ("NAdam", dict(lr=0.01), None),
    ("NAdam", dict(lr=0.02, momentum_decay=0.01, weight_decay=0.05, decoupled_weight_decay=True, maximize=True),
     plateau(0.02, 0.5, mode="max", threshold_mode="abs")),
    ("RAdam", dict(lr=0.01), None),
    ("RAdam", dict(lr=0.01, betas=(0.85, 0.99), weight_decay=0.05, decoupled_weight_decay=True), {"kind": "onecycle", "max_lr": 0.02}),
    ("Rprop", dict(lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-5, 1.0), maximize=True), STEPLR),
    ("ASGD", dict(lr=0.05, lambd=1e-3, t0=20, weight_decay=0.01), plateau(0.05)),
]

# Boolean flags (and weight decay off / coupled / decoupled) crossed in the random suite.
FLAGS = {
    "SGD": dict(momentum=["none", "heavy", "dampened", "nesterov"], maximize=[False, True], weight_decay=[False, True]),
    "Adam": dict(amsgrad=[False, True], maximize=[False, True], weight_decay=["off", "coupled", "decoupled"]),
    "AdamW": dict(amsgrad=[False, True], maximize=[False, True]),
    "Adagrad": dict(maximize=[False, True], weight_decay=[False, True], lr_decay_and_accumulator=[False, True]),
    "RMSprop": dict(centered=[False, True], momentum=[False, True], maximize=[False, True], weight_decay=[False, True]),
    "Adadelta": dict(maximize=[False, True], weight_decay=[False, True]),
    "Adamax": dict(maximize=[False, True], weight_decay=[False, True]),
    "NAdam": dict(maximize=[False, True], weight_decay=["off", "coupled", "decoupled"]),
    "RAdam": dict(maximize=[False, True], weight_decay=["off", "coupled", "decoupled"]),
    "Rprop": dict(maximize=[False, True]),
    "ASGD": dict(maximize=[False, True], weight_decay=[False, True]),
}


def flag_combinations(name: str) -> list:
    import itertools

    keys = list(FLAGS[name])
    return [dict(zip(keys, values)) for values in itertools.product(*(FLAGS[name][k] for k in keys))]


def draw(name: str, flags: dict, rng) -> dict:
    """Random torch keywords for ``name`` with the given flags (ranges keep 100 steps well conditioned)."""
    u, log = rng.uniform, lambda a, b: 10 ** rng.uniform(a, b)
    kw = {"maximize": flags["maximize"]}
    wd = flags.get("weight_decay", False)
    if wd and wd != "off":
        kw["weight_decay"] = u(1e-3, 0.1)
    if wd == "decoupled":
        kw["decoupled_weight_decay"] = True
    if name in ("Adam", "AdamW", "Adamax", "NAdam", "RAdam"):
        kw.update(lr=u(1e-3, 0.02 if name != "NAdam" else 0.01), betas=(u(0.7, 0.95), u(0.99, 0.9999)), eps=log(-10, -6))
    if name in ("Adam", "AdamW"):
        kw["amsgrad"] = flags["amsgrad"]
    if name == "AdamW":
        kw["weight_decay"] = u(1e-3, 0.1)
    if name == "NAdam":
        kw["momentum_decay"] = u(1e-3, 1e-2)
    if name == "SGD":
        kw["lr"] = u(0.01, 0.08)
        if flags["momentum"] != "none":
            kw["momentum"] = u(0.5, 0.95)
        kw["dampening"] = u(0.05, 0.5) if flags["momentum"] == "dampened" else 0.0
        kw["nesterov"] = flags["momentum"] == "nesterov"
    if name == "Adagrad":
        kw.update(lr=u(0.02, 0.2), eps=log(-12, -6))
        if flags["lr_decay_and_accumulator"]:
            kw.update(lr_decay=u(1e-3, 0.05), initial_accumulator_value=u(0.01, 1.0))
    if name == "RMSprop":
        kw.update(lr=u(1e-3, 0.01), alpha=u(0.95, 0.999), eps=log(-10, -6), centered=flags["centered"])
        if flags["momentum"]:
            kw["momentum"] = u(0.1, 0.9)
    if name == "Adadelta":
        kw.update(lr=u(0.1, 1.0), rho=u(0.8, 0.99), eps=log(-8, -4))
    if name == "Rprop":
        kw.update(lr=u(1e-3, 0.05), etas=(u(0.3, 0.7), u(1.05, 1.5)), step_sizes=(u(1e-7, 1e-4), u(0.1, 10.0)))
    if name == "ASGD":
        kw.update(lr=u(0.01, 0.08), lambd=log(-5, -2), alpha=u(0.5, 1.0), t0=float(rng.randint(0, 60)))
    return kw


def sign(kwargs: dict) -> float:
    return -1.0 if kwargs.get("maximize") else 1.0


def _torch_kwargs(kwargs: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def torch_run(name: str, kwargs: dict, schedule: dict | None = None, steps: int = STEPS, dtype: str = "float64") -> dict:
    """torch.optim's trajectory (see module docstring); computed once per case in a process
    (the fixed cases are compared in three modes and checked against their fixtures)."""
    key = json.dumps([name, kwargs, schedule, steps, dtype], sort_keys=True)
    if key not in _TORCH_RUNS:
        _TORCH_RUNS[key] = _torch_run(name, kwargs, schedule, steps, dtype)
    return _TORCH_RUNS[key]


_TORCH_RUNS: dict = {}


def _torch_run(name: str, kwargs: dict, schedule: dict | None, steps: int, dtype: str) -> dict:
    import torch
    from torch.optim import lr_scheduler as L

    params = harness.start_values(dtype)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = getattr(torch.optim, name)(list(tensors.values()), **_torch_kwargs(kwargs))
    kind = schedule and schedule["kind"]
    if kind == "steplr":
        sched = L.StepLR(opt, step_size=schedule["step_size"], gamma=schedule["gamma"])
    elif kind == "onecycle":
        sched = L.OneCycleLR(opt, total_steps=steps, cycle_momentum=name in MOMENTUM_KEY,
                             **{k: v for k, v in schedule.items() if k != "kind"})
    elif kind == "plateau":
        sched = L.ReduceLROnPlateau(opt, **{k: v for k, v in schedule.items() if k != "kind"})
    path, lrs = {k: [] for k in tensors}, []
    for k in range(steps):
        opt.zero_grad()
        value = sign(kwargs) * harness.torch_loss(tensors)
        value.backward()
        if kind == "plateau":
            sched.step(value.item())
        lrs.append(float(opt.param_groups[0]["lr"]))
        opt.step()
        if (kind == "steplr" and (k + 1) % schedule["epoch"] == 0) or (kind == "onecycle" and k + 1 < steps):
            sched.step()
        for key, t in tensors.items():
            path[key].append(t.detach().numpy().copy())
    return {"params": {k: np.stack(v) for k, v in path.items()}, "lr": np.asarray(lrs)}


def zoo_optimizer(name: str, kwargs: dict, schedule: dict | None = None, steps: int = STEPS):
    """The torch_compat optimizer of a case."""
    import jaxopt_zoo as zoo
    from jaxopt_zoo import torch_compat as tc

    kwargs = _torch_kwargs(kwargs)
    kind = schedule and schedule["kind"]
    lr = kwargs.get("lr")
    if kind == "steplr":
        kwargs["lr"] = zoo.step_decay_schedule(lr, schedule["step_size"] * schedule["epoch"], schedule["gamma"])
    elif kind == "onecycle":
        s = zoo.one_cycle_schedule(total_steps=steps, **{k.replace("max_lr", "max_value"): v for k, v in schedule.items() if k != "kind"})
        kwargs["lr"] = s
        if MOMENTUM_KEY.get(name) == "momentum":
            kwargs["momentum"] = s.momentum
        elif MOMENTUM_KEY.get(name) == "betas":
            kwargs["betas"] = (s.momentum, kwargs.get("betas", (0.9, 0.999))[1])
    elif kind == "plateau":
        kwargs["lr"] = tc.lr_scheduler.ReduceLROnPlateau(lr, **{k: v for k, v in schedule.items() if k != "kind"})
    return getattr(tc, name)(**kwargs)


def zoo_run(name: str, kwargs: dict, schedule: dict | None = None, steps: int = STEPS, dtype: str = "float64") -> dict:
    """The torch_compat trajectory (see module docstring), one jitted ``lax.scan``."""
    import jax

    import jaxopt_zoo as zoo

    tx = zoo_optimizer(name, kwargs, schedule, steps)
    s = sign(kwargs)
    plateau = bool(schedule) and schedule["kind"] == "plateau"
    value_and_grad = jax.value_and_grad(lambda p: s * harness.loss(p))

    def step(carry, _):
        p, state = carry
        value, g = value_and_grad(p)
        u, state = tx.update(g, state, p, value=value) if plateau else tx.update(g, state, p)
        p = zoo.apply_updates(p, u)
        return (p, state), (p, zoo.current_hyperparams(state)["lr"])

    params = harness.make_params(dtype)
    run = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))
    _, (path, lrs) = run((params, tx.init(params)))
    return {"params": jax.tree.map(np.asarray, path), "lr": np.asarray(lrs, np.float64)}


def assert_runs_close(got: dict, want: dict, dtype: str, rtol: float | None = None) -> None:
    """Whole trajectories (harness tolerance, or ``rtol``) and the lr of every step (1e-12, float32: 1e-6)."""
    harness.assert_trajectories_close(got["params"], want["params"], dtype, rtol)
    lr_got, lr_want = np.asarray(got["lr"], np.float64), np.asarray(want["lr"], np.float64)
    assert lr_got.shape == lr_want.shape
    rtol = 1e-12 if dtype == "float64" else 1e-6
    err = np.abs(lr_got - lr_want) / max(float(np.max(np.abs(lr_want))), 1e-30)
    assert float(np.max(err)) <= rtol, f"lr differs at step {int(np.argmax(err))}: {lr_got[np.argmax(err)]} vs {lr_want[np.argmax(err)]}"


X64_OFF_RTOL = 5e-6  # float32 with x64 off: torch's own float32 run, to 5e-6 (issue 13)


def assert_equals_torch(got: dict, torch_runs: dict, dtype: str) -> None:
    """float64: equal to torch's float64 run. float32 with x64 off (JAX's default): equal to
    torch's float32 run to 5e-6 (torch computes its step scalars in double; so does the zoo, to
    float32's precision). float32 with x64 on: equal (1e-5) to torch's float32 run, or — where
    torch's own float32 drifts from its float64 run — to the float64 run."""
    if dtype == "float64":
        return assert_runs_close(got, torch_runs["float64"], dtype)
    if harness.x64_is_off():
        return assert_runs_close(got, torch_runs["float32"], dtype, rtol=X64_OFF_RTOL)
    try:
        assert_runs_close(got, torch_runs["float32"], dtype)
    except AssertionError as vs_float32:
        try:
            assert_runs_close(got, torch_runs["float64"], dtype)
        except AssertionError as vs_float64:
            raise AssertionError(f"against torch float32: {vs_float32}\nagainst torch float64: {vs_float64}") from None


def torch_runs(name: str, kwargs: dict, schedule: dict | None = None, steps: int = STEPS, dtypes=("float64", "float32")) -> dict:
    return {dt: torch_run(name, kwargs, schedule, steps, dt) for dt in dtypes}


def reductions(lr) -> int:
    """How many times the lr went down during a run."""
    lr = np.asarray(lr)
    return int(np.sum(lr[1:] < lr[:-1]))


# ------------------------------------------------------------------------------ fixtures


def _decode(d: dict) -> np.ndarray:
    """An array as the fixtures store it (tools/fixtures/torch_compat.py): shape and little-endian bytes in base64."""
    code = "f8" if "f8" in d else "f4"
    return np.frombuffer(base64.b64decode(d[code]), dtype="<" + code).reshape(d["shape"]).astype(np.float64)


def _json_case(name, kwargs, schedule) -> tuple:
    """A case as it reads back from JSON (tuples become lists)."""
    return tuple(json.loads(json.dumps([name, kwargs, schedule])))


def load_fixtures() -> list:
    """The committed cases, each with ``runs``: torch's float64 and float32 runs as arrays."""
    with open(FIXTURE) as f:
        cases = json.load(f)["cases"]
    for c in cases:
        c["runs"] = {dt: {"params": {k: _decode(v) for k, v in r["params"].items()}, "lr": _decode(r["lr"])}
                     for dt, r in c.pop("torch").items()}
    return cases
