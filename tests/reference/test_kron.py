"""PSGD Kron against pytorch_optimizer.Kron, side by side, with the reference's randomness replaced
by the zoo's draws.

The reference draws its probe ``V`` with ``torch.randn_like`` and its balancing coin with
``numpy.random.random``; here both are monkeypatched to return what the zoo draws from its key
(the derivation documented in ``jaxopt_zoo/optimizers/_kron.py``), so the two runs are
deterministic and comparable. float64: the reference is built with ``precondition_dtype=
torch.float64`` (its default is float32) and its triangular solve, which always casts to
float32, is redirected to the working dtype; the zoo gets ``precondition_dtype=float64``.
float32 (the ``dtype`` fixture): the zoo with its defaults (float32 factors) against that float64
reference, to 1e-5.
"""

from tests.reference import harness
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from tests.reference.beyond_harness import matrix_tree  # noqa: F401
from tests.reference.harness import assert_trajectories_close, make_params, seeded_rng, start_values, torch_trajectory, trajectory
from pytorch_optimizer import Kron
from pytorch_optimizer.optimizer import psgd

import jaxopt_zoo as zoo
from jaxopt_zoo.optimizers._kron import precondition_update_prob_schedule

pytestmark = pytest.mark.usefixtures("matrix_tree")


def zoo_draws(key, steps, dtype):
    """The coin and the probes the zoo draws at each step (its documented key schedule)."""
    shapes = [s for _, s in sorted(harness.SHAPES.items())]  # the params' leaves in tree order

    def step(key, _):
        key, step_key = jax.random.split(key)
        coin_key, probe_key = jax.random.split(step_key)
        keys = jax.random.split(probe_key, len(shapes))
        probes = [jax.random.normal(k, s, dtype) for k, s in zip(keys, shapes)]
        return key, (jax.random.uniform(coin_key, (), jnp.float32), probes)

    _, (coins, probes) = jax.jit(lambda k: jax.lax.scan(step, k, None, length=steps))(jax.random.key(key))
    probes = [np.array(p, np.float64) for p in probes]
    return [float(c) for c in coins], [{s: p[t] for s, p in zip(shapes, probes)} for t in range(steps)]


def _solve_in_working_dtype(x, a):
    """The reference's ``solve_triangular_right`` without its cast to float32."""
    out = torch.linalg.solve_triangular(a, x.reshape(-1, x.size(-1)), upper=True, left=False)
    return out.reshape_as(x)


@pytest.fixture
def feed_zoo_draws(monkeypatch):
    """Make the reference use the zoo's draws for ``key``; returns the set-up function."""
    monkeypatch.setattr(psgd, "solve_triangular_right", _solve_in_working_dtype)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # its tiny matrices run 4x slower on a shared machine's thread pool

    def setup(key, steps, dtype):
        coins, probes = zoo_draws(key, steps, dtype)
        step = [-1]

        def coin():  # called once at the start of every reference step
            step[0] += 1
            return coins[step[0]]

        def probe(like, dtype=None):
            return torch.as_tensor(probes[step[0]][tuple(like.shape)], dtype=dtype or like.dtype)

        monkeypatch.setattr(psgd.np.random, "random", coin)
        monkeypatch.setattr(torch, "randn_like", probe)

    yield setup
    torch.set_num_threads(threads)


def torch_kwargs(kw):
    names = {"learning_rate": "lr", "b1": "momentum",
             "preconditioner_update_probability": "pre_conditioner_update_probability"}
    out = {names.get(k, k): v for k, v in kw.items()
           if k not in ("key", "precondition_lr", "precondition_init_scale", "precondition_dtype")}
    return out


def run_both(kw, dtype, feed, torch_kw=None, steps=harness.STEPS):
    """The zoo in ``dtype`` (float64: float64 factors) and the reference in float64, same draws.

    ``torch_kw``: the reference's keywords where they are not ``kw``'s (its own schedule).
    """
    zkw = dict(kw)
    if dtype == "float64":
        zkw["precondition_dtype"] = jnp.float64
    feed(kw.get("key", 0), steps, jnp.float64 if dtype == "float64" else jnp.float32)
    got = trajectory(zoo.kron(**zkw), make_params(dtype), steps)

    def make(ps):
        opt = Kron(ps, precondition_dtype=torch.float64, **torch_kwargs(torch_kw or kw))
        for k in ("precondition_lr", "precondition_init_scale"):  # in its defaults, not its keywords
            if k in kw:
                opt.param_groups[0][k] = kw[k]
        return opt

    want = torch_trajectory(make, start_values("float64"), steps)
    assert_trajectories_close(got, want, dtype)


def test_defaults_match_pytorch_optimizer(dtype, feed_zoo_draws):
    run_both({}, dtype, feed_zoo_draws)


