r"""DoG and DoWG: parameter-free step sizes from the distance travelled over the gradients seen.

DoG (Distance over Gradients, Ivgi, Hinder & Carmon 2023) treats all leaves as one vector:

.. math::

   \bar r_t = \max\Big(\bar r_{t-1}, \|x_t - x_0\|\Big), \quad \bar r_{-1} = r_\epsilon, \qquad
   G_t = \sum_{k \le t} \|g_k\|^2, \qquad
   \eta_t = \frac{\bar r_t}{\sqrt{G_t + \epsilon}}, \qquad
   x_{t+1} = x_t - c\,\eta_t\, g_t,

with :math:`c` the ``learning_rate`` (1, the paper's recommendation). ``init_step`` picks the
start: ``("distance", r)`` sets :math:`r_\epsilon = r`, ``("heuristic", a)`` sets
:math:`r_\epsilon = a (1 + \|x_0\|)` (the authors' ``reps_rel``), ``("learning_rate", e)``
makes the first step size :math:`\eta_0 = e` and :math:`r_\epsilon = 0` (their ``init_eta``).

DoWG (Distance over Weighted Gradients, Khaled, Mishchenko & Jin 2023) weighs each gradient
by the squared distance estimate:

.. math::

   \bar r_t^2 = \max\Big(\bar r_{t-1}^2, \|x_t - x_0\|^2\Big), \qquad
   v_t = v_{t-1} + \bar r_t^2 \|g_t\|^2, \qquad
   x_{t+1} = x_t - c\,\frac{\bar r_t^2}{\sqrt{v_t} + \epsilon}\, g_t,

with :math:`\bar r_{-1}^2` = ``init_estim_sq_dist`` (``eps`` when ``None``).

Both are ``optax.contrib.dog`` / ``optax.contrib.dowg`` (tested equal). DoG was also checked
against the authors' code (formll/dog, ``DoG``): the same :math:`\bar r`, :math:`G` (with
``eps`` added once), ``init_eta`` and ``reps_rel`` rules, and its ``weight_decay`` added to the
gradient before :math:`G` is the decay optax (and this module) adds in front of the scaling.
DoWG's ``eps`` in the denominator is optax's guard; the paper's Algorithm 1 has none.
Both read the distances from ``params``, so ``update`` needs them, and ``init`` must see the
real start parameters (the state keeps a copy of them).

``scale_by_distance_over_gradients`` is optax's layer-wise DoG (LDoG in the paper): the same
rule with :math:`\bar r`, :math:`G` and :math:`\eta` kept for each leaf on its own,
:math:`r_\epsilon = ` ``reps_rel`` :math:`(1 + \|x_0\|)` per leaf, and the update
``global_scale`` :math:`\cdot\,\eta\, g`. It is ``optax.scale_by_distance_over_gradients``
(tested equal), except that optax keeps :math:`G` as a shape-``(1,)`` array, so that its
update of a 0-d leaf comes out with shape ``(1,)``; here every update keeps its leaf's shape
and dtype (pinned by a test).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule, chain, identity
from .._tree import tree_map, unzip
from ..transforms._scaling import scale_by_learning_rate
from ..transforms._weight_decay import add_decayed_weights

_INIT_STEPS = ("distance", "learning_rate", "heuristic")


def _sq_norm(tree: Any) -> jax.Array:
    leaves = [jnp.sum(_numerics.abs_sq(x)) for x in jax.tree.leaves(tree) if _numerics.is_trained(x)]
    return sum(leaves) if leaves else jnp.zeros([])


def _sq_dist(a: Any, b: Any, where: str) -> jax.Array:
    diff = tree_map(lambda x, y: x - y if _numerics.is_trained(x) else x, a, b, where=where, names=("state.init_params", "params"))
    return _sq_norm(diff)


def _scaled(lr: jax.Array, updates: Any) -> Any:
    return jax.tree.map(lambda u: (lr * u).astype(u.dtype) if _numerics.is_trained(u) else u, updates)


class DoGState(NamedTuple):
    """State of ``scale_by_dog`` (optax's ``DoGState``)."""

    is_init_step: jax.Array  # bool: no update taken yet
    init_params: Any  # x_0
    max_dist: jax.Array  # \bar r
    sum_sq_norm_grads: jax.Array  # G


def _check_init_step(fn: str, init_step: Any) -> None:
    if not (isinstance(init_step, (tuple, list)) and len(init_step) == 2):
        _validate.fail(fn, "init_step", init_step, "must be a pair (tag, value)")
    _validate.check_choice(fn, "init_step[0]", init_step[0], _INIT_STEPS)
    _validate.check_positive(fn, "init_step[1]", init_step[1])


def scale_by_dog(init_step: tuple, eps: Any = 1e-8) -> GradientTransformation:
    r"""DoG's scaling: ``u = (\bar r_t / \sqrt{G_t + eps}) g_t`` (see module docstring).

    Args:
      init_step: ``(tag, value)`` with tag ``"distance"``, ``"learning_rate"`` or
        ``"heuristic"`` and value > 0 (see module docstring).
      eps: added to the sum of squared gradient norms, >= 0.

    Returns:
      A ``GradientTransformation`` with state ``DoGState``; its update needs ``params``.

    Raises:
      ValueError: for a bad ``init_step`` or a negative ``eps``; at update, without ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_dog(("learning_rate", 0.5))
      >>> p = {"w": jnp.array([1.0, 2.0])}
      >>> u, state = tx.update({"w": jnp.array([3.0, 4.0])}, tx.init(p), p)
      >>> print(u["w"])
      [1.5 2. ]

    References:
      Ivgi, Hinder & Carmon, `DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size
      Schedule <https://arxiv.org/abs/2302.12022>`_, 2023.
    """
    fn = "scale_by_dog"
    _check_init_step(fn, init_step)
    _validate.check_nonnegative(fn, "eps", eps)
    tag, value = init_step

    def init_fn(params):
        dtype = _numerics.scalar_dtype(params)
        if tag == "distance":
            r_eps = jnp.asarray(value, dtype)
        elif tag == "heuristic":
            r_eps = value * (1 + jnp.sqrt(_sq_norm(params)))
        else:
            r_eps = 0.0
        return DoGState(
            is_init_step=jnp.asarray(True),
            init_params=_numerics.copy_tree(params),
            max_dist=jnp.asarray(r_eps, dtype),
            sum_sq_norm_grads=jnp.zeros([], dtype),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates, " (DoG measures the distance from the start)")
        dist = jnp.sqrt(_sq_dist(state.init_params, params, fn))
        max_dist = jnp.maximum(state.max_dist, dist).astype(state.max_dist.dtype)
        sum_sq = (state.sum_sq_norm_grads + _sq_norm(updates)).astype(state.sum_sq_norm_grads.dtype)
        lr = max_dist / jnp.sqrt(sum_sq + eps)
        if tag == "learning_rate":
            lr = jnp.where(state.is_init_step, value, lr)
        new_state = DoGState(jnp.asarray(False), state.init_params, max_dist, sum_sq)
        return _scaled(lr, updates), new_state

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def _decay(fn: str, weight_decay: Any, mask: Any) -> GradientTransformation:
    if weight_decay is None:
        return identity()
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    return add_decayed_weights(weight_decay, mask)


def dog(
    learning_rate: ScalarOrSchedule = 1.0,
    init_step: tuple = ("heuristic", 1e-6),
    eps: Any = 1e-8,
    weight_decay: Any | None = None,
    mask: Any | Callable[[Any], Any] | None = None,
) -> GradientTransformation:
    r"""DoG: ``x <- x - c (\bar r_t / \sqrt{G_t + eps}) g_t`` (see module docstring).

    ``chain(add_decayed_weights(weight_decay, mask), scale_by_dog(init_step, eps),
    scale_by_learning_rate(learning_rate))``; no decay when ``weight_decay`` is ``None``.
    The authors recommend averaging the iterates (e.g. ``zoo.ema`` of the params).

    Args:
      learning_rate: the multiplier ``c`` (1.0; the authors advise leaving it), or a schedule.
      init_step: as in ``scale_by_dog``; ``("heuristic", 1e-6)`` (1e-4 for models with
        batch normalization, say the authors).
      eps: as in ``scale_by_dog``.
      weight_decay: ``None`` (none) or >= 0: ``weight_decay * x`` added to the gradient.
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or weight decay, or a bad ``init_step``/``eps``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.dog()  # the first steps are tiny (r_eps = 1e-6 (1 + |x_0|)), then they grow
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 0.1)
      True

    References:
      Ivgi, Hinder & Carmon, `DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size
      Schedule <https://arxiv.org/abs/2302.12022>`_, 2023.
    """
    fn = "dog"
    _validate.check_learning_rate(fn, learning_rate)
    _check_init_step(fn, init_step)
    _validate.check_nonnegative(fn, "eps", eps)
    return chain(_decay(fn, weight_decay, mask), scale_by_dog(init_step, eps), scale_by_learning_rate(learning_rate))


class DoWGState(NamedTuple):
    """State of ``scale_by_dowg`` (optax's ``DoWGState``)."""

    init_params: Any  # x_0
    weighted_sq_norm_grads: jax.Array  # v
    estim_sq_dist: jax.Array  # \bar r^2


def _check_dowg(fn: str, init_estim_sq_dist: Any, eps: Any) -> None:
    _validate.check_nonnegative(fn, "eps", eps)
    if init_estim_sq_dist is None:
        _validate.check_positive(fn, "eps", eps)  # it is then the first distance estimate
    else:
        _validate.check_positive(fn, "init_estim_sq_dist", init_estim_sq_dist)


def scale_by_dowg(init_estim_sq_dist: Any | None = None, eps: Any = 1e-4) -> GradientTransformation:
    r"""DoWG's scaling: ``u = (\bar r_t^2 / (\sqrt{v_t} + eps)) g_t`` (see module docstring).

    Args:
      init_estim_sq_dist: the first estimate of the squared distance to a solution, > 0;
        ``None`` uses ``eps``.
      eps: added to the denominator, >= 0 (> 0 when it is also the first estimate).

    Returns:
      A ``GradientTransformation`` with state ``DoWGState``; its update needs ``params``.

    Raises:
      ValueError: for a negative ``eps`` or a non-positive first estimate; at update, without
        ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_dowg(init_estim_sq_dist=1.0, eps=0.0)
      >>> p = {"w": jnp.array([1.0, 2.0])}
      >>> u, state = tx.update({"w": jnp.array([3.0, 4.0])}, tx.init(p), p)
      >>> print(u["w"])
      [0.6 0.8]

    References:
      Khaled, Mishchenko & Jin, `DoWG Unleashed: An Efficient Universal Parameter-Free
      Gradient Descent Method <https://arxiv.org/abs/2305.16284>`_, 2023.
    """
    fn = "scale_by_dowg"
    _check_dowg(fn, init_estim_sq_dist, eps)
    start = eps if init_estim_sq_dist is None else init_estim_sq_dist

    def init_fn(params):
        dtype = _numerics.scalar_dtype(params)
        return DoWGState(
            init_params=_numerics.copy_tree(params),
            weighted_sq_norm_grads=jnp.zeros([], dtype),
            estim_sq_dist=jnp.asarray(start, dtype),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates, " (DoWG measures the distance from the start)")
        sq_dist = jnp.maximum(state.estim_sq_dist, _sq_dist(state.init_params, params, fn))
        sq_dist = sq_dist.astype(state.estim_sq_dist.dtype)
        weighted = sq_dist * _sq_norm(updates) + state.weighted_sq_norm_grads
        weighted = weighted.astype(state.weighted_sq_norm_grads.dtype)
        lr = sq_dist / (jnp.sqrt(weighted) + eps)
        return _scaled(lr, updates), DoWGState(state.init_params, weighted, sq_dist)

    return _packable.elementwise(GradientTransformation(init_fn, update_fn))


def dowg(
    learning_rate: ScalarOrSchedule = 1.0,
    init_estim_sq_dist: Any | None = None,
    eps: Any = 1e-4,
    weight_decay: Any | None = None,
    mask: Any | Callable[[Any], Any] | None = None,
) -> GradientTransformation:
    r"""DoWG: ``x <- x - c (\bar r_t^2 / (\sqrt{v_t} + eps)) g_t`` (see module docstring).

    ``chain(add_decayed_weights(weight_decay, mask), scale_by_dowg(init_estim_sq_dist, eps),
    scale_by_learning_rate(learning_rate))``; no decay when ``weight_decay`` is ``None``.

    Args:
      learning_rate: the multiplier ``c`` (1.0) or a schedule.
      init_estim_sq_dist, eps: as in ``scale_by_dowg``.
      weight_decay: ``None`` (none) or >= 0: ``weight_decay * x`` added to the gradient.
      mask: where to apply weight decay, as in ``add_decayed_weights``.

    Returns:
      A ``GradientTransformation``; its update needs ``params``.

    Raises:
      ValueError: for a negative learning rate or weight decay, or a bad DoWG argument.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = jnp.array([1.0, 2.0, 3.0])
      >>> tx = zoo.dowg()
      >>> state = tx.init(params)
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(100):
      ...     updates, state = update(jax.grad(lambda p: jnp.sum(p ** 2))(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(jnp.sum(params ** 2)) < 1e-3)
      True

    References:
      Khaled, Mishchenko & Jin, `DoWG Unleashed: An Efficient Universal Parameter-Free
      Gradient Descent Method <https://arxiv.org/abs/2305.16284>`_, 2023.
    """
    fn = "dowg"
    _validate.check_learning_rate(fn, learning_rate)
    _check_dowg(fn, init_estim_sq_dist, eps)
    return chain(_decay(fn, weight_decay, mask), scale_by_dowg(init_estim_sq_dist, eps),
                 scale_by_learning_rate(learning_rate))


class ScaleByDistanceOverGradientsState(NamedTuple):
    """State of ``scale_by_distance_over_gradients`` (optax's fields), one entry per leaf."""

    max_dist: Any  # \bar r of each leaf (a scalar per leaf)
    grad_sum_of_squares: Any  # G of each leaf (a scalar per leaf)
    init_params: Any  # x_0, in ``param_dtype``


def scale_by_distance_over_gradients(
    reps_rel: Any = 1e-6, eps: Any = 1e-8, param_dtype: Any = jnp.float32, global_scale: Any = 1.0
) -> GradientTransformation:
    r"""Layer-wise DoG (LDoG): ``u = global_scale (\bar r / \sqrt{G + eps}) g`` for each leaf.

    See the module docstring; optax's ``scale_by_distance_over_gradients``. No learning rate
    to tune; the authors recommend averaging the iterates.

    Args:
      reps_rel: the first distance estimate of a leaf is ``reps_rel * (1 + |x_0|)``, > 0
        (the authors advise 1e-4 with batch normalization, 1e-6 otherwise).
      eps: added to each leaf's sum of squared gradient norms, >= 0.
      param_dtype: the dtype the start parameters are stored in (optax's default float32;
        ``None`` keeps each leaf's own).
      global_scale: multiplies every update (1.0, or -1.0 to step downhill directly).

    Returns:
      A ``GradientTransformation`` with state ``ScaleByDistanceOverGradientsState``; its
      update needs ``params``.

    Raises:
      ValueError: for a non-positive ``reps_rel`` or a negative ``eps``; at update, without
        ``params``.

    Example:
      >>> import jax.numpy as jnp, jaxopt_zoo as zoo
      >>> tx = zoo.scale_by_distance_over_gradients(reps_rel=0.5, eps=0.0)
      >>> p = {"w": jnp.array([3.0, 4.0])}
      >>> u, state = tx.update({"w": jnp.array([0.3, 0.4])}, tx.init(p), p)
      >>> print([round(float(x), 4) for x in u["w"]])  # r = 0.5 (1 + 5) = 3, G = 0.25: 3 / 0.5 * g
      [1.8, 2.4]

    References:
      Ivgi, Hinder & Carmon, `DoG is SGD's Best Friend: A Parameter-Free Dynamic Step Size
      Schedule <https://arxiv.org/abs/2302.12022>`_, 2023.
    """
    fn = "scale_by_distance_over_gradients"
    _validate.check_positive(fn, "reps_rel", reps_rel)
    _validate.check_nonnegative(fn, "eps", eps)
    param_dtype = _numerics.canonical_dtype(param_dtype)

    def store(x):
        if not _numerics.is_trained(x):
            return jnp.copy(x)
        return jnp.array(x, dtype=_numerics.accumulator_dtype(x, param_dtype), copy=True)

    def real_dtype(x):
        return jnp.real(jnp.zeros([], jnp.asarray(x).dtype)).dtype

    def init_fn(params):
        return ScaleByDistanceOverGradientsState(
            max_dist=tree_map(lambda x: jnp.asarray(reps_rel * (1 + jnp.sqrt(jnp.sum(_numerics.abs_sq(x)))),
                                                    real_dtype(x)), params),
            grad_sum_of_squares=tree_map(lambda x: jnp.zeros([], real_dtype(x)), params),
            init_params=tree_map(store, params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates, " (LDoG measures each leaf's distance from the start)")

        def leaf(g, d, sos, p, x0):
            if not _numerics.is_trained(p):
                return jnp.zeros_like(g), d, sos
            dist = jnp.sqrt(jnp.sum(_numerics.abs_sq(p - x0)))
            d = jnp.maximum(d, dist).astype(d.dtype)
            sos = (sos + jnp.sum(_numerics.abs_sq(g))).astype(sos.dtype)
            eta = global_scale * (d / jnp.sqrt(sos + eps))
            return (eta * g).astype(g.dtype), d, sos

        out = tree_map(leaf, updates, state.max_dist, state.grad_sum_of_squares, params, state.init_params, where=fn,
                       names=("updates", "state.max_dist", "state.grad_sum_of_squares", "params", "state.init_params"))
        u, d, sos = unzip(out, 3)
        return u, ScaleByDistanceOverGradientsState(d, sos, state.init_params)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "each leaf has its own distance and gradient sums (layer-wise DoG)")
