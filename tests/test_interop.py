"""Interop: zoo inside optax.chain, optax inside zoo.chain, Flax TrainState and nnx.Optimizer."""


import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax import linen as nn
from flax.training import train_state
from sklearn.datasets import load_digits

from tests.reference.harness import assert_same_as_optax

import jaxopt_zoo as zoo

STEPS = 30


def test_zoo_inside_optax_chain(dtype):
    assert_same_as_optax(
        optax.chain(optax.clip_by_global_norm(1.0), zoo.adamw(1e-2, weight_decay=0.1)),
        optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-2, weight_decay=0.1)),
        dtype,
    )


def test_optax_inside_zoo_chain(dtype):
    assert_same_as_optax(
        zoo.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam(), zoo.add_decayed_weights(0.1), zoo.scale(-1e-2)),
        optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam(), optax.add_decayed_weights(0.1), optax.scale(-1e-2)),
        dtype,
    )


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return jnp.asarray(x[:512] / 16.0, jnp.float32), jnp.asarray(y[:512])


def assert_losses_equal(got, want):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5)
    assert want[-1] < want[0]  # the run really trains


class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(32)(x)))


def linen_losses(tx, digits):
    x, y = digits
    model = LinenMLP()
    state = train_state.TrainState.create(
        apply_fn=model.apply, params=model.init(jax.random.key(0), x[:1]), tx=tx
    )

    @jax.jit
    def step(state):
        def loss_fn(p):
            logits = state.apply_fn(p, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    losses = []
    for _ in range(STEPS):
        state, loss = step(state)
        losses.append(loss)
    return jnp.stack(losses)


def test_flax_linen_train_state(digits):
    assert_losses_equal(
        linen_losses(zoo.adamw(3e-3, weight_decay=1e-2), digits),
        linen_losses(optax.adamw(3e-3, weight_decay=1e-2), digits),
    )


class NnxMLP(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(64, 32, rngs=rngs)
        self.out = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


def nnx_losses(tx, digits):
    x, y = digits
    model = NnxMLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer):
        def loss_fn(m):
            return optax.softmax_cross_entropy_with_integer_labels(m(x), y).mean()

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    return jnp.stack([step(model, optimizer) for _ in range(STEPS)])


def test_flax_nnx_optimizer(digits):
    assert_losses_equal(
        nnx_losses(zoo.adamw(3e-3, weight_decay=1e-2), digits),
        nnx_losses(optax.adamw(3e-3, weight_decay=1e-2), digits),
    )
