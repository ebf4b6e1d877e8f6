"""The fused Adam kernel of ``zoo.packed`` and ``zoo.packed_apply`` (jaxopt_zoo/_kernels/adam_cpu.cc)
against the unfused path.

Each step is run both ways from the same params, grads and state, and the updates (the new
params, for ``packed_apply``) and the new state must agree to 1 ulp (in practice they are
bit-identical), over 60 steps (20 for ``packed_apply``), with default and random
hyperparameters, a schedule, clipping, weight decay, x64 on and off, several chunks and one. By default only the
in-place kernels of ``packed_apply`` run (``JAXOPT_ZOO_KERNELS=1`` adds the update kernel of ``packed``); these
tests switch them on and off in-process, and with ``JAXOPT_ZOO_KERNELS=0`` in the environment they check the
pure-JAX path only. ``test_an_install_without_the_kernels_works`` runs a process in which the built kernels are
hidden (``JAXOPT_ZOO_NO_EXTENSION=1``: an install built without a compiler).
"""

from __future__ import annotations

import functools
import os
import pathlib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_zoo as zoo
from jaxopt_zoo import _kernels
from jaxopt_zoo.transforms import _packed
from tests._subprocess import run_python, run_under_xla_defaults
from tests.conftest import FAST_COMPILE_FLAGS, SUITE_XLA_FLAGS

KERNELS_OFF = os.environ.get("JAXOPT_ZOO_KERNELS") == "0"  # `JAXOPT_ZOO_KERNELS=0 make test`: the fallback only

SHAPES = [(3, 4), (100,), (130, 70), (7,), ()]

CONFIGS = {
    "adamw": lambda: zoo.adamw(1e-3, weight_decay=1e-2),
    "adam_random": lambda: zoo.adam(3e-2, b1=0.81, b2=0.95, eps=1e-6, eps_root=1e-9),
    "clip_adamw_schedule": lambda: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(b2=0.98),
                                             zoo.add_decayed_weights(1e-2),
                                             zoo.scale_by_schedule(lambda t: -zoo.cosine_decay_schedule(1e-2, 40)(t))),
    "unclipped_adamw": lambda: zoo.chain(zoo.clip_by_global_norm(1e4), zoo.scale_by_adam(b1=0.85), zoo.add_decayed_weights(1e-3),
                                         zoo.scale(-2e-3)),
    "adamw_schedule": lambda: zoo.adamw(zoo.cosine_decay_schedule(1e-2, 40), b1=0.7, b2=0.99, weight_decay=3e-3),
}

