"""torch_compat.transformers against transformers.optimization's schedules: the lr at every
step, live transformers where installed, committed fixtures
(tools/fixtures/transformers_schedules.py) where not."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import require_live, seeded_rng
from tests.reference.transformers_schedules import (FIXED_CASES, assert_close, hf_sequence, load_fixtures,
                                    transformers_available)

from jaxopt_zoo.torch_compat import transformers as hf

FIXTURES = load_fixtures()
IDS = [f"{c['name']}-{i}" for i, c in enumerate(FIXTURES)]
PUBLIC = ["get_constant_schedule", "get_constant_schedule_with_warmup", "get_linear_schedule_with_warmup",
          "get_cosine_schedule_with_warmup", "get_cosine_with_hard_restarts_schedule_with_warmup",
          "get_polynomial_decay_schedule_with_warmup", "get_inverse_sqrt_schedule",
          "get_cosine_with_min_lr_schedule_with_warmup", "get_wsd_schedule"]


def zoo_sequence(name, lr, steps, **kwargs):
    s = getattr(hf, name)(lr, **kwargs)
    t = jnp.arange(steps + 1, dtype=jnp.int32)
    return np.asarray(jax.jit(jax.vmap(s))(t), np.float64) * np.ones(steps + 1)


@pytest.mark.parametrize("i", range(len(FIXTURES)), ids=IDS)
def test_fixed_cases_equal_transformers(i):
    c = FIXTURES[i]
    want = hf_sequence(c["name"], c["lr"], c["steps"], **c["kwargs"]) if transformers_available() else c["transformers"]
    assert_close(zoo_sequence(c["name"], c["lr"], c["steps"], **c["kwargs"]), want, what=str(c["kwargs"]))


@pytest.mark.parametrize("c", FIXTURES, ids=IDS)
def test_committed_fixtures_still_equal_live_transformers(c):
    """The fixtures are what machines without transformers compare against: they must not rot."""
    if not transformers_available():  # nothing to compare against: the fixtures are the reference here
        assert c["transformers"]
        return
    assert hf_sequence(c["name"], c["lr"], c["steps"], **c["kwargs"]) == c["transformers"]


def test_fixture_cases_are_the_generator_cases():
    assert [{k: v for k, v in c.items() if k != "transformers"} for c in FIXTURES] == FIXED_CASES


def test_every_function_has_fixed_cases_and_transformers_signature():
    assert {c["name"] for c in FIXED_CASES} == set(PUBLIC)
    assert sorted(n for n in vars(hf) if not n.startswith("_")) == sorted(PUBLIC)
    if transformers_available():  # the same keywords and defaults, the optimizer replaced by lr
        import transformers.optimization as ref

        for name in PUBLIC:
            ours = list(inspect.signature(getattr(hf, name)).parameters.values())
            theirs = list(inspect.signature(getattr(ref, name)).parameters.values())
            assert ours[0].name == "lr" and theirs[0].name == "optimizer", name
            assert [(p.name, p.default) for p in ours[1:]] == [(p.name, p.default) for p in theirs[1:]], name


def _draw(name, rng):
    w, n = rng.randint(0, 30), rng.randint(31, 120)
    kw = dict(num_warmup_steps=w)
    if name == "get_constant_schedule":
        kw = {}
    elif name == "get_inverse_sqrt_schedule":
        kw["timescale"] = rng.choice([None, rng.randint(1, 200)])
    elif name == "get_wsd_schedule":
        kw.update(num_decay_steps=rng.randint(0, 50), warmup_type=rng.choice(["linear", "cosine", "1-sqrt"]),
                  decay_type=rng.choice(["linear", "cosine", "1-sqrt"]), min_lr_ratio=rng.uniform(0, 0.5),
                  num_cycles=rng.uniform(0.2, 1.0))
        if rng.random() < 0.5:
            kw["num_stable_steps"] = rng.randint(0, 50)
        else:
            kw["num_training_steps"] = w + kw["num_decay_steps"] + rng.randint(0, 50)
    elif name != "get_constant_schedule_with_warmup":
        kw["num_training_steps"] = n
    if name == "get_cosine_schedule_with_warmup":
        kw["num_cycles"] = rng.uniform(0.1, 3)
    if name == "get_cosine_with_hard_restarts_schedule_with_warmup":
        kw["num_cycles"] = rng.randint(1, 5)
    if name == "get_polynomial_decay_schedule_with_warmup":
        kw.update(lr_end=rng.uniform(0, 1e-3), power=rng.uniform(0.3, 3))
    if name == "get_cosine_with_min_lr_schedule_with_warmup":
        kw.update(num_cycles=rng.uniform(0.2, 1.5))
        kw["min_lr" if rng.random() < 0.5 else "min_lr_rate"] = rng.uniform(0, 0.01)
    if rng.random() < 0.3:
        kw["last_epoch"] = rng.randint(0, 40)
    return kw


@pytest.mark.parametrize("name", PUBLIC)
def test_random_arguments_equal_live_transformers(name, request):
    require_live(transformers_available(), "random draws need live transformers; the fixed cases cover fixtures")
    rng = seeded_rng(request.node.name)[0]
    for _ in range(4):
        lr, kw = rng.uniform(0.01, 1.0), _draw(name, rng)
        assert_close(zoo_sequence(name, lr, 150, **kw), hf_sequence(name, lr, 150, **kw), what=f"{lr=} {kw}")


def test_python_int_steps_equal_traced_int32_steps():
    s = hf.get_wsd_schedule(0.3, 5, 10, num_stable_steps=5, warmup_type="1-sqrt", decay_type="cosine",
                            min_lr_ratio=0.1)
    eager = [float(s(t)) for t in range(25)]
    jitted = jax.jit(lambda t: s(t))
    assert [float(jitted(jnp.int32(t))) for t in range(25)] == pytest.approx(eager, rel=1e-15)


def test_drives_an_optimizer_under_jit_like_transformers():
    """tc.SGD with a transformers schedule: the params after each step equal torch's."""
    require_live(transformers_available(), "needs live transformers; the fixed cases cover the schedules")
    import torch
    import transformers.optimization as ref

    from jaxopt_zoo import torch_compat as tc

    p0 = np.linspace(-1.0, 1.0, 5)
    kw = dict(num_warmup_steps=10, num_training_steps=100)
    tp = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    sched = ref.get_cosine_schedule_with_warmup(opt, **kw)
    tx = tc.SGD(lr=hf.get_cosine_schedule_with_warmup(0.1, **kw), momentum=0.9)
    params = jnp.asarray(p0)
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        g = jax.grad(lambda p: jnp.sum(jnp.sin(p) * p**2))(params)
        u, state = tx.update(g, state, params)
        return params + u, state

    for _ in range(100):
        opt.zero_grad()
        torch.sum(torch.sin(tp) * tp**2).backward()
        opt.step()
        sched.step()
        params, state = step(params, state)
        np.testing.assert_allclose(np.asarray(params), tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_x64_off_float32_values():
    with jax.enable_x64(False):
        s = hf.get_cosine_schedule_with_warmup(0.1, 5, 100, num_cycles=1.7)
        out = jax.jit(jax.vmap(s))(jnp.arange(131, dtype=jnp.int32))
        assert out.dtype == jnp.float32
    want = FIXTURES[[c["kwargs"].get("num_cycles") for c in FIXTURES].index(1.7)]
    np.testing.assert_allclose(np.asarray(out, np.float64), want["transformers"], atol=1e-7)


BAD = [
    (hf.get_constant_schedule, dict(lr=-0.1), "lr"),
    (hf.get_constant_schedule, dict(lr=0.1, last_epoch=-2), "last_epoch"),
    (hf.get_linear_schedule_with_warmup, dict(lr=0.1, num_warmup_steps=-1, num_training_steps=10), "num_warmup_steps"),
    (hf.get_cosine_schedule_with_warmup, dict(lr=0.1, num_warmup_steps=1, num_training_steps=2.5), "num_training_steps"),
    (hf.get_polynomial_decay_schedule_with_warmup, dict(lr=1e-3, num_warmup_steps=1, num_training_steps=10,
                                                         lr_end=1e-2), "lr_end"),
    (hf.get_polynomial_decay_schedule_with_warmup, dict(lr=1e-3, num_warmup_steps=10, num_training_steps=10),
     "num_training_steps"),
    (hf.get_inverse_sqrt_schedule, dict(lr=0.1, num_warmup_steps=3, timescale=0), "timescale"),
    (hf.get_cosine_with_min_lr_schedule_with_warmup, dict(lr=0.1, num_warmup_steps=1, num_training_steps=10), "min_lr"),
    (hf.get_cosine_with_min_lr_schedule_with_warmup, dict(lr=0.1, num_warmup_steps=1, num_training_steps=10,
                                                           min_lr=0.0, min_lr_rate=0.1), "min_lr_rate"),
    (hf.get_wsd_schedule, dict(lr=0.1, num_warmup_steps=1, num_decay_steps=10), "num_stable_steps"),
    (hf.get_wsd_schedule, dict(lr=0.1, num_warmup_steps=1, num_decay_steps=10, num_stable_steps=3,
                               decay_type="1-square"), "decay_type"),
]


@pytest.mark.parametrize("fn,kw,arg", BAD, ids=[f"{f.__name__}-{a}" for f, _, a in BAD])
def test_bad_arguments_raise(fn, kw, arg):
    with pytest.raises(ValueError, match=f"jaxopt_zoo.torch_compat.transformers.{fn.__name__}: argument `{arg}`"):
        fn(**kw)
