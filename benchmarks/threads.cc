// The in-place kernels' thread harness (jaxopt_zoo/_kernels/cpu_common.h, ParallelFor) driving a
// triad x = x + 3 y and a plain AdamW step, with its block size and number of workers given at
// run time (`cfg` = [block, workers]): benchmarks/threads.py times them against XLA's own triad,
// to separate the kernels' arithmetic from the threading and the memory.

#include <cmath>
#include <cstdint>

#include "cpu_common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

void Triad(float* __restrict x, const float* __restrict y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) x[i] = x[i] + 3.0f * y[i];
}

// AdamW (adam_cpu.cc, form 0 with weight decay) with fixed scalars: the same arithmetic per element.
void AdamW(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t begin,
           int64_t end) {
  const float c1 = 0.1f, b1 = 0.9f, c2 = 0.001f, b2 = 0.999f, r1 = 1.5f, r2 = 1.2f, eps = 1e-8f, wd = 1e-4f, s = -1e-3f;
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i];
    const float mi = std::fma(gi, c1, m[i] * b1);
    const float vi = std::fma(gi * gi, c2, v[i] * b2);
    const float a = std::fma(p[i], wd, (mi * r1) / (std::sqrt(std::fma(vi, r2, 0.0f)) + eps));
    p[i] = std::fma(a, s, p[i]);
    m[i] = mi;
    v[i] = vi;
  }
}

ffi::Error TriadImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> y, ffi::Buffer<ffi::F32> cfg,
                     ffi::ResultBuffer<ffi::F32> x_out) {
  float* xo = jaxopt_zoo::InPlace(x, x_out, x.element_count());
  const float* yp = y.typed_data();
  const float* c = cfg.typed_data();
  jaxopt_zoo::ParallelFor(pool, x.element_count(), [=](int64_t b, int64_t e) { Triad(xo, yp, b, e); },
                          static_cast<int64_t>(c[0]), static_cast<int64_t>(c[1]));
  return ffi::Error::Success();
}

ffi::Error AdamWImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g, ffi::Buffer<ffi::F32> m,
                     ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> cfg, ffi::ResultBuffer<ffi::F32> p_out,
                     ffi::ResultBuffer<ffi::F32> m_out, ffi::ResultBuffer<ffi::F32> v_out) {
  const int64_t n = p.element_count();
  float* po = jaxopt_zoo::InPlace(p, p_out, n);
  float* mo = jaxopt_zoo::InPlace(m, m_out, n);
  float* vo = jaxopt_zoo::InPlace(v, v_out, n);
  const float* gp = g.typed_data();
  const float* c = cfg.typed_data();
  jaxopt_zoo::ParallelFor(pool, n, [=](int64_t b, int64_t e) { AdamW(po, gp, mo, vo, b, e); },
                          static_cast<int64_t>(c[0]), static_cast<int64_t>(c[1]));
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooBenchTriad, TriadImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // x
                                  .Arg<ffi::Buffer<ffi::F32>>()  // y
                                  .Arg<ffi::Buffer<ffi::F32>>()  // cfg
                                  .Ret<ffi::Buffer<ffi::F32>>()  // x'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooBenchAdamW, AdamWImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // cfg
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
);
