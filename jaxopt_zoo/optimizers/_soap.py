r"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner.

For a leaf :math:`G_t` (seen as a tensor with axes :math:`1..k`) SOAP keeps, for every axis
:math:`i` it preconditions, a statistic :math:`L_i` and an orthogonal basis :math:`Q_i`:

.. math::

   L_{i,t} = \beta_s L_{i,t-1} + (1-\beta_s)\, G_{t,(i)} G_{t,(i)}^\top

(:math:`G_{(i)}` is :math:`G` unfolded along axis :math:`i`; :math:`\beta_s` is
``shampoo_beta``, :math:`\beta_2` by default). With :math:`\mathcal Q(X) = X \times_1
Q_1^\top \cdots \times_k Q_k^\top` (the rotation into the basis; an axis that is not
preconditioned is left as it is) and its inverse :math:`\mathcal Q^{-1}`:

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) G_t, \qquad
   v_t = \beta_2 v_{t-1} + (1-\beta_2)\, \mathcal Q(G_t)^2,

   N_t = \mathcal Q^{-1}\!\Bigl(\frac{\mathcal Q(m_t)}{\sqrt{v_t} + \epsilon}\Bigr), \qquad
   p_t = \Bigl(p_{t-1} - \eta \frac{\sqrt{1-\beta_2^{s}}}{1-\beta_1^{s}} N_t\Bigr)(1 - \eta\lambda),

with :math:`s = t - 1` (see below), the bias correction only with ``correct_bias``, and
:math:`N_t` divided by its root mean square (plus :math:`\epsilon`) with
``normalize_gradient``. Note that :math:`m` is kept in the original coordinates and
:math:`v` in the rotated ones, and that the weight decay is decoupled and applied *after* the
step.

The bases: the first update only records :math:`L_{i,1}` and sets :math:`Q_i` to its
eigenvectors (eigenvalues descending; ``eigh``); it moves nothing (no step, no weight decay).
Afterwards, every ``precondition_frequency`` steps (after the statistics of that step), each
:math:`Q_i` is refreshed by one step of power iteration: :math:`P = L_i Q_i`, its columns
sorted by the estimated eigenvalues :math:`\operatorname{diag}(Q_i^\top L_i Q_i)` (descending;
:math:`v`'s axis :math:`i` permuted the same way), then :math:`Q_i` = the Q factor of the QR
decomposition of :math:`P`.

Which axes are preconditioned: those of length ``<= max_precondition_dim``; a vector only with
``precondition_1d``; a scalar none (plain Adam). With ``merge_dims`` a leaf of two or more axes
is first reshaped by merging neighbouring axes while their product stays
``<= max_precondition_dim`` (``data_format='channels_last'`` first moves a 4-D leaf's last axis
to position 1, NCHW).

This is ``pytorch_optimizer.SOAP`` (its defaults: lr 3e-3, betas (0.95, 0.95), weight decay
1e-2, frequency 10), tested equal with its defaults and random others. Differences:

* the reference computes the QR factorisation in float32 whatever the params' dtype (a cast
  for bfloat16, which torch's QR lacks); here it runs in the params' dtype (float32 for 16-bit
  params, and for ``eigh`` too), so float64 params get a float64 basis. The float64 tests run
  the reference with that cast redirected to float64.
* ``merge_dims`` where every axis merges into one (say a 4x3 leaf with the default
  ``max_precondition_dim``): the reference's ``merge_small_dims`` returns the shape ``[1]``
  and the reshape fails; here the leaf becomes one axis of all its entries. The same failure
  hits the reference's vectors of length ``<= max_precondition_dim`` with ``merge_dims`` (it
  merges vectors when rotating them, though not when making their statistics); here vectors
  are never merged, which is what the reference computes for longer ones.

