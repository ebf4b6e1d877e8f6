"""Every public name the zoo shares with optax accepts optax's call (issue 13, item 4).

For each public name of ``jaxopt_zoo`` that also exists in ``optax`` (else ``optax.contrib``,
``optax.schedules``, ``optax.transforms``), the signatures are compared: optax's positional
order, keyword names, kinds and defaults must all be there. Differences are allowed only for
the names in ``jaxopt_zoo._optax_differences.DIFFERENCES`` (the table of
docs/differences-from-optax.md, with a reason each). The names are found dynamically, so
members added later are covered too.
"""

import enum
import inspect
import pathlib
import types
import warnings

import numpy as np
import optax
import optax.contrib
import optax.schedules
import optax.transforms
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _optax_differences

OPTAX_MODULES = (optax, optax.contrib, optax.schedules, optax.transforms)
P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)
DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "differences-from-optax.md"


def optax_twin(name):
    """optax's object called ``name``: the first module that has it, skipping deprecated
    aliases (optax.dpsgd and friends warn: their home is optax.contrib)."""
    for module in OPTAX_MODULES:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                if hasattr(module, name):
                    return getattr(module, name)
            except DeprecationWarning:
                continue
    return None


def signature_or_none(obj):
    if isinstance(obj, types.ModuleType) or not callable(obj):
        return None
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def shared_names():
    out = []
    for name in sorted(n for n in dir(zoo) if not n.startswith("_")):
        twin = optax_twin(name)
        if twin is None:
            continue
        if signature_or_none(getattr(zoo, name)) is None or signature_or_none(twin) is None:
            continue  # modules, type aliases
        out.append(name)
    return out


def _is_transformation(x) -> bool:
    return callable(getattr(x, "init", None)) and callable(getattr(x, "update", None))


def _same_transformation(a, b) -> bool:
    """Two updates of each on a small ill-conditioned problem agree (updates and states).

    The update gets ``value=``, ``grad=`` and ``value_fn=`` (a line search needs them)."""
    import jax
    import jax.numpy as jnp

    def f(p):
        return jnp.sum(jnp.array([1.0, 3.0, 10.0]) * (p - 0.3) ** 2 + 0.1 * p**4)

    out = []
    for tx in (a, b):
        p, s, path = jnp.array([1.0, -2.0, 0.5]), None, []
        s = tx.init(p)
        for _ in range(2):
            v, g = jax.value_and_grad(f)(p)
            u, s = tx.update(g, s, p, value=v, grad=g, value_fn=f)
            p = p + u
            path.append((u, s))
        out.append(jax.tree.leaves(path))
    return len(out[0]) == len(out[1]) and all(np.allclose(x, y, rtol=1e-6) for x, y in zip(*out))


def same_default(a, b) -> bool:
    """Equal defaults: identical, or equal values of one type (int and float count as one);
    functions and transformations (lbfgs's linesearch) when they behave the same."""
    if a is b:
        return True
    if _is_transformation(a) and _is_transformation(b):
        # built by the same-named factory (sophia's hessian_diagonal_fn, which cannot run
        # without its obj_fn), or behaving the same when run (lbfgs's linesearch)
        same_factory = getattr(a.update, "__qualname__", 1) == getattr(b.update, "__qualname__", 2)
        return same_factory or _same_transformation(a, b)
    if isinstance(a, types.FunctionType) and isinstance(b, types.FunctionType):
        # function defaults (adopt's clip_value_fn) are the same when they agree at a few counts
        xs = np.array([1.0, 2.0, 7.0, 16.0, 1000.0])
        try:
            return bool(np.allclose(np.asarray(a(xs)), np.asarray(b(xs)), rtol=1e-12))
        except Exception:  # noqa: BLE001 - a function that cannot take an array is not comparable
            return False
    if all(hasattr(x, "init") and hasattr(x, "update") for x in (a, b)):
        # transformation defaults (sophia's hessian_diagonal_fn) are the same when built by the
        # same-named factory (hutchinson_estimator_diag_hessian.<locals>.update_fn)
        return getattr(a.update, "__qualname__", None) == getattr(b.update, "__qualname__", None)
    if isinstance(a, enum.Enum) and isinstance(b, enum.Enum):
        # the zoo's own enums (microbatch's AccumulationType) take optax's members by name
        return type(a).__name__ == type(b).__name__ and a.name == b.name
    numbers = (int, float)
    both_numbers = isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool)
    if type(a) is not type(b) and not both_numbers:
        return False
    try:
        return bool(np.all(a == b))
    except Exception:  # noqa: BLE001 - incomparable defaults are different
        return False


