"""torch_compat.LBFGS against torch.optim.LBFGS: 25 outer steps (each up to max_iter inner
iterations) with and without the strong-Wolfe line search, float64 1e-10 (float32 1e-5 on the
well-conditioned problem), torch's counters, signature and errors; the whole update jits."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tests.reference.torch_compat_extra_cases as X
from tests.reference.harness import require_live, seeded_rng, torch_available

import jaxopt_zoo as zoo
from jaxopt_zoo import _registry
from jaxopt_zoo import torch_compat as tc

CASES = [c for c in X.FIXED_CASES if c[0] == "LBFGS"]


@pytest.mark.llvm_optimized
@pytest.mark.parametrize("case", [c for c in CASES if X.float32_is_stable(c)], ids=X.case_id)
def test_fixed_case_equals_torch(case, dtype):
    X.assert_close(X.zoo_run(*case, dtype=dtype), X.reference(case, dtype), dtype)


@pytest.mark.parametrize("case", [c for c in CASES if not X.float32_is_stable(c)], ids=X.case_id)
def test_fixed_case_in_a_curved_valley_equals_torch_in_float64(case):
    """The Rosenbrock valley, line search zooming: float64 only (torch_compat_extra_cases.float32_is_stable)."""
    X.assert_close(X.zoo_run(*case), X.reference(case, "float64"), "float64")


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_random_hyperparameters_equal_torch(line_search_fn, request):
    require_live(torch_available(), "random draws need live torch; the fixed cases cover the fixtures")
    rng, _ = seeded_rng(request.node.name)
    kwargs = dict(lr=rng.uniform(0.3, 1.0), max_iter=rng.randint(2, 5), history_size=rng.randint(2, 6),
                  tolerance_change=10 ** rng.uniform(-12, -9), line_search_fn=line_search_fn)
    print(kwargs)
    case = ("LBFGS", kwargs, "harness", 25, None)
    X.assert_close(X.zoo_run(*case), X.torch_run(*case), "float64")


@X.torch_one_thread()
def _torch_state(kwargs, problem, steps):
    import torch

    t = {k: torch.tensor(v, requires_grad=True) for k, v in X.start_values(problem).items()}
    opt = torch.optim.LBFGS(list(t.values()), **kwargs)

    def closure():
        opt.zero_grad()
        value = X.loss(problem, t, torch)
        value.backward()
        return value

    for _ in range(steps):
        opt.step(closure)
    return opt.state[opt._params[0]]


@pytest.mark.parametrize("kwargs", [dict(), dict(line_search_fn="strong_wolfe", max_iter=4)], ids=["fixed", "wolfe"])
def test_counters_and_the_converged_no_op_equal_torch(kwargs):
    """func_evals and n_iter as torch counts them, through convergence: once the gradient is
    below tolerance_grad an update evaluates once and moves nothing, as torch's step."""
    require_live(torch_available(), "needs live torch")
    steps = 6
    want = _torch_state(kwargs, "harness", steps)
    tx = tc.LBFGS(**kwargs)
    p = {k: jnp.asarray(v) for k, v in X.start_values("harness").items()}
    loss = lambda q: X.loss("harness", q, jnp)  # noqa: E731
    step = jax.jit(lambda p, s: tx.update(jax.grad(loss)(p), s, p, value_fn=loss))
    s = tx.init(p)
    for _ in range(steps):
        u, s = step(p, s)
        p = zoo.apply_updates(p, u)
    core = s.inner_state.core
    assert (int(core.func_evals), int(core.n_iter)) == (want["func_evals"], want["n_iter"])
    assert float(core.prev_loss) == pytest.approx(want["prev_loss"], rel=1e-12)
    assert max(float(jnp.max(jnp.abs(x))) for x in jax.tree.leaves(u)) == 0.0  # converged: a no-op


def test_signature_is_torchs():
    require_live(torch_available(), "needs live torch")
    import torch

    theirs = list(inspect.signature(torch.optim.LBFGS).parameters.values())[1:]
    ours = [p for p in inspect.signature(tc.LBFGS).parameters.values() if p.name != "param_groups"]
    assert [(p.name, p.kind, p.default) for p in ours] == [(p.name, p.kind, p.default) for p in theirs]


BAD = [(dict(lr=-0.1), "lr"), (dict(max_iter=0), "max_iter"), (dict(max_eval=0), "max_eval"),
       (dict(tolerance_grad=-1.0), "tolerance_grad"), (dict(tolerance_change=-1.0), "tolerance_change"),
       (dict(history_size=0), "history_size"), (dict(line_search_fn="armijo"), "line_search_fn"),
       (dict(param_groups=[{"params": lambda path, leaf: True, "lr": 0.1}]), "param_groups")]


@pytest.mark.parametrize("kwargs,arg", BAD, ids=[a for _, a in BAD])
def test_bad_arguments_raise_naming_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=rf"jaxopt_zoo\.torch_compat\.LBFGS: argument `{arg}`"):
        tc.LBFGS(**kwargs)


def test_torch_raises_on_lr_line_search_and_groups():
    """torch's own errors (lr and param groups at construction, an unknown line search at step)."""
    require_live(torch_available(), "needs live torch")
    import torch

    w = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError):
        torch.optim.LBFGS([w], lr=-0.1)
    with pytest.raises(ValueError):
        torch.optim.LBFGS([{"params": [w]}, {"params": [torch.ones(2, requires_grad=True)]}])
    opt = torch.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(RuntimeError):
        opt.step(lambda: (w**2).sum().backward() or (w**2).sum())


def test_update_needs_value_fn_and_the_registry_says_so():
    tx = tc.LBFGS()
    p = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"torch_compat\.LBFGS: update needs `value_fn=`"):
        tx.update(p, tx.init(p), p)
    assert _registry.update_extras("torch_compat.LBFGS", value_fn=1, value=2) == {"value_fn": 1}
    assert _registry.update_extras("LBFGS", value_fn=1) == {"value_fn": 1}


def test_jit_traces_once_and_chains_with_a_schedule():
    """One trace for many updates; under zoo.chain with clipping in front value_fn still reaches it."""
    tx = zoo.chain(zoo.clip_by_global_norm(100.0), tc.LBFGS(lr=zoo.linear_schedule(1.0, 0.5, 4), max_iter=3,
                                                          line_search_fn="strong_wolfe"))
    loss = lambda q: X.loss("harness", q, jnp)  # noqa: E731
    traces = []

    def update(g, s, p):
        traces.append(1)
        return tx.update(g, s, p, value_fn=loss)

    jitted = jax.jit(update)
    p = {k: jnp.asarray(v) for k, v in X.start_values("harness").items()}
    s, values = tx.init(p), [float(loss(p))]
    for _ in range(4):
        u, s = jitted(jax.grad(loss)(p), s, p)
        p = zoo.apply_updates(p, u)
        values.append(float(loss(p)))
    assert len(traces) == 1
    assert values[-1] < values[0] and np.all(np.isfinite(values))
    assert float(zoo.current_hyperparams(s[1])["lr"]) == pytest.approx(0.625)
