"""optax 0.2.8's transformations and helpers (issue 15), each against optax.

Numeric members run whole trajectories side by side with optax (``assert_same_as_optax``:
float64 to 1e-10, float32 to 1e-5, 120 steps, scalar/vector/3-D leaves, defaults and
non-default values); structural ones (combinators, states, helpers) are compared with optax
on the same inputs. Extra keyword arguments (``value=``) must reach a member that needs
them through every combinator added here.
"""

import collections

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, make_params, trajectory

import jaxopt_zoo as zoo
from jaxopt_zoo import _base

LR = 0.05
MASK = {"scalar": False, "vector": True, "cube": True}
LABELS = {"scalar": "a", "vector": "b", "cube": "a"}


def every_third(step):
    return step % 3 == 0


def double(u, p):
    return jax.tree.map(lambda g, q: 2.0 * g + 0.1 * q, u, p)


def per_array(g, p):
    return g * 0.5 + 0.01 * p


def pairs():
    """(id, zoo transformation, optax transformation), each ending in a descent step."""
    d = lambda z, o: (zoo.chain(z, zoo.scale(-LR)), optax.chain(o, optax.scale(-LR)))  # noqa: E731
    yield "adaptive_grad_clip", *d(zoo.adaptive_grad_clip(0.1), optax.adaptive_grad_clip(0.1))
    yield "adaptive_grad_clip_eps", *d(zoo.adaptive_grad_clip(0.02, eps=0.7), optax.adaptive_grad_clip(0.02, eps=0.7))
    yield ("adaptive_grad_clip_axis", *d(zoo.masked(zoo.adaptive_grad_clip(0.05, axis=-1), MASK),  # no scalar
                                         optax.masked(optax.adaptive_grad_clip(0.05, axis=-1), MASK)))
    yield "centralize", *d(zoo.centralize(), optax.centralize())
    yield "normalize_by_update_norm", *d(zoo.normalize_by_update_norm(), optax.normalize_by_update_norm())
    yield ("normalize_by_update_norm_args", *d(zoo.normalize_by_update_norm(0.3, eps=0.2),
                                               optax.normalize_by_update_norm(0.3, eps=0.2)))
    yield "scale_by_param_block_norm", *d(zoo.scale_by_param_block_norm(), optax.scale_by_param_block_norm())
    yield ("scale_by_param_block_norm_min", *d(zoo.scale_by_param_block_norm(2.5),
                                               optax.scale_by_param_block_norm(2.5)))
    yield "apply_every_default", *d(zoo.apply_every(), optax.apply_every())
    yield "apply_every_3", *d(zoo.apply_every(3), optax.apply_every(3))
    yield ("conditionally_transform", *d(zoo.conditionally_transform(zoo.scale_by_adam(), every_third),
                                         optax.conditionally_transform(optax.scale_by_adam(), every_third)))
    yield ("conditionally_mask", *d(zoo.conditionally_mask(zoo.trace(0.8), every_third),
                                    optax.conditionally_mask(optax.trace(0.8), every_third)))
    yield "flatten_adam", *d(zoo.flatten(zoo.scale_by_adam(b1=0.8)), optax.flatten(optax.scale_by_adam(b1=0.8)))
    yield ("flatten_clip", *d(zoo.flatten(zoo.clip_by_block_rms(0.2)), optax.flatten(optax.clip_by_block_rms(0.2))))
    yield "zero_nans", *d(zoo.zero_nans(), optax.zero_nans())
    yield ("keep_params_nonnegative", zoo.chain(zoo.sgd(0.2), zoo.keep_params_nonnegative()),
           optax.chain(optax.sgd(0.2), optax.keep_params_nonnegative()))
    yield ("named_chain", zoo.named_chain(("clip", zoo.clip_by_global_norm(1.0)), ("adam", zoo.adam(3e-2))),
           optax.named_chain(("clip", optax.clip_by_global_norm(1.0)), ("adam", optax.adam(3e-2))))
    yield ("partition", zoo.partition({"a": zoo.adam(3e-2), "b": zoo.sgd(1e-2, 0.9)}, LABELS),
           optax.partition({"a": optax.adam(3e-2), "b": optax.sgd(1e-2, 0.9)}, LABELS))
    label_fn = lambda p: jax.tree.map(lambda x: "a" if x.ndim == 3 else "b", p)  # noqa: E731
    yield ("partition_fn", zoo.partition({"a": zoo.rmsprop(1e-2), "b": zoo.adam(3e-2)}, label_fn),
           optax.partition({"a": optax.rmsprop(1e-2), "b": optax.adam(3e-2)}, label_fn))
    yield ("freeze", zoo.chain(zoo.adam(3e-2), zoo.freeze(MASK)), optax.chain(optax.adam(3e-2), optax.freeze(MASK)))
    yield ("selective_transform", zoo.selective_transform(zoo.adam(3e-2), freeze_mask=MASK),
           optax.selective_transform(optax.adam(3e-2), freeze_mask=MASK))
    yield "stateless", *d(zoo.stateless(double), optax.stateless(double))
    yield "stateless_with_tree_map", *d(zoo.stateless_with_tree_map(per_array), optax.stateless_with_tree_map(per_array))
    yield ("snapshot_in_chain", *d(zoo.snapshot("n", zoo.global_norm), optax.snapshot("n", optax.tree.norm)))