def incompatibilities(zoo_obj, optax_obj) -> list[str]:
    """What an optax call of ``optax_obj`` would not find in ``zoo_obj``; empty if none."""
    zs, os_ = inspect.signature(zoo_obj), inspect.signature(optax_obj)
    zp, op = list(zs.parameters.values()), list(os_.parameters.values())
    problems = []
    z_pos = [p for p in zp if p.kind in POSITIONAL]
    o_pos = [p for p in op if p.kind in POSITIONAL]
    for i, o in enumerate(o_pos):
        if i >= len(z_pos):
            if not any(p.kind is P.VAR_POSITIONAL for p in zp):
                problems.append(f"positional #{i} `{o.name}` missing")
            continue
        if z_pos[i].name != o.name:
            problems.append(f"positional #{i} is `{z_pos[i].name}`, optax's is `{o.name}`")
    for extra in z_pos[len(o_pos):]:
        if extra.default is P.empty:
            problems.append(f"zoo-only positional `{extra.name}` has no default")
    z_by_name = {p.name: p for p in zp}
    for o in op:
        if o.kind is P.VAR_POSITIONAL:
            if not any(p.kind is P.VAR_POSITIONAL for p in zp):
                problems.append("no *args")
            continue
        if o.kind is P.VAR_KEYWORD:
            if not any(p.kind is P.VAR_KEYWORD for p in zp):
                problems.append("no **kwargs")
            continue
        z = z_by_name.get(o.name)
        if z is None:
            if o.kind is P.KEYWORD_ONLY and not any(p.kind is P.VAR_KEYWORD for p in zp):
                problems.append(f"keyword `{o.name}` missing")
            continue
        if o.kind is P.KEYWORD_ONLY and z.kind not in (P.KEYWORD_ONLY, P.POSITIONAL_OR_KEYWORD):
            problems.append(f"`{o.name}` is not a keyword")
        if o.default is not P.empty and (z.default is P.empty or not same_default(z.default, o.default)):
            shown = "required" if z.default is P.empty else repr(z.default)
            problems.append(f"`{o.name}` defaults to {shown}, optax's to {o.default!r}")
    for z in zp:
        if z.kind is P.KEYWORD_ONLY and z.default is P.empty and z.name not in {o.name for o in op}:
            problems.append(f"zoo-only keyword `{z.name}` is required")
    return problems


SHARED = shared_names()


def test_many_names_are_shared():
    """The comparison covers the zoo's surface (a broken lookup would compare nothing)."""
    assert len(SHARED) > 60 and {"adam", "lookahead", "monitor", "chain", "sam", "cosine_decay_schedule"} <= set(SHARED)


@pytest.mark.parametrize("name", SHARED)
def test_signature_accepts_optax_call(name):
    problems = incompatibilities(getattr(zoo, name), optax_twin(name))
    if name in _optax_differences.DIFFERENCES:
        assert problems, f"{name} is listed as a deliberate difference but its signature is compatible: drop the row"
    else:
        assert not problems, f"zoo.{name} does not accept optax's call: {problems}"


def test_every_listed_difference_is_a_shared_name():
    assert set(_optax_differences.DIFFERENCES) <= set(SHARED)
    for name, (what, why) in _optax_differences.DIFFERENCES.items():
        assert what.strip() and len(why.strip()) > 20, name


def test_the_doc_is_generated_from_the_table():
    assert DOC.read_text() == _optax_differences.render(), (
        "docs/differences-from-optax.md is stale: run "
        "`python -m jaxopt_zoo._optax_differences > docs/differences-from-optax.md`")


# --- the comparison itself can fail --------------------------------------------------------------

def _optax_like(learning_rate, b1=0.9, *, nesterov=False):
    del learning_rate, b1, nesterov


@pytest.mark.parametrize("candidate,expected", [
    (lambda learning_rate, b1=0.9, *, nesterov=False, extra=1: None, []),
    (lambda learning_rate=1.0, b1=0.9, extra=2, *, nesterov=False: None, []),
    (lambda learning_rate, b2=0.9, *, nesterov=False: None, ["positional #1 is `b2`"]),
    (lambda learning_rate, b1=0.8, *, nesterov=False: None, ["`b1` defaults to 0.8"]),
    (lambda learning_rate, b1=0.9: None, ["keyword `nesterov` missing"]),
    (lambda learning_rate, b1=0.9, *, nesterov=False, extra: None, ["zoo-only keyword `extra` is required"]),
    (lambda learning_rate, b1=0.9, c=None, d=None, *, nesterov=False: None, []),
    (lambda learning_rate, b1=0, *, nesterov=False: None, ["`b1` defaults to 0"]),
    (lambda learning_rate, *, b1=0.9, nesterov=False: None, ["positional #1 `b1` missing"]),
])
def test_the_comparison_finds_differences(candidate, expected):
    found = incompatibilities(candidate, _optax_like)
    assert len(found) == len(expected) and all(f.startswith(e) for f, e in zip(found, expected)), found
