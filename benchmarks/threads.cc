// The in-place kernels' thread harness (jaxopt_zoo/_kernels/cpu_common.h, ParallelFor) driving a
// triad x = x + 3 y and a plain AdamW step, with its block size, number of workers and a variant
// of the AdamW loop given at run time (`cfg` = [block, workers, variant]): benchmarks/threads.py
// times them against XLA's own triad, to separate the kernels' arithmetic from the threading and
// the memory, and to try other ways of walking the four streams (the loops: loops.h).

#include <cstdint>

#include "cpu_common.h"
#include "loops.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

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
  const AdamWFn fn = kVariants[static_cast<int>(c[2])];
  jaxopt_zoo::ParallelFor(pool, n, [=](int64_t b, int64_t e) { fn(po, gp, mo, vo, b, e); },
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
