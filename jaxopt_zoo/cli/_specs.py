"""Command-line specs: ``name[:key=value,...]`` for optimizers and schedules, read without eval.

A spec names a catalogued member (``jaxopt_zoo._registry``), an alias of one (``momentum``,
``nesterov``, ``sf_adamw``) or a wrapper (``lookahead``, ``sam``), then keyword arguments of
its factory::

    adam
    adamw:learning_rate=3e-3,weight_decay=0.01
    rmsprop:lr=1e-3,centered=True              # lr / wd: short for learning_rate / weight_decay
    lookahead:optimizer=adam,sync_period=6     # a wrapper takes its inner optimizer by name ...
    "sam:optimizer='sgd:lr=0.1',rho=0.05"      # ... or as a quoted spec of its own
    warmup_cosine_decay_schedule:peak_value=1e-2,warmup_steps=50
    onecycle                                   # short schedule names, see SCHEDULE_SHORT_NAMES

Names ignore case and treat ``-``, ``_`` and spaces alike (``"schedule-free adamw"``).
Values are Python literals (numbers, True/False/None, quoted strings, tuples, lists, dicts)
read with ``ast.literal_eval``; a bare word is a string. Anything else is refused. An unknown
name or argument raises ``SpecError`` listing the close matches and every valid choice.

Learning rates: a bare optimizer name runs its factory's defaults with the catalogue's example
learning rate (``jaxopt-zoo list`` shows it), because most factories have no default one; other
arguments a factory requires (dpsgd's clip, noise and seed) also come from the example.
"""

from __future__ import annotations

import ast
import difflib
import inspect
from typing import Any, Callable, NamedTuple

from .. import _registry


class SpecError(ValueError):
    """A spec that cannot be used; the message says what would be valid."""


# Shorthand argument names accepted in every spec.
ARG_SHORTHANDS = {"lr": "learning_rate", "wd": "weight_decay"}


def normalize(name: str) -> str:
    """Case-folded, with ``-`` and spaces turned into ``_`` (``"Schedule-free AdamW"`` -> ``schedule_free_adamw``)."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def close_matches(word: str, choices: list[str]) -> str:
    """The text " Did you mean: a, b?" for the close matches of `word` in `choices`, or "" if none."""
    matches = difflib.get_close_matches(word, choices, n=4, cutoff=0.5)
    matches += [c for c in choices if c not in matches and (word in c or c in word) and len(word) > 1][: 4 - len(matches)]
    return f" Did you mean: {', '.join(matches)}?" if matches else ""


def _literal(node: ast.AST, spec: str, key: str) -> Any:
    if isinstance(node, ast.Name):  # a bare word: a string (True/False/None are constants)
        return node.id
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise SpecError(
            f"in {spec!r}: the value of `{key}` must be a literal (a number, True/False/None, a quoted "
            f"string, a tuple, list or dict of those), got {ast.unparse(node)!r}.") from None


def split_spec(spec: str) -> tuple[str, dict]:
    """``'adamw:learning_rate=3e-3,weight_decay=0.01'`` -> ``('adamw', {'learning_rate': 0.003, ...})``.

    Args:
      spec: ``name`` or ``name:key=value,key=value``.

    Returns:
      The normalized name and the keyword arguments (shorthands ``lr``/``wd`` expanded).

    Raises:
      SpecError: for an empty name, text that is not ``key=value`` pairs, a repeated key or a
        value that is not a literal.
    """
    if not isinstance(spec, str):
        raise SpecError(f"a spec must be a string, got {spec!r}.")
    head, _, rest = spec.partition(":")
    name = normalize(head)
    if not name:
        raise SpecError(f"{spec!r} has no name before the ':'; expected e.g. 'adamw:learning_rate=3e-3'.")
    if not rest.strip():
        return name, {}
    try:
        call = ast.parse(f"_({rest})", mode="eval").body
    except SyntaxError:
        call = None
    if not isinstance(call, ast.Call) or call.args or any(k.arg is None for k in call.keywords):
        raise SpecError(
            f"cannot read the arguments of {spec!r}: expected key=value pairs separated by commas, "
            f"e.g. 'adamw:learning_rate=3e-3,weight_decay=0.01'.")
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        key = ARG_SHORTHANDS.get(kw.arg, kw.arg)
        if key in kwargs:
            raise SpecError(f"in {spec!r}: argument `{key}` is given twice.")
        kwargs[key] = _literal(kw.value, spec, kw.arg)
    return name, kwargs


def _check_args(spec: str, member: str, factory: Callable, kwargs: dict, also: tuple = ()) -> None:
    valid = [p for p in inspect.signature(factory).parameters if p not in ("args", "kwargs")] + list(also)
    for key in kwargs:
        if key not in valid:
            raise SpecError(
                f"in {spec!r}: {member} has no argument `{key}`.{close_matches(key, valid)} "
                f"Its arguments: {', '.join(valid)}.")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_types(spec: str, member: str, factory: Callable, kwargs: dict) -> None:
    """Numbers where the factory's default (or a learning rate) is a number, booleans where it is one."""
    params = inspect.signature(factory).parameters
    for key, value in kwargs.items():
        if key not in params:  # a wrapper's `optimizer=` (lookahead's is fast_optimizer)
            continue
        default = params[key].default
        if key == "learning_rate" or _is_number(default):
            if not _is_number(value):
                raise SpecError(f"in {spec!r}: `{key}` of {member} must be a number, got {value!r}.")
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise SpecError(f"in {spec!r}: `{key}` of {member} must be True or False, got {value!r}.")