# packed_apply's other in-place kernels: name -> (kernel, factory).
APPLY_CONFIGS = {
    "nadamw": ("adam_apply", lambda: zoo.nadamw(1e-3, weight_decay=1e-2)),
    "clip_nadam_schedule": ("adam_apply", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(b1=0.8, b2=0.95, eps_root=1e-9, nesterov=True),
        zoo.scale_by_schedule(lambda t: -zoo.cosine_decay_schedule(1e-2, 40)(t)))),
    "clip_nadamw": ("adam_apply", lambda: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(nesterov=True),
                                                    zoo.add_decayed_weights(1e-3), zoo.scale(-2e-3))),
    "adamw_bf16_state": ("adam_apply_bf16_state", lambda: zoo.adamw(1e-3, weight_decay=1e-2, mu_dtype=jnp.bfloat16,
                                                                 nu_dtype=jnp.bfloat16)),
    "clip_nadam_bf16_state": ("adam_apply_bf16_state", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(b1=0.8, nesterov=True, mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16),
        zoo.scale(-2e-3))),
    # From the sweep of issue 18 (every kernel's chains under XLA's defaults), each one contraction
    # XLA makes otherwise: NAdam without clipping or with eps_root 0 (m^ on its first product),
    # bfloat16 NAdamW unclipped (on its second), clipped bfloat16 moments with b2 not 1 in bfloat16 (v')
    # (RMSprop with eps in the root and decoupled decay: rms_decoupled_decay below).
    "nadam_random": ("adam_apply", lambda: zoo.nadam(3e-3, b1=0.8, b2=0.95)),
    "nadamw_bf16_state": ("adam_apply_bf16_state", lambda: zoo.nadamw(1e-3, weight_decay=1e-2, mu_dtype=jnp.bfloat16,
                                                                   nu_dtype=jnp.bfloat16)),
    "clip_adam_bf16_state_b2": ("adam_apply_bf16_state", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(b2=0.95, mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16),
        zoo.scale(-2e-3))),
    "amsgrad_random": ("amsgrad_apply", lambda: zoo.amsgrad(3e-2, b1=0.8, b2=0.95, eps=1e-6, eps_root=1e-9)),
    "clip_amsgradw_schedule": ("amsgrad_apply", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.scale_by_amsgrad(b2=0.98), zoo.add_decayed_weights(1e-2),
        zoo.scale_by_schedule(lambda t: -zoo.cosine_decay_schedule(1e-2, 40)(t)))),
    "sgd_momentum": ("momentum_apply", lambda: zoo.sgd(1e-2, momentum=0.9)),
    "sgd_nesterov_schedule": ("momentum_apply", lambda: zoo.sgd(zoo.cosine_decay_schedule(1e-2, 40), momentum=0.8,
                                                                nesterov=True)),
    "clip_coupled_decay_momentum": ("momentum_apply", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.add_decayed_weights(1e-2), zoo.trace(0.9), zoo.scale(-1e-2))),
    "nesterov_decoupled_decay": ("momentum_apply", lambda: zoo.chain(
        zoo.trace(0.95, nesterov=True), zoo.add_decayed_weights(1e-3), zoo.scale(-3e-3))),
    "lion_random_schedule": ("lion_apply", lambda: zoo.lion(zoo.cosine_decay_schedule(3e-4, 40), b1=0.8, b2=0.95,
                                                            weight_decay=0.1)),
    "clip_lion": ("lion_apply", lambda: zoo.chain(zoo.clip_by_global_norm(1.0), zoo.scale_by_lion(),
                                                  zoo.add_decayed_weights(1e-2), zoo.scale(-1e-3))),
    "rmsprop": ("rms_apply", lambda: zoo.rmsprop(1e-3)),
    "rmsprop_torch_eps_schedule": ("rms_apply", lambda: zoo.rmsprop(zoo.cosine_decay_schedule(3e-3, 40), decay=0.95,
                                                                    eps=1e-6, eps_in_sqrt=False)),
    "clip_decay_rms": ("rms_apply", lambda: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.add_decayed_weights(1e-2),
                                                      zoo.scale_by_rms(), zoo.scale(-1e-3))),
    "clip_rms_momentum": ("rms_momentum_apply", lambda: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_rms(0.95),
                                                                  zoo.scale(-1e-3), zoo.trace(0.9))),
    "rmsprop_nesterov": ("rms_momentum_apply", lambda: zoo.rmsprop(1e-3, decay=0.8, momentum=0.7, nesterov=True)),
    "rms_decoupled_decay": ("rms_apply", lambda: zoo.chain(zoo.scale_by_rms(0.8), zoo.add_decayed_weights(1e-2), zoo.scale(-1e-3))),
    "rmsprop_centered_torch_eps_schedule": ("rms_centered_apply", lambda: zoo.rmsprop(
        zoo.cosine_decay_schedule(3e-3, 40), decay=0.95, eps=1e-6, eps_in_sqrt=False, centered=True)),
    "clip_decays_rms_centered": ("rms_centered_apply", lambda: zoo.chain(
        zoo.clip_by_global_norm(0.5), zoo.add_decayed_weights(1e-3), zoo.scale_by_stddev(0.9), zoo.add_decayed_weights(1e-2),
        zoo.scale(-1e-3))),
    "rmsprop_centered_nesterov": ("rms_centered_momentum_apply", lambda: zoo.rmsprop(1e-3, decay=0.8, momentum=0.7,
                                                                                    nesterov=True, centered=True)),
    # inject_hyperparams: the hyperparameters are arrays of the state, fed to the kernel's `hyper` at run time.
    "inject_adamw": ("adam_apply", lambda: zoo.inject_hyperparams(zoo.adamw)(learning_rate=1e-3, b1=0.8, weight_decay=1e-2)),
    # Issue 18: runtime b1/b2 meet bfloat16 moments unrounded; a runtime eps_root (even 0) keeps
    # NAdam's m^ on its second product when clipped.
    "inject_adamw_bf16_state": ("adam_apply_bf16_state", lambda: zoo.inject_hyperparams(
        zoo.adamw, static_args=("mu_dtype", "nu_dtype"))(learning_rate=1e-3, b2=0.95, weight_decay=1e-2,
                                                          mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16)),
    "inject_clip_nadam": ("adam_apply", lambda: zoo.inject_hyperparams(
        lambda learning_rate, eps_root: zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(nesterov=True, eps_root=eps_root),
                                                  zoo.scale(-learning_rate)))(learning_rate=1e-3, eps_root=0.0)),
    "inject_sgd_nesterov_schedule": ("momentum_apply", lambda: zoo.inject_hyperparams(zoo.sgd)(
        learning_rate=zoo.cosine_decay_schedule(1e-2, 40), momentum=0.8, nesterov=True)),
    "inject_rmsprop_momentum": ("rms_momentum_apply", lambda: zoo.inject_hyperparams(zoo.rmsprop)(
        learning_rate=1e-3, decay=0.9, momentum=0.7)),
}
# Every chain packed_apply runs through a kernel: name -> (kernel, factory).
ALL_APPLY = {**{name: ("adam_apply", make) for name, make in CONFIGS.items()}, **APPLY_CONFIGS}
# The kernels whose program XLA rewrites otherwise with one chunk or x64 (Adam's bias corrections).
ADAM_KERNELS = ("adam_apply", "amsgrad_apply")


