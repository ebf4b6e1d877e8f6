"""dog/dowg (and scale_by_dog/scale_by_dowg) against optax.contrib, default and random
hyperparameters; DoG also against the rule of the authors' code (formll/dog)."""

import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from tests.reference.harness import assert_same_as_optax, assert_trajectories_close, case_id, cases, make_params, seeded_rng, trajectory

import jaxopt_zoo as zoo

FIXED = {"dog": [dict()], "dowg": [dict()]}


def _random(name, rng):
    if name == "dog":
        tag = rng.choice(["distance", "learning_rate", "heuristic"])
        value = {"distance": rng.uniform(1e-3, 0.1), "learning_rate": rng.uniform(1e-3, 0.1),
                 "heuristic": 10 ** rng.uniform(-6, -2)}[tag]
        return dict(learning_rate=rng.uniform(0.3, 1.0), init_step=(tag, value), eps=10 ** rng.uniform(-8, -4),
                    weight_decay=rng.uniform(0, 0.1))
    return dict(learning_rate=rng.uniform(0.3, 1.0), init_estim_sq_dist=rng.uniform(1e-4, 0.1),
                eps=10 ** rng.uniform(-6, -3), weight_decay=rng.uniform(0, 0.1))


@pytest.mark.parametrize("name,hparams", cases(FIXED, n_random=2), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        hparams = _random(name, seeded_rng(request.node.name)[0])
    print(hparams)
    assert_same_as_optax(getattr(zoo, name)(**hparams), getattr(optax.contrib, name)(**hparams), dtype)


def test_scale_by_dog_matches_optax(dtype):
    for tag in ("distance", "learning_rate", "heuristic"):
        kw = dict(init_step=(tag, 0.01), eps=1e-6)
        assert_same_as_optax(zoo.chain(zoo.scale_by_dog(**kw), zoo.scale(-0.7)),
                             optax.chain(optax.contrib._dog.scale_by_dog(**kw), optax.scale(-0.7)), dtype)


def test_scale_by_dowg_and_mask_match_optax(dtype):
    mask = {"scalar": False, "vector": True, "cube": True}
    assert_same_as_optax(zoo.dowg(0.8, eps=1e-5, weight_decay=0.05, mask=mask),
                         optax.contrib.dowg(0.8, eps=1e-5, weight_decay=0.05, mask=mask), dtype)
    assert_same_as_optax(zoo.chain(zoo.scale_by_dowg(), zoo.scale(-1.0)),
                         optax.chain(optax.contrib._dog.scale_by_dowg(), optax.scale(-1.0)), dtype)


def _authors_dog(params, grad_fn, steps, reps_rel=None, init_eta=None, lr=1.0, wd=0.0, eps=1e-8):
    """The authors' DoG step (formll/dog, src/dog/torch/dog.py) in numpy, one long vector."""
    keys = sorted(params)
    flat = lambda t: np.concatenate([np.ravel(np.asarray(t[k], np.float64)) for k in keys])  # noqa: E731
    x = {k: np.asarray(v, np.float64) for k, v in params.items()}
    x0 = flat(x)
    rbar = 0.0 if init_eta is not None else reps_rel * (1 + np.linalg.norm(x0))
    big_g, path = None, []
    for t in range(steps):
        g = {k: np.asarray(v, np.float64) + wd * x[k] for k, v in grad_fn(x).items()}
        gn2 = float(np.sum(flat(g) ** 2))
        if t == 0:
            big_g = gn2 + eps
        else:
            rbar = max(rbar, float(np.linalg.norm(flat(x) - x0)))
            big_g += gn2
        eta = lr * rbar / np.sqrt(big_g)
        if t == 0 and init_eta is not None:
            eta = init_eta
        x = {k: x[k] - eta * g[k] for k in keys}
        path.append(x)
    return {k: np.stack([p[k] for p in path]) for k in keys}


@pytest.mark.parametrize("mode", ["reps_rel", "init_eta"])
def test_dog_is_the_authors_dog(mode):
    import jax
    from tests.reference.harness import loss

    params = make_params("float64")
    grad = jax.jit(jax.grad(loss))
    grad_fn = lambda x: grad({k: jnp.asarray(v) for k, v in x.items()})  # noqa: E731
    if mode == "reps_rel":
        want = _authors_dog(params, grad_fn, 100, reps_rel=1e-3, lr=0.9, wd=0.01)
        tx = zoo.dog(0.9, ("heuristic", 1e-3), weight_decay=0.01)
    else:
        want = _authors_dog(params, grad_fn, 100, init_eta=0.05)
        tx = zoo.dog(init_step=("learning_rate", 0.05))
    assert_trajectories_close(trajectory(tx, params, 100), want, "float64")


@pytest.mark.parametrize("make", [lambda: zoo.dog(), lambda: zoo.dowg()])
def test_update_without_params_is_refused(make):
    tx = make()
    g = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="needs `params`"):
        tx.update(g, tx.init(g))


def test_bad_init_step_is_refused():
    with pytest.raises(ValueError, match=r"scale_by_dog: argument `init_step\[0\]`"):
        zoo.scale_by_dog(("bogus", 1.0))
    with pytest.raises(ValueError, match=r"dog: argument `init_step\[1\]`"):
        zoo.dog(init_step=("distance", -1.0))
