"""Muon against optax.contrib.muon and against the authors' algorithm (KellerJordan/Muon).

The parity tree is local: harness.SHAPES (scalar, vector, 3-D) plus a wide matrix, a tall
matrix and a 4-D kernel, so Muon has matrices to orthogonalise and Adam has the rest. It is
swapped in with ``monkeypatch`` for these tests only.

``zoo.muon``'s defaults are optax's, which the parity cases check. The authors' code departs
from optax in two places (uncorrected momentum; plain Adam for the other leaves):
``test_authors_form_follows_the_authors_code`` checks ``bias_correction=False,
adam_nesterov=False`` against a float64 transliteration of KellerJordan/Muon's
``muon_update``/``adam_update``, and ``test_authors_form_departs_from_optax`` pins the
difference.
"""

from tests.reference import harness
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, assert_trajectories_close, case_id, seeded_rng, trajectory

import jaxopt_zoo as zoo

SHAPES = {**harness.SHAPES, "wide": (4, 6), "tall": (7, 3), "kernel": (3, 2, 4, 5)}


@pytest.fixture(autouse=True)
def matrix_tree(monkeypatch):
    monkeypatch.setattr(harness, "SHAPES", SHAPES)


def dims(cls, cube=True, kernel=True):
    """Dimension numbers: the matrices, and optionally the cube ((2*3, 4) rows, columns) and
    the kernel ((3*2, 5) matrices, one per index of its batch axis 2); None leaves go to Adam.

    (The cube as three 2x4 matrices, ``cls(0, 2)``, makes the trajectory chaotic: from step
    ~40, 1e-16 rounding differences grow tenfold every two steps, in either implementation.
    test_dimension_numbers_batch_axes_equal_optax checks that layout over fewer steps.)"""
    return {"scalar": None, "vector": None, "wide": cls(), "tall": cls(),
            "cube": cls((0, 1), 2) if cube else None, "kernel": cls((-4, 1), -1) if kernel else None}


def optax_like(**kw):
    """The zoo call that reproduces optax.contrib.muon(**kw): the same call (optax's defaults)."""
    return dict(kw)


FIXED = [
    {},
    dict(nesterov=False, weight_decay=0.1, weight_decay_mask={"wide": True, "tall": False},
         adam_learning_rate=5e-3, adam_weight_decay=1e-2, preconditioning="spectral",
         ns_coeffs=((3.0, -3.2, 1.2), (2.0, -1.5, 0.5)), ns_steps=3, adaptive=True),
    dict(consistent_rms=0.2, beta=0.9, muon_weight_dimension_numbers="dims", preconditioning="schatten", eps=1e-6),
    dict(preconditioning="aol", ns_coeffs="dion", adam_b1=0.8, adam_b2=0.99, muon_weight_dimension_numbers="dims_no_cube"),
]


def resolve(kw, cls):
    if kw.get("muon_weight_dimension_numbers") in ("dims", "dims_no_cube"):
        kw = dict(kw, muon_weight_dimension_numbers=dims(cls, cube=kw["muon_weight_dimension_numbers"] == "dims"))
    if "weight_decay_mask" in kw:  # a prefix mask is not enough for optax's muon: give every leaf
        kw = dict(kw, weight_decay_mask={k: kw["weight_decay_mask"].get(k, False) for k in SHAPES})
    return kw


# float32 for the defaults and the dimension-numbers case (each case costs two compiles).
CASES = [(kw, "float64") for kw in FIXED] + [(FIXED[0], "float32"), (FIXED[2], "float32")]


@pytest.mark.parametrize("kw,dtype", CASES, ids=lambda x: case_id(x) if isinstance(x, dict) else x)
def test_equals_optax_with_its_bias_correction(kw, dtype):
    lr = 0.02
    zoo_tx = zoo.muon(lr, **optax_like(**resolve(kw, zoo.MuonDimensionNumbers)))
    optax_tx = optax.contrib.muon(lr, **resolve(kw, optax.contrib.MuonDimensionNumbers))
    assert_same_as_optax(zoo_tx, optax_tx, dtype)


