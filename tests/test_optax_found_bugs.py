"""Bugs that optax's own tests found in the zoo (issue 13, item 5), each pinned by a test.

* a traced hyperparameter of value 0 means what the concrete 0 means (adan's
  ``max_grad_norm=0``: no clipping) — checked for every catalogued optimizer under
  ``inject_hyperparams`` + ``jit``;
* adafactor moves complex parameters as optax.adafactor does;
* ``optax.tree_utils.tree_map_params`` walks ``zoo.masked`` states as it walks optax's;
* a mask that is itself callable (an equinox Module, any pytree with ``__call__``) is used
  as a mask when it is a pytree, as optax decides.

(Adafactor's factored state keeps its sharding from ``init`` on: tests/sharding_checks.py.)
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry
from tests import _batched
from tests.reference.harness import int_args

# ------------------------------------------------------------------ traced zeros (item 5a)


def _params():
    return {"w": jnp.linspace(-1.0, 1.0, 6).reshape(3, 2), "b": jnp.array([0.3, -0.2])}


def _loss(p):
    return jnp.sum(jnp.cos(p["w"]) + 0.5 * p["w"] ** 2) + jnp.sum(p["b"] ** 4)


def _run_all(txs, steps=3):
    """``steps`` jitted updates of every member, 8 members a compiled program (tests/_batched.CHUNK:
    a program of the whole registry compiles slower than its eighths), LLVM -O0 (compared to 1e-7)."""
    out = {}
    for names in _batched.chunks(txs):
        out.update(_run_some({name: txs[name] for name in names}, steps))
    return out


def _run_some(txs, steps):
    def step(carry):
        out = {}
        for name, (p, s) in carry.items():
            value, g = jax.value_and_grad(_loss)(p)
            u, s = txs[name].update(g, s, p, value=value, grad=g, value_fn=_loss)  # extras: polyak_sgd, lbfgs
            out[name] = (zoo.apply_updates(p, u), s)
        return out

    carry = {name: (_params(), tx.init(_params())) for name, tx in txs.items()}
    step = jax.jit(step, compiler_options=_batched.LLVM_O0)
    for _ in range(steps):
        carry = step(carry)
    return {name: c[0] for name, c in carry.items()}


def test_every_optimizer_under_inject_hyperparams_and_jit_gives_its_own_numbers():
    """Every float hyperparameter (defaults included) is a traced array here: a Python branch
    on it that treats "traced" as "non-zero" (adan's max_grad_norm=0 clipped every update to
    zero) shows up as different numbers."""
    plain, injected = {}, {}
    for name, entry in _registry.OPTIMIZERS.items():
        factory = _registry.factory(name)
        # for_a_step: dpsgd takes the gradient as a batch of one example, sophia the loss as obj_fn
        plain[name] = _registry.build(name)
        injected[name] = _registry.for_a_step(
            name, zoo.inject_hyperparams(factory, static_args=int_args(factory, entry.example))(**entry.example))
    want, got = _run_all(plain), _run_all(injected)
    for name in want:
        for k in want[name]:
            # rtol: madgrad computes a float32 scalar from Python floats but a float64 one
            # from injected float64 arrays (as optax does); 1e-7 is far below any branch error.
            np.testing.assert_allclose(got[name][k], want[name][k], rtol=1e-7, atol=1e-9, err_msg=name)


def test_integer_hyperparameters_injected_give_own_numbers_or_a_clear_error():
    """Without ``static_args``, an integer that shapes the computation (a period, a number of
    iterations, a factoring threshold) arrives traced: the member either gives its own
    numbers or refuses it by name, never other numbers."""
    plain, injected = {}, {}
    for name, entry in _registry.OPTIMIZERS.items():
        factory = _registry.factory(name)
        ints = int_args(factory, entry.example)
        if not ints:
            continue
        tx = _registry.for_a_step(name, zoo.inject_hyperparams(factory)(**entry.example))
        try:
            tx.update(_params(), tx.init(_params()), _params(), value=jnp.asarray(1.0), value_fn=_loss)
        except ValueError as e:
            assert str(e).startswith(f"jaxopt_zoo.{name}: argument `") and any(f"`{k}`" in str(e) for k in ints), (name, e)
            continue
        plain[name], injected[name] = _registry.build(name), tx
    assert plain  # some members take traced integers (noisy_sgd's key)
    want, got = _run_all(plain), _run_all(injected)
    for name in want:
        for k in want[name]:
            np.testing.assert_allclose(got[name][k], want[name][k], rtol=1e-7, atol=1e-9, err_msg=name)


def test_callable_defaults_are_not_schedules():
    """adopt's default ``clip_value_fn`` is a function of the step, not a hyperparameter:
    inject_hyperparams(adopt) used to call it as a schedule and pass its value (a number) on
    as ``clip_value_fn`` (optax does, and fails); a callable the caller passes is still one."""
    txs = {"plain": zoo.adopt(1e-2), "injected": zoo.inject_hyperparams(zoo.adopt)(learning_rate=1e-2)}
    out = _run_all(txs, steps=4)
    for k in out["plain"]:
        np.testing.assert_array_equal(out["injected"][k], out["plain"][k])
    sched = zoo.inject_hyperparams(zoo.adopt)(learning_rate=lambda t: 1e-2 / (1 + t))
    state = sched.init(_params())
    _, state = sched.update(_params(), state, _params())
    assert float(zoo.current_hyperparams(state)["learning_rate"]) == pytest.approx(1e-2)
    assert "clip_value_fn" not in zoo.current_hyperparams(state)


@pytest.mark.parametrize("max_grad_norm", [0.0, 0.05])
def test_adan_traced_max_grad_norm_equals_concrete(max_grad_norm):
    txs = {
        "concrete": zoo.adan(1e-2, max_grad_norm=max_grad_norm),
        "injected": zoo.inject_hyperparams(zoo.adan)(learning_rate=1e-2, max_grad_norm=max_grad_norm),
    }
    out = _run_all(txs)
    moved = max(float(jnp.max(jnp.abs(out["injected"][k] - _params()[k]))) for k in out["injected"])
    assert moved > 1e-3  # the bug: all-zero updates
    for k in out["concrete"]:
        np.testing.assert_allclose(out["injected"][k], out["concrete"][k], rtol=1e-12)


# ------------------------------------------------------------ adafactor, complex (item 5b)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("kwargs", [{}, {"min_dim_size_to_factor": 2, "momentum": 0.9, "weight_decay_rate": 1e-3}],
                         ids=["default", "factored"])
def test_adafactor_on_complex_params_equals_optax(dtype, kwargs):
    """Parameter-scale RMS of a complex leaf is sqrt(mean |p|^2) (it was sqrt(mean p^2), a
    complex number near zero when the phases cancel: the params barely moved)."""
    from tests.reference.harness import assert_trajectories_close, trajectory

    rng = np.random.default_rng(0)
    shapes = {"scalar": (), "vector": (5,), "matrix": (4, 3), "cube": (2, 3, 4)}
    params = {k: jnp.asarray(rng.uniform(-2, 2, s) + 1j * rng.uniform(-2, 2, s), dtype) for k, s in shapes.items()}

    def loss(p):
        return sum(jnp.sum(jnp.abs(x - (0.3 - 0.2j)) ** 2 + 0.1 * jnp.abs(x) ** 4) for x in p.values())

    got = trajectory(zoo.adafactor(1e-2, **kwargs), params, steps=100, loss_fn=loss)
    # optax's momentum accumulator is float32 by default, which drops the imaginary part of a
    # complex momentum (with a warning); the zoo keeps it complex64, as optax does when asked.
    ref_kwargs = {**kwargs, "dtype_momentum": jnp.complex64} if "momentum" in kwargs else kwargs
    want = trajectory(optax.adafactor(1e-2, **ref_kwargs), params, steps=100, loss_fn=loss, apply=optax.apply_updates)
    moved = max(float(jnp.max(jnp.abs(want[k][-1] - params[k]))) for k in params)
    assert moved > 0.1
    real = {"complex128": "float64", "complex64": "float32"}[dtype]
    for part in (jnp.real, jnp.imag):
        assert_trajectories_close(jax.tree.map(part, got), jax.tree.map(part, want), real)


# ---------------------------------------------------- masked: tree_map_params (item 5d)


def _mask_case():
    params = {"a": {"b": (jnp.zeros((1, 2)), jnp.zeros((2, 2)))}, "c": {"d": jnp.zeros((1, 2)), "e": (jnp.zeros((1, 2)), jnp.zeros((1, 2)))}}
    mask = {"a": {"b": (True, False)}, "c": {"d": True, "e": (False, True)}}
    return params, mask


def _assert_trees_equal(got, want):
    assert jax.tree.structure(got) == jax.tree.structure(want), (jax.tree.structure(got), jax.tree.structure(want))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(a, b)


def _storing():
    """optax's test transformation: a state that holds copies of the params."""
    return zoo.GradientTransformation(lambda p: {"count": jnp.ones([]), "params": p, "params_copy": p},
                                      lambda u, s, p=None, **kw: (u, s))


