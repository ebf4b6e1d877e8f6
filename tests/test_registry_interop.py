"""Every registry member composes: inside ``optax.chain`` with optax transformations around
it, optax transformations inside ``zoo.chain`` around it, and under ``flax.nnx.Optimizer``
(loss ``value=`` passed through for members that need it). New registry entries join.

Two runs, each a few compiles for the whole registry (8 members a program):

* plain pytrees: ``zoo.chain(optax.clip_by_global_norm, member, optax.scale(1.0))``;
* ``nnx.Optimizer(model, optax.chain(zoo.clip_by_global_norm, member, zoo.scale(1.0)))``,

and they must give the same params (the member sits between two transformations of the
other library both ways round, so its state, params and extras travel through both chains).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tests import _batched

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

# schedule_free_radam (schedulefree.RAdamScheduleFree's default silent_sgd_phase) does not move
# while RAdam's rho_t <= 4, the first 4 steps: 6 steps let every member train.
STEPS = 6
# Parameter-free members start from a tiny estimate of the step that grows by a factor a step,
# as in their references: DoG's r_eps = 1e-6 (1 + |x0|), Prodigy's and D-Adapt's estim_lr0 = 1e-6,
# mechanize's first scale ~1e-6 (m_0 s_init / (n eps)). After STEPS they have moved 2e-7..3e-5 here: they must have moved.
MIN_MOVE = {"dog": 1e-8, "prodigy": 1e-8, "dadapt_adamw": 1e-8, "mechanize(adam)": 1e-8}
X = jnp.asarray(np.random.default_rng(0).normal(size=(8, 4)), jnp.float64)
Y = jnp.asarray(np.random.default_rng(1).normal(size=(8, 2)), jnp.float64)


class Model(nnx.Module):
    """Matrices and vectors (muon takes Adam for the biases: tests/test_cli.py checks which)."""

    def __init__(self):
        rngs = nnx.Rngs(0)
        self.hidden = nnx.Linear(4, 3, param_dtype=jnp.float64, rngs=rngs)
        self.out = nnx.Linear(3, 2, param_dtype=jnp.float64, rngs=rngs)

    def __call__(self, x):
        return self.out(jnp.tanh(self.hidden(x)))


def model_loss(model):
    return jnp.mean((model(X) - Y) ** 2)


# Members whose update needs more than value= (lbfgs: grad= and value_fn=; sophia: obj_fn=; each a function of the
# params, which nnx.Optimizer.update cannot build from the Variables it is given); their own
# parity tests run them in chains (tests/reference/test_lbfgs.py).
NEEDS_VALUE_FN = {n for n in _registry.UPDATE_EXTRAS if _registry.needs(n, "value_fn")}


def members():
    """name -> a factory of a fresh transformation (every optimizer, every wrapper around adam)."""
    out = {n: (lambda n=n: _registry.build(n)) for n in _registry.OPTIMIZERS
           if n not in NEEDS_VALUE_FN}
    out.update({f"{n}(adam)": (lambda n=n, e=e: _registry.factory(n)(zoo.adam(1e-2), **e.example))
                for n, e in _registry.WRAPPERS.items()})
    return out


def plain_runs(makers, params0, loss):
    """STEPS of each member inside ``zoo.chain(optax..., member, optax...)`` on plain pytrees, in
    one program: name -> (params, state)."""
    plain = {n: zoo.chain(optax.clip_by_global_norm(1.0), make(), optax.scale(1.0)) for n, make in makers.items()}

    def body(carry, _):
        out = {}
        for n, (p, s) in carry.items():
            value, g = jax.value_and_grad(loss)(p)
            u, s = plain[n].update(g, s, p, value=value)
            out[n] = (zoo.apply_updates(p, u), s)
        return out, None

    run = jax.jit(lambda carry: jax.lax.scan(body, carry, None, length=STEPS)[0], compiler_options=_batched.LLVM_O0)
    return run({n: (params0, tx.init(params0)) for n, tx in plain.items()})


def nnx_runs(makers):
    """STEPS of each member under ``nnx.Optimizer``, inside ``optax.chain(zoo..., member, zoo...)``,
    one jitted step of all of them: name -> (model, optimizer)."""
    pairs = {}
    for n, make in makers.items():
        model = Model()
        pairs[n] = (model, nnx.Optimizer(model, optax.chain(zoo.clip_by_global_norm(1.0), make(), zoo.scale(1.0)),
                                         wrt=nnx.Param))

    # One jitted step of all pairs, through split/merge: nnx.jit retraced at every call here
    # (nnx turns a state's lists, sm3's accumulators, into mappings at the first update, so
    # the first step compiles once more; the later steps reuse it).
    graphdef, state = nnx.split(pairs)

    def nnx_step(state):
        pairs = nnx.merge(graphdef, state)
        for model, optimizer in pairs.values():
            value, grads = nnx.value_and_grad(model_loss)(model)
            optimizer.update(model, grads, value=value)
        return nnx.state(pairs)

    nnx_step = jax.jit(nnx_step, compiler_options=_batched.LLVM_O0)
    for _ in range(STEPS):
        state = nnx_step(state)
    nnx.update(pairs, state)
    return pairs


def test_every_member_in_optax_chain_zoo_chain_and_nnx_optimizer():
    """Both runs take the members 8 at a time (tests/_batched.CHUNK: XLA compiles a program of the
    whole registry slower than its eighths), compiled at LLVM -O0 (6 steps compared to 1e-9)."""
    makers = members()
    graphdef, params0 = nnx.split(Model(), nnx.Param)

    def loss(p):
        return model_loss(nnx.merge(graphdef, p))

    want, pairs = {}, {}
    for names in _batched.chunks(makers):
        chunk = {n: makers[n] for n in names}
        want.update(plain_runs(chunk, params0, loss))
        pairs.update(nnx_runs(chunk))

    def moved(n):
        return max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(want[n][0]), jax.tree.leaves(params0)))

    still = {n: moved(n) for n in pairs if not moved(n) > MIN_MOVE.get(n, 1e-4)}
    assert not still, still  # every member trains (a NaN move is no move)

    for n, (model, _) in pairs.items():
        got = nnx.state(model, nnx.Param)
        p = want[n][0]
        assert jax.tree.structure(got) == jax.tree.structure(p), n
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(p)):
            assert a.dtype == b.dtype, n
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12, err_msg=n, equal_nan=False)


def test_sm3_under_nnx_optimizer_after_the_first_step():
    """nnx stores sm3's per-leaf list of accumulators as a mapping {0: ..., 1: ...}: the
    second update read its keys (ints) as the accumulators (AttributeError)."""
    model = Model()
    optimizer = nnx.Optimizer(model, zoo.sm3(0.1), wrt=nnx.Param)
    graphdef, params = nnx.split(Model(), nnx.Param)
    tx = zoo.sm3(0.1)
    state = tx.init(params)
    for _ in range(3):
        _, grads = nnx.value_and_grad(model_loss)(model)
        optimizer.update(model, grads)
        g = jax.grad(lambda p: model_loss(nnx.merge(graphdef, p)))(params)
        u, state = tx.update(g, state, params)
        params = zoo.apply_updates(params, u)
    for a, b in zip(jax.tree.leaves(nnx.state(model, nnx.Param)), jax.tree.leaves(params)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)
