r"""PSGD Kron: preconditioned SGD with a Kronecker-factored preconditioner fitted online.

For a leaf :math:`G` of shape :math:`(n_1, \ldots, n_k)` the preconditioner is
:math:`P = \bigotimes_i Q_i^\top Q_i`, one factor :math:`Q_i` per axis: an upper-triangular
:math:`n_i \times n_i` matrix, or a diagonal (a vector) when the axis has size 1, is longer than
``max_size_triangular``, the leaf has fewer than ``min_ndim_triangular`` axes, or
``memory_save_mode`` says so (``'one_diag'``: the longest axis; ``'smart_one_diag'``: the longest
axis if strictly longer than the others; ``'all_diag'``). A scalar has one scalar factor. At
start :math:`Q_i = s^{1/k} I` (:math:`s` = ``precondition_init_scale``). Writing
:math:`X \times_i M` for the product of :math:`M` with axis :math:`i` of :math:`X`
(:math:`Y_{\ldots a \ldots} = \sum_b M_{ab} X_{\ldots b \ldots}`), a step is

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad \hat m_t = m_t / (1-\beta_1^t),

and, on the steps that update the preconditioner, with :math:`h = \hat m_t` (or :math:`g_t`
when ``momentum_into_precondition_update=False``) and a Gaussian probe :math:`V`:

.. math::

   A = h \times_1 Q_1 \cdots \times_k Q_k, \qquad
   B = V \times_1 Q_1^{-\top} \cdots \times_k Q_k^{-\top},

   T_i = A_{(i)} A_{(i)}^\top - B_{(i)} B_{(i)}^\top, \qquad
   S_i = A_{(i)} A_{(i)}^\top + B_{(i)} B_{(i)}^\top,

   Q_i \leftarrow Q_i - \eta_Q \frac{\operatorname{triu}(T_i)}{\lVert S_i \rVert_\ast + \epsilon} Q_i
   \quad\text{(triangular)}, \qquad
   Q_i \leftarrow Q_i - \eta_Q \frac{\operatorname{diag}(T_i)\, Q_i}{\max |\operatorname{diag}(S_i)| + \epsilon}
   \quad\text{(diagonal)},

where :math:`A_{(i)}` is the unfolding along axis :math:`i` (so :math:`A_{(i)} A_{(i)}^\top`
sums over all other axes), :math:`\eta_Q` = ``precondition_lr``, :math:`\epsilon` the smallest
normal float32 and :math:`\lVert S \rVert_\ast` the reference's cheap lower bound of the
spectral norm (one power-iteration step from the heaviest row or column). This is the
gradient step of Li's criterion :math:`\mathbb E[h^\top P h + V^\top P^{-1} V]` on the Lie group
of triangular matrices. Then

.. math::

   u = \hat m_t \times_1 Q_1^\top Q_1 \cdots \times_k Q_k^\top Q_k, \qquad
   u \leftarrow u \cdot \min\!\Big(1, \frac{1.1}{\operatorname{rms}(u) + 10^{-6}}\Big),

   p_t = p_{t-1} - \eta\,(u + \lambda p_{t-1}) \quad(\lambda \text{ on leaves with } \ge 2 \text{ axes}).

With ``weight_decouple=False`` the decay :math:`\lambda p` is added to the gradient instead
(again on leaves with at least two axes). On an update step, with probability
``balance_prob``, the factors of each leaf with two or more axes are first rescaled to equal
max-norms (their product unchanged).

**When the preconditioner is updated.** ``preconditioner_update_probability`` :math:`\pi`
(a float, a schedule of the step, or ``None`` for the reference's schedule
:math:`\pi(n) = \operatorname{clip}(e^{-0.001 (n - 500)}, 0.03, 1)`, evaluated in float32 at
the number :math:`n` of steps taken) is realised as the reference does it: deterministically,
by a counter of steps since the last update; the preconditioner is updated when the counter
reaches :math:`1/\pi`. So the fraction of steps that update is :math:`\approx \pi` at every
point of the schedule (every step for the first 500 steps, then every 2nd, ..., every 34th from
about step 4000 on).

**Randomness, from a JAX key.** The reference draws the probe :math:`V` with
``torch.randn_like`` and the balancing coin with ``numpy.random``; here both come from the
state's key, so the same ``key`` (or ``seed``) gives the same trajectory. At every step::

    key, step_key = jax.random.split(key)          # key: carried in the state
    coin_key, probe_key = jax.random.split(step_key)
    balance = jax.random.uniform(coin_key, (), jnp.float32) < balance_prob  # and an update step
    probe_keys = jax.random.split(probe_key, n)    # n: the float leaves, in tree order
    V[i] = jax.random.normal(probe_keys[i], leaf_i.shape, precondition dtype)

(drawn every step, used on update steps), which a test uses to feed the reference the zoo's
very draws.

This is ``pytorch_optimizer.Kron`` (tested equal with its defaults and random ones, over 120
steps, with the probe and coin replaced by the zoo's draws). Departures: the reference casts
the triangular solve for :math:`B` to float32 whatever ``precondition_dtype`` is; here it runs in
the precondition dtype (float32 for float16/bfloat16 ones), so a float64 preconditioner is
float64 throughout. ``maximize`` is left out (negate the loss), and complex leaves are refused,
as in the reference.

**Across devices** (``spread=``). An update of the preconditioner has two parts. Per leaf,
the contractions over the whole leaf: :math:`A`, the triangular solves for :math:`B` and the
Gram matrices :math:`A_{(i)} A_{(i)}^\top`, :math:`B_{(i)} B_{(i)}^\top`
(:math:`O(n_i \cdot \text{size})` each); on a sharded leaf XLA partitions them (per-shard
partial Grams and one all-reduce of :math:`n_i^2` numbers). Then, per triangular factor, the
step from its two Grams alone: the norm bound of :math:`S_i` (:math:`O(n_i^2)`) and the
product :math:`\operatorname{triu}(T_i)\, Q_i` (:math:`O(n_i^3)`). The factors of a leaf do not
wait on each other (all Grams use the old factors), so nothing is sequential between them;
what ties a factor to its leaf is only the Grams. With ``spread=mesh`` (or ``(mesh, axis)``)
the update computes every leaf's Grams first, then the steps of all triangular factors at
once: factors of equal shape and dtype, over all leaves and axes, are stacked, padded with
identities to a multiple of the :math:`N` devices on the axis and split along it under
``shard_map`` (``jaxopt_zoo/_spread.py``), each device running its contiguous :math:`1/N` of
the stack one factor after the other (``lax.map``, not ``vmap``: XLA:CPU rounds a batched
matrix product apart from a single one in the last bit, so the share runs the very unbatched
ops of the unspread step); the new factors come back with one all-gather. Per device a group
of :math:`B` equal factors costs :math:`\lceil B/N \rceil` steps instead of :math:`B`. The
factors are constrained to be replicated over the mesh (at ``init`` and after each update;
without ``spread`` XLA's propagation places them, often sharded). Diagonal factors (vectors,
an :math:`O(n_i)` step) and the balancing stay per leaf: nothing to gain, and a diagonal step
fuses with the elementwise Gram of a 1-D leaf, which spreading would cut apart (it changed the
last bit when tried). With params replicated over the mesh (data parallel) the spread update
is bit-for-bit the unspread one (checked on 8 simulated devices in ``tests/sharding_checks.py``,
with the per-device factor products read from the compiled program: 8 to 1 for 4 layers of
:math:`6 \times 6`). Params left on one device are not the same program: ``spread`` puts the
state on the mesh, and XLA:CPU compiles the mesh program's fusions apart from the one-device
program's, which can round a last bit differently (seen in the momentum too, which ``spread``
does not touch). With FSDP-sharded params the unspread factor steps are themselves partitioned
by XLA, so the two agree to float32 rounding (as sharded and single-device runs do), not bit
for bit. Cost model: on a square :math:`d \times d` leaf the factor steps are about
:math:`4 d^3` of the :math:`\approx 26 d^3` flops of an update step (mode products, solves,
Grams and the preconditioning of the direction are the rest); ``spread`` divides that part by
:math:`N`, the whole-leaf contractions are divided only by sharding the params.
Limits: ``jit`` over global arrays only (not inside a ``shard_map``/``pmap`` over the same
axis); balance within each shape group, not across groups.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _numerics, _packable, _spread, _validate
from .._base import EmptyState, GradientTransformation, ScalarOrSchedule, chain
from .._tree import as_tuple, check_same_structure, tree_map
from ..transforms._noise import _key_data
from ..transforms._scaling import scale_by_learning_rate

_EPS = float(jnp.finfo(jnp.float32).tiny)  # the reference's eps: bfloat16's tiny, float32's
_MODES = (None, "one_diag", "smart_one_diag", "all_diag")
_HIGHEST = jax.lax.Precision.HIGHEST


class ScaleByKronState(NamedTuple):
    """State of ``scale_by_kron``."""

    count: jax.Array  # int32: steps taken
    update_counter: jax.Array  # int32: steps since the last preconditioner update
    key: jax.Array  # raw key data (uint32) of the next step's key
    mu: Any  # momentum, shaped like the params
    qs: Any  # per leaf a tuple of factors (matrices or vectors; () for integer leaves)


def precondition_update_prob_schedule(max_prob: float = 1.0, min_prob: float = 0.03, decay: float = 0.001,
                                      flat_start: int = 500) -> Callable[[Any], jax.Array]:
    """The reference's schedule of the update probability, in float32 as the reference computes it.

    ``clip(max_prob * exp(-decay * (n - flat_start)), min_prob, max_prob)`` at step ``n``.
    """

    def schedule(n):
        f32 = jnp.float32
        x = jnp.asarray(n).astype(f32) - f32(flat_start)
        prob = f32(max_prob) * jnp.exp(f32(-decay) * x)
        return jnp.clip(prob, f32(min_prob), f32(max_prob))

    return schedule


def _diagonal_axes(shape: tuple, max_size: int, min_ndim: int, mode: str | None) -> tuple:
    """Which axes get a diagonal factor (the reference's rule, ties included)."""
    k = len(shape)
    flags = [False] * k
    if k:
        longest = int(np.argsort(shape)[::-1][0])
        if mode == "one_diag":
            flags[longest] = True
        elif mode == "smart_one_diag":
            s = sorted(shape)
            if k >= 2 and s[-1] > s[-2]:
                flags[longest] = True
        elif mode == "all_diag":
            flags = [True] * k
    return tuple(size == 1 or size > max_size or k < min_ndim or f for size, f in zip(shape, flags))


def _along(v: jax.Array, axis: int, ndim: int) -> jax.Array:
    """Vector ``v`` shaped to broadcast along ``axis`` of an ``ndim``-array."""
    return v.reshape([-1 if i == axis else 1 for i in range(ndim)])


def _mode(q: jax.Array, x: jax.Array, axis: int) -> jax.Array:
    """``x`` times ``q`` along ``axis``: ``y[..a..] = sum_b q[a, b] x[..b..]`` (``q`` diagonal if 1-D)."""
    if q.ndim < 2:
        return x * (q if x.ndim == 0 else _along(q, axis, x.ndim))
    return jnp.moveaxis(jnp.tensordot(q, x, axes=(1, axis), precision=_HIGHEST), 0, axis)


def _solve(q: jax.Array, x: jax.Array, axis: int) -> jax.Array:
    """``x`` times ``q^{-T}`` along ``axis`` (``x @ inv(q)`` on that axis), by a triangular solve."""
    if q.ndim < 2:
        return x / (q if x.ndim == 0 else _along(q, axis, x.ndim))
    work = jnp.promote_types(q.dtype, jnp.float32)
    xm = jnp.moveaxis(x, axis, -1)
    flat = xm.reshape(-1, xm.shape[-1]).astype(work)
    y = jax.lax.linalg.triangular_solve(q.astype(work), flat, left_side=False, lower=False)
    return jnp.moveaxis(y.astype(x.dtype).reshape(xm.shape), -1, axis)


def _gram(x: jax.Array, axis: int, diagonal: bool) -> jax.Array:
    """``X_(axis) X_(axis)^T`` (its diagonal for a diagonal factor): sums over the other axes."""
    if x.ndim == 0:
        return x * x
    others = tuple(i for i in range(x.ndim) if i != axis)
    if diagonal:
        return jnp.sum(x * x, axis=others)
    return jnp.tensordot(x, x, axes=(others, others), precision=_HIGHEST)


def _norm_lower_bound(a: jax.Array) -> jax.Array:
    """A lower bound of the spectral norm of symmetric ``a``: the reference's one power step."""
    max_abs = jnp.max(jnp.abs(a))
    tiny = jnp.finfo(a.dtype).tiny
    a = a / jnp.where(max_abs > 0, max_abs, 1.0)
    aa = a * a
    cols, rows = jnp.sum(aa, axis=0), jnp.sum(aa, axis=1)
    i, j = jnp.argmax(cols), jnp.argmax(rows)
    x0 = jnp.matmul(a[:, i], a, precision=_HIGHEST)
    x0 = x0 / jnp.maximum(jnp.linalg.norm(x0), tiny)
    bound0 = jnp.linalg.norm(jnp.matmul(a, x0, precision=_HIGHEST))
    x1 = jnp.matmul(a, a[j, :], precision=_HIGHEST)
    x1 = x1 / jnp.maximum(jnp.linalg.norm(x1), tiny)
    bound1 = jnp.linalg.norm(jnp.matmul(a.T, x1, precision=_HIGHEST))
    return max_abs * jnp.where(cols[i] > rows[j], bound0, bound1)


def _grams(qs: tuple, h: jax.Array, v: jax.Array) -> list:
    """Per factor of a leaf the pair (``A_(i) A_(i)^T``, ``B_(i) B_(i)^T``) (diagonals for
    diagonal factors): the contractions over the whole leaf."""
    a, b = h, v
    for i, q in enumerate(qs):
        a = _mode(q, a, i)
    for i, q in enumerate(qs):
        b = _solve(q, b, i)
    return [(_gram(a, i, q.ndim < 2), _gram(b, i, q.ndim < 2)) for i, q in enumerate(qs)]


def _factor_step(q: jax.Array, t1: jax.Array, t2: jax.Array, lr: Any) -> jax.Array:
    """One step of factor ``q`` from its two Gram matrices: the per-factor ``n_i x n_i`` work
    (named ``kron_factor_step`` in the compiled program, where the sharding checks count it)."""
    with jax.named_scope("kron_factor_step"):
        step = (t1 - t2) * lr
        if q.ndim < 2:
            step = step * q / (jnp.max(jnp.abs(t1 + t2)) + _EPS)
        else:
            step = jnp.matmul(jnp.triu(step) / (_norm_lower_bound(t1 + t2) + _EPS), q, precision=_HIGHEST)
        return (q - step).astype(q.dtype)


def _update_factors(qs: tuple, h: jax.Array, v: jax.Array, lr: Any) -> tuple:
    """One step of every factor of a leaf from the pair (``h``, probe ``v``)."""
    return tuple(_factor_step(q, t1, t2, lr) for q, (t1, t2) in zip(qs, _grams(qs, h, v)))


def _balance(qs: tuple) -> tuple:
    """Rescale the factors to equal max-norms, their product unchanged."""
    norms = jnp.stack([jnp.max(jnp.abs(q)) for q in qs])
    mean = jnp.prod(norms) ** (1.0 / len(qs))
    return tuple((q * (mean / norms[i])).astype(q.dtype) for i, q in enumerate(qs))


def _precondition(qs: tuple, g: jax.Array) -> jax.Array:
    """``g`` times ``Q_i^T Q_i`` along every axis."""
    for i, q in enumerate(qs):
        g = _mode(q, g, i)
        g = _mode(q.T if q.ndim == 2 else q, g, i)
    return g


def _check(fn, b1, prob, max_size, min_ndim, mode, lr_q, init_scale, balance_prob, key, seed):
    _validate.check_decay(fn, "b1", b1)
    if not callable(prob) and prob is not None:
        _validate.check_range(fn, "preconditioner_update_probability", prob, 0.0, 1.0)
    _validate.check_int(fn, "max_size_triangular", max_size, 0)
    _validate.check_int(fn, "min_ndim_triangular", min_ndim, 0)
    _validate.check_choice(fn, "memory_save_mode", mode, _MODES)
    _validate.check_nonnegative(fn, "precondition_lr", lr_q)
    _validate.check_positive(fn, "precondition_init_scale", init_scale)
    _validate.check_range(fn, "balance_prob", balance_prob, 0.0, 1.0)
    if seed is not None:
        if key is not None:
            _validate.fail(fn, "seed", seed, "cannot be given together with `key`")
        key = seed
    return _key_data(fn, 0 if key is None else key)


def _scale_by_kron(fn, b1, prob, max_size, min_ndim, mode, momentum_into, lr_q, init_scale, mu_dtype, q_dtype,
                   balance_prob, key, seed, spread=None) -> GradientTransformation:
    data = _check(fn, b1, prob, max_size, min_ndim, mode, lr_q, init_scale, balance_prob, key, seed)
    mu_dtype = _numerics.canonical_dtype(mu_dtype)
    q_dtype = _numerics.canonical_dtype(q_dtype)
    if prob is None:
        prob = precondition_update_prob_schedule()
    threshold = None  # a concrete probability: update when the counter reaches ceil(1 / prob)
    if not callable(prob) and _validate.concrete_float(prob) is not None:
        p = _validate.concrete_float(prob)
        threshold = math.ceil(1.0 / p) if p > 0 else None

    def factor_dtype(x):
        return x.dtype if q_dtype is None else q_dtype

    def init_leaf(x):
        if not _numerics.is_trained(x):
            return ()
        if jnp.iscomplexobj(x):
            raise ValueError(f"{_validate.PREFIX}{fn}: complex parameters are not supported (as in the "
                             "reference); wrap the optimizer in zoo.split_real_and_imaginary")
        dt = factor_dtype(x)
        if x.ndim == 0:
            return (jnp.asarray(init_scale, dt) * jnp.ones([], dt),)
        scale = jnp.asarray(init_scale, dt) ** (1.0 / x.ndim) if not isinstance(init_scale, (int, float)) \
            else math.pow(init_scale, 1.0 / x.ndim)
        flags = _diagonal_axes(x.shape, max_size, min_ndim, mode)
        return tuple((scale * (jnp.ones(n, dt) if d else jnp.eye(n, dtype=dt))).astype(dt)
                     for n, d in zip(x.shape, flags))

    def init_fn(params):
        mu = tree_map(lambda x: jnp.zeros_like(x, dtype=mu_dtype if _numerics.is_trained(x) else None), params)
        qs = _spread.replicated(tree_map(init_leaf, params), spread)
        return ScaleByKronState(_numerics.zero_count(), _numerics.zero_count(), _numerics.copy_tree(data), mu, qs)

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        check_same_structure(fn, (updates, state.mu), ("updates", "state.mu"))
        count = _numerics.safe_increment(state.count)
        counter = _numerics.safe_increment(state.update_counter)
        if threshold is not None:
            do_update = counter >= threshold
        elif callable(prob):
            p = jnp.asarray(prob(state.count))
            do_update = (p > 0) & (counter.astype(p.dtype) >= 1 / p)
        elif _validate.concrete_float(prob) is not None:  # a concrete 0: never
            do_update = jnp.asarray(False)
        else:
            p = jnp.asarray(prob)
            do_update = (p > 0) & (counter.astype(p.dtype) >= 1 / p)
        counter = jnp.where(do_update, 0, counter).astype(state.update_counter.dtype)

        next_key, step_key = jax.random.split(jax.random.wrap_key_data(state.key))
        coin_key, probe_key = jax.random.split(step_key)
        balance = (jax.random.uniform(coin_key, (), jnp.float32) < balance_prob) & do_update

        leaves, treedef = jax.tree.flatten(updates)
        mus = treedef.flatten_up_to(state.mu)
        qss = [as_tuple(q) for q in treedef.flatten_up_to(state.qs)]  # (nnx hands tuples back as mappings)
        trained = [i for i, g in enumerate(leaves) if _numerics.is_trained(g)]
        probe_keys = jax.random.split(probe_key, max(len(trained), 1))

        new_mu, hats, hs, probes = list(mus), {}, {}, {}
        for k, i in enumerate(trained):
            g, m = leaves[i], mus[i]
            m = (m * b1 + (1.0 - b1) * g).astype(m.dtype)
            new_mu[i] = m
            dt = qss[i][0].dtype
            hats[i] = (m / _numerics.one_minus_power(b1, count)).astype(dt)
            hs[i] = hats[i] if momentum_into else g.astype(dt)
            probes[i] = jax.random.normal(probe_keys[k], g.shape, dt)

        def refit(qss_in):
            qss_in = dict(qss_in)
            for i in trained:
                qs = qss_in[i]
                if leaves[i].ndim > 1:
                    qs = jax.lax.cond(balance, _balance, lambda q: q, qs)
                qss_in[i] = qs if spread is not None else _update_factors(qs, hs[i], probes[i], lr_q)
            if spread is not None:  # every leaf's Grams, then all triangular factor steps at once (see _spread)
                grams = {i: _grams(qss_in[i], hs[i], probes[i]) for i in trained}
                jobs = [(q, t1, t2) for i in trained for q, (t1, t2) in zip(qss_in[i], grams[i]) if q.ndim == 2]
                done = iter(_spread.map_jobs(lambda q, t1, t2: _factor_step(q, t1, t2, lr_q), jobs, spread,
                                             sequential=True))
                for i in trained:
                    qss_in[i] = tuple(next(done) if q.ndim == 2 else _factor_step(q, t1, t2, lr_q)
                                      for q, (t1, t2) in zip(qss_in[i], grams[i]))
            return qss_in

        current = {i: qss[i] for i in trained}
        current = jax.lax.cond(do_update, refit, lambda q: dict(q), current)

        out, new_qs = list(leaves), list(qss)
        for i in trained:
            g = leaves[i]
            u = _precondition(current[i], hats[i]).astype(g.dtype)
            rms = jnp.sqrt(jnp.mean(u * u))
            u = u * jnp.minimum(1.1 / (rms + 1e-6), 1.0).astype(g.dtype)
            out[i] = u.astype(g.dtype)
            new_qs[i] = current[i]
        for i, g in enumerate(leaves):
            if i not in current:
                out[i] = jnp.zeros_like(g)
        state = ScaleByKronState(count, counter, jax.random.key_data(next_key), treedef.unflatten(new_mu),
                                 _spread.replicated(treedef.unflatten(new_qs), spread))
        return treedef.unflatten(out), state

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "its preconditioner is a Kronecker product of one factor per axis of each leaf")


