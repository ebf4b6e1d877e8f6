// One fused SGD-with-momentum step (heavy ball or Nesterov) applied in place to a flat float32
// chunk of params, as an XLA FFI custom call (CPU).
//
// For every element i of the chunk, in one pass over memory (reads p, g, t; writes p, t: 20
// bytes per parameter, the memory floor of momentum SGD):
//
//   g    = (g / n) * c                     only when `clip` == 2 (clip_by_global_norm to c,
//                                          n = the global norm of the grads, computed before)
//   g    = fma(p, wd_in, g)                = g + wd_in p, only when `decay_in` (add_decayed_weights
//                                          before the momentum, as torch's SGD weight_decay)
//   t'   = fma(t, d, g)                    = g + d t              (trace(d))
//   a    = fma(t', d, g)  if `nesterov`    = g + d t'  (the Nesterov look-ahead), else a = t'
//   a    = fma(p, wd_out, a)               = a + wd_out p, only when `decay_out` (decoupled)
//   p'   = fma(a, s, p)                    = p + a s,  s: -lr, or the schedule's value
//
// These are the operations XLA's CPU compiler makes of `apply_updates(p, tx.update(g, t, p))`
// for jaxopt_zoo's chain([clip_by_global_norm], [add_decayed_weights], trace,
// [add_decayed_weights], scale | scale_by_schedule) (transforms/_momentum.py and the others),
// with its contractions of `a * b + c` into fused multiply-adds, so the numbers are the same
// (jaxlib 0.10.2 on x86-64, pinned by tests/test_kernels.py). Built with -ffp-contract=off:
// the only contractions are the explicit std::fma calls. The scalars arrive in one float32
// operand, computed by the caller in JAX as the unfused path computes them:
//
//   hyper = [d, nesterov, wd_in, decay_in, wd_out, decay_out, s, clip, n, c]
//
// `clip` is 0 without clip_by_global_norm, 1 when the norm n is below c (the grads pass
// unchanged), 2 when it is not. p and t are aliased to their outputs by the caller
// (input_output_aliases), so a donated step updates them in place.

#include <cmath>
#include <cstdint>

#include "cpu_common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using jaxopt_zoo::InPlace;
using jaxopt_zoo::ParallelFor;

struct Hyper {
  float d;
  bool nesterov;
  float wd_in;
  bool decay_in;
  float wd_out;
  bool decay_out;
  float s;
  int clip;
  float norm, max_norm;
};

template <bool kNesterov, bool kDecayIn, bool kDecayOut, int kClip>
[[gnu::always_inline]] inline void MomentumRange(float* __restrict p, const float* __restrict g, float* __restrict t,
                                                 const Hyper h, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if constexpr (kClip == 2) gi = (gi / h.norm) * h.max_norm;
    if constexpr (kDecayIn) gi = std::fma(p[i], h.wd_in, gi);
    const float ti = std::fma(t[i], h.d, gi);
    float ai = ti;
    if constexpr (kNesterov) ai = std::fma(ti, h.d, gi);
    if constexpr (kDecayOut) ai = std::fma(p[i], h.wd_out, ai);
    p[i] = std::fma(ai, h.s, p[i]);
    t[i] = ti;
  }
}

// MomentumRange in groups of one cache line, each after a prefetch of p, g and t further on
// (cpu_common.h, ByLines): the loop the handlers run.
template <bool kNesterov, bool kDecayIn, bool kDecayOut, int kClip>
void MomentumLines(float* __restrict p, const float* __restrict g, float* __restrict t, const Hyper h, int64_t begin,
                   int64_t end) {
  const auto range = [&](int64_t lo, int64_t hi) {
    MomentumRange<kNesterov, kDecayIn, kDecayOut, kClip>(p, g, t, h, lo, hi);
  };
  jaxopt_zoo::ByLines(begin, end, range, p, g, t);
}

