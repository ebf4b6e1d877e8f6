"""Schedule-free RAdam against schedulefree.RAdamScheduleFree (foreach and per-parameter
paths), default and random hyperparameters, and its evaluation point against the reference's
``optimizer.eval()``."""

from tests.reference import harness
import numpy as np
import pytest
import torch
from tests.reference.beyond_harness import assert_same_as_torch, matrix_tree  # noqa: F401
from tests.reference.harness import assert_trajectories_close, make_params, seeded_rng, trajectory
from schedulefree import RAdamScheduleFree

import jaxopt_zoo as zoo

pytestmark = pytest.mark.usefixtures("matrix_tree")


def make(kw, foreach=True):
    def build(ps):
        t = {{"learning_rate": "lr"}.get(k, k): v for k, v in kw.items() if k not in ("b1", "b2")}
        opt = RAdamScheduleFree(ps, betas=(kw.get("b1", 0.9), kw.get("b2", 0.999)), foreach=foreach, **t)
        opt.train()
        return opt
    return build


@pytest.mark.parametrize("foreach", [True, False])
def test_defaults_match_schedulefree(dtype, foreach):
    assert_same_as_torch(zoo.schedule_free_radam(), make({}, foreach), dtype)


def test_example_rate_matches_schedulefree(dtype):
    assert_same_as_torch(zoo.schedule_free_radam(1e-2), make(dict(learning_rate=1e-2)), dtype)


@pytest.mark.parametrize("silent_sgd_phase", [True, False])
def test_random_hyperparameters_match_schedulefree(silent_sgd_phase, request):
    rng = seeded_rng(request.node.name)[0]
    # b2 >= 0.99: with a short second-moment memory (b2 0.94, lr 7e-3) the steps near the minimum
    # turn chaotic: the reference's own trajectory moves by 8e-3 when its start moves by 1e-15.
    kw = dict(learning_rate=rng.uniform(3e-3, 1.5e-2), b1=rng.uniform(0.5, 0.95), b2=rng.uniform(0.99, 0.999),
              eps=10 ** rng.uniform(-10, -5), weight_decay=rng.uniform(0, 0.1), weight_lr_power=rng.uniform(0, 3),
              r=rng.uniform(0, 1), silent_sgd_phase=silent_sgd_phase)
    print(kw)
    assert_same_as_torch(zoo.schedule_free_radam(**kw), make(kw, foreach=rng.random() < 0.5), "float64")


def test_eval_params_equal_the_reference_eval():
    kw = dict(learning_rate=2e-2, weight_decay=0.05)
    tx = zoo.schedule_free_radam(**kw)
    params = make_params("float64")
    state = tx.init(params)
    import jax

    grad = jax.grad(harness.loss)
    for _ in range(50):
        u, state = tx.update(grad(params), state, params)
        params = zoo.apply_updates(params, u)
    got = zoo.schedule_free_eval_params(state, params)

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in harness.start_values("float64").items()}
    opt = make(kw)(list(tensors.values()))
    for _ in range(50):
        opt.zero_grad()
        harness.torch_loss(tensors).backward()
        opt.step()
    opt.eval()
    want = {k: t.detach().numpy()[None] for k, t in tensors.items()}
    assert_trajectories_close({k: np.asarray(v)[None] for k, v in got.items()}, want, "float64")


def test_silent_phase_does_not_move_the_parameters():
    params = make_params("float64")
    path = trajectory(zoo.schedule_free_radam(1e-2), params, steps=4)
    for k in params:
        assert np.array_equal(np.asarray(path[k][-1]), np.asarray(params[k]))
