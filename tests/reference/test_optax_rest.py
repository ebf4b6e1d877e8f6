"""The rest of optax's top-level names (issue 15): scale_by_adan, scale_by_amsgrad,
scale_by_rprop, scale_by_distance_over_gradients, optimistic_adam, optax's state names, typing
names and numeric helpers, each against optax.

Where the zoo departs from optax (scale_by_adan's weights, scale_by_rprop's lag, LDoG's shape
of a 0-d leaf's update) a test pins the difference.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from tests.reference.harness import assert_same_as_optax, assert_trajectories_close, make_params, seeded_rng, trajectory

import jaxopt_zoo as zoo


def _optax_optimistic_adam(*args, **kwargs):
    """optax 0.2.8 deprecates optimistic_adam (for optimistic_adam_v2) and warns when built."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return optax.optimistic_adam(*args, **kwargs)


# --- scale_by_adan --------------------------------------------------------------------------------

@pytest.mark.parametrize("random", [False, True], ids=["defaults", "random"])
def test_scale_by_adan_matches_optax_where_their_weights_agree(random, dtype, request):
    """optax weighs the gradient difference by 1 - b2, the paper by b2: equal at b2 = 0.5."""
    kw = dict(b2=0.5)
    if random:
        rng = seeded_rng(request.node.name)[0]
        kw.update(b1=rng.uniform(0.5, 0.99), b3=rng.uniform(0.9, 0.999), eps=10 ** rng.uniform(-8, -4),
                  eps_root=10 ** rng.uniform(-10, -6))
    print(kw)
    assert_same_as_optax(zoo.chain(zoo.scale_by_adan(**kw), zoo.scale(-0.01)),
                         optax.chain(optax.scale_by_adan(**kw), optax.scale(-0.01)), dtype)


def test_scale_by_adan_follows_the_paper_where_optax_departs():
    """Two steps by hand: the paper (and sail-sg/Adan, pytorch_optimizer) weigh the gradient
    difference by b2 in n and in u; optax by 1 - b2."""
    b1, b2, b3, eps = 0.98, 0.92, 0.99, 1e-8
    g1, g2 = np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, 0.7])

    def by_hand(w):  # w: the weight of the difference
        m = b1 * ((1 - b1) * g1) + (1 - b1) * g2
        d = (1 - b2) * (g2 - g1)
        n = b3 * ((1 - b3) * g1**2) + (1 - b3) * (g2 + w * (g2 - g1)) ** 2
        return (m / (1 - b1**2) + w * d / (1 - b2**2)) / (np.sqrt(n / (1 - b3**2)) + eps)

    def two_steps(tx):
        s = tx.init(jnp.zeros(3, jnp.float64))
        _, s = tx.update(jnp.asarray(g1), s)
        return np.asarray(tx.update(jnp.asarray(g2), s)[0])

    np.testing.assert_allclose(two_steps(zoo.scale_by_adan()), by_hand(b2), rtol=1e-12)
    np.testing.assert_allclose(two_steps(optax.scale_by_adan()), by_hand(1 - b2), rtol=1e-12)
    assert np.max(np.abs(by_hand(b2) - by_hand(1 - b2))) > 1e-2


def test_adan_is_made_of_scale_by_adan():
    p = make_params("float64")
    state = zoo.adan(1e-2).init(p)
    (scaling,) = [s for s in state if isinstance(s, zoo.ScaleByAdanState)]
    assert zoo.ScaleByAdanState._fields == optax.ScaleByAdanState._fields
    assert scaling.t.dtype == jnp.int32 and jax.tree.structure(scaling.m) == jax.tree.structure(p)
    assert type(optax.scale_by_adan().init(p)) is optax.ScaleByAdanState


# --- scale_by_amsgrad ------------------------------------------------------------------------------

@pytest.mark.parametrize("random", [False, True], ids=["defaults", "random"])
def test_scale_by_amsgrad_matches_optax(random, dtype, request):
    kw = {}
    if random:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(b1=rng.uniform(0.5, 0.95), b2=rng.uniform(0.9, 0.999), eps=10 ** rng.uniform(-8, -4),
                  eps_root=10 ** rng.uniform(-10, -6), bias_correction_mu=rng.random() < 0.5,
                  bias_correction_nu=rng.random() < 0.5)
    print(kw)
    assert_same_as_optax(zoo.chain(zoo.scale_by_amsgrad(**kw), zoo.scale(-0.02)),
                         optax.chain(optax.scale_by_amsgrad(**kw), optax.scale(-0.02)), dtype)