def _tree(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {f"l{i}": jnp.asarray(rng.normal(size=s), jnp.float32) for i, s in enumerate(SHAPES)}


def _has_kernel(fn, *args, kernel: str = "adam") -> bool:
    return _kernels.KERNELS[kernel][2] in fn.lower(*args).as_text()


def _with_kernels(on: bool, fn, *args, **kwargs):
    old = os.environ.get("JAXOPT_ZOO_KERNELS")
    os.environ["JAXOPT_ZOO_KERNELS"] = "1" if on and not KERNELS_OFF else "0"
    try:
        return fn(*args, **kwargs)
    finally:
        if old is None:
            del os.environ["JAXOPT_ZOO_KERNELS"]
        else:
            os.environ["JAXOPT_ZOO_KERNELS"] = old


def test_kernel_builds_here():
    # The machines the suite runs on have g++: a kernel that silently fails to build would
    # leave everything below testing the fallback against itself.
    assert _with_kernels(True, _kernels.available, "adam") is not KERNELS_OFF
    if os.environ.get("JAXOPT_ZOO_EXPECT_BUILT") == "1":  # CI (.ci/run): the install's build made them, not the rebuild
        for source in _kernels._build.sources():
            name = _kernels._build.built_name(source)
            assert (_kernels._PACKAGED_DIR / name).exists(), f"{name} is not in the package: did hatch_build.py run?"


# The kernel copies the rounding of XLA's default CPU pipeline (which products it fuses into FMAs).
# The suite compiles with faster flags (tests/conftest.py) that round the unfused path otherwise,
# so under them the comparison runs in a subprocess under XLA's defaults.
UNDER_FAST_FLAGS = all(f in os.environ.get("XLA_FLAGS", "").split() for f in FAST_COMPILE_FLAGS)


# (test, number of cases) run under XLA's defaults, in a subprocess when this run is not.
UNDER_DEFAULTS = {"test_fused_step_equals_unfused": 2 * len(CONFIGS),
                  "test_fused_apply_equals_unfused": len(ALL_APPLY) + 2 * sum(k.startswith(ADAM_KERNELS) for k, _ in ALL_APPLY.values())}


def test_fused_step_equals_unfused_under_xla_defaults():
    if not UNDER_FAST_FLAGS:  # this run is under XLA's defaults: the parametrized tests below run here
        assert all(name in globals() for name in UNDER_DEFAULTS)
        return
    here = pathlib.Path(__file__).resolve()
    done = run_under_xla_defaults(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                                   *(f"{here}::{name}" for name in UNDER_DEFAULTS)],
                                  timeout=1200, ZOO_TEST_XLA="default")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"{sum(UNDER_DEFAULTS.values())} passed" in done.stdout, done.stdout[-2000:]


