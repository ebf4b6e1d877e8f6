r"""The fused Adam / AdamW / NAdam step on one packed 1-D chunk as a Pallas kernel (GPU, TPU).

The accelerator counterpart of ``adam_cpu.cc``: the same step, the same operands and the same
``hyper`` vector of scalars, written with ``jax.experimental.pallas`` so that one kernel reads
p, g, m, v once and writes p, m, v over their own buffers. For every element of the chunk:

.. code-block:: text

   g    = (g / n) * c                    only when clip == 2 (clip_by_global_norm to c; n is
                                         the global norm of all the grads, computed before)
   m'   = c1 g + b1 m                    c1 = 1 - b1
   v'   = c2 g^2 + b2 v                  c2 = 1 - b2
          (bfloat16 moments: b1, b2 rounded to bfloat16 first, the products kept in float32,
           m' and v' stored rounded to bfloat16 -- what XLA makes of the unfused path)
   with bc1 = 1 - b1^t, bc2 = 1 - b2^t (t: the new step count), r1 = 1/bc1, r2 = 1/bc2:
   m^   = m'/bc1, or with nesterov (NAdam, Dozat):  b1 m'/(1 - b1^(t+1)) + c1 g/bc1
   form 0:  a = (m^ as products with r1, r1n) / (sqrt(v' r2 + eps_root) + eps)
   form 1:  a = (m^ as quotients by bc1, bc1n) / (sqrt(v'/bc2 + eps_root) + eps)
            (without nesterov: m' / (bc1 (sqrt(v'/bc2 + eps_root) + eps)))
   a    = a + wd p                       only when decay != 0 (AdamW)
   apply form:   p' = p + a s            s: -lr, or the schedule's value at this step
   update form:  u  = a s                (the caller adds u to p)

``hyper`` is the vector of ``adam_cpu.cc`` (``HYPER`` names its 22 entries, in order):
``[c1, b1, c2, b2, r1, r2, eps_root, eps, wd, s, decay, form, bc1, bc2, clip, n, c, nesterov,
r1n, bc1n, b1_lo, b2_lo]``, where ``clip`` is 0 without clip_by_global_norm, 1 when the norm
``n`` is below ``c`` and 2 when the grads are scaled; ``form`` says which of XLA's two
rewrites of the bias-corrected ratio the unfused path compiled to; ``b1_lo``, ``b2_lo`` are b1
and b2 rounded to bfloat16. The caller computes it exactly as for the CPU kernel
(``transforms/_packed._adam_scalars``), in the params' dtype (float32 for float32 chunks, as
the CPU kernel takes it; float64 for float64 chunks). The flags are read at run time, as the
CPU kernel does, so jit's cache is not keyed on the hyperparameters.

Layout (``pallas_common``'s, as for the other kernels): blocks of ``block_size`` elements, a
masked ragged last block, ``hyper`` as one extra operand padded to 32 entries (in SMEM on TPU),
m and v aliased to m' and v' and, in the apply form, p to p' (the update form reads p but leaves
it), lowered through Triton on GPU.

Numbers. The kernel makes the floating-point choices of XLA's CPU program for the unfused
path (``packed_apply``'s pure-JAX path), as ``adam_cpu.cc`` does, pinned in interpret mode as
``pallas_common`` describes (the scalars and the divisors behind optimization barriers -- true
divisions where the program divides: ``form`` 1, the clipping -- and each sum of two products
whose side matters written with the other side a select, ``pallas_common.fma``).

Which side the unfused program contracts depends on that program and on XLA's pipeline: with
clip_by_global_norm in the chain m' on ``c1 g`` under XLA's default CPU pipeline but on ``b1 m``
under its legacy emitters (``--xla_cpu_use_fusion_emitters=false``, the test suite's
fast-compile flag), NAdam's sum likewise (``_legacy_cpu_emitters`` reads XLA_FLAGS to follow
it), and NAdam's sum on ``c1 g/bc1`` with bfloat16 moments.

Measured in interpret mode (``packed_apply`` with ``JAXOPT_ZOO_PALLAS=interpret`` against its
pure-JAX path, 20 steps from the same params and state; Adam, AdamW, NAdam, NAdamW,
clip_by_global_norm + AdamW and + NAdamW with a schedule, each with float32 and bfloat16
moments; one chunk and three; x64 off and on; under the suite's flags): p' and the state
within 1 ulp in every case (the moments bit-identical, p' 0 or 1 ulp). The same for the
momentum, Lion and RMSprop kernels (``pallas_momentum.py``, ``pallas_lion.py``,
``pallas_rms.py``): bit-identical. tests/test_kernels_pallas.py asserts it on a selection
(6 steps). Under XLA's default CPU pipeline (not the suite's; measured once, not tested)
NAdam on float32 moments (up to ~80 ulps of p', with or without clipping) and
clip_by_global_norm with bfloat16 moments (up to ~11) differ, the rest is within 1 ulp.

On a GPU or TPU the same source goes to Triton or Mosaic, which pick their own contractions
(see ``pallas_common``).

Dispatch (``transforms/_packed.py``): ``packed_apply`` runs ``adam_apply_chunk_pallas`` per chunk
(the chunk raveled; p, m, v in place) and ``packed``'s Adam update path ``adam_chunk_pallas``,
with the very ``hyper`` of ``_adam_scalars``, for the chains and buffers the CPU kernels take
(float32 params, float32 or bfloat16 moments, one device), when ``JAXOPT_ZOO_PALLAS`` says so:
on a GPU or TPU with ``JAXOPT_ZOO_PALLAS=1`` (opt-in while it has never run on one; where
``JAXOPT_ZOO_KERNELS`` lets the kernel run), and in interpret mode on any backend with
``JAXOPT_ZOO_PALLAS=interpret`` (a testing aid: it runs the wiring and the numbers on CPU;
slow). Per-leaf grads (``packed_apply``'s multi-tensor form) are packed first.

Not benchmarked, and never compiled for or run on a GPU or TPU: this machine has neither (the
tests lower it for CUDA, ROCm and a TPU; see ``pallas_common``). Before enabling it there, run
tests/test_kernels_pallas.py on the device with ``ZOO_PALLAS_INTERPRET=0`` and measure it
against XLA's packed path.

Example:
  >>> import jax.numpy as jnp
  >>> from jaxopt_zoo._kernels import pallas_adam
  >>> n = 3000  # ragged: two blocks of 2048, the second one partly outside the chunk
  >>> hyper = pallas_adam.hyper_vector(b1=0.9, b2=0.999, eps=1e-8, s=-0.1, t=1)
  >>> p, m, v = pallas_adam.adam_apply_chunk_pallas(
  ...     jnp.ones(n), jnp.ones(n), jnp.zeros(n), jnp.zeros(n), hyper, block_size=2048, interpret=True)
  >>> print(p.shape, [round(float(x[-1]), 4) for x in (p, m, v)])  # one step of 0.1 with g = 1
  (3000,) [0.9, 0.1, 0.001]
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

from . import pallas_common as common

# The entries of ``hyper``, in order (adam_cpu.cc's layout).
HYPER = ("c1", "b1", "c2", "b2", "r1", "r2", "eps_root", "eps", "wd", "s", "decay", "form", "bc1", "bc2",
         "clip", "n", "c", "nesterov", "r1n", "bc1n", "b1_lo", "b2_lo")
_I = {name: i for i, name in enumerate(HYPER)}


def _legacy_cpu_emitters() -> bool:
    """Whether XLA_FLAGS turn XLA's CPU fusion emitters off (``--xla_cpu_use_fusion_emitters=false``,
    the test suite's fast-compile flag): XLA then contracts the unfused float32 first moment of
    a chain with clip_by_global_norm on ``b1 m`` (on ``c1 g`` under its default pipeline, as
    ``adam_cpu.cc``), and NAdam's sum always on ``b1 m'/bc1n`` (under its default pipeline only
    with weight decay). Read when a step is traced; XLA itself reads XLA_FLAGS once, at start."""
    return "--xla_cpu_use_fusion_emitters=false" in os.environ.get("XLA_FLAGS", "").split()


def _step(hi, p, g, m, v, *, pin: bool, apply: bool, legacy: bool = False):
    """The step on one block (arrays) with the scalars ``hi(i)``: ``(p' or u, m', v')``.

    The sums of two products are contracted on the side XLA's CPU program of the unfused path
    contracts them (``adam_cpu.cc``'s, but for ``legacy``); which side depends on the run-time
    flags, so the operands are selected first and the sum is written once (``common.fma``).
    """

    def h(name):
        return hi(_I[name])

    f = p.dtype
    bf16_state = m.dtype == jnp.bfloat16
    clip = h("clip")
    g = common.clipped(hi, g, _I["clip"], _I["n"], _I["c"], pin)
    g2 = g * g
    # m' = c1 g + b1 m on c1 g; on b1 m instead where XLA's pipeline does so for the unfused
    # program (``legacy``: with clip_by_global_norm in the chain, under its legacy CPU emitters).
    on_b1m = jnp.logical_and(clip != 0, legacy and not bf16_state)
    if bf16_state:  # b1 m meets a bfloat16 array: b1 rounds to bfloat16, XLA keeps the product in float32
        b1, mf = h("b1_lo"), m.astype(f)
        v1 = common.fma(g2, h("c2"), v.astype(f) * h("b2_lo"), pin)
    else:
        b1, mf = h("b1"), m
        # With clip_by_global_norm in the chain XLA contracts v' on b2 v instead.
        clipped = clip != 0
        v1 = common.fma(jnp.where(clipped, v, g2), jnp.where(clipped, h("b2"), h("c2")),
                        jnp.where(clipped, g2 * h("c2"), v * h("b2")), pin)
    m1 = common.fma(jnp.where(on_b1m, mf, g), jnp.where(on_b1m, b1, h("c1")), jnp.where(on_b1m, h("c1") * g, mf * b1), pin)
    form1 = h("form") != 0
    decay = h("decay") != 0
    # form 0: products with the reciprocals; form 1: quotients (see the module docstring).
    den = jnp.where(form1, jnp.sqrt(common.div(v1, h("bc2"), pin) + h("eps_root")), jnp.sqrt(v1 * h("r2") + h("eps_root"))) + h("eps")
    plain = jnp.where(form1, m1 / (h("bc1") * den), (m1 * h("r1")) / den)
    # NAdam: m^ = b1 m'/bc1n + c1 g/bc1, contracted on b1 (m'/bc1n) with weight decay, on
    # c1 (g/bc1) without (as adam_cpu.cc); always on b1 (m'/bc1n) under the legacy emitters;
    # always on c1 (g/bc1) with bfloat16 moments.
    mb = jnp.where(form1, common.div(m1, h("bc1n"), pin), m1 * h("r1n"))
    gb = jnp.where(form1, common.div(g, h("bc1"), pin), g * h("r1"))
    on_mb = jnp.logical_and(jnp.logical_or(decay, legacy), not bf16_state)
    mh = common.fma(jnp.where(on_mb, mb, gb), jnp.where(on_mb, h("b1"), h("c1")),
                    jnp.where(on_mb, gb * h("c1"), mb * h("b1")), pin)
    a = jnp.where(h("nesterov") != 0, mh / den, plain)
    a = jnp.where(decay, common.fma(p, h("wd"), a, pin), a)
    out = common.fma(a, h("s"), p, pin) if apply else a * h("s")
    return out, m1.astype(m.dtype), v1.astype(v.dtype)


def _check(p, g, m, v, hyper) -> None:
    if not (p.ndim == g.ndim == m.ndim == v.ndim == 1 and p.shape == g.shape == m.shape == v.shape):
        raise ValueError(f"jaxopt_zoo.adam_chunk_pallas: p, g, m and v must be 1-D chunks of one size, got "
                         f"{p.shape}, {g.shape}, {m.shape}, {v.shape}")
    if p.dtype not in (jnp.float32, jnp.float64) or g.dtype != p.dtype:
        raise ValueError(f"jaxopt_zoo.adam_chunk_pallas: p and g must be float32 or float64 of one dtype, got "
                         f"{p.dtype}, {g.dtype}")
    if m.dtype != v.dtype or m.dtype not in (p.dtype, jnp.bfloat16):
        raise ValueError(f"jaxopt_zoo.adam_chunk_pallas: m and v must have the params' dtype or bfloat16, got "
                         f"{m.dtype}, {v.dtype}")
    if hyper.shape != (len(HYPER),):
        raise ValueError(f"jaxopt_zoo.adam_chunk_pallas: hyper must hold {len(HYPER)} scalars, got shape {hyper.shape}")


def _run(p, g, m, v, hyper, apply, block_size, interpret, fn):
    p, g, m, v, hyper = (jnp.asarray(x) for x in (p, g, m, v, hyper))
    _check(p, g, m, v, hyper)
    # apply and legacy are static switches of _step, as hashable pairs: jit compiles once per shape.
    static = (("apply", apply), ("legacy", bool(interpret) and _legacy_cpu_emitters()))
    return common.launch(_step, "jaxopt_zoo_adam", fn, p, g, (m, v), hyper, block_size=block_size,
                         interpret=interpret, alias_p=apply, static=static)


def adam_apply_chunk_pallas(p: jax.Array, g: jax.Array, m: jax.Array, v: jax.Array, hyper: jax.Array, *,
                            block_size: int | None = None, interpret: bool = False) -> tuple:
    """One fused Adam step applied to a 1-D chunk of params: returns ``(p', m', v')``.

    The Pallas form of the CPU kernel's apply handler (see the module docstring for the math
    and ``hyper``). p, m and v are aliased to p', m' and v' (in place under jit with them donated).

    Args:
      p, g: params and grads, 1-D, float32 or float64, one size.
      m, v: the moments, of the params' dtype or bfloat16.
      hyper: the 22 scalars of ``HYPER`` (cast to the params' dtype).
      block_size: elements per program, a power of two >= 1024 (smaller for a smaller chunk);
        default ``pallas_common.BLOCK_SIZE`` of the platform.
      interpret: run the kernel through Pallas' interpreter (any backend, e.g. CPU for tests);
        else compile it for the default backend, which must be a GPU or TPU.

    Returns:
      ``(p', m', v')`` of the dtypes of ``(p, m, v)``.

    Raises:
      ValueError: on chunks of different sizes or unsupported dtypes, a bad ``block_size``, or
        ``interpret=False`` on a backend without Pallas kernels (CPU).
    """
    return _run(p, g, m, v, hyper, True, block_size, interpret, "adam_apply_chunk_pallas")


def adam_chunk_pallas(p: jax.Array, g: jax.Array, m: jax.Array, v: jax.Array, hyper: jax.Array, *,
                      block_size: int | None = None, interpret: bool = False) -> tuple:
    """One fused Adam step on a 1-D chunk: returns the update and the moments ``(u, m', v')``.

    The Pallas form of ``_kernels.adam_chunk`` (the CPU kernel's update handler, for
    ``packed``'s ``tx.update``): the same arguments and results; m and v are aliased to m', v'.
    Arguments as ``adam_apply_chunk_pallas``.
    """
    return _run(p, g, m, v, hyper, False, block_size, interpret, "adam_chunk_pallas")


def apply_chunk_pallas(kernel: str, p: jax.Array, g: jax.Array, state: tuple, hyper: jax.Array, *,
                       block_size: int | None = None, interpret: bool = False) -> tuple:
    """``_kernels.apply_chunk``'s signature for the Adam kernels: ``(p', m', v')``.

    ``kernel`` is ``"adam_apply"`` (moments of the params' dtype) or ``"adam_apply_bf16_state"``
    (bfloat16 moments); ``state`` is ``(m, v)``.
    """
    if kernel not in ("adam_apply", "adam_apply_bf16_state"):
        raise ValueError(f"jaxopt_zoo.apply_chunk_pallas: argument `kernel` has no Pallas kernel, got {kernel!r}")
    m, v = state
    return adam_apply_chunk_pallas(p, g, m, v, hyper, block_size=block_size, interpret=interpret)


def hyper_vector(*, b1: float, b2: float, eps: float, s, t, eps_root: float = 0.0, wd: float | None = None,
                 form: int = 0, clip: int = 0, n=1.0, c=1.0, nesterov: bool = False, dtype=jnp.float32) -> jax.Array:
    """A ``hyper`` vector from the hyperparameters and the new step count ``t`` (for examples
    and tests; ``packed`` builds its own with the unfused path's expressions)."""
    bc1, bc2, bc1n = (jnp.asarray(1 - b ** jnp.asarray(k), dtype) for b, k in ((b1, t), (b2, t), (b1, t + 1)))
    values = dict(c1=1 - b1, b1=b1, c2=1 - b2, b2=b2, r1=1 / bc1, r2=1 / bc2, eps_root=eps_root, eps=eps,
                  wd=0.0 if wd is None else wd, s=s, decay=float(wd is not None), form=form, bc1=bc1, bc2=bc2,
                  clip=clip, n=n, c=c, nesterov=float(nesterov), r1n=1 / bc1n, bc1n=bc1n,
                  b1_lo=jnp.asarray(b1, jnp.bfloat16), b2_lo=jnp.asarray(b2, jnp.bfloat16))
    return jnp.stack([jnp.asarray(values[k], dtype) for k in HYPER])
