"""NovoGrad against optax.novograd / optax.scale_by_novograd."""

import jax.numpy as jnp
import optax
import pytest
from tests.reference.harness import assert_same_as_optax, case_id, cases, seeded_rng

import jaxopt_zoo as zoo

FIXED = {"novograd": [dict(learning_rate=3e-2)]}  # defaults; the random draw covers the rest


@pytest.mark.parametrize("name,hparams", cases(FIXED), ids=case_id)
def test_matches_optax(name, hparams, dtype, request):
    if hparams is None:
        rng = seeded_rng(request.node.name)[0]
        hparams = dict(learning_rate=rng.uniform(1e-3, 3e-2), b1=rng.uniform(0, 0.95), b2=rng.uniform(0, 0.99),
                       eps=10 ** rng.uniform(-8, -4), eps_root=10 ** rng.uniform(-10, -6), weight_decay=rng.uniform(0, 0.1))
    print(hparams)
    assert_same_as_optax(zoo.novograd(**hparams), optax.novograd(**hparams), dtype)


def test_scale_by_novograd_mu_dtype_matches_optax():
    kw = dict(b1=0.8, b2=0.5, eps=1e-6, weight_decay=0.01, mu_dtype=jnp.float32)
    assert_same_as_optax(zoo.chain(zoo.scale_by_novograd(**kw), zoo.scale(-1e-2)),
                         optax.chain(optax.scale_by_novograd(**kw), optax.scale(-1e-2)), "float64", rtol=1e-6)
