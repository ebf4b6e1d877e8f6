"""Both sides of the parity suites of torch_compat.Muon, Adafactor and LBFGS (tests and fixture writer).

These three do not act elementwise, so they run on problems of their own rather than
torch_compat_cases' (Muon takes matrices only; LBFGS's update is ``step(closure)``). A case is
``(name, kwargs, problem, steps, schedule)``: ``kwargs`` torch's keywords (the same for both),
``problem`` one of ``PROBLEMS``, ``schedule`` None or ``{"kind": "steplr", "step_size": s,
"gamma": g, "epoch": e}`` (torch's StepLR stepped every ``e`` steps; the zoo's
``step_decay_schedule``). With ``maximize`` the objective is ``-loss``. A run returns the
params after every step (one ``step`` / one ``update`` each).
"""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np

from tests.reference import harness
from tests.reference.torch_compat_cases import _decode, assert_runs_close  # noqa: F401  (re-exported)

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "torch_compat_optimizers_extra.json")
EXTRA = ["Muon", "Adafactor", "LBFGS"]

# problem -> leaf shapes; each leaf gets sum c/2 (x - 0.3)^2 + 0.2 cos(2x) + 0.0125 x^4 (c per leaf),
# and "rosenbrock"'s leaf "x" the Rosenbrock function instead (curved valley: line searches zoom).
PROBLEMS = {
    "harness": harness.SHAPES,
    "matrices": {"a": (3, 4), "b": (5, 2), "c": (4, 4)},
    "mixed": {"vector": (5,), "matrix": (3, 4), "cube": (2, 3, 4)},
    "rosenbrock": {"x": (6,), "m": (2, 3)},
    "valley": {"x": (4,), "m": (2, 3)},  # a milder Rosenbrock (10 instead of 100)
}
CURVATURE = {"a": 1.0, "b": 2.5, "c": 0.7, "vector": 1.5, "matrix": 0.8, "cube": 2.0, "m": 1.2, "scalar": 1.0}


def start_values(problem: str, dtype: str = "float64") -> dict:
    if problem == "harness":
        return harness.start_values(dtype)
    rng = np.random.default_rng(1)
    out = {k: rng.uniform(-2.0, 2.0, size=s).astype(dtype) for k, s in PROBLEMS[problem].items()}
    if problem in ("rosenbrock", "valley"):
        out["x"] = rng.uniform(-1.5, 0.5, size=out["x"].shape).astype(dtype)
    return out