def _assert_steps_agree(got, want):
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype == jnp.bfloat16:  # numpy has no ulp test for it: compare the bits, 1 ulp apart at most
            bits = [np.asarray(x).view(np.int16).astype(np.int32) for x in (a, b)]
            assert np.all(np.abs(bits[0] - bits[1]) <= 1), np.max(np.abs(bits[0] - bits[1]))
        elif jnp.issubdtype(a.dtype, jnp.floating):
            np.testing.assert_array_max_ulp(np.asarray(a), np.asarray(b), maxulp=1)
        else:
            np.testing.assert_array_equal(a, b)


def _fused_step_equals_unfused(name, x64):
    with jax.enable_x64(x64):
        tx = zoo.packed(CONFIGS[name](), chunk_size=1000)
        params = _tree(0)
        state = tx.init(params)
        # Two jitted functions traced with the kernel on and off (the switch is read at trace time).
        fused = jax.jit(lambda g, s, p: tx.update(g, s, p))
        plain = jax.jit(lambda g, s, p: tx.update(g, s, p))
        grads = _tree(1)
        assert _with_kernels(True, _has_kernel, fused, grads, state, params) is not KERNELS_OFF
        assert not _with_kernels(False, _has_kernel, plain, grads, state, params)
        _with_kernels(False, plain.lower, grads, state, params)  # trace `plain` once, without the kernel
        for step in range(60):
            grads = _tree(100 + step)
            want = _with_kernels(False, plain, grads, state, params)
            got = _with_kernels(True, fused, grads, state, params)
            _assert_steps_agree(got, want)
            updates, state = got
            params = zoo.apply_updates(params, updates)


def _fused_apply_equals_unfused(name, x64, chunk_size):
    """``packed_apply`` with the in-place kernel against ``tx.update`` + ``apply_updates`` on packed params."""
    kernel, make = ALL_APPLY[name]
    with jax.enable_x64(x64):
        tx = make()
        pack = lambda tree: zoo.pack_tree(tree, chunk_size=chunk_size)  # noqa: E731
        params = pack(_tree(0))
        state = tx.init(params)
        fused = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))
        plain = jax.jit(lambda g, s, p: _update_then_apply(tx, g, s, p))
        grads = pack(_tree(1))
        def has_kernel(fn):
            return _has_kernel(fn, grads, state, params, kernel=kernel)

        assert _with_kernels(True, has_kernel, fused) is not KERNELS_OFF
        assert not _with_kernels(False, has_kernel, jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p)))
        # The kernels' multi-tensor form: the grads per leaf, as jax.grad gives them (not packed).
        leaf = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))
        multi = kernel.replace("apply", "apply_multi")
        multi = multi if multi in _kernels.KERNELS else kernel  # AMSGrad, centred RMSprop: the grads packed first
        assert _with_kernels(True, _has_kernel, leaf, _tree(1), state, params, kernel=multi) is not KERNELS_OFF
        for step in range(20):  # XLA's other roundings show in the first steps (clipping from the second)
            grads = pack(_tree(100 + step))
            want = plain(grads, state, params)
            got = _with_kernels(True, fused, grads, state, params)
            _assert_steps_agree(got, want)
            _assert_steps_agree(_with_kernels(True, leaf, _tree(100 + step), state, params), want)
            params, state = got


def _update_then_apply(tx, grads, state, params):
    updates, state = tx.update(grads, state, params)
    return zoo.apply_updates(params, updates), state


if not UNDER_FAST_FLAGS:
    test_fused_step_equals_unfused = pytest.mark.parametrize("x64", [True, False], ids=["x64", "x64off"])(
        pytest.mark.parametrize("name", sorted(CONFIGS))(_fused_step_equals_unfused))
    # Several chunks and one: XLA rewrites Adam's bias correction otherwise in each (adam_cpu.cc); x64
    # changes only Adam's programs (its bias correction is computed in float64 and cast).
    test_fused_apply_equals_unfused = pytest.mark.parametrize("name, x64, chunk_size", [
        pytest.param(name, x64, chunk_size, id=f"{name}-{layout}")
        for name, (kernel, _) in sorted(ALL_APPLY.items())
        for x64, chunk_size, layout in [(False, 1000, "x64off"), (False, None, "x64off-one-chunk"), (True, 1000, "x64")]
        if layout == "x64off" or kernel.startswith(ADAM_KERNELS)])(_fused_apply_equals_unfused)


