"""torch_compat optimizers against torch.optim on the fixed cases: live torch where installed,
the committed fixtures (tools/fixtures/torch_compat.py) where not."""

import numpy as np
import pytest
import tests.reference.torch_compat_extra_cases as extra
from tests.reference.torch_compat_cases import (FIXED_CASES, _json_case, assert_equals_torch, load_fixtures, reductions,
                                torch_available, torch_runs, zoo_run)

FIXTURES = load_fixtures()
IDS = [f"{c['name']}-{i}-{(c['schedule'] or {}).get('kind', 'constant')}" for i, c in enumerate(FIXTURES)]


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
def test_fixed_case_equals_torch(case, dtype):
    name, kwargs, schedule = case["name"], case["kwargs"], case["schedule"]
    reference = torch_runs(name, kwargs, schedule, case["steps"]) if torch_available() else case["runs"]
    print(name, kwargs, schedule)
    assert_equals_torch(zoo_run(name, kwargs, schedule, case["steps"], dtype), reference, dtype)


@pytest.mark.parametrize("case", FIXTURES, ids=IDS)
def test_committed_fixtures_still_equal_live_torch(case):
    """The fixtures are what machines without torch compare against: they must not rot."""
    if not torch_available():  # nothing to compare against: the fixtures are the reference here
        assert case["runs"]["float64"]["lr"].size == case["steps"]
        return
    live = torch_runs(case["name"], case["kwargs"], case["schedule"], case["steps"])
    # Not bit for bit: torch's own runs differ by an ulp or two between machines (its kernels
    # are picked by CPU features), which is not rot. Measured against each leaf's scale, as the
    # parity tests measure: 1e-12 (float64) / 1e-6 (float32), far below the parity tolerance.
    for dt, tol in (("float64", 1e-12), ("float32", 1e-6)):
        np.testing.assert_allclose(case["runs"][dt]["lr"], live[dt]["lr"], rtol=tol, atol=0)
        for k, v in live[dt]["params"].items():
            want, got = np.asarray(v, np.float64), case["runs"][dt]["params"][k]
            err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30)
            assert err <= tol, f"{dt} {k}: fixture differs from live torch by {err:.2e} of the leaf's scale"


def test_fixture_cases_are_the_generator_cases():
    assert [(c["name"], c["kwargs"], c["schedule"]) for c in FIXTURES] == [_json_case(*c) for c in FIXED_CASES]


def test_every_optimizer_and_schedule_kind_has_a_fixture():
    names = {c["name"] for c in FIXTURES}
    kinds = {(c["schedule"] or {}).get("kind") for c in FIXTURES}
    assert names == {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop", "ASGD"}
    assert kinds == {None, "steplr", "onecycle", "plateau"}


@pytest.mark.parametrize("case", [c for c in FIXTURES if (c["schedule"] or {}).get("kind") == "plateau"],
                         ids=lambda c: c["name"])
def test_plateau_fixtures_reduce_several_times(case):
    """A plateau case that never reduces would test nothing."""
    assert reductions(case["runs"]["float64"]["lr"]) >= 3


# --- Muon, Adafactor, LBFGS (torch_compat_extra_cases; their suites compare against these fixtures
# where torch is absent)
EXTRA_FIXTURES = extra.load_fixtures()


def test_extra_fixture_cases_are_the_generator_cases():
    assert [(c["name"], c["kwargs"], c["problem"], c["steps"], c["schedule"]) for c in EXTRA_FIXTURES] == [
        extra.json_case(c) for c in extra.FIXED_CASES]
    assert {c["name"] for c in EXTRA_FIXTURES} == set(extra.EXTRA)


@pytest.mark.parametrize("case", EXTRA_FIXTURES, ids=lambda c: f"{c['name']}-{c['problem']}")
def test_committed_extra_fixtures_still_equal_live_torch(case):
    if not torch_available():
        assert all(v.shape[0] == case["steps"] for v in case["runs"]["float64"].values())
        return
    key = (case["name"], case["kwargs"], case["problem"], case["steps"], case["schedule"])
    for dt, tol in (("float64", 1e-12), ("float32", 1e-6)):
        live = extra.torch_run(*key, dtype=dt)
        for k, v in live.items():
            want, got = np.asarray(v, np.float64), case["runs"][dt][k]
            err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30)
            assert err <= tol, f"{dt} {k}: fixture differs from live torch by {err:.2e} of the leaf's scale"
