// One fused AMSGrad step applied in place to a flat float32 chunk of params, as an XLA FFI
// custom call (CPU).
//
// For every element i of the chunk, in one pass over memory (reads p, g, m, v, v_max; writes
// p, m, v, v_max: 36 bytes per parameter, the memory floor of AMSGrad):
//
//   g    = (g / n) * c                     only when `clip` == 2 (clip_by_global_norm to c,
//                                          n = the global norm of the grads, computed before)
//   m'   = fma(g, c1, b1 * m)              = c1 g + b1 m,        c1 = 1 - b1
//   v'   = fma(g * g, c2, b2 * v)          = c2 g^2 + b2 v,      c2 = 1 - b2
//          (`clip` != 0: fma(v, b2, (g * g) * c2), the same sum contracted on its other side)
//   with bc1 = 1 - b1^t, bc2 = 1 - b2^t (t: the new step count), r1 = 1/bc1, r2 = 1/bc2:
//   form 0:  v_max' = max(v_max, v' r2),   a = (m' r1) / (sqrt(v_max' + eps_root) + eps)
//   form 1:  v_max' = max(v_max, v' / bc2), a = m' / (bc1 (sqrt(v_max' + eps_root) + eps))
//            (both are  m^ / (sqrt(max(v_max, v^) + eps_root) + eps),  m^ = m'/bc1, v^ = v'/bc2;
//            max propagates NaN, as XLA's maximum)
//   a    = fma(p, wd, a)                   = a + wd p, only when `decay` != 0
//   p'   = fma(a, s, p)                    = p + a s,  s: -lr, or the schedule's value
//
// Adam's kernel (adam_cpu.cc) with the running maximum of the bias-corrected second moment
// (Reddi et al., 2018): the operations XLA's CPU compiler makes of `apply_updates(p,
// tx.update(g, state, p))` for jaxopt_zoo's chain([clip_by_global_norm], scale_by_adam(amsgrad
// =True) | scale_by_amsgrad, [add_decayed_weights], scale | scale_by_schedule)
// (optimizers/_adam.py), with its rewrites of the bias corrections (form 0 or 1, the caller
// says which, as for Adam) and its contractions of `a * b + c` into fused multiply-adds, so
// the numbers are the same (jaxlib 0.10.2 on x86-64, pinned by tests/test_kernels.py). Unlike
// Adam's, v^ is stored (as v_max'), so the root's argument is not contracted with eps_root.
// Built with -ffp-contract=off: the only contractions are the explicit std::fma calls. The
// scalars arrive in Adam's float32 operand (adam_cpu.cc; `nesterov` must be 0):
//
//   hyper = [c1, b1, c2, b2, r1, r2, eps_root, eps, wd, s, decay, form, bc1, bc2, clip, n, c,
//            nesterov, r1n, bc1n, b1_lo, b2_lo]
//
// `clip` is 0 without clip_by_global_norm, 1 when the norm n is below c, 2 when it is not.
// p, m, v and v_max are aliased to their outputs by the caller (input_output_aliases), so a
// donated step updates them in place.

#include <cmath>
#include <cstdint>

#include "cpu_common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using jaxopt_zoo::InPlace;
using jaxopt_zoo::ParallelFor;

struct Hyper {
  float c1, b1, c2, b2, r1, r2, eps_root, eps, wd, s;
  bool decay, form1;
  float bc1, bc2;
  int clip;
  float norm, max_norm;
};

// XLA's maximum: NaN if either operand is NaN.
inline float XlaMax(float a, float b) {
  if (std::isnan(a)) return a;
  if (std::isnan(b)) return b;
  return a > b ? a : b;
}

