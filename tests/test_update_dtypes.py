"""Updates keep the params' dtype, and states keep theirs, under x64 (issue 13, item 8).

With x64 on, a float64 scalar (a stored hyperparameter, a bias correction) must not promote
float32 updates or states: optax keeps float32, and a state whose dtype changes after a step
breaks ``lax.scan`` and donation. Checked with ``jax.eval_shape`` (tracing, no compiling), so
every member of the catalogue and every torch_compat optimizer is covered, new ones included.
"""

import jax
import jax.numpy as jnp
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry


def _params():
    return {"w": jnp.ones((3, 2), jnp.float32), "b": jnp.zeros((2,), jnp.float32), "s": jnp.asarray(0.5, jnp.float32)}


def _dtypes(tree):
    return jax.tree.map(lambda x: jnp.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype, tree)


def _loss(p):
    """A float32 loss of the params, for members whose update takes ``value_fn=`` (lbfgs)."""
    return sum(jnp.sum(jnp.cos(x) + 0.1 * x) for x in jax.tree.leaves(p))


def _check(tx, name, extra=()):
    """``extra``: the update's extra arguments (``_registry.UPDATE_EXTRAS``), given a float32 loss."""
    assert jax.config.jax_enable_x64, "this check is about x64 mode"
    params = _params()

    def two_steps(p):
        s0 = tx.init(p)
        g = jax.tree.map(lambda x: jnp.cos(x) + 0.1, p)
        have = dict(value=jnp.float32(1.5), grad=g, value_fn=_loss)
        u1, s1 = tx.update(g, s0, p, **_registry.update_extras(name, **have))
        p1 = jax.tree.map(lambda a, b: a + b, p, u1)
        g1 = jax.tree.map(lambda x: jnp.sin(x) - 0.2, p1)
        have = dict(value=_loss(p1), grad=g1, value_fn=_loss)
        u2, s2 = tx.update(g1, s1, p1, **_registry.update_extras(name, **have))
        return s0, u1, s1, u2, s2

    s0, u1, s1, u2, s2 = jax.eval_shape(two_steps, params)
    for u in (u1, u2):
        bad = {k: v.dtype for k, v in u.items() if v.dtype != jnp.float32}
        assert not bad, f"{name}: float32 params gave updates of dtype {bad}"
    init_dtypes = _dtypes(s0)
    assert _dtypes(s1) == init_dtypes, f"{name}: the state's dtypes changed in a step:\n{init_dtypes}\n{_dtypes(s1)}"
    assert _dtypes(s2) == init_dtypes, f"{name}: the state's dtypes changed in the second step"
    assert jax.tree.structure(s1) == jax.tree.structure(s0)


@pytest.mark.parametrize("name", sorted(_registry.OPTIMIZERS))
def test_zoo_float32_updates_and_states_keep_their_dtype_under_x64(name):
    _check(_registry.build(name), name, _registry.UPDATE_EXTRAS.get(name, ()))


@pytest.mark.parametrize("name", sorted(_registry.TORCH_OPTIMIZERS))
def test_torch_compat_float32_updates_and_states_keep_their_dtype_under_x64(name):
    entry = _registry.TORCH_OPTIMIZERS[name]
    tx = _registry.torch_factory(entry)()
    if name in MATRICES_ONLY:
        tx = zoo.masked(tx, {"w": True, "b": False, "s": False})
    _check(tx, entry.name, _registry.UPDATE_EXTRAS.get(entry.name, ()))


MATRICES_ONLY = {"Muon"}  # torch.optim.Muon takes 2-D params only: it gets the matrix "w" alone


def test_torch_compat_with_a_schedule_and_clipping_keeps_float32():
    import jaxopt_zoo as zoo
    from jaxopt_zoo import torch_compat as tc

    lr = tc.lr_scheduler.OneCycleLR(0.01, total_steps=100)
    tx = zoo.chain(tc.clip_grad_norm(1.0), tc.SGD(lr=lr, momentum=lr.momentum, nesterov=True))
    _check(tx, "clip_grad_norm + SGD(OneCycleLR)")
    _check(zoo.chain(tc.clip_grad_value(0.1), tc.Adam(lr=lr, betas=(lr.momentum, 0.999), amsgrad=True)),
           "clip_grad_value + Adam(OneCycleLR)")