def test_kernel_applies_only_to_the_chains_it_covers():
    plan = _packed._adam_plan
    assert plan(zoo.adamw(1e-3)) is not None and plan(zoo.adam(1e-3)) is not None
    assert plan(zoo.adam(zoo.linear_schedule(1e-3, 0.0, 10))).schedule is not None
    assert plan(zoo.chain(zoo.scale_by_adam(), zoo.scale(-1e-3))) is not None
    assert (plan(zoo.chain(zoo.clip_by_global_norm(1.0), zoo.scale_by_adam(), zoo.scale(-1e-3))).clip) == 1.0
    for other in (zoo.nadam(1e-3), zoo.amsgrad(1e-3), zoo.adamw(1e-3, mask=lambda p: p), zoo.lion(1e-3),
                  zoo.sgd(1e-3), zoo.inject_hyperparams(zoo.adamw)(learning_rate=1e-3),
                  zoo.chain(zoo.scale_by_adam(), zoo.clip_by_global_norm(1.0), zoo.scale(-1e-3)),
                  zoo.chain(zoo.clip(1.0), zoo.scale_by_adam(), zoo.scale(-1e-3)),
                  zoo.adam(jnp.asarray(1e-3))):
        assert plan(other) is None
    assert plan(zoo.nadamw(1e-3), apply=True).nesterov and plan(zoo.amsgrad(1e-3), apply=True).amsgrad
    assert plan(zoo.chain(zoo.scale_by_adam(amsgrad=True, nesterov=True), zoo.scale(-1.0)), apply=True) is None
    other = _packed._apply_plan
    assert other(zoo.sgd(1e-2, momentum=0.9)).kernel == "momentum_apply"
    assert other(zoo.lion(1e-3)).kernel == "lion_apply"
    assert other(zoo.chain(zoo.add_decayed_weights(1e-2), zoo.trace(0.9, nesterov=True), zoo.scale(-1.0))).args == (0.9, True)
    assert other(zoo.rmsprop(1e-3)).kernel == "rms_apply" and other(zoo.rmsprop(1e-3, eps_in_sqrt=False)).args[2] is False
    assert other(zoo.rmsprop(1e-3, momentum=0.9, nesterov=True)).after[1:] == (0.9, True)
    assert other(zoo.rmsprop(1e-3, centered=True)).kernel == "rms_centered_apply"
    assert other(zoo.rmsprop(1e-3, centered=True, momentum=0.9)).kernel == "rms_centered_momentum_apply"
    for uncovered in (zoo.rmsprop(1e-3, centered=True, bias_correction=True), zoo.rmsprop(1e-3, bias_correction=True),
                      zoo.sgd(1e-2), zoo.lion(1e-3, mask=lambda p: p), zoo.chain(zoo.scale_by_lion(mode="smooth"), zoo.scale(-1e-3)),
                      zoo.chain(zoo.add_decayed_weights(1e-2), zoo.scale_by_lion(), zoo.scale(-1e-3)),
                      zoo.chain(zoo.trace(0.9), zoo.clip_by_global_norm(1.0), zoo.scale(-1e-3)),
                      zoo.inject_hyperparams(zoo.sgd)(learning_rate=1e-2, momentum=0.9), zoo.adamw(1e-3),
                      zoo.sgd(1e-2, momentum=jnp.asarray(0.9))):
        assert other(uncovered) is None
    # Refused (issue 18): NAdam with bfloat16 moments and clipping, with weight decay or a b2 not 1
    # in bfloat16, whose programs XLA rounds otherwise than the kernel; with b2 = 0.999 (1 in
    # bfloat16) and no decay it runs.
    flat = zoo.pack_tree(_tree(0), chunk_size=1000)
    for b2, decay, runs in ((0.95, (), False), (0.999, (zoo.add_decayed_weights(1e-3),), False), (0.999, (), True)):
        tx = zoo.chain(zoo.clip_by_global_norm(0.5), zoo.scale_by_adam(b2=b2, nesterov=True, mu_dtype=jnp.bfloat16,
                                                                       nu_dtype=jnp.bfloat16), *decay, zoo.scale(-2e-3))
        step = jax.jit(lambda g, s, p, tx=tx: zoo.packed_apply(tx, g, s, p))
        for kernel in ("adam_apply_bf16_state", "adam_apply_multi_bf16_state"):
            grads = flat if "multi" not in kernel else _tree(1)
            assert _with_kernels(True, _has_kernel, step, grads, tx.init(flat), flat, kernel=kernel) is (runs and not KERNELS_OFF)
    # Mixed dtypes take the pure-JAX path (the kernel is float32 only), with the same numbers.
    params = {"a": jnp.ones(3, jnp.float32), "b": jnp.ones(2, jnp.bfloat16)}
    tx = zoo.packed(zoo.adamw(1e-3))
    assert not _with_kernels(True, _has_kernel, jax.jit(tx.update), params, tx.init(params), params)


