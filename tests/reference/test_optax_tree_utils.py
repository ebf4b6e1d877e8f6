"""zoo.tree_utils and zoo.tree against optax.tree_utils and optax.tree, side by side."""

import functools
import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree
import optax.tree_utils as otu
import pytest
from tests.reference.optax_utils_common import assert_same, random_tree

import jaxopt_zoo as zoo

tu = zoo.tree_utils
DEPRECATED = ("tree_scalar_mul", "tree_add_scalar_mul", "tree_l1_norm", "tree_l2_norm", "tree_linf_norm")


def _optax(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return getattr(otu, name)


def test_every_optax_name_is_there_with_its_signature():
    names = [n for n in dir(otu) if not n.startswith("_") and not inspect.ismodule(getattr(otu, n))] + list(DEPRECATED)
    missing = [n for n in names if not hasattr(tu, n)]
    assert not missing, missing
    short = [n for n in dir(optax.tree) if not n.startswith("_") and callable(getattr(optax.tree, n))]
    assert not [n for n in short if not hasattr(zoo.tree, n)]
    for n in short:  # zoo.tree.x is zoo.tree_utils.tree_x, as in optax
        want = next(k for k in dir(otu) if getattr(otu, k) is getattr(optax.tree, n))
        assert getattr(zoo.tree, n) is getattr(tu, want), n
    for n in names:
        o = _optax(n)
        if isinstance(o, functools.partial) or inspect.isclass(o):
            continue
        got = [(p.name, p.default, p.kind) for p in inspect.signature(getattr(tu, n)).parameters.values()]
        want = [(p.name, p.default, p.kind) for p in inspect.signature(o).parameters.values()]
        # the zoo's moment helpers take one more keyword-only argument (`where`, for error messages)
        extra = [g for g in got[len(want):] if g[2] is inspect.Parameter.KEYWORD_ONLY and g[1] is not inspect._empty]
        assert got == want + extra, n


def _binary(name):
    return lambda x, y: (getattr(tu, name)(x, y), _optax(name)(x, y))


CASES = {
    "tree_add": lambda x, y: (tu.tree_add(x, y, x), otu.tree_add(x, y, x)),
    "tree_sub": _binary("tree_sub"),
    "tree_mul": _binary("tree_mul"),
    "tree_div": _binary("tree_div"),
    "tree_vdot": _binary("tree_vdot"),
    "tree_scale": lambda x, y: (tu.tree_scale(0.7, x), otu.tree_scale(0.7, x)),
    "tree_add_scale": lambda x, y: (tu.tree_add_scale(x, -1.3, y), otu.tree_add_scale(x, -1.3, y)),
    "tree_sum": lambda x, y: (tu.tree_sum(x), otu.tree_sum(x)),
    "tree_sum_assoc": lambda x, y: (tu.tree_sum(x, True), otu.tree_sum(x, True)),
    "tree_max": lambda x, y: (tu.tree_max(x), otu.tree_max(x)),
    "tree_min": lambda x, y: (tu.tree_min(x), otu.tree_min(x)),
    "tree_conj": lambda x, y: (tu.tree_conj(x), otu.tree_conj(x)),
    "tree_real": lambda x, y: (tu.tree_real(x), otu.tree_real(x)),
    "tree_where": lambda x, y: (tu.tree_where(x["v"][0] > 0, x, y), otu.tree_where(x["v"][0] > 0, x, y)),
    "tree_clip": lambda x, y: (tu.tree_clip(x, -0.5, 0.3), otu.tree_clip(x, -0.5, 0.3)),
    "tree_clip_lower": lambda x, y: (tu.tree_clip(x, min_value=-0.5), otu.tree_clip(x, min_value=-0.5)),
    "tree_zeros_like": lambda x, y: (tu.tree_zeros_like(x), otu.tree_zeros_like(x)),
    "tree_ones_like": lambda x, y: (tu.tree_ones_like(x, jnp.int32), otu.tree_ones_like(x, jnp.int32)),
    "tree_full_like": lambda x, y: (tu.tree_full_like(x, 2.5), otu.tree_full_like(x, 2.5)),
    "tree_batch_shape": lambda x, y: (tu.tree_batch_shape(x, (2, 3)), otu.tree_batch_shape(x, (2, 3))),
    "tree_update_moment": lambda x, y: (tu.tree_update_moment(x, y, 0.9, 2), otu.tree_update_moment(x, y, 0.9, 2)),
    "tree_update_moment_per_elem_norm": lambda x, y: (
        tu.tree_update_moment_per_elem_norm(x, y, 0.8, 2), otu.tree_update_moment_per_elem_norm(x, y, 0.8, 2)),
    "tree_update_infinity_moment": lambda x, y: (
        tu.tree_update_infinity_moment(x, y, 0.9, 1e-3), otu.tree_update_infinity_moment(x, y, 0.9, 1e-3)),
    "tree_bias_correction": lambda x, y: (tu.tree_bias_correction(x, 0.9, jnp.asarray(3)),
                                          otu.tree_bias_correction(x, 0.9, jnp.asarray(3))),
    "tree_allclose": lambda x, y: (tu.tree_allclose(x, x), otu.tree_allclose(x, x)),
    "tree_not_allclose": lambda x, y: (tu.tree_allclose(x, y, rtol=0.5), otu.tree_allclose(x, y, rtol=0.5)),
}
for _ord in (None, 1, 2, jnp.inf, "inf", "infinity"):
    for _sq in (False, True):
        CASES[f"tree_norm-{_ord}-{_sq}"] = (lambda o, s: lambda x, y: (tu.tree_norm(x, o, s), otu.tree_norm(x, o, s)))(
            _ord, _sq)
for _name in ("tree_l1_norm", "tree_l2_norm", "tree_linf_norm"):
    CASES[_name] = (lambda n: lambda x, y: (getattr(tu, n)(x), _optax(n)(x)))(_name)


# ordering (max, min, clip, where on a leaf) and the real-only moments are not defined for complex leaves
REAL_ONLY = ("tree_max", "tree_min", "tree_clip", "tree_clip_lower", "tree_update_moment",
             "tree_update_infinity_moment", "tree_not_allclose", "tree_where")


@pytest.mark.parametrize("case", sorted(CASES))
def test_math_matches_optax(case, dtype):
    complex_leaf = case not in REAL_ONLY  # trees with a complex leaf wherever optax defines the operation
    x, y = random_tree(dtype, 0, complex_leaf), random_tree(dtype, 1, complex_leaf)
    got, want = CASES[case](x, y)
    assert_same(got, want, dtype)


@pytest.mark.parametrize("tree", [{}, (), [], None, {"k": [None, [None]]}, [jnp.ones([2, 3]), jnp.zeros([4, 0, 5])]],
                         ids=["dict", "tuple", "list", "none", "nested-none", "empty-leaf"])
def test_empty_trees(tree):
    for f in ("tree_sum", "tree_max", "tree_min", "tree_size", "tree_norm"):
        assert_same(getattr(tu, f)(tree), getattr(otu, f)(tree), "float64")
    assert_same(tu.tree_vdot(tree, tree), otu.tree_vdot(tree, tree), "float64")
    assert tu.tree_size(tree) == otu.tree_size(tree) and type(tu.tree_size(tree)) is type(otu.tree_size(tree))
    assert tu.tree_allclose(tree, tree) == otu.tree_allclose(tree, tree)


@pytest.mark.parametrize("value", [0, 10000, -10000, float("inf"), -float("inf")])
@pytest.mark.parametrize("leaf_dtype", ["int8", "uint8", "float32"])
def test_max_min_next_to_an_empty_leaf(value, leaf_dtype):
    tree = [value, jnp.zeros(0, leaf_dtype)]
    for f in ("tree_max", "tree_min"):
        assert_same(getattr(tu, f)(tree), getattr(otu, f)(tree), "float64")


def test_integer_leaves_and_none_arguments():
    ints = {"a": jnp.arange(4), "b": jnp.array([[1, -2], [3, 4]])}
    for f in ("tree_sum", "tree_max", "tree_min", "tree_norm", "tree_l1_norm"):
        assert_same(getattr(tu, f)(ints), _optax(f)(ints), "float64")
    assert_same(tu.tree_vdot(ints, ints), otu.tree_vdot(ints, ints), "float64")
    m = jnp.array([1.0, 2.0, 3.0])
    assert tu.tree_add_scale(None, 1, m) is None and otu.tree_add_scale(None, 1, m) is None
    for f in ("tree_update_moment", "tree_update_infinity_moment", "tree_update_moment_per_elem_norm"):
        assert getattr(tu, f)(None, m, 1, 1) is None
    frozen_g, frozen_m = {"a": m, "b": None}, {"a": m, "b": None}
    for f in ("tree_update_moment", "tree_update_infinity_moment", "tree_update_moment_per_elem_norm"):
        assert_same(getattr(tu, f)(frozen_g, frozen_m, 0.9, 2), getattr(otu, f)(frozen_g, frozen_m, 0.9, 2), "float64")


def test_bias_correction_bf16_stays_finite_and_equal():
    m = jnp.logspace(-10, 10, num=21, dtype=jnp.bfloat16)
    for decay in (0.9, 0.999):
        for count in (1, 100, 1000):
            got = tu.tree_bias_correction(m, decay, count)
            assert bool(jnp.all(jnp.isfinite(got)))
            assert_same(got, otu.tree_bias_correction(m, decay, count), "float64")


def test_bad_ord_names_the_function():
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.tree_norm: argument `ord`"):
        tu.tree_norm({"a": jnp.ones(2)}, ord=3)


def test_casting(dtype):
    x = random_tree(dtype)
    for target in (jnp.bfloat16, jnp.float16, jnp.int32, None):
        assert_same(tu.tree_cast(x, target), otu.tree_cast(x, target), dtype)
    other = jax.tree.map(lambda a: a.astype(jnp.float16), x)
    assert_same(tu.tree_cast_like(x, other), otu.tree_cast_like(x, other), dtype)
    mixed = {"a": jnp.zeros(2, jnp.float16), "b": jnp.zeros(2, dtype), "c": jnp.zeros(1, jnp.bfloat16)}
    for handler in ("promote", "highest"):
        assert tu.tree_dtype(mixed, handler) == otu.tree_dtype(mixed, handler)
    assert tu.tree_dtype(x) == otu.tree_dtype(x)
    assert tu.tree_dtype({}) == otu.tree_dtype({})
    ints = {"a": jnp.zeros(1, jnp.int32), "b": jnp.zeros(1, jnp.uint32)}
    assert tu.tree_dtype(ints, "promote") == otu.tree_dtype(ints, "promote")
    halves = {"a": jnp.zeros(1, jnp.float16), "b": jnp.zeros(1, jnp.bfloat16)}  # neither promotes to the other
    for tree, handler in ((mixed, None), (mixed, "lowest"), (halves, "highest"), (x, "largest")):
        with pytest.raises(ValueError):
            otu.tree_dtype(tree, handler)
        with pytest.raises(ValueError, match="tree_dtype"):
            tu.tree_dtype(tree, handler)
    fp = {"a": jnp.zeros(2, jnp.float16), "b": jnp.zeros(2, jnp.float32)}
    assert tu.tree_dtype(fp, "lowest") == otu.tree_dtype(fp, "lowest") == jnp.float16


def test_random(dtype):
    x = random_tree(dtype)
    key = jax.random.key(3)
    assert_same(tu.tree_unwrap_random_key_data(tu.tree_split_key_like(key, x)),
                otu.tree_unwrap_random_key_data(otu.tree_split_key_like(key, x)), dtype)
    assert_same(tu.tree_random_like(key, x), otu.tree_random_like(key, x), dtype, rtol=0)
    no_sharding = lambda k, s, d: jax.random.uniform(k, s, d)  # noqa: E731  (a sampler without out_sharding)
    assert_same(tu.tree_random_like(key, x, no_sharding, jnp.float16),
                otu.tree_random_like(key, x, no_sharding, jnp.float16), dtype, rtol=0)


def _states():
    params = {"w": jnp.ones(3), "b": jnp.zeros(2)}
    opts = [
        optax.adam(1.0),
        optax.chain(optax.add_noise(1.0, 0.9, key=0), optax.scale_by_adam()),
        optax.inject_hyperparams(optax.sgd)(learning_rate=lambda c: 1 / (c + 1)),
        optax.inject_hyperparams(optax.adam)(learning_rate=1.0),
        optax.chain(optax.scale_by_adam(), optax.scale_by_adam(), optax.scale(2.0)),
    ]
    states = [o.init(params) for o in opts]
    states.append({"count": 1, "inner": {"count": 2, "mu": [3, {"count": 4}]}, "other": [{"count": 5}]})
    return states


KEYS = ("count", "learning_rate", "mu", "ScaleByAdamState", "AddNoiseState", "b1", "hyperparams", "nothing")
FILTERS = {"none": None, "arrays": lambda p, v: isinstance(v, jax.Array),
           "adam-only": lambda p, v: bool(p) and getattr(p[-1], "tuple_name", "") == "ScaleByAdamState"}


def _readable(found):
    return [(jax.tree_util.keystr(p), jax.tree.map(np.asarray, tu.tree_unwrap_random_key_data(v))) for p, v in found]


@pytest.mark.parametrize("flt", sorted(FILTERS))
def test_get_all_with_path_get_and_set(flt):
    f = FILTERS[flt]
    for state in _states():
        for key in KEYS:
            got = tu.tree_get_all_with_path(state, key, f)
            want = otu.tree_get_all_with_path(state, key, f)
            assert [str(p) for p, _ in got] == [str(p) for p, _ in want], (key, state)
            assert str(_readable(got)) == str(_readable(want))
            try:
                expected = otu.tree_get(state, key, default="dflt", filtering=f)
            except KeyError:
                with pytest.raises(KeyError):
                    tu.tree_get(state, key, default="dflt", filtering=f)
            else:
                assert str(tu.tree_get(state, key, default="dflt", filtering=f)) == str(expected)
            try:
                expected = otu.tree_set(state, f, **{key: 7.0})
            except KeyError:
                with pytest.raises(KeyError):
                    tu.tree_set(state, f, **{key: 7.0})
            else:
                got_set = tu.tree_set(state, f, **{key: 7.0})
                assert jax.tree.structure(got_set) == jax.tree.structure(expected)
                assert str(got_set) == str(expected)


def test_named_tuple_key_and_jitted_set():
    assert str(tu.NamedTupleKey("S", "count")) == str(otu.NamedTupleKey("S", "count")) == "S.count"
    opt = zoo.inject_hyperparams(zoo.adam)(learning_rate=1.0)
    state = opt.init(jnp.ones(3))
    set_lr = jax.jit(lambda s, lr: tu.tree_set(s, learning_rate=lr))
    for i in range(3):
        state = set_lr(state, 1.0 / (i + 1))
        _, state = opt.update(jnp.ones(3), state)
        assert float(tu.tree_get(state, "learning_rate")) == 1.0 / (i + 1)


def test_map_params_is_the_zoos():
    assert tu.tree_map_params is zoo.tree_map_params is zoo.tree.map_params
    opt = optax.adam(1e-3)
    params = {"a": jnp.ones(2)}
    state = opt.init(params)
    got = tu.tree_map_params(opt, lambda x: x + 1, state, transform_non_params=lambda _: None)
    want = otu.tree_map_params(opt, lambda x: x + 1, state, transform_non_params=lambda _: None)
    assert str(got) == str(want)
