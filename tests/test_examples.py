"""Every script in examples/ runs, at a tiny size, and does what it says.

The convention (README, "Examples"): ``examples/<name>.py`` is a standalone script with a
module docstring saying what it shows and how to run it (``python examples/<name>.py``), an
argparse ``--steps N`` option, a few lines of progress and a final metric. Each one found by
the glob below runs here in a subprocess (this interpreter, this environment, a temporary
working directory so nothing is written into the repository) with ``--steps 3`` (or the
count in ``STEPS``, where the claim needs more than 3 cheap steps). Scripts
listed in ``EXPECT`` must also print the lines that prove their claim (for instance
"resumed == uninterrupted (bit for bit): True").
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests._subprocess import run_python
from tests.conftest import SUITE_XLA_FLAGS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

# Lines (regular expressions) an example must print at --steps 3.
EXPECT = {
    "flax_linen_trainstate.py": [r"^step +3  loss \d+\.\d+$", r"^final test accuracy 0\.\d{4}$"],
    "flax_nnx_optimizer.py": [
        r"^lr before the first update: (\S+) \(= schedule\(0\) = \1\)$",
        r"^lr read from the state == schedule\(t\) at every step: True$",
        r"^final test accuracy 0\.\d{4}$",
    ],
    "data_parallel_sharding.py": [
        r"^8 devices \(\w+\), mesh axes \{'data': 8\}",
        r"^\[sharded params\+state\] w1 sharded P\(None, 'data'\); optimizer-state leaves shaped like w1: "
        r"\[P\(None, 'data'\), P\(None, 'data'\)\]$",
        r"^\[sharded params\+state\] step +3  loss",
        r"^sharded == single-device \(float32 tolerance, relative 1e-04\): True$",
    ],
    "checkpoint_orbax.py": [
        r"^-- interrupted after step 1; checkpoints on disk: \[1\]$",
        r"^-- restored step 1: lr in the restored state",
        r"^\[resumed\] step +3  loss",
        r"^resumed == uninterrupted \(bit for bit\): True$",
    ],
    "sam_flax.py": [
        r"^\[zoo.sam transparent\] test accuracy 0\.\d{4}  \(TrainState.step 6\)$",
        r"^\[zoo.sam opaque\] test accuracy 0\.\d{4}  \(TrainState.step 3\)$",
        r"^transparent == opaque \(float32 tolerance\): True$",
        r"^zoo.sam == optax.contrib.sam \(float32 tolerance\): True$",
    ],
    "muon_flax.py": [
        r"^Muon: 12 hidden kernels \(\d+ weights\); AdamW: 26 other leaves \(\d+ weights\)$",
        r"^\[muon\] step +3  loss \d+\.\d+$",
        r"^test accuracy per token: muon\+adamw 0\.\d{4}, adamw alone 0\.\d{4}$",
    ],
    "torch_port_ema.py": [
        r"^step +3  lr \d\.\d{5}  loss \d+\.\d+$",
        r"^test accuracy: model 0\.\d{3}, EMA weights 0\.\d{3}$",
    ],
    "torch_port_recipe.py": [
        r"^ +3  +\d+\.\d{10}$",
        r"^last lrs \(no decay, head, rest\): zoo \S+, \S+, \S+$",
        r"^test accuracy: model 0\.\d{3}, EMA weights 0\.\d{3}$",
    ],
    "schedule_free_eval.py": [
        r"^test loss at x \(schedule_free_eval_params\(state, params\)\): +\d\.\d{4}$",
        r"^eval params better than training params: True$",
    ],
}
# Steps other than 3, for a claim that needs them (steps are cheap; compiling is not).
STEPS = {"schedule_free_eval.py": "100"}


def run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # Compiling dominates a 3-step run; XLA's CPU backend without LLVM optimization compiles
    # about twice as fast (the numbers compared inside one run are all made the same way).
    flags = SUITE_XLA_FLAGS
    if "xla_backend_optimization_level" not in flags:
        flags = f"{flags} --xla_backend_optimization_level=0".strip()
    return run_python([str(script), *args], xla_flags=flags, cwd=cwd)


def test_examples_are_found():
    assert {p.name for p in EXAMPLES} >= set(EXPECT), "an example listed in EXPECT is missing"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_follows_the_convention(script):
    doc = ast.get_docstring(ast.parse(script.read_text()))
    assert doc, f"{script.name} has no module docstring"
    assert f"examples/{script.name}" in doc, f"{script.name}: the docstring must say how to run it"
    assert "--steps" in script.read_text(), f"{script.name}: no --steps option"


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script, tmp_path):
    proc = run(script, "--steps", STEPS.get(script.name, "3"), cwd=tmp_path)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    assert len(lines) >= 2, f"{script.name} printed too little:\n{proc.stdout}"
    for pattern in EXPECT.get(script.name, []):
        assert any(re.search(pattern, line) for line in lines), f"{script.name}: no line matches {pattern!r}:\n{proc.stdout}"
    assert not list(tmp_path.iterdir()), f"{script.name} left files in its working directory"


def test_readme_lists_every_example():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- section: examples -->"):readme.index("<!-- end: examples -->")]
    missing = [p.name for p in EXAMPLES if f"examples/{p.name}" not in section]
    assert not missing, f"README's examples table does not list {missing}"
