"""lbfgs, scale_by_lbfgs, the zoom and backtracking line searches and value_and_grad_from_state
against optax 0.2.8, run side by side: whole trajectories of params *and* states (the line
searches' step sizes, values, gradients and info fields) on a smooth non-quadratic loss, a
quadratic, Rosenbrock and a logistic regression, over 120 steps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from tests.reference.harness import RTOL, STEPS, assert_trajectories_close, loss, make_params, seeded_rng

import jaxopt_zoo as zoo

# ----------------------------------------------------------------------------- problems


def _flat(params):
    return jnp.concatenate([jnp.ravel(params[k]) for k in sorted(params)])


_DIM = 30  # 1 + 5 + 24 entries in the parity pytree
_RNG = np.random.default_rng(7)
_M = _RNG.normal(size=(_DIM, _DIM)) / np.sqrt(_DIM)
_A = _M @ _M.T + 0.5 * np.eye(_DIM)  # SPD, condition number ~ 10
_B = _RNG.normal(size=_DIM)
_X = _RNG.normal(size=(60, _DIM))
_Y = np.sign(_X @ _RNG.normal(size=_DIM) + 0.5 * _RNG.normal(size=60))


def quadratic(params):
    w = _flat(params)
    return 0.5 * w @ jnp.asarray(_A, w.dtype) @ w - jnp.asarray(_B, w.dtype) @ w


def rosenbrock(params):
    w = 0.5 * _flat(params)
    return jnp.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1.0 - w[:-1]) ** 2)


def logistic(params):
    w = _flat(params)
    margins = jnp.asarray(_Y, w.dtype) * (jnp.asarray(_X, w.dtype) @ w)
    return jnp.mean(jnp.logaddexp(0.0, -margins)) + 1e-2 * jnp.sum(w**2)


PROBLEMS = {"smooth": loss, "quadratic": quadratic, "rosenbrock": rosenbrock, "logistic": logistic}

# ------------------------------------------------------------------------------ running


def run(tx, params, value_fn, steps=STEPS, from_state=True, apply=zoo.apply_updates):
    """``steps`` updates as in optax's docs (value and gradient from the state when the line
    search stores them), in one jitted scan; the params and the whole state after each step."""
    vg = zoo.value_and_grad_from_state(value_fn) if from_state else None

    def step(carry, _):
        p, s = carry
        value, grad = vg(p, state=s) if from_state else jax.value_and_grad(value_fn)(p)
        u, s = tx.update(grad, s, p, value=value, grad=grad, value_fn=value_fn)
        p = apply(p, u)
        return (p, s), (p, s)

    _, path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((params, tx.init(params)))
    return path


def assert_states_close(got, want, dtype):
    """Leaf by leaf: integers and booleans equal, floats close (equal where infinite)."""
    got_leaves, want_leaves = jax.tree.leaves(got), jax.tree.leaves(want)
    assert len(got_leaves) == len(want_leaves), (jax.tree.structure(got), jax.tree.structure(want))
    for i, (g, w) in enumerate(zip(got_leaves, want_leaves)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (i, g.shape, w.shape)
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w, err_msg=f"state leaf {i}")
            continue
        g, w = g.astype(np.float64), w.astype(np.float64)
        finite = np.isfinite(w)
        np.testing.assert_array_equal(np.isfinite(g), finite, err_msg=f"state leaf {i}: inf/nan positions")
        np.testing.assert_array_equal(g[~finite], w[~finite], err_msg=f"state leaf {i}")
        if finite.any():
            scale = max(float(np.max(np.abs(w[finite]))), 1e-30)
            err = float(np.max(np.abs(g[finite] - w[finite]))) / scale
            assert err <= RTOL[dtype], f"state leaf {i}: relative error {err:.3e}"


def assert_same_run(zoo_tx, optax_tx, dtype, problem="smooth", from_state=True, steps=STEPS):
    params = make_params(dtype)
    f = PROBLEMS[problem]
    got_p, got_s = run(zoo_tx, params, f, steps, from_state)
    want_p, want_s = run(optax_tx, params, f, steps, from_state, apply=optax.apply_updates)
    assert_trajectories_close(got_p, want_p, dtype)
    assert_states_close(got_s, want_s, dtype)
    return got_p, got_s


# --------------------------------------------------------------------------------- lbfgs
# Each comparison compiles two scans holding while loops (~5 s each on a loaded machine): the
# dtype fixture runs on one problem per feature; the other problems run in float64.


def test_lbfgs_defaults_match_optax(dtype):
    _, states = assert_same_run(zoo.lbfgs(), optax.lbfgs(), dtype, "rosenbrock")
    assert int(states[2].info.num_linesearch_steps.max()) >= 2  # the search did work


@pytest.mark.parametrize("problem", ["quadratic", "logistic", "smooth"])
def test_lbfgs_defaults_match_optax_other_problems(problem):
    assert_same_run(zoo.lbfgs(), optax.lbfgs(), "float64", problem)


def _random_zoom(rng):
    return dict(max_linesearch_steps=rng.randint(8, 30), max_learning_rate=rng.choice([None, rng.uniform(1.5, 4.0)]),
                tol=rng.choice([0.0, 1e-10]), increase_factor=rng.uniform(1.5, 3.0), slope_rtol=rng.uniform(1e-5, 1e-3),
                curv_rtol=rng.uniform(0.5, 0.95), approx_dec_rtol=rng.choice([None, 1e-6, 1e-4]),
                stepsize_precision=10 ** rng.uniform(-7, -4), initial_guess_strategy=rng.choice(["one", "keep"]))


def _random_backtracking(rng, dtype):
    store_grad = rng.choice([False, True])
    if dtype == "float32" and jax.config.jax_enable_x64:
        store_grad = False  # optax raises there (test_backtracking_store_grad_float32_x64_fixes_optax)
    return dict(max_backtracking_steps=rng.randint(10, 30), slope_rtol=rng.uniform(1e-5, 1e-2),
                decrease_factor=rng.uniform(0.3, 0.9), increase_factor=rng.uniform(1.0, 2.0),
                max_learning_rate=rng.uniform(1.0, 2.0), atol=rng.choice([0.0, 1e-12]), rtol=rng.choice([0.0, 1e-8]),
                store_grad=store_grad)


def _random_lbfgs(rng):
    return dict(memory_size=rng.randint(1, 15), scale_init_precond=rng.choice([True, False]))


def test_lbfgs_random_zoom_matches_optax(dtype, request):
    rng = seeded_rng(request.node.name)[0]
    kw, ls = _random_lbfgs(rng), _random_zoom(rng)
    print(kw, ls)
    assert_same_run(zoo.lbfgs(linesearch=zoo.scale_by_zoom_linesearch(**ls), **kw),
                    optax.lbfgs(linesearch=optax.scale_by_zoom_linesearch(**ls), **kw), dtype, "rosenbrock")


@pytest.mark.llvm_optimized
def test_lbfgs_random_backtracking_matches_optax(dtype, request):
    rng = seeded_rng(request.node.name)[0]
    kw, ls = _random_lbfgs(rng), _random_backtracking(rng, dtype)
    print(kw, ls)
    assert_same_run(zoo.lbfgs(linesearch=zoo.scale_by_backtracking_linesearch(**ls), **kw),
                    optax.lbfgs(linesearch=optax.scale_by_backtracking_linesearch(**ls), **kw), dtype, "logistic",
                    from_state=ls["store_grad"])


@pytest.mark.parametrize("problem,search", [("logistic", "zoom"), ("quadratic", "backtracking")])
def test_lbfgs_random_hyperparameters_other_problems(problem, search, request):
    rng = seeded_rng(request.node.name)[0]
    kw = _random_lbfgs(rng)
    ls = _random_zoom(rng) if search == "zoom" else _random_backtracking(rng, "float64")
    print(kw, ls)
    make = "scale_by_zoom_linesearch" if search == "zoom" else "scale_by_backtracking_linesearch"
    assert_same_run(zoo.lbfgs(linesearch=getattr(zoo, make)(**ls), **kw),
                    optax.lbfgs(linesearch=getattr(optax, make)(**ls), **kw), "float64", problem,
                    from_state=search == "zoom" or ls["store_grad"])


def test_lbfgs_without_linesearch_matches_optax(dtype):
    kw = dict(learning_rate=optax.linear_schedule(0.2, 0.8, 50), memory_size=3, linesearch=None)
    assert_same_run(zoo.lbfgs(**kw), optax.lbfgs(**kw), dtype, "smooth", from_state=False)


def test_lbfgs_learning_rate_options_match_optax():
    for kw in (dict(learning_rate=0.5, memory_size=1, scale_init_precond=False, linesearch=None),
               dict(learning_rate=0.7, memory_size=4)):
        assert_same_run(zoo.lbfgs(**kw), optax.lbfgs(**kw), "float64", "logistic", from_state="linesearch" not in kw)


def test_scale_by_lbfgs_alone_matches_optax(dtype, request):
    kw = _random_lbfgs(seeded_rng(request.node.name)[0])
    print(kw)
    zoo_tx = zoo.chain(zoo.scale_by_lbfgs(**kw), zoo.scale(-0.4))
    optax_tx = optax.chain(optax.scale_by_lbfgs(**kw), optax.scale(-0.4))
    assert_same_run(zoo_tx, optax_tx, dtype, "smooth", from_state=False)


def test_lbfgs_converges():
    params = make_params("float64")
    path, _ = run(zoo.lbfgs(), params, quadratic, steps=40)
    w = np.linalg.solve(_A, _B)
    np.testing.assert_allclose(np.asarray(_flat(jax.tree.map(lambda x: x[-1], path))), w, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------------- line searches


def test_zoom_linesearch_alone_matches_optax(dtype, request):
    ls = _random_zoom(seeded_rng(request.node.name)[0])
    print(ls)
    assert_same_run(zoo.chain(zoo.sgd(1.0), zoo.scale_by_zoom_linesearch(**ls)),
                    optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(**ls)), dtype, "rosenbrock")


def test_zoom_linesearch_defaults_alone_match_optax():
    ls = dict(max_linesearch_steps=15)
    assert_same_run(zoo.chain(zoo.sgd(1.0), zoo.scale_by_zoom_linesearch(**ls)),
                    optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(**ls)), "float64", "smooth")


def test_backtracking_linesearch_alone_matches_optax(dtype, request):
    ls = _random_backtracking(seeded_rng(request.node.name)[0], dtype)
    print(ls)
    assert_same_run(zoo.chain(zoo.sgd(1.0), zoo.scale_by_backtracking_linesearch(**ls)),
                    optax.chain(optax.sgd(1.0), optax.scale_by_backtracking_linesearch(**ls)), dtype, "logistic",
                    from_state=ls["store_grad"])


def test_backtracking_linesearch_defaults_store_grad_alone_match_optax():
    ls = dict(max_backtracking_steps=15, store_grad=True)
    assert_same_run(zoo.chain(zoo.sgd(1.0), zoo.scale_by_backtracking_linesearch(**ls)),
                    optax.chain(optax.sgd(1.0), optax.scale_by_backtracking_linesearch(**ls)), "float64", "smooth")


def test_backtracking_store_grad_float32_x64_fixes_optax():
    """Pins the departure: float32 params with x64 on and store_grad=True; optax raises a
    TypeError (a float64 cotangent for a float32 value), the zoo stores the right gradient."""
    f = PROBLEMS["smooth"]
    params = make_params("float32")
    value, grad = jax.value_and_grad(f)(params)
    with pytest.raises(TypeError):
        tx = optax.scale_by_backtracking_linesearch(10, store_grad=True)
        tx.update(jax.tree.map(jnp.negative, grad), tx.init(params), params, value=value, grad=grad, value_fn=f)
    tx = zoo.scale_by_backtracking_linesearch(10, store_grad=True)
    u, s = tx.update(jax.tree.map(jnp.negative, grad), tx.init(params), params, value=value, grad=grad, value_fn=f)
    want = jax.grad(f)(zoo.apply_updates(params, u))
    assert float(s.learning_rate) > 0 and jax.tree.map(lambda x: x.dtype, s.grad) == jax.tree.map(lambda x: x.dtype, params)
    assert_trajectories_close(s.grad, want, "float32")


def test_zoom_failure_falls_back_like_optax():
    """Too few steps to meet the curvature condition: the safe step (and the info) as optax."""
    ls = dict(max_linesearch_steps=2, curv_rtol=0.01)
    assert_same_run(zoo.chain(zoo.sgd(1.0), zoo.scale_by_zoom_linesearch(**ls)),
                    optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(**ls)), "float64", "rosenbrock")


def test_zoom_not_a_descent_direction_like_optax():
    """An ascent direction: no step decreases; the zoo returns what optax returns."""
    f = PROBLEMS["quadratic"]
    params = make_params("float64")
    value, grad = jax.value_and_grad(f)(params)
    out = []
    for lib in (zoo, optax):
        tx = lib.scale_by_zoom_linesearch(max_linesearch_steps=10)
        out.append(jax.jit(lambda p, g, tx=tx: tx.update(g, tx.init(p), p, value=value, grad=g, value_fn=f))(params, grad))
    assert_states_close(out[0], out[1], "float64")


def test_value_fn_keywords_are_passed_through():
    """Keywords besides value/grad/value_fn go to value_fn (here the data), as in optax."""
    def f(params, data):
        return jnp.sum((params - data) ** 2)

    data, params = jnp.array([1.0, -2.0]), jnp.zeros(2)
    out = []
    for lib in (zoo, optax):
        tx = lib.lbfgs()
        s = tx.init(params)
        v, g = jax.value_and_grad(f)(params, data)
        out.append(tx.update(g, s, params, value=v, grad=g, value_fn=f, data=data))
    assert_states_close(out[0], out[1], "float64")
    assert float(f(params + out[0][0], data)) < float(f(params, data))
    with pytest.raises(TypeError, match="value_fn"):
        zoo.lbfgs().update(g, s, params, value=v, grad=g, value_fn=f, data=data, other=1)


# --------------------------------------------------------------- value_and_grad_from_state


def test_value_and_grad_from_state_usage_under_jit():
    """optax's documented loop: reuse the line search's value and gradient, step under jit."""
    f = PROBLEMS["logistic"]
    params = make_params("float64")
    tx = zoo.lbfgs()
    vg = zoo.value_and_grad_from_state(f)

    @jax.jit
    def step(params, state):
        value, grad = vg(params, state=state)
        updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=f)
        return zoo.apply_updates(params, updates), state, value, grad

    state = tx.init(params)
    for _ in range(60):
        prev = params
        params, state, value, grad = step(params, state)
        want_v, want_g = jax.value_and_grad(f)(prev)  # what the state held was exact
        np.testing.assert_allclose(value, want_v, rtol=1e-12)
        np.testing.assert_allclose(_flat(grad), _flat(want_g), rtol=1e-9, atol=1e-12)
    grad_norm = float(jnp.linalg.norm(_flat(jax.grad(f)(params))))
    assert grad_norm < 1e-8, grad_norm


def test_value_and_grad_from_state_needs_a_stored_gradient():
    tx = zoo.lbfgs(linesearch=zoo.scale_by_backtracking_linesearch(10))
    params = jnp.ones(2)
    with pytest.raises(ValueError, match="value_and_grad_from_state"):
        zoo.value_and_grad_from_state(lambda x: jnp.sum(x**2))(params, state=tx.init(params))


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("make,kw,arg", [
    (zoo.lbfgs, dict(memory_size=0), "memory_size"),
    (zoo.lbfgs, dict(learning_rate=-1.0), "learning_rate"),
    (zoo.lbfgs, dict(linesearch="zoom"), "linesearch"),
    (zoo.scale_by_lbfgs, dict(memory_size=2.5), "memory_size"),
    (zoo.scale_by_zoom_linesearch, dict(max_linesearch_steps=0), "max_linesearch_steps"),
    (zoo.scale_by_zoom_linesearch, dict(max_linesearch_steps=5, curv_rtol=1.5), "curv_rtol"),
    (zoo.scale_by_zoom_linesearch, dict(max_linesearch_steps=5, increase_factor=0.0), "increase_factor"),
    (zoo.scale_by_zoom_linesearch, dict(max_linesearch_steps=5, max_learning_rate=0.0), "max_learning_rate"),
    (zoo.scale_by_zoom_linesearch, dict(max_linesearch_steps=5, initial_guess_strategy="two"), "initial_guess_strategy"),
    (zoo.scale_by_backtracking_linesearch, dict(max_backtracking_steps=-1), "max_backtracking_steps"),
    (zoo.scale_by_backtracking_linesearch, dict(max_backtracking_steps=5, decrease_factor=0.0), "decrease_factor"),
    (zoo.scale_by_backtracking_linesearch, dict(max_backtracking_steps=5, slope_rtol=-0.1), "slope_rtol"),
    (zoo.scale_by_backtracking_linesearch, dict(max_backtracking_steps=5, atol=-1.0), "atol"),
])
def test_bad_hyperparameters_raise(make, kw, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.{make.__name__}: argument `{arg}`"):
        make(**kw)


@pytest.mark.parametrize("missing", ["value", "grad", "value_fn"])
def test_update_without_an_extra_names_it(missing):
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    params = jnp.ones(2)
    tx = zoo.lbfgs()
    kw = dict(value=f(params), grad=2 * params, value_fn=f)
    del kw[missing]
    with pytest.raises(TypeError, match=f"{missing}="):
        tx.update(2 * params, tx.init(params), params, **kw)


def test_state_does_not_hold_the_params_buffers():
    params = {"w": jnp.ones(3)}
    tx = zoo.lbfgs()
    f = lambda p: jnp.sum(p["w"] ** 2)  # noqa: E731
    v, g = jax.value_and_grad(f)(params)
    _, state = tx.update(g, tx.init(params), params, value=v, grad=g, value_fn=f)
    assert state[0].params["w"] is not params["w"] and state[0].updates["w"] is not g["w"]
