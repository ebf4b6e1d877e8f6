r"""``torch.optim.LBFGS``: up to ``max_iter`` L-BFGS iterations per update, jitted.

One ``update`` is one ``optimizer.step(closure)``: ``value_fn`` (the closure: params -> loss)
is evaluated as often as torch evaluates the closure. With the params flattened into
:math:`x` (all leaves, in tree order), :math:`g` the gradient and the pairs
:math:`s_i = t_i d_i`, :math:`y_i = g_{i+1} - g_i` kept when :math:`y_i^\top s_i > 10^{-10}`
(at most ``history_size``, the oldest dropped first), each inner iteration

* takes the direction :math:`d = -H g` by the two-loop recursion with
  :math:`H_0 = (y^\top s / y^\top y)\, I` of the newest pair (:math:`d = -g` at the very
  first iteration);
* stops if :math:`g^\top d > -\text{tolerance\_change}`;
* steps :math:`x \leftarrow x + t d` with :math:`t = \min(1, 1/\lVert g \rVert_1)\,\text{lr}`
  at the very first iteration and :math:`t = \text{lr}` after, or with ``line_search_fn=
  'strong_wolfe'`` the step torch's strong-Wolfe search (cubic interpolation, :math:`c_1 =
  10^{-4}`, :math:`c_2 = 0.9`, its own tolerance 1e-9) finds from that :math:`t`;
* stops after ``max_iter`` iterations, ``max_eval`` evaluations, when
  :math:`\max|g| \le \text{tolerance\_grad}`, :math:`\max|t d| \le \text{tolerance\_change}`
  or the loss changed by less than ``tolerance\_change``.

An update does nothing when :math:`\max|g| \le \text{tolerance\_grad}` at its start. The
direction, step, pairs and counters carry over to the next update, as torch's state does.
All of it is one ``lax.while_loop`` (the line search two nested ones), so the update jits; the
history is a ``(history_size, n)`` buffer per pair component.

Scalars follow torch: loss values and step sizes are Python floats there (JAX's default float
here), dot products are tensors of the params' dtype (so are they here).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .. import _numerics, _validate
from .._base import GradientTransformation
from . import _common

_FN = "torch_compat.LBFGS"
C1, C2, LS_TOLERANCE_CHANGE = 1e-4, 0.9, 1e-9  # torch's _strong_wolfe defaults (LBFGS passes none)


class TorchLBFGSState(NamedTuple):
    """State of ``torch_lbfgs_steps``: torch's ``optimizer.state`` of LBFGS."""

    func_evals: jax.Array  # closure evaluations so far
    n_iter: jax.Array  # inner iterations so far
    d: jax.Array  # the last direction (flat)
    t: jax.Array  # the last step size
    old_dirs: jax.Array  # (history_size, n): the y of the pairs, oldest first
    old_stps: jax.Array  # (history_size, n): the s of the pairs, oldest first
    ro: jax.Array  # (history_size,): 1 / y's
    num_old: jax.Array  # pairs held
    H_diag: jax.Array  # y's / y'y of the newest pair
    prev_flat_grad: jax.Array
    prev_loss: jax.Array


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, lo, hi):
    """torch's ``_cubic_interpolate``: the minimiser of the cubic through both points, in [lo, hi]."""
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    d2 = jnp.sqrt(jnp.maximum(d2_square, 0))
    min_pos = jnp.where(x1 <= x2, x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)),
                        x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2)))
    return jnp.where(d2_square >= 0, jnp.minimum(jnp.maximum(min_pos, lo), hi), (lo + hi) / 2.0)


