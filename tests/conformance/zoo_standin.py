"""Import optax's own test modules with the zoo's members standing in for optax's.

An optax test module is executed from its source with its own ``__builtins__`` whose
``__import__`` hands out *views* of optax's modules. A view answers every attribute as the real
module does, except a name the zoo shares with optax's public API (``optax.adam``,
``optax.contrib.sam``, ``optax.schedules.cosine_decay_schedule``, ...): where the real module's
attribute is that very public object, the view answers with the zoo's member instead. So
``alias.adam``, ``transform.scale_by_adam``, ``optax.adam`` and ``_schedule.cosine_decay_schedule``
all become ``zoo.*`` inside the test module, while optax itself (its internals, its helpers, its
other members) stays untouched: nothing in ``sys.modules`` is patched.

Which names stand in is computed, not listed: every public member of ``jaxopt_zoo`` whose name
is also public in ``optax``, ``optax.contrib``, ``optax.schedules`` or ``optax.transforms``, with
one exception: the protocol types (``GradientTransformation``, ``GradientTransformationExtraArgs``
and the type aliases) stay optax's, because "a zoo transformation is an optax transformation" is
exactly what a drop-in must satisfy (``isinstance(zoo.chain(...), optax.GradientTransformation)``).
The zoo's state classes (``ScaleByAdamState``, ``MaskedNode``, ``EmptyState``...) stand in as
"either" classes: calling one builds the zoo's, ``isinstance`` accepts the zoo's or optax's.

Every stand-in counts its calls (and the calls of the ``init``/``update`` of transformations it
built), so the harness can tell a test that exercised the zoo from one that only ran optax code.
"""

from __future__ import annotations

import builtins
import collections
import functools
import importlib
import inspect
import pathlib
import sys
import types
import warnings

import optax
import optax.contrib
import optax.schedules
import optax.transforms

import jaxopt_zoo as zoo

OPTAX_DIR = pathlib.Path(optax.__file__).parent
_OPTAX_NAMESPACES = (optax, optax.contrib, optax.schedules, optax.transforms)
# Optax's protocol types: never replaced (see above).
_PROTOCOL = {"GradientTransformation", "GradientTransformationExtraArgs", "Params", "Updates",
             "OptState", "Schedule", "ScalarOrSchedule"}
# Classes that are optimizers (their construction counts as using the zoo); other classes are
# state types, which stand in uncounted.
_COUNTED_CLASSES = {"MultiSteps"}

# Classes optax keeps private whose instances its tests check: what a shared member returns (the
# distribution of ``multi_normal``). The zoo's same-named class stands in as an "either" class.
_PRIVATE_CLASSES = {"MultiNormalDiagFromLogScale": ("optax._src.utils", "jaxopt_zoo._multi_normal")}

# Calls of zoo members since the last reset: name -> count ("adam", "adam.update", ...).
CALLS: collections.Counter = collections.Counter()


def _count_tx(name, tx):
    """Count the init/update calls of a transformation built by a zoo member."""
    if not (isinstance(tx, tuple) and hasattr(tx, "_replace") and hasattr(tx, "update")):
        return tx

    def counted(fn, label):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            CALLS[label] += 1
            return fn(*args, **kwargs)

        return call

    return tx._replace(init=counted(tx.init, f"{name}.init"), update=counted(tx.update, f"{name}.update"))


def _standin(name, member):
    if inspect.isclass(member):
        # A subclass keeps isinstance/issubclass against the zoo's class working.
        def __init__(self, *args, **kwargs):
            CALLS[name] += 1
            member.__init__(self, *args, **kwargs)

        return type(member.__name__, (member,), {"__init__": __init__, "__module__": member.__module__,
                                                  "__qualname__": member.__qualname__})

    @functools.wraps(member)
    def call(*args, **kwargs):
        CALLS[name] += 1
        return _count_tx(name, member(*args, **kwargs))

    return call


class _EitherState(type):
    """A state class as the test sees it: calling it builds the zoo's; ``isinstance`` accepts the
    zoo's or optax's (a state built by optax's own code in the same test is not a zoo failure)."""

    def __call__(cls, *args, **kwargs):
        return cls._build(*args, **kwargs)

    def __instancecheck__(cls, obj):
        return isinstance(obj, (cls._zoo, cls._optax))

    def __subclasscheck__(cls, sub):
        return issubclass(sub, (cls._zoo, cls._optax))

    def __getattr__(cls, name):
        return getattr(cls._zoo, name)