PAIRS = list(pairs())
# float32 runs for one case of each member with arithmetic of its own; combinators only route
# leaves to members tested elsewhere, so a float64 run of them is enough and keeps the suite cheap.
FLOAT32 = {"adaptive_grad_clip", "centralize", "normalize_by_update_norm_args", "scale_by_param_block_norm",
           "apply_every_3", "conditionally_transform", "conditionally_mask", "flatten_adam", "zero_nans",
           "keep_params_nonnegative", "stateless_with_tree_map"}
CASES = [pytest.param(*p, "float64", id=f"float64-{p[0]}") for p in PAIRS]
CASES += [pytest.param(*p, "float32", id=f"float32-{p[0]}") for p in PAIRS if p[0] in FLOAT32]


@pytest.mark.parametrize("name,zoo_tx,optax_tx,dtype_", CASES)
def test_transformation_matches_optax(name, zoo_tx, optax_tx, dtype_):
    assert_same_as_optax(zoo_tx, optax_tx, dtype_)


def test_float32_cases_exist():
    assert FLOAT32 <= {p[0] for p in PAIRS}


# ----------------------------------------------------------------------- states and records


def _states(tx, params, steps, grads_fn, apply):
    """The updates and state after each of ``steps`` updates (one jitted step, t traced)."""

    @jax.jit
    def step(p, state, t):
        u, state = tx.update(grads_fn(p, t), state, p)
        return apply(p, u), u, state

    state, out, p = tx.init(params), [], params
    for t in range(steps):
        p, u, state = step(p, state, t)
        out.append((u, state))
    return out


def _assert_tree_close(a, b, rtol=1e-12):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert len(la) == len(lb), (ta, tb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64), rtol=rtol, atol=1e-14)


def _grads_with_nans(p, t):
    g = jax.grad(lambda q: sum(jnp.sum(x**2) for x in jax.tree.leaves(q)))(p)
    g["vector"] = g["vector"].at[t % 5].set(jnp.where(t % 2 == 1, jnp.nan, g["vector"][t % 5]))
    return g


def test_zero_nans_state_matches_optax():
    params = make_params("float64")
    got = _states(zoo.zero_nans(), params, 4, _grads_with_nans, zoo.apply_updates)
    want = _states(optax.zero_nans(), params, 4, _grads_with_nans, optax.apply_updates)
    for (gu, gs), (wu, ws) in zip(got, want):
        _assert_tree_close(gu, wu)
        assert jax.tree.map(bool, gs.found_nan) == jax.tree.map(bool, ws.found_nan)
    assert bool(got[1][1].found_nan["vector"]) and not bool(got[0][1].found_nan["vector"])


