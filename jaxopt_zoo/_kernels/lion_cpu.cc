// One fused Lion step applied in place to a flat float32 chunk of params, as an XLA FFI custom
// call (CPU).
//
// For every element i of the chunk, in one pass over memory (reads p, g, m; writes p, m: 20
// bytes per parameter, the memory floor of Lion):
//
//   g    = (g / n) * c                     only when `clip` == 2 (clip_by_global_norm to c,
//                                          n = the global norm of the grads, computed before)
//   x    = fma(g, c1, b1 * m)              = (1 - b1) g + b1 m,   c1 = 1 - b1
//   a    = sign(x)                         (-1, 0 or 1; NaN stays NaN, as jnp.sign)
//   m'   = fma(g, c2, b2 * m)              = (1 - b2) g + b2 m,   c2 = 1 - b2
//   a    = fma(p, wd, a)                   = a + wd p, only when `decay` (Lion's weight decay)
//   p'   = fma(a, s, p)                    = p + a s,  s: -lr, or the schedule's value
//
// These are the operations XLA's CPU compiler makes of `apply_updates(p, tx.update(g, m, p))`
// for jaxopt_zoo's chain([clip_by_global_norm], scale_by_lion (mode 'hard'),
// [add_decayed_weights], scale | scale_by_schedule) (optimizers/_lion.py), with its
// contractions of `a * b + c` into fused multiply-adds, so the numbers are the same (jaxlib
// 0.10.2 on x86-64, pinned by tests/test_kernels.py). Built with -ffp-contract=off: the only
// contractions are the explicit std::fma calls. The scalars arrive in one float32 operand,
// computed by the caller in JAX as the unfused path computes them:
//
//   hyper = [c1, b1, c2, b2, wd, decay, s, clip, n, c]
//
// `clip` is 0 without clip_by_global_norm, 1 when the norm n is below c, 2 when it is not.
// p and m are aliased to their outputs by the caller (input_output_aliases), so a donated
// step updates them in place.

#include <cmath>
#include <cstdint>

#include "cpu_common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using jaxopt_zoo::InPlace;
using jaxopt_zoo::ParallelFor;

struct Hyper {
  float c1, b1, c2, b2, wd;
  bool decay;
  float s;
  int clip;
  float norm, max_norm;
};

inline float Sign(float x) {
  return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;  // 0 (either sign) and NaN pass through
}

template <bool kDecay, int kClip>
[[gnu::always_inline]] inline void LionRange(float* __restrict p, const float* __restrict g, float* __restrict m,
                                             const Hyper h, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if constexpr (kClip == 2) gi = (gi / h.norm) * h.max_norm;
    const float mi = m[i];
    float ai = Sign(std::fma(gi, h.c1, mi * h.b1));
    m[i] = std::fma(gi, h.c2, mi * h.b2);
    if constexpr (kDecay) ai = std::fma(p[i], h.wd, ai);
    p[i] = std::fma(ai, h.s, p[i]);
  }
}

// LionRange in groups of one cache line, each after a prefetch of p, g and m further on
// (cpu_common.h, ByLines): the loop the handlers run.
template <bool kDecay, int kClip>
void LionLines(float* __restrict p, const float* __restrict g, float* __restrict m, const Hyper h, int64_t begin,
               int64_t end) {
  const auto range = [&](int64_t lo, int64_t hi) { LionRange<kDecay, kClip>(p, g, m, h, lo, hi); };
  jaxopt_zoo::ByLines(begin, end, range, p, g, m);
}

using RangeFn = void (*)(float*, const float*, float*, const Hyper, int64_t, int64_t);

template <bool kDecay>
RangeFn PickClip(int clip) {
  return clip == 2 ? LionLines<kDecay, 2> : clip == 1 ? LionLines<kDecay, 1> : LionLines<kDecay, 0>;
}

ffi::Error LionApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g, ffi::Buffer<ffi::F32> m,
                         ffi::Buffer<ffi::F32> hyper, ffi::ResultBuffer<ffi::F32> p_out,
                         ffi::ResultBuffer<ffi::F32> m_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  if (static_cast<int64_t>(p.element_count()) != n || static_cast<int64_t>(m.element_count()) != n) {
    return ffi::Error::InvalidArgument("lion_cpu: p, g and m must have the same size");
  }
  if (hyper.element_count() != 10) return ffi::Error::InvalidArgument("lion_cpu: hyper must hold 10 scalars");
  const float* k = hyper.typed_data();
  const Hyper h{k[0], k[1], k[2], k[3], k[4], k[5] != 0.0f, k[6], static_cast<int>(k[7]), k[8], k[9]};
  float* po = InPlace(p, p_out, n);
  float* mo = InPlace(m, m_out, n);
  const float* gp = g.typed_data();
  const RangeFn range = h.decay ? PickClip<true>(h.clip) : PickClip<false>(h.clip);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(po, gp, mo, h, begin, end); });
  return ffi::Error::Success();
}

// The multi-tensor form (JaxoptZooLionApplyMultiF32): the same step with the grads given as the per-leaf arrays
// that tile the chunk (the remaining operands, in order), read where they are (no concatenation).
ffi::Error LionApplyMultiImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> m,
                              ffi::Buffer<ffi::F32> hyper, ffi::RemainingArgs grads, ffi::ResultBuffer<ffi::F32> p_out,
                              ffi::ResultBuffer<ffi::F32> m_out) {
  const int64_t n = static_cast<int64_t>(p.element_count());
  if (static_cast<int64_t>(m.element_count()) != n) return ffi::Error::InvalidArgument("lion_cpu: p and m must have the same size");
  if (hyper.element_count() != 10) return ffi::Error::InvalidArgument("lion_cpu: hyper must hold 10 scalars");
  jaxopt_zoo::Leaves leaves;
  if (const char* err = jaxopt_zoo::ReadLeaves(grads, n, &leaves)) return ffi::Error::InvalidArgument(err);
  const float* k = hyper.typed_data();
  const Hyper h{k[0], k[1], k[2], k[3], k[4], k[5] != 0.0f, k[6], static_cast<int>(k[7]), k[8], k[9]};
  float* po = InPlace(p, p_out, n);
  float* mo = InPlace(m, m_out, n);
  const RangeFn range = h.decay ? PickClip<true>(h.clip) : PickClip<false>(h.clip);
  jaxopt_zoo::ParallelForLeaves(pool, leaves, [=](int64_t at, const float* g, int64_t begin, int64_t end) {
    range(po + at, g, mo + at, h, begin, end);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooLionApplyF32, LionApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooLionApplyMultiF32, LionApplyMultiImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .RemainingArgs()               // g, per leaf
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
);