def test_amsgrad_is_made_of_scale_by_amsgrad():
    p = make_params("float64")
    state = zoo.amsgrad(1e-2).init(p)
    assert isinstance(state[0], zoo.ScaleByAmsgradState)
    assert zoo.ScaleByAmsgradState._fields == optax.ScaleByAmsgradState._fields


# --- scale_by_rprop --------------------------------------------------------------------------------

def _gradient_sequence(dtype, steps=120, seed=0):
    """Gradients whose signs flip now and then, with some exact zeros."""
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(steps, 7)) + 0.3 * np.sin(np.arange(steps))[:, None]
    g[rng.random(g.shape) < 0.05] = 0.0
    return jnp.asarray(g, dtype)


@pytest.mark.parametrize("random", [False, True], ids=["defaults", "random"])
def test_scale_by_rprop_is_optax_one_step_earlier(random, dtype, request):
    """optax's scale_by_rprop returns the previous step's sign * step size (0 where the sign
    flips): on one gradient sequence its step sizes equal the zoo's at every step and its update
    at step t is the zoo's update at step t - 1, masked where the sign flips."""
    kw = dict(learning_rate=0.01)
    if random:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(learning_rate=rng.uniform(1e-3, 0.1), eta_minus=rng.uniform(0.2, 0.9), eta_plus=rng.uniform(1.05, 2.0),
                  min_step_size=rng.uniform(1e-7, 1e-4), max_step_size=rng.uniform(0.5, 5.0))
    print(kw)
    grads = _gradient_sequence(dtype)

    def run(tx):
        def step(s, g):
            u, s = tx.update(g, s)
            return s, (u, s.step_sizes)

        return jax.lax.scan(step, tx.init(grads[0]), grads)[1]

    ours, ours_steps = run(zoo.scale_by_rprop(**kw))
    theirs, theirs_steps = run(optax.scale_by_rprop(**kw))
    assert_trajectories_close(ours_steps, theirs_steps, dtype)
    # a flip is read against the previous gradient, itself zeroed after a flip (as Rprop does)
    prev = np.zeros(7)
    flips = []
    for g in np.asarray(grads):
        flips.append(g * prev < 0)
        prev = np.where(g * prev < 0, 0.0, g)
    flips = np.array(flips)
    assert flips.sum() > 50
    want = np.where(flips[1:], 0.0, np.asarray(ours[:-1]))
    assert_trajectories_close(theirs[1:], want, dtype)
    assert np.all(np.asarray(theirs[0]) == 0)


def test_rprop_is_made_of_scale_by_rprop_like_optax():
    p = make_params("float64")
    ours, theirs = zoo.rprop(0.01).init(p), optax.rprop(0.01).init(p)
    assert [type(s).__name__ for s in ours] == [type(s).__name__ for s in theirs] == ["ScaleByRpropState", "EmptyState"]
    assert zoo.ScaleByRpropState._fields == optax.ScaleByRpropState._fields


# --- scale_by_distance_over_gradients ----------------------------------------------------------------

def _no_scalar(params):
    """optax's LDoG turns a 0-d leaf into shape (1,) (see the pin below): compare on the others."""
    return {k: v for k, v in params.items() if k != "scalar"}


@pytest.mark.parametrize("random", [False, True], ids=["defaults", "random"])
def test_scale_by_distance_over_gradients_matches_optax(random, dtype, request):
    kw, lr = {}, 1.0
    if random:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(reps_rel=10 ** rng.uniform(-6, -2), eps=10 ** rng.uniform(-8, -4), global_scale=-rng.uniform(0.3, 1.5),
                  param_dtype=None if rng.random() < 0.5 else jnp.float32)
        lr = -1.0
    print(kw)
    params = _no_scalar(make_params(dtype))
    got = trajectory(zoo.chain(zoo.scale_by_distance_over_gradients(**kw), zoo.scale(-lr)), params)
    want = trajectory(optax.chain(optax.scale_by_distance_over_gradients(**kw), optax.scale(-lr)), params,
                      apply=optax.apply_updates)
    assert_trajectories_close(got, want, dtype)