def test_donated_state_is_updated_in_place():
    tx = zoo.packed(zoo.adamw(1e-3), chunk_size=1000)
    params = _tree(0)

    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return zoo.apply_updates(params, updates), state

    step = jax.jit(step, donate_argnums=(0, 1))
    state = tx.init(params)
    assert _with_kernels(True, _has_kernel, step, params, state, params) is not KERNELS_OFF
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Some donated buffers were not usable" would be an error
        for _ in range(3):
            old = state
            params, state = _with_kernels(True, step, params, state, _tree(1))
    assert all(x.is_deleted() for x in jax.tree.leaves(old.inner[0].mu))


def test_packed_apply_updates_params_and_state_in_place():
    tx = zoo.adamw(1e-3)
    params = zoo.pack_tree(_tree(0), chunk_size=1000)
    step = jax.jit(lambda p, s, g: zoo.packed_apply(tx, g, s, p), donate_argnums=(0, 1))
    state = tx.init(params)
    assert _with_kernels(True, _has_kernel, step, params, state, params, kernel="adam_apply") is not KERNELS_OFF
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Some donated buffers were not usable" would be an error
        for _ in range(3):
            old = (params, state)
            params, state = _with_kernels(True, step, params, state, zoo.pack_tree(_tree(1), chunk_size=1000))
    assert all(x.is_deleted() for x in jax.tree.leaves((old[0], old[1][0].mu, old[1][0].nu)))


def test_packed_apply_takes_any_packable_chain_and_refuses_the_others():
    # Not an Adam chain (or not float32): the pure-JAX path, p + update.
    params = zoo.pack_tree({"a": jnp.ones(3, jnp.float32), "b": jnp.ones(2, jnp.bfloat16)}, chunk_size=None)
    for tx in (zoo.sgd(0.1, momentum=0.9), zoo.adamw(1e-3)):
        got, _ = _with_kernels(True, jax.jit(functools.partial(zoo.packed_apply, tx)), params, tx.init(params), params)
        updates, _ = tx.update(params, tx.init(params), params)
        want = zoo.apply_updates(params, updates)
        for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
            np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32), rtol=1e-6)
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.packed_apply: argument `tx` .*lamb"):
        zoo.packed_apply(zoo.lamb(1e-3), params, None, params)