def scale_by_kron(
    b1: Any = 0.9,
    preconditioner_update_probability: Any = None,
    max_size_triangular: int = 8192,
    min_ndim_triangular: int = 2,
    memory_save_mode: str | None = None,
    momentum_into_precondition_update: bool = True,
    precondition_lr: Any = 0.1,
    precondition_init_scale: Any = 1.0,
    mu_dtype: Any = None,
    precondition_dtype: Any = jnp.float32,
    balance_prob: Any = 0.01,
    key: Any = None,
    *,
    seed: int | None = None,
    spread: Any = None,
) -> GradientTransformation:
    r"""PSGD Kron's direction ``u`` (see module docstring): preconditioned, RMS-clipped momentum.

    Not scaled by a learning rate and not negated.

    Args:
      b1: momentum decay, in [0, 1).
      preconditioner_update_probability: the fraction of steps that update the preconditioner,
        in [0, 1], or a schedule of the step; ``None``: the reference's schedule (1 for 500
        steps, then decaying to 0.03).
      max_size_triangular: axes longer than this get a diagonal factor.
      min_ndim_triangular: leaves with fewer axes get diagonal factors only.
      memory_save_mode: ``None``, ``'one_diag'``, ``'smart_one_diag'`` or ``'all_diag'``.
      momentum_into_precondition_update: fit the preconditioner to the debiased momentum
        (else to the gradient).
      precondition_lr: step size of the factors' updates, >= 0.
      precondition_init_scale: the preconditioner starts as this times the identity, > 0.
      mu_dtype: dtype of the momentum (``None``: the params').
      precondition_dtype: dtype of the factors and of the preconditioning (``None``: each
        leaf's own); float32 by default, as the reference.
      balance_prob: chance that an update step first balances the factors' norms, in [0, 1].
      key: a ``jax.random.key``, a raw ``PRNGKey`` or an integer seed (``None``: seed 0) for
        the probes and the balancing coin.
      seed: an integer ``key``; give ``key`` or ``seed``, not both.
      spread: ``None``, a ``jax.sharding.Mesh`` or ``(mesh, axis name(s))``: split the factor
        steps (the per-factor matrix products after the Gram matrices) of equal-shaped factors
        over the devices of those mesh axes (see the module docstring); with params
        replicated over the mesh the result is unchanged, bit for bit.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByKronState``.

    Raises:
      ValueError: for a bad argument, or complex params (at ``init``).

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_kron(key=0)
      >>> g = {"w": jnp.array([[0.5, -2.0], [1.0, 0.0]])}
      >>> u, state = tx.update(g, tx.init(g))
      >>> print(u["w"].shape, int(state.update_counter), bool(jnp.sqrt(jnp.mean(u["w"] ** 2)) <= 1.1))
      (2, 2) 0 True

    References:
      Li, `Preconditioned Stochastic Gradient Descent <https://arxiv.org/abs/1512.04202>`_, 2015;
      Li, `Black Box Lie Group Preconditioners for SGD <https://arxiv.org/abs/2211.04422>`_, 2022.
    """
    return _scale_by_kron("scale_by_kron", b1, preconditioner_update_probability, max_size_triangular,
                          min_ndim_triangular, memory_save_mode, momentum_into_precondition_update, precondition_lr,
                          precondition_init_scale, mu_dtype, precondition_dtype, balance_prob, key, seed,
                          _spread.resolve("scale_by_kron", spread))


