"""The conformance harness itself (tests/conformance, docs/conformance.md): the zoo really stands
in for optax inside an optax test module, optax itself is untouched, and calls are counted."""

import pathlib
import sys
import tomllib

import optax
import optax.contrib

import jaxopt_zoo as zoo
from tests.conformance import zoo_standin


def test_shared_names_cover_the_zoo_and_leave_protocol_types():
    assert {"adam", "sgd", "chain", "cosine_decay_schedule", "MultiSteps", "sam"} <= set(zoo_standin.SHARED)
    assert "GradientTransformation" not in zoo_standin.SHARED
    assert zoo_standin.SHARED["sam"][0] is optax.contrib.sam
    state_cls = zoo_standin.SHARED["ScaleByAdamState"][1]
    assert type(state_cls(count=0, mu=0, nu=0)) is zoo.ScaleByAdamState
    assert isinstance(optax.ScaleByAdamState(count=0, mu=0, nu=0), state_cls)


def test_a_loaded_optax_test_module_sees_the_zoo_and_optax_is_untouched():
    before = {k: v for k, v in sys.modules.items() if k == "optax" or k.startswith("optax.")}
    module = zoo_standin.load(zoo_standin.OPTAX_DIR / "_src" / "update_test.py")
    assert module.update.apply_updates.__wrapped__ is zoo.apply_updates
    assert module.update.incremental_update.__wrapped__ is zoo.incremental_update
    assert module.update.jnp is sys.modules["jax.numpy"]  # not a zoo name: the real module
    from optax._src import update

    assert update.apply_updates is optax.apply_updates  # optax's own module is not patched
    after = {k: v for k, v in sys.modules.items() if k == "optax" or k.startswith("optax.")}
    assert all(after[k] is v for k, v in before.items())


def test_calls_are_counted_through_built_transformations():
    module = zoo_standin.load(zoo_standin.OPTAX_DIR / "_src" / "update_test.py")
    tx = zoo_standin.view(optax).sgd(0.1)
    zoo_standin.CALLS.clear()
    tx.update({"a": 1.0}, tx.init({"a": 0.0}))
    assert zoo_standin.CALLS == {"sgd.init": 1, "sgd.update": 1}
    del module


def test_known_differences_entries_are_complete():
    path = pathlib.Path(__file__).parent / "conformance" / "known_differences.toml"
    entries = tomllib.loads(path.read_text())["difference"]
    assert entries
    for entry in entries:
        assert set(entry) == {"test", "reason", "see"}, entry
        assert entry["test"].startswith("optax/") and "::" in entry["test"], entry


def test_suite_ids_stay_under_the_manifest_wherever_optax_is_installed():
    """With the virtualenv inside the checkout (`make test`'s .venv), pytest would name optax's
    test modules by their path below the rootdir, and the harness would then neither recognise
    them (no x64-off, no call counting) nor deselect the known differences."""
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
                          "tests/conformance"], cwd=root, capture_output=True, text=True, check=True).stdout
    ids = [line for line in out.splitlines() if "::" in line]
    assert ids and all(i.startswith("tests/conformance/optax_tests.txt::optax/") for i in ids), ids[:3]
