"""The suite's xdist scheduling (root conftest.py): a module that shares one expensive fixture
stays on one worker; every other test is its own unit."""

import conftest as root


def test_a_one_worker_module_is_one_unit():
    ids = ["tests/test_sharding.py::test_sharding[state_sharded_like_params:acprop]",
           "tests/test_sharding.py::test_no_unexpected_checks",
           "tests/test_sharding.py::test_spread_rejects_what_is_not_a_mesh_axis[<lambda>0]"]
    assert {root.scope_of(i) for i in ids} == {"tests/test_sharding.py"}


def test_other_tests_are_their_own_units():
    ids = ["tests/test_protocol.py::test_jit_and_eager_give_the_same_trajectory[adam]",
           "tests/test_protocol.py::test_jit_and_eager_give_the_same_trajectory[sgd]"]
    assert [root.scope_of(i) for i in ids] == ids
    assert root.scope_of(ids[0] + "@some_group") == ids[0]


def test_a_convergence_problem_is_one_unit():
    """tests/test_convergence.py: each problem's members share one module-scoped batch."""
    ids = ["tests/test_convergence.py::test_quadratic[adam]", "tests/test_convergence.py::test_quadratic[sgd]",
           "tests/test_convergence.py::test_rosenbrock[adam]"]
    assert [root.scope_of(i) for i in ids] == ["tests/test_convergence.py::test_quadratic["] * 2 + [
        "tests/test_convergence.py::test_rosenbrock["]
