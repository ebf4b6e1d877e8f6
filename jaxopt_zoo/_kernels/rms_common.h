// Shared by the RMSprop kernels (rms_cpu.cc, rms_centered_cpu.cc): their scalars, XLA's rsqrt, the
// loop over a range of elements and the step on a chunk.

#ifndef JAXOPT_ZOO_KERNELS_RMS_COMMON_H_
#define JAXOPT_ZOO_KERNELS_RMS_COMMON_H_

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "cpu_common.h"
#include "xla/ffi/api/ffi.h"

namespace jaxopt_zoo::rms {

// The float32 operand `hyper` of both kernels, decoded:
//   [c2, r, eps, eps_in_sqrt, wd_in, decay_in, wd_out, decay_out, s, momentum, d, nesterov, clip, n, c]
struct Hyper {
  float c2, r, eps;
  bool eps_in_sqrt;
  float wd_in;
  bool decay_in;
  float wd_out;
  bool decay_out;
  float s;
  bool momentum;
  float d;
  bool nesterov;
  int clip;
  float norm, max_norm;
};

constexpr int kHyperSize = 15;

inline Hyper ReadHyper(const float* k) {
  return Hyper{k[0], k[1], k[2], k[3] != 0.0f, k[4], k[5] != 0.0f, k[6], k[7] != 0.0f,
               k[8], k[9] != 0.0f, k[10], k[11] != 0.0f, static_cast<int>(k[12]), k[13], k[14]};
}

// XLA's rsqrt on x86 (its CPU backend's polyfill): the hardware estimate, refined twice by
// Newton's method except where the estimate is already what is wanted (infinities, zeros,
// subnormals and negative numbers, LLVM's fpclass mask 732).
// (Elsewhere 1 / sqrt(x), not checked against XLA: tests/test_kernels.py says if it differs.)
inline float XlaRsqrt(float x) {
#if defined(__x86_64__)
  const float y0 = _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(x)));
  if (!(std::isnormal(x) && x > 0.0f) && !std::isnan(x)) return y0;
  const float y1 = std::fma(y0 * -0.5f, std::fma(x * y0, y0, -1.0f), y0);
  return std::fma(y1 * -0.5f, std::fma(x * y1, y1, -1.0f), y1);
#else
  return 1.0f / std::sqrt(x);
#endif
}

// One range [begin, end) of a chunk, RMSprop's step as both kernels' top comments write it
// (centred: m is the running mean and the root is taken of v' - m'^2; otherwise m is unused).
// kMomentum: 0 none, 1 heavy ball, 2 Nesterov. kClip: 0 none, 1 the norm is below the
// maximum, 2 it is not (the grads are scaled).
template <bool kCentered, bool kEpsInSqrt, bool kDecayIn, bool kDecayOut, int kMomentum, int kClip>
[[gnu::always_inline]] inline void RmsRange(float* __restrict p, const float* __restrict g, float* __restrict m,
                                            float* __restrict v, float* __restrict t, const Hyper h, int64_t begin,
                                            int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if constexpr (kClip == 2) gi = (gi / h.norm) * h.max_norm;
    if constexpr (kDecayIn) gi = std::fma(p[i], h.wd_in, gi);
    float mi = 0.0f;
    if constexpr (kCentered) mi = std::fma(gi, h.c2, m[i] * h.r);
    const float vi = std::fma(gi * gi, h.c2, v[i] * h.r);
    float di = vi;
    if constexpr (kCentered) di = std::fma(-mi, mi, vi);
    float ai;
    if constexpr (kEpsInSqrt && kDecayOut) {
      ai = std::fma(XlaRsqrt(di + h.eps), gi, p[i] * h.wd_out);  // contracted on the root's product
    } else if constexpr (kEpsInSqrt) {
      ai = XlaRsqrt(di + h.eps) * gi;
    } else {
      ai = (1.0f / (std::sqrt(di) + h.eps)) * gi;
      if constexpr (kDecayOut) ai = std::fma(p[i], h.wd_out, ai);
    }
    if constexpr (kMomentum == 0) {
      p[i] = std::fma(ai, h.s, p[i]);
    } else {
      const float step = ai * h.s;
      const float ti = std::fma(t[i], h.d, step);
      float oi = ti;
      if constexpr (kMomentum == 2) oi = std::fma(ti, h.d, step);
      p[i] = p[i] + oi;
      t[i] = ti;
    }
    if constexpr (kCentered) m[i] = mi;
    v[i] = vi;
  }
}

// RmsRange in groups of one cache line, each after a prefetch of the streams it reads further on
// (p, g, v; m when centred, t with momentum; cpu_common.h, ByLines): the loop the handlers run.
template <bool kCentered, bool kEpsInSqrt, bool kDecayIn, bool kDecayOut, int kMomentum, int kClip>
void RmsLines(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
              float* __restrict t, const Hyper h, int64_t begin, int64_t end) {
  const auto range = [&](int64_t lo, int64_t hi) {
    RmsRange<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, kMomentum, kClip>(p, g, m, v, t, h, lo, hi);
  };
  if constexpr (kCentered && kMomentum != 0) {
    ByLines(begin, end, range, p, g, m, v, t);
  } else if constexpr (kCentered) {
    ByLines(begin, end, range, p, g, m, v);
  } else if constexpr (kMomentum != 0) {
    ByLines(begin, end, range, p, g, v, t);
  } else {
    ByLines(begin, end, range, p, g, v);
  }
}