@pytest.mark.parametrize("variant", ["a", "b"])
def test_random_hyperparameters_match_pytorch_optimizer(variant, dtype, feed_zoo_draws, request):
    rng = seeded_rng(request.node.name)[0]
    # Rates that keep the scalar leaf out of its clipped bang-bang regime near the minimum: there
    # (lr 1.2e-2, precondition_lr 0.24) the reference's own trajectory moves by 1e-3 when its start
    # is perturbed by 1e-7, so no float32 run can be compared to 1e-5.
    kw = dict(learning_rate=rng.uniform(1e-3, 5e-3), b1=rng.uniform(0.8, 0.97), weight_decay=rng.uniform(0.0, 0.1),
              weight_decouple=rng.random() < 0.5, precondition_lr=rng.uniform(0.05, 0.15),
              precondition_init_scale=rng.uniform(0.5, 2.0), balance_prob=rng.uniform(0.2, 0.5),
              momentum_into_precondition_update=rng.random() < 0.5, key=rng.randrange(1000))
    torch_kw = None
    if variant == "a":  # a constant probability (a counter of steps), one diagonal axis, a small triangular cap
        kw.update(preconditioner_update_probability=rng.choice([0.5, 0.3, 1.0]),
                  memory_save_mode=rng.choice(["one_diag", "smart_one_diag"]), max_size_triangular=4)
    else:  # vectors get triangular factors too; the reference's schedule, 1200 steps past its flat start
        kw.update(min_ndim_triangular=1, memory_save_mode=rng.choice([None, "all_diag"]),
                  preconditioner_update_probability=precondition_update_prob_schedule(flat_start=-1200))
        torch_kw = dict(kw, preconditioner_update_probability=psgd.precondition_update_prob_schedule(flat_start=-1200))
    print(kw)
    run_both(kw, dtype, feed_zoo_draws, torch_kw)


def test_true_defaults_float32_factors_match_pytorch_optimizer(monkeypatch):
    """Both with their real defaults (float32 factors, the reference's float32 solve) on float64
    params: the factors' float32 rounding differs between the two, so 1e-5, not 1e-10."""
    coins, probes = zoo_draws(0, harness.STEPS, jnp.float32)
    step = [-1]
    monkeypatch.setattr(psgd.np.random, "random", lambda: (step.__setitem__(0, step[0] + 1), coins[step[0]])[1])
    monkeypatch.setattr(torch, "randn_like", lambda like, dtype=None: torch.as_tensor(
        probes[step[0]][tuple(like.shape)], dtype=dtype or like.dtype))
    got = trajectory(zoo.kron(), make_params("float64"))
    want = torch_trajectory(lambda ps: Kron(ps), start_values("float64"))
    assert_trajectories_close(got, want, "float32")


def _zoo_update_steps(steps, **kw):
    tx = zoo.scale_by_kron(**kw)

    def step(state, _):
        _, state = tx.update(jnp.ones(()), state)
        return state, state.update_counter == 0

    _, updated = jax.jit(lambda s: jax.lax.scan(step, s, None, length=steps))(tx.init(jnp.ones(())))
    return np.asarray(updated)


def test_update_steps_follow_the_schedule_as_the_reference(monkeypatch):
    """The reference realises its update probability by a counter (an update when the steps since
    the last one reach 1/p), not by a coin: the zoo updates at the very same steps over 6000
    steps of the default schedule, and each window's count of updates follows the schedule."""
    steps = 6000
    got = _zoo_update_steps(steps)
    now, calls, real = [0], [], psgd.update_precondition
    monkeypatch.setattr(psgd, "update_precondition", lambda *a: (calls.append(now[0]), real(*a))[1])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    p = torch.zeros((), dtype=torch.float32, requires_grad=True)
    opt = Kron([p])
    for t in range(steps):
        now[0] = t
        p.grad = torch.ones(())
        opt.step()
    torch.set_num_threads(threads)
    want = np.zeros(steps, bool)
    want[calls] = True
    np.testing.assert_array_equal(got, want)
    prob = np.asarray(precondition_update_prob_schedule()(np.arange(steps)), np.float64)
    assert got[:500].all() and not got[501]  # 1 for 500 steps (the counter then needs 2 steps)
    for lo in range(0, steps, 500):
        n, p = got[lo:lo + 500].sum(), prob[lo:lo + 500]
        assert np.sum(1 / np.ceil(1 / p)) - 2 <= n <= np.sum(p) + 1, (lo, n, np.sum(p))
    assert abs(got[-1000:].mean() - 0.03) < 0.002  # every 34th step at the floor 0.03


def test_same_key_same_trajectory_other_key_other():
    """The trajectory is a function of the key in the state: an int, ``seed=`` and a typed key
    give the same state; the same state the same trajectory, another key another one."""
    params = make_params("float64")
    tx = zoo.kron(learning_rate=1e-2)
    states = {name: zoo.kron(learning_rate=1e-2, **kw).init(params) for name, kw in
              [("int", dict(key=7)), ("seed", dict(seed=7)), ("typed", dict(key=jax.random.key(7))), ("other", dict(key=8))]}
    for name in ("seed", "typed"):
        assert jax.tree.all(jax.tree.map(lambda x, y: bool(np.array_equal(x, y)), states[name], states["int"])), name

    @jax.jit
    def run(state):
        def step(carry, _):
            p, s = carry
            u, s = tx.update(jax.grad(harness.loss)(p), s, p)
            p = zoo.apply_updates(p, u)
            return (p, s), p
        return jax.lax.scan(step, (params, state), None, length=30)[1]

    a, b, d = run(states["int"]), run(states["int"]), run(states["other"])
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert all(not np.allclose(a[k], d[k], rtol=1e-6) for k in ("cube", "matrix"))


def test_the_key_in_the_state_is_a_copy_and_args_are_checked():
    data = jax.random.key_data(jax.random.key(3))
    tx = zoo.kron(key=data)
    state = tx.init(make_params("float64"))
    assert state[0].key is not data
    np.testing.assert_array_equal(state[0].key, data)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.kron: argument `seed`"):
        zoo.kron(key=1, seed=1)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.kron: argument `memory_save_mode`"):
        zoo.kron(memory_save_mode="some_diag")
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.scale_by_kron: argument `preconditioner_update_probability`"):
        zoo.scale_by_kron(preconditioner_update_probability=1.5)
    with pytest.raises(ValueError, match=r"jaxopt_zoo\.kron: complex parameters"):
        zoo.kron().init({"z": jnp.ones(3, jnp.complex64)})
