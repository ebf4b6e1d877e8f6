"""torch_compat.Adafactor against torch.optim.Adafactor: whole trajectories (factored 2-D and 3-D
leaves, vectors, a scalar; float64 1e-10, float32 1e-5), torch's signature, its errors, param
groups."""

import inspect

import jax.numpy as jnp
import numpy as np
import pytest
import tests.reference.torch_compat_extra_cases as X
from tests.reference.harness import require_live, seeded_rng, torch_available

from jaxopt_zoo import torch_compat as tc

CASES = [c for c in X.FIXED_CASES if c[0] == "Adafactor"]


@pytest.mark.parametrize("case", CASES, ids=X.case_id)
def test_fixed_case_equals_torch(case, dtype):
    X.assert_close(X.zoo_run(*case, dtype=dtype), X.reference(case, dtype), dtype)


def test_random_hyperparameters_equal_torch(request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover the fixtures")
    rng, _ = seeded_rng(request.node.name)
    kwargs = dict(lr=rng.uniform(0.005, 0.03), beta2_decay=rng.uniform(-0.9, -0.6),
                  eps=(rng.choice([None, 10 ** rng.uniform(-30, -20)]), 10 ** rng.uniform(-3, -2)),
                  d=rng.uniform(1.0, 2.0), weight_decay=rng.uniform(0.0, 0.05), maximize=rng.choice([False, True]))
    print(kwargs)
    case = ("Adafactor", kwargs, "mixed", 100, None)
    X.assert_close(X.zoo_run(*case), X.torch_run(*case), "float64")


def test_signature_is_torchs():
    require_live(torch_available(), "needs live torch")
    import torch

    theirs = list(inspect.signature(torch.optim.Adafactor).parameters.values())[1:]
    ours = [p for p in inspect.signature(tc.Adafactor).parameters.values() if p.name != "param_groups"]
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


BAD = [(dict(lr=-0.1), "lr"), (dict(beta2_decay=0.5), "beta2_decay"), (dict(eps=(-1.0, 1e-3)), r"eps\[0\]"),
       (dict(eps=(None, -1.0)), r"eps\[1\]"), (dict(d=0.5), "d"), (dict(weight_decay=-0.1), "weight_decay"),
       (dict(eps=1e-3), "eps")]


@pytest.mark.parametrize("kwargs,arg", BAD, ids=[a for _, a in BAD])
def test_bad_arguments_raise_naming_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.torch_compat\.Adafactor: argument `{arg}`"):
        tc.Adafactor(**kwargs)
    if torch_available() and arg != "eps":  # torch raises on each (a bare eps it cannot index: TypeError)
        import torch

        with pytest.raises(ValueError):
            torch.optim.Adafactor([torch.ones(2)], **kwargs)


def test_update_needs_params():
    tx = tc.Adafactor()
    p = {"w": jnp.ones((2, 3))}
    with pytest.raises(ValueError, match=r"torch_compat\.Adafactor: update needs `params`"):
        tx.update(p, tx.init(p))


@X.torch_one_thread()
def test_param_groups_equal_torch():
    require_live(torch_available(), "needs live torch")
    import torch

    steps, start = 60, X.start_values("mixed")
    t = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    opt = torch.optim.Adafactor([{"params": [t["matrix"]], "lr": 0.02, "weight_decay": 0.05, "d": 1.3},
                                 {"params": [t["vector"], t["cube"]]}], lr=0.01)
    want = {k: [] for k in t}
    for _ in range(steps):
        opt.zero_grad()
        X.loss("mixed", t, torch).backward()
        opt.step()
        for k, v in t.items():
            want[k].append(v.detach().numpy().copy())
    tx = tc.Adafactor(lr=0.01, param_groups=[{"params": lambda path, leaf: path[-1].key == "matrix", "lr": 0.02,
                                              "weight_decay": 0.05, "d": 1.3}])
    X.assert_close(X.zoo_run("Adafactor", {}, "mixed", steps, tx=tx), {k: np.stack(v) for k, v in want.items()}, "float64")
