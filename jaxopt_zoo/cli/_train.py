"""The shootout's training core: a Flax nnx MLP, one compiled epoch per optimizer.

An epoch is one ``jit``-compiled call: ``lax.scan`` over the minibatches (their order drawn on
the host by numpy from the seed), each step ``grad -> tx.update -> apply_updates``, then the
loss on the whole training set and the test metric. It is compiled once per optimizer and
reused for every seed; the parameters of a seed are the same for every optimizer. With a device mesh of N devices the minibatch is sharded over the mesh's ``data``
axis and the parameters and optimizer state are replicated (``NamedSharding``); XLA inserts
the gradient all-reduce, so N devices compute the same numbers as one, up to the order of
float32 sums.
"""

from __future__ import annotations

import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxopt_zoo as zoo

from ._data import Dataset


class MLP(nnx.Module):
    """A ReLU multilayer perceptron."""

    def __init__(self, sizes: tuple[int, ...], rngs: nnx.Rngs):
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])])

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nnx.relu(layer(x))
        return self.layers[-1](x)


class RunResult(NamedTuple):
    """One optimizer, one seed."""

    steps: list[int]  # the steps at which the curve was evaluated (0 and each epoch's end)
    train_loss: list[float]  # full-train-set loss at those steps
    test_metric: list[float]  # test accuracy (or R2) at those steps
    seconds: float  # time spent in training steps (compilation excluded)
    total_steps: int
    final: tuple = ()  # (params, optimizer state) at the end

    @property
    def steps_per_second(self) -> float:
        return self.total_steps / self.seconds if self.seconds > 0 else float("nan")


def make_mesh(devices: int) -> Mesh:
    """A 1-D mesh with axis ``data`` over the first ``devices`` devices."""
    available = jax.devices()
    if len(available) < devices:
        raise ValueError(
            f"--devices {devices}: only {len(available)} device(s) visible. On CPU the command simulates "
            f"them (XLA_FLAGS=--xla_force_host_platform_device_count), which works only when jax has not "
            f"started yet in this process: run the command in a fresh process.")
    return Mesh(np.array(available[:devices]), ("data",))