def loss(problem: str, params: dict, lib):
    """The problem's loss for jax.numpy (``lib=jnp``) or torch (``lib=torch``) leaves."""
    if problem == "harness":
        return harness.loss(params) if lib.__name__.startswith("jax") else harness.torch_loss(params)
    total = 0.0
    for k, x in params.items():
        if k == "x":
            steep = 100.0 if problem == "rosenbrock" else 10.0
            total = total + lib.sum(steep * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
        else:
            total = total + lib.sum(0.5 * CURVATURE[k] * (x - 0.3) ** 2 + 0.2 * lib.cos(2.0 * x) + 0.0125 * x**4)
    return total


def sign(kwargs: dict) -> float:
    return -1.0 if kwargs.get("maximize") else 1.0


def _kwargs(kwargs: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


_TORCH_RUNS: dict = {}


def torch_run(name, kwargs, problem, steps, schedule=None, dtype="float64") -> dict:
    """torch.optim's trajectory: ``{leaf: (steps, *shape)}`` (cached per process)."""
    key = json.dumps([name, kwargs, problem, steps, schedule, dtype], sort_keys=True)
    if key not in _TORCH_RUNS:
        _TORCH_RUNS[key] = _torch_run(name, kwargs, problem, steps, schedule, dtype)
    return _TORCH_RUNS[key]


@contextlib.contextmanager
def torch_one_thread():
    """Tiny tensors: torch's worker threads only spin (100x slower on a busy machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _torch_run(name, kwargs, problem, steps, schedule, dtype):
    with torch_one_thread():
        return _torch_steps(name, kwargs, problem, steps, schedule, dtype)


def _torch_steps(name, kwargs, problem, steps, schedule, dtype):
    import torch

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in start_values(problem, dtype).items()}
    opt = getattr(torch.optim, name)(list(tensors.values()), **_kwargs(kwargs))
    sched = torch.optim.lr_scheduler.StepLR(opt, schedule["step_size"], schedule["gamma"]) if schedule else None
    s = sign(kwargs)

    def closure():
        opt.zero_grad()
        value = s * loss(problem, tensors, torch)
        value.backward()
        return value

    path = {k: [] for k in tensors}
    for k in range(steps):
        if name == "LBFGS":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if sched is not None and (k + 1) % schedule["epoch"] == 0:
            sched.step()
        for key, t in tensors.items():
            path[key].append(t.detach().numpy().copy())
    return {k: np.stack(v) for k, v in path.items()}


def zoo_optimizer(name, kwargs, schedule=None):
    import jaxopt_zoo as zoo
    from jaxopt_zoo import torch_compat as tc

    kwargs = _kwargs(kwargs)
    if schedule:
        kwargs["lr"] = zoo.step_decay_schedule(kwargs.get("lr", 1e-2), schedule["step_size"] * schedule["epoch"],
                                               schedule["gamma"])
    return getattr(tc, name)(**kwargs)


def zoo_run(name, kwargs, problem, steps, schedule=None, dtype="float64", tx=None) -> dict:
    """The torch_compat trajectory, one jitted ``lax.scan`` (``tx`` replaces the case's optimizer)."""
    import jax
    import jax.numpy as jnp

    import jaxopt_zoo as zoo

    tx = zoo_optimizer(name, kwargs, schedule) if tx is None else tx
    s = sign(kwargs)
    objective = lambda p: s * loss(problem, p, jnp)  # noqa: E731

    def step(carry, _):
        p, state = carry
        g = jax.grad(objective)(p)
        extras = {"value_fn": objective} if name == "LBFGS" else {}
        u, state = tx.update(g, state, p, **extras)
        p = zoo.apply_updates(p, u)
        return (p, state), p

    params = {k: jnp.asarray(v) for k, v in start_values(problem, dtype).items()}
    _, path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, tx.init(params)))
    return jax.tree.map(np.asarray, path)


def assert_close(got: dict, want: dict, dtype: str, rtol: float | None = None) -> None:
    harness.assert_trajectories_close(got, want, dtype, rtol)


# ------------------------------------------------------------------------------ fixtures

STEPLR = {"kind": "steplr", "step_size": 2, "gamma": 0.5, "epoch": 20}

# The committed fixtures: a few fixed cases per optimizer (every switch on at least once).
FIXED_CASES = [
    ("Muon", dict(lr=0.02), "matrices", 100, None),
    ("Muon", dict(lr=0.02, weight_decay=0.05, momentum=0.9, nesterov=False, ns_coefficients=[3.0, -3.2, 1.2],
                  eps=1e-6, ns_steps=4, adjust_lr_fn="match_rms_adamw"), "matrices", 100, STEPLR),
    ("Muon", dict(lr=0.01, adjust_lr_fn="original", ns_steps=6), "matrices", 100, None),
    ("Adafactor", dict(), "harness", 100, None),
    ("Adafactor", dict(lr=0.03, beta2_decay=-0.6, eps=[1e-30, 1e-2], d=1.5, weight_decay=0.02, maximize=True),
     "mixed", 100, STEPLR),
    ("LBFGS", dict(max_iter=3, history_size=5), "harness", 25, None),
    ("LBFGS", dict(lr=0.3, max_iter=2, history_size=4), "valley", 25, STEPLR),
    ("LBFGS", dict(line_search_fn="strong_wolfe", max_iter=3), "valley", 25, None),
    ("LBFGS", dict(lr=2.0, max_iter=2, max_eval=4, tolerance_change=1e-12, history_size=4,
                   line_search_fn="strong_wolfe"), "valley", 25, None),  # the search zooms 10 times
]


def float32_is_stable(case) -> bool:
    """Whether a case's float32 run follows torch's to 1e-5. L-BFGS in a curved valley
    amplifies rounding (its float64 runs already part from torch's by ~10x a step from 1e-16,
    and stay under 1e-10 only for 25 steps), so in float32 only its well-conditioned problem
    is compared; Muon and Adafactor are compared in float32 everywhere."""
    return case[0] != "LBFGS" or case[2] == "harness"


def case_id(case) -> str:
    name, kwargs, problem, steps, schedule = case
    return f"{name}-{problem}-" + "-".join(f"{k}={v}" for k, v in kwargs.items()) + ("-steplr" if schedule else "")


def load_fixtures() -> list:
    """The committed cases, each with ``runs``: torch's float64 and float32 trajectories."""
    with open(FIXTURE) as f:
        cases = json.load(f)["cases"]
    for c in cases:
        c["runs"] = {dt: {k: _decode(v) for k, v in r.items()} for dt, r in c.pop("torch").items()}
    return cases


def json_case(case) -> tuple:
    """A case as it reads back from JSON (tuples become lists)."""
    return tuple(json.loads(json.dumps(list(case))))


def reference(case, dtype: str) -> dict:
    """torch's trajectory of a fixed case: live where torch is installed, else the fixture."""
    if harness.torch_available():
        return torch_run(*case, dtype=dtype)
    for c in _FIXTURES():
        if (c["name"], c["kwargs"], c["problem"], c["steps"], c["schedule"]) == json_case(case):
            return c["runs"][dtype]
    raise KeyError(f"no fixture for {case}: regenerate with `make fixtures` (tools/fixtures/torch_compat_extra.py)")


_LOADED: list = []


def _FIXTURES() -> list:  # noqa: N802
    if not _LOADED:
        _LOADED.extend(load_fixtures())
    return _LOADED