def _smoke_test(spec: str, tx) -> None:
    """Trace one init + update on a small tree (no computation): wrong-typed values fail here."""
    import jax
    import jax.numpy as jnp

    tree = {"w": jax.ShapeDtypeStruct((3, 2), jnp.float32), "b": jax.ShapeDtypeStruct((3,), jnp.float32)}
    try:
        def half_sq(p):  # a loss whose gradient is p, for members that take value_fn= (lbfgs)
            return sum(0.5 * jnp.sum(x**2) for x in jax.tree.leaves(p))

        jax.eval_shape(lambda p: tx.update(p, tx.init(p), p, value=half_sq(p), grad=p, value_fn=half_sq), tree)
    except Exception as e:  # any failure here is a bad value in the spec
        raise SpecError(f"in {spec!r}: the optimizer fails on a small problem: {type(e).__name__}: {e}") from None


# --- optimizers -----------------------------------------------------------------------------------

def optimizer_names() -> list[str]:
    """Every name an optimizer spec may start with."""
    return sorted(set(_registry.OPTIMIZERS) | set(_registry.ALIASES) | set(_registry.WRAPPERS))


def example_learning_rate(member: str) -> Any:
    """The catalogue's example learning rate of ``member`` (what a bare name runs with)."""
    return _registry.OPTIMIZERS[member].example.get("learning_rate")


class OptimizerSpec(NamedTuple):
    """A resolved optimizer spec; ``build()`` makes the transformation."""

    label: str  # the spec as written
    member: str  # the catalogued factory (or wrapper) name
    kwargs: dict  # its keyword arguments (wrappers: without the inner optimizers)
    inner: OptimizerSpec | None = None  # a wrapper's optimizer
    adv_inner: OptimizerSpec | None = None  # sam's adv_optimizer
    given: tuple = ()  # the argument names the spec itself wrote

    def with_learning_rate(self, learning_rate: Any) -> OptimizerSpec:
        """This spec with ``learning_rate`` unless the spec wrote one itself (wrappers: the inner's)."""
        if self.inner is not None:
            return self._replace(inner=self.inner.with_learning_rate(learning_rate))
        if "learning_rate" in self.given:
            return self
        return self._replace(kwargs={**self.kwargs, "learning_rate": learning_rate})

    @property
    def schedule_free(self) -> bool:
        """Whether this runs a schedule-free member (it wants a constant learning rate)."""
        return self.member.startswith("schedule_free") or (self.inner is not None and self.inner.schedule_free)

    @property
    def learning_rate(self) -> Any:
        """The (peak) learning rate; a wrapper's is its inner optimizer's."""
        return self.inner.learning_rate if self.inner is not None else self.kwargs.get("learning_rate")

    def build(self, multiplier: Callable | None = None):
        """The ``GradientTransformation``; with ``multiplier``, lr(t) = learning_rate * multiplier(t)."""
        factory = _registry.factory(self.member)
        if self.inner is not None:
            extra = {} if self.adv_inner is None else {"adv_optimizer": self.adv_inner.build()}
            return factory(self.inner.build(multiplier), **extra, **self.kwargs)
        kwargs = dict(self.kwargs)
        if multiplier is not None and "learning_rate" in kwargs:
            lr = kwargs["learning_rate"]
            kwargs["learning_rate"] = lambda t: lr * multiplier(t)
        # sophia's obj_fn= from the step's value_fn=, dpsgd's per-example gradients as a batch of one
        return _registry.for_a_step(self.member, factory(**kwargs))