def test_packed_apply_under_inject_hyperparams_keeps_the_fallbacks_state():
    """The kernel under inject_hyperparams: the state is the one ``tx.update`` gives (its
    hyperparameters readable by current_hyperparams, changeable between steps), so a checkpoint
    of it restores into either path."""
    # (A schedule's value under x64 is float64, which makes the unfused update float64: no kernel then.)
    tx = zoo.inject_hyperparams(zoo.adamw)(learning_rate=1e-2, weight_decay=1e-2)
    params = zoo.pack_tree(_tree(0), chunk_size=1000)
    fused = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))
    state = tx.init(params)
    assert _with_kernels(True, _has_kernel, fused, params, state, params, kernel="adam_apply") is not KERNELS_OFF
    for step in range(2):
        params, state = _with_kernels(True, fused, zoo.pack_tree(_tree(1 + step), chunk_size=1000), state, params)
    assert int(state.count) == 2 and float(zoo.current_hyperparams(state)["learning_rate"]) == np.float32(1e-2)
    _, want = tx.update(params, tx.init(params), params)
    assert jax.tree.structure(state) == jax.tree.structure(want)
    assert [(x.dtype, x.shape) for x in jax.tree.leaves(state)] == [(x.dtype, x.shape) for x in jax.tree.leaves(want)]
    # A checkpoint (the leaves as numpy arrays), restored and stepped both ways, with a changed hyperparameter.
    restored = jax.tree.unflatten(jax.tree.structure(state), [np.asarray(x) for x in jax.tree.leaves(state)])
    restored.hyperparams["weight_decay"] = np.float32(0.5)
    grads = zoo.pack_tree(_tree(5), chunk_size=1000)
    got = _with_kernels(True, fused, grads, restored, params)
    want = _update_then_apply(tx, grads, restored, params)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert float(got[1].hyperparams["weight_decay"]) == 0.5


def test_failed_build_falls_back(monkeypatch, tmp_path):
    monkeypatch.setattr(_kernels, "_loaded", {})
    monkeypatch.setattr(_kernels, "_warned_absent", False)
    monkeypatch.setattr(_kernels, "_PACKAGED_DIR", tmp_path / "package")  # not built by the install: the developer rebuild
    monkeypatch.setenv("JAXOPT_ZOO_KERNELS", "1")
    monkeypatch.setenv("JAXOPT_ZOO_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # a "compiler" that always fails
    with pytest.warns(UserWarning, match="building the adam kernel failed"):
        assert not _kernels.available("adam")
    tx = zoo.packed(zoo.adamw(1e-3))
    params = _tree(0)
    updates, _ = jax.jit(tx.update)(params, tx.init(params), params)
    want, _ = zoo.adamw(1e-3).update(params, zoo.adamw(1e-3).init(params), params)
    for k in params:
        np.testing.assert_allclose(updates[k], want[k], rtol=1e-6)
    flat = zoo.pack_tree(params, chunk_size=None)
    tx = zoo.adamw(1e-3)
    got, _ = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))(flat, tx.init(flat), flat)
    np.testing.assert_allclose(got["float32"][0], zoo.pack_tree(zoo.apply_updates(params, want), chunk_size=None)["float32"][0],
                               rtol=1e-6)
    monkeypatch.setattr(_kernels._build, "compiler", lambda: None)
    monkeypatch.setattr(_kernels, "_loaded", {})
    with pytest.warns(UserWarning, match="not built in this install and no C\\+\\+ compiler") as caught:
        assert not _kernels.available("adam") and not _kernels.available("lion_apply")
    assert len(caught) == 1  # once per process


def test_only_the_in_place_kernels_run_by_default(monkeypatch):
    monkeypatch.delenv("JAXOPT_ZOO_KERNELS", raising=False)
    assert [k for k in _kernels.KERNELS if not _kernels.enabled(k)] == ["adam"]  # packed's update kernel
    params = zoo.pack_tree(_tree(0), chunk_size=1000)
    for tx, kernel in ((zoo.adamw(1e-3), "adam_apply"), (zoo.sgd(1e-2, momentum=0.9), "momentum_apply")):
        step = jax.jit(lambda g, s, p, tx=tx: zoo.packed_apply(tx, g, s, p))
        assert _has_kernel(step, params, tx.init(params), params, kernel=kernel)
    tx = zoo.packed(zoo.adamw(1e-3), chunk_size=1000)
    assert not _has_kernel(jax.jit(tx.update), _tree(1), tx.init(_tree(0)), _tree(0))
    monkeypatch.setenv("JAXOPT_ZOO_KERNELS", "maybe")
    with pytest.raises(ValueError, match="JAXOPT_ZOO_KERNELS` must be 1 .* got 'maybe'"):
        _kernels.enabled("adam_apply")


