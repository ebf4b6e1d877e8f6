r"""``torch.optim.Muon``: momentum, then Newton–Schulz orthogonalisation, for matrices only.

With :math:`G` the gradient of an :math:`A \times B` matrix, momentum :math:`\mu`, the lr
:math:`\eta_k` and weight decay :math:`\lambda`:

.. math::

   M_k = \text{lerp}(M_{k-1}, G_k, 1 - \mu), \qquad
   \tilde M_k = \begin{cases} \text{lerp}(G_k, M_k, \mu) & \text{nesterov} \\ M_k & \text{else} \end{cases}

   O_k = \mathrm{NS}^{(a,b,c)}_{n}(\tilde M_k), \qquad
   P_k = P_{k-1}(1 - \eta_k \lambda) - \eta_k\, r(A, B)\, O_k

with :math:`r = \sqrt{\max(1, A/B)}` (``adjust_lr_fn`` None or ``'original'``) or
:math:`0.2 \sqrt{\max(A, B)}` (``'match_rms_adamw'``). The momentum buffer is an EMA (torch's
``lerp_``), not the running sum its documentation shows. :math:`\mathrm{NS}` normalises
:math:`X = \tilde M / \max(\lVert \tilde M \rVert_F, \epsilon)` (transposed when
:math:`A > B`) and applies ``ns_steps`` times
:math:`X \leftarrow aX + (bXX^\top + c(XX^\top)^2)X` — in **bfloat16**, as torch does: the
matrices are rounded to bfloat16, each product is accumulated in float32 and rounded back,
the same roundings as torch's CPU kernels (tested equal to the last bit). The bfloat16
:math:`O_k` then enters the params' dtype.

torch takes 2-D params only; so does this: any other leaf raises, naming it. For a model
with biases and embeddings, give those leaves another optimizer (``zoo.partition``), as
torch's documentation advises. optax's ``contrib.muon`` (``zoo.muon``) differs: it runs
Newton–Schulz in the params' dtype, reshapes N-D leaves and sends the rest to Adam.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _numerics, _validate
from .._base import GradientTransformation, chain
from .._tree import tree_map, unzip
from . import _common
from ._groups import with_param_groups

_FN = "torch_compat.Muon"
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


class ScaleByTorchMuonState(NamedTuple):
    """State of ``torch_muon_step``."""

    momentum_buffer: Any  # torch's ``state['momentum_buffer']``


def check_matrices(params: Any) -> None:
    """Raise naming the first leaf that is not a matrix (torch.optim.Muon raises too)."""
    for path, x in jax.tree_util.tree_leaves_with_path(params):
        if jnp.ndim(x) != 2:
            _validate.fail(_FN, "params", f"{jax.tree_util.keystr(path)} of shape {tuple(jnp.shape(x))}",
                           "must hold 2-D leaves only (torch.optim.Muon raises too); give the other leaves "
                           "another optimizer, e.g. with zoo.partition")


def _split(beta: float) -> tuple[float, float]:
    """``float32(beta)`` as ``hi + lo``, ``hi`` of 16 significant bits and ``lo`` of 8 (Veltkamp)."""
    b = np.float32(beta)
    tmp = np.float32(b * np.float32(257.0))
    hi = np.float32(tmp - np.float32(tmp - b))
    return float(hi), float(np.float32(b - hi))


def _fma(beta: float, c: jax.Array, t: jax.Array) -> jax.Array:
    """``float32(beta) * c + t`` rounded once (as an fma): ``c`` bfloat16 values, ``t`` float32.

    torch's CPU ``addmm`` on bfloat16 ends with ``fma(beta, c, alpha * acc)`` in float32. The
    product of a float32 and a bfloat16 needs 32 bits: it is split into two exact float32
    products, summed with the rounding error of the first sum kept (TwoSum), in float32 only
    (so also with x64 off).
    """
    hi, lo = _split(beta)
    p1, p2 = hi * c, lo * c  # exact: 16 + 8 and 8 + 8 significant bits
    s = t + p1
    back = s - t
    err = (t - (s - back)) + (p1 - back)
    return s + (err + p2)


def newton_schulz_bf16(g: jax.Array, ns_coefficients: tuple, ns_steps: int, eps: Any) -> jax.Array:
    """torch's ``_zeropower_via_newtonschulz``: its bfloat16 roundings, float32 accumulation."""
    a, b, c = ns_coefficients
    bf, f32 = jnp.bfloat16, jnp.float32
    x = g.astype(bf)
    wide = g.shape[0] > g.shape[1]
    if wide:
        x = x.T
    norm = jnp.sqrt(jnp.sum(jnp.square(x.astype(f32)))).astype(bf)
    norm = jnp.maximum(norm, jnp.asarray(eps).astype(bf))
    x = (x.astype(f32) / norm.astype(f32)).astype(bf)
    dot = lambda u, v: jnp.dot(u, v, preferred_element_type=f32, precision=jax.lax.Precision.HIGHEST)  # noqa: E731
    c32 = f32(np.float32(c))
    for _ in range(ns_steps):
        gram = dot(x, x.T).astype(bf)
        poly = _fma(b, gram.astype(f32), c32 * dot(gram, gram)).astype(bf)  # addmm(gram, gram, gram, beta=b, alpha=c)
        x = _fma(a, x.astype(f32), dot(poly, x)).astype(bf)  # addmm(x, poly, x, beta=a)
    return x.T if wide else x