def _strong_wolfe(obj, x, t, d, f, g, gtd, max_ls):
    """torch's ``_strong_wolfe``: ``(f_new, g_new, t, evals)`` at the step it accepts."""
    d_norm = jnp.max(jnp.abs(d))
    f_new, g_new = obj(x, t, d)
    gtd_new = jnp.dot(g_new, d)
    zero_t = jnp.zeros_like(t)

    # phase 1: bracket a step (bracket entries as pairs; one accepted step is both entries)
    def cond1(c):
        return (c["ls_iter"] < max_ls) & ~c["stop"]

    def body1(c):
        armijo = (c["f_new"] > f + C1 * c["t"] * gtd) | ((c["ls_iter"] > 1) & (c["f_new"] >= c["f_prev"]))
        curvature = jnp.abs(c["gtd_new"]) <= -C2 * gtd
        uphill = c["gtd_new"] >= 0
        pair = armijo | (~curvature & uphill)
        accept = ~armijo & curvature
        stop = pair | accept
        bracket = dict(b=jnp.where(accept, jnp.stack([c["t"], c["t"]]), jnp.stack([c["t_prev"], c["t"]])),
                       bf=jnp.where(accept, jnp.stack([c["f_new"], c["f_new"]]), jnp.stack([c["f_prev"], c["f_new"]])),
                       bg=jnp.where(accept, jnp.stack([c["g_new"], c["g_new"]]), jnp.stack([c["g_prev"], c["g_new"]])),
                       bgtd=jnp.stack([c["gtd_prev"], c["gtd_new"]]))

        def on():
            return {**c, **bracket, "stop": stop, "done": accept}

        def further():
            t_new = _cubic_interpolate(c["t_prev"], c["f_prev"], c["gtd_prev"], c["t"], c["f_new"], c["gtd_new"],
                                       c["t"] + 0.01 * (c["t"] - c["t_prev"]), c["t"] * 10)
            f_n, g_n = obj(x, t_new, d)
            return {**c, "t": t_new, "t_prev": c["t"], "f_prev": c["f_new"], "g_prev": c["g_new"],
                    "gtd_prev": c["gtd_new"], "f_new": f_n, "g_new": g_n, "gtd_new": jnp.dot(g_n, d),
                    "evals": c["evals"] + 1, "ls_iter": c["ls_iter"] + 1}

        return jax.lax.cond(stop, on, further)

    pair0 = lambda a, b: jnp.stack([a, b])  # noqa: E731
    c = dict(t=t, t_prev=zero_t, f_prev=f, g_prev=g, gtd_prev=gtd, f_new=f_new, g_new=g_new, gtd_new=gtd_new,
             evals=jnp.ones([], jnp.int32), ls_iter=jnp.zeros([], jnp.int32), stop=jnp.array(False),
             done=jnp.array(False), b=pair0(zero_t, t), bf=pair0(f, f_new), bg=pair0(g, g_new),
             bgtd=pair0(gtd, gtd_new))
    c = jax.lax.while_loop(cond1, body1, c)
    exhausted = c["ls_iter"] == max_ls
    b = jnp.where(exhausted, jnp.stack([zero_t, c["t"]]), c["b"])
    bf = jnp.where(exhausted, jnp.stack([f, c["f_new"]]), c["bf"])
    bg = jnp.where(exhausted, jnp.stack([g, c["g_new"]]), c["bg"])
    low = jnp.where(bf[0] <= bf[1], 0, 1)

    # phase 2: zoom in the bracket
    def cond2(z):
        return ~z["done"] & (z["ls_iter"] < max_ls) & ~z["small"]

    def body2(z):
        b, bf, bg, bgtd, low = z["b"], z["bf"], z["bg"], z["bgtd"], z["low"]
        high = 1 - low
        small = jnp.abs(b[1] - b[0]) * d_norm < LS_TOLERANCE_CHANGE

        def zoom():
            t = _cubic_interpolate(b[0], bf[0], bgtd[0], b[1], bf[1], bgtd[1], jnp.min(b), jnp.max(b))
            bmax, bmin = jnp.max(b), jnp.min(b)
            eps = 0.1 * (bmax - bmin)
            near = jnp.minimum(bmax - t, t - bmin) < eps
            move = near & (z["insuf"] | (t >= bmax) | (t <= bmin))
            moved = jnp.where(jnp.abs(t - bmax) < jnp.abs(t - bmin), bmax - eps, bmin + eps)
            t = jnp.where(move, moved, t)
            insuf = near & ~move
            f_new, g_new = obj(x, t, d)
            gtd_new = jnp.dot(g_new, d)
            worse = (f_new > f + C1 * t * gtd) | (f_new >= bf[low])
            done = ~worse & (jnp.abs(gtd_new) <= -C2 * gtd)
            flip = ~worse & ~done & (gtd_new * (b[high] - b[low]) >= 0)
            # not worse: the high end takes the low end's values if flip, then the low end the new point
            hb = jnp.where(flip, b[low], b[high])
            hf = jnp.where(flip, bf[low], bf[high])
            hg = jnp.where(flip, bg[low], bg[high])
            hgtd = jnp.where(flip, bgtd[low], bgtd[high])
            nb = jnp.where(worse, b.at[high].set(t), jnp.zeros_like(b).at[high].set(hb).at[low].set(t))
            nbf = jnp.where(worse, bf.at[high].set(f_new), jnp.zeros_like(bf).at[high].set(hf).at[low].set(f_new))
            nbg = jnp.where(worse, bg.at[high].set(g_new), jnp.zeros_like(bg).at[high].set(hg).at[low].set(g_new))
            nbgtd = jnp.where(worse, bgtd.at[high].set(gtd_new),
                              jnp.zeros_like(bgtd).at[high].set(hgtd).at[low].set(gtd_new))
            new_low = jnp.where(worse, jnp.where(nbf[0] <= nbf[1], 0, 1), low)
            return {**z, "b": nb, "bf": nbf, "bg": nbg, "bgtd": nbgtd, "low": new_low, "insuf": insuf, "done": done,
                    "evals": z["evals"] + 1, "ls_iter": z["ls_iter"] + 1}

        return jax.lax.cond(small, lambda: {**z, "small": jnp.array(True)}, zoom)

    z = dict(b=b, bf=bf, bg=bg, bgtd=c["bgtd"], low=low, insuf=jnp.array(False), done=c["done"],
             small=jnp.array(False), evals=c["evals"], ls_iter=c["ls_iter"])
    z = jax.lax.while_loop(cond2, body2, z)
    return z["bf"][z["low"]], z["bg"][z["low"]], z["b"][z["low"]], z["evals"]