# Built as optax's: every stateless optax member (there are many the zoo lacks) returns optax's
# EmptyState, and an expected EmptyState in a test is usually the state of one of those.
_BUILT_AS_OPTAX = {"EmptyState"}


def _state_class(zoo_cls, optax_cls):
    build = optax_cls if zoo_cls.__name__ in _BUILT_AS_OPTAX else zoo_cls
    return _EitherState(zoo_cls.__name__, (), {"_zoo": zoo_cls, "_optax": optax_cls, "_build": build})


def _shared_names():
    """name -> (optax's public object, the zoo's stand-in)."""
    shared = {}
    for name in sorted(n for n in dir(zoo) if not n.startswith("_")):
        member = getattr(zoo, name)
        if isinstance(member, types.ModuleType) or not callable(member) or name in _PROTOCOL:
            continue
        for ns in _OPTAX_NAMESPACES:
            with warnings.catch_warnings():  # optax.dpsgd and friends: deprecated aliases of contrib's
                warnings.simplefilter("error", DeprecationWarning)
                try:
                    if not hasattr(ns, name):
                        continue
                except DeprecationWarning:
                    continue
                theirs = getattr(ns, name)
                if inspect.isclass(member) and name not in _COUNTED_CLASSES:
                    standin = _state_class(member, theirs)
                else:
                    standin = _standin(name, member)
                shared[name] = (theirs, standin)
                break
    for name, (theirs, ours) in _PRIVATE_CLASSES.items():
        optax_cls = getattr(importlib.import_module(theirs), name)
        shared[name] = (optax_cls, _state_class(getattr(importlib.import_module(ours), name), optax_cls))
    return shared


SHARED = _shared_names()


def test_module_names():
    """Dotted names of every optax test module (so one can import another, patched)."""
    return {
        "optax." + ".".join(p.relative_to(OPTAX_DIR).with_suffix("").parts): p
        for p in OPTAX_DIR.rglob("*_test.py")
    }


_TEST_MODULES = test_module_names()
_LOADED: dict = {}
_VIEWS: dict = {}


class _View:
    """An optax module as the test module sees it: the zoo's members in place of optax's."""

    def __init__(self, real):
        object.__setattr__(self, "_real", real)

    def __getattr__(self, name):
        real = object.__getattribute__(self, "_real")
        if f"{real.__name__}.{name}" in _TEST_MODULES:
            return load(_TEST_MODULES[f"{real.__name__}.{name}"])
        value = getattr(real, name)
        if isinstance(value, types.ModuleType):
            return view(value)
        entry = SHARED.get(name)
        if entry is not None and entry[0] is value:
            return entry[1]
        return value

    def __setattr__(self, name, value):  # mock.patch.object(view, ...) patches the real module
        setattr(object.__getattribute__(self, "_real"), name, value)

    def __delattr__(self, name):
        delattr(object.__getattribute__(self, "_real"), name)

    def __dir__(self):
        return dir(object.__getattribute__(self, "_real"))

    def __repr__(self):
        return f"<zoo view of {object.__getattribute__(self, '_real')!r}>"


def view(module):
    name = module.__name__
    if name in _TEST_MODULES:
        return load(_TEST_MODULES[name])
    if not (name == "optax" or name.startswith("optax.")):
        return module
    if name not in _VIEWS:
        _VIEWS[name] = _View(module)
    return _VIEWS[name]


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and fromlist:  # another optax test module: the patched one, never optax's
        fromlist = tuple(f for f in fromlist if f"{name}.{f}" not in _TEST_MODULES) or ("__name__",)
    module = builtins.__import__(name, globals, locals, fromlist, level)
    if level == 0 and isinstance(module, types.ModuleType):
        return view(module)
    return module


def load(path: pathlib.Path, standin: bool = True):
    """Execute one optax test module (once) with the zoo standing in; returns the module.

    ``standin=False`` imports it as optax's own (the baseline: what fails on optax itself)."""
    path = pathlib.Path(path)
    if path in _LOADED:
        return _LOADED[path]
    dotted = ".".join(path.relative_to(OPTAX_DIR).with_suffix("").parts)
    modname = f"jaxopt_zoo_conformance.optax.{dotted}"
    module = types.ModuleType(modname)
    module.__file__ = str(path)
    own_builtins = dict(builtins.__dict__)
    if standin:
        own_builtins["__import__"] = _import
    module.__dict__["__builtins__"] = own_builtins
    sys.modules[modname] = module
    _LOADED[path] = module
    try:
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    except BaseException:
        del _LOADED[path]
        del sys.modules[modname]
        raise
    return module