def parse_optimizer(spec: str) -> OptimizerSpec:
    """Resolve an optimizer spec and check it by building it once.

    Raises:
      SpecError: for an unknown name or argument, or an argument the factory rejects.
    """
    name, kwargs = split_spec(spec)
    label = spec.strip()
    if name in _registry.ALIASES:
        alias = _registry.ALIASES[name]
        member, base = alias.target, dict(alias.kwargs)
    elif name in _registry.OPTIMIZERS or name in _registry.WRAPPERS:
        member, base = name, {}
    else:
        raise SpecError(f"unknown optimizer {name!r}.{close_matches(name, optimizer_names())} "
                        f"Known: {', '.join(optimizer_names())}.")
    factory = _registry.factory(member)
    _check_args(spec, member, factory, kwargs, also=("optimizer",) if member in _registry.WRAPPERS else ())
    _check_types(spec, member, factory, kwargs)
    inner = adv = None
    given = tuple(kwargs)
    if member in _registry.WRAPPERS:
        base.update(kwargs)
        inner_spec = base.pop("optimizer", None)
        if inner_spec is None:  # the factory's own name for it (lookahead: fast_optimizer)
            inner_spec = base.pop("fast_optimizer", None)
        adv_spec = base.pop("adv_optimizer", None)
        if inner_spec is None:
            raise SpecError(f"in {spec!r}: the wrapper {member} needs optimizer=<name or quoted spec>, "
                            f"e.g. '{member}:optimizer=adam'.")
        inner = parse_optimizer(str(inner_spec))
        adv = None if adv_spec is None else parse_optimizer(str(adv_spec))
        kwargs = base
    else:
        if "learning_rate" not in kwargs and example_learning_rate(member) is not None:
            base["learning_rate"] = example_learning_rate(member)
        for key, p in inspect.signature(factory).parameters.items():  # required ones (dpsgd's): the example's
            if p.default is p.empty and key in _registry.OPTIMIZERS[member].example and key not in base:
                base[key] = _registry.OPTIMIZERS[member].example[key]
        base.update(kwargs)
        kwargs = base
    resolved = OptimizerSpec(label, member, kwargs, inner, adv, given)
    try:
        tx = resolved.build()
    except (ValueError, TypeError) as e:
        raise SpecError(f"in {spec!r}: {e}") from None
    _smoke_test(spec, tx)
    return resolved


# --- schedules ------------------------------------------------------------------------------------

