"""zoo.projections against optax.projections, side by side on random points (values and derivatives)."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax.projections as oproj
import pytest
from tests.reference.optax_utils_common import assert_same, random_tree

import jaxopt_zoo as zoo

zproj = zoo.projections
NAMES = sorted(n for n in dir(oproj) if n.startswith("projection_"))


def test_every_projection_is_there_with_optax_signature():
    assert NAMES == sorted(n for n in dir(zproj) if not n.startswith("_"))
    for n in NAMES:
        got = [(p.name, p.default, p.kind) for p in inspect.signature(getattr(zproj, n)).parameters.values()]
        assert got == [(p.name, p.default, p.kind) for p in inspect.signature(getattr(oproj, n)).parameters.values()]


def _calls(x, y, dtype):
    """``name -> (args, kwargs)`` for one random point ``x`` (``y`` gives bounds and normals)."""
    lo = jax.tree.map(lambda a: -jnp.abs(a), y)
    up = jax.tree.map(lambda a: jnp.abs(a) * 0.5, y)
    return {
        "projection_non_negative": ((x,), {}),
        "projection_box": ((x, lo, up), {}),
        "projection_box-scalars": ((x["v"], -0.2, 0.4), {}),  # scalar bounds: arrays only, in optax too
        "projection_hypercube": ((x["v"],), {}),
        "projection_hypercube-scale": ((x["v"], 0.3), {}),
        "projection_linf_ball": ((x, 0.5), {}),
        "projection_simplex": ((x,), {}),
        "projection_simplex-scale": ((x, 2.7), {}),
        "projection_l1_sphere": ((x, 1.7), {}),
        "projection_l1_ball-outside": ((x, 0.5), {}),
        "projection_l1_ball-inside": ((x, 100.0), {}),
        "projection_l2_sphere": ((x, 0.7), {}),
        "projection_l2_ball-outside": ((x, 0.5), {}),
        "projection_l2_ball-inside": ((x, 100.0), {}),
        "projection_vector": ((x, y), {}),
        "projection_hyperplane": ((x, y, 0.3), {}),
        "projection_halfspace-outside": ((x, y, -100.0), {}),
        "projection_halfspace-inside": ((x, y, 100.0), {}),
    }


CALLS = sorted(_calls({"v": 0}, 0, "float64"))


SIMPLEX_FAMILY = ("projection_simplex", "projection_l1_sphere", "projection_l1_ball")


@pytest.mark.parametrize("call", CALLS)
def test_matches_optax(call, dtype):
    name = call.split("-")[0]
    x, y = random_tree(dtype, 0), random_tree(dtype, 10)
    args, kwargs = _calls(x, y, dtype)[call]
    assert_same(getattr(zproj, name)(*args, **kwargs), getattr(oproj, name)(*args, **kwargs), dtype)
    if call in ("projection_simplex-scale", "projection_l1_ball-outside", "projection_l2_ball-outside"):
        rest = args[1:]

        def scalarised(module):  # a generic cotangent, so the whole Jacobian is exercised
            return lambda x: jnp.sum(jnp.sin(jax.flatten_util.ravel_pytree(getattr(module, name)(x, *rest))[0]))

        assert_same(jax.grad(scalarised(zproj))(x), jax.grad(scalarised(oproj))(x), dtype)


@pytest.mark.parametrize("call", [c for c in CALLS if c.split("-")[0] in SIMPLEX_FAMILY])
def test_simplex_family_keeps_float32_with_x64(call):
    """optax's simplex projections turn float32 into float64 when x64 is on (see _simplex.py).
    The zoo keeps float32 where optax promotes to float64 (values equal to float32
    precision) or fails (the l1 ball's cond, the simplex's derivative)."""
    name = call.split("-")[0]
    assert jax.config.jax_enable_x64
    x, y = random_tree("float32", 0), random_tree("float32", 10)
    args, kwargs = _calls(x, y, "float32")[call]
    got = getattr(zproj, name)(*args, **kwargs)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(got))
    x64 = jax.tree.map(lambda a: a.astype(jnp.float64), args[0])
    want = getattr(oproj, name)(x64, *args[1:], **kwargs)  # optax on the same point in float64
    assert_same(got, jax.tree.map(lambda a: a.astype(jnp.float32), want), "float32", atol=1e-6)
    if name == "projection_l1_ball":
        with pytest.raises(TypeError, match="cond branches"):
            oproj.projection_l1_ball(*args, **kwargs)
    else:
        assert all(leaf.dtype == jnp.float64 for leaf in jax.tree.leaves(getattr(oproj, name)(*args, **kwargs)))
    if name == "projection_simplex":
        with pytest.raises(TypeError, match="Custom JVP rule"):
            jax.grad(lambda v: jnp.sum(oproj.projection_simplex(v)))(args[0]["v"])
        grad = jax.grad(lambda v: jnp.sum(jnp.sin(zproj.projection_simplex(v))))(args[0]["v"])
        want = jax.grad(lambda v: jnp.sum(jnp.sin(oproj.projection_simplex(v))))(args[0]["v"].astype(jnp.float64))
        assert_same(grad, want.astype(jnp.float32), "float32", atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 0.8])
def test_simplex_edge_cases_and_jacobians(scale):
    x = jnp.array([0.0, 0.0, -jnp.inf])
    assert_same(zproj.projection_simplex(x, scale), oproj.projection_simplex(x, scale), "float64")
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random(6))
    for jac in (jax.jacfwd, jax.jacrev):
        assert_same(jac(zproj.projection_simplex)(x, scale), jac(oproj.projection_simplex)(x, scale), "float64")
    batch = jnp.asarray(rng.normal(size=(3, 7)))
    scales = jnp.full(3, scale)
    assert_same(jax.vmap(zproj.projection_simplex)(batch, scales), jax.vmap(oproj.projection_simplex)(batch, scales),
                "float64")
    tree = {"w": jnp.array([2.5, 3.2]), "b": 0.5}
    assert_same(zproj.projection_simplex(tree, scale), oproj.projection_simplex(tree, scale), "float64")


def test_grads_at_zero_and_python_scalars():
    for name in ("projection_l1_ball", "projection_l2_ball"):
        assert float(jax.grad(getattr(zproj, name))(0.0)) == float(jax.grad(getattr(oproj, name))(0.0)) == 1.0
    x, a = (1.0, -2.0), (3.0, 4.0)
    for name in ("projection_hyperplane", "projection_halfspace"):
        assert_same(getattr(zproj, name)(x, a, 5.0), getattr(oproj, name)(x, a, 5.0), "float64")
    assert_same(zproj.projection_vector(x, a), oproj.projection_vector(x, a), "float64")
    nested = (-1.0, {"k1": 1.0, "k2": (1.0, -3.0)}, 1.0)
    assert_same(zproj.projection_non_negative(nested), oproj.projection_non_negative(nested), "float64")
