"""zoo.power_iteration / matrix_inverse_pth_root / nnls / multi_normal and the namespaces
zoo.second_order, zoo.perturbations, zoo.assignment, zoo.microbatching against optax."""

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.optax_utils_common import assert_same, random_tree

import jaxopt_zoo as zoo

NAMESPACES = ("second_order", "perturbations", "assignment", "microbatching", "projections", "tree", "tree_utils")
TOP_LEVEL = ("power_iteration", "matrix_inverse_pth_root", "nnls", "multi_normal")


def _default(d):
    """A default as comparable across libraries: an enum member by name, an instance by class name."""
    if d is inspect.Parameter.empty or isinstance(d, (int, float, str, bool, type(None), tuple)):
        return d
    return getattr(d, "name", None) or type(d).__name__


def _signature(f):
    return [(p.name, _default(p.default), p.kind) for p in inspect.signature(f).parameters.values()]


@pytest.mark.parametrize("space", NAMESPACES)
def test_namespace_has_every_optax_name_with_its_signature(space):
    theirs, ours = getattr(optax, space), getattr(zoo, space)
    names = [n for n in dir(theirs) if not n.startswith("_") and not inspect.ismodule(getattr(theirs, n))]
    assert not [n for n in names if not hasattr(ours, n)]
    for n in names:
        o = getattr(theirs, n)
        if inspect.isfunction(o) and not hasattr(o, "__wrapped__"):
            got, want = _signature(getattr(ours, n)), _signature(o)
            assert got[:len(want)] == want, (space, n)


def test_top_level_functions_have_optax_signatures():
    for n in TOP_LEVEL:
        assert _signature(getattr(zoo, n)) == _signature(getattr(optax, n)), n


def _symmetric(n, dtype, seed=0, psd=False):
    a = np.random.default_rng(seed).normal(size=(n, n))
    a = a @ a.T + 0.1 * np.eye(n) if psd else a + a.T
    return jnp.asarray(a, dtype)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_power_iteration(n, dtype):
    m = _symmetric(n, dtype, seed=n)
    assert_same(zoo.power_iteration(m), optax.power_iteration(m), dtype)
    kw = dict(num_iters=7, error_tolerance=1e-3, key=jax.random.PRNGKey(5))
    assert_same(zoo.power_iteration(m, **kw), optax.power_iteration(m, **kw), dtype)
    tree = random_tree(dtype, n)  # an implicit operator on pytrees: a diagonal scaling
    scales = jax.tree.map(lambda x: jnp.linspace(0.5, 2.0, x.size, dtype=x.dtype).reshape(x.shape), tree)

    def mvp(v):
        return jax.tree.map(jnp.multiply, scales, v)

    assert_same(zoo.power_iteration(mvp, v0=tree, num_iters=30), optax.power_iteration(mvp, v0=tree, num_iters=30),
                dtype)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.power_iteration: argument `v0`"):
        zoo.power_iteration(mvp)


@pytest.mark.parametrize("p", [1, 2, 4, 8])
def test_matrix_inverse_pth_root(p, dtype):
    for n in (1, 6):
        m = _symmetric(n, dtype, seed=p + n, psd=True)
        assert_same(zoo.matrix_inverse_pth_root(m, p), optax.matrix_inverse_pth_root(m, p), dtype,
                    rtol=None if dtype == "float64" else 1e-5)
    kw = dict(num_iters=5, ridge_epsilon=1e-3, error_tolerance=1e-2)
    assert_same(zoo.matrix_inverse_pth_root(m, p, **kw), optax.matrix_inverse_pth_root(m, p, **kw), dtype,
                rtol=None if dtype == "float64" else 1e-5)


@pytest.mark.parametrize("shape", [(10, 11, None), (20, 6, 3)], ids=["vector", "matrix"])
def test_nnls(shape, dtype):
    m, n, k = shape
    rng = np.random.default_rng(m)
    a = jnp.asarray(rng.normal(size=(m, n)), dtype)
    b = jnp.asarray(rng.normal(size=(m,) if k is None else (m, k)), dtype)
    assert_same(zoo.nnls(a, b, 40), optax.nnls(a, b, 40), dtype)
    assert_same(zoo.nnls(a, b, 10, unroll=2, L=50.0), optax.nnls(a, b, 10, unroll=2, L=50.0), dtype)
    zero = jnp.zeros((m, n), dtype)
    assert_same(zoo.nnls(zero, b, 3), optax.nnls(zero, b, 3), dtype)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.nnls: argument `b`"):
        zoo.nnls(a, jnp.zeros(m + 1, dtype), 3)


