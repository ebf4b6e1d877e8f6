"""Donated train steps: every catalogued member survives ``jit(step, donate_argnums=(0, 1))``.

The README recommends donating params and state. A state that holds the params' own buffers
(slow weights, a cached copy, schedule-free's iterates), or one buffer in two entries, makes
XLA refuse the call ("Attempt to donate the same buffer twice"). Every member of the
registry (``OPTIMIZERS``, ``WRAPPERS`` around SGD, ``TORCH_OPTIMIZERS``), so also one added
later, is checked twice:

* per member, after a plain (eager) ``init`` and after a jitted one, no two leaves of
  ``(params, state)`` share a buffer (the message names the member and the leaf);
* all members, 8 to a program (tests/_batched.CHUNK keeps the compiles few and small), a few
  donated jitted steps after a plain and after a jitted ``init`` give the numbers of the same
  steps without donation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests import _batched

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry

STEPS = 3


def _inner():
    return zoo.sgd(0.1, momentum=0.9)


MEMBERS = {
    **{name: (lambda name=name: _registry.build(name))
       for name in _registry.OPTIMIZERS},
    **{name: (lambda name=name: _registry.factory(name)(_inner(), **_registry.WRAPPERS[name].example))
       for name in _registry.WRAPPERS},
    **{entry.name: (lambda entry=entry: _registry.torch_factory(entry)(lr=1e-2))
       for entry in _registry.TORCH_OPTIMIZERS.values()},
}


# torch.optim.Muon takes matrices only: its leaves here are the matrix "w" (the bias passes through).
MEMBERS["torch_compat.Muon"] = lambda: zoo.masked(_registry.torch_factory(_registry.TORCH_OPTIMIZERS["Muon"])(lr=1e-2),
                                                  {"w": True, "b": False})


# Wrappers that are not catalogued: checked for shared buffers too (cheap: no step is compiled).
UNCATALOGUED = {
    "record_norms(adam)": lambda: zoo.record_norms(zoo.adam(1e-2)),
    "inject_hyperparams(adamw)": lambda: zoo.inject_hyperparams(zoo.adamw)(learning_rate=1e-2),
    "MultiSteps(adam)": lambda: zoo.MultiSteps(zoo.adam(1e-2), 2).gradient_transformation(),
    "apply_if_finite(adam)": lambda: zoo.apply_if_finite(zoo.adam(1e-2), 2),
    "masked(adam)": lambda: zoo.masked(zoo.adam(1e-2), {"w": True, "b": False}),
    "chain(adam, reduce_on_plateau)": lambda: zoo.chain(zoo.adam(1e-2), zoo.reduce_on_plateau()),
    "packed(schedule_free_adamw)": lambda: zoo.packed(zoo.schedule_free_adamw(1e-2)),
    "lookahead(reset_state)": lambda: zoo.lookahead(zoo.adam(1e-2), reset_state=True),
}


def params():
    """Fresh buffers every call (a donated run deletes them)."""
    return {"w": jnp.linspace(-1.0, 1.0, 6, dtype=jnp.float32).reshape(3, 2), "b": jnp.array([0.3, -0.2], jnp.float32)}


def loss(p):
    return jnp.sum(jnp.cos(p["w"]) + 0.5 * p["w"] ** 2) + jnp.sum(p["b"] ** 4)


def step_fn(tx, name=""):
    def step(p, s):
        value, grads = jax.value_and_grad(loss)(p)
        # value= for every member, and the extras _registry.UPDATE_EXTRAS lists for `name` (lbfgs)
        extras = {"value": value, **_registry.update_extras(name, value=value, grad=grads, value_fn=loss)}
        updates, s = tx.update(grads, s, p, **extras)
        return zoo.apply_updates(p, updates), s

    return step


def test_every_registry_optimizer_is_covered():
    torch = {e.name for e in _registry.TORCH_OPTIMIZERS.values()}
    assert set(MEMBERS) == set(_registry.OPTIMIZERS) | set(_registry.WRAPPERS) | torch


@pytest.mark.parametrize("name", sorted(MEMBERS) + sorted(UNCATALOGUED))
def test_no_two_leaves_of_params_and_state_share_a_buffer(name):
    tx = {**MEMBERS, **UNCATALOGUED}[name]()
    for how, init in (("plain init", tx.init), ("jitted init", jax.jit(tx.init))):
        p = params()
        owners: dict = {}
        for path, leaf in jax.tree_util.tree_leaves_with_path({"params": p, "state": init(p)}):
            where = jax.tree_util.keystr(path)
            pointer = leaf.unsafe_buffer_pointer()
            assert pointer not in owners, f"{name} after a {how}: {where} is the buffer of {owners[pointer]}"
            owners[pointer] = where


@pytest.mark.llvm_optimized
def test_donated_steps_equal_plain_ones_for_the_whole_zoo():
    for names in _batched.chunks(MEMBERS):
        check_donated_steps({name: MEMBERS[name]() for name in names})


def check_donated_steps(txs):
    """The members of ``txs`` in one program: donated steps equal plain ones, bit for bit (at XLA's
    level: at LLVM -O0 the donated program rounds adan's float32 steps differently by an ulp)."""

    def step(ps, ss):
        out = {name: step_fn(tx, name)(ps[name], ss[name]) for name, tx in txs.items()}
        return {n: o[0] for n, o in out.items()}, {n: o[1] for n, o in out.items()}

    def init(ps):
        return {name: tx.init(ps[name]) for name, tx in txs.items()}

    def run(step, init):
        ps = {name: params() for name in txs}
        ss = init(ps)
        for _ in range(STEPS):
            ps, ss = step(ps, ss)
        return jax.device_get((ps, ss))

    want = run(jax.jit(step), init)
    donated = jax.jit(step, donate_argnums=(0, 1))
    for how, init_fn in (("plain init", init), ("jitted init", jax.jit(init))):
        got = run(donated, init_fn)
        for name in txs:
            got_leaves, got_tree = jax.tree.flatten((got[0][name], got[1][name]))
            want_leaves, want_tree = jax.tree.flatten((want[0][name], want[1][name]))
            assert got_tree == want_tree, f"{name} after a {how}"
            for a, b in zip(got_leaves, want_leaves):
                np.testing.assert_array_equal(a, b, err_msg=f"{name} after a {how}")
