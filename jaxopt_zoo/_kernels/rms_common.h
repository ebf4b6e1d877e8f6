// Shared by the RMSprop kernels (rms_cpu.cc, rms_centered_cpu.cc): their scalars and XLA's rsqrt.

#ifndef JAXOPT_ZOO_KERNELS_RMS_COMMON_H_
#define JAXOPT_ZOO_KERNELS_RMS_COMMON_H_

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cmath>

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

}  // namespace jaxopt_zoo::rms

#endif  // JAXOPT_ZOO_KERNELS_RMS_COMMON_H_