def _decay_matrices(weight_decay: Any) -> GradientTransformation:
    """``u + weight_decay * p`` on the leaves with two or more axes (the reference's ``p.dim() >= 2``).

    Always one stateless member of the chain, so the state has one structure whether the decay
    is a concrete 0, a number or traced (``inject_hyperparams``).
    """
    off = _validate.concrete_float(weight_decay) == 0.0

    def init_fn(params):
        del params
        return EmptyState()

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        if off:
            return updates, state
        _validate.check_params("kron", params, updates, " for its weight decay")

        def leaf(u, p):
            if not _numerics.is_trained(u) or jnp.ndim(u) < 2:
                return u
            return (u + weight_decay * p).astype(u.dtype)

        return tree_map(leaf, updates, params, where="kron", names=("updates", "params")), state

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "kron",
                              "weight decay reaches the leaves with two or more axes only")


def kron(
    learning_rate: ScalarOrSchedule = 1e-3,
    b1: Any = 0.9,
    weight_decay: Any = 0.0,
    weight_decouple: bool = True,
    preconditioner_update_probability: Any = None,
    max_size_triangular: int = 8192,
    min_ndim_triangular: int = 2,
    memory_save_mode: str | None = None,
    momentum_into_precondition_update: bool = True,
    precondition_lr: Any = 0.1,
    precondition_init_scale: Any = 1.0,
    mu_dtype: Any = None,
    precondition_dtype: Any = jnp.float32,
    balance_prob: Any = 0.01,
    key: Any = None,
    *,
    seed: int | None = None,
    spread: Any = None,
) -> GradientTransformation:
    r"""PSGD Kron (see module docstring), ``pytorch_optimizer.Kron``'s defaults.

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1: momentum decay, in [0, 1) (the reference's ``momentum``).
      weight_decay: weight decay of the leaves with two or more axes, >= 0.
      weight_decouple: decoupled decay ``p <- p - lr (u + wd p)``; else ``wd p`` is added to
        the gradient.
      preconditioner_update_probability, max_size_triangular, min_ndim_triangular, memory_save_mode: as in
        ``scale_by_kron`` (the reference's ``pre_conditioner_update_probability`` is
        ``preconditioner_update_probability``, as in kron_torch).
      momentum_into_precondition_update, precondition_lr, precondition_init_scale, mu_dtype, precondition_dtype: as in ``scale_by_kron``.
      balance_prob, key, seed, spread: as in ``scale_by_kron``.

    Returns:
      A ``GradientTransformation``; its update needs ``params`` when ``weight_decay`` is not 0.

    Raises:
      ValueError: for a bad argument, or complex params (at ``init``).

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
      >>> loss = lambda p: jnp.sum((p["w"] - 0.5) ** 2) + jnp.sum(p["b"] ** 2)
      >>> tx = zoo.kron(learning_rate=0.02, key=0)
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(loss(params)) < 0.05)
      True

    References:
      Li, `Preconditioned Stochastic Gradient Descent <https://arxiv.org/abs/1512.04202>`_, 2015;
      Li, `Black Box Lie Group Preconditioners for SGD <https://arxiv.org/abs/2211.04422>`_, 2022;
      Evan Walters, `kron_torch <https://github.com/evanatyourservice/kron_torch>`_, 2024.
    """
    fn = "kron"
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    inner = _scale_by_kron(fn, b1, preconditioner_update_probability, max_size_triangular, min_ndim_triangular,
                           memory_save_mode, momentum_into_precondition_update, precondition_lr,
                           precondition_init_scale, mu_dtype, precondition_dtype, balance_prob, key, seed,
                           _spread.resolve(fn, spread))
    decay = _decay_matrices(weight_decay)
    parts = [inner, decay] if weight_decouple else [decay, inner]
    return chain(*parts, scale_by_learning_rate(learning_rate))
