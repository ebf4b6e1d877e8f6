"""The per-step scalars torch computes in Python doubles (bias corrections, RAdam's rho and
rectifier), as ``_numerics`` computes them: float64 gives torch's formula, float32 with x64 off
keeps float32's own precision instead of the 1e-5 (bias corrections) to 1e-2 (RAdam's rho)
a plain float32 evaluation loses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_zoo import _numerics

DECAYS = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999]
K = np.arange(1, 5001)


def _torch_rho(b2, k):
    return (2 / (1 - b2) - 1) - 2 * k * b2**k / (1 - b2**k)


@pytest.mark.parametrize("b", DECAYS)
def test_float32_with_x64_off_keeps_its_precision(b):
    with jax.enable_x64(False):
        assert jnp.asarray(1.0).dtype == jnp.float32
        count = jnp.asarray(K, jnp.int32)
        bc = np.asarray(_numerics.one_minus_power(b, count), np.float64)
        rho = np.asarray(_numerics.radam_rho(b, count), np.float64)
        plain = np.asarray(_numerics.radam_rho(b, count, precise=False), np.float64)
    want_bc = 1 - b**K.astype(np.float64)
    assert np.max(np.abs(bc - want_bc) / want_bc) <= 5e-7
    want_rho = _torch_rho(b, K.astype(np.float64))
    assert np.max(np.abs(rho - want_rho) / np.maximum(np.abs(want_rho), 1.0)) <= 3e-6
    small = want_rho < 50  # where the rectifier is sensitive to rho: absolute accuracy
    assert np.max(np.abs(rho - want_rho)[small]) <= 5e-5
    if b >= 0.999:  # the plain float32 formula is what this replaces
        assert np.max(np.abs(plain - want_rho)) > 1e-2


@pytest.mark.parametrize("b", DECAYS)
def test_float64_is_torchs_formula(b):
    count = jnp.asarray(K, jnp.int32)
    # 1 - b**k is torch's formula: its error is that of b**k, an ulp or two of 1.0 (XLA's pow is
    # not bit for bit the C library's on every CPU), so the bound is absolute near 1 - b**k ~ 0.
    np.testing.assert_allclose(np.asarray(_numerics.one_minus_power(b, count)), 1 - b**K.astype(np.float64),
                               rtol=1e-15, atol=4.5e-16)
    # rho_k = rho_inf - 2k b^k / (1 - b^k): two ulps of 1.0 in b^k move it by 2k * 4.5e-16 / (1 - b^k)^2
    kf = K.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = np.nan_to_num(2 * kf * 4.5e-16 / (1 - b**kf) ** 2, nan=0.0, posinf=0.0)
    got, want = np.asarray(_numerics.radam_rho(b, count)), _torch_rho(b, kf)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(np.isfinite(got), finite)
    assert np.all(np.abs(got - want)[finite] <= 1e-14 * np.abs(want)[finite] + 1e-12 + slack[finite])


def test_rectifier_is_the_formula_where_on_and_finite_elsewhere():
    rho_inf = _numerics.radam_rho_inf(0.999)
    rho = jnp.asarray([1.0, 4.5, 5.0, 5.5, 100.0, 1900.0])
    on, r = _numerics.radam_rectifier(rho, rho_inf, 5.0, strict=True)
    on_ge, _ = _numerics.radam_rectifier(rho, rho_inf, 5.0)
    assert on.tolist() == [False, False, False, True, True, True]
    assert on_ge.tolist() == [False, False, True, True, True, True]
    want = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    np.testing.assert_allclose(np.asarray(r)[3:], np.asarray(want)[3:], rtol=1e-15)
    assert np.all(np.isfinite(np.asarray(r)))