def random_kwargs(rng):
    return dict(
        beta=rng.uniform(0.5, 0.99), eps=10 ** rng.uniform(-9, -6), weight_decay=rng.uniform(0, 0.2),
        nesterov=rng.random() < 0.5, ns_steps=rng.randint(3, 6), adam_b1=rng.uniform(0.5, 0.95),
        adam_b2=rng.uniform(0.9, 0.999), adam_eps_root=rng.uniform(0, 1e-6), adam_weight_decay=rng.uniform(0, 0.1),
        adam_learning_rate=rng.uniform(1e-3, 3e-2), consistent_rms=rng.choice([None, rng.uniform(0.1, 0.3)]),
        preconditioning=rng.choice(["frobenius", "aol", "schatten"]),
    )


def test_random_hyperparameters_equal_optax(request):
    rng, _ = seeded_rng(request.node.name)
    kw = random_kwargs(rng)
    # Small enough that Muon does not reach its oscillation around the minimum within 120 steps,
    # where the direction of a small momentum makes rounding differences grow (see ``dims``).
    lr = rng.uniform(3e-3, 1.5e-2)
    print(lr, kw)

    def spec(cls):
        return {**dims(cls, cube=False), "kernel": cls((0, 1, 2), 3)}

    zoo_tx = zoo.muon(lr, muon_weight_dimension_numbers=spec(zoo.MuonDimensionNumbers), **optax_like(**kw))
    optax_tx = optax.contrib.muon(lr, muon_weight_dimension_numbers=spec(optax.contrib.MuonDimensionNumbers), **kw)
    assert_same_as_optax(zoo_tx, optax_tx, "float64")


def test_scale_by_muon_and_batch_axes_equal_optax(monkeypatch):
    """scale_by_muon alone, with a 3-D leaf seen as three 2x4 matrices (its axis 1 a batch axis).
    40 steps: that layout turns chaotic later on (see ``dims``)."""
    monkeypatch.setattr(harness, "SHAPES", {"wide": (4, 6), "tall": (7, 3), "cube": (2, 3, 4)})

    def spec(cls):
        return {"wide": cls(), "tall": cls(), "cube": cls(0, 2)}

    zoo_tx = zoo.chain(zoo.scale_by_muon(beta=0.9, nesterov=False, bias_correction=True,
                                         weight_dimension_numbers=spec(zoo.MuonDimensionNumbers)), zoo.scale(-0.02))
    optax_tx = optax.chain(optax.contrib.scale_by_muon(beta=0.9, nesterov=False,
                                                       weight_dimension_numbers=spec(optax.contrib.MuonDimensionNumbers)),
                           optax.scale(-0.02))
    assert_same_as_optax(zoo_tx, optax_tx, "float64", steps=40)


# --- the authors' algorithm ---------------------------------------------------------------------
def authors_muon(params, steps, lr, beta, weight_decay, nesterov, adam_lr, betas, eps, adam_wd):
    """KellerJordan/Muon (muon.py at 857d1ad) in float64 numpy: ``muon_update`` and
    ``SingleDeviceMuonWithAuxAdam.step`` for the 2-D leaves, ``adam_update`` for the rest. A
    torch weight is (out, in): ours, ``x @ W``, is (in, out), so the torch weight is ``W.T``.
    The only change: no bfloat16 cast in the iteration; its 1e-7 is ``eps`` here."""
    grad = jax.jit(jax.grad(harness.loss))
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    buf = {k: np.zeros_like(v) for k, v in p.items()}
    buf2 = {k: np.zeros_like(v) for k, v in p.items()}
    path = {k: [] for k in p}
    for step in range(1, steps + 1):
        g_all = {k: np.asarray(v) for k, v in grad(p).items()}
        for k in p:
            if p[k].ndim == 2:
                g, m = g_all[k].T, buf[k].T.copy()  # torch layout
                m = m + (g - m) * (1 - beta)  # momentum.lerp_(grad, 1 - beta)
                update = g + (m - g) * beta if nesterov else m  # grad.lerp_(momentum, beta)
                x = update.T if update.shape[0] > update.shape[1] else update
                x = x / (np.linalg.norm(x) + eps)
                a_, b_, c_ = 3.4445, -4.7750, 2.0315
                for _ in range(5):
                    a = x @ x.T
                    x = a_ * x + (b_ * a + c_ * a @ a) @ x
                x = x.T if update.shape[0] > update.shape[1] else x
                x = x * max(1, g.shape[0] / g.shape[1]) ** 0.5
                buf[k] = m.T
                p[k] = p[k] * (1 - lr * weight_decay) - lr * x.T
            else:
                g = g_all[k]
                buf[k] = buf[k] + (g - buf[k]) * (1 - betas[0])
                buf2[k] = buf2[k] + (g * g - buf2[k]) * (1 - betas[1])
                update = (buf[k] / (1 - betas[0] ** step)) / (np.sqrt(buf2[k] / (1 - betas[1] ** step)) + eps)
                p[k] = p[k] * (1 - adam_lr * adam_wd) - adam_lr * update
            path[k].append(p[k].copy())
    return {k: np.stack(v) for k, v in path.items()}


