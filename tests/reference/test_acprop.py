"""ACProp against the authors' algorithm (transliterated) and, with its rule, optax.contrib.

The zoo follows the paper and juntang-zhuang/ACProp-Optimizer: the gradient is centred on
the new first moment m_t. optax.contrib centres it on m_{t-1}; ``rule="optax"``
is optax's rule, tested equal, and the default is tested to differ from optax.
"""

import jax
import numpy as np
import optax
import pytest
from tests.reference.harness import (SHAPES, STEPS, _curvatures, assert_same_as_optax, assert_trajectories_close,
                                     case_id, make_params, seeded_rng, start_values, trajectory)

import jaxopt_zoo as zoo

FIXED = [dict(), dict(b1=0.8, b2=0.99, eps=1e-8, weight_decay=1e-2)]


def _grad(x, c):
    # the gradient of harness.loss for one leaf
    return c * (x - 0.3) - 0.4 * np.sin(2.0 * x) + 0.05 * x**3


def authors_acprop(lr, dtype, b1=0.9, b2=0.999, eps=1e-16, weight_decay=0.0, steps=STEPS):
    """A numpy transliteration of ACProp.step in juntang-zhuang/ACProp-Optimizer,
    optimizers/ACProp.py (commit a880843), with rectify=False, amsgrad=False,
    momentum_update=False as main.py builds it, and the class's default decoupled weight
    decay (weight_decouple=True, fixed_decay=False)."""
    curv = _curvatures()
    p = {k: v.copy() for k, v in start_values(dtype).items()}
    c = {k: curv[k].astype(dtype) for k in SHAPES}
    exp_avg = {k: np.zeros_like(v) for k, v in p.items()}
    exp_avg_var = {k: np.zeros_like(v) for k, v in p.items()}
    path = {k: [] for k in p}
    for step in range(1, steps + 1):
        for k in p:
            grad = _grad(p[k], c[k])
            p[k] = p[k] * (1.0 - lr * weight_decay)  # decoupled decay, before the step
            bias_correction1 = 1 - b1**step
            bias_correction2 = 1 - b2 ** (step - 1)
            exp_avg[k] = b1 * exp_avg[k] + (1 - b1) * grad
            if step > 1:
                exp_avg_var[k] = exp_avg_var[k] + eps  # in place, as `exp_avg_var.add_(eps)`
                denom = np.sqrt(exp_avg_var[k]) / np.sqrt(bias_correction2) + eps
                p[k] = p[k] - (lr / bias_correction1) * (grad * bias_correction1) / denom
            else:
                p[k] = p[k] - lr * exp_avg[k] / bias_correction1
            residual = grad - exp_avg[k]  # centred on the NEW first moment
            exp_avg_var[k] = b2 * exp_avg_var[k] + (1 - b2) * residual * residual
            path[k].append(p[k].copy())
    return {k: np.stack(v) for k, v in path.items()}


def _zoo_path(lr, dtype, kw):
    kw = dict(kw)
    eps = kw.pop("eps", 1e-16)
    # the authors' one eps is both the zoo's eps and eps_root
    return trajectory(zoo.acprop(lr, eps=eps, eps_root=eps, **kw), make_params(dtype))


# Near the minimum the centred s is tiny and the steps g/sqrt(s) amplify rounding: at lr 2e-2
# with b2=0.99 two correct float64 implementations part by 1e-10 within 120 steps, so the
# comparison with the numpy transliteration runs at lr <= 8e-3, where they agree to 1e-15.
@pytest.mark.parametrize("kw", FIXED, ids=case_id)
def test_equals_the_authors_code(kw, dtype):
    assert_trajectories_close(_zoo_path(5e-3, dtype, kw), authors_acprop(5e-3, dtype, **kw), dtype)


def test_random_hyperparameters_equal_the_authors_code(dtype, request):
    rng, _ = seeded_rng(request.node.name)
    # (b1 < 0.8 or b2 < 0.99 make the steps near the minimum sign-like and chaotic, see above)
    kw = dict(b1=rng.uniform(0.8, 0.95), b2=rng.uniform(0.99, 0.9999), eps=10 ** rng.uniform(-16, -8),
              weight_decay=rng.uniform(0, 0.1))
    lr = rng.uniform(1e-3, 5e-3)
    print(lr, kw)
    assert_trajectories_close(_zoo_path(lr, dtype, kw), authors_acprop(lr, dtype, **kw), dtype)


OPTAX_KW = dict(b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-10, weight_decay=1e-2)


def test_rule_optax_equals_optax(dtype):
    assert_same_as_optax(zoo.acprop(2e-2, **OPTAX_KW, rule="optax"),
                         optax.contrib.acprop(2e-2, **OPTAX_KW), dtype)
    assert_same_as_optax(zoo.chain(zoo.scale_by_acprop(b2=0.99, rule="optax"), zoo.scale(-0.01)),
                         optax.chain(optax.contrib.scale_by_acprop(b2=0.99), optax.scale(-0.01)), dtype)


def test_the_default_differs_from_optax():
    # optax centres on m_{t-1}: its s is 1/b1^2 times the paper's, so its steps are shorter
    params = make_params("float64")
    ours = trajectory(zoo.acprop(2e-2, **OPTAX_KW), params)
    theirs = trajectory(optax.contrib.acprop(2e-2, **OPTAX_KW), params, apply=optax.apply_updates)
    a, b = (np.asarray(x) for x in (ours["vector"], theirs["vector"]))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-7)  # the first step: g against g/(1+eps)
    assert np.max(np.abs(a - b)) > 1e-3
    with pytest.raises(AssertionError):
        assert_trajectories_close(ours, theirs, "float64")
    # one step from the same state: s differs exactly by the centring
    g = jax.numpy.asarray([0.5, -2.0, 1.0])
    tx, ox = zoo.scale_by_acprop(), optax.contrib.scale_by_acprop()
    s1, o1 = tx.init(g), ox.init(g)
    for h in (g, 0.3 * g + 1.0):
        _, s1 = tx.update(h, s1)
        _, o1 = ox.update(h, o1)
    np.testing.assert_allclose(np.asarray(s1.mu), np.asarray(o1.mu), rtol=1e-14)
    m1 = 0.1 * np.asarray(g)
    h = np.asarray(0.3 * g + 1.0)
    want = 0.999 * (0.001 * (0.9 * np.asarray(g)) ** 2 + 1e-16) + 0.001 * (h - (0.9 * m1 + 0.1 * h)) ** 2 + 1e-16
    np.testing.assert_allclose(np.asarray(s1.nu), want, rtol=1e-12)


def test_bad_rule():
    with pytest.raises(ValueError, match="jaxopt_zoo.acprop: argument `rule`"):
        zoo.acprop(1e-2, rule="paper")
