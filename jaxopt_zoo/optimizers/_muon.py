r"""Muon: momentum orthogonalized by Newton–Schulz, with Adam for the non-matrix leaves.

For a weight matrix :math:`W \in \mathbb{R}^{m \times n}` used as :math:`y = xW` (rows: the
reduction axis, fan-in; columns: the output axis, fan-out) and its gradient :math:`G_t`:

.. math::

   M_t = \beta M_{t-1} + (1-\beta) G_t, \qquad
   \tilde M_t = \begin{cases} \beta M_t + (1-\beta) G_t & \text{nesterov} \\ M_t & \text{else}\end{cases}

   X_0 = \tilde M_t / (\lVert \tilde M_t \rVert_F + \epsilon), \qquad
   X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^\top \qquad (k < K)

   O_t = s \cdot X_K, \qquad
   s = \begin{cases} \sqrt{\max(1, n/m)} & \text{(Jordan's width scaling)} \\
                     r \sqrt{\max(m, n)} & \text{(consistent RMS } r\text{, Liu et al. 2025)}\end{cases}

   W_t = W_{t-1} - \eta_t (O_t + \lambda W_{t-1}).

The quintic Newton–Schulz iteration (coefficients :math:`(a, b, c) = (3.4445, -4.7750,
2.0315)` by default, or one row per step as in the ``'dion'`` preset) maps the singular values
of :math:`X_0` towards 1, approximating the orthogonal polar factor :math:`UV^\top` of
:math:`\tilde M_t = U\Sigma V^\top`; a wide matrix is iterated as is, a tall one transposed.
``preconditioning`` chooses the first normalisation: Frobenius (above), spectral norm,
AOL row rescaling (Boissin et al. 2025) or the Schatten-4 norm (Grishina et al. 2025).

N-D leaves (conv kernels, stacked layers) are orthogonalised through
``MuonDimensionNumbers(reduction_axis, output_axis)``: the reduction axes are flattened into
the rows, the output axes into the columns, and every other axis is a batch axis over which
independent matrices are orthogonalised; :math:`m, n` above are then the products of the
reduction and output axis sizes. In ``muon``, leaves without dimension numbers (by default:
every leaf that is not 2-D) are updated by AdamW with ``adam_learning_rate``.

**optax's numbers by default; the authors' form on request.** The defaults are optax's, so
``zoo.muon(...)`` equals ``optax.contrib.muon(...)`` (float64 to 1e-10 over 120 steps,
tests/reference/test_muon.py). The authors' code
(`KellerJordan/Muon <https://github.com/KellerJordan/Muon>`_, ``muon_update`` and
``adam_update``; Moonshot's Moonlight code does the same) differs in two places, each a switch:

* ``bias_correction=False``: no bias correction of the momentum. optax divides :math:`M_t` by
  :math:`1-\beta^t` (and, with Nesterov, :math:`M_t` by :math:`1-\beta^{t+1}` and :math:`G_t` by
  :math:`1-\beta^t`), which changes the relative weight of the new gradient in the first few
  dozen steps and so the direction that is orthogonalised.
* ``adam_nesterov=False``: the auxiliary Adam is plain Adam. optax passes Muon's ``nesterov``
  (default ``True``) on to its AdamW, so the non-matrix leaves get NAdamW (``adam_nesterov=None``,
  the default, follows ``nesterov``).

``muon(..., bias_correction=False, adam_nesterov=False)`` is the authors' algorithm (checked
against a float64 transliteration of their code; the test also pins the difference from optaxin tests/reference/test_muon.py). Like
optax, and unlike the authors' CUDA code, the iteration runs in the momentum's dtype, not
in bfloat16; the conv-kernel reshaping is the explicit one of the dimension numbers (the
authors' code flattens a 4-D torch kernel into (out, in·kh·kw), i.e.
``MuonDimensionNumbers(reduction_axis=(0, 1, 2), output_axis=3)`` for a flax (kh, kw, in, out)
kernel).

**Across devices** (``spread=``). The Newton–Schulz chains (:math:`O(K m^2 n)` per matrix,
every step) are the cost; the matrices of all leaves with the same (wide) shape and dtype are
already stacked and iterated as one batched chain. Under ``jit`` with FSDP-sharded params XLA
partitions each chain along the sharded axis (partial Gram matrices and all-reduces, equal to
the single-device result to rounding); with replicated params every device runs every chain.
With ``spread=mesh`` (or ``(mesh, axis)``) each stack is padded with (rectangular) identities
to a multiple of the :math:`N` devices on the axis and run under ``shard_map``, each device
iterating a contiguous :math:`1/N` of it (``jaxopt_zoo/_spread.py``); the results are gathered
back. Per device a stack of :math:`B` matrices costs :math:`\lceil B/N \rceil` chains instead of
:math:`B`. The matrices are the same, but XLA:CPU rounds a batched matmul and a one-matrix one
apart in the last bit, so the spread update equals the unspread one to float32 rounding, not
bit for bit (checked, params replicated, on 8 simulated devices in
``tests/sharding_checks.py``, with the per-device batch of the dots read from the compiled
program). Limits: under ``jit`` over global arrays only, not inside a ``shard_map``/``pmap``
over the same axis; balance within each shape group.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _spread, _validate
from .._base import EmptyState, GradientTransformation, chain
from .._tree import check_same_structure, is_none
from ..transforms._combine import PartitionState
from ..transforms._masking import MaskedNode, masked
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._weight_decay import add_decayed_weights
from ._adam import adamw

DEFAULT_NS_COEFFS = (3.4445, -4.7750, 2.0315)
DION_NS_COEFFS = (
    (4.0848, -6.8946, 2.9270),
    (3.9505, -6.3029, 2.6377),
    (3.7418, -5.5913, 2.3037),
    (2.8769, -3.1427, 1.2046),
    (2.8366, -3.0525, 1.2012),
)
# optax's preset names (its docstring says 'muon', its code and this library say 'standard').
NS_COEFFS_PRESETS = {"standard": DEFAULT_NS_COEFFS, "dion": DION_NS_COEFFS}
PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a weight are its matrix rows (reduction) and columns (output).

    The default ``(0, 1)`` is a ``y = x @ W`` matrix. Every axis named by neither is a batch
    axis: one matrix per index is orthogonalised. Axes may be negative, and a tuple of axes
    is flattened into one matrix dimension.
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


class MuonState(NamedTuple):
    """State of ``scale_by_muon``."""

    count: jax.Array  # int32 scalar, saturating
    mu: Any  # the momentum
    ns_coeffs: jax.Array  # (3,) or (steps, 3): the Newton-Schulz coefficients


def _is_dims(x: Any) -> bool:
    """A ``MuonDimensionNumbers`` (this library's or optax's: any namedtuple with its fields)."""
    return isinstance(x, tuple) and getattr(x, "_fields", None) == MuonDimensionNumbers._fields


class _Box:
    """A pytree leaf holding a per-leaf value (so ``None`` and tuples survive tree maps)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _per_leaf(spec: Any, tree: Any, is_spec_leaf: Callable[[Any], bool]) -> list:
    """Broadcast ``spec`` (a prefix of ``tree``) to a list with one entry per leaf of ``tree``.

    ``None`` leaves of ``tree`` (frozen parameters) count as leaves.
    """
    boxed = jax.tree.map(
        lambda s, sub: jax.tree.map(lambda _: _Box(s), sub, is_leaf=is_none),
        spec, tree, is_leaf=lambda x: x is None or is_spec_leaf(x),
    )
    return [b.value for b in jax.tree.leaves(boxed, is_leaf=lambda x: isinstance(x, _Box))]


