"""The torch-port examples against the torch recipes they port, in float64 (1e-10 relative).

examples/torch_port_recipe.py: AdamW with three param groups (no decay on biases and norms,
another lr for the head) under transformers' get_cosine_schedule_with_warmup, clip_grad_norm_
and an EMA (AveragedModel + get_ema_multi_avg_fn), trained under flax.nnx.Optimizer next to
torch: the whole loss curve, each group's last lr, the final weights and the EMA weights.
examples/torch_port_ema.py: the same without groups: final weights and EMA weights.

Both run in float64: in float32 the two runs drift apart by rounding, which Adam amplifies
(one hidden unit of torch_port_ema ends ~6e-4 from torch after 100 steps; the same unit of the
torch float32 run is as far from the float64 run at other step counts) — docs/torch.md.
"""

import importlib.util
import pathlib
import re

import jax
import numpy as np
from tests.reference.harness import assert_trajectories_close, require_live, torch_available

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
STEPS = 100


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_torch_port_recipe_equals_torch():
    require_live(torch_available(), "needs live torch and transformers")
    out = load("torch_port_recipe").run(STEPS, float64=True, compare_torch=True, out=lambda *a: None)
    assert out["losses"].dtype == np.float64 and out["weights"]["head"]["kernel"].dtype == np.float64
    got = {"loss": out["losses"], "weights": out["weights"], "ema": out["ema"]}
    want = {"loss": out["torch_losses"], "weights": out["torch_weights"], "ema": out["torch_ema"]}
    assert_trajectories_close(got, want, "float64", 1e-10)
    np.testing.assert_allclose(out["lrs"], out["torch_lrs"], rtol=1e-12)
    assert out["lrs"][1] > out["lrs"][0] == out["lrs"][2] > 0  # the head's own base lr, the schedule near its end
    assert out["losses"][-1] < 0.5 * out["losses"][0]


def test_torch_port_ema_equals_torch_in_float64(capsys):
    require_live(torch_available(), "needs live torch and transformers")
    x64 = jax.config.jax_enable_x64
    assert load("torch_port_ema").main(["--steps", str(STEPS), "--float64", "--compare-torch"]) == 0
    assert jax.config.jax_enable_x64 == x64  # the run's x64 switch does not leak
    line = [s for s in capsys.readouterr().out.splitlines() if s.startswith("largest difference")][0]
    assert line.endswith("(relative, float64)"), line
    weights, ema = map(float, re.findall(r"(?:weights|EMA) ([0-9.e+-]+)", line))
    assert weights < 1e-10 and ema < 1e-10, line