# A process in which the built kernels are hidden, as in an install built without a compiler:
# the package imports, no kernel runs, and packed / packed_apply give the unfused path's numbers
# (bit for bit: they are that path; the tests above pin the kernels to it); silent by default,
# one warning when JAXOPT_ZOO_KERNELS=1 asks for the kernels.
WITHOUT_KERNELS = r"""
import os, warnings
warnings.simplefilter("error")
import jax, jax.numpy as jnp, numpy as np
import jaxopt_zoo as zoo
from jaxopt_zoo import _kernels

rng = np.random.default_rng(0)
tree = lambda: {"a": jnp.asarray(rng.normal(size=(30, 7)), jnp.float32), "b": jnp.asarray(rng.normal(size=5), jnp.float32)}
os.environ["JAXOPT_ZOO_KERNELS"] = "1"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert not any(_kernels.available(k) for k in _kernels.KERNELS)
messages = [str(w.message) for w in caught]
assert len(messages) == 1 and messages[0].startswith("jaxopt_zoo: the C++ kernels are not built in this install"), messages
del os.environ["JAXOPT_ZOO_KERNELS"]
for tx in (zoo.adamw(1e-3, weight_decay=1e-2), zoo.sgd(1e-2, momentum=0.9, nesterov=True), zoo.lion(1e-3),
           zoo.rmsprop(1e-3, momentum=0.9), zoo.adamw(1e-3, mu_dtype=jnp.bfloat16, nu_dtype=jnp.bfloat16)):
    flat = zoo.pack_tree(tree(), chunk_size=100)
    state = tx.init(flat)
    fused = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))
    def plain(g, s, p):
        updates, s = tx.update(g, s, p)
        return zoo.apply_updates(p, updates), s
    plain = jax.jit(plain)
    assert "jaxopt_zoo_" not in fused.lower(flat, state, flat).as_text()
    for _ in range(3):
        grads = zoo.pack_tree(tree(), chunk_size=100)
        got, want = fused(grads, state, flat), plain(grads, state, flat)
        jax.tree.map(np.testing.assert_array_equal, got, want)
        flat, state = got
tx = zoo.packed(zoo.adamw(1e-3))
updates, _ = jax.jit(tx.update)(tree(), tx.init(tree()), tree())
print("ok")
"""


def test_an_install_without_the_kernels_works():
    done = run_python(WITHOUT_KERNELS, xla_flags=SUITE_XLA_FLAGS, timeout=600, JAXOPT_ZOO_NO_EXTENSION="1",
                      JAXOPT_ZOO_KERNELS="")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout[-2000:] + done.stderr[-4000:]


def test_packed_apply_takes_per_leaf_grads_without_concatenating_them():
    # Packed params and state, grads per leaf (as jax.grad of a loss on the unpacked params gives
    # them): the multi-tensor kernel reads each leaf where it is. In the compiled program the only
    # concatenation left is the kernel's vector of scalars, none the size of a chunk.
    tx = zoo.adamw(1e-3, weight_decay=1e-2)
    params = zoo.pack_tree(_tree(0), chunk_size=1000)
    state = tx.init(params)
    step = jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p))
    hlo = _with_kernels(True, lambda: step.lower(_tree(1), state, params).compile().as_text())
    assert (_kernels.KERNELS["adam_apply_multi"][2] in hlo) is not KERNELS_OFF
    if not KERNELS_OFF:
        assert [line for line in hlo.splitlines() if " concatenate(" in line and "f32[22]" not in line] == []
    for on in (True, False):  # with the kernel and on the pure-JAX path: the numbers of packed grads
        got = _with_kernels(on, jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p)), _tree(1), state, params)
        want = _with_kernels(on, jax.jit(lambda g, s, p: zoo.packed_apply(tx, g, s, p)),
                             zoo.pack_tree(_tree(1), chunk_size=1000), state, params)
        _assert_steps_agree(got, want)
    with pytest.raises(ValueError, match=r"^jaxopt_zoo\.packed_apply: argument `grads` .*tile"):
        zoo.packed_apply(tx, {"a": jnp.ones(5)}, state, params)
    # Donated, params and state are written in place (the grads are only read).
    donated = jax.jit(lambda p, s, g: zoo.packed_apply(tx, g, s, p), donate_argnums=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Some donated buffers were not usable" would be an error
        old = (params, state)
        params, state = _with_kernels(True, donated, params, state, _tree(1))
    assert all(x.is_deleted() for x in jax.tree.leaves((old[0], old[1][0].mu, old[1][0].nu)))