def test_snapshot_and_measure_with_ema_match_optax():
    params = make_params("float64")
    grads = lambda p, t: jax.tree.map(lambda x: x * (t + 1.0), p)  # noqa: E731
    for z, o in [
        (zoo.snapshot("norm", zoo.global_norm), optax.snapshot("norm", optax.tree.norm)),
        (zoo.measure_with_ema(zoo.global_norm, 0.7), optax.measure_with_ema(optax.tree.norm, 0.7)),
        (zoo.measure_with_ema(lambda u: u["cube"], 0.5, debias=False),
         optax.measure_with_ema(lambda u: u["cube"], 0.5, debias=False)),
    ]:
        no_apply = lambda p, u: p  # noqa: E731 - measure_with_ema outputs the measurement, not updates
        got = _states(z, params, 5, grads, no_apply)
        want = _states(o, params, 5, grads, no_apply)
        for (gu, gs), (wu, ws) in zip(got, want):
            _assert_tree_close(gu, wu)
            _assert_tree_close(gs, ws)
    assert float(zoo.snapshot("n", zoo.global_norm).init(params).measurement["n"]) > 0


def test_named_chain_state_is_keyed_like_optax():
    params = make_params("float64")
    z = zoo.named_chain(("m", zoo.trace(0.9)), ("lr", zoo.scale(-0.1)))
    o = optax.named_chain(("m", optax.trace(0.9)), ("lr", optax.scale(-0.1)))
    zs, os_ = z.init(params), o.init(params)
    assert isinstance(zs, collections.OrderedDict) and list(zs) == list(os_) == ["m", "lr"]
    g = jax.grad(lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p)))(params)
    _assert_tree_close(z.update(g, zs, params), o.update(g, os_, params))
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.named_chain: argument `args` must have unique names"):
        zoo.named_chain(("a", zoo.scale(1.0)), ("a", zoo.scale(2.0)))
    with pytest.raises(TypeError, match=r"jaxopt_zoo\.named_chain: argument `args\[0\]`"):
        zoo.named_chain(zoo.scale(1.0))


def test_partition_state_matches_optax_and_rejects_unknown_labels():
    params = make_params("float64")
    z = zoo.partition({"a": zoo.adam(0.1), "b": zoo.set_to_zero()}, LABELS)
    o = optax.partition({"a": optax.adam(0.1), "b": optax.set_to_zero()}, LABELS)
    zs, os_ = z.init(params), o.init(params)
    assert isinstance(zs, zoo.PartitionState)
    assert str(jax.tree.structure(zs.inner_states)) == str(jax.tree.structure(os_.inner_states))  # same names
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.partition: argument `param_labels`.*'c'"):
        zoo.partition({"a": zoo.sgd(0.1)}, {"scalar": "a", "vector": "c", "cube": "a"}).init(params)


def test_conditionally_states_count_and_keep_the_inner_state():
    params = make_params("float64")
    g = jax.tree.map(jnp.ones_like, params)
    for z, o in [(zoo.conditionally_transform(zoo.trace(0.5), every_third),
                  optax.conditionally_transform(optax.trace(0.5), every_third)),
                 (zoo.conditionally_mask(zoo.trace(0.5), every_third),
                  optax.conditionally_mask(optax.trace(0.5), every_third))]:
        zs, os_ = z.init(params), o.init(params)
        assert type(zs).__name__ == type(os_).__name__ and zs._fields == os_._fields
        step = jax.jit(lambda zs, os_, z=z, o=o: (z.update(g, zs, params), o.update(g, os_, params)))
        for _ in range(4):
            (zu, zs), (ou, os_) = step(zs, os_)
            _assert_tree_close((zu, zs), (ou, os_))
        assert int(zs.step) == 4 and zs.step.dtype == jnp.int32


