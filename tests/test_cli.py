"""The ``jaxopt-zoo`` command: spec parsing, every subcommand (tiny sizes), entry points, --devices."""

from __future__ import annotations

import csv
import json
import subprocess
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry
from jaxopt_zoo.cli import _main, _specs, main
from tests._subprocess import python_env, run_python

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000


# --- spec parsing -------------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("adam", ("adam", {})),
    ("adamw:learning_rate=3e-3,weight_decay=0.01", ("adamw", {"learning_rate": 3e-3, "weight_decay": 0.01})),
    ("AdamW: lr=1e-3, wd=0", ("adamw", {"learning_rate": 1e-3, "weight_decay": 0})),
    ("Schedule-Free AdamW", ("schedule_free_adamw", {})),
    ("x:a=(0.9,0.99),b=True,c=None,d='s t',e=word,f=-2,g={1: 0.5},h=[1, 2]",
     ("x", {"a": (0.9, 0.99), "b": True, "c": None, "d": "s t", "e": "word", "f": -2, "g": {1: 0.5}, "h": [1, 2]})),
])
def test_split_spec_reads_literals(spec, expected):
    assert _specs.split_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("adam:learning_rate", "key=value"),
    ("adam:1e-3", "key=value"),
    ("adam:=1", "key=value"),
    (":lr=1", "no name"),
    ("adam:lr=1,(", "key=value"),
    ("adam:**{'a': 1}", "key=value"),
    ("adam:lr=1,learning_rate=2", "given twice"),
    ("adam:lr=__import__('os').getcwd()", "must be a literal"),
    ("adam:lr=(lambda: 1)()", "must be a literal"),
    ("adam:lr=1+x", "must be a literal"),
])
def test_split_spec_refuses_what_is_not_key_equals_literal(spec, message):
    with pytest.raises(_specs.SpecError, match=message.replace("(", r"\(").replace("*", r"\*")):
        _specs.split_spec(spec)


def test_unknown_names_and_arguments_list_close_matches():
    with pytest.raises(_specs.SpecError) as e:
        _specs.parse_optimizer("adamm")
    assert "Did you mean: adam" in str(e.value) and "lion" in str(e.value)  # matches, then every name
    with pytest.raises(_specs.SpecError) as e:
        _specs.parse_optimizer("adamw:weight_decy=0.1")
    assert "Did you mean: weight_decay" in str(e.value) and "Its arguments: learning_rate, b1" in str(e.value)
    with pytest.raises(_specs.SpecError, match="Did you mean: cosine"):
        _specs.parse_schedule("cosin", 100)
    with pytest.raises(_specs.SpecError, match="Did you mean: peak_value"):
        _specs.parse_schedule("warmup_cosine:peak_valu=1", 100)


@pytest.mark.parametrize("spec, message", [
    ("adam:learning_rate='fast'", "must be a number"),
    ("adam:b1=(0.9, 0.99)", "must be a number"),
    ("adam:nesterov=3", "True or False"),
    ("adam:b1=1.5", "argument `b1` must be in"),  # the factory's own check, passed on
    ("lookahead", "needs optimizer="),
    ("lookahead:optimizer=adamm", "Did you mean: adam"),
    ("warmup_cosine_decay_schedule:warmup_steps=-1", "warmup_steps"),
])
def test_bad_values_are_spec_errors(spec, message):
    with pytest.raises(_specs.SpecError, match=message):
        if "schedule" in spec:
            _specs.parse_schedule(spec, 100)
        else:
            _specs.parse_optimizer(spec)