def torch_lbfgs_steps(lr: Any = 1.0, max_iter: int = 20, max_eval: int | None = None, tolerance_grad: Any = 1e-7,
                      tolerance_change: Any = 1e-9, history_size: int = 100,
                      line_search_fn: str | None = None) -> GradientTransformation:
    """torch's ``LBFGS.step(closure)`` (module docstring); the output is the change of the params.

    Args:
      lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn:
        as in ``LBFGS``.

    Returns:
      A ``GradientTransformation`` with state ``TorchLBFGSState``; its update needs ``params``
      and ``value_fn=`` (params -> loss), and takes the gradient at ``params`` as ``updates``.
    """
    max_eval = max_iter * 5 // 4 if max_eval is None else max_eval

    def init_fn(params):
        flat, _ = ravel_pytree(params)
        n, dt = flat.size, flat.dtype
        st = jnp.result_type(float, dt)  # torch's Python floats
        zero = lambda: jnp.zeros([], jnp.int32)  # noqa: E731  (a buffer each: donation-safe)
        return TorchLBFGSState(zero(), zero(), jnp.zeros((n,), dt), jnp.zeros([], st), jnp.zeros((history_size, n), dt),
                               jnp.zeros((history_size, n), dt), jnp.zeros((history_size,), dt), zero(),
                               jnp.ones([], dt), jnp.zeros((n,), dt), jnp.zeros([], st))

    def update_fn(updates, state, params=None, *, value_fn: Callable | None = None, **extra_args):
        del extra_args
        _validate.check_params(_FN, params, updates, " (LBFGS evaluates value_fn around them)")
        if value_fn is None:
            raise ValueError(f"{_validate.PREFIX}{_FN}: update needs `value_fn=` (params -> loss), torch's closure; "
                             "call tx.update(grads, state, params, value_fn=loss_fn).")
        x0, unravel = ravel_pytree(params)
        flat_grad, _ = ravel_pytree(updates)
        flat_grad = flat_grad.astype(x0.dtype)
        st = state.t.dtype
        value_and_grad = jax.value_and_grad(lambda x: value_fn(unravel(x)))

        def evaluate(x):
            f, g = value_and_grad(x)
            return jnp.asarray(f).astype(st), g.astype(x0.dtype)

        def obj(x, t, d):  # torch's _directional_evaluate
            return evaluate(x + t.astype(d.dtype) * d)

        loss = jnp.asarray(value_fn(params)).astype(st)
        lr_ = jnp.asarray(lr).astype(st)
        opt_cond = jnp.max(jnp.abs(flat_grad)) <= tolerance_grad

        def body(c):
            s = c["state"]
            g = c["g"]
            n_iter, total = c["n_iter"] + 1, s.n_iter + 1
            first = total == 1

            def restart():
                h = s.H_diag.dtype
                return (-g, jnp.zeros_like(s.old_dirs), jnp.zeros_like(s.old_stps), jnp.zeros_like(s.ro),
                        jnp.zeros([], jnp.int32), jnp.ones([], h))

            def two_loop():
                y = g - s.prev_flat_grad
                sv = s.d * s.t.astype(s.d.dtype)
                ys = jnp.dot(y, sv)
                keep = ys > 1e-10
                full = s.num_old == history_size
                slot = jnp.minimum(s.num_old, history_size - 1)

                def push(buf, v):
                    buf = jnp.where(full, jnp.roll(buf, -1, axis=0), buf)
                    return buf.at[slot].set(v)

                dirs = jnp.where(keep, push(s.old_dirs, y), s.old_dirs)
                stps = jnp.where(keep, push(s.old_stps, sv), s.old_stps)
                ro = jnp.where(keep, push(s.ro, 1.0 / ys), s.ro)
                num = jnp.where(keep, jnp.minimum(s.num_old + 1, history_size), s.num_old)
                h_diag = jnp.where(keep, ys / jnp.dot(y, y), s.H_diag)

                def back(j, qa):
                    q, al = qa
                    i = num - 1 - j
                    a = jnp.dot(stps[i], q) * ro[i]
                    on = i >= 0
                    return jnp.where(on, q - a * dirs[i], q), jnp.where(on, al.at[i].set(a), al)

                q, al = jax.lax.fori_loop(0, history_size, back, (-g, jnp.zeros_like(ro)))
                r = q * h_diag

                def forward(i, r):
                    be = jnp.dot(dirs[i], r) * ro[i]
                    return jnp.where(i < num, r + (al[i] - be) * stps[i], r)

                r = jax.lax.fori_loop(0, history_size, forward, r)
                return r, dirs, stps, ro, num, h_diag

            d, dirs, stps, ro, num, h_diag = jax.lax.cond(first, restart, two_loop)
            prev_loss = c["loss"]
            t = jnp.where(first, jnp.minimum(1.0, 1.0 / jnp.sum(jnp.abs(g)).astype(st)) * lr_, lr_)
            gtd = jnp.dot(g, d)
            s = s._replace(n_iter=total, d=d, t=t, old_dirs=dirs, old_stps=stps, ro=ro, num_old=num, H_diag=h_diag,
                           prev_flat_grad=g, prev_loss=prev_loss)
            c = {**c, "state": s, "n_iter": n_iter}

            def stop():
                return {**c, "done": jnp.array(True)}

            def move():
                x = c["x"]
                if line_search_fn == "strong_wolfe":
                    loss, g_new, t_ls, evals = _strong_wolfe(obj, x, t, d, c["loss"], g, gtd,
                                                             max_eval - c["current_evals"])
                    x = x + t_ls.astype(d.dtype) * d
                    t_now = t_ls
                else:
                    x = x + t.astype(d.dtype) * d
                    t_now = t
                    last = n_iter == max_iter
                    loss, g_new = jax.lax.cond(last, lambda: (c["loss"], g), lambda: evaluate(x))
                    evals = jnp.where(last, 0, 1).astype(jnp.int32)
                opt = jnp.max(jnp.abs(g_new)) <= tolerance_grad
                current = c["current_evals"] + evals
                done = ((n_iter == max_iter) | (current >= max_eval) | opt
                        | (jnp.max(jnp.abs(d * t_now.astype(d.dtype))) <= tolerance_change)
                        | (jnp.abs(loss - prev_loss) < tolerance_change))
                new_s = s._replace(t=t_now, func_evals=s.func_evals + evals)
                return {**c, "state": new_s, "x": x, "loss": loss, "g": g_new, "current_evals": current, "done": done}

            return jax.lax.cond(gtd > -tolerance_change, stop, move)

        start = {"state": state._replace(func_evals=state.func_evals + 1), "x": x0, "loss": loss, "g": flat_grad,
                 "n_iter": jnp.zeros([], jnp.int32), "current_evals": jnp.ones([], jnp.int32), "done": opt_cond}
        out = jax.lax.while_loop(lambda c: ~c["done"] & (c["n_iter"] < max_iter), body, start)
        new_state = _numerics.keep_dtype(out["state"], state)
        return _numerics.keep_dtype(unravel(out["x"] - x0), updates), new_state

    return GradientTransformation(init_fn, update_fn)


