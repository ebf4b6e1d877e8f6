"""Bad concrete hyperparameters raise one recognisable ValueError; traced ones never break.

The walker goes over every public factory of the modules in ``MODULES`` by signature. For
each argument whose name is in ``KINDS`` it builds the factory with that one bad value and
expects ``ValueError("jaxopt_zoo.<factory>: argument `<arg>` ... <value> ...")``; a tuple
argument (torch's ``betas``, ``etas``, ``step_sizes``) gets one bad element at a time, named
``arg[i]``. Arguments that share a name but not a meaning, or whose value torch itself takes
(torch_compat), are listed in ``EXCEPTIONS`` with the reason.

The same factories then run with their float hyperparameters traced (inside ``jax.jit``
through ``zoo.inject_hyperparams``) and with a schedule as learning rate.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry
from jaxopt_zoo import torch_compat as tc
from jaxopt_zoo.torch_compat import lr_scheduler as L
from jaxopt_zoo.torch_compat import swa_utils, transformers
from tests import _batched

# Modules whose public factories are walked. A module's factories are named
# "<module without jaxopt_zoo.>.<Name>" ("torch_compat.SGD", "torch_compat.lr_scheduler.StepLR");
# BASE is keyed by the short name and the error may name either form.
MODULES = [zoo, tc, L, transformers, swa_utils]

# Callables that are not factories of a transformation or schedule.
NOT_FACTORIES = {
    "apply_updates", "global_norm", "current_hyperparams", "schedule_free_eval_params",
    "plot_schedules", "chain", "identity", "set_to_zero", "skip_not_finite", "skip_large_updates",
    "inject_hyperparams", "inject_stateful_hyperparams", "normalize", "pack_tree", "unpack_tree", "packed_apply",
    "asgd_averaged_params",  # reads an ASGD state
    "averaged_params", "AveragedModelState",  # swa_utils: reads an AveragedModel state; its state class
    "ParamGroupsState",  # torch_compat's state of param groups (a NamedTuple, not a factory)
    "TorchLRScheduler",  # the base class of the lr_scheduler look-alikes
    # optax's plain functions (not factories): they check their own arguments, tested in
    # tests/reference/test_transforms_optax.py
    "per_example_global_norm_clip", "per_example_layer_norm_clip", "incremental_update", "periodic_update",
    "scale_gradient", "tree_map_params", "microbatch",
    "named_chain",  # like chain: *args of (name, transformation), no hyperparameters
    "hutchinson_estimator_diag_hessian",  # only a key; its update needs obj_fn= (tests/reference/test_sophia.py)
    "value_and_grad_from_state",  # wraps a loss function, not a transformation
    # optax's linear algebra (plain functions of arrays), tested in tests/reference/test_optax_utils.py
    "power_iteration", "matrix_inverse_pth_root", "nnls", "multi_normal",
    # optax's numeric helpers and typing names (tests/reference/test_optax_rest.py)
    "bias_correction", "update_moment", "update_infinity_moment", "update_moment_per_elem_norm",
    "safe_increment", "safe_int32_increment", "safe_norm", "safe_root_mean_squares", "init_empty_state",
}

# --- kinds of arguments and their bad values -------------------------------------------------
UNIT = [1.5, -0.1]  # decays / betas / momenta: in [0, 1)
NEG = [-0.1]  # >= 0
EPS = [-1.0]
POS_INT = [0, -1]  # a count of steps that must be >= 1
NONNEG_INT = [-1]  # a count of steps that may be 0
MODE = ["bogus"]

KINDS: dict[str, list] = {
    "learning_rate": NEG, "lr": NEG,
    "b0": UNIT, "b1": UNIT, "b2": UNIT, "b3": UNIT, "beta": UNIT, "decay": UNIT, "rho": UNIT,
    "momentum": UNIT, "base_momentum": UNIT, "max_momentum": UNIT, "factor": UNIT,
    "eps": EPS, "eps_root": EPS, "epsilon": EPS,
    "weight_decay": NEG, "weight_decay_rate": NEG, "decay_rate": NEG, "gamma": NEG,
    "max_norm": NEG, "clip_value": NEG, "norm_type": ["two"], "max_delta": NEG, "threshold": NEG, "trust_coefficient": NEG, "min_norm": NEG,
    "min_scale": NEG, "initial_accumulator_value": NEG, "initial_scale": NEG, "max_grad_norm": NEG,
    "clipping_threshold": NEG, "min_step_size": NEG, "max_step_size": NEG, "r": NEG,
    "weight_lr_power": NEG, "l2_norm_clip": NEG, "noise_multiplier": NEG, "partial": UNIT, "alpha": [1.5, -0.1], "pct_start": [1.5, -0.1],
    "div_factor": [0.0, -1.0], "final_div_factor": [0.0, -1.0], "eta_minus": [1.5, -0.1],
    "eta_plus": [0.5], "dampening": NEG,
    "transition_steps": POS_INT, "decay_steps": POS_INT, "total_steps": POS_INT, "step_size": POS_INT,
    "step_size_up": POS_INT, "step_size_down": POS_INT, "sync_period": POS_INT, "t_0": POS_INT,
    "t_mult": POS_INT, "every_k_schedule": POS_INT, "min_dim_size_to_factor": NONNEG_INT,
    "warmup_steps": NONNEG_INT, "transition_begin": NONNEG_INT, "patience": NONNEG_INT,
    "cooldown": NONNEG_INT, "decay_offset": NONNEG_INT, "step_offset": NONNEG_INT,
    "max_consecutive_errors": NONNEG_INT, "chunk_size": POS_INT, "clipping": NEG, "k": POS_INT,
    "mode": MODE, "threshold_mode": MODE, "anneal_strategy": MODE, "interpolate_type": MODE,
    "milestones": [[50, 20]], "boundaries": [[50, 20]],
    # torch's keyword names (torch_compat)
    "base_lr": NEG, "max_lr": NEG, "min_lr": NEG, "eta_min": NEG, "lr_decay": NEG, "lambd": NEG, "t0": NEG,
    "momentum_decay": NEG, "power": NEG, "start_factor": [0.0, 1.5, -0.1], "end_factor": [1.5, -0.1],
    "T_max": POS_INT, "T_0": POS_INT, "T_mult": POS_INT, "total_iters": POS_INT, "epochs": POS_INT,
    "steps_per_epoch": POS_INT, "scale_mode": MODE, "lr_lambda": [0.5], "scale_fn": [0.5], "schedulers": [[]],
    # torch_compat.transformers / swa_utils (transformers' and torch.optim.swa_utils' names)
    "num_warmup_steps": NONNEG_INT, "num_training_steps": NONNEG_INT, "num_decay_steps": NONNEG_INT,
    "num_stable_steps": NONNEG_INT, "last_epoch": [-2], "timescale": POS_INT, "warmup_type": MODE, "decay_type": MODE,
    "lr_end": NEG, "min_lr_rate": NEG, "min_lr_ratio": NEG, "swa_lr": NEG, "anneal_epochs": NONNEG_INT,
    "start": POS_INT, "every": POS_INT,
}


class Elem(NamedTuple):
    """A bad element of a tuple argument: the error must name ``arg[index]`` and the element."""

    index: int
    value: Any


# Tuple arguments: each element is checked on its own.
KINDS.update({
    "betas": [Elem(0, 1.5), Elem(0, -0.1), Elem(1, 1.5), Elem(1, -0.1)],  # each in [0, 1)
    "etas": [Elem(0, 0.0), Elem(0, 1.0), Elem(1, 1.0), Elem(1, 0.5)],  # 0 < etaminus < 1 < etaplus
    "step_sizes": [Elem(0, -0.1), Elem(1, 1e-7)],  # 0 <= min <= max (default min 1e-6)
})

# (factory, argument) pairs that must not be checked as their name's kind, and why; a value
# other than None replaces the kind's bad values.
EXCEPTIONS: dict[tuple[str, str], tuple[list | None, str]] = {
    ("scale", "step_size"): (None, "a plain multiplier: any sign is meaningful (scale(-lr) is descent)"),
    ("sam", "rho"): (NEG, "SAM's neighbourhood radius: any value >= 0, not a decay"),
    ("adai", "b0"): (NEG, "Adai's base inertia beta0 is a scale for the adaptive momentum, >= 0"),
    ("reduce_on_plateau", "factor"): ([1.0, 1.5, -0.1], "torch requires factor < 1 (and >= 0 here)"),
    ("linear_schedule", "transition_steps"): (NONNEG_INT, "optax's meaning: 0 steps is the constant init_value"),
    ("polynomial_schedule", "transition_steps"): (NONNEG_INT, "as linear_schedule"),
    ("cosine_decay_schedule", "alpha"): ([-0.1], "optax's minimum-value multiplier: >= 0, above 1 allowed"),
    ("adafactor", "decay_rate"): ([-0.1], "an exponent of the step (1 - t^-decay_rate), >= 0"),
    ("scale_by_factored_rms", "decay_rate"): ([-0.1], "as adafactor"),
    ("cyclic_schedule", "gamma"): ([0.0, -0.1], "exp_range's base: > 0"),
    ("rmsprop", "momentum"): (UNIT, "None (no momentum) or in [0, 1)"),
    # optax core members: optimistic gradient's alpha/beta are weights, not decays (beta = 1 is the default)
    ("optimistic_gradient_descent", "alpha"): (NEG, "the weight of the current gradient: any value >= 0"),
    ("optimistic_gradient_descent", "beta"): (NEG, "the weight of the gradient difference: any value >= 0"),
    ("optimistic_adam_v2", "alpha"): (NEG, "as optimistic_gradient_descent"),
    ("optimistic_adam_v2", "beta"): (NEG, "as optimistic_gradient_descent"),
    ("scale_by_optimistic_gradient", "alpha"): (NEG, "as optimistic_gradient_descent"),
    ("scale_by_optimistic_gradient", "beta"): (NEG, "as optimistic_gradient_descent"),
    # optax contrib members: COCOB's alpha bounds the first bets (default 100), any value > 0
    ("cocob", "alpha"): ([0.0, -0.1], "COCOB's bet bound: > 0 (default 100)"),
    ("scale_by_cocob", "alpha"): ([0.0, -0.1], "as cocob"),
    # optax contrib members: AdEMAMix's alpha weighs the slow EMA (default 5 or 6), not a decay
    ("ademamix", "alpha"): (NEG, "the weight of the slow EMA: any value >= 0"),
    ("scale_by_ademamix", "alpha"): (NEG, "as ademamix"),
    ("simplified_ademamix", "alpha"): (NEG, "the weight of the current gradient: any value >= 0"),
    ("scale_by_simplified_ademamix", "alpha"): (NEG, "as simplified_ademamix"),
    # torch_compat: torch's own checks are the contract; values torch takes give torch's numbers
    # (tests/reference/test_torch_compat_optimizers.py::test_values_torch_accepts_give_torchs_numbers).
    ("SGD", "momentum"): (NEG, "torch takes any momentum >= 0 (no upper bound)"),
    ("RMSprop", "momentum"): (NEG, "torch takes any momentum >= 0 (no upper bound)"),
    ("SGD", "dampening"): (None, "torch checks no dampening: any value scales the gradient by 1 - dampening"),
    ("ASGD", "alpha"): (NEG, "the power of ASGD's eta decay, not a decay rate: torch takes 1.5; >= 0 here"),
    ("Muon", "momentum"): (NEG, "torch takes any momentum >= 0 (no upper bound)"),
    ("Adafactor", "eps"): ([Elem(0, -1.0), Elem(1, -1.0)], "torch's pair (eps1 or None, eps2), each >= 0"),
    ("ReduceLROnPlateau", "factor"): ([1.0, 1.5, -0.1], "as reduce_on_plateau (torch requires factor < 1)"),
    ("CyclicLR", "scale_mode"): (None, "read only with a scale_fn (torch ignores it otherwise); checked with "
                                      "one in tests/reference/test_torch_compat_schedulers.py"),
}


# --- a working baseline for every factory ------------------------------------------------------
def _base_kwargs(name: str) -> dict:
    if name in _registry.OPTIMIZERS:
        return dict(_registry.OPTIMIZERS[name].example)
    if name in _registry.SCHEDULES:
        return dict(_registry.SCHEDULES[name].example)
    return dict(BASE.get(name, {}))


BASE: dict[str, dict] = {
    "scale": dict(step_size=0.5), "clip": dict(max_delta=1.0), "clip_by_global_norm": dict(max_norm=1.0),
    "clip_by_block_rms": dict(threshold=1.0), "ema": dict(decay=0.9), "trace": dict(decay=0.9),
    "scale_by_learning_rate": dict(learning_rate=0.1), "scale_by_schedule": dict(step_size_fn=lambda t: 0.1),
    "scale_by_madgrad": dict(learning_rate=0.1),
    "scale_by_dog": dict(init_step=("heuristic", 1e-6)),
    "scale_by_rprop": dict(learning_rate=0.01),
    # sophia's default estimator needs obj_fn=; the walker passes value= only: squared gradients stand in
    "sophia": dict(learning_rate=0.1, hessian_diagonal_fn=zoo.stateless(lambda g, p: jax.tree.map(jnp.square, g))),
    "scale_by_sophia": dict(hessian_diagonal_fn=zoo.stateless(lambda g, p: jax.tree.map(jnp.square, g))),
    "masked": dict(inner=None, mask={"w": True, "m": False}),
    "multi_transform": dict(transforms=None, param_labels={"w": "a", "m": "a"}),
    "lookahead": dict(fast_optimizer=None), "sam": dict(optimizer=None), "record_norms": dict(inner=None), "monitor": dict(measures={"n": zoo.global_norm}),
    "apply_if_finite": dict(inner=None, max_consecutive_errors=2),
    "MultiSteps": dict(opt=None, every_k_schedule=2),
    "join_schedules": dict(schedules=None, boundaries=[20, 50]),
    "packed": dict(tx=None), "with_extra_args_support": dict(tx=None),
    "cautious": dict(tx=None),
    "mechanize": dict(base_optimizer=None), "schedule_free": dict(base_optimizer=None, learning_rate=0.1),
    "add_noise": dict(eta=0.01, gamma=0.55, key=0),
    "dpsgd": dict(learning_rate=0.1, l2_norm_clip=1.0, noise_multiplier=0.5, seed=0),
    "differentially_private_aggregate": dict(l2_norm_clip=1.0, noise_multiplier=0.5, key=0),
    "split_real_and_imaginary": dict(inner=None),
    "scale_by_zoom_linesearch": dict(max_linesearch_steps=10),
    "scale_by_backtracking_linesearch": dict(max_backtracking_steps=10),
    # optax transformations (transforms/): callables and inner transformations they need
    "adaptive_grad_clip": dict(clipping=0.1), "apply_every": dict(k=2),
    "conditionally_mask": dict(inner=None, should_transform_fn=lambda step: step % 2 == 0),
    "conditionally_transform": dict(inner=None, should_transform_fn=lambda step: step % 2 == 0),
    "flatten": dict(inner=None), "freeze": dict(mask={"w": True, "m": False}),
    "selective_transform": dict(optimizer=None, freeze_mask={"w": False, "m": True}),
    "partition": dict(transforms=None, param_labels={"w": "a", "m": "a"}),
    "measure_with_ema": dict(measure=zoo.global_norm, decay=0.9),
    "snapshot": dict(measure_name="norm", measure=zoo.global_norm),
    "stateless": dict(f=lambda u, p: u), "stateless_with_tree_map": dict(f=lambda g, p: g),
    # torch_compat (defaults elsewhere: torch's)
    "SGD": dict(lr=0.1, momentum=0.9), "RMSprop": dict(momentum=0.5),
    "LBFGS": dict(lr=1.0),  # torch's default is the int 1: a float to trace
    "LambdaLR": dict(lr=0.1, lr_lambda=lambda e: 0.95**e), "MultiplicativeLR": dict(lr=0.1, lr_lambda=lambda e: 0.9),
    "StepLR": dict(lr=0.1, step_size=3), "MultiStepLR": dict(lr=0.1, milestones=[2, 5]),
    "ConstantLR": dict(lr=0.1), "LinearLR": dict(lr=0.1), "ExponentialLR": dict(lr=0.1, gamma=0.9),
    "PolynomialLR": dict(lr=0.1), "CosineAnnealingLR": dict(lr=0.1, T_max=10),
    "CosineAnnealingWarmRestarts": dict(lr=0.1, T_0=5), "CyclicLR": dict(base_lr=1e-3, max_lr=1e-2, step_size_up=5),
    "OneCycleLR": dict(max_lr=0.1, epochs=2, steps_per_epoch=10),  # total_steps=None: epochs and steps_per_epoch count
    "SequentialLR": dict(lr=0.1, schedulers=None, milestones=[5]), "ChainedScheduler": dict(schedulers=None),
    "ReduceLROnPlateau": dict(lr=0.1), "clip_grad_norm": dict(max_norm=1.0), "clip_grad_value": dict(clip_value=1.0),
    "get_constant_schedule": dict(lr=0.1), "get_constant_schedule_with_warmup": dict(lr=0.1, num_warmup_steps=5),
    **{f"get_{k}_with_warmup": dict(lr=0.1, num_warmup_steps=5, num_training_steps=50)
       for k in ("linear_schedule", "cosine_schedule", "cosine_with_hard_restarts_schedule", "polynomial_decay_schedule")},
    "get_cosine_with_min_lr_schedule_with_warmup": dict(lr=0.1, num_warmup_steps=5, num_training_steps=50,
                                                        min_lr_rate=0.1),
    "get_inverse_sqrt_schedule": dict(lr=0.1, num_warmup_steps=5),
    "get_wsd_schedule": dict(lr=0.1, num_warmup_steps=5, num_decay_steps=10, num_training_steps=50),
    "SWALR": dict(lr=0.1, swa_lr=0.05),
}


def _fill(name: str, kwargs: dict) -> dict:
    """Replace the ``None`` placeholders of BASE by fresh objects."""
    out = dict(kwargs)
    for k in ("inner", "optimizer", "fast_optimizer", "opt", "tx", "base_optimizer"):
        if k in out and out[k] is None:
            out[k] = zoo.sgd(0.1)
    if name in ("multi_transform", "partition"):
        out["transforms"] = {"a": zoo.sgd(0.1)}
    if name == "join_schedules":
        out["schedules"] = [zoo.constant_schedule(1.0)] * 3
    if out.get("schedulers", ()) is None:
        out["schedulers"] = [L.StepLR(0.1, 3), L.ExponentialLR(0.1, 0.9)]
    return out


def factories() -> list[tuple[str, object]]:
    out = []
    for module in MODULES:
        prefix = "" if module is zoo else module.__name__.removeprefix("jaxopt_zoo.") + "."
        for name in sorted(vars(module)):
            obj = getattr(module, name)
            if name.startswith("_") or name in NOT_FACTORIES or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if inspect.isclass(obj) and name != "MultiSteps" and not prefix:
                continue  # states and nodes
            try:
                inspect.signature(obj)
            except (TypeError, ValueError):
                continue
            out.append((prefix + name, obj))
    return out


def cases() -> list:
    out = []
    for name, obj in factories():
        short = name.rsplit(".", 1)[-1]
        for arg in inspect.signature(obj).parameters:
            if (short, arg) in EXCEPTIONS:
                bad, _ = EXCEPTIONS[(short, arg)]
            else:
                bad = KINDS.get(arg)
            for value in bad or []:
                shown = f"{arg}[{value.index}]={value.value!r}" if isinstance(value, Elem) else f"{arg}={value!r}"
                out.append(pytest.param(name, arg, value, id=f"{name}-{shown}"))
    return out


def _lookup(name: str):
    return dict(factories())[name]


def build(name: str, **override):
    short = name.rsplit(".", 1)[-1]
    kwargs = _fill(short, _base_kwargs(short))
    kwargs.update(override)
    return _lookup(name)(**kwargs)


def test_every_factory_builds_with_its_baseline():
    for name, _ in factories():
        build(name)


def test_the_walker_sees_the_whole_zoo():
    names = {n for n, _ in factories()}
    assert set(_registry.OPTIMIZERS) <= names and set(_registry.SCHEDULES) <= names
    assert {"scale_by_adam", "apply_if_finite", "MultiSteps", "reduce_on_plateau"} <= names
    torch_compat = {e.name for e in (*_registry.TORCH_OPTIMIZERS.values(), *_registry.TORCH_SCHEDULERS.values(),
                                     *_registry.TORCH_TRANSFORMS.values(), *_registry.TORCH_HF_SCHEDULES.values(),
                                     *_registry.TORCH_SWA.values())}
    assert torch_compat <= names and {n for n in names if n.startswith("torch_compat.")} == torch_compat


@pytest.mark.parametrize("name,arg,value", cases())
def test_bad_value_raises_a_recognisable_error(name, arg, value):
    short = name.rsplit(".", 1)[-1]
    if isinstance(value, Elem):  # the baseline's tuple (or the default) with one bad element
        given = _fill(short, _base_kwargs(short)).get(arg, inspect.signature(_lookup(name)).parameters[arg].default)
        given = tuple(value.value if i == value.index else v for i, v in enumerate(given))
        arg, value = f"{arg}[{value.index}]", value.value
    else:
        given = value
    with pytest.raises(ValueError) as info:
        build(name, **{arg.split("[")[0]: given})
    message = str(info.value)
    heads = (f"jaxopt_zoo.{short}: argument `{arg}`", f"jaxopt_zoo.{name}: argument `{arg}`")
    assert message.startswith(heads), message
    assert repr(value) in message, message


def test_exceptions_name_real_arguments():
    signatures = {n.rsplit(".", 1)[-1]: inspect.signature(o).parameters for n, o in factories()}
    for (fn, arg), (_, reason) in EXCEPTIONS.items():
        assert fn in signatures and arg in signatures[fn], (fn, arg)
        assert reason


# --- traced hyperparameters are not checked ------------------------------------------------------
TRANSFORMS = sorted(n for n, o in factories() if not inspect.isclass(o) and hasattr(build(n), "init"))
FLOAT_KINDS = {k for k, v in KINDS.items() if v in (UNIT, NEG, EPS) or k in {"alpha", "eta_minus", "eta_plus", "rho"}}
PARAMS = {"w": jnp.array([0.5, -1.0, 2.0, 0.1]), "m": jnp.ones((2, 3))}
# Transformations defined for matrix leaves only (and why): they get PARAMS' matrix alone.
MATRICES_ONLY = {"scale_by_muon": "orthogonalises matrices; zoo.muon sends the other leaves to AdamW",
                 "Muon": "torch.optim.Muon takes 2-D params only (it raises otherwise)",
                 # per-example gradients: axis 0 of every leaf is the batch (PARAMS' leaves differ in it)
                 "dpsgd": "takes per-example gradients", "differentially_private_aggregate": "as dpsgd"}


# torch_compat members without a float hyperparameter to trace (and why).
NOTHING_TO_TRACE = {"torch_compat.swa_utils.AveragedModel": "its arguments are averaging functions and step counts"}


def _half_sq(params):
    return sum(0.5 * jnp.sum(x**2) for x in jax.tree.leaves(params))


def _extras(name: str, params) -> dict:
    """``value=`` for every member, and what ``_registry.UPDATE_EXTRAS`` says ``name`` needs
    (the loss ``_half_sq``, whose gradient is the ``params`` passed as updates)."""
    short = name.rsplit(".", 1)[-1]
    return {"value": jnp.array(1.0), **_registry.update_extras(short, value=_half_sq(params), grad=params, value_fn=_half_sq)}


def _float_args(name: str, kwargs: dict) -> list[str]:
    return [k for k, v in kwargs.items() if k in FLOAT_KINDS and isinstance(v, float)]


def _injected(name: str) -> tuple:
    """``inject_hyperparams`` around the transformation with its float arguments traced: ``(tx, traced names)``."""
    short = name.rsplit(".", 1)[-1]
    fn = _lookup(name)
    kwargs = _fill(short, _base_kwargs(short))
    for arg, p in inspect.signature(fn).parameters.items():  # defaults that are floats, too
        if arg not in kwargs and isinstance(p.default, float) and arg in FLOAT_KINDS:
            kwargs[arg] = p.default
    traced = _float_args(short, kwargs)
    static = [k for k in inspect.signature(fn).parameters if k not in traced]
    return zoo.inject_hyperparams(fn, static_args=static)(**kwargs), traced


def _injected_step(name: str) -> tuple:
    tx, _ = _injected(name)
    params = {"m": PARAMS["m"]} if name.rsplit(".", 1)[-1] in MATRICES_ONLY else PARAMS
    state = tx.init(params)
    return tx.update(params, state, params, **_extras(name, params))


@pytest.fixture(scope="module")
def injected_steps(request):
    """Every collected transformation's first step with traced hyperparameters, 8 to a compiled
    program (tests/_batched.py: one compile per transformation was most of this test's time)."""
    return _batched.run_each(_batched.collected_params(request, "test_traced_hyperparameters_pass"), _injected_step)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_traced_hyperparameters_pass(name, injected_steps):
    _, traced = _injected(name)
    u, state = _batched.result(injected_steps, name)
    assert traced or not name.startswith("torch_compat.") or name in NOTHING_TO_TRACE, name
    for k in traced:
        assert k in state.hyperparams
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(u))