def test_aliases_wrappers_and_learning_rates_resolve():
    bare = _specs.parse_optimizer("sgd")
    assert bare.member == "sgd" and bare.kwargs == {"learning_rate": _registry.OPTIMIZERS["sgd"].example["learning_rate"]}
    nesterov = _specs.parse_optimizer("nesterov:lr=0.2")
    assert nesterov.member == "sgd" and nesterov.kwargs == {"learning_rate": 0.2, "momentum": 0.9, "nesterov": True}
    assert nesterov.with_learning_rate(1.0).learning_rate == 0.2  # written by the spec: kept
    assert _specs.parse_optimizer("sgd").with_learning_rate(1.0).learning_rate == 1.0
    for name in ("schedule-free adamw", "sf_adamw", "schedule_free_adamw"):
        spec = _specs.parse_optimizer(name)
        assert spec.member == "schedule_free_adamw" and spec.schedule_free
    sam = _specs.parse_optimizer("sam:optimizer='sgd:lr=0.1',rho=0.01")
    assert sam.member == "sam" and sam.inner.kwargs == {"learning_rate": 0.1} and sam.kwargs == {"rho": 0.01}
    assert sam.with_learning_rate(3.0).learning_rate == 0.1
    look = _specs.parse_optimizer("lookahead:optimizer=adam,sync_period=2")
    assert look.inner.member == "adam" and look.kwargs == {"sync_period": 2}
    # Every catalogued optimizer parses and builds from its bare name.
    for name in _specs.optimizer_names():
        if name not in _registry.WRAPPERS:
            _specs.parse_optimizer(name)


def test_a_schedule_multiplies_the_learning_rate():
    import jax.numpy as jnp

    spec = _specs.parse_optimizer("sgd:lr=0.5")
    tx = spec.build(lambda t: jnp.where(t < 1, 1.0, 0.1))
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.ones(2)}, state, params)
    np.testing.assert_allclose(updates["w"], -0.5)
    updates, state = tx.update({"w": jnp.ones(2)}, state, params)
    np.testing.assert_allclose(updates["w"], -0.05)


def test_schedule_specs_fill_the_run_length():
    s = _specs.parse_schedule("warmup_cosine_decay_schedule:peak_value=1e-2,warmup_steps=50", 400)
    assert s.kwargs == dict(init_value=0.0, peak_value=1e-2, warmup_steps=50, decay_steps=400)
    np.testing.assert_allclose(float(s.schedule(50)), 1e-2)
    assert float(s.schedule(400)) == pytest.approx(0.0, abs=1e-12)
    assert set(_specs.RUN_DEFAULTS) == set(_registry.SCHEDULES)  # every catalogued schedule has run defaults
    for name in _specs.schedule_names():
        _specs.parse_schedule(name, 3 if name.startswith(("s", "w")) else 1000)
    assert _specs.parse_schedule("onecycle", 10).member == "one_cycle_schedule"


# --- list -------------------------------------------------------------------------------------------