def test_forward_extra_args_reach_the_condition():
    tx = zoo.conditionally_mask(zoo.scale(2.0), lambda step, value: value > 0, forward_extra_args=True)
    state = tx.init(jnp.zeros(2))
    u, state = tx.update(jnp.ones(2), state, value=jnp.array(-1.0))
    assert np.array_equal(u, [0.0, 0.0])
    u, state = tx.update(jnp.ones(2), state, value=jnp.array(1.0))
    assert np.array_equal(u, [2.0, 2.0])


def test_params_are_required_where_optax_requires_them():
    g = {"w": jnp.ones(3)}
    for tx in (zoo.adaptive_grad_clip(0.1), zoo.keep_params_nonnegative(), zoo.scale_by_param_block_norm()):
        with pytest.raises(ValueError, match=r"jaxopt_zoo\.\w+: update needs `params`"):
            tx.update(g, tx.init(g))


# ----------------------------------------------------------------- extra args pass through


def needs_value():
    """A member whose update needs ``value=`` (keyword-only): multiplies updates by it."""

    def update_fn(updates, state, params=None, *, value, **extra_args):
        return jax.tree.map(lambda u: u * value, updates), state

    return _base.GradientTransformation(lambda p: zoo.EmptyState(), update_fn)


def combinators():
    nv = needs_value
    yield "named_chain", zoo.named_chain(("a", zoo.scale(1.0)), ("v", nv())), 3.0
    yield "partition", zoo.partition({"a": nv(), "b": zoo.scale(1.0)}, {"w": "a", "b": "b"}), 3.0
    yield "conditionally_transform", zoo.conditionally_transform(nv(), lambda s: s == 0), 3.0
    yield "conditionally_mask", zoo.conditionally_mask(nv(), lambda s: s == 0), 3.0
    yield "flatten", zoo.flatten(nv()), 3.0
    yield "selective_transform", zoo.selective_transform(nv(), freeze_mask={"w": False, "b": True}), 3.0
    yield "masked", zoo.masked(nv(), {"w": True, "b": False}), 3.0


COMBINATORS = list(combinators())


@pytest.mark.parametrize("name,tx,factor", COMBINATORS, ids=[c[0] for c in COMBINATORS])
def test_extra_args_pass_through(name, tx, factor):
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array([0.5])}
    u, _ = jax.jit(lambda p, v: tx.update(p, tx.init(p), p, value=v))(params, jnp.array(factor))
    np.testing.assert_allclose(u["w"], factor * params["w"])
    with pytest.raises(TypeError, match="value"):
        tx.update(params, tx.init(params), params)


def test_partition_masks_compatible_extra_args_like_optax():
    def scale_by_extra():
        def update_fn(updates, state, params=None, *, weights, **extra_args):
            return jax.tree.map(lambda u, w: u * w, updates, weights), state

        return _base.GradientTransformation(lambda p: zoo.EmptyState(), update_fn)

    def optax_scale_by_extra():
        def update_fn(updates, state, params=None, *, weights, **extra_args):
            return jax.tree.map(lambda u, w: u * w, updates, weights), state

        return optax.GradientTransformationExtraArgs(optax.init_empty_state, update_fn)

    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array([0.5])}
    weights = {"w": jnp.array([3.0, 4.0]), "b": jnp.array([5.0])}
    z = zoo.partition({"a": scale_by_extra(), "b": scale_by_extra()}, {"w": "a", "b": "b"},
                      mask_compatible_extra_args=True)
    o = optax.partition({"a": optax_scale_by_extra(), "b": optax_scale_by_extra()}, {"w": "a", "b": "b"},
                        mask_compatible_extra_args=True)
    zu, _ = z.update(params, z.init(params), params, weights=weights)
    ou, _ = o.update(params, o.init(params), params, weights=weights)
    _assert_tree_close(zu, ou)
    np.testing.assert_allclose(zu["w"], [3.0, 8.0])