# Tuple arguments (torch's betas, etas, step_sizes) are not traced: inject_hyperparams takes
# numbers only. betas[0] takes a schedule instead (test_schedule_as_learning_rate).

# Factories whose learning_rate is not a per-step rate, so it takes no schedule (and why).
LR_NOT_A_SCHEDULE = {"rprop": "Rprop's learning_rate is only each coordinate's initial step size (TypeError)",
                     "scale_by_rprop": "as rprop",
                     "optimistic_adam": "optax's first parametrisation: learning_rate is the optimistic step's alpha "
                                        "(ValueError, as optax; optimistic_adam_v2 takes a schedule)"}
SCHEDULED = zoo.linear_schedule(0.1, 0.01, 10)


@pytest.mark.parametrize(
    "name",
    [n for n in TRANSFORMS if {"learning_rate", "lr"} & set(inspect.signature(_lookup(n)).parameters)
     and n not in LR_NOT_A_SCHEDULE],
)
def test_schedule_as_learning_rate(name):
    """Also, for torch_compat, the hyperparameters torch's cyclic schedulers move: momentum, betas[0]."""
    short = name.rsplit(".", 1)[-1]
    kwargs = _fill(short, _base_kwargs(short))
    params = inspect.signature(_lookup(name)).parameters
    kwargs["learning_rate" if "learning_rate" in params else "lr"] = SCHEDULED
    if name.startswith("torch_compat.") and "momentum" in params:
        kwargs["momentum"] = SCHEDULED
    if "betas" in params:
        kwargs["betas"] = (SCHEDULED, params["betas"].default[1])
    tx = _lookup(name)(**kwargs)
    u, state = jax.jit(lambda p: tx.update(p, tx.init(p), p, **_extras(name, p)))(
        {"m": PARAMS["m"]} if short in MATRICES_ONLY else PARAMS)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(u))
    if name.startswith("torch_compat."):  # the state reports the values the update used
        used = zoo.current_hyperparams(state)
        assert {k: float(v) for k, v in used.items()} == pytest.approx({k: 0.1 for k in used}), used
        assert len(used) == 1 + ("momentum" in params) + ("betas" in params)


