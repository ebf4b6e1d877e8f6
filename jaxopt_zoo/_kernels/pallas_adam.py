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

Layout: the chunk is cut into blocks of ``block_size`` elements (a power of two, at least
1024: Triton needs power-of-two blocks, TPU tiles 32-bit 1-D arrays by 1024; ``BLOCK_SIZE`` has
a default per platform), one program per block over a 1-D grid of ``cdiv(n, block)``. A
ragged last block is masked, not padded (padding would copy the whole chunk): on GPU, Triton's
loads and stores do not stop at the array's end, so the kernel masks its lanes past ``n``
(``pltriton.load``/``store``; interpret mode runs the same masks); on TPU, Mosaic clips the
last block's copies to the array. The scalars ride along as one extra operand, padded to 32
entries (Triton needs power-of-two shapes): a vector every program reads whole on GPU, in SMEM
on TPU. p, m and v (m and v for the update form) are aliased to their outputs
(``input_output_aliases``): with the chunk donated under jit, the step runs in place. On GPU
the kernel is lowered through Triton (``pltriton.CompilerParams``): this JAX lowers
``pallas_call`` to Mosaic GPU by default, which needs Hopper and is deprecated for
``pallas_call``; Triton takes this plain blocked kernel on Ampere and on ROCm as well.