def test_optax_members_inside_zoo_combinators():
    """An optax member without extra-args support is given only what it takes."""
    params = make_params("float64")
    got = trajectory(zoo.named_chain(("clip", optax.clip(0.5)), ("sgd", zoo.sgd(0.1))), params, 20,
                     extra_args=lambda p, v: {"value": v})
    want = trajectory(optax.chain(optax.clip(0.5), optax.sgd(0.1)), params, 20, apply=optax.apply_updates)
    _assert_tree_close(got, want)


# --------------------------------------------------------------------------- plain helpers


def test_per_example_clipping_matches_optax():
    rng = np.random.default_rng(0)
    grads = {"a": jnp.asarray(rng.normal(size=(6, 3))), "b": jnp.asarray(rng.normal(size=(6, 2, 2))),
             "c": jnp.asarray(rng.normal(size=(6,)))}
    grads["a"] = grads["a"].at[2].set(0.0)

    @jax.jit
    def both(clip):  # one compile; the clip is traced
        return [(zoo.per_example_global_norm_clip(grads, clip), optax.per_example_global_norm_clip(grads, clip))] + [
            (zoo.per_example_layer_norm_clip(grads, clip, u), optax.per_example_layer_norm_clip(grads, clip, u))
            for u in (True, False)
        ]

    for clip in (0.0, 0.7, 2.0, jnp.inf):
        for got, want in both(clip):
            _assert_tree_close(got, want)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.per_example_global_norm_clip: argument `grads`"):
        zoo.per_example_global_norm_clip({"a": jnp.ones((3, 2)), "b": jnp.ones((4,))}, 1.0)
    with pytest.raises(ValueError, match=r"argument `l2_norm_clip` must be in \[0, inf\], got -1.0"):
        zoo.per_example_global_norm_clip(grads, -1.0)


def test_adaptive_grad_clip_conv_and_rank_errors():
    rng = np.random.default_rng(1)
    params = {"conv": jnp.asarray(rng.normal(size=(3, 3, 2, 4))), "conv3d": jnp.asarray(rng.normal(size=(2, 2, 2, 2, 3))),
              "heads": jnp.asarray(rng.normal(size=(3, 2, 4))), "row": jnp.asarray(rng.normal(size=(1, 5)))}
    grads = jax.tree.map(lambda x: 3.0 * x[::-1], params)
    both = jax.jit(lambda g, p: (zoo.adaptive_grad_clip(0.2).update(g, zoo.EmptyState(), p)[0],
                                 optax.adaptive_grad_clip(0.2).update(g, optax.EmptyState(), p)[0]))
    _assert_tree_close(*both(grads, params))
    six = {"x": jnp.ones((1, 2, 1, 2, 1, 2))}
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.adaptive_grad_clip: argument `axis`"):
        zoo.adaptive_grad_clip(0.1).update(six, zoo.EmptyState(), six)


def test_incremental_and_periodic_update_match_optax():
    new, old = make_params("float64", seed=1), make_params("float64", seed=2)
    for step_size in (0.0, 0.3, 1.0):
        _assert_tree_close(zoo.incremental_update(new, old, step_size), optax.incremental_update(new, old, step_size))
    for steps in range(5):
        _assert_tree_close(jax.jit(zoo.periodic_update, static_argnums=3)(new, old, steps, 3),
                           optax.periodic_update(new, old, steps, 3))
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.incremental_update: argument `step_size`"):
        zoo.incremental_update(new, old, 1.5)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.periodic_update: argument `update_period`"):
        zoo.periodic_update(new, old, 1, 0)


