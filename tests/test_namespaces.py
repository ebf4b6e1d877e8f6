"""The subpackages are real namespaces (like ``optax.schedules``): each re-exports every
public member defined in its modules, the very objects ``jaxopt_zoo`` exports."""

import importlib.metadata

import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import optimizers, schedules, transforms

SUBPACKAGES = {"transforms": transforms, "optimizers": optimizers, "schedules": schedules}


def _public(module):
    return {n: getattr(module, n) for n in dir(module) if not n.startswith("_")}


@pytest.mark.parametrize("sub", sorted(SUBPACKAGES))
def test_subpackage_exports_its_members(sub):
    prefix = f"jaxopt_zoo.{sub}."
    defined_there = {n for n, obj in _public(zoo).items() if getattr(obj, "__module__", "").startswith(prefix)}
    exported = _public(SUBPACKAGES[sub])
    assert defined_there, sub
    missing = sorted(defined_there - set(exported))
    assert not missing, f"jaxopt_zoo.{sub} does not re-export {missing}: add them to its __init__.py"
    for name in defined_there:
        assert exported[name] is getattr(zoo, name), name
    modules = {n for n, obj in exported.items() if type(obj).__name__ == "module"}
    extra = sorted(set(exported) - defined_there - modules)
    assert not extra, f"jaxopt_zoo.{sub} exports {extra}, which jaxopt_zoo does not"


def test_version_is_the_installed_metadata():
    assert zoo.__version__ == importlib.metadata.version("jaxopt_zoo")