@pytest.mark.parametrize("nesterov", [True, False])
def test_authors_form_follows_the_authors_code(nesterov, monkeypatch):
    monkeypatch.setattr(harness, "SHAPES", {"vector": (5,), "wide": (4, 6), "tall": (7, 3)})
    params = harness.make_params("float64")
    kw = dict(lr=0.02, beta=0.9, weight_decay=0.05, nesterov=nesterov, adam_lr=0.01, betas=(0.85, 0.99), eps=1e-7,
              adam_wd=0.02)
    tx = zoo.muon(kw["lr"], beta=kw["beta"], eps=kw["eps"], weight_decay=kw["weight_decay"], nesterov=nesterov,
                  adam_b1=kw["betas"][0], adam_b2=kw["betas"][1], adam_learning_rate=kw["adam_lr"],
                  adam_weight_decay=kw["adam_wd"], bias_correction=False, adam_nesterov=False)
    assert_trajectories_close(trajectory(tx, params), authors_muon(params, harness.STEPS, **kw), "float64")


def test_authors_form_departs_from_optax():
    """The pinned difference: with nesterov (the default) the uncorrected momentum weighs the
    new gradient differently in the first steps, and optax's aux Adam is NAdam. Each switch
    alone differs from optax; the defaults equal it (and test_equals_optax_...)."""
    harness.SHAPES = {"vector": (5,), "wide": (4, 6)}  # (monkeypatched: restored after the test)
    params = harness.make_params("float64")
    want = trajectory(optax.contrib.muon(0.02), params, 30, apply=optax.apply_updates)
    authors = dict(bias_correction=False, adam_nesterov=False)
    for kw in (authors, dict(bias_correction=False), dict(adam_nesterov=False)):
        got = trajectory(zoo.muon(0.02, **kw), params, 30)
        with pytest.raises(AssertionError, match="relative error"):
            assert_trajectories_close(got, want, "float64", rtol=1e-6)
    assert_trajectories_close(trajectory(zoo.muon(0.02), params, 30), want, "float64")
    assert_trajectories_close(trajectory(zoo.muon(0.02, adam_nesterov=True), params, 30), want, "float64")


# --- Newton-Schulz and dimension numbers --------------------------------------------------------
def test_newton_schulz_moves_singular_values_near_one():
    from jaxopt_zoo.optimizers._muon import DEFAULT_NS_COEFFS, orthogonalize_via_newton_schulz

    rng = np.random.default_rng(0)
    for shape in ((8, 5), (5, 8), (6, 6)):
        x = jnp.asarray(rng.normal(size=shape) * np.array([10.0, 1.0, 0.1, 1.0, 3.0])[: shape[1] % 5 + 1].mean())
        o = orthogonalize_via_newton_schulz(x, jnp.asarray(DEFAULT_NS_COEFFS))
        s = np.linalg.svd(np.asarray(o), compute_uv=False)
        assert 0.6 < s.min() and s.max() < 1.3, s  # Jordan: S' ~ Uniform(0.5, 1.5) around UV^T
        u, _, vt = np.linalg.svd(np.asarray(x), full_matrices=False)
        assert np.sum(np.asarray(o) * (u @ vt)) > 0.8 * min(shape)  # aligned with the polar factor