SCHEDULE_FLOATS = {"init_value", "end_value", "peak_value", "value", "max_value", "base_value", "eta_min",
                   "decay_rate", "gamma", "alpha", "exponent", "power", "div_factor",
                   "final_div_factor", "base_momentum", "max_momentum"}
# Float arguments that shape a schedule's pieces (Python-side boundaries) must be concrete:
# one_cycle_schedule's pct_start places the phase boundaries, as torch's float() does.


@pytest.mark.parametrize("name", sorted(_registry.SCHEDULES))
def test_schedules_take_traced_values(name):
    kwargs = _base_kwargs(name)
    fn = _lookup(name)
    for arg, p in inspect.signature(fn).parameters.items():
        if arg not in kwargs and isinstance(p.default, float):
            kwargs[arg] = p.default
    traced = [k for k, v in kwargs.items() if k in SCHEDULE_FLOATS and isinstance(v, float)]
    assert traced or name == "sgdr_schedule" or "boundaries_and_scales" in kwargs

    @jax.jit
    def values(vals):
        sched = fn(**{**kwargs, **vals})
        return jnp.stack([jnp.asarray(sched(t), jnp.float64) for t in (0, 7, 5000)])

    out = values({k: jnp.asarray(kwargs[k]) for k in traced})
    assert np.all(np.isfinite(out))