template <bool kDecay, bool kForm1, int kClip>
[[gnu::always_inline]] inline void AmsgradRange(float* __restrict p, const float* __restrict g, float* __restrict m,
                                                float* __restrict v, float* __restrict vmax, const Hyper h,
                                                int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if constexpr (kClip == 2) gi = (gi / h.norm) * h.max_norm;
    const float mi = std::fma(gi, h.c1, m[i] * h.b1);
    float vi;
    if constexpr (kClip != 0) {
      vi = std::fma(v[i], h.b2, (gi * gi) * h.c2);
    } else {
      vi = std::fma(gi * gi, h.c2, v[i] * h.b2);
    }
    const float vh = XlaMax(vmax[i], kForm1 ? vi / h.bc2 : vi * h.r2);
    float ai;
    if constexpr (kForm1) {
      ai = mi / (h.bc1 * (std::sqrt(vh + h.eps_root) + h.eps));
    } else {
      ai = (mi * h.r1) / (std::sqrt(vh + h.eps_root) + h.eps);
    }
    if constexpr (kDecay) ai = std::fma(p[i], h.wd, ai);
    p[i] = std::fma(ai, h.s, p[i]);
    m[i] = mi;
    v[i] = vi;
    vmax[i] = vh;
  }
}

// AmsgradRange in groups of one cache line, each after a prefetch of p, g, m, v and v_max further
// on (cpu_common.h, ByLines): the loop the handler runs.
template <bool kDecay, bool kForm1, int kClip>
void AmsgradLines(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                  float* __restrict vmax, const Hyper h, int64_t begin, int64_t end) {
  const auto range = [&](int64_t lo, int64_t hi) {
    AmsgradRange<kDecay, kForm1, kClip>(p, g, m, v, vmax, h, lo, hi);
  };
  jaxopt_zoo::ByLines(begin, end, range, p, g, m, v, vmax);
}

using RangeFn = void (*)(float*, const float*, float*, float*, float*, const Hyper, int64_t, int64_t);

template <bool kDecay, bool kForm1>
RangeFn PickClip(int clip) {
  return clip == 2   ? AmsgradLines<kDecay, kForm1, 2>
         : clip == 1 ? AmsgradLines<kDecay, kForm1, 1>
                     : AmsgradLines<kDecay, kForm1, 0>;
}

RangeFn Pick(const Hyper& h) {
  if (h.decay) return h.form1 ? PickClip<true, true>(h.clip) : PickClip<true, false>(h.clip);
  return h.form1 ? PickClip<false, true>(h.clip) : PickClip<false, false>(h.clip);
}

// p + tx.update: returns p', m', v' and v_max' (all four aliased to their inputs).
ffi::Error AmsgradApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g,
                            ffi::Buffer<ffi::F32> m, ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> vmax,
                            ffi::Buffer<ffi::F32> hyper, ffi::ResultBuffer<ffi::F32> p_out,
                            ffi::ResultBuffer<ffi::F32> m_out, ffi::ResultBuffer<ffi::F32> v_out,
                            ffi::ResultBuffer<ffi::F32> vmax_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  if (p.element_count() != n || m.element_count() != n || v.element_count() != n || vmax.element_count() != n) {
    return ffi::Error::InvalidArgument("amsgrad_cpu: p, g, m, v and v_max must have the same size");
  }
  if (hyper.element_count() != 22) return ffi::Error::InvalidArgument("amsgrad_cpu: hyper must hold 22 scalars");
  const float* k = hyper.typed_data();
  if (k[17] != 0.0f) return ffi::Error::InvalidArgument("amsgrad_cpu: no Nesterov form");
  const Hyper h{k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9],
                k[10] != 0.0f, k[11] != 0.0f, k[12], k[13], static_cast<int>(k[14]), k[15], k[16]};
  float* po = InPlace(p, p_out, n);
  float* mo = InPlace(m, m_out, n);
  float* vo = InPlace(v, v_out, n);
  float* xo = InPlace(vmax, vmax_out, n);
  const float* gp = g.typed_data();
  const RangeFn range = Pick(h);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(po, gp, mo, vo, xo, h, begin, end); });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooAmsgradApplyF32, AmsgradApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v_max
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v_max'
);