class Trainer:
    """Trains the MLP on ``data`` with any transformation; see the module docstring."""

    def __init__(self, data: Dataset, *, hidden: tuple[int, ...], batch_size: int, epochs: int, mesh: Mesh):
        n_devices = mesh.devices.size
        if batch_size % n_devices:
            raise ValueError(f"--batch-size {batch_size} must be a multiple of --devices {n_devices}.")
        if batch_size > len(data.x_train):
            raise ValueError(f"--batch-size {batch_size} is larger than the training set ({len(data.x_train)}).")
        self.data, self.epochs, self.batch_size = data, epochs, batch_size
        self.sizes = (data.x_train.shape[1], *hidden, data.num_outputs)
        self.batches = len(data.x_train) // batch_size
        self.total_steps = self.batches * epochs
        self.replicated = NamedSharding(mesh, P())
        self.batch_sharding = NamedSharding(mesh, P(None, "data"))
        def put(a):
            return jax.device_put(jnp.asarray(a), self.replicated)

        self.arrays = tuple(put(a) for a in (data.x_train, data.y_train, data.x_test, data.y_test))
        self.graphdef, abstract = nnx.split(nnx.eval_shape(lambda: MLP(self.sizes, nnx.Rngs(0))))
        leaves, self._treedef = jax.tree.flatten(abstract)
        self._shapes = [leaf.shape for leaf in leaves]
        self._eval0 = jax.jit(lambda p, x, y, xt, yt: (self._loss(p, x, y), self._metric(p, xt, yt)))

    # -- the model -----------------------------------------------------------------------------
    def init_params(self, seed: int):
        """The MLP's parameters for ``seed`` (an ``nnx.State``), replicated over the mesh.

        Drawn as ``nnx.Linear`` draws them (LeCun truncated-normal kernels, zero biases), with
        numpy: a jitted Flax initialization costs seconds of compilation for microseconds of work.
        """
        rng = np.random.default_rng(seed)
        leaves = []
        for shape in self._shapes:
            if len(shape) == 2:  # kernel (fan_in, fan_out): N(0, 1/fan_in) truncated at 2 std
                z = rng.standard_normal(shape)
                while (bad := np.abs(z) > 2).any():
                    z[bad] = rng.standard_normal(int(bad.sum()))
                leaves.append((z * np.sqrt(1.0 / shape[0]) / 0.87962566103423978).astype(np.float32))
            else:
                leaves.append(np.zeros(shape, np.float32))
        return jax.device_put(jax.tree.unflatten(self._treedef, leaves), self.replicated)

    def _loss(self, params, x, y):
        out = nnx.merge(self.graphdef, params)(x)
        if self.data.task == "regression":
            return jnp.mean((out[:, 0] - y) ** 2)
        logz = jax.nn.logsumexp(out, axis=-1)
        return jnp.mean(logz - jnp.take_along_axis(out, y[:, None], axis=-1)[:, 0])

    def _metric(self, params, x, y):
        out = nnx.merge(self.graphdef, params)(x)
        if self.data.task == "regression":
            return 1.0 - jnp.sum((out[:, 0] - y) ** 2) / jnp.sum((y - jnp.mean(y)) ** 2)
        return jnp.mean(jnp.argmax(out, axis=-1) == y)

    def _order(self, rng: np.random.Generator):
        """One epoch's minibatch indices, shape (batches, batch_size), from a host-side shuffle."""
        order = rng.permutation(len(self.data.x_train))[: self.batches * self.batch_size]
        return jax.device_put(order.reshape(self.batches, self.batch_size).astype(np.int32), self.replicated)

    # -- compiled functions ----------------------------------------------------------------------
    def compile(self, tx) -> tuple[Callable, Callable]:
        """``(init, epoch)`` for ``tx``, each compiled once.

        ``init(params) -> state``; ``epoch(params, state, indices, *arrays) -> (params, state,
        train_loss, test_metric)``: one epoch of training, then the full-train-set loss and
        the test metric at the parameters to evaluate (``schedule_free_eval_params``: the
        average for schedule-free members).
        """
        def epoch(params, state, idx, x, y, x_test, y_test):
            xb = jax.lax.with_sharding_constraint(x[idx], self.batch_sharding)
            yb = jax.lax.with_sharding_constraint(y[idx], self.batch_sharding)

            def step(carry, batch):
                params, state = carry
                loss, grads = jax.value_and_grad(self._loss)(params, *batch)
                # what the step has, offered to every member (_registry.UPDATE_EXTRAS: polyak_sgd
                # takes value=, lbfgs also grad= and value_fn=, the batch's loss); the rest ignore them
                updates, state = tx.update(grads, state, params, value=loss, grad=grads,
                                           value_fn=lambda p, batch=batch: self._loss(p, *batch))
                return (zoo.apply_updates(params, updates), state), loss

            (params, state), _ = jax.lax.scan(step, (params, state), (xb, yb))
            eval_params = zoo.schedule_free_eval_params(state, params)
            return params, state, self._loss(eval_params, x, y), self._metric(eval_params, x_test, y_test)

        params = self.init_params(0)
        init_c = jax.jit(tx.init, out_shardings=self.replicated).lower(params).compile()
        state = init_c(params)
        idx = self._order(np.random.default_rng(0))
        epoch_c = jax.jit(epoch, donate_argnums=(0, 1)).lower(params, state, idx, *self.arrays).compile()
        jax.block_until_ready(epoch_c(params, state, idx, *self.arrays))  # warm up: the first call is slower
        return init_c, epoch_c

    def run(self, compiled, seed: int, on_epoch: Callable[[int, float], Any] | None = None) -> RunResult:
        """Train from seed ``seed``'s initialization; ``on_epoch(epoch, last_train_loss)`` after each epoch."""
        init_c, epoch_c = compiled
        params = self.init_params(seed)
        state = init_c(params)
        rng = np.random.default_rng(seed)
        loss, metric = self._eval0(params, *self.arrays)
        steps, losses, metrics, seconds = [0], [float(loss)], [float(metric)], 0.0
        for e in range(1, self.epochs + 1):
            start = time.perf_counter()
            idx = self._order(rng)
            params, state, loss, metric = epoch_c(params, state, idx, *self.arrays)
            jax.block_until_ready(metric)
            seconds += time.perf_counter() - start
            steps.append(e * self.batches)
            losses.append(float(loss))
            metrics.append(float(metric))
            if on_epoch is not None:
                on_epoch(e, losses[-1])
        return RunResult(steps, losses, metrics, seconds, self.total_steps, (params, state))
