"""wsd_schedule and inverse_sqrt_schedule: against transformers' get_wsd_schedule /
get_inverse_sqrt_schedule where they coincide, and against a plain-Python evaluation of the
formulas (the papers') everywhere, at every step across each phase boundary and past the end."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tests.reference.harness import require_live, seeded_rng
from tests.reference.transformers_schedules import assert_close, hf_sequence, transformers_available

import jaxopt_zoo as zoo

N = 140


def values(schedule, n=N):
    t = jnp.arange(n + 1, dtype=jnp.int32)
    return np.asarray(jax.jit(jax.vmap(schedule))(t), np.float64) * np.ones(n + 1)


def wsd_formula(t, peak, w, s, d, init, end, wtype, dtype_):
    """The WSD schedule written out step by step in Python floats."""
    if t < w:
        p = t / w
        f = {"linear": p, "cosine": (1 - math.cos(math.pi * p)) / 2, "1-sqrt": 1 - math.sqrt(1 - p)}[wtype]
        return init + (peak - init) * f
    if t < w + s:
        return peak
    if t < w + s + d:
        p = (t - w - s) / d
        f = {"linear": 1 - p, "cosine": (1 + math.cos(math.pi * p)) / 2, "1-sqrt": 1 - math.sqrt(p),
             "1-square": 1 - p**2}[dtype_]
        return end + (peak - end) * f
    return end


def inverse_sqrt_formula(t, peak, w, timescale):
    if t < w:
        return peak * t / w
    return peak * (timescale / (t - w + timescale)) ** 0.5


WARMUPS, DECAYS = ("linear", "cosine", "1-sqrt"), ("linear", "cosine", "1-sqrt", "1-square")


@pytest.mark.parametrize("wtype,dtype_", list(itertools.product(WARMUPS, DECAYS)))
def test_wsd_equals_the_formula(wtype, dtype_, request):
    rng = seeded_rng(request.node.name)[0]
    for w, s, d in [(10, 30, 50), (0, 20, 40), (7, 0, 1), (rng.randint(0, 40), rng.randint(0, 40), rng.randint(1, 50))]:
        kw = dict(peak_value=rng.uniform(0.1, 1), warmup_steps=w, stable_steps=s, decay_steps=d,
                  init_value=rng.uniform(0, 0.1), end_value=rng.uniform(0, 0.1))
        want = [wsd_formula(t, kw["peak_value"], w, s, d, kw["init_value"], kw["end_value"], wtype, dtype_)
                for t in range(N + 1)]
        assert_close(values(zoo.wsd_schedule(**kw, warmup_type=wtype, decay_type=dtype_)), want, what=str(kw))


def test_wsd_defaults_are_linear_from_and_to_zero():
    s = zoo.wsd_schedule(2.0, 4, 2, 4)
    np.testing.assert_allclose(values(s, 12), [0, 0.5, 1, 1.5, 2, 2, 2, 1.5, 1, 0.5, 0, 0, 0], rtol=1e-12)


@pytest.mark.parametrize("wtype,dtype_", list(itertools.product(WARMUPS, DECAYS[:3])))
def test_wsd_equals_transformers_get_wsd_schedule(wtype, dtype_, request):
    """init_value = end_value = min_lr_ratio * peak: transformers' WSD (its default num_cycles=0.5)."""
    require_live(transformers_available(), "needs live transformers; the formula test covers the values")
    rng = seeded_rng(request.node.name)[0]
    for _ in range(2):
        lr, r = rng.uniform(1e-4, 1), rng.choice([0.0, rng.uniform(0, 0.5)])
        w, s, d = rng.randint(0, 30), rng.randint(0, 40), rng.randint(1, 50)
        want = hf_sequence("get_wsd_schedule", lr, N, num_warmup_steps=w, num_stable_steps=s, num_decay_steps=d,
                           warmup_type=wtype, decay_type=dtype_, min_lr_ratio=r)
        got = values(zoo.wsd_schedule(lr, w, s, d, init_value=r * lr, end_value=r * lr, warmup_type=wtype,
                                      decay_type=dtype_))
        assert_close(got, want, what=f"{lr=} {r=} {w=} {s=} {d=}")


def test_inverse_sqrt_equals_the_formula_and_transformers(request):
    rng = seeded_rng(request.node.name)[0]
    for w, tau in [(16, None), (0, None), (10, 3), (rng.randint(1, 50), rng.randint(1, 100))]:
        peak = rng.uniform(0.01, 1)
        got = values(zoo.inverse_sqrt_schedule(peak, w, tau))
        assert_close(got, [inverse_sqrt_formula(t, peak, w, tau or w or 10_000) for t in range(N + 1)])
        if transformers_available():
            assert_close(got, hf_sequence("get_inverse_sqrt_schedule", peak, N, num_warmup_steps=w, timescale=tau))


def test_python_int_steps_equal_traced_int32_steps():
    for s in (zoo.wsd_schedule(0.3, 5, 5, 10, init_value=0.01, end_value=0.02, warmup_type="1-sqrt",
                               decay_type="1-square"), zoo.inverse_sqrt_schedule(0.3, 5)):
        eager = [float(s(t)) for t in range(25)]
        jitted = jax.jit(s)
        assert [float(jitted(jnp.int32(t))) for t in range(25)] == pytest.approx(eager, rel=1e-15)


def test_x64_off_float32_values():
    with jax.enable_x64(False):
        s = zoo.wsd_schedule(1.0, 10, 10, 20, decay_type="cosine")
        out = jax.jit(jax.vmap(s))(jnp.arange(50, dtype=jnp.int32))
        assert out.dtype == jnp.float32
        want = [wsd_formula(t, 1.0, 10, 10, 20, 0.0, 0.0, "linear", "cosine") for t in range(50)]
        np.testing.assert_allclose(np.asarray(out, np.float64), want, atol=1e-6)
        v = jax.jit(zoo.inverse_sqrt_schedule(1.0, 10))(jnp.int32(40))
        assert v.dtype == jnp.float32 and float(v) == pytest.approx(0.5, rel=1e-6)


BAD = [
    (zoo.wsd_schedule, dict(peak_value=1.0, warmup_steps=-1, stable_steps=1, decay_steps=1), "warmup_steps"),
    (zoo.wsd_schedule, dict(peak_value=1.0, warmup_steps=1, stable_steps=1.5, decay_steps=1), "stable_steps"),
    (zoo.wsd_schedule, dict(peak_value=1.0, warmup_steps=1, stable_steps=1, decay_steps=0), "decay_steps"),
    (zoo.wsd_schedule, dict(peak_value=1.0, warmup_steps=1, stable_steps=1, decay_steps=1, warmup_type="1-square"),
     "warmup_type"),
    (zoo.wsd_schedule, dict(peak_value=1.0, warmup_steps=1, stable_steps=1, decay_steps=1, decay_type="exp"),
     "decay_type"),
    (zoo.inverse_sqrt_schedule, dict(peak_value=1.0, warmup_steps=-3), "warmup_steps"),
    (zoo.inverse_sqrt_schedule, dict(peak_value=1.0, warmup_steps=3, timescale=0), "timescale"),
]


@pytest.mark.parametrize("fn,kw,arg", BAD)
def test_bad_arguments_raise(fn, kw, arg):
    with pytest.raises(ValueError, match=f"jaxopt_zoo.{fn.__name__}: argument `{arg}`"):
        fn(**kw)