def test_scale_by_distance_over_gradients_keeps_a_scalar_leafs_shape_where_optax_does_not():
    p, g = {"s": jnp.asarray(1.5), "v": jnp.ones(3)}, {"s": jnp.asarray(0.5), "v": jnp.ones(3)}
    ours = zoo.scale_by_distance_over_gradients()
    theirs = optax.scale_by_distance_over_gradients()
    u_ours, _ = ours.update(g, ours.init(p), p)
    u_theirs, _ = theirs.update(g, theirs.init(p), p)
    assert u_ours["s"].shape == () and u_theirs["s"].shape == (1,)
    np.testing.assert_allclose(np.asarray(u_ours["s"]), np.asarray(u_theirs["s"])[0], rtol=1e-6)
    assert zoo.ScaleByDistanceOverGradientsState._fields == ("max_dist", "grad_sum_of_squares", "init_params")


def test_scale_by_distance_over_gradients_needs_params_and_stores_a_copy():
    tx = zoo.scale_by_distance_over_gradients(param_dtype=None)
    p = {"w": jnp.ones(3)}
    state = tx.init(p)
    assert state.init_params["w"] is not p["w"] and state.init_params["w"].dtype == p["w"].dtype
    with pytest.raises(ValueError, match="scale_by_distance_over_gradients: update needs `params`"):
        tx.update(p, state)


# --- optimistic_adam ----------------------------------------------------------------------------------

@pytest.mark.parametrize("random", [False, True], ids=["defaults", "random"])
def test_optimistic_adam_matches_optax(random, dtype, request):
    kw = dict(learning_rate=1e-2)
    if random:
        rng = seeded_rng(request.node.name)[0]
        kw = dict(learning_rate=rng.uniform(1e-3, 3e-2), optimism=rng.uniform(0.0, 0.05), b1=rng.uniform(0.5, 0.95),
                  b2=rng.uniform(0.9, 0.999), eps=10 ** rng.uniform(-8, -4), eps_root=10 ** rng.uniform(-10, -6),
                  nesterov=rng.random() < 0.5)
    print(kw)
    assert_same_as_optax(zoo.optimistic_adam(**kw), _optax_optimistic_adam(**kw), dtype)


def test_optimistic_adam_is_v2_with_alpha_and_beta_and_refuses_schedules():
    with pytest.warns(DeprecationWarning, match="use `optimistic_adam_v2` instead"):  # optax's words
        zoo.optimistic_adam(0.1)
    p = make_params("float64")
    assert_trajectories_close(trajectory(zoo.optimistic_adam(0.02, 0.5), p),
                              trajectory(zoo.optimistic_adam_v2(1.0, alpha=0.02, beta=0.5), p), "float64")
    with pytest.raises(ValueError, match="optimistic_adam: argument `learning_rate`"):
        zoo.optimistic_adam(zoo.constant_schedule(0.1))
    with pytest.raises(ValueError):
        _optax_optimistic_adam(optax.constant_schedule(0.1))


# --- state names -------------------------------------------------------------------------------------

STATELESS = {
    "AddDecayedWeightsState": lambda: zoo.add_decayed_weights(0.1),
    "ClipByGlobalNormState": lambda: zoo.clip_by_global_norm(1.0),
    "ClipState": lambda: zoo.clip(1.0),
    "ScaleState": lambda: zoo.scale(2.0),
    "ScaleByTrustRatioState": zoo.scale_by_trust_ratio,
    "AdaptiveGradClipState": lambda: zoo.adaptive_grad_clip(0.1),
    "NormalizeState": zoo.normalize,
}


@pytest.mark.parametrize("name", sorted(STATELESS))
def test_state_names_are_optaxs(name):
    """optax's names of stateless states are all EmptyState; so are the zoo's (the same class)."""
    theirs = getattr(optax, name) if hasattr(optax, name) else getattr(optax.contrib, name)
    assert getattr(zoo, name) is theirs is optax.EmptyState
    state = STATELESS[name]().init(make_params("float64"))
    assert isinstance(state, getattr(zoo, name))


# --- typing names -------------------------------------------------------------------------------------

def test_typing_names():
    assert zoo.init_empty_state({"w": jnp.ones(2)}) == zoo.EmptyState() == optax.init_empty_state(None)
    for name in ("TransformInitFn", "TransformUpdateFn", "TransformUpdateExtraArgsFn", "ShouldSkipUpdateFunction"):
        assert getattr(getattr(zoo, name), "_is_protocol", False), name
    assert "extra_args" in zoo.TransformUpdateExtraArgsFn.__call__.__code__.co_varnames
    assert "extra_args" not in zoo.TransformUpdateFn.__call__.__code__.co_varnames
    assert zoo.MaskOrFn is not None


# --- numeric helpers ----------------------------------------------------------------------------------

TREE = {"a": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([[0.3, -0.1], [2.0, 0.0]]), "c": None}
MOMENTS = {"a": jnp.array([0.1, 0.2, -0.3]), "b": jnp.array([[1.0, -1.0], [0.5, 0.25]]), "c": None}