@pytest.mark.parametrize("scale", [0.0, 1.0, 0.25, -2.0])
def test_scale_gradient_matches_optax(scale):
    x = make_params("float64")
    f = lambda sg: lambda p: sum(jnp.sum(jnp.sin(v) * sg(p, scale)[k] ** 2) for k, v in p.items())  # noqa: E731
    _assert_tree_close(jax.grad(f(zoo.scale_gradient))(x), jax.grad(f(optax.scale_gradient))(x))
    _assert_tree_close(zoo.scale_gradient(x, scale), x)


def test_scale_gradient_takes_a_traced_scale():
    g = jax.jit(jax.grad(lambda x, s: jnp.sum(zoo.scale_gradient(x, s) ** 2)))(jnp.array([1.0, 2.0]), 0.5)
    np.testing.assert_allclose(g, [1.0, 2.0])


def test_tree_map_params_matches_optax():
    params = make_params("float64")
    cases = [
        (zoo.adam(0.1), optax.adam(0.1)),
        (zoo.chain(zoo.trace(0.9), zoo.scale(-0.1)), optax.chain(optax.trace(0.9), optax.scale(-0.1))),
        (zoo.masked(zoo.scale_by_adam(), MASK), optax.masked(optax.scale_by_adam(), MASK)),
        (zoo.partition({"a": zoo.adam(0.1), "b": zoo.sgd(0.1, 0.9)}, LABELS),
         optax.partition({"a": optax.adam(0.1), "b": optax.sgd(0.1, 0.9)}, LABELS)),
    ]
    for z, o in cases:
        zs, os_ = z.init(params), o.init(params)
        f = lambda x, y: x + 2.0 * y if hasattr(x, "shape") else x  # noqa: E731 - MaskedNode kept
        got = zoo.tree_map_params(z, f, zs, params,
                                  transform_non_params=lambda v: v + 1,
                                  is_leaf=lambda v: isinstance(v, zoo.MaskedNode))
        want = optax.tree_map_params(o, f, os_, params,
                                     transform_non_params=lambda v: v + 1,
                                     is_leaf=lambda v: isinstance(v, optax.MaskedNode))
        _assert_tree_close(got, want)
    got = zoo.tree_map_params(zoo.adam(0.1).init, lambda x: x.shape, zoo.adam(0.1).init(params))
    assert got[0].mu["cube"] == (2, 3, 4) and int(got[0].count) == 0


# ------------------------------------------------------------------------------- microbatch


def _fun(x, y, w, *, z, scale=1.0):
    return {"rows": (x * w + y.sum(-1)) * scale, "sum": jnp.sum(x * z) * scale, "mean": jnp.mean(y * w, axis=0) * scale}


@pytest.mark.parametrize("accumulator", ["SUM", "MEAN", "RUNNING_MEAN", "mixed"])
def test_microbatch_matches_optax(accumulator):
    rng = np.random.default_rng(2)
    x, y, z = (jnp.asarray(rng.normal(size=s)) for s in [(8,), (8, 3), (8,)])
    A, OA = zoo.AccumulationType, optax.microbatching.AccumulationType
    if accumulator == "mixed":
        acc = {"rows": A.CONCAT, "sum": A.SUM, "mean": A.RUNNING_MEAN}
        oacc = {"rows": OA.CONCAT, "sum": OA.SUM, "mean": OA.RUNNING_MEAN}
        optax_spelling = {"rows": OA.CONCAT, "sum": OA.SUM, "mean": OA.RUNNING_MEAN}
    else:
        acc, oacc, optax_spelling = A[accumulator], OA[accumulator], OA[accumulator]
    kwargs = dict(argnums=(0, 1), microbatch_size=2, argnames="z")
    got = jax.jit(zoo.microbatch(_fun, accumulator=acc, **kwargs))(x, y, 0.5, z=z, scale=3.0)
    want = optax.microbatch(_fun, accumulator=oacc, **kwargs)(x, y, 0.5, z=z, scale=3.0)
    _assert_tree_close(got, want)
    _assert_tree_close(zoo.microbatch(_fun, accumulator=optax_spelling, **kwargs)(x, y, 0.5, z=z, scale=3.0), want)


