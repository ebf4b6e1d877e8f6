"""The repository's root conftest: it loads the conformance plugin (tests/conformance/zoo_conformance.py,
docs/conformance.md) for every pytest run, the test suite's and the doctests' alike. ``tests`` is a
package, importable from here without any ``pythonpath`` setting.

It also keeps a test module that shares one expensive module-scoped fixture on one xdist worker
(`make test` runs ``-n 2 --dist loadgroup``). xdist's own ``xdist_group`` mark does not work with
pytest 9: xdist 3.8 tags a grouped test by rewriting ``item._nodeid``, which pytest 9 no longer
reads (a node id is ``str(item._id)``), so the tests of a group were handed to both workers and
each ran the group's fixture (the 8-device sharding subprocess ran twice).
"""

import pytest

pytest_plugins = ["tests.conformance.zoo_conformance"]

# Test modules whose tests all go to one worker: node id prefix -> why.
ONE_WORKER = {
    "tests/test_sharding.py": "one 8-device subprocess (a module-scoped fixture) answers all its tests",
    # one compiled program per problem (a module-scoped fixture) answers all members' tests of it
    "tests/test_convergence.py::test_quadratic[": "all members on the quadratic in one program",
    "tests/test_convergence.py::test_rosenbrock[": "all members on Rosenbrock in one program",
    "tests/test_convergence.py::test_small_flax_model[": "all members on the digits MLP in one program",
    "tests/reference/test_faults.py::test_apply_if_finite_skips_exactly_for_every_optimizer[":
        "all members' runs with NaN steps in batched programs",
    "tests/test_precision.py::test_low_precision_params_keep_their_dtype[": "all members' bf16/fp16 runs, batched",
    "tests/test_precision.py::test_counters_saturate_and_updates_stay_finite[": "all members' saturating runs, batched",
    "tests/test_trees.py::test_none_integer_and_bool_leaves_pass_through[": "all members' odd-leaf runs, batched",
    "tests/test_bad_input.py::test_traced_hyperparameters_pass[": "all transformations' injected steps, batched",
}


def scope_of(nodeid: str) -> str:
    """The unit xdist hands to one worker: a module of ONE_WORKER, else the test itself."""
    return next((prefix for prefix in ONE_WORKER if nodeid.startswith(prefix)), nodeid.split("@")[0])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerGroups(LoadScopeScheduling):
        """loadgroup with the groups of ONE_WORKER (units with the most tests go first, then the
        rest in collection order: tests/conftest.py puts the longest single tests first)."""

        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return OneWorkerGroups(config, log)
