"""Two ``jax.distributed`` processes (4 CPU devices each) train soap and muon on a global mesh of
8, checkpoint with orbax across both and resume, and end bit-identical to one process with the
same mesh (tests/distributed/two_processes.py runs both and compares).

Not part of ``make test`` (tests/conftest.py leaves this folder out): ``make test-distributed``
runs it, and CI does after ``make test``. About 40-60 s on 2 cores.
"""

from tests.distributed import two_processes


def test_two_processes_equal_one_process_bit_for_bit():
    report = two_processes.run_both()  # a failed or hung worker raises with every worker's output
    assert report["differ"] == [], report
    # the comparison covers the gradient, both members' params and every state leaf (bases included)
    leaves = report["leaves"]
    assert {f"grad[{k!r}]" for k in ("w1", "b1", "w2", "b2")} <= set(leaves), leaves
    assert {f"{n}['params'][{k!r}]" for n in ("soap", "muon") for k in ("w1", "w2")} <= set(leaves), leaves
    assert any(k.startswith("soap['state']") and ".q[" in k for k in leaves), leaves
    assert any(k.startswith("muon['state']") for k in leaves), leaves
    for run in ("two", "one"):  # both runs trained (the comparison is not of two idle runs)
        for name in ("soap", "muon"):
            notes = report[run]
            assert notes[f"{name}.loss"] < 0.6 * notes[f"{name}.initial_loss"], (run, notes)