def _same(ours, theirs, rtol=1e-12):
    assert jax.tree.structure(ours, is_leaf=lambda x: x is None) == jax.tree.structure(theirs, is_leaf=lambda x: x is None)
    for x, y in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_moment_updates_match_optax(order):
    _same(zoo.update_moment(TREE, MOMENTS, 0.9, order), optax.update_moment(TREE, MOMENTS, 0.9, order))
    _same(zoo.update_moment_per_elem_norm(TREE, MOMENTS, 0.9, order),
          optax.update_moment_per_elem_norm(TREE, MOMENTS, 0.9, order))
    _same(zoo.update_infinity_moment(TREE, MOMENTS, 0.9, 1e-3), optax.update_infinity_moment(TREE, MOMENTS, 0.9, 1e-3))
    cplx = {"z": jnp.array([1 + 2j, -0.5j])}
    zero = {"z": jnp.zeros(2)}
    _same(zoo.update_moment_per_elem_norm(cplx, zero, 0.5, order), optax.update_moment_per_elem_norm(cplx, zero, 0.5, order))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float64])
def test_bias_correction_matches_optax(dtype):
    moment = jax.tree.map(lambda x: x.astype(dtype), {k: v for k, v in MOMENTS.items() if v is not None})
    for count in (1, 2, 10, 1000, np.iinfo(np.int32).max):
        c = jnp.asarray(count, jnp.int32)
        _same(zoo.bias_correction(moment, 0.999, c), optax.bias_correction(moment, 0.999, c),
              rtol=1e-2 if dtype == jnp.bfloat16 else 1e-6)


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.int8, jnp.uint8, jnp.float32, jnp.float16])
def test_safe_increment_matches_optax(dtype):
    info = jnp.iinfo(dtype) if jnp.issubdtype(dtype, jnp.integer) else jnp.finfo(dtype)
    for value in (0, 1, info.max - 1, info.max):
        x = jnp.asarray(value, dtype)
        ours, theirs = zoo.safe_increment(x), optax.safe_increment(x)
        assert ours.dtype == theirs.dtype == dtype and ours == theirs
    top = jnp.asarray(info.max, dtype)
    assert zoo.safe_increment(top) == top  # saturates instead of wrapping around
    assert zoo.safe_int32_increment is zoo.safe_increment


def test_safe_int32_increment_saturates_at_int32_max():
    top = jnp.asarray(np.iinfo(np.int32).max, jnp.int32)
    assert zoo.safe_int32_increment(top) == top == optax.safe_int32_increment(top)
    assert int(jax.jit(zoo.safe_int32_increment)(top - 1)) == np.iinfo(np.int32).max
    with pytest.raises(ValueError, match="safe_increment: argument `count`"):
        zoo.safe_increment(jnp.asarray(True))


@pytest.mark.parametrize("kw", [{}, dict(ord=np.inf, axis=0), dict(axis=1, keepdims=True), dict(ord="fro", axis=(0, 1))],
                         ids=str)
def test_safe_norm_matches_optax_with_its_gradient_at_zero(kw):
    x = jnp.array([[0.3, -1.2, 0.0], [0.0, 0.0, 0.0]])
    for min_norm in (0.0, 2.0):
        _same(zoo.safe_norm(x, min_norm, **kw), optax.safe_norm(x, min_norm, **kw))

        def grad(fn, at, min_norm=min_norm):
            return jax.grad(lambda y: jnp.sum(fn(y, min_norm, **kw)))(at)

        for at in (x, jnp.zeros_like(x)):
            g = grad(zoo.safe_norm, at)
            _same(g, grad(optax.safe_norm, at))
            assert np.all(np.isfinite(np.asarray(g)))
    assert np.all(np.asarray(jax.grad(lambda y: zoo.safe_norm(y, 1e-6))(jnp.zeros(3))) == 0)


def test_safe_root_mean_squares_matches_optax_with_its_gradient_at_zero():
    for x in (jnp.array([3.0, -4.0, 0.0]), jnp.zeros(3)):
        for min_rms in (0.0, 0.1, 10.0):
            _same(zoo.safe_root_mean_squares(x, min_rms), optax.safe_root_mean_squares(x, min_rms))
            g = jax.grad(zoo.safe_root_mean_squares)(x, min_rms)
            _same(g, jax.grad(optax.safe_root_mean_squares)(x, min_rms))
            assert np.all(np.isfinite(np.asarray(g)))