def _axes(x: jax.Array, dims: MuonDimensionNumbers, fn: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if x.ndim < 2:
        _validate.fail(fn, "weight_dimension_numbers", dims, f"can only be given for leaves of rank >= 2 (a leaf has shape {x.shape})")
    as_tuple = lambda a: (a,) if isinstance(a, int) else tuple(a)  # noqa: E731
    red = tuple(a % x.ndim for a in as_tuple(dims.reduction_axis))
    out = tuple(a % x.ndim for a in as_tuple(dims.output_axis))
    if set(red) & set(out) or not red or not out:
        _validate.fail(fn, "weight_dimension_numbers", dims,
                       f"must name disjoint, non-empty reduction and output axes (leaf shape {x.shape})")
    return red, out


def _fans(x: jax.Array, dims: MuonDimensionNumbers, fn: str) -> tuple[int, int]:
    red, out = _axes(x, dims, fn)
    return math.prod(x.shape[a] for a in red), math.prod(x.shape[a] for a in out)


def _as_matrices(x: jax.Array, dims: MuonDimensionNumbers, fn: str):
    """``x`` as a (batch, fan_in, fan_out) stack, and the function that puts it back."""
    red, out = _axes(x, dims, fn)
    batch = tuple(a for a in range(x.ndim) if a not in red and a not in out)
    order = batch + red + out
    sizes = lambda axes: tuple(x.shape[a] for a in axes)  # noqa: E731
    stacked = x.transpose(order).reshape(math.prod(sizes(batch)), math.prod(sizes(red)), math.prod(sizes(out)))
    inverse = tuple(sorted(range(x.ndim), key=lambda i: order[i]))
    return stacked, lambda y: y.reshape(sizes(batch) + sizes(red) + sizes(out)).transpose(inverse)


# ------------------------------------------------------------------------- Newton-Schulz


def _quintic(x, c, a=None):
    """One step ``c0 X + (c1 A + c2 A^2) X`` with ``A = X X^H`` (given or computed)."""
    if a is None:
        a = x @ x.T.conj()
    b = c[1] * a + (c[2] * a) @ a
    return c[0] * x + b @ x


def _first_step(x, c, preconditioning, eps):
    if preconditioning == "aol":  # rescale row i by 1/sqrt(sum_j |A_ij|): AOL, Boissin et al.
        a = x @ x.T.conj()
        s = jax.lax.rsqrt(jnp.clip(jnp.abs(a).sum(axis=-1), min=eps))[:, None]
        return _quintic(x * s, c, a * s * s.T)
    if preconditioning == "schatten":  # divide by the Schatten-4 norm ||X X^T||_F^(1/2)
        a = x @ x.T
        s = jax.lax.rsqrt(jnp.clip(jnp.linalg.norm(a, ord="fro"), min=eps))
        return _quintic(x * s, c, a * s**2)
    return _quintic(x, c)


def orthogonalize_via_newton_schulz(
    x: jax.Array,
    ns_coeffs: jax.Array,
    ns_steps: int = 5,
    preconditioning: str = "frobenius",
    eps: Any = 1e-8,
    dimension_numbers: MuonDimensionNumbers | None = None,
) -> jax.Array:
    """The approximate orthogonal polar factor of ``x`` (see the module docstring).

    Args:
      x: a matrix, or an N-D array with ``dimension_numbers``.
      ns_coeffs: shape (3,) (used ``ns_steps`` times) or (k, 3) (one row per step).
      ns_steps: the number of steps for (3,) coefficients.
      preconditioning: 'frobenius', 'spectral', 'aol' or 'schatten'.
      eps: added to the normalising norm (floor of the AOL/Schatten rescaling).
      dimension_numbers: how to see ``x`` as a stack of matrices (default: ``x`` is one).

    Returns:
      An array shaped like ``x``.
    """
    fn = "orthogonalize_via_newton_schulz"
    if dimension_numbers is None:
        if x.ndim != 2:
            _validate.fail(fn, "x", x.shape, "must be a matrix, or come with `dimension_numbers`")
        dimension_numbers = MuonDimensionNumbers()
    _validate.check_choice(fn, "preconditioning", preconditioning, PRECONDITIONINGS)
    coeffs = jnp.asarray(ns_coeffs)
    if coeffs.ndim not in (1, 2) or coeffs.shape[-1] != 3:
        _validate.fail(fn, "ns_coeffs", coeffs.shape, "must have shape (3,) or (n, 3)")

    return _orthogonalize_many([x], [dimension_numbers], coeffs, ns_steps, preconditioning, eps, fn)[0]


def _orthogonalize_many(xs, dims, coeffs, ns_steps, preconditioning, eps, fn, spread=None) -> list:
    """``orthogonalize_via_newton_schulz`` of every ``xs[i]`` with ``dims[i]``, in one batched
    iteration per matrix shape: the matrices of all leaves that share a (wide) shape and dtype
    are stacked, so a model's many equal-shaped layers cost one chain of batched matmuls (and
    one compile) instead of one chain each. Each matrix is still iterated on its own. With
    ``spread`` (a resolved ``(mesh, axes)``) each stack is split over the devices
    (``_spread.vmap``)."""

    def one(m):  # a wide matrix (rows <= columns)
        if preconditioning == "frobenius":
            m = m / (jnp.linalg.norm(m, ord="fro") + eps)
        elif preconditioning == "spectral":
            m = m / (jnp.linalg.norm(m, ord=2) + eps)
        c = coeffs.astype(m.dtype)
        rows = [c] * ns_steps if c.ndim == 1 else [c[i] for i in range(c.shape[0])]
        for i, ci in enumerate(rows):
            m = _first_step(m, ci, preconditioning, eps) if i == 0 else _quintic(m, ci)
        return m

    backs, groups = [], {}
    for i, (x, d) in enumerate(zip(xs, dims)):
        stacked, back = _as_matrices(x, d, fn)
        tall = stacked.shape[1] > stacked.shape[2]  # iterate X^T: the Gram matrix is the smaller one
        stacked = stacked.swapaxes(1, 2) if tall else stacked
        backs.append((back, tall))
        groups.setdefault((stacked.shape[1:], stacked.dtype), []).append((i, stacked))
    out = [None] * len(xs)
    for members in groups.values():
        stacked = members[0][1] if len(members) == 1 else jnp.concatenate([m for _, m in members])
        result, start = _spread.vmap(one, stacked, spread), 0
        for i, m in members:
            r, start = result[start:start + m.shape[0]], start + m.shape[0]
            back, tall = backs[i]
            out[i] = back(r.swapaxes(1, 2) if tall else r)
    return out


def _check_ns(fn: str, ns_coeffs: Any, ns_steps: Any) -> Any:
    """The coefficient array of a preset name or a (3,) / (k, 3) value, checked."""
    if isinstance(ns_coeffs, str):
        _validate.check_choice(fn, "ns_coeffs", ns_coeffs, tuple(NS_COEFFS_PRESETS))
        ns_coeffs = NS_COEFFS_PRESETS[ns_coeffs]
    _validate.check_int(fn, "ns_steps", ns_steps, lo=1)
    try:
        shape = jnp.shape(jnp.asarray(ns_coeffs))
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) not in (1, 2) or shape[-1] != 3:
        _validate.fail(fn, "ns_coeffs", ns_coeffs, "must be a preset name, 3 coefficients or a sequence of (a, b, c) rows")
    if len(shape) == 2 and not 1 <= shape[0] <= ns_steps:
        # optax's rule: k rows are k steps (ns_steps is then ignored) and k must not exceed ns_steps.
        _validate.fail(fn, "ns_coeffs", ns_coeffs, f"must have between 1 and ns_steps={ns_steps} rows")
    return ns_coeffs