def test_multi_normal(dtype):
    loc = jnp.asarray([0.5, -1.0, 2.0], dtype)
    log_scale = jnp.asarray([[0.1, -0.3, 0.0], [0.2, 0.2, -1.0]], dtype)
    ours, theirs = zoo.multi_normal(loc, log_scale), optax.multi_normal(loc, log_scale)
    key = jax.random.PRNGKey(1)
    x = ours.sample((4,), key)
    assert_same(x, theirs.sample((4,), key), dtype)
    assert_same(ours.log_prob(x), theirs.log_prob(x), dtype)
    assert_same(ours.log_scale, theirs.log_scale, dtype)
    assert_same(ours.params, theirs.params, dtype)


def _loss(params, inputs, targets):
    hidden = jnp.tanh(inputs @ params["w"] + params["b"])
    return jnp.mean((hidden.sum(-1) - targets) ** 2) + 0.1 * jnp.sum(params["b"] ** 3)


@pytest.mark.float32_with_x64  # optax's hessian_diag fails on float32 with x64 on
def test_second_order(dtype):
    rng = np.random.default_rng(0)
    params = {"w": jnp.asarray(rng.normal(size=(3, 2)), dtype), "b": jnp.asarray(rng.normal(size=2), dtype)}
    inputs, targets = jnp.asarray(rng.normal(size=(5, 3)), dtype), jnp.asarray(rng.normal(size=5), dtype)
    v = jnp.asarray(rng.normal(size=8), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # optax 0.2.8 deprecates these
        diag_params = params
        if dtype == "float32" and jax.config.jax_enable_x64:  # optax fails here (see second_order/_hessian.py)
            with pytest.raises(TypeError, match="primal and tangent"):
                optax.second_order.hessian_diag(_loss, params, inputs, targets)
            diag_params = jax.tree.map(lambda a: a.astype(jnp.float64), params)
        want_diag = optax.second_order.hessian_diag(_loss, diag_params, inputs, targets).astype(dtype)
        want = (optax.second_order.hvp(_loss, v, params, inputs, targets), want_diag,
                optax.second_order.fisher_diag(_loss, params, inputs, targets))
    got = (zoo.second_order.hvp(_loss, v, params, inputs, targets),
           zoo.second_order.hessian_diag(_loss, params, inputs, targets),
           zoo.second_order.fisher_diag(_loss, params, inputs, targets))
    assert_same(got, want, dtype, rtol=None if dtype == "float64" else 1e-5)


def _argmax_one_hot(x):
    return jax.nn.one_hot(jnp.argmax(x["a"]), x["a"].shape[0]) * x["b"].sum()


@pytest.mark.parametrize("noise,use_baseline", [("Gumbel", True), ("Normal", False)])
def test_perturbations(noise, use_baseline, dtype):
    rng = np.random.default_rng(1)
    x = {"a": jnp.asarray(rng.normal(size=4), dtype), "b": jnp.asarray(rng.normal(size=2), dtype)}
    key = jax.random.PRNGKey(7)
    kw = dict(num_samples=20, sigma=0.4, use_baseline=use_baseline)
    ours = zoo.perturbations.make_perturbed_fun(_argmax_one_hot, noise=getattr(zoo.perturbations, noise)(), **kw)
    theirs = optax.perturbations.make_perturbed_fun(_argmax_one_hot, noise=getattr(optax.perturbations, noise)(), **kw)
    tol = None if dtype == "float64" else 1e-5
    assert_same(ours(key, x), theirs(key, x), dtype, rtol=tol, atol=1e-12)
    assert_same(jax.jacobian(ours, argnums=1)(key, x), jax.jacobian(theirs, argnums=1)(key, x), dtype, rtol=tol,
                atol=1e-10 if dtype == "float64" else 1e-5)
    z = jnp.linspace(-2, 2, 5, dtype=dtype)
    for name in ("Gumbel", "Normal"):
        assert_same(getattr(zoo.perturbations, name)().log_prob(z), getattr(optax.perturbations, name)().log_prob(z),
                    dtype)


SHAPES = [(0, 3), (3, 0), (1, 1), (3, 5), (5, 3), (6, 6)]


@pytest.mark.parametrize("fn", ["hungarian_algorithm", "base_hungarian_algorithm"])
def test_assignment(fn):
    """Costs in float64, float32 and int32, with ties (integers) and without; under vmap and jit."""
    ours, theirs = getattr(zoo.assignment, fn), getattr(optax.assignment, fn)
    rng = np.random.default_rng(2)
    for shape in SHAPES:
        cost = jnp.asarray(rng.normal(size=shape))
        assert_same(ours(cost), theirs(cost), "float64")
    for cost in (rng.integers(0, 3, size=(6, 6)), rng.integers(0, 2, size=(3, 5))):
        assert_same(ours(jnp.asarray(cost, jnp.int32)), theirs(jnp.asarray(cost, jnp.int32)), "float64")
    batch = jnp.asarray(rng.normal(size=(3, 4, 6)), jnp.float32)
    assert_same(jax.vmap(ours)(batch), jax.vmap(theirs)(batch), "float32")
    assert_same(jax.jit(ours)(batch[0].T), theirs(batch[0].T), "float32")
    with jax.enable_x64(False):
        assert_same(ours(batch[1]), theirs(batch[1]), "float32")


def test_micro_vmap(dtype):
    mb = zoo.microbatching
    omb = optax.microbatching
    x = jnp.asarray(np.random.default_rng(3).normal(size=(8, 4)), dtype)
    y = jnp.ones((8, 4), dtype)

    def fun(x, *, y):
        return {"s": jnp.sum(x * y), "v": x + 1}

    for acc in ("CONCAT", "SUM", "MEAN", "RUNNING_MEAN"):
        for size in (None, 2, 4):
            args = dict(microbatch_size=size)
            got = mb.micro_vmap(fun, accumulator=getattr(mb.AccumulationType, acc), **args)(x, y=y)
            want = omb.micro_vmap(fun, accumulator=getattr(omb.AccumulationType, acc), **args)(x, y=y)
            assert_same(got, want, dtype)
    cube = jnp.arange(2 * 4 * 8, dtype=dtype).reshape(2, 4, 8)
    assert_same(mb.micro_vmap(jnp.sum, in_axes=1, microbatch_size=2)(cube),
                omb.micro_vmap(jnp.sum, in_axes=1, microbatch_size=2)(cube), dtype)
    early = dict(microbatch_size=2, num_real_microbatches=3)
    assert_same(mb.micro_vmap(jnp.sum, accumulator=mb.AccumulationType.SUM, **early)(x),
                omb.micro_vmap(jnp.sum, accumulator=omb.AccumulationType.SUM, **early)(x), dtype)
    with pytest.raises(NotImplementedError):
        mb.micro_vmap(jnp.sum, out_axes=1)


@pytest.mark.parametrize("keep_batch_dim", [True, False])
def test_micro_grad(keep_batch_dim, dtype):
    def loss(params, features, targets):
        diff = features @ params["w"] + params["c"] - targets
        return 0.5 * jnp.mean(diff**2), {"mean": jnp.mean(diff)}

    rng = np.random.default_rng(4)
    params = {"w": jnp.asarray(rng.normal(size=3), dtype), "c": jnp.asarray(0.3, dtype)}
    feats, targets = jnp.asarray(rng.normal(size=(8, 3)), dtype), jnp.asarray(rng.normal(size=8), dtype)
    common = dict(has_aux=True, batch_argnums=(1, 2), keep_batch_dim=keep_batch_dim,
                  transform_fn=lambda g: (g, jax.tree.map(jnp.square, g)), metrics_fn=zoo.tree_utils.tree_norm)
    for acc in ("SUM", "MEAN"):
        for size in (None, 4):
            got = zoo.microbatching.micro_grad(loss, accumulator=getattr(zoo.microbatching.AccumulationType, acc),
                                               microbatch_size=size, **common)(params, feats, targets)
            want = optax.microbatching.micro_grad(loss, accumulator=getattr(optax.microbatching.AccumulationType, acc),
                                                  microbatch_size=size, **common)(params, feats, targets)
            # the per-example outputs are a namedtuple of optax's class in one and the zoo's in the other
            assert_same((got[0], tuple(got[1])), (want[0], tuple(want[1])), dtype,
                        rtol=None if dtype == "float64" else 1e-5)
    plain = zoo.microbatching.micro_grad(lambda c, x: c * x.sum(), microbatch_size=4, num_real_microbatches=3)
    want = optax.microbatching.micro_grad(lambda c, x: c * x.sum(), microbatch_size=4, num_real_microbatches=3)
    got, want = plain(jnp.asarray(1.0, dtype), jnp.ones(16, dtype)), want(jnp.asarray(1.0, dtype), jnp.ones(16, dtype))
    assert_same((got[0], tuple(got[1])), (want[0], tuple(want[1])), dtype)
