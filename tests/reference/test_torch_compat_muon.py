"""torch_compat.Muon against torch.optim.Muon: whole trajectories on a tree of matrices (float64
1e-10, float32 1e-5; torch's bfloat16 Newton-Schulz reproduced bit for bit), torch's signature,
its errors, param groups."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tests.reference.torch_compat_extra_cases as X
from tests.reference.harness import require_live, seeded_rng, torch_available, x64_is_off

import jaxopt_zoo as zoo
from jaxopt_zoo import torch_compat as tc

CASES = [c for c in X.FIXED_CASES if c[0] == "Muon"]


@pytest.mark.parametrize("case", CASES, ids=X.case_id)
def test_fixed_case_equals_torch(case, dtype):
    want = X.reference(case, dtype)
    X.assert_close(X.zoo_run(*case, dtype=dtype), want, dtype)


def test_random_hyperparameters_equal_torch(request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover the fixtures")
    rng, _ = seeded_rng(request.node.name)
    kwargs = dict(lr=rng.uniform(0.005, 0.03), weight_decay=rng.uniform(0.0, 0.1), momentum=rng.uniform(0.8, 0.97),
                  nesterov=rng.choice([False, True]), ns_steps=rng.randint(3, 6),
                  adjust_lr_fn=rng.choice([None, "original", "match_rms_adamw"]))
    print(kwargs)
    case = ("Muon", kwargs, "matrices", 100, None)
    X.assert_close(X.zoo_run(*case), X.torch_run(*case), "float64")


@X.torch_one_thread()
def test_newton_schulz_is_torchs_to_the_last_bit():
    require_live(torch_available(), "needs live torch")
    import torch
    from torch.optim._muon import _zeropower_via_newtonschulz

    from jaxopt_zoo.torch_compat._muon import newton_schulz_bf16

    rng = np.random.default_rng(0)
    for shape in [(3, 4), (5, 2), (4, 4), (6, 8)]:
        g = rng.normal(size=shape)
        want = _zeropower_via_newtonschulz(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7).float().numpy()
        got = np.asarray(newton_schulz_bf16(jnp.asarray(g), (3.4445, -4.775, 2.0315), 5, 1e-7).astype(jnp.float32))
        np.testing.assert_array_equal(got, want)


def test_signature_is_torchs():
    require_live(torch_available(), "needs live torch")
    import torch

    theirs = list(inspect.signature(torch.optim.Muon).parameters.values())[1:]
    ours = [p for p in inspect.signature(tc.Muon).parameters.values() if p.name != "param_groups"]
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


def test_a_leaf_that_is_not_a_matrix_raises_naming_it():
    tx = tc.Muon()
    with pytest.raises(ValueError, match=r"torch_compat\.Muon: argument `params` must hold 2-D leaves.*\['bias'\] of shape \(3,\)"):
        tx.init({"w": jnp.ones((3, 2)), "bias": jnp.ones(3)})
    if torch_available():
        import torch

        with pytest.raises(ValueError, match="2D parameters"):
            torch.optim.Muon([torch.ones(3, 2), torch.ones(3)])


BAD = [(dict(lr=-0.1), "lr"), (dict(weight_decay=-0.1), "weight_decay"), (dict(momentum=-0.5), "momentum"),
       (dict(adjust_lr_fn="bogus"), "adjust_lr_fn"), (dict(ns_steps=100), "ns_steps"),
       (dict(ns_coefficients=(1.0, 2.0)), "ns_coefficients"), (dict(eps=-1.0), "eps")]


@pytest.mark.parametrize("kwargs,arg", BAD, ids=[a for _, a in BAD])
def test_bad_arguments_raise_naming_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.torch_compat\.Muon: argument `{arg}`"):
        tc.Muon(**kwargs)


def test_torch_raises_on_the_same_arguments():
    """The zoo's checks mirror torch's (eps: torch checks none, and a negative one is no norm floor)."""
    require_live(torch_available(), "needs live torch")
    import torch

    w = torch.ones(2, 2, requires_grad=True)
    for kwargs, _ in BAD[:4]:
        with pytest.raises(ValueError):
            torch.optim.Muon([w], **kwargs)
    for kwargs in (dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))):  # raised by torch's step
        opt = torch.optim.Muon([w], **kwargs)
        w.grad = torch.ones(2, 2)
        with pytest.raises(ValueError):
            opt.step()


@X.torch_one_thread()
def test_param_groups_equal_torch():
    """A group with its own lr, weight decay and adjust_lr_fn; the rest with the top-level keywords."""
    require_live(torch_available(), "needs live torch")
    import torch

    steps, start = 60, X.start_values("matrices")
    t = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    opt = torch.optim.Muon([{"params": [t["a"], t["c"]], "lr": 0.03, "weight_decay": 0.0, "adjust_lr_fn": "match_rms_adamw"},
                            {"params": [t["b"]]}], lr=0.01, momentum=0.9)
    want = {k: [] for k in t}
    for _ in range(steps):
        opt.zero_grad()
        X.loss("matrices", t, torch).backward()
        opt.step()
        for k, v in t.items():
            want[k].append(v.detach().numpy().copy())
    tx = tc.Muon(lr=0.01, momentum=0.9, param_groups=[
        {"params": lambda path, leaf: path[-1].key in ("a", "c"), "lr": 0.03, "weight_decay": 0.0,
         "adjust_lr_fn": "match_rms_adamw"}])
    got = X.zoo_run("Muon", {}, "matrices", steps, tx=tx)
    X.assert_close(got, {k: np.stack(v) for k, v in want.items()}, "float64")


def test_momentum_takes_a_schedule_and_reports_it():
    tx = tc.Muon(lr=zoo.linear_schedule(0.02, 0.01, 10), momentum=zoo.linear_schedule(0.9, 0.95, 10))
    p = {"w": jnp.ones((2, 3))}
    u, s = jax.jit(lambda p: tx.update(p, tx.init(p), p))(p)
    hp = zoo.current_hyperparams(s)
    assert float(hp["lr"]) == pytest.approx(0.02) and float(hp["momentum"]) == pytest.approx(0.9)
    assert u["w"].dtype == (jnp.float32 if x64_is_off() else p["w"].dtype)