def _q(total: int, num: int, den: int, least: int = 1) -> int:
    return max(least, total * num // den)


# The arguments a schedule gets before a spec's own, for a run of ``total`` steps: shapes that
# peak at 1 and fit the run. Every catalogued schedule has an entry.
RUN_DEFAULTS: dict[str, Callable[[int], dict]] = {
    "constant_schedule": lambda T: dict(value=1.0),
    "linear_schedule": lambda T: dict(init_value=1.0, end_value=0.0, transition_steps=T),
    "polynomial_schedule": lambda T: dict(init_value=1.0, end_value=0.0, power=2.0, transition_steps=T),
    "exponential_decay": lambda T: dict(init_value=1.0, transition_steps=_q(T, 1, 10), decay_rate=0.7),
    "cosine_decay_schedule": lambda T: dict(init_value=1.0, decay_steps=T),
    "warmup_cosine_decay_schedule": lambda T: dict(init_value=0.0, peak_value=1.0, warmup_steps=_q(T, 1, 20), decay_steps=max(2, T)),
    "warmup_exponential_decay_schedule": lambda T: dict(init_value=0.0, peak_value=1.0, warmup_steps=_q(T, 1, 20),
                                                        transition_steps=_q(T, 1, 10), decay_rate=0.7),
    "piecewise_constant_schedule": lambda T: dict(init_value=1.0, boundaries_and_scales={_q(T, 1, 2): 0.1, _q(T, 3, 4): 0.1}),
    "piecewise_interpolate_schedule": lambda T: dict(interpolate_type="cosine", init_value=1.0,
                                                     boundaries_and_scales={_q(T, 1, 2): 0.1, _q(T, 3, 4): 0.1}),
    "sgdr_schedule": lambda T: dict(cosine_kwargs=[dict(init_value=0.0, peak_value=1.0, warmup_steps=_q(T, 1, 40),
                                                        decay_steps=_q(T, 1, 2, 2))] * 2),
    "step_decay_schedule": lambda T: dict(init_value=1.0, step_size=_q(T, 1, 3), gamma=0.1),
    "multistep_decay_schedule": lambda T: dict(init_value=1.0, milestones=(_q(T, 1, 2), _q(T, 3, 4)), gamma=0.1),
    "inverse_time_decay_schedule": lambda T: dict(init_value=1.0, decay_rate=10.0 / T),
    "cosine_warm_restarts_schedule": lambda T: dict(init_value=1.0, t_0=_q(T, 1, 7), t_mult=2),
    "one_cycle_schedule": lambda T: dict(max_value=1.0, total_steps=T),
    "cyclic_schedule": lambda T: dict(base_value=0.1, max_value=1.0, step_size_up=_q(T, 1, 8)),
    "warmup_linear_decay_schedule": lambda T: dict(peak_value=1.0, warmup_steps=_q(T, 1, 10), total_steps=T),
}
# optax core schedules (the one-cycle phases must end at distinct steps: at least 2 steps)
RUN_DEFAULTS["warmup_constant_schedule"] = lambda T: dict(init_value=0.0, peak_value=1.0, warmup_steps=_q(T, 1, 10))
RUN_DEFAULTS["cosine_onecycle_schedule"] = lambda T: dict(transition_steps=max(1, T), peak_value=1.0)
RUN_DEFAULTS["linear_onecycle_schedule"] = lambda T: dict(transition_steps=max(2, T), peak_value=1.0)
RUN_DEFAULTS["wsd_schedule"] = lambda T: dict(peak_value=1.0, warmup_steps=_q(T, 1, 10),
                                              stable_steps=max(0, _q(T, 7, 10) - _q(T, 1, 10)),
                                              decay_steps=max(0, T - _q(T, 7, 10)))
RUN_DEFAULTS["inverse_sqrt_schedule"] = lambda T: dict(peak_value=1.0, warmup_steps=_q(T, 1, 10))

# Short schedule names -> catalogued schedules.
SCHEDULE_SHORT_NAMES = {
    "constant": "constant_schedule",
    "linear": "linear_schedule",
    "polynomial": "polynomial_schedule",
    "exponential": "exponential_decay",
    "cosine": "cosine_decay_schedule",
    "warmup_cosine": "warmup_cosine_decay_schedule",
    "step": "step_decay_schedule",
    "multistep": "multistep_decay_schedule",
    "inverse_time": "inverse_time_decay_schedule",
    "restarts": "cosine_warm_restarts_schedule",
    "sgdr": "sgdr_schedule",
    "onecycle": "one_cycle_schedule",
    "one_cycle": "one_cycle_schedule",
    "cyclic": "cyclic_schedule",
    "warmup_linear": "warmup_linear_decay_schedule",
}


def schedule_names() -> list[str]:
    """Every name a schedule spec may start with."""
    return sorted(set(_registry.SCHEDULES) | set(SCHEDULE_SHORT_NAMES))


class ScheduleSpec(NamedTuple):
    """A resolved schedule spec for a run of ``total_steps`` steps."""

    label: str
    member: str
    kwargs: dict
    schedule: Callable  # step -> value

    @property
    def is_constant(self) -> bool:
        return self.member == "constant_schedule"


def parse_schedule(spec: str, total_steps: int) -> ScheduleSpec:
    """Resolve a schedule spec for a run of ``total_steps`` steps and build it.

    Arguments not given take the run-relative defaults of ``RUN_DEFAULTS`` (peak 1).

    Raises:
      SpecError: for an unknown name or argument, or an argument the factory rejects.
    """
    name, kwargs = split_spec(spec)
    member = SCHEDULE_SHORT_NAMES.get(name, name)
    if member not in _registry.SCHEDULES:
        raise SpecError(f"unknown schedule {name!r}.{close_matches(name, schedule_names())} "
                        f"Known: {', '.join(schedule_names())}.")
    factory = _registry.factory(member)
    _check_args(spec, member, factory, kwargs)
    _check_types(spec, member, factory, kwargs)
    defaults = RUN_DEFAULTS[member](total_steps) if member in RUN_DEFAULTS else dict(_registry.SCHEDULES[member].example)
    full = {**defaults, **kwargs}
    import jax
    import jax.numpy as jnp

    try:
        schedule = factory(**full)
        jax.eval_shape(schedule, jax.ShapeDtypeStruct((), jnp.int32))  # traced on a step: no computation
    except (ValueError, TypeError) as e:
        raise SpecError(f"in {spec!r}: {e}") from None
    return ScheduleSpec(spec.strip(), member, full, schedule)
