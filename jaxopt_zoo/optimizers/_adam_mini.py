r"""Adam-mini: Adam with one second moment per block of parameters instead of per entry.

For a block :math:`B` (a whole leaf, an attention head, or an embedding entry):

.. math::

   m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
   v_{B,t} = \beta_2 v_{B,t-1} + (1-\beta_2) \operatorname{mean}_{i \in B} g_{t,i}^2,

   p_t = p_{t-1}(1 - \eta\lambda) - \eta \frac{m_t}{(1-\beta_1^t)
         \bigl(\sqrt{v_{B,t}} / \sqrt{1-\beta_2^t} + \epsilon\bigr)} .

**Blocks from pytree paths.** The reference (pytorch_optimizer.AdamMini, 4.1) partitions a
torch model by its parameter names; the zoo applies the same rules to the name of each leaf's
pytree path, its keys joined by ``.`` (``{"layers": {"0": {"q_proj": {"weight": w}}}}`` names
``w`` ``layers.0.q_proj.weight``; a flat dict with dotted keys gives the same names):

* a name containing ``embed``, ``embd``, ``wte``, ``lm_head.weight`` or ``output.weight``:
  embedding/output, plain Adam (one :math:`v` per entry);
* else ``q_proj.weight``, ``k_proj.weight``, ``wq.weight`` or ``wk.weight``: query/key, one
  :math:`v` per head, the leaf cut into rows of ``num_embeds**2 // num_heads`` entries (torch's
  row-major ``(out, in)`` layout; a flax ``kernel`` is ``(in, out)``, so name it differently or
  transpose);
* else ``attn.attn.weight`` or ``attn.qkv.weight``: fused attention, the leaf seen as
  ``(num_query_groups, num_heads // num_query_groups + 2, -1)``, one :math:`v` per
  ``(group, slot)``;
* anything else: one :math:`v` for the whole leaf.

Leaves whose name contains ``norm`` or ``ln_f`` get no weight decay. The weight decay is
decoupled and applied before the step, as in the reference.

The reference keeps its moments in float32 whatever the params' dtype; the zoo keeps them in
the params' dtype (float64 runs are tested against the reference's algorithm run in float64).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .. import _numerics, _packable, _validate
from .._base import GradientTransformation, ScalarOrSchedule
from .._tree import check_same_structure

EMBED_BLOCKS = ("embed", "embd", "wte", "lm_head.weight", "output.weight")
QK_BLOCKS = ("k_proj.weight", "q_proj.weight", "wq.weight", "wk.weight")
ATTN_BLOCKS = ("attn.attn.weight", "attn.qkv.weight")
NO_DECAY = ("norm", "ln_f")


class AdamMiniState(NamedTuple):
    """State of ``adam_mini``: the step, the first moment, and one second moment per block."""

    count: jax.Array
    mu: Any
    nu: Any


def path_name(path: tuple) -> str:
    """A leaf's name: the keys of its pytree path joined by ``.`` (dict keys, attribute names,
    sequence indices)."""
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:
            parts.append(str(k))
    return ".".join(parts)


def block_kind(name: str) -> str:
    """``'embed'``, ``'qk'``, ``'attn'`` or ``'leaf'``: the reference's partition rule (see the
    module docstring)."""
    if any(b in name for b in EMBED_BLOCKS):
        return "embed"
    if any(b in name for b in QK_BLOCKS):
        return "qk"
    if any(b in name for b in ATTN_BLOCKS):
        return "attn"
    return "leaf"


def adam_mini(
    learning_rate: ScalarOrSchedule = 1.0,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 0.1,
    num_embeds: int = 2048,
    num_heads: int = 32,
    num_query_groups: int | None = None,
) -> GradientTransformation:
    r"""Adam-mini (see module docstring), pytorch_optimizer's defaults.

    Args:
      learning_rate: a float >= 0 or a schedule (default 1.0, the reference's).
      b1, b2: moment decays, in [0, 1).
      eps: added to the root, >= 0.
      weight_decay: decoupled decay, >= 0 (not applied to ``norm``/``ln_f`` leaves).
      num_embeds: model width; query/key heads hold ``num_embeds**2 // num_heads`` entries.
      num_heads: attention heads, dividing ``num_embeds``.
      num_query_groups: query groups of grouped-query attention (default ``num_heads``),
        dividing ``num_heads``.

    Returns:
      A ``GradientTransformation`` with state ``AdamMiniState``; its update needs ``params``.

    Raises:
      ValueError: for a bad argument, or a query/key or fused attention leaf whose size does
        not fit the heads.

    Example:
      >>> import jax, jax.numpy as jnp, jaxopt_zoo as zoo
      >>> params = {"embed": {"weight": jnp.ones((3, 2))}, "mlp": {"weight": jnp.ones((2, 2))}}
      >>> tx = zoo.adam_mini(0.05, weight_decay=0.0)
      >>> state = tx.init(params)
      >>> print(jax.tree.map(jnp.shape, state.nu))  # per entry for the embedding, one for mlp
      {'embed': {'weight': (3, 2)}, 'mlp': {'weight': ()}}
      >>> loss = lambda p: sum(jnp.sum(x ** 2) for x in jax.tree.leaves(p))
      >>> update = jax.jit(tx.update)  # one compile for all steps
      >>> for _ in range(60):
      ...     updates, state = update(jax.grad(loss)(params), state, params)
      ...     params = zoo.apply_updates(params, updates)
      >>> print(float(loss(params)) < 0.1)
      True

    References:
      Zhang, Chen, Li, Ding, Chen, Kingma, Ye, Luo & Sun, `Adam-mini: Use Fewer Learning Rates
      To Gain More <https://arxiv.org/abs/2406.16793>`_, 2024.
    """
    fn = "adam_mini"
    _validate.check_learning_rate(fn, learning_rate)
    _validate.check_decay(fn, "b1", b1)
    _validate.check_decay(fn, "b2", b2)
    _validate.check_nonnegative(fn, "eps", eps)
    _validate.check_nonnegative(fn, "weight_decay", weight_decay)
    _validate.check_int(fn, "num_embeds", num_embeds, lo=1)
    _validate.check_int(fn, "num_heads", num_heads, lo=1)
    groups = num_heads if num_query_groups is None else num_query_groups
    _validate.check_int(fn, "num_query_groups", groups, lo=1)
    if num_embeds % num_heads:
        _validate.fail(fn, "num_heads", num_heads, f"must divide num_embeds ({num_embeds})")
    if num_heads % groups:
        _validate.fail(fn, "num_query_groups", groups, f"must divide num_heads ({num_heads})")
    per_head = num_embeds * num_embeds // num_heads
    slots = num_heads // groups + 2

    def blocks(name, x):
        """``x`` reshaped so that its last axis runs over one block (None: no reshape)."""
        kind = block_kind(name)
        size = jnp.size(x)
        if kind == "qk":
            if size % per_head:
                _validate.fail(fn, f"params[{name!r}]", f"shape {jnp.shape(x)}",
                               f"must hold whole heads of num_embeds**2 // num_heads = {per_head} entries")
            return jnp.reshape(x, (-1, per_head))
        if kind == "attn":
            if size % (groups * slots):
                _validate.fail(fn, f"params[{name!r}]", f"shape {jnp.shape(x)}",
                               f"must split into ({groups}, {slots}, -1) for the fused attention heads")
            return jnp.reshape(x, (groups, slots, -1))
        return None

    def init_fn(params):
        def nu(path, p):
            name = path_name(path)
            kind = block_kind(name)
            if kind == "embed":
                return jnp.zeros_like(p)
            if kind in ("qk", "attn"):
                return jnp.zeros(blocks(name, p).shape[:-1], p.dtype)
            return jnp.zeros([], p.dtype)

        return AdamMiniState(_numerics.zero_count(), _numerics.zeros_like(params),
                             jax.tree_util.tree_map_with_path(nu, params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _validate.check_params(fn, params, updates)
        check_same_structure(fn, (updates, params, state.mu, state.nu), ("updates", "params", "state.mu", "state.nu"))
        count = _numerics.safe_increment(state.count)
        lr = _numerics.value_at(learning_rate, state.count)
        bc1 = _numerics.one_minus_power(b1, count)
        bc2_sq = jnp.sqrt(_numerics.one_minus_power(b2, count))

        def leaf(path, g, p, m, v):
            if not _numerics.is_trained(p):  # integer/bool leaves are not trained
                return jnp.zeros_like(p), m, v
            name = path_name(path)
            kind = block_kind(name)
            wd = 0.0 if any(s in name for s in NO_DECAY) else weight_decay
            new_p = p * (1.0 - wd * lr) if not (isinstance(wd, float) and wd == 0.0) else p
            m = _numerics.lerp(m, g, 1.0 - b1)
            if kind == "embed":
                v = v * b2 + (1.0 - b2) * g * g
                h = jnp.sqrt(v) / bc2_sq + eps
                step = (m / h) * (-lr / bc1)
            elif kind == "leaf":
                v = _numerics.lerp(v, jnp.sum(g * g) / g.size, 1.0 - b2)
                h = jnp.sqrt(v) / bc2_sq + eps
                step = -lr * (m * ((1.0 / bc1) / h))
            else:
                gb, mb = blocks(name, g), blocks(name, m)
                v = _numerics.lerp(v, jnp.mean(gb * gb, axis=-1), 1.0 - b2)
                h = jnp.sqrt(v) / bc2_sq + eps
                if kind == "qk":
                    step = -lr * ((1.0 / (h * bc1))[..., None] * mb)
                else:
                    step = -lr * (mb / (h * bc1)[..., None])
                step = jnp.reshape(step, jnp.shape(p))
            new_p = new_p + step
            dt = p.dtype
            return (new_p - p).astype(dt), m.astype(dt), v.astype(dt)

        out = jax.tree_util.tree_map_with_path(leaf, updates, params, state.mu, state.nu)
        treedef = jax.tree.structure(updates)
        flat = treedef.flatten_up_to(out)
        u, mu, nu = (treedef.unflatten([t[i] for t in flat]) for i in range(3))
        return u, AdamMiniState(count, mu, nu)

    return _packable.per_leaf(GradientTransformation(init_fn, update_fn), fn,
                              "its second moments are per leaf, head or embedding entry, chosen by path names")