@pytest.mark.parametrize("inner", ["storing", "adam", "lookahead(sgd)"])
def test_tree_map_params_walks_masked_states_as_optax(inner):
    """optax's own test (transforms/_masking_test.py) with the zoo's masked, and the same
    walk over optax.masked of the same inner transformation gives the same leaves."""
    params, mask = _mask_case()
    make = {"storing": _storing, "adam": lambda: zoo.adam(1e-2),
            "lookahead(sgd)": lambda: zoo.lookahead(zoo.sgd(1e-2, momentum=0.9))}[inner]
    ref_make = {"storing": _storing, "adam": lambda: optax.adam(1e-2),
                "lookahead(sgd)": lambda: zoo.lookahead(zoo.sgd(1e-2, momentum=0.9))}[inner]
    tx, ref = zoo.masked(make(), mask), optax.masked(ref_make(), mask)
    bump = lambda v: v + 1 if v.shape[0] == 1 else v  # noqa: E731
    got = optax.tree_utils.tree_map_params(tx, bump, tx.init(params))
    want = optax.tree_utils.tree_map_params(ref, bump, ref.init(params))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_array_equal(a, b)
    if inner == "storing":
        _assert_trees_equal(got, tx.init(jax.tree.map(bump, params)))
    # With a tree shaped like the params (sharding axes), skipping the masked-out nodes.
    axes = jax.tree.map(lambda _: 7, params)
    specs = optax.tree_utils.tree_map_params(
        tx, lambda p, axis: None if isinstance(p, zoo.MaskedNode) else axis, tx.init(params), axes,
        is_leaf=lambda v: isinstance(v, zoo.MaskedNode), transform_non_params=lambda _: None)
    ref_specs = optax.tree_utils.tree_map_params(
        ref, lambda p, axis: None if isinstance(p, optax.MaskedNode) else axis, ref.init(params), axes,
        is_leaf=lambda v: isinstance(v, optax.MaskedNode), transform_non_params=lambda _: None)
    assert jax.tree.leaves(specs) == jax.tree.leaves(ref_specs) and jax.tree.leaves(specs)


