"""An optax user's code runs on the zoo's same-named members (issue 13, item 4): optax's
keyword names, defaults and forms (LookaheadParams, warmup_steps=None, lion's modes, ...).
The signatures themselves are compared in test_optax_signatures.py."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from harness import STEPS, assert_trajectories_close, loss, make_params

import jaxopt_zoo as zoo


# --- lookahead in optax's LookaheadParams form ------------------------------------------------

def lookahead_user_code(lib, make_pair, params, reset_state, steps=STEPS):
    """The loop of optax.lookahead's docstring, with `lib` standing for optax or the zoo."""
    tx = lib.lookahead(lib.adam(2e-2), sync_period=3, slow_step_size=0.7, reset_state=reset_state)
    start = make_pair.init_synced(params)

    def step(carry, _):
        lp, state = carry
        updates, state = tx.update(jax.grad(loss)(lp.fast), state, lp)
        lp = optax.apply_updates(lp, updates)
        return (lp, state), (lp.fast, lp.slow)

    (last, _), path = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))((start, tx.init(start)))
    assert type(last) is make_pair
    return path


@pytest.mark.parametrize("pair,reset_state", [("optax.LookaheadParams", False), ("zoo.LookaheadParams", True)])
def test_lookahead_runs_optax_users_code(pair, reset_state, dtype):
    params = make_params(dtype)
    make_pair = optax.LookaheadParams if pair.startswith("optax") else zoo.LookaheadParams
    want = lookahead_user_code(optax, optax.LookaheadParams, params, reset_state)
    got = lookahead_user_code(zoo, make_pair, params, reset_state)
    assert_trajectories_close(got, want, dtype)  # the fast and the slow paths


def test_lookahead_params_init_synced_copies():
    p = {"w": jnp.ones(3)}
    lp = zoo.LookaheadParams.init_synced(p)
    assert lp.fast is p and lp.slow["w"] is not p["w"]
    np.testing.assert_array_equal(lp.slow["w"], p["w"])
    state = zoo.lookahead(zoo.sgd(0.1)).init(lp)
    assert state.fast_state == state.inner_state and state.slow is None