Eigenvectors of a repeated eigenvalue are any basis of their eigenspace, and SOAP's step
depends on which (``v`` is per coordinate of the basis): two implementations (or one on
inputs that differ in the last bit) agree only where the eigenvalues of the first update's
statistics are simple, or zero once (e.g. a single gradient's :math:`G G^\top` for an axis
no longer than the product of the others, plus one). Signs and the order of the columns do
not matter.

**Spreading the preconditioner work over devices** (``spread=``). The costs are the per-axis
statistics (a contraction per axis, every step, :math:`O(d \cdot \text{size})`) and the basis
work: one ``eigh`` per preconditioned axis at the first step, then a matmul + QR per axis every
``precondition_frequency`` steps, :math:`O(d^3)` each, independent across leaves and axes.
Under ``jit`` every device otherwise does all of it. With ``spread=mesh`` (or ``(mesh, axis)``)
the update first computes every leaf's statistics, then, under one ``lax.switch`` on the step
(first step / refresh step / neither), all the ``eigh`` (or power-step + QR) jobs at once:
jobs with equal shapes are stacked, padded with identities to a multiple of the :math:`N`
devices on the axis, and run as ``vmap`` under ``shard_map``, each device taking a contiguous
:math:`1/N` of the stack (``jaxopt_zoo/_spread.py``); the new bases come back with one
all-gather. Per device a group of :math:`B` equal :math:`d \times d` bases costs
:math:`\lceil B/N\rceil` ``eigh``/QR instead of :math:`B` (a model with many equal layers gains
about :math:`N`; a group smaller than :math:`N` still costs one, never more than unspread). The
statistics and the rotations stay where XLA puts them (per shard plus an all-reduce for FSDP
params); with ``spread`` the statistics and bases are constrained to be replicated over the
mesh (without it their layout is left to XLA's propagation). Each job is the same function of
the same input, so the step is bit-for-bit the unspread one (checked, params replicated, on 8 simulated devices in
``tests/sharding_checks.py``, which also reads the per-device batch of the LAPACK calls from
the compiled program), except where eigenvalues repeat (see above). Limits: use it under
``jit`` over global arrays, not inside a ``shard_map``/``pmap`` over the same axis; the load
is balanced within each shape group, not across groups; axes longer than
``max_precondition_dim`` are not rotated, which bounds each job to :math:`d \le`
``max_precondition_dim``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _spread, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain
from .._tree import as_tuple, check_same_structure, is_none
from ..transforms._weight_decay import decayed_step

_FORMATS = ("channels_first", "channels_last")


class ScaleBySoapState(NamedTuple):
    """State of ``scale_by_soap``: the step, the moments, and per leaf a tuple with one
    statistic (``gg``) and one basis (``q``) per preconditioned axis."""

    count: jax.Array
    mu: Any
    nu: Any
    gg: Any
    q: Any


def merge_small_dims(shape: tuple, max_dim: int) -> tuple:
    """Neighbouring axes merged while their product stays ``<= max_dim`` (pytorch_optimizer's
    ``merge_small_dims``; an all-merged shape is one axis of every entry, see the module
    docstring)."""
    merged, product = [], 1
    for d in shape:
        product *= d
        if product > max_dim:
            merged.append(product // d)
            product = d
    merged.append(product)
    return tuple(merged)


class _Plan(NamedTuple):
    shape: tuple  # the shape the leaf is seen in (merged, channels moved)
    permute: bool  # a channels_last 4-D leaf moved to NCHW first
    axes: tuple  # per axis of `shape`: preconditioned?


def _plan(shape: tuple, max_dim: int, merge_dims: bool, precondition_1d: bool, data_format: str) -> _Plan:
    if len(shape) == 1:
        return _Plan(tuple(shape), False, (precondition_1d and shape[0] <= max_dim,))
    permute = merge_dims and data_format == "channels_last" and len(shape) == 4
    seen = tuple(shape)
    if merge_dims:
        seen = merge_small_dims((shape[0], shape[3], shape[1], shape[2]) if permute else seen, max_dim)
    return _Plan(seen, permute, tuple(d <= max_dim for d in seen))


def _to_plan(x, plan: _Plan):
    if plan.permute:
        x = jnp.transpose(x, (0, 3, 1, 2))
    return jnp.reshape(x, plan.shape)


def _from_plan(x, plan: _Plan, shape: tuple):
    if plan.permute:
        return jnp.transpose(jnp.reshape(x, (shape[0], shape[3], shape[1], shape[2])), (0, 2, 3, 1))
    return jnp.reshape(x, shape)


def _rotate(x, qs, plan: _Plan, forward: bool):
    """``Q(x)`` (forward) or ``Q^{-1}(x)``: contract axis 0 with each basis in turn (the
    reference's order), cycling the axes back into place."""
    shape = jnp.shape(x)
    x = _to_plan(x, plan)
    k = 0
    for pre in plan.axes:
        if pre:
            x = jnp.tensordot(x, qs[k], axes=([0], [0 if forward else 1]))
            k += 1
        else:
            x = jnp.moveaxis(x, 0, -1)
    return _from_plan(x, plan, shape)


def _compute_dtype(dtype):
    """``eigh``/``qr`` run in float32 at least (none exists for 16-bit floats)."""
    return jnp.promote_types(dtype, jnp.float32)


def _eigenbasis(m):
    """Eigenvectors of ``m``, eigenvalues descending (the reference's ``eigh`` of
    ``m + 1e-30 I``, columns flipped)."""
    ct = _compute_dtype(m.dtype)
    n = m.shape[0]
    _, q = jnp.linalg.eigh(m.astype(ct) + 1e-30 * jnp.eye(n, dtype=ct))
    return jnp.flip(q, axis=1).astype(m.dtype)


def _power_one(m, o):
    """One power-iteration + QR refresh of the basis ``o`` of statistic ``m``: the new basis and
    the new order of the columns."""
    product = m @ o
    estimate = jnp.sum(o * product, axis=0)
    order = jnp.argsort(estimate, descending=True)
    q, _ = jnp.linalg.qr(jnp.take(product, order, axis=1).astype(_compute_dtype(o.dtype)))
    return q.astype(o.dtype), order


def _reorder(v, orders, plan: _Plan):
    """``v`` (in the plan's shape) with each preconditioned axis permuted by its order."""
    k = 0
    for axis, pre in enumerate(plan.axes):
        if pre:
            v = jnp.take(v, orders[k], axis=axis)
            k += 1
    return v


def _power_step(ggs, qs, v, plan: _Plan):
    """One power-iteration + QR refresh of every basis; ``v`` (in the plan's shape) follows the
    new order of the columns."""
    new, orders = zip(*(_power_one(m, o) for m, o in zip(ggs, qs))) if ggs else ((), ())
    return tuple(new), _reorder(v, orders, plan)


def _statistics(g, ggs, plan: _Plan, beta_s):
    """The per-axis statistics after ``g`` (not cast back)."""
    x = _to_plan(g, plan)
    out, k = [], 0
    for axis, pre in enumerate(plan.axes):
        if not pre:
            continue
        others = [a for a in range(x.ndim) if a != axis]
        out.append(_numerics.lerp(ggs[k], jnp.tensordot(x, x, axes=(others, others)), 1.0 - beta_s))
        k += 1
    return tuple(out)


def _soap_leaf(g, m, v, ggs, qs, count, *, b1, b2, beta_s, eps, freq, plan, correct_bias, normalize, solved=None):
    """One leaf's step. ``solved``: ``None`` (the bases are computed here) or the new bases and
    column orders, computed for all leaves at once (``spread``): the statistics are then
    ``ggs`` as given (already updated), and the orders are used on refresh steps only."""
    shape = jnp.shape(g)

    def statistics(ggs):
        return ggs if solved is not None else _statistics(g, ggs, plan, beta_s)

    dt = g.dtype

    def cast(u, m, v, ggs, qs):
        return u.astype(dt), m.astype(dt), v.astype(dt), tuple(a.astype(dt) for a in ggs), tuple(a.astype(dt) for a in qs)

    def first(_):
        new_gg = statistics(ggs)
        bases = solved[0] if solved is not None else tuple(_eigenbasis(a) for a in new_gg)
        return cast(jnp.zeros_like(g), m, v, new_gg, bases)

    def later(_):
        gp = _rotate(g, qs, plan, True)
        m1 = _numerics.lerp(m, g, 1.0 - b1).astype(dt)
        v1 = _numerics.lerp(v, gp * gp, 1.0 - b2).astype(dt)
        n = _rotate(_rotate(m1, qs, plan, True) / (jnp.sqrt(v1) + eps), qs, plan, False)
        if normalize:
            n = n / (jnp.sqrt(jnp.mean(n * n)) + eps)
        if correct_bias:
            n = n * (jnp.sqrt(_numerics.one_minus_power(b2, count)) / _numerics.one_minus_power(b1, count))
        new_gg = statistics(ggs)

        def refresh(_):
            if solved is not None:
                return solved[0], _from_plan(_reorder(_to_plan(v1, plan), solved[1], plan), plan, shape)
            new_q, vp = _power_step(new_gg, qs, _to_plan(v1, plan), plan)
            return new_q, _from_plan(vp, plan, shape)

        new_gg = tuple(a.astype(dt) for a in new_gg)
        new_q, v2 = jax.lax.cond((count % freq) == 0, refresh, lambda _: (qs, v1), None)
        # v2 comes out of the rotations, where XLA's sharding propagation picks a replicated
        # layout; a select on m1 (laid out like the params) ties it to the params' sharding
        return cast(n, m1, jnp.where(m1 == m1, v2, v2), new_gg, new_q)

    return jax.lax.cond(count == 0, first, later, None)


def _check(fn, b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim, data_format):
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    if shampoo_beta is not None:
        _validate.check_range(fn, "shampoo_beta", shampoo_beta, 0.0, 1.0)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_int(fn, "precondition_frequency", precondition_frequency, lo=1)
    _validate.check_int(fn, "max_precondition_dim", max_precondition_dim, lo=1)
    _validate.check_choice(fn, "data_format", data_format, _FORMATS)


def _solve_all(new_ggs, qs, count, freq, spread):
    """The new bases and column orders of every leaf (``spread``): at the first step the
    eigenbases, on refresh steps the power-iteration + QR bases, else the bases as they are;
    each kind of step runs its per-matrix work through ``_spread.map_jobs``."""
    jobs = [(a, b) for gg, q in zip(new_ggs, qs) for a, b in zip(gg, q)]
    sizes = [len(gg) for gg in new_ggs]

    def per_leaf(flat):
        out, start = [], 0
        for n in sizes:
            part = flat[start:start + n]
            start += n
            out.append((tuple(a for a, _ in part), tuple(b for _, b in part)))
        return out

    def keep(o):
        return o, jnp.arange(o.shape[1])

    def first():
        return per_leaf(_spread.map_jobs(lambda m, o: keep(_eigenbasis(m).astype(o.dtype)), jobs, spread))

    def refresh():
        return per_leaf(_spread.map_jobs(_power_one, jobs, spread))

    def neither():
        return per_leaf([keep(o) for _, o in jobs])

    branch = jnp.where(count == 0, 0, jnp.where((count % freq) == 0, 1, 2))
    return jax.lax.switch(branch, (first, refresh, neither))


def _scale_by_soap(fn, b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim, merge_dims,
                   precondition_1d, correct_bias, normalize_gradient, data_format, spread=None) -> GradientTransformation:
    beta_s = b2 if shampoo_beta is None else shampoo_beta

    def plan_of(x):
        return _plan(jnp.shape(x), max_precondition_dim, merge_dims, precondition_1d, data_format)

    def matrices(x, eye: bool):
        if not _numerics.is_trained(x):
            return ()
        plan = plan_of(x)
        make = jnp.eye if eye else (lambda d, dtype: jnp.zeros((d, d), dtype))
        return tuple(make(d, dtype=x.dtype) for d, pre in zip(plan.shape, plan.axes) if pre)

    def init_fn(params):
        leaves = lambda eye: jax.tree.map(lambda x: None if x is None else matrices(x, eye), params,  # noqa: E731
                                          is_leaf=is_none)
        return ScaleBySoapState(_numerics.zero_count(), _numerics.zeros_like(params), _numerics.zeros_like(params),
                                leaves(False), leaves(True))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        check_same_structure(fn, (updates, state.mu, state.nu), ("updates", "state.mu", "state.nu"))
        treedef = jax.tree.structure(updates, is_leaf=is_none)
        gs = treedef.flatten_up_to(updates)
        ms, vs = treedef.flatten_up_to(state.mu), treedef.flatten_up_to(state.nu)
        # per leaf a tuple (nnx hands tuples back as mappings)
        ggs = [as_tuple(x) for x in treedef.flatten_up_to(state.gg)]
        qs = [as_tuple(x) for x in treedef.flatten_up_to(state.q)]
        trained = [g is not None and _numerics.is_trained(g) for g in gs]
        solved = [None] * len(gs)
        if spread is not None:  # the statistics first, then every basis at once (see _spread)
            ggs = [_statistics(g, tuple(gg), plan_of(g), beta_s) if t else gg for g, gg, t in zip(gs, ggs, trained)]
            done = _solve_all([gg for gg, t in zip(ggs, trained) if t], [q for q, t in zip(qs, trained) if t],
                              state.count, precondition_frequency, spread)
            solved = [done.pop(0) if t else None for t in trained]
        out = []
        for g, m, v, gg, q, t, sol in zip(gs, ms, vs, ggs, qs, trained, solved):
            if g is None:
                out.append((None, None, None, None, None))
            elif not t:  # integer/bool leaves are not trained
                out.append((jnp.zeros_like(g), m, v, gg, q))
            else:
                out.append(_soap_leaf(g, m, v, tuple(gg), tuple(q), state.count, b1=b1, b2=b2, beta_s=beta_s, eps=eps,
                                      freq=precondition_frequency, plan=plan_of(g), correct_bias=correct_bias,
                                      normalize=normalize_gradient, solved=sol))
        u, mu, nu, gg, q = (treedef.unflatten([o[i] for o in out]) for i in range(5))
        gg, q = _spread.replicated((gg, q), spread)
        return u, ScaleBySoapState(_numerics.safe_increment(state.count), mu, nu, gg, q)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "it rotates each leaf into the eigenbases of its own per-axis statistics")


def scale_by_soap(
    b1: Any = 0.95,
    b2: Any = 0.95,
    shampoo_beta: Any = None,
    eps: Any = 1e-8,
    precondition_frequency: int = 10,
    max_precondition_dim: int = 10000,
    merge_dims: bool = False,
    precondition_1d: bool = False,
    correct_bias: bool = True,
    normalize_gradient: bool = False,
    data_format: str = "channels_first",
    *,
    spread: Any = None,
) -> GradientTransformation:
    r"""SOAP's direction (see module docstring): :math:`N_t` with its bias correction, not
    scaled by a rate, not negated. The first update is zero (it only sets the bases).

    Args:
      b1, b2: moment decays, in [0, 1).
      shampoo_beta: decay of the per-axis statistics, in [0, 1]; ``None``: ``b2``.
      eps: added to the root, >= 0.
      precondition_frequency: steps between refreshes of the bases, an int >= 1.
      max_precondition_dim: axes longer than this are not rotated, an int >= 1.
      merge_dims: merge neighbouring small axes before preconditioning.
      precondition_1d: precondition vectors too.
      correct_bias: scale by :math:`\sqrt{1-\beta_2^s}/(1-\beta_1^s)`.
      normalize_gradient: divide :math:`N_t` by its root mean square plus ``eps``.
      data_format: ``'channels_first'`` or ``'channels_last'`` (a 4-D leaf's layout, read
        with ``merge_dims`` only).
      spread: ``None``, a ``jax.sharding.Mesh`` or ``(mesh, axis name(s))``: split the
        eigendecompositions and QR refreshes of equal-shaped bases over the devices of those
        mesh axes (see the module docstring); the result is unchanged.

    Returns:
      A ``GradientTransformation`` with state ``ScaleBySoapState``.

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_soap()
      >>> state = tx.init({"w": jnp.zeros((2, 2))})
      >>> u, state = tx.update({"w": jnp.array([[1.0, 2.0], [3.0, 4.0]])}, state)  # sets the bases
      >>> print(u["w"])  # no step
      [[0. 0.]
       [0. 0.]]
      >>> u, state = tx.update({"w": jnp.array([[2.0, 0.0], [1.0, 1.0]])}, state)
      >>> print([f"{x:.3f}" for x in u["w"].ravel().tolist()])
      ['1.838', '0.318', '0.711', '0.123']

    References:
      Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade, `SOAP: Improving and
      Stabilizing Shampoo using Adam <https://arxiv.org/abs/2409.11321>`_, 2024.
    """
    fn = "scale_by_soap"
    _check(fn, b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim, data_format)
    return _scale_by_soap(fn, b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim, merge_dims,
                          precondition_1d, correct_bias, normalize_gradient, data_format, _spread.resolve(fn, spread))


def soap(
    learning_rate: ScalarOrSchedule = 3e-3,
    b1: Any = 0.95,
    b2: Any = 0.95,
    shampoo_beta: Any = None,
    eps: Any = 1e-8,
    weight_decay: Any = 1e-2,
    precondition_frequency: int = 10,
    max_precondition_dim: int = 10000,
    merge_dims: bool = False,
    precondition_1d: bool = False,
    correct_bias: bool = True,
    normalize_gradient: bool = False,
    data_format: str = "channels_first",
    *,
    spread: Any = None,
) -> GradientTransformation:
    r"""SOAP (see module docstring), pytorch_optimizer's defaults and keywords (``lr`` is
    ``learning_rate``, ``betas`` are ``b1, b2``).

    Args:
      learning_rate: a float >= 0 or a schedule.
      b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim: as in ``scale_by_soap``.
      merge_dims, precondition_1d, correct_bias, normalize_gradient, data_format: as in ``scale_by_soap``.
      spread: as in ``scale_by_soap``.
      weight_decay: decoupled decay applied after the step, >= 0.

    Returns:
      A ``GradientTransformation``; its update needs ``params`` when ``weight_decay`` > 0.
      The first update is zero (it only sets the bases, as the reference's first step).

    Raises:
      ValueError: for a bad argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}
      >>> tx = zoo.soap(0.02)
      >>> state = tx.init(params)
      >>> loss = lambda p: jnp.sum((p["w"] - jnp.arange(6.0).reshape(3, 2) / 6) ** 2) + jnp.sum(p["b"] ** 2)
      >>> update = jax.jit(tx.update)
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(loss(params)) < 0.05)
      True

    References:
      Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade, `SOAP: Improving and
      Stabilizing Shampoo using Adam <https://arxiv.org/abs/2409.11321>`_, 2024.
    """
    fn = "soap"
    _validate.check_learning_rate(fn, learning_rate)
    _check(fn, b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim, data_format)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return chain(
        _scale_by_soap("scale_by_soap", b1, b2, shampoo_beta, eps, precondition_frequency, max_precondition_dim,
                       merge_dims, precondition_1d, correct_bias, normalize_gradient, data_format,
                       _spread.resolve(fn, spread)),
        decayed_step("soap", learning_rate, weight_decay, lambda p, u, lr: (p - lr * u) * (1.0 - weight_decay * lr),
                     skip_first=True),
    )