# ------------------------------------------------- masks that are callable pytrees (item 5e)


@jax.tree_util.register_pytree_node_class
class CallableMask:
    """A pytree of booleans that also defines ``__call__`` (as an equinox Module does)."""

    def __init__(self, flags):
        self.flags = flags

    def __call__(self, *args):
        raise AssertionError("a mask tree must not be called")

    def tree_flatten(self):
        return (self.flags,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


def test_a_callable_pytree_mask_is_used_as_a_mask_as_optax_does():
    params = CallableMask({"w": jnp.ones(3), "b": jnp.ones(2)})
    mask = CallableMask({"w": True, "b": False})
    grads = CallableMask({"w": jnp.full(3, 2.0), "b": jnp.full(2, 2.0)})
    for masked, sgd in ((zoo.masked, zoo.sgd), (optax.masked, optax.sgd)):
        tx = masked(sgd(0.5), mask)
        updates, _ = tx.update(grads, tx.init(params), params)
        np.testing.assert_array_equal(updates.flags["w"], -1.0)  # transformed
        np.testing.assert_array_equal(updates.flags["b"], 2.0)  # passed through
    # A mask function is still called.
    tx = zoo.masked(zoo.sgd(0.5), lambda p: jax.tree.map(lambda x: x.ndim > 0 and x.shape[0] == 3, p))
    updates, _ = tx.update(grads, tx.init(params), params)
    np.testing.assert_array_equal(updates.flags["b"], 2.0)
