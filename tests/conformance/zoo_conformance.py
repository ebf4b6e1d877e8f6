"""pytest plugin: optax's own tests, run with the zoo's members standing in (docs/conformance.md).

Loaded for every pytest run by the root conftest.py's ``pytest_plugins`` (a plugin, not a conftest: the
suite's items live in optax's files, where a conftest's hooks do not reach, and xdist's controller
must know the report categories). ``optax_tests.txt`` names the optax test files; the plugin
collects it: each optax test module
is executed by ``zoo_standin.load`` so that every name the zoo shares with optax resolves to the zoo's
member inside the test module (optax itself is not patched). Then:

- tests run as optax runs them: JAX's default mode (x64 off) unless a test turns x64 on itself;
- a test that passed without calling any zoo member is reported as ``not conformance``, not as
  a pass (it proved nothing about the zoo);
- the tests listed in ``known_differences.toml`` (each with its reason) are deselected; with
  ``CONFORMANCE=known`` only they run, and each must still fail: a listed test that passes, or a
  listed entry that matches no test, is an error, so the list cannot rot.

``CONFORMANCE=full`` (``make conformance``) runs every file of ``optax_tests.txt``;
the default, ``fast`` (``make test``), runs only the files of ``FAST``; ``off`` collects nothing;
``baseline`` runs the suite on optax itself, no stand-ins (to tell which failures are optax's own
in this environment: those go in the list with ``see = "baseline"``).
"""

from __future__ import annotations

import fnmatch
import json
import os
import pathlib
import tomllib
import warnings

import jax
import pytest

HERE = pathlib.Path(__file__).parent
MANIFEST = "optax_tests.txt"
KNOWN_FILE = HERE / "known_differences.toml"
MODE = os.environ.get("CONFORMANCE", "fast")
if MODE not in ("fast", "full", "known", "off", "baseline"):
    raise pytest.UsageError(f"CONFORMANCE must be fast, full, known, baseline or off, got {MODE!r}.")

# Warnings are shown, not errors, as optax's suite runs (optax, sklearn, scipy... warn in it);
# warnings issued by the zoo's own code stay errors (pyproject's rule).
WARNING_FILTERS = ("default", r"error:::jaxopt_zoo(\.|$)")

# The files run by `make test`: cheap ones (seconds) that exercise many zoo members; the others,
# optax's alias/contrib/accumulation/linesearch suites, take minutes (docs/conformance.md).
FAST = (
    "optax/_src/combine_test.py",
    "optax/_src/lookahead_test.py",
    "optax/_src/update_test.py",
    "optax/contrib/_reduce_on_plateau_test.py",
    "optax/contrib/_schedule_free_test.py",
    "optax/schedules/_join_test.py",
    "optax/transforms/_adding_test.py",
    "optax/transforms/_combining_test.py",
    "optax/transforms/_constraining_test.py",
    "optax/transforms/_freezing_test.py",
    "optax/transforms/_layouts_test.py",
    "optax/transforms/_masking_test.py",
    "optax/transforms/_monitoring_test.py",
)


def _known():
    entries = tomllib.loads(KNOWN_FILE.read_text()).get("difference", [])
    for entry in entries:
        if not entry.get("reason") or not entry.get("see"):
            raise pytest.UsageError(f"{KNOWN_FILE.name}: entry {entry} needs `reason` and `see`.")
    return entries


def _suite_files():
    from tests.conformance import zoo_standin  # imported late: it imports optax and the zoo

    files = []
    for line in (HERE / MANIFEST).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            found = sorted(zoo_standin.OPTAX_DIR.glob(line))
            if not found:
                raise pytest.UsageError(f"{MANIFEST}: {line!r} matches no file in {zoo_standin.OPTAX_DIR}.")
            files += [f for f in found if f not in files]
    return files


def pytest_collect_file(file_path, parent):
    if file_path.name == MANIFEST and file_path.parent == HERE and MODE != "off":
        return OptaxSuite.from_parent(parent, path=file_path)
    return None


class OptaxSuite(pytest.File):
    def collect(self):
        from tests.conformance import zoo_standin  # imported late: it imports optax and the zoo

        for path in _suite_files():
            name = path.relative_to(zoo_standin.OPTAX_DIR.parent).as_posix()
            if MODE == "fast" and name not in FAST:
                continue
            # the id is always under the manifest's, also when optax is installed below the
            # rootdir (a .venv inside the checkout), where pytest would name it by its path
            yield ConformanceModule.from_parent(self, path=path, name=name, nodeid=f"{self.nodeid}::{name}")


