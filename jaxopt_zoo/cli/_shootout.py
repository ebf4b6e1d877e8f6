"""``jaxopt-zoo shootout``: many optimizers, one model, one dataset, several seeds.

Each optimizer spec is compiled once and trained from the same initializations (one per
seed). The schedule gives the *shape* of the learning rate: every optimizer runs at
``lr(t) = learning_rate * s(t) / max s``, so that one schedule suits optimizers whose learning
rates differ by orders of magnitude. Schedule-free members replace the schedule and always run
at their constant learning rate.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
from typing import Any

from . import _console, _specs

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lamb", "lion",
                      "adabelief", "schedule-free adamw")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ._data import DATASETS

    p.add_argument("--dataset", default="digits", choices=list(DATASETS),
                   help="; ".join(f"{k}: {v}" for k, v in DATASETS.items()) + " (default: digits)")
    p.add_argument("--optimizers", "-o", nargs="+", action="extend", metavar="SPEC", default=None,
                   help="optimizer specs, space-separated (default: {})".format(" ".join(
                       s if " " not in s else repr(s) for s in DEFAULT_OPTIMIZERS)))
    p.add_argument("--schedule", "-s", default="constant", metavar="SPEC",
                   help="learning-rate schedule spec; its shape multiplies each optimizer's learning rate "
                        "(default: constant)")
    p.add_argument("--epochs", type=int, default=30, help="passes over the training set (default: 30)")
    p.add_argument("--batch-size", type=int, default=64, help="minibatch size (default: 64)")
    p.add_argument("--hidden", type=int, nargs="+", default=[128], metavar="WIDTH",
                   help="hidden layer widths of the MLP (default: 128)")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds 0..N-1: initialization and shuffling (default: 3)")
    p.add_argument("--devices", type=int, default=1,
                   help="data-parallel over N devices (a jax.sharding mesh; on CPU, N simulated devices): "
                        "the batch is sharded, the parameters replicated (default: 1)")
    p.add_argument("--out", default="zoo-out", help="folder for the pictures, CSV and JSON (default: zoo-out)")


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) if len(values) > 1 else 0.0
    return mean, std


def _multiplier(schedule: _specs.ScheduleSpec, total_steps: int):
    """``t -> s(t) / max s`` over the run, or ``None`` for a constant schedule."""
    if schedule.is_constant:
        return None
    import jax
    import jax.numpy as jnp

    peak = float(jnp.max(jax.vmap(schedule.schedule)(jnp.arange(total_steps, dtype=jnp.int32))))
    if not peak > 0:
        raise _specs.SpecError(f"schedule {schedule.label!r} is never positive over {total_steps} steps.")
    return lambda t: schedule.schedule(t) / peak


def run(args: argparse.Namespace) -> int:
    from . import _data, _plots, _train

    if args.epochs < 1 or args.seeds < 1 or args.batch_size < 1 or args.devices < 1 or min(args.hidden) < 1:
        raise _specs.SpecError("--epochs, --seeds, --batch-size, --devices and --hidden must be >= 1.")
    optimizers = args.optimizers or list(DEFAULT_OPTIMIZERS)
    specs = [_specs.parse_optimizer(s) for s in optimizers]  # bad specs fail before any training
    data = _data.load(args.dataset)
    try:
        mesh = _train.make_mesh(args.devices)
        trainer = _train.Trainer(data, hidden=tuple(args.hidden), batch_size=args.batch_size, epochs=args.epochs,
                                 mesh=mesh)
    except ValueError as e:
        raise _specs.SpecError(str(e)) from None
    schedule = _specs.parse_schedule(args.schedule, trainer.total_steps)
    multiplier = _multiplier(schedule, trainer.total_steps)
    seeds = list(range(args.seeds))
    metric = data.metric
    arch = "-".join(str(s) for s in trainer.sizes)
    setup = (f"{data.name}: {len(data.x_train)} train / {len(data.x_test)} test; Flax nnx MLP {arch}; "
             f"{args.epochs} epochs x {trainer.batches} steps of {args.batch_size} = {trainer.total_steps} steps; "
             f"schedule {schedule.label}; seeds {seeds[0]}..{seeds[-1]}; {args.devices} device(s)")

    runs: list[dict[str, Any]] = []
    with _console.Progress() as progress:
        progress.log(setup)
        for spec in specs:
            tx = spec.build(None if spec.schedule_free else multiplier)
            tasks = [progress.task(f"{spec.label} (seed {seed})", trainer.total_steps) for seed in seeds]
            tasks[0].note("compiling ...")
            compiled = trainer.compile(tx)
            for seed, task in zip(seeds, tasks):
                result = trainer.run(compiled, seed, lambda e, loss: task.update(e * trainer.batches, loss))  # noqa: B023 (called in this iteration)
                task.finish(f"loss {result.train_loss[-1]:.4g}, {metric} {result.test_metric[-1]:.4f}, "
                            f"{result.steps_per_second:,.0f} steps/s")
                runs.append(dict(optimizer=spec.label, member=spec.member, hyperparameters=_jsonable(_hparams(spec)),
                                 seed=seed, final_train_loss=result.train_loss[-1],
                                 **{f"test_{metric}": result.test_metric[-1]},
                                 steps_per_second=result.steps_per_second,
                                 curve=dict(step=result.steps, train_loss=result.train_loss,
                                            **{f"test_{metric}": result.test_metric})))

    summary = _summarize(specs, runs, metric)
    columns, rows = _table(summary, metric)
    _console.print_table(f"jaxopt-zoo shootout: {data.name}", columns, rows,
                         justify=["right", "left", "right", "right", "right"])
    print(f"{setup}.\nMean ± std over seeds; final train loss on the whole training set (schedule-free: at its "
          f"averaged parameters); sorted by test {metric}.")

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"shootout-{data.name}")
    config = dict(dataset=data.name, description=data.description, model=f"MLP {arch}", epochs=args.epochs,
                  batch_size=args.batch_size, steps=trainer.total_steps, schedule=schedule.label,
                  schedule_member=schedule.member, schedule_kwargs=_jsonable(schedule.kwargs), seeds=seeds,
                  devices=args.devices, mesh_devices=[str(d) for d in mesh.devices.flat], metric=metric)
    with open(stem + ".json", "w") as f:
        json.dump(dict(config=config, summary=summary, runs=runs), f, indent=1)
    _write_csv(stem, runs, metric)
    with open(stem + ".md", "w") as f:
        f.write(_console.markdown_table(columns, rows))
    _plots.shootout_figure(summary, runs, config, title=f"{data.name}: {data.description}").savefig(stem + ".png", dpi=100)
    print(f"wrote {stem}.png, .csv, -curves.csv, .json, .md")
    return 0


def _hparams(spec: _specs.OptimizerSpec) -> dict:
    out = dict(spec.kwargs)
    if spec.inner is not None:
        out["optimizer"] = {"member": spec.inner.member, **_hparams(spec.inner)}
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _summarize(specs, runs: list[dict], metric: str) -> list[dict]:
    summary = []
    for label in dict.fromkeys(s.label for s in specs):
        mine = [r for r in runs if r["optimizer"] == label]
        loss_m, loss_s = _mean_std([r["final_train_loss"] for r in mine])
        met_m, met_s = _mean_std([r[f"test_{metric}"] for r in mine])
        speed, _ = _mean_std([r["steps_per_second"] for r in mine])
        summary.append(dict(optimizer=label, final_train_loss_mean=loss_m, final_train_loss_std=loss_s,
                            **{f"test_{metric}_mean": met_m, f"test_{metric}_std": met_s}, steps_per_second=speed))
    summary.sort(key=lambda s: (-s[f"test_{metric}_mean"], s["final_train_loss_mean"]))
    return summary


def _table(summary: list[dict], metric: str) -> tuple[list[str], list[list[str]]]:
    columns = ["#", "optimizer", "final train loss", f"test {metric}", "steps/s"]
    rows = []
    for i, s in enumerate(summary, 1):
        m, sd = s[f"test_{metric}_mean"], s[f"test_{metric}_std"]
        met = f"{100 * m:.2f} ± {100 * sd:.2f} %" if metric == "accuracy" else f"{m:.4f} ± {sd:.4f}"
        rows.append([str(i), s["optimizer"], f"{s['final_train_loss_mean']:.4f} ± {s['final_train_loss_std']:.4f}",
                     met, f"{s['steps_per_second']:,.0f}"])
    return columns, rows


def _write_csv(stem: str, runs: list[dict], metric: str) -> None:
    with open(stem + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["optimizer", "seed", "final_train_loss", f"test_{metric}", "steps_per_second"])
        for r in runs:
            w.writerow([r["optimizer"], r["seed"], r["final_train_loss"], r[f"test_{metric}"], r["steps_per_second"]])
    with open(stem + "-curves.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["optimizer", "seed", "step", "train_loss", f"test_{metric}"])
        for r in runs:
            c = r["curve"]
            for step, loss, met in zip(c["step"], c["train_loss"], c[f"test_{metric}"]):
                w.writerow([r["optimizer"], r["seed"], step, loss, met])