def adjust_ratio(adjust_lr_fn: str | None, shape: tuple) -> float:
    """torch's ``_adjust_lr`` factor for a matrix of ``shape``."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return math.sqrt(max(1.0, rows / cols))


def torch_muon_step(lr: Any, weight_decay: Any = 0.1, momentum: Any = 0.95, nesterov: bool = True,
                    ns_coefficients: tuple = (3.4445, -4.7750, 2.0315), eps: Any = 1e-7, ns_steps: int = 5,
                    adjust_lr_fn: str | None = None) -> GradientTransformation:
    """torch's Muon step (module docstring); the output is ``P_k - P_{k-1}``.

    Args:
      lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps, adjust_lr_fn: as
        in ``Muon``.

    Returns:
      A ``GradientTransformation`` with state ``ScaleByTorchMuonState``; its update needs
      ``params`` when ``weight_decay`` is not 0.
    """

    def init_fn(params):
        check_matrices(params)
        return ScaleByTorchMuonState(_numerics.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        check_matrices(updates)
        decay = not _common.is_zero(weight_decay)
        if decay:
            _validate.check_params(_FN, params, updates, " (Muon decays the parameters)")

        def leaf(g, buf, p):
            buf = _numerics.lerp(buf, g, (1 - momentum)).astype(buf.dtype)
            m = _numerics.lerp(g, buf, momentum).astype(g.dtype) if nesterov else buf
            o = newton_schulz_bf16(m, ns_coefficients, ns_steps, eps).astype(g.dtype)
            step = -(lr * adjust_ratio(adjust_lr_fn, g.shape))
            if not decay:
                return jnp.asarray(step).astype(g.dtype) * o, buf
            new_p = p * (1 - lr * weight_decay).astype(p.dtype) + jnp.asarray(step).astype(p.dtype) * o
            return new_p - p, buf

        ps = params if decay else jax.tree.map(lambda _: None, updates)
        out, bufs = unzip(tree_map(leaf, updates, state.momentum_buffer, ps, where=_FN,
                                   names=("updates", "state.momentum_buffer", "params")), 2)
        return out, ScaleByTorchMuonState(_numerics.keep_dtype(bufs, state.momentum_buffer))

    return GradientTransformation(init_fn, update_fn)


@with_param_groups(_FN)
def Muon(lr: Any = 1e-3, weight_decay: float = 0.1, momentum: Any = 0.95, nesterov: bool = True,
         ns_coefficients: tuple = (3.4445, -4.775, 2.0315), eps: float = 1e-7, ns_steps: int = 5,
         adjust_lr_fn: str | None = None) -> GradientTransformation:
    r"""``torch.optim.Muon`` (see module docstring): torch's keywords, defaults and numbers.

    Args:
      lr: a float >= 0, a schedule or a ``ReduceLROnPlateau``.
      weight_decay: decoupled decay ``P <- P (1 - lr * weight_decay)``, >= 0.
      momentum: the EMA factor of the momentum buffer, >= 0, or a schedule (OneCycleLR's).
      nesterov: orthogonalise ``lerp(G, M, momentum)`` instead of ``M``.
      ns_coefficients: ``(a, b, c)`` of the quintic Newton–Schulz iteration.
      eps: the floor of the Frobenius norm the matrix is divided by, >= 0.
      ns_steps: Newton–Schulz iterations, an integer in [0, 100).
      adjust_lr_fn: None or ``'original'`` (``sqrt(max(1, A/B))``) or ``'match_rms_adamw'``
        (``0.2 sqrt(max(A, B))``), the factor of the lr for an ``A x B`` matrix.

    Returns:
      A ``GradientTransformation`` for trees of 2-D leaves; ``init`` and ``update`` raise a
      ValueError naming a leaf of another rank.

    Raises:
      ValueError: for a negative lr, weight decay, momentum or eps, ns_steps outside [0, 100),
        ns_coefficients not a triple, or an unknown adjust_lr_fn.

    Example:
      >>> from jaxopt_zoo import torch_compat as tc
      >>> tx = tc.Muon(lr=0.02)
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"w": jnp.array([[1.0, -2.0, 0.5], [0.5, 3.0, -1.0]])}
      >>> updates, state = tx.update(params, tx.init(params), params)  # gradient = params
      >>> print([round(float(p), 4) for p in zoo.apply_updates(params, updates)["w"].ravel()])
      [0.9828, -1.988, 0.4984, 0.4896, 2.982, -0.9931]

    References:
      Jordan et al., `Muon: An optimizer for hidden layers in neural networks
      <https://kellerjordan.github.io/posts/muon/>`_, 2024.
      Liu et al., `Muon is Scalable for LLM Training <https://arxiv.org/abs/2502.16982>`_, 2025.
    """
    _common.check_lr(_FN, lr)
    _common.check_constant(_FN, "weight_decay", weight_decay)
    if momentum is None:
        _validate.fail(_FN, "momentum", momentum, "must be a float >= 0 or a schedule")
    _validate.check_nonnegative(_FN, "momentum", momentum)
    _common.check_constant(_FN, "eps", eps)
    if not isinstance(ns_coefficients, (tuple, list)) or len(ns_coefficients) != 3:
        _validate.fail(_FN, "ns_coefficients", ns_coefficients, "must be a triple (a, b, c)")
    _validate.check_int(_FN, "ns_steps", ns_steps, 0)
    _validate.check_range(_FN, "ns_steps", ns_steps, 0, 100, hi_open=True)
    _validate.check_choice(_FN, "adjust_lr_fn", adjust_lr_fn, ADJUST_LR_FNS)
    coefficients = tuple(float(c) for c in ns_coefficients)

    def core(h):
        return chain(torch_muon_step(h["lr"], weight_decay, h["momentum"], nesterov, coefficients, eps, int(ns_steps),
                                     adjust_lr_fn))

    return _common.make({"lr": lr, "momentum": momentum}, core,
                        per_leaf=(_FN, "it orthogonalises each matrix leaf"))