def _check_scalars(fn: str, beta: Any, eps: Any, preconditioning: str) -> None:
    _validate.check_decay(fn, "beta", beta)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_choice(fn, "preconditioning", preconditioning, PRECONDITIONINGS)


def scale_by_muon(
    ns_coeffs: Any = DEFAULT_NS_COEFFS,
    ns_steps: int = 5,
    beta: Any = 0.95,
    eps: Any = 1e-8,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    weight_dimension_numbers: Any = None,
    bias_correction: bool = True,
    spread: Any = None,
) -> GradientTransformation:
    r"""Momentum, then Newton–Schulz orthogonalisation of every leaf (see the module docstring).

    ``O_t = NS(\tilde M_t)``; with ``adaptive``, ``O_t <- <\tilde M_t, O_t> O_t`` (the dual-norm
    scaling of Bernstein & Newhouse 2024). No shape scaling and no learning rate: ``muon`` adds
    those.

    Args:
      ns_coeffs: (a, b, c), a sequence of such rows (one per step, at most ``ns_steps``), or a
        preset name ('standard', 'dion').
      ns_steps: the number of Newton–Schulz steps, >= 1 (ignored for a sequence of rows).
      beta: the momentum decay, in [0, 1).
      eps: added to the normalising norm, >= 0.
      mu_dtype: dtype of the momentum (``None``: the parameter's).
      nesterov: orthogonalise ``beta M_t + (1 - beta) G_t`` instead of ``M_t``.
      adaptive: scale by the inner product of the momentum and its orthogonalisation.
      preconditioning: 'frobenius', 'spectral', 'aol' or 'schatten'.
      weight_dimension_numbers: ``MuonDimensionNumbers`` for every leaf (a tree with the
        structure of the params or a prefix of it, or a callable ``params -> such a tree``);
        ``None``: every leaf is a matrix.
      bias_correction: divide the momentum by ``1 - beta^t`` as optax does; ``False`` is the
        authors' uncorrected momentum.
      spread: ``None``, a ``jax.sharding.Mesh`` or ``(mesh, axis name(s))``: split the
        Newton–Schulz iterations of equal-shaped matrices over the devices of those mesh
        axes (see the module docstring); the result is unchanged.

    Returns:
      A ``GradientTransformation`` with state ``MuonState``.

    Raises:
      ValueError: for a bad argument; at ``update``, for a leaf that is not a matrix and has
        no dimension numbers.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_muon()
      >>> g = jnp.array([[3.0, 0.0], [0.0, 0.5]])
      >>> o, _ = tx.update(g, tx.init(g))
      >>> print(o.round(1))  # the singular values 3 and 0.5 both move close to 1
      [[0.7 0. ]
       [0.  1. ]]

    References:
      Jordan et al., `Muon: An optimizer for hidden layers in neural networks
      <https://kellerjordan.github.io/posts/muon/>`_, 2024.
      Bernstein & Newhouse, `Old Optimizer, New Norm: An Anthology
      <https://arxiv.org/abs/2409.20325>`_, 2024.
    """
    fn = "scale_by_muon"
    ns_coeffs = _check_ns(fn, ns_coeffs, ns_steps)
    _check_scalars(fn, beta, eps, preconditioning)
    spread = _spread.resolve(fn, spread)
    mu_dtype = _numerics.canonical_dtype(mu_dtype)

    def init_fn(params):
        return MuonState(_numerics.zero_count(), _numerics.zeros_like(params, dtype=mu_dtype), jnp.asarray(ns_coeffs))

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        spec = weight_dimension_numbers(updates) if callable(weight_dimension_numbers) else weight_dimension_numbers
        leaves, treedef = jax.tree.flatten(updates, is_leaf=is_none)
        dims = [MuonDimensionNumbers()] * len(leaves) if spec is None else _per_leaf(spec, updates, _is_dims)
        check_same_structure(fn, (updates, state.mu), ("updates", "state.mu"))
        mus = jax.tree.leaves(state.mu, is_leaf=is_none)
        count = _numerics.safe_increment(state.count)
        new_mu, hats, todo = [], [], []
        for i, (g, m, d) in enumerate(zip(leaves, mus, dims)):
            if g is None:
                new_mu.append(None)
                continue
            if not _is_dims(d):
                _validate.fail(fn, "weight_dimension_numbers", d, f"must give MuonDimensionNumbers for every leaf (shape {g.shape})")
            if spec is None and g.ndim != 2:
                _validate.fail(fn, "weight_dimension_numbers", spec,
                               f"must be given for a leaf that is not a matrix (shape {g.shape})")
            m_new = _numerics.update_moment(g, m, beta, 1)
            if bias_correction:
                hat = _numerics.first_moment_hat(m_new, g, beta, count, nesterov)
            else:
                hat = beta * m_new + (1 - beta) * g if nesterov else m_new
            new_mu.append(jnp.asarray(m_new).astype(m.dtype))
            hats.append(hat)
            todo.append(i)
        ortho = _orthogonalize_many(hats, [dims[i] for i in todo], state.ns_coeffs, ns_steps, preconditioning, eps, fn,
                                    spread)
        out = [None] * len(leaves)
        for i, hat, o in zip(todo, hats, ortho):
            if adaptive:
                o = jnp.sum(hat.conj() * o) * o
            out[i] = o.astype(leaves[i].dtype)
        mu = jax.tree.unflatten(jax.tree.structure(state.mu, is_leaf=is_none), new_mu)
        return treedef.unflatten(out), MuonState(count, mu, state.ns_coeffs)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "scale_by_muon", "it orthogonalizes each matrix leaf")