def test_list_shows_every_member_with_reference_and_paper(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for table in (_registry.OPTIMIZERS, _registry.WRAPPERS, _registry.SCHEDULES, _registry.ALIASES):
        for name in table:
            assert name in out
    assert "optax.contrib.sam" in out and "wrappers" in out and "arxiv.org/abs/1412.6980" in out
    assert main(["list", "wrappers"]) == 0
    assert "lookahead" in capsys.readouterr().out
    assert main(["list", "momentum"]) == 0
    out = capsys.readouterr().out
    assert "alias of sgd(momentum=0.9)" in out and "jaxopt_zoo.sgd(learning_rate" in out
    assert main(["list", "adamm"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean: adam" in err and "Traceback" not in err


def _public(module, kind) -> set[str]:
    return {n for n, o in vars(module).items() if not n.startswith("_") and kind(o)}


def test_list_shows_every_torch_compat_optimizer_and_scheduler(capsys):
    """Against the modules' public names: a torch_compat member missing from the listing fails."""
    import inspect

    from jaxopt_zoo import torch_compat as tc
    from jaxopt_zoo.torch_compat import lr_scheduler as L

    optimizers = _public(tc, inspect.isfunction) - {"asgd_averaged_params"} - set(_registry.TORCH_TRANSFORMS)  # a state reader; clip transforms have their own table
    schedulers = _public(L, inspect.isclass) - {"TorchLRScheduler"}  # their base class
    assert {"SGD", "ASGD"} <= optimizers and {"StepLR", "ReduceLROnPlateau"} <= schedulers
    assert set(_registry.TORCH_OPTIMIZERS) == optimizers
    assert set(_registry.TORCH_SCHEDULERS) == schedulers
    for table, module in ((_registry.TORCH_OPTIMIZERS, "torch.optim"), (_registry.TORCH_SCHEDULERS, "torch.optim.lr_scheduler")):
        for name, e in table.items():
            assert _registry.torch_factory(e) is getattr(tc if module == "torch.optim" else L, name)
            assert e.reference.split(" (")[0] == f"{module}.{name}"
            assert e.tests and all((ROOT / t).is_file() and t.startswith("tests/reference/test_torch_compat_") for t in e.tests)
    for what in ("torch_compat", "all"):
        assert main(["list", what]) == 0
        out = capsys.readouterr().out
        first_column = {line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")}
        assert optimizers | schedulers <= first_column, sorted((optimizers | schedulers) - first_column)
        assert set(_registry.TORCH_TRANSFORMS) <= first_column  # torch's clipping, its own table
    from jaxopt_zoo.torch_compat import swa_utils, transformers

    hf, swa = _public(transformers, callable), _public(swa_utils, callable) - {"averaged_params", "AveragedModelState"}
    assert set(_registry.TORCH_HF_SCHEDULES) == hf and set(_registry.TORCH_SWA) == swa  # a state reader, its state
    for table, module in ((_registry.TORCH_HF_SCHEDULES, transformers), (_registry.TORCH_SWA, swa_utils)):
        for name, e in table.items():
            assert _registry.torch_factory(e) is getattr(module, name)
            assert e.tests and all((ROOT / t).is_file() for t in e.tests)
    assert main(["list", "torch_compat"]) == 0
    first_column = {line.split("│")[1].strip() for line in capsys.readouterr().out.splitlines() if line.startswith("│")}
    assert hf | swa <= first_column, sorted((hf | swa) - first_column)
    assert main(["list", "torch_compat.transformers.get_wsd_schedule"]) == 0
    assert "tested equal to: transformers.get_wsd_schedule" in capsys.readouterr().out
    assert main(["list", "torch_compat.clip_grad_norm"]) == 0
    assert "torch.nn.utils.clip_grad_norm_" in capsys.readouterr().out
    assert main(["list", "torch_compat.lr_scheduler.OneCycleLR"]) == 0
    out = capsys.readouterr().out
    assert "jaxopt_zoo.torch_compat.lr_scheduler.OneCycleLR(max_lr" in out and "torch.optim.lr_scheduler.OneCycleLR" in out


# --- shootout -----------------------------------------------------------------------------------

def test_shootout_trains_writes_and_prints(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["shootout", "-o", "adam", "sf_adamw:lr=3e-3", "--epochs", "2", "--seeds", "2", "--batch-size", "128",
                 "--hidden", "32", "--schedule", "cosine", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "test accuracy" in text and "steps/s" in text and "sf_adamw:lr=3e-3" in text and " ± " in text
    for name in ("shootout-digits.json", "shootout-digits.csv", "shootout-digits-curves.csv", "shootout-digits.md"):
        assert (out / name).is_file()
    assert _is_png(out / "shootout-digits.png")
    data = json.loads((out / "shootout-digits.json").read_text())
    assert data["config"]["schedule_member"] == "cosine_decay_schedule" and data["config"]["steps"] == 2 * 10
    assert len(data["runs"]) == 4 and len(data["summary"]) == 2
    for run in data["runs"]:
        assert run["curve"]["step"] == [0, 10, 20]
        assert run["final_train_loss"] < run["curve"]["train_loss"][0]  # it learned
        assert 0.2 < run["test_accuracy"] <= 1 and run["steps_per_second"] > 0  # chance is 0.1
    first = [r for r in data["runs"] if r["seed"] == 0]
    assert first[0]["curve"]["train_loss"][0] == first[1]["curve"]["train_loss"][0]  # same init per seed
    rows = list(csv.DictReader((out / "shootout-digits.csv").read_text().splitlines()))
    assert [(r["optimizer"], r["seed"]) for r in rows] == [("adam", "0"), ("adam", "1"), ("sf_adamw:lr=3e-3", "0"),
                                                           ("sf_adamw:lr=3e-3", "1")]
    assert len(list(csv.DictReader((out / "shootout-digits-curves.csv").read_text().splitlines()))) == 4 * 3


def test_schedule_free_is_evaluated_at_its_average():
    import jax.numpy as jnp

    from jaxopt_zoo.cli import _data, _train

    trainer = _train.Trainer(_data.load("breast_cancer"), hidden=(8,), batch_size=64, epochs=1,
                             mesh=_train.make_mesh(1))
    tx = _specs.parse_optimizer("sf_adamw").build()
    result = trainer.run(trainer.compile(tx), seed=0)
    params, state = result.final
    x_train, y_train = (jnp.asarray(a) for a in (trainer.data.x_train, trainer.data.y_train))
    at_average = float(trainer._loss(zoo.schedule_free_eval_params(state, params), x_train, y_train))
    at_params = float(trainer._loss(params, x_train, y_train))
    assert result.train_loss[-1] == pytest.approx(at_average, rel=1e-5)
    assert abs(at_average - at_params) > 1e-4


def test_shootout_regression_reports_r2(tmp_path, capsys):
    assert main(["shootout", "--dataset", "regression", "-o", "adam", "--epochs", "2", "--seeds", "1",
                 "--hidden", "16", "--schedule", "warmup_cosine", "--out", str(tmp_path)]) == 0
    assert "test R2" in capsys.readouterr().out
    data = json.loads((tmp_path / "shootout-regression.json").read_text())
    assert 0 < data["runs"][0]["test_R2"] <= 1
    assert _is_png(tmp_path / "shootout-regression.png")


def test_shootout_races_the_new_members(tmp_path, capsys):
    """muon, adopt and yogi from the command line; muon's Adam takes the non-matrix leaves
    (the biases) of the shootout's model, Muon the kernels."""
    import jax

    from jaxopt_zoo.cli import _data, _train

    assert main(["shootout", "-o", "muon", "adopt", "yogi", "--epochs", "1", "--seeds", "1",
                 "--hidden", "8", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    data = json.loads((tmp_path / "shootout-digits.json").read_text())
    assert [r["optimizer"] for r in data["runs"]] == ["muon", "adopt", "yogi"] and "muon" in text
    for run in data["runs"]:
        assert run["final_train_loss"] < run["curve"]["train_loss"][0], run["optimizer"]

    trainer = _train.Trainer(_data.load("breast_cancer"), hidden=(8,), batch_size=64, epochs=1, mesh=_train.make_mesh(1))
    params, state = trainer.run(trainer.compile(_specs.parse_optimizer("muon").build()), seed=0).final
    def layer(k):  # "['layers'][0]['bias']" from any path through an nnx State
        return re.search(r"\['layers'\]\[\d+\]\['\w+'\]", jax.tree_util.keystr(k)).group(0)

    shapes = {layer(k): v.shape for k, v in jax.tree_util.tree_flatten_with_path(params)[0]}
    assert sorted(len(s) for s in shapes.values()) == [1, 1, 2, 2]

    def moments(tree):  # the param's path -> the shape of the moment kept for it
        return {layer(k): np.shape(v) for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]}

    adam_mu = moments(state.inner_states["adam"].inner_state[0].mu)  # optax.muon's PartitionState
    muon_mu = moments(state.inner_states["muon"].inner_state[0].mu)
    for path, shape in shapes.items():
        if len(shape) == 2:
            assert muon_mu[path] == shape and adam_mu.get(path) != shape, path
        else:
            assert adam_mu[path] == shape and muon_mu.get(path) != shape, path


@pytest.mark.parametrize("argv, message", [
    (["-o", "adamm"], "Did you mean: adam"),
    (["-o", "adamw:weight_decy=1"], "Did you mean: weight_decay"),
    (["--schedule", "cosin"], "Did you mean: cosine"),
    (["--devices", "64"], "device"),
    (["--batch-size", "100", "--devices", "1", "--epochs", "0"], ">= 1"),
])
def test_shootout_errors_are_one_clean_line(tmp_path, capsys, argv, message):
    assert main(["shootout", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("jaxopt-zoo shootout: error:") and "Traceback" not in err
    assert not (tmp_path / "o").exists()


# --- landscape and schedules ----------------------------------------------------------------------

def test_landscape_draws_each_function(tmp_path, capsys):
    assert main(["landscape", "-f", "ravine", "saddle", "-o", "sgd", "adam", "--steps", "15", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "sgd (lr 0.09)" in out and "adam (lr 0.05)" in out
    assert _is_png(tmp_path / "landscape-ravine.png") and _is_png(tmp_path / "landscape-saddle.png")
    assert not (tmp_path / "landscape-beale.png").exists()


def test_landscape_trajectory_is_the_update_rule():
    """SGD with lr 0.1 on x² + 10y² from (10, 1), the source notes' example, against the rule by hand."""
    from jaxopt_zoo.cli import _landscape

    ravine = _landscape.FUNCTIONS["ravine"]
    path = _landscape.trajectory(zoo.sgd(0.1), ravine, 5)
    expected = [np.array([10.0, 1.0])]
    for _ in range(5):
        x, y = expected[-1]
        expected.append(np.array([x - 0.1 * 2 * x, y - 0.1 * 20 * y]))
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-6)


def test_schedules_plots_the_specs(tmp_path, capsys):
    assert main(["schedules", "-s", "onecycle", "cosine:init_value=0.1", "--steps", "50", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "one_cycle_schedule(max_value=1.0, total_steps=50)" in out and "init_value=0.1" in out
    assert _is_png(tmp_path / "schedules.png")
    assert main(["schedules", "-s", "cosine:decay_step=5", "--out", str(tmp_path)]) == 2
    assert "Did you mean: decay_steps" in capsys.readouterr().err


def test_demo_runs_the_default_landscapes_then_the_shootout(monkeypatch, tmp_path):
    seen = []
    real = _main.main_args

    def record(args):
        if args.command == "demo":
            return real(args)
        seen.append(args)
        return 0

    monkeypatch.setattr(_main, "main_args", record)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert [a.command for a in seen] == ["landscape", "shootout"]
    assert seen[0].optimizers is None and seen[0].functions == ["ravine", "rosenbrock", "saddle", "beale"]
    assert seen[1].optimizers is None and seen[1].epochs == 30 and seen[1].seeds == 3 and seen[1].dataset == "digits"
    assert all(a.out == str(tmp_path) for a in seen)


# --- entry points and devices ---------------------------------------------------------------------

def test_console_script_and_module_entry_points():
    target = re.search(r'^jaxopt-zoo\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    module, func = target.split(":")
    console = ["-c", f"import sys; from {module} import {func}; sys.exit({func}())"]
    for argv in (console, ["-m", "jaxopt_zoo"]):
        done = run_python([*argv, "--help"], xla_flags=None, timeout=300)  # no XLA_FLAGS, as a user runs it
        assert done.returncode == 0, done.stderr
        for word in ("shootout", "landscape", "schedules", "list", "specs:"):
            assert word in done.stdout
    done = run_python(["-m", "jaxopt_zoo", "shootout", "-o", "lion:b3=1"], xla_flags=None, timeout=300)
    assert done.returncode == 2 and "lion has no argument `b3`" in done.stderr and "Traceback" not in done.stderr


def test_devices_two_gives_the_numbers_of_one(tmp_path):
    procs = {}
    for n in (1, 2):
        argv = ["shootout", "-o", "adam", "--epochs", "2", "--seeds", "1", "--hidden", "32",
                "--devices", str(n), "--out", str(tmp_path / str(n))]
        procs[n] = subprocess.Popen([sys.executable, "-m", "jaxopt_zoo", *argv], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=python_env(None))
    results = {}
    for n, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results[n] = json.loads((tmp_path / str(n) / "shootout-digits.json").read_text())
    assert len(set(results[2]["config"]["mesh_devices"])) == 2 and len(results[1]["config"]["mesh_devices"]) == 1
    for one, two in zip(results[1]["runs"], results[2]["runs"]):
        assert one["optimizer"] == two["optimizer"]
        np.testing.assert_allclose(two["curve"]["train_loss"], one["curve"]["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(two["curve"]["test_accuracy"], one["curve"]["test_accuracy"], atol=1e-6)
