"""zoo.schedule_free(base) against schedulefree.ScheduleFreeWrapper and optax.contrib.schedule_free."""

import jax
import numpy as np
import optax
import pytest
import torch
from tests.reference.harness import (assert_same_as_optax, assert_trajectories_close, case_id, make_params, seeded_rng, start_values,
                     torch_trajectory, trajectory)
from schedulefree import ScheduleFreeWrapper

import jaxopt_zoo as zoo

BASES = {  # (zoo base, optax base) from a learning rate; neither reads the params
    "adam": (zoo.adam, optax.adam),
    "sgd_momentum": (lambda lr: zoo.sgd(lr, momentum=0.9), lambda lr: optax.sgd(lr, momentum=0.9)),
}
FIXED = [dict(), dict(b1=0.5, weight_lr_power=1.0)]


@pytest.mark.parametrize("kw", FIXED, ids=case_id)
@pytest.mark.parametrize("base", sorted(BASES))
def test_equals_optax_with_a_constant_learning_rate(base, kw, dtype):
    zb, ob = BASES[base]
    lr = 0.05
    assert_same_as_optax(zoo.schedule_free(zb(lr), lr, **kw), optax.contrib.schedule_free(ob(lr), lr, **kw), dtype)


def test_random_hyperparameters_equal_optax(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    lr, kw = rng.uniform(1e-3, 0.05), dict(b1=rng.uniform(0.1, 0.99), weight_lr_power=rng.uniform(0.0, 3.0))
    momentum = rng.uniform(0.0, 0.95)
    print(lr, momentum, kw)
    assert_same_as_optax(zoo.schedule_free(zoo.sgd(lr, momentum=momentum), lr, **kw),
                         optax.contrib.schedule_free(optax.sgd(lr, momentum=momentum), lr, **kw), dtype)


def _no_scalar(tree):
    """schedulefree's wrapper swaps buffers through a uint8 view, which 0-d tensors refuse: the
    torch comparisons run on the vector and 3-D leaves of the parity tree."""
    return {k: v for k, v in tree.items() if k != "scalar"}


def _wrapped(make_base, **kw):
    def make(ps):
        base = make_base(ps)
        if isinstance(base, torch.optim.Adam):  # the wrapper's z entry would make Adam skip its own init
            for p in ps:
                base.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                 "exp_avg_sq": torch.zeros_like(p)}
        opt = ScheduleFreeWrapper(base, **kw)
        opt.train()
        return opt
    return make


TORCH = {
    "sgd_momentum": (lambda lr: zoo.sgd(lr, momentum=0.9), lambda lr: (lambda ps: torch.optim.SGD(ps, lr=lr, momentum=0.9))),
    "adam": (zoo.adam, lambda lr: (lambda ps: torch.optim.Adam(ps, lr=lr))),
    "adamw_decay_at_z": (lambda lr: zoo.adamw(lr, weight_decay=0.1),
                         lambda lr: (lambda ps: torch.optim.AdamW(ps, lr=lr, weight_decay=0.1))),
}


@pytest.mark.parametrize("kw", [dict(), dict(b1=0.7, weight_lr_power=1.0, r=0.5)], ids=case_id)
@pytest.mark.parametrize("base", sorted(TORCH))
def test_equals_schedulefree_wrapper(base, kw):
    """The authors' wrapper steps the base optimizer at z (its AdamW decays z), with the
    learning rate of that step in the weights."""
    zb, tb = TORCH[base]
    lr = 0.05
    ref = torch_trajectory(_wrapped(tb(lr), momentum=kw.get("b1", 0.9), weight_lr_power=kw.get("weight_lr_power", 2.0),
                                    r=kw.get("r", 0.0)), _no_scalar(start_values("float64")))
    got = trajectory(zoo.schedule_free(zb(lr), lr, **kw), _no_scalar(make_params("float64")))
    assert_trajectories_close(got, ref, "float64")


def warmup(k):
    """A linear warmup to 0.05 over 20 steps, for torch's LambdaLR (ints) and JAX (arrays)."""
    ops = np if isinstance(k, int) else jax.numpy
    return 0.05 * ops.minimum(1.0, (ops.asarray(k, dtype=float) + 1) / 20)


def test_a_schedule_is_read_at_the_step_the_base_used_as_by_schedulefree():
    """Pins a departure from optax: optax reads the schedule at k + 1 for the weights while its
    base optimizer used the value at k; schedulefree (torch scheduler stepped after each step)
    and the zoo use the value at k."""
    ref = torch_trajectory(_wrapped(lambda ps: torch.optim.SGD(ps, lr=1.0, momentum=0.9)),
                           _no_scalar(start_values("float64")),
                           scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt.base, lambda k: warmup(k)))
    got = trajectory(zoo.schedule_free(zoo.sgd(warmup, momentum=0.9), warmup), _no_scalar(make_params("float64")))
    assert_trajectories_close(got, ref, "float64")
    want_optax = trajectory(optax.contrib.schedule_free(optax.sgd(warmup, momentum=0.9), warmup),
                            _no_scalar(make_params("float64")), apply=optax.apply_updates)
    with pytest.raises(AssertionError):
        assert_trajectories_close(got, want_optax, "float64", rtol=1e-6)


def test_the_base_optimizer_sees_z_not_y_unlike_optax():
    """Pins the other departure: optax hands the base optimizer y, so a decaying base differs."""
    got = trajectory(zoo.schedule_free(zoo.adamw(0.05, weight_decay=0.1), 0.05), make_params("float64"))
    want = trajectory(optax.contrib.schedule_free(optax.adamw(0.05, weight_decay=0.1), 0.05), make_params("float64"),
                      apply=optax.apply_updates)
    with pytest.raises(AssertionError):
        assert_trajectories_close(got, want, "float64", rtol=1e-6)


def test_eval_params_are_optaxs_and_schedulefrees_x():
    params = make_params("float64")
    tx, otx = zoo.schedule_free(zoo.adam(0.05), 0.05), optax.contrib.schedule_free(optax.adam(0.05), 0.05)
    s, os_, p, op = tx.init(params), otx.init(params), params, params
    grad = jax.grad(lambda q: sum(jax.numpy.sum((x - 0.3) ** 2) for x in jax.tree.leaves(q)))
    for _ in range(30):
        u, s = tx.update(grad(p), s, p)
        p = zoo.apply_updates(p, u)
        v, os_ = otx.update(grad(op), os_, op)
        op = optax.apply_updates(op, v)
    got = zoo.schedule_free_eval_params(s, p)
    assert_trajectories_close(got, optax.contrib.schedule_free_eval_params(os_, op), "float64")
    assert s.base_optimizer_state is s.nu
