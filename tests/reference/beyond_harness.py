"""Shared pieces of the "beyond optax" parity suites (issue 17): the parity tree with a matrix
leaf, and a side-by-side run against a live torch optimizer.

float64 runs are compared with torch float64 to 1e-10. float32 runs (the ``dtype`` fixture's
float32 cases) are compared with the *float64* reference to 1e-5, as in test_adan_padam_adai:
torch's own float32 kernels drift from float64 by themselves, so a float32-to-float32
comparison would measure torch's rounding, not ours.
"""

from tests.reference import harness
import pytest
from tests.reference.harness import assert_trajectories_close, make_params, torch_trajectory, trajectory

SHAPES = {**harness.SHAPES, "matrix": (4, 3)}


@pytest.fixture
def matrix_tree(monkeypatch):
    """The parity tree plus a 4x3 matrix (for optimizers that treat matrices differently)."""
    monkeypatch.setattr(harness, "SHAPES", SHAPES)


def assert_same_as_torch(zoo_tx, make_torch, dtype, steps=harness.STEPS, rtol=None):
    """Run ``zoo_tx`` in ``dtype`` and ``make_torch(list_of_tensors)`` in float64, side by side."""
    got = trajectory(zoo_tx, make_params(dtype), steps)
    want = torch_trajectory(make_torch, harness.start_values("float64"), steps)
    assert_trajectories_close(got, want, dtype, rtol)


def assert_same_as_torch_noisy(zoo_tx, make_torch, dtype, steps=harness.STEPS, rtol=None, scale=0.5, seed=0):
    """``assert_same_as_torch`` with stochastic gradients: the parity loss's gradient plus a fixed
    normal draw per step and leaf (standard deviation ``scale``), the same on both sides.

    For the matrix preconditioners (SOAP, Shampoo): with the exact gradient of a fixed loss, the
    gradient of the second step equals the first's (their first step does not move the params,
    or moves them little), so the first step's eigenbasis diagonalises it up to rounding and
    the statistics are nearly singular; the steps then divide rounding noise by ``eps``, and the
    reference's own trajectory moves by 1e-10 when its start moves by 1e-14. Gradients that
    change from step to step, as in training, keep the statistics well conditioned.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch

    import jaxopt_zoo as zoo

    rng = np.random.default_rng(1234 + seed)
    noise = {k: rng.normal(0.0, scale, size=(steps, *s)) for k, s in harness.SHAPES.items()}

    def step(carry, xi):
        p, s = carry
        g = jax.tree.map(lambda a, b: a + b.astype(a.dtype), jax.grad(harness.loss)(p), xi)
        u, s = zoo_tx.update(g, s, p)
        p = zoo.apply_updates(p, u)
        return (p, s), p

    params = make_params(dtype)
    xs = {k: jnp.asarray(v, dtype) for k, v in noise.items()}
    _, got = jax.jit(lambda c, xs: jax.lax.scan(step, c, xs))((params, zoo_tx.init(params)), xs)

    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in harness.start_values("float64").items()}
    opt = make_torch(list(tensors.values()))
    want = {k: [] for k in tensors}
    for t in range(steps):
        opt.zero_grad()
        harness.torch_loss(tensors).backward()
        for k, x in tensors.items():
            x.grad.add_(torch.as_tensor(noise[k][t]))
        opt.step()
        for k, x in tensors.items():
            want[k].append(x.detach().numpy().copy())
    assert_trajectories_close(got, {k: np.stack(v) for k, v in want.items()}, dtype, rtol)