def test_microbatch_in_axes_early_stop_and_custom_accumulator():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(3, 8)))
    count = zoo.Accumulator(lambda v: jnp.zeros([], jnp.int32), lambda c, v, i: c + 1, lambda c: c, lambda v: v)
    ocount = optax.microbatching.Accumulator(lambda v: jnp.zeros([], jnp.int32), lambda c, v, i: c + 1,
                                             lambda c: c, lambda v: v)
    f = lambda x: (jnp.sum(x, axis=1), x.sum())  # noqa: E731
    for n_real in (None, 2):
        got = zoo.microbatch(f, 0, 4, (zoo.AccumulationType.SUM, count), in_axes=1, num_real_microbatches=n_real)(x)
        want = optax.microbatch(f, 0, 4, (optax.microbatching.AccumulationType.SUM, ocount), in_axes=1,
                                num_real_microbatches=n_real)(x)
        _assert_tree_close(got, want)
    assert zoo.microbatch(f, 0, None) is f
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.microbatch: argument `microbatch_size` must divide"):
        zoo.microbatch(f, 0, 3, in_axes=1)(x)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.microbatch: argument `microbatch_size`"):
        zoo.microbatch(f, 0, 0)


# ------------------------------------------------- protocol: donation, float32, optax.chain


def test_donated_float32_steps_inside_optax_chain():
    """Every new transformation, wrapped in ``optax.chain``, survives a donated jitted step
    after a plain init on float32 params, and its updates and state stay float32."""
    mask = {"v": True, "m": False}
    txs = {
        "adaptive_grad_clip": zoo.adaptive_grad_clip(0.1), "centralize": zoo.centralize(),
        "normalize_by_update_norm": zoo.normalize_by_update_norm(),
        "scale_by_param_block_norm": zoo.scale_by_param_block_norm(), "apply_every": zoo.apply_every(2),
        "conditionally_transform": zoo.conditionally_transform(zoo.adam(0.1), every_third),
        "conditionally_mask": zoo.conditionally_mask(zoo.adam(0.1), every_third), "flatten": zoo.flatten(zoo.adam(0.1)),
        "zero_nans": zoo.zero_nans(), "keep_params_nonnegative": zoo.keep_params_nonnegative(),
        "named_chain": zoo.named_chain(("a", zoo.adam(0.1)), ("b", zoo.scale(1.0))),
        "partition": zoo.partition({"a": zoo.adam(0.1), "b": zoo.sgd(0.1)}, {"v": "a", "m": "b"}),
        "freeze": zoo.freeze(mask), "selective_transform": zoo.selective_transform(zoo.adam(0.1), freeze_mask=mask),
        "snapshot": zoo.snapshot("n", zoo.global_norm), "measure_with_ema": zoo.measure_with_ema(zoo.global_norm, 0.9),
        "stateless": zoo.stateless(double), "stateless_with_tree_map": zoo.stateless_with_tree_map(per_array),
        "masked_extra_args": zoo.masked(zoo.adam(0.1), mask, mask_compatible_extra_args=True),
    }
    txs = {k: optax.chain(t, optax.scale(-1.0)) for k, t in txs.items()}
    params = {"v": jnp.linspace(0.1, 1.0, 6, dtype=jnp.float32), "m": jnp.ones((3, 4), jnp.float32)}
    states = {k: t.init(params) for k, t in txs.items()}

    @jax.jit
    def step(states):
        grads = jax.tree.map(lambda x: 0.1 * x, params)
        out = {k: t.update(grads, states[k], params, value=jnp.float32(1.0)) for k, t in txs.items()}
        return {k: u for k, (u, _) in out.items()}, {k: s for k, (_, s) in out.items()}

    step = jax.jit(step, donate_argnums=0)
    for _ in range(3):
        updates, states = step(states)
    for leaf in jax.tree.leaves((updates, states)):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float32
            assert np.all(np.isfinite(leaf))
