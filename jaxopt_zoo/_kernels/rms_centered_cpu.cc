// One fused centred RMSprop step applied in place to a flat float32 chunk of params, as an XLA
// FFI custom call (CPU).
//
// For every element i of the chunk, in one pass over memory (reads p, g, m, v[, t]; writes p,
// m, v[, t]: 28 bytes per parameter without momentum, 36 with it, the memory floor):
//
//   g    = (g / n) * c                     only when `clip` == 2 (clip_by_global_norm to c,
//                                          n = the global norm of the grads, computed before)
//   g    = fma(p, wd_in, g)                = g + wd_in p, only when `decay_in` (coupled decay)
//   m'   = fma(g, c2, r * m)               = (1 - r) g + r m,     c2 = 1 - r (r: the decay)
//   v'   = fma(g * g, c2, r * v)           = (1 - r) g^2 + r v
//   d    = fma(-m', m', v')                = v' - m'^2, the running variance
//   a    = rsqrt(d + eps) * g              `eps_in_sqrt` (optax's placement), or
//   a    = (1 / (sqrt(d) + eps)) * g       otherwise (torch's placement)
//          where rsqrt is XLA's (XlaRsqrt in rms_common.h, as in rms_cpu.cc)
//   a    = fma(p, wd_out, a)               = a + wd_out p, only when `decay_out` (decoupled);
//          with `eps_in_sqrt` contracted on the other product: a = fma(rsqrt(d + eps), g, wd_out p)
//   without momentum:  p' = fma(a, s, p)   = p + a s,  s: -lr, or the schedule's value
//   with momentum d_t (optax's order: the momentum buffer sees the scaled step):
//     t' = fma(t, d_t, a * s)              = a s + d_t t
//     o  = fma(t', d_t, a * s) if `nesterov` (= a s + d_t t'), else o = t'
//     p' = p + o
//
// These are the operations XLA's CPU compiler makes of `apply_updates(p, tx.update(g, state,
// p))` for jaxopt_zoo's chain([clip_by_global_norm], [add_decayed_weights], scale_by_stddev,
// [add_decayed_weights], scale | scale_by_schedule, [trace]) (what zoo.rmsprop(centered=True)
// builds without bias correction; optimizers/_rmsprop.py), with its contractions of `a * b + c`
// into fused multiply-adds, so the numbers are the same (jaxlib 0.10.2 on x86-64, pinned by
// tests/test_kernels.py). Built with -ffp-contract=off: the only contractions are the explicit
// std::fma calls. The scalars arrive in RMSprop's float32 operand (rms_cpu.cc):
//
//   hyper = [c2, r, eps, eps_in_sqrt, wd_in, decay_in, wd_out, decay_out, s, momentum, d_t,
//            nesterov, clip, n, c]
//
// `clip` is 0 without clip_by_global_norm, 1 when the norm n is below c, 2 when it is not.
// p, m, v (and t) are aliased to their outputs by the caller (input_output_aliases), so a
// donated step updates them in place.

#include "rms_common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// Centred RMSprop without momentum: p, m and v.
ffi::Error CenteredApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g,
                             ffi::Buffer<ffi::F32> m, ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> hyper,
                             ffi::ResultBuffer<ffi::F32> p_out, ffi::ResultBuffer<ffi::F32> m_out,
                             ffi::ResultBuffer<ffi::F32> v_out) {
  return jaxopt_zoo::rms::ApplyChunk<true>(pool, p, g, &m, v, nullptr, hyper, p_out, &m_out, v_out, nullptr);
}

// Centred RMSprop with momentum after the learning rate: p, m, v and t.
ffi::Error CenteredMomentumApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g,
                                     ffi::Buffer<ffi::F32> m, ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> t,
                                     ffi::Buffer<ffi::F32> hyper, ffi::ResultBuffer<ffi::F32> p_out,
                                     ffi::ResultBuffer<ffi::F32> m_out, ffi::ResultBuffer<ffi::F32> v_out,
                                     ffi::ResultBuffer<ffi::F32> t_out) {
  return jaxopt_zoo::rms::ApplyChunk<true>(pool, p, g, &m, v, &t, hyper, p_out, &m_out, v_out, &t_out);
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooRmsCenteredApplyF32, CenteredApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooRmsCenteredMomentumApplyF32, CenteredMomentumApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // t
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // t'
);
