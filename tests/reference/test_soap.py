"""SOAP against pytorch_optimizer.SOAP, side by side, with its defaults and random others, on
trees with scalar, vector, matrix and 3-D leaves (and a 4-D one for ``data_format``).

The reference computes its QR refreshes in float32 whatever the params' dtype (``.to(torch.
float32)`` in ``get_orthogonal_matrix_qr``); the zoo computes them in the params' dtype. The
reference is therefore run with its module's ``torch.float32`` redirected to float64: the
reference's algorithm in float64 (float64 runs are compared with it to 1e-10, float32 ones to
1e-5, as every parity suite).

Two things make SOAP's trajectory depend on rounding, in the reference as here, and the runs
avoid them by construction:

* gradients: SOAP's first step does not move the params, so with the exact gradient of a
  fixed loss the second gradient equals the first and its rotation into the first step's
  eigenbases is diagonal up to rounding; Adam in that basis then divides rounding noise by
  ``eps`` (the reference's own trajectory moves by 1e-10 when its start moves by 1e-14). The
  runs use stochastic gradients (``assert_same_as_torch_noisy``: the loss's gradient plus a
  fixed normal draw per step, the same on both sides), as in training.
* repeated eigenvalues: the eigenvectors of a repeated eigenvalue are any basis of its
  eigenspace, and the steps depend on the basis. The first step's statistic of an axis is one
  gradient's ``G G^T``, whose zero eigenvalue has multiplicity (axis length) - (product of the
  other axes); every axis here is at most one longer than that product (a preconditioned
  vector has length 2), so every eigenvector is unique up to its sign, which does not change
  the step.
"""

from tests.reference import harness
import pytest
import torch
from tests.reference.beyond_harness import assert_same_as_torch_noisy
from tests.reference.harness import seeded_rng
from pytorch_optimizer import SOAP
from pytorch_optimizer.optimizer import soap as soap_module

import jaxopt_zoo as zoo

DEFAULT_SHAPES = {**harness.SHAPES, "matrix": (4, 3)}
# precondition_1d: a vector of length 2 (its first G G^T has one zero eigenvalue)
VECTOR_SHAPES = {**DEFAULT_SHAPES, "vector": (2,)}
# merge_dims with max_precondition_dim=6: cube (3, 2, 5) -> (6, 5); matrix (4, 3) stays; "wide"
# (2, 7) keeps its 7 unrotated; the channels_last "image" (2, 1, 3, 2) -> NCHW (2, 2, 1, 3) -> (4, 3);
# the vector (7,) is longer than 6 (the reference cannot merge a shorter vector: its reshape to
# [1] fails)
MERGED_SHAPES = {"scalar": (), "vector": (7,), "cube": (3, 2, 5), "matrix": (4, 3), "wide": (2, 7),
                 "image": (2, 1, 3, 2)}


class _Float64Torch:
    """``torch`` with ``float32`` meaning float64: the reference's algorithm in float64."""

    float32 = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


@pytest.fixture(autouse=True)
def float64_reference(monkeypatch):
    monkeypatch.setattr(soap_module, "torch", _Float64Torch())


def torch_kwargs(kw):
    out = {{"learning_rate": "lr"}.get(k, k): v for k, v in kw.items() if k not in ("b1", "b2")}
    out["betas"] = (kw.get("b1", 0.95), kw.get("b2", 0.95))
    return out


def check(kw, dtype, shapes, monkeypatch):
    monkeypatch.setattr(harness, "SHAPES", shapes)
    assert_same_as_torch_noisy(zoo.soap(**kw), lambda ps: SOAP(ps, **torch_kwargs(kw)), dtype)


def test_defaults_match_pytorch_optimizer(dtype, monkeypatch):
    check({}, dtype, DEFAULT_SHAPES, monkeypatch)


VARIANTS = {"plain": ({}, DEFAULT_SHAPES), "precondition_1d": (dict(precondition_1d=True), VECTOR_SHAPES),
            "merge_dims": (dict(merge_dims=True, max_precondition_dim=6, data_format="channels_last"), MERGED_SHAPES)}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_random_hyperparameters_match_pytorch_optimizer(variant, request, monkeypatch):
    rng = seeded_rng(request.node.name)[0]
    extra, shapes = VARIANTS[variant]
    kw = dict(learning_rate=rng.uniform(2e-3, 2e-2), b1=rng.uniform(0.8, 0.97), b2=rng.uniform(0.9, 0.999),
              shampoo_beta=rng.uniform(0.8, 0.99), eps=10 ** rng.uniform(-10, -6), weight_decay=rng.uniform(0, 0.2),
              precondition_frequency=rng.randint(2, 15), correct_bias=rng.random() < 0.5,
              normalize_gradient=rng.random() < 0.5, **extra)
    print(kw)
    check(kw, "float64", shapes, monkeypatch)


def test_channels_last_moves_the_last_axis_before_merging():
    """(2, 1, 3, 2) channels_last is merged as NCHW (2, 2, 1, 3) -> (4, 3); channels_first as
    (2, 3, 2) -> (6, 2)... here (2, 1, 3) -> (6,), then 2: (6, 2)."""
    import jax.numpy as jnp

    x = {"image": jnp.ones((2, 1, 3, 2))}
    last = zoo.scale_by_soap(merge_dims=True, max_precondition_dim=6, data_format="channels_last").init(x)
    first = zoo.scale_by_soap(merge_dims=True, max_precondition_dim=6).init(x)
    assert [q.shape for q in last.q["image"]] == [(4, 4), (3, 3)]
    assert [q.shape for q in first.q["image"]] == [(6, 6), (2, 2)]


def test_merge_small_dims_follows_the_reference():
    from pytorch_optimizer.optimizer.utils.shape import merge_small_dims as reference

    from jaxopt_zoo.optimizers._soap import merge_small_dims

    for shape, top in [((1, 2, 512, 1, 2048, 1, 3, 4), 1024), ((1, 2, 768, 1, 2048), 1024), ((20000, 3), 10000),
                       ((2, 3, 4), 6), ((3, 2, 5), 6), ((5,), 4), ((), 6)]:
        assert list(merge_small_dims(shape, top)) == reference(shape, top), shape
    # where every axis merges into one the reference gives [1] (its reshape then fails); here all entries
    assert merge_small_dims((4, 3), 10000) == (12,)