# torch_compat.lr_scheduler: float arguments traced under jit (inside a jitted train step).
SCHEDULER_FLOATS = {"lr", "base_lr", "max_lr", "gamma", "eta_min", "factor", "start_factor", "end_factor", "power",
                    "base_momentum", "max_momentum", "div_factor", "final_div_factor",
                    "swa_lr", "lr_end", "min_lr_rate", "min_lr_ratio", "num_cycles"}
# Schedulers whose arguments stay concrete, and why.
SCHEDULER_NOT_TRACED = {
    "ReduceLROnPlateau": "not a schedule t -> lr but the lr of an optimizer, which steps it with value=; its "
                         "lr must be a concrete float > 0 (torch's comes from the optimizer)",
}
SCHEDULERS = [n for n, o in factories()
              if n.startswith(("torch_compat.lr_scheduler.", "torch_compat.transformers.", "torch_compat.swa_utils.SWALR"))]


@pytest.mark.parametrize("name", SCHEDULERS)
def test_torch_schedulers_take_traced_values(name):
    short = name.rsplit(".", 1)[-1]
    if short in SCHEDULER_NOT_TRACED:
        assert SCHEDULER_NOT_TRACED[short]
        return
    fn = _lookup(name)
    kwargs = _fill(short, _base_kwargs(short))
    for arg, p in inspect.signature(fn).parameters.items():
        if arg not in kwargs and isinstance(p.default, float):
            kwargs[arg] = p.default
    traced = [k for k, v in kwargs.items() if k in SCHEDULER_FLOATS and isinstance(v, float)]
    assert traced or short == "ChainedScheduler"  # its base lr is its members'
    eager = fn(**kwargs)

    @jax.jit
    def values(vals):
        sched = fn(**{**kwargs, **vals})
        out = [jnp.stack([jnp.asarray(sched(t), jnp.float64) for t in (0, 7, 5000)])]
        if getattr(sched, "momentum", None) is not None:
            out.append(jnp.stack([jnp.asarray(sched.momentum(t), jnp.float64) for t in (0, 7, 5000)]))
        return out

    out = values({k: jnp.asarray(kwargs[k]) for k in traced})
    want = [np.array([float(eager(t)) for t in (0, 7, 5000)])]
    if getattr(eager, "momentum", None) is not None:
        want.append(np.array([float(eager.momentum(t)) for t in (0, 7, 5000)]))
    for got, w in zip(out, want, strict=True):
        np.testing.assert_allclose(np.asarray(got), w, rtol=1e-6)


def test_messages_have_one_form():
    with pytest.raises(ValueError, match=re.escape("jaxopt_zoo.adam: argument `b1` must be in [0, 1), got 1.5.")):
        zoo.adam(1e-3, b1=1.5)