def LBFGS(lr: Any = 1, max_iter: int = 20, max_eval: int | None = None, tolerance_grad: float = 1e-7,
          tolerance_change: float = 1e-9, history_size: int = 100, line_search_fn: str | None = None, *,
          param_groups: Any = None) -> GradientTransformation:
    r"""``torch.optim.LBFGS`` (see module docstring): torch's keywords, defaults and numbers.

    Its update is torch's ``step(closure)``: ``tx.update(grads, state, params, value_fn=loss_fn)``
    with ``grads`` the gradient of ``loss_fn`` at ``params``; the updates move the params
    through all the inner iterations.

    Args:
      lr: the step size (scaling the first step, and the line search's first trial), a float
        >= 0, a schedule (its value at the update's count) or a ``ReduceLROnPlateau``.
      max_iter: inner iterations per update, an integer >= 1.
      max_eval: closure evaluations per update (default ``max_iter * 5 // 4``), >= 1.
      tolerance_grad: stop when the gradient's largest entry is at most this, >= 0.
      tolerance_change: stop when the step's largest entry or the loss change is smaller, >= 0.
      history_size: pairs kept, an integer >= 1 (the state holds ``2 * history_size`` flat
        copies of the params).
      line_search_fn: None (fixed steps) or ``'strong_wolfe'``.
      param_groups: torch's LBFGS takes one param group only (it raises otherwise): a list
        here raises too; give the keywords to ``LBFGS`` itself.

    Returns:
      A ``GradientTransformation`` whose update needs ``params`` and ``value_fn=``.

    Raises:
      ValueError: for a negative lr or tolerance, non-positive max_iter, max_eval or
        history_size, an unknown line_search_fn, or ``param_groups``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> from jaxopt_zoo import torch_compat as tc
      >>> loss = lambda p: jnp.sum((p["w"] - jnp.array([1.0, -2.0])) ** 2 * jnp.array([1.0, 4.0]))
      >>> tx = tc.LBFGS(lr=1.0, max_iter=20, line_search_fn="strong_wolfe")
      >>> params = {"w": jnp.zeros(2)}
      >>> updates, state = tx.update(jax.grad(loss)(params), tx.init(params), params, value_fn=loss)
      >>> print([round(float(x), 4) for x in zoo.apply_updates(params, updates)["w"]])
      [1.0, -2.0]

    References:
      Liu & Nocedal, `On the limited memory BFGS method for large scale optimization
      <https://doi.org/10.1007/BF01589116>`_, 1989.
      Nocedal & Wright, *Numerical Optimization*, 2nd ed., 2006 (algorithms 7.4, 3.5, 3.6).
    """
    if param_groups is not None:
        _validate.fail(_FN, "param_groups", param_groups,
                       "is not supported: torch.optim.LBFGS takes one param group only (it raises too); give the "
                       "keywords to LBFGS itself")
    _common.check_lr(_FN, lr)
    _validate.check_int(_FN, "max_iter", max_iter, 1)
    if max_eval is not None:
        _validate.check_int(_FN, "max_eval", max_eval, 1)
    _common.check_constant(_FN, "tolerance_grad", tolerance_grad)
    _common.check_constant(_FN, "tolerance_change", tolerance_change)
    _validate.check_int(_FN, "history_size", history_size, 1)
    _validate.check_choice(_FN, "line_search_fn", line_search_fn, (None, "strong_wolfe"))

    def core(h):
        return torch_lbfgs_steps(h["lr"], int(max_iter), None if max_eval is None else int(max_eval), tolerance_grad,
                                 tolerance_change, int(history_size), line_search_fn)

    return _common.make({"lr": lr}, core, per_leaf=(_FN, "its line search and history act on the whole flat vector"),
                        forward=("value_fn",))