def _scale_by_shape(dims: Any, consistent_rms: Any) -> GradientTransformation:
    """Multiply each orthogonalised leaf by its width factor (module docstring); stateless.

    ``dims``: the dimension numbers, a tree like the params (or a prefix of it)."""

    def factor(x, d):
        fan_in, fan_out = _fans(x, d, "muon")
        if consistent_rms is None:
            return math.sqrt(max(1.0, fan_out / fan_in))
        return math.sqrt(max(fan_in, fan_out)) * consistent_rms

    def update_fn(updates, state, params=None, **extra_args):
        del params, extra_args
        leaves, treedef = jax.tree.flatten(updates, is_leaf=is_none)
        scaled = [None if u is None else u * jnp.asarray(factor(u, d)).astype(u.dtype)
                  for u, d in zip(leaves, _per_leaf(dims, updates, _is_dims))]
        return treedef.unflatten(scaled), state

    return GradientTransformation(lambda params: EmptyState(), update_fn)


def muon(
    learning_rate: Any,
    ns_coeffs: Any = DEFAULT_NS_COEFFS,
    ns_steps: int = 5,
    beta: Any = 0.95,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    weight_decay_mask: Any = None,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    adam_b1: Any = 0.9,
    adam_b2: Any = 0.999,
    adam_eps_root: Any = 0.0,
    adam_weight_decay: Any = 0.0,
    adam_learning_rate: Any = None,
    muon_weight_dimension_numbers: Any = None,
    consistent_rms: Any = None,
    bias_correction: bool = True,
    adam_nesterov: bool | None = None,
    spread: Any = None,
) -> GradientTransformation:
    r"""Muon on the matrix leaves, AdamW on the others (see the module docstring).

    Matrix leaves: ``p <- p - lr_t (s · NS(\tilde M_t) + weight_decay · p)``. Other leaves:
    ``adamw(adam_learning_rate, adam_b1, adam_b2, eps, adam_eps_root, mu_dtype,
    adam_weight_decay, nesterov=adam_nesterov)``.

    Args:
      learning_rate: a float >= 0 or a schedule (in units of spectral norm per step).
      ns_coeffs, ns_steps, beta, mu_dtype, nesterov, adaptive, preconditioning: as in ``scale_by_muon``.
      eps: as in ``scale_by_muon``; also Adam's eps.
      bias_correction: as in ``scale_by_muon``.
      weight_decay: decoupled decay of the Muon leaves, multiplied by the learning rate, >= 0.
      weight_decay_mask: booleans (a tree like the params, a prefix of it, or a callable
        ``params -> such a tree``): which Muon leaves decay (``None``: all).
      adam_b1, adam_b2: Adam's decays, in [0, 1).
      adam_eps_root: Adam's eps inside the root, >= 0.
      adam_weight_decay: AdamW's decoupled decay, >= 0.
      adam_learning_rate: Adam's learning rate or schedule (``None``: ``learning_rate``).
      muon_weight_dimension_numbers: ``MuonDimensionNumbers`` per leaf, ``None`` for the
        leaves Adam updates (a tree like the params, a prefix of it, or a callable
        ``params -> such a tree``); ``None``: Muon for every 2-D leaf, Adam for the rest.
      consistent_rms: ``None`` for Jordan's width scaling ``sqrt(max(1, fan_out/fan_in))``, or
        ``r > 0`` for ``r sqrt(max(fan_in, fan_out))`` (0.2 matches AdamW's update RMS).
      adam_nesterov: NAdamW instead of AdamW for the other leaves; ``None`` (optax's rule):
        as ``nesterov``; ``False``: the authors' plain Adam.
      spread: as in ``scale_by_muon``.

    Returns:
      A ``GradientTransformation`` with state ``PartitionState`` (optax's layout:
      ``inner_states["muon"]``, the Muon chain's ``MaskedState``, Adam's leaves masked out,
      and ``inner_states["adam"]``, AdamW's, the Muon leaves masked out); its update needs
      ``params``.

    Raises:
      ValueError: for a bad argument or bad dimension numbers.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
      >>> loss = lambda p: jnp.sum((jnp.ones(4) @ p["w"] + p["b"] - jnp.arange(3.0)) ** 2)
      >>> tx = zoo.muon(0.05)  # w (a matrix): Muon; b: NAdamW (optax's rule)
      >>> state, start = tx.init(params), loss(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(f"{start:.1f} -> {loss(params):.2f}")
      29.0 -> 0.01

    References:
      Jordan et al., `Muon: An optimizer for hidden layers in neural networks
      <https://kellerjordan.github.io/posts/muon/>`_, 2024; code:
      `KellerJordan/Muon <https://github.com/KellerJordan/Muon>`_.
      Liu et al., `Muon is Scalable for LLM Training <https://arxiv.org/abs/2502.16982>`_, 2025.
      Boissin et al., `Turbo-Muon <https://arxiv.org/abs/2512.04632>`_, 2025 (AOL).
      Ahn et al., `Dion: Distributed Orthonormalized Updates <https://arxiv.org/abs/2504.05295>`_, 2025.
    """
    fn = "muon"
    _validate.check_learning_rate(fn, learning_rate)
    if adam_learning_rate is not None:
        _validate.check_learning_rate(fn, adam_learning_rate, "adam_learning_rate")
    ns_coeffs = _check_ns(fn, ns_coeffs, ns_steps)
    _check_scalars(fn, beta, eps, preconditioning)
    for arg, value in (("adam_b1", adam_b1), ("adam_b2", adam_b2)):
        _validate.check_decay(fn, arg, value)
    for arg, value in (("weight_decay", weight_decay), ("adam_eps_root", adam_eps_root),
                       ("adam_weight_decay", adam_weight_decay)):
        _validate.check_nonnegative(fn, arg, value)
    if consistent_rms is not None:
        _validate.check_positive(fn, "consistent_rms", consistent_rms)
    adam_lr = learning_rate if adam_learning_rate is None else adam_learning_rate
    _spread.resolve(fn, spread)

    def plan(tree):
        """For ``tree``: its dimension numbers per leaf (None: Adam), the Muon and Adam masks
        and the weight-decay mask, each a tree with the structure of ``tree``."""
        leaves, treedef = jax.tree.flatten(tree, is_leaf=is_none)
        spec = muon_weight_dimension_numbers
        spec = spec(tree) if callable(spec) else spec
        if spec is None:
            dims = [None if x is None or jnp.ndim(x) != 2 else MuonDimensionNumbers() for x in leaves]
        else:
            dims = _per_leaf(spec, tree, _is_dims)
            for d in dims:
                if d is not None and not _is_dims(d):
                    _validate.fail(fn, "muon_weight_dimension_numbers", d, "must hold MuonDimensionNumbers or None")
        mask = weight_decay_mask
        mask = mask(tree) if callable(mask) and not isinstance(mask, (dict, list, tuple)) else mask
        decay = None if mask is None else treedef.unflatten(_per_leaf(mask, tree, lambda x: isinstance(x, bool)))
        on = treedef.unflatten([x is not None and d is not None for x, d in zip(leaves, dims)])
        off = treedef.unflatten([x is not None and d is None for x, d in zip(leaves, dims)])
        return treedef.unflatten(dims), on, off, decay

    def build(tree):
        """The two masked branches, as ``multi_transform`` would make them (and optax does)."""
        dims, on, off, decay = plan(tree)
        muon_tx = chain(
            scale_by_muon(ns_coeffs, ns_steps, beta, eps, mu_dtype, nesterov=nesterov, adaptive=adaptive,
                          preconditioning=preconditioning, weight_dimension_numbers=lambda _: dims,
                          bias_correction=bias_correction, spread=spread),
            _scale_by_shape(dims, consistent_rms),
            add_decayed_weights(weight_decay, decay),
            scale_by_learning_rate(learning_rate),
        )
        adam_tx = adamw(adam_lr, adam_b1, adam_b2, eps, adam_eps_root, mu_dtype, adam_weight_decay,
                        nesterov=nesterov if adam_nesterov is None else adam_nesterov)
        return masked(muon_tx, on), masked(adam_tx, off)

    def init_fn(params):
        muon_tx, adam_tx = build(params)
        return PartitionState({"muon": muon_tx.init(params), "adam": adam_tx.init(params)})

    def update_fn(updates, state, params=None, **extra_args):
        if not jax.tree.leaves(updates):  # nothing to update (an empty or all-frozen tree)
            return updates, state
        if params is None:
            raise ValueError(f"{_validate.PREFIX}muon: update needs `params`.")
        # The state's tree (the Muon momentum, Adam's leaves masked out) must be the updates'.
        had = jax.tree.structure(jax.tree.map(lambda _: 0, state.inner_states["muon"].inner_state[0].mu,
                                              is_leaf=lambda x: isinstance(x, MaskedNode) or x is None))
        given = jax.tree.structure(jax.tree.map(lambda _: 0, updates,  # masked-out leaves (MaskedNode) count as leaves
                                                is_leaf=lambda x: isinstance(x, MaskedNode) or x is None))
        if had != given:
            raise ValueError(f"{_validate.PREFIX}muon: the structure of `updates` does not match the structure "
                             f"of `state`; was the state made by init on parameters like these?\n"
                             f"  updates: {jax.tree.structure(updates, is_leaf=is_none)}\n  state: {had}")
        muon_tx, adam_tx = build(updates)
        updates, s_on = muon_tx.update(updates, state.inner_states["muon"], params, **extra_args)
        updates, s_off = adam_tx.update(updates, state.inner_states["adam"], params, **extra_args)
        return updates, PartitionState({"muon": s_on, "adam": s_off})

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), "muon", "it orthogonalizes each matrix leaf")