def test_dimension_numbers_batch_axes_are_independent():
    """A 3-D leaf with reduction axis 0 and output axis 2 is one matrix per index of axis 1."""
    rng = np.random.default_rng(1)
    g = jnp.asarray(rng.normal(size=(4, 3, 6)))
    tx = zoo.scale_by_muon(weight_dimension_numbers=zoo.MuonDimensionNumbers(0, 2))
    got, _ = tx.update(g, tx.init(g))
    one = zoo.scale_by_muon()
    for i in range(3):
        want, _ = one.update(g[:, i, :], one.init(g[:, i, :]))
        np.testing.assert_allclose(np.asarray(got[:, i, :]), np.asarray(want), rtol=1e-12, atol=1e-14)


def test_leaves_without_dimension_numbers_get_adamw():
    """NAdamW by default (optax's rule: Muon's nesterov), AdamW with adam_nesterov=False."""
    params = {"w": jnp.ones((3, 4)), "b": jnp.linspace(-1.0, 1.0, 4), "k": jnp.ones((2, 3, 4))}
    grads = jax.tree.map(lambda x: jnp.cos(3 * x + jnp.arange(x.size).reshape(x.shape)), params)
    for adam_nesterov, nesterov in ((None, True), (False, False), (True, True)):
        tx = zoo.muon(0.1, adam_learning_rate=0.01, adam_weight_decay=0.1, adam_nesterov=adam_nesterov)
        u, _ = tx.update(grads, tx.init(params), params)
        adam = zoo.adamw(0.01, weight_decay=0.1, nesterov=nesterov)
        for k in ("b", "k"):
            want, _ = adam.update(grads[k], adam.init(params[k]), params[k])
            np.testing.assert_allclose(np.asarray(u[k]), np.asarray(want), rtol=1e-12)
    assert not np.allclose(np.asarray(u["w"]), np.asarray(adam.update(grads["w"], adam.init(params["w"]), params["w"])[0]))


@pytest.mark.parametrize("bad,match", [
    (dict(muon_weight_dimension_numbers={"w": zoo.MuonDimensionNumbers(), "b": zoo.MuonDimensionNumbers()}), "rank >= 2"),
    (dict(muon_weight_dimension_numbers={"w": zoo.MuonDimensionNumbers(0, 0), "b": None}), "disjoint"),
    (dict(muon_weight_dimension_numbers={"w": "rows", "b": None}), "MuonDimensionNumbers or None"),
])
def test_bad_dimension_numbers_raise(bad, match):
    params = {"w": jnp.ones((3, 4)), "b": jnp.zeros(4)}
    tx = zoo.muon(0.1, **bad)
    with pytest.raises(ValueError, match=match):
        tx.update(params, tx.init(params), params)


def test_bad_coefficients_raise():
    with pytest.raises(ValueError, match=r"jaxopt_zoo.muon: argument `ns_coeffs` must be one of"):
        zoo.muon(0.1, ns_coeffs="muon")
    with pytest.raises(ValueError, match=r"argument `ns_coeffs` must have between 1 and ns_steps=3 rows"):
        zoo.muon(0.1, ns_coeffs="dion", ns_steps=3)
    with pytest.raises(ValueError, match=r"argument `ns_coeffs` must be a preset"):
        zoo.scale_by_muon(ns_coeffs=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"argument `consistent_rms` must be in \(0, inf\]"):
        zoo.muon(0.1, consistent_rms=-0.2)
    with pytest.raises(ValueError, match=r"scale_by_muon: argument `weight_dimension_numbers` must be given"):
        tx = zoo.scale_by_muon()
        tx.update(jnp.ones(3), tx.init(jnp.ones(3)))