using RangeFn = void (*)(float*, const float*, float*, float*, float*, const Hyper, int64_t, int64_t);

template <bool kCentered, bool kEpsInSqrt, bool kDecayIn, bool kDecayOut, int kMomentum>
RangeFn PickClip(int clip) {
  return clip == 2   ? RmsLines<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, kMomentum, 2>
         : clip == 1 ? RmsLines<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, kMomentum, 1>
                     : RmsLines<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, kMomentum, 0>;
}

template <bool kCentered, bool kEpsInSqrt, bool kDecayIn, bool kDecayOut>
RangeFn PickMomentum(const Hyper& h) {
  if (!h.momentum) return PickClip<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, 0>(h.clip);
  return h.nesterov ? PickClip<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, 2>(h.clip)
                    : PickClip<kCentered, kEpsInSqrt, kDecayIn, kDecayOut, 1>(h.clip);
}

template <bool kCentered, bool kEpsInSqrt>
RangeFn PickDecay(const Hyper& h) {
  if (h.decay_in) {
    return h.decay_out ? PickMomentum<kCentered, kEpsInSqrt, true, true>(h)
                       : PickMomentum<kCentered, kEpsInSqrt, true, false>(h);
  }
  return h.decay_out ? PickMomentum<kCentered, kEpsInSqrt, false, true>(h)
                     : PickMomentum<kCentered, kEpsInSqrt, false, false>(h);
}

// The range function for `h` (its flags chosen once per call, not per element).
template <bool kCentered>
RangeFn PickRange(const Hyper& h) {
  return h.eps_in_sqrt ? PickDecay<kCentered, true>(h) : PickDecay<kCentered, false>(h);
}

// The operands' sizes (each must be n, the chunk's) and the scalars' count, with the kernel's
// name in the error: "rms_cpu" or, centred, "rms_centered_cpu".
template <bool kCentered>
xla::ffi::Error Check(int64_t n, std::initializer_list<int64_t> sizes, const xla::ffi::Buffer<xla::ffi::F32>& hyper) {
  const std::string name = kCentered ? "rms_centered_cpu" : "rms_cpu";
  for (int64_t size : sizes) {
    if (size != n) {
      return xla::ffi::Error::InvalidArgument(name + (kCentered ? ": p, g, m, v" : ": p, g, v") +
                                              " (and t) must have the same size");
    }
  }
  if (hyper.element_count() != kHyperSize) return xla::ffi::Error::InvalidArgument(name + ": hyper must hold 15 scalars");
  return xla::ffi::Error::Success();
}

// One step on a chunk whose grads are one buffer: p and the state written in place. `m`/`m_out`
// are null unless centred, `t`/`t_out` without momentum.
template <bool kCentered>
xla::ffi::Error ApplyChunk(xla::ffi::ThreadPool& pool, xla::ffi::Buffer<xla::ffi::F32>& p,
                           xla::ffi::Buffer<xla::ffi::F32>& g, xla::ffi::Buffer<xla::ffi::F32>* m,
                           xla::ffi::Buffer<xla::ffi::F32>& v, xla::ffi::Buffer<xla::ffi::F32>* t,
                           xla::ffi::Buffer<xla::ffi::F32>& hyper, xla::ffi::ResultBuffer<xla::ffi::F32>& p_out,
                           xla::ffi::ResultBuffer<xla::ffi::F32>* m_out, xla::ffi::ResultBuffer<xla::ffi::F32>& v_out,
                           xla::ffi::ResultBuffer<xla::ffi::F32>* t_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  const auto size = [n](const xla::ffi::Buffer<xla::ffi::F32>* b) {
    return b == nullptr ? n : static_cast<int64_t>(b->element_count());
  };
  if (xla::ffi::Error err = Check<kCentered>(n, {size(&p), size(m), size(&v), size(t)}, hyper); err.failure()) {
    return err;
  }
  Hyper h = ReadHyper(hyper.typed_data());
  h.momentum = t != nullptr;
  float* po = InPlace(p, p_out, n);
  float* mo = m == nullptr ? nullptr : InPlace(*m, *m_out, n);
  float* vo = InPlace(v, v_out, n);
  float* to = t == nullptr ? nullptr : InPlace(*t, *t_out, n);
  const float* gp = g.typed_data();
  const RangeFn range = PickRange<kCentered>(h);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(po, gp, mo, vo, to, h, begin, end); });
  return xla::ffi::Error::Success();
}

}  // namespace jaxopt_zoo::rms

#endif  // JAXOPT_ZOO_KERNELS_RMS_COMMON_H_