class ConformanceModule(pytest.Module):
    """One optax test module, imported with the zoo standing in (and x64 off, as optax runs)."""

    def _getobj(self):
        from tests.conformance import zoo_standin  # imported late: it imports optax and the zoo

        with _x64(False), warnings.catch_warnings():
            warnings.filterwarnings("default")
            warnings.filterwarnings("error", module=r"jaxopt_zoo(\.|$)")
            return zoo_standin.load(self.path, standin=MODE != "baseline")


class _x64:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        self.saved = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", self.value)

    def __exit__(self, *exc):
        jax.config.update("jax_enable_x64", self.saved)


def short_id(item) -> str:
    """``optax/_src/alias_test.py::AliasTest::test_x`` for an item of the suite."""
    return item.nodeid.split(f"{MANIFEST}::", 1)[1]


def _is_conformance(item) -> bool:
    return f"{MANIFEST}::" in item.nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    ours = [it for it in items if _is_conformance(it)]
    for it in ours:
        it.add_marker(pytest.mark.filterwarnings(*WARNING_FILTERS))
    if not ours or MODE == "baseline":
        return
    ids = {short_id(it): it for it in ours}
    files = {i.split("::", 1)[0] for i in ids}
    narrowed = any("::" in str(a) for a in config.args)
    listed, stale = {}, []
    for entry in _known():
        matches = fnmatch.filter(ids, entry["test"])
        if not matches and entry["test"].split("::", 1)[0] in files and not narrowed:
            stale.append(entry["test"])
        for m in matches:
            listed[m] = entry
    if stale:
        raise pytest.UsageError(
            f"{KNOWN_FILE.name} lists tests that no longer exist (remove or fix them): {stale}")
    keep, drop = [], []
    for it in items:
        if not _is_conformance(it):
            keep.append(it)
            continue
        entry = listed.get(short_id(it))
        if (entry is not None) == (MODE == "known"):
            it.stash[_KNOWN] = entry
            keep.append(it)
        else:
            drop.append(it)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_KNOWN = pytest.StashKey()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _is_conformance(item):
        yield
        return
    from tests.conformance import zoo_standin

    zoo_standin.CALLS.clear()
    with _x64(False):
        yield


_BODY_DONE = pytest.StashKey()
_SUB_FAILED = pytest.StashKey()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    item.stash[_BODY_DONE] = True  # reports after this are the test's own, not its subtests'


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not _is_conformance(item) or rep.when != "call":
        return
    from tests.conformance import zoo_standin

    subtest = not item.stash.get(_BODY_DONE, False)
    if MODE == "known":
        # A listed test must still fail: in its body or in any of its subtests.
        if subtest:
            if rep.failed:
                item.stash[_SUB_FAILED] = True
                rep.outcome, rep.longrepr = "passed", None
            return
        if rep.failed or item.stash.get(_SUB_FAILED, False):
            rep.outcome, rep.longrepr = "passed", None
            rep.user_properties.append(("conformance", "still fails as listed"))
        elif rep.passed:
            entry = item.stash[_KNOWN]
            rep.outcome = "failed"
            rep.longrepr = (
                f"{short_id(item)} is listed in {KNOWN_FILE.name} as a failing test "
                f"({entry['reason']}) but it passes now: remove it from the list.")
        return
    if subtest:
        return
    calls = dict(zoo_standin.CALLS)
    rep.user_properties.append(("zoo_calls", calls))
    if rep.passed and not calls and MODE != "baseline":
        rep.user_properties.append(("conformance", "none"))


def _message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    return (crash.message if crash is not None else str(report.longrepr))[:400]


def pytest_runtest_logreport(report):
    """``CONFORMANCE_LOG=path``: one JSON line per test outcome, written as the run goes."""
    log = os.environ.get("CONFORMANCE_LOG")
    if not log or report.when != "call" or f"{MANIFEST}::" not in report.nodeid:
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):  # xdist's controller logs it (once)
        return
    props = dict(report.user_properties)
    line = {"test": report.nodeid.split(f"{MANIFEST}::", 1)[1], "outcome": report.outcome,
            "subtest": type(report).__name__ == "SubtestReport", "zoo_calls": props.get("zoo_calls"),
            "conformance": props.get("conformance"),
            "message": _message(report) if report.failed else None}
    with open(log, "a") as f:
        f.write(json.dumps(line) + "\n")


def pytest_report_teststatus(report, config):
    props = dict(getattr(report, "user_properties", ()))
    if report.when == "call" and report.passed and props.get("conformance") == "none":
        return "not conformance", "n", "NOT CONFORMANCE (no zoo member ran)"
    if report.when == "call" and report.passed and props.get("conformance") == "still fails as listed":
        return "still differs", "d", "STILL DIFFERS (listed)"
    return None