Numbers. The kernel makes the floating-point choices of XLA's CPU program for the unfused
path (``packed_apply``'s pure-JAX path), as ``adam_cpu.cc`` does: the same operations in the
same order and dtypes, each sum of two products contracted into a fused multiply-add on the
same side, true divisions where the program divides (``form`` 1, the clipping). JAX has no FMA
primitive and XLA decides the contractions and rewrites of the program it compiles, so in
interpret mode (``interpret=True``: the body becomes part of the caller's XLA CPU program) the
kernel is written to leave XLA no choice -- found by measurement, not guaranteed by XLA:

* the scalars pass ``jax.lax.optimization_barrier`` (``_call``): inlined into the caller's
  program, they would be constants that XLA folds into the body, which it then contracts
  otherwise;
* each sum of two products whose side matters is written ``a' b' + c'`` with the operands
  selected by run-time flags (``jnp.where``), so one side is a select, not a product, and only
  the other can be contracted (``_fma``);
* a divisor that is a scalar passes an optimization barrier, which keeps XLA's simplifier from
  turning the division into a product with the reciprocal (``_div``). (XLA drops the barriers
  after its simplifier, before fusion: they cost nothing at run time.)

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
(and XLA's GPU/TPU compilers those of the unfused path), so whether they agree there, and to
how many ulps, can only be measured on the device.

Dispatch (``transforms/_packed.py``): ``packed_apply`` runs ``adam_apply_chunk_pallas`` per chunk
(the chunk raveled; p, m, v in place) and ``packed``'s Adam update path ``adam_chunk_pallas``,
with the very ``hyper`` of ``_adam_scalars``, for the chains and buffers the CPU kernels take
(float32 params, float32 or bfloat16 moments, one device), when ``JAXOPT_ZOO_PALLAS`` says so:
on a GPU or TPU with ``JAXOPT_ZOO_PALLAS=1`` (opt-in while it has never run on one; where
``JAXOPT_ZOO_KERNELS`` lets the kernel run), and in interpret mode on any backend with
``JAXOPT_ZOO_PALLAS=interpret`` (a testing aid: it runs the wiring and the numbers on CPU;
slow). Per-leaf grads (``packed_apply``'s multi-tensor form) are packed first.

Not benchmarked, and never compiled for or run on a GPU or TPU: this machine has neither. The
tests lower it for CUDA and ROCm (Triton IR) and for a TPU (Mosaic, through an abstract TPU
device), which checks what the kernel asks of those backends but not the device compilers'
later passes. Before enabling it there, run tests/test_kernels_pallas.py on the device with
``ZOO_PALLAS_INTERPRET=0`` and measure it against XLA's packed path.

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

import functools
import os

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu
from jax.experimental.pallas import triton as pltriton

# The entries of ``hyper``, in order (adam_cpu.cc's layout).
HYPER = ("c1", "b1", "c2", "b2", "r1", "r2", "eps_root", "eps", "wd", "s", "decay", "form", "bc1", "bc2",
         "clip", "n", "c", "nesterov", "r1n", "bc1n", "b1_lo", "b2_lo")
_I = {name: i for i, name in enumerate(HYPER)}
_HYPER_PAD = 32  # the scalars' operand, padded to a power of two for Triton
# Elements per program (a power of two, a multiple of 1024) by where the kernel runs. Guesses,
# not measurements: Triton keeps a block in registers (2048 floats over 4 warps is 16 per
# thread and operand), Mosaic TPU streams blocks through VMEM, where larger blocks amortise
# the per-step overhead.
BLOCK_SIZE = {"gpu": 1 << 11, "tpu": 1 << 15, "interpret": 1 << 13}
BACKENDS = ("gpu", "cuda", "rocm", "tpu")


def pallas_available(backend: str | None = None) -> bool:
    """Whether ``backend`` (default: JAX's default backend) would run this kernel: GPU or TPU.

    On CPU the C++ kernels of ``adam_cpu.cc`` (or the pure-JAX path) run instead; this kernel
    runs on CPU only in interpret mode, for the tests.
    """
    return (backend or jax.default_backend()) in BACKENDS


def _fma(a, b, c, pin: bool):
    """``a b + c``, meant as ``std::fma(a, b, c)`` in ``adam_cpu.cc``: contracted on ``a b``, ``c``
    rounded on its own.

    XLA's CPU backend contracts a sum of two products on a side of its own choosing. Where that
    side was not the wanted one (measured), the sum is written with ``c`` a select
    (``jnp.where`` on a run-time flag), not a product, so that it has a single product to
    contract; elsewhere XLA's own choice was the wanted one. ``pin`` is unused (``_div``'s
    signature); on a device the compiler picks.
    """
    del pin
    return a * b + c


def _div(x, d, pin: bool):
    """``x / d`` for a scalar ``d``, a true division. ``pin`` (interpret mode): ``d`` is
    broadcast behind an optimization barrier, else XLA rewrites the division by a broadcast
    scalar into a product with its reciprocal (one more rounding), which the unfused
    program does not do where the kernel divides (``form`` 1, the clipping)."""
    if pin:
        d = jax.lax.optimization_barrier(jnp.broadcast_to(d, x.shape))
    return x / d


def _legacy_cpu_emitters() -> bool:
    """Whether XLA_FLAGS turn XLA's CPU fusion emitters off (``--xla_cpu_use_fusion_emitters=false``,
    the test suite's fast-compile flag): XLA then contracts the unfused float32 first moment of
    a chain with clip_by_global_norm on ``b1 m`` (on ``c1 g`` under its default pipeline, as
    ``adam_cpu.cc``), and NAdam's sum always on ``b1 m'/bc1n`` (under its default pipeline only
    with weight decay). Read when a step is traced; XLA itself reads XLA_FLAGS once, at start."""
    return "--xla_cpu_use_fusion_emitters=false" in os.environ.get("XLA_FLAGS", "").split()


def _step(h, p, g, m, v, *, apply: bool, pin: bool = False, legacy: bool = False):
    """The step on one block (arrays) with the scalars ``h(name)``: ``(p' or u, m', v')``.

    The sums of two products are contracted on the side XLA's CPU program of the unfused path
    contracts them (``adam_cpu.cc``'s, but for ``legacy``); which side depends on the run-time
    flags, so the operands are selected first and the sum is written once (``_fma``).
    """
    f = p.dtype
    bf16_state = m.dtype == jnp.bfloat16
    clip = h("clip")
    g = jnp.where(clip == 2, _div(g, h("n"), pin) * h("c"), g)
    g2 = g * g
    # m' = c1 g + b1 m on c1 g; on b1 m instead where XLA's pipeline does so for the unfused
    # program (``legacy``: with clip_by_global_norm in the chain, under its legacy CPU emitters).
    on_b1m = jnp.logical_and(clip != 0, legacy and not bf16_state)
    if bf16_state:  # b1 m meets a bfloat16 array: b1 rounds to bfloat16, XLA keeps the product in float32
        b1, mf = h("b1_lo"), m.astype(f)
        v1 = _fma(g2, h("c2"), v.astype(f) * h("b2_lo"), pin)
    else:
        b1, mf = h("b1"), m
        # With clip_by_global_norm in the chain XLA contracts v' on b2 v instead.
        clipped = clip != 0
        v1 = _fma(jnp.where(clipped, v, g2), jnp.where(clipped, h("b2"), h("c2")),
                  jnp.where(clipped, g2 * h("c2"), v * h("b2")), pin)
    m1 = _fma(jnp.where(on_b1m, mf, g), jnp.where(on_b1m, b1, h("c1")), jnp.where(on_b1m, h("c1") * g, mf * b1), pin)
    form1 = h("form") != 0
    decay = h("decay") != 0
    # form 0: products with the reciprocals; form 1: quotients (see the module docstring).
    den = jnp.where(form1, jnp.sqrt(_div(v1, h("bc2"), pin) + h("eps_root")), jnp.sqrt(v1 * h("r2") + h("eps_root"))) + h("eps")
    plain = jnp.where(form1, m1 / (h("bc1") * den), (m1 * h("r1")) / den)
    # NAdam: m^ = b1 m'/bc1n + c1 g/bc1, contracted on b1 (m'/bc1n) with weight decay, on
    # c1 (g/bc1) without (as adam_cpu.cc); always on b1 (m'/bc1n) under the legacy emitters;
    # always on c1 (g/bc1) with bfloat16 moments.
    mb = jnp.where(form1, _div(m1, h("bc1n"), pin), m1 * h("r1n"))
    gb = jnp.where(form1, _div(g, h("bc1"), pin), g * h("r1"))
    on_mb = jnp.logical_and(jnp.logical_or(decay, legacy), not bf16_state)
    mh = _fma(jnp.where(on_mb, mb, gb), jnp.where(on_mb, h("b1"), h("c1")),
              jnp.where(on_mb, gb * h("c1"), mb * h("b1")), pin)
    a = jnp.where(h("nesterov") != 0, mh / den, plain)
    a = jnp.where(decay, _fma(p, h("wd"), a, pin), a)
    out = _fma(a, h("s"), p, pin) if apply else a * h("s")
    return out, m1.astype(m.dtype), v1.astype(v.dtype)


def _kernel(h_ref, p_ref, g_ref, m_ref, v_ref, out_ref, m_out, v_out, *, apply: bool, tail: int | None,
            pin: bool, legacy: bool):
    """One block. ``tail``: the chunk's size when its last block is ragged and must be masked
    (Triton's loads and stores do not stop at the array's end by themselves), else ``None``."""

    def h(name):
        return h_ref[_I[name]]

    if tail is None:
        load, store = (lambda ref: ref[...]), (lambda ref, x: ref.__setitem__(Ellipsis, x))
    else:
        block = p_ref.shape[0]
        mask = pl.program_id(0) * block + jax.lax.broadcasted_iota(jnp.int32, (block,), 0) < tail
        # Lanes past the end read unspecified values; their results are not stored.
        load, store = (lambda ref: pltriton.load(ref, mask=mask)), (lambda ref, x: pltriton.store(ref, x, mask=mask))
    out, m1, v1 = _step(h, load(p_ref), load(g_ref), load(m_ref), load(v_ref), apply=apply, pin=pin, legacy=legacy)
    store(out_ref, out)
    store(m_out, m1)
    store(v_out, v1)


def _platform(interpret: bool) -> str:
    """``"interpret"``, ``"gpu"`` or ``"tpu"``: how the kernel is lowered."""
    if interpret:
        return "interpret"
    backend = jax.default_backend()
    if not pallas_available(backend):
        raise ValueError(f"jaxopt_zoo.adam_chunk_pallas: no Pallas kernel for backend {backend!r} (use "
                         f"interpret=True, or the CPU kernels of jaxopt_zoo._kernels)")
    return "tpu" if backend == "tpu" else "gpu"


def _block(n: int, block_size: int) -> int:
    if not isinstance(block_size, int) or block_size < 1024 or block_size & (block_size - 1):
        raise ValueError(f"jaxopt_zoo.adam_chunk_pallas: argument `block_size` must be a power of two >= 1024, "
                         f"got {block_size!r}")
    return min(block_size, max(1024, pl.next_power_of_2(n)))


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


@functools.partial(jax.jit, static_argnames=("apply", "block_size", "platform", "legacy"))
def _call(p, g, m, v, hyper, *, apply: bool, block_size: int, platform: str, legacy: bool = False):
    n = p.shape[0]
    block = _block(n, block_size)
    h = jnp.zeros(_HYPER_PAD, p.dtype).at[: len(HYPER)].set(hyper.astype(p.dtype))
    if platform == "interpret":
        # Inlined into the caller's program, the scalars would be constants XLA folds into the
        # body (and then contracts otherwise); behind a barrier they stay run-time values.
        h = jax.lax.optimization_barrier(h)
    chunk = pl.BlockSpec((block,), lambda i: (i,))
    # The scalars: in SMEM on TPU (scalar reads), a 32-vector every program reads whole elsewhere.
    scalars = (pl.BlockSpec(memory_space=pltpu.SMEM) if platform == "tpu"
               else pl.BlockSpec((_HYPER_PAD,), lambda i: (0,)))
    # On GPU, Triton: this JAX lowers pallas_call to Mosaic GPU by default (Hopper and newer,
    # and deprecated for pallas_call); Triton takes this plain blocked kernel on Ampere and ROCm too.
    params = pltriton.CompilerParams() if platform == "gpu" else None
    # A ragged last block: masked on GPU (and in interpret mode, so the tests run the masks);
    # Mosaic TPU clips the last block's copies to the array itself.
    tail = n if n % block and platform != "tpu" else None
    outs = (jax.ShapeDtypeStruct(p.shape, p.dtype), jax.ShapeDtypeStruct(m.shape, m.dtype),
            jax.ShapeDtypeStruct(v.shape, v.dtype))
    # Operands (h, p, g, m, v); outputs (p' or u, m', v'). The update form reads p but does not
    # overwrite it (the caller still needs p to add u to).
    aliases = {1: 0, 3: 1, 4: 2} if apply else {3: 1, 4: 2}
    return pl.pallas_call(
        functools.partial(_kernel, apply=apply, tail=tail, pin=platform == "interpret",
                          legacy=legacy),
        out_shape=outs,
        grid=(pl.cdiv(n, block),),
        in_specs=[scalars, chunk, chunk, chunk, chunk],
        out_specs=(chunk, chunk, chunk),
        input_output_aliases=aliases,
        interpret=platform == "interpret",
        compiler_params=params,
        name="jaxopt_zoo_adam",
    )(h, p, g, m, v)


def _run(p, g, m, v, hyper, apply, block_size, interpret):
    p, g, m, v, hyper = (jnp.asarray(x) for x in (p, g, m, v, hyper))
    _check(p, g, m, v, hyper)
    platform = _platform(interpret)
    if p.shape[0] == 0:
        return p, m, v
    block_size = BLOCK_SIZE[platform] if block_size is None else block_size
    return _call(p, g, m, v, hyper, apply=apply, block_size=block_size, platform=platform,
                 legacy=platform == "interpret" and _legacy_cpu_emitters())


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
        default ``BLOCK_SIZE`` of the platform.
      interpret: run the kernel through Pallas' interpreter (any backend, e.g. CPU for tests);
        else compile it for the default backend, which must be a GPU or TPU.

    Returns:
      ``(p', m', v')`` of the dtypes of ``(p, m, v)``.

    Raises:
      ValueError: on chunks of different sizes or unsupported dtypes, a bad ``block_size``, or
        ``interpret=False`` on a backend without Pallas kernels (CPU).
    """
    return _run(p, g, m, v, hyper, True, block_size, interpret)


def adam_chunk_pallas(p: jax.Array, g: jax.Array, m: jax.Array, v: jax.Array, hyper: jax.Array, *,
                      block_size: int | None = None, interpret: bool = False) -> tuple:
    """One fused Adam step on a 1-D chunk: returns the update and the moments ``(u, m', v')``.

    The Pallas form of ``_kernels.adam_chunk`` (the CPU kernel's update handler, for
    ``packed``'s ``tx.update``): the same arguments and results; m and v are aliased to m', v'.
    Arguments as ``adam_apply_chunk_pallas``.
    """
    return _run(p, g, m, v, hyper, False, block_size, interpret)


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