using RangeFn = void (*)(float*, const float*, float*, const Hyper, int64_t, int64_t);

template <bool kNesterov, bool kDecayIn, bool kDecayOut>
RangeFn PickClip(int clip) {
  return clip == 2   ? MomentumLines<kNesterov, kDecayIn, kDecayOut, 2>
         : clip == 1 ? MomentumLines<kNesterov, kDecayIn, kDecayOut, 1>
                     : MomentumLines<kNesterov, kDecayIn, kDecayOut, 0>;
}

template <bool kNesterov>
RangeFn PickDecay(const Hyper& h) {
  if (h.decay_in) return h.decay_out ? PickClip<kNesterov, true, true>(h.clip) : PickClip<kNesterov, true, false>(h.clip);
  return h.decay_out ? PickClip<kNesterov, false, true>(h.clip) : PickClip<kNesterov, false, false>(h.clip);
}

ffi::Error MomentumApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g, ffi::Buffer<ffi::F32> t,
                             ffi::Buffer<ffi::F32> hyper, ffi::ResultBuffer<ffi::F32> p_out,
                             ffi::ResultBuffer<ffi::F32> t_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  if (static_cast<int64_t>(p.element_count()) != n || static_cast<int64_t>(t.element_count()) != n) {
    return ffi::Error::InvalidArgument("momentum_cpu: p, g and t must have the same size");
  }
  if (hyper.element_count() != 10) return ffi::Error::InvalidArgument("momentum_cpu: hyper must hold 10 scalars");
  const float* k = hyper.typed_data();
  const Hyper h{k[0], k[1] != 0.0f, k[2], k[3] != 0.0f, k[4], k[5] != 0.0f, k[6], static_cast<int>(k[7]), k[8], k[9]};
  float* po = InPlace(p, p_out, n);
  float* to = InPlace(t, t_out, n);
  const float* gp = g.typed_data();
  const RangeFn range = h.nesterov ? PickDecay<true>(h) : PickDecay<false>(h);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(po, gp, to, h, begin, end); });
  return ffi::Error::Success();
}

// The multi-tensor form (JaxoptZooMomentumApplyMultiF32): the same step with the grads given as the per-leaf arrays
// that tile the chunk (the remaining operands, in order), read where they are (no concatenation).
ffi::Error MomentumApplyMultiImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> t,
                                  ffi::Buffer<ffi::F32> hyper, ffi::RemainingArgs grads, ffi::ResultBuffer<ffi::F32> p_out,
                                  ffi::ResultBuffer<ffi::F32> t_out) {
  const int64_t n = static_cast<int64_t>(p.element_count());
  if (static_cast<int64_t>(t.element_count()) != n) return ffi::Error::InvalidArgument("momentum_cpu: p and t must have the same size");
  if (hyper.element_count() != 10) return ffi::Error::InvalidArgument("momentum_cpu: hyper must hold 10 scalars");
  jaxopt_zoo::Leaves leaves;
  if (const char* err = jaxopt_zoo::ReadLeaves(grads, n, &leaves)) return ffi::Error::InvalidArgument(err);
  const float* k = hyper.typed_data();
  const Hyper h{k[0], k[1] != 0.0f, k[2], k[3] != 0.0f, k[4], k[5] != 0.0f, k[6], static_cast<int>(k[7]), k[8], k[9]};
  float* po = InPlace(p, p_out, n);
  float* to = InPlace(t, t_out, n);
  const RangeFn range = h.nesterov ? PickDecay<true>(h) : PickDecay<false>(h);
  jaxopt_zoo::ParallelForLeaves(pool, leaves, [=](int64_t at, const float* g, int64_t begin, int64_t end) {
    range(po + at, g, to + at, h, begin, end);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooMomentumApplyF32, MomentumApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // t
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // t'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooMomentumApplyMultiF32, MomentumApplyMultiImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // t
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .RemainingArgs()               // g, per leaf
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // t'
);
