"""SAM against optax.contrib.sam (transparent and opaque modes)."""

import jax
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, assert_trajectories_close, loss, make_params, trajectory

import jaxopt_zoo as zoo


@pytest.mark.parametrize("sync_period,reset", [(2, True), (3, False), (4, True)])
def test_transparent_mode_matches_optax(sync_period, reset, dtype):
    rho = 0.05
    assert_same_as_optax(
        zoo.sam(zoo.sgd(0.05, momentum=0.9), sync_period=sync_period, reset_state=reset, rho=rho),
        optax.contrib.sam(optax.sgd(0.05, momentum=0.9), optax.chain(optax.contrib.normalize(), optax.sgd(rho)),
                          sync_period=sync_period, reset_state=reset),
        dtype,
    )


def test_custom_adversary_with_adam(dtype):
    adv = zoo.chain(zoo.normalize(), zoo.adam(0.02))
    assert_same_as_optax(
        zoo.sam(zoo.adamw(1e-2), adv, sync_period=2),
        optax.contrib.sam(optax.adamw(1e-2), optax.chain(optax.contrib.normalize(), optax.adam(0.02)), sync_period=2),
        dtype,
    )


def test_opaque_mode_matches_optax(dtype):
    params = make_params(dtype)
    grad_fn = lambda p, i: jax.grad(loss)(p)  # noqa: E731
    extra = lambda p, v: {"grad_fn": grad_fn}  # noqa: E731
    got = trajectory(zoo.sam(zoo.sgd(0.05), opaque_mode=True, sync_period=3), params, extra_args=extra)
    want = trajectory(optax.contrib.sam(optax.sgd(0.05), optax.chain(optax.contrib.normalize(), optax.sgd(0.05)),
                                        opaque_mode=True, sync_period=3), params, extra_args=extra, apply=optax.apply_updates)
    assert_trajectories_close(got, want, dtype)


def test_opaque_mode_without_grad_fn_is_a_clear_error():
    tx = zoo.sam(zoo.sgd(0.1), opaque_mode=True)
    params = make_params("float64")
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.sam: in opaque mode, update needs `grad_fn=`"):
        tx.update(params, tx.init(params), params)
