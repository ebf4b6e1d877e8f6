// One fused RMSprop step applied in place to a flat float32 chunk of params, as an XLA FFI
// custom call (CPU).
//
// For every element i of the chunk, in one pass over memory (reads p, g, v[, t]; writes p,
// v[, t]: 20 bytes per parameter without momentum, 28 with it, the memory floor):
//
//   g    = (g / n) * c                     only when `clip` == 2 (clip_by_global_norm to c,
//                                          n = the global norm of the grads, computed before)
//   g    = fma(p, wd_in, g)                = g + wd_in p, only when `decay_in` (coupled decay)
//   v'   = fma(g * g, c2, r * v)           = (1 - r) g^2 + r v,   c2 = 1 - r (r: the decay)
//   a    = rsqrt(v' + eps) * g             `eps_in_sqrt` (optax's placement), or
//   a    = (1 / (sqrt(v') + eps)) * g      otherwise (torch's placement)
//          where rsqrt is XLA's: the CPU's approximate reciprocal square root y0 (rsqrtss),
//          refined by two Newton steps  y <- fma(-0.5 y, fma(x y, y, -1), y)  when x is a
//          positive normal number or NaN (y0 as it is otherwise)
//   a    = fma(p, wd_out, a)               = a + wd_out p, only when `decay_out` (decoupled);
//          with `eps_in_sqrt` contracted on the other product: a = fma(rsqrt(v' + eps), g, wd_out p)
//   without momentum:  p' = fma(a, s, p)   = p + a s,  s: -lr, or the schedule's value
//   with momentum d (optax's order: the momentum buffer sees the scaled step):
//     t' = fma(t, d, a * s)                = a s + d t
//     o  = fma(t', d, a * s) if `nesterov` (= a s + d t'), else o = t'
//     p' = p + o
//
// These are the operations XLA's CPU compiler makes of `apply_updates(p, tx.update(g, v, p))`
// for jaxopt_zoo's chain([clip_by_global_norm], [add_decayed_weights], scale_by_rms,
// [add_decayed_weights], scale | scale_by_schedule, [trace]) (what zoo.rmsprop builds without
// centering or bias correction; optimizers/_rmsprop.py), with its contractions of `a * b + c`
// into fused multiply-adds, so the numbers are the same (jaxlib 0.10.2 on x86-64, pinned by
// tests/test_kernels.py). Built with -ffp-contract=off: the only contractions are the
// explicit std::fma calls. The scalars arrive in one float32 operand, computed by the caller
// in JAX as the unfused path computes them:
//
//   hyper = [c2, r, eps, eps_in_sqrt, wd_in, decay_in, wd_out, decay_out, s, momentum, d,
//            nesterov, clip, n, c]
//
// `clip` is 0 without clip_by_global_norm, 1 when the norm n is below c, 2 when it is not.
// p, v (and t) are aliased to their outputs by the caller (input_output_aliases), so a
// donated step updates them in place.

#include <cmath>
#include <cstdint>

#include "cpu_common.h"
#include "rms_common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using jaxopt_zoo::InPlace;
using jaxopt_zoo::rms::Hyper;
using jaxopt_zoo::rms::PickRange;
using jaxopt_zoo::rms::RangeFn;

// RMSprop without momentum: p and v.
ffi::Error RmsApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g,
                        ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> hyper, ffi::ResultBuffer<ffi::F32> p_out,
                        ffi::ResultBuffer<ffi::F32> v_out) {
  return jaxopt_zoo::rms::ApplyChunk<false>(pool, p, g, nullptr, v, nullptr, hyper, p_out, nullptr, v_out, nullptr);
}

// RMSprop with momentum after the learning rate: p, v and t.
ffi::Error RmsMomentumApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g,
                                ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> t, ffi::Buffer<ffi::F32> hyper,
                                ffi::ResultBuffer<ffi::F32> p_out, ffi::ResultBuffer<ffi::F32> v_out,
                                ffi::ResultBuffer<ffi::F32> t_out) {
  return jaxopt_zoo::rms::ApplyChunk<false>(pool, p, g, nullptr, v, &t, hyper, p_out, nullptr, v_out, &t_out);
}

// The multi-tensor forms (JaxoptZooRmsApplyMultiF32, JaxoptZooRmsMomentumApplyMultiF32): the same
// steps with the grads given as the per-leaf arrays that tile the chunk (the remaining operands,
// in order), read where they are (no concatenation). `t`/`t_out` are null without momentum.
ffi::Error RmsMulti(ffi::ThreadPool& pool, ffi::Buffer<ffi::F32>& p, ffi::Buffer<ffi::F32>& v, ffi::Buffer<ffi::F32>* t,
                    ffi::Buffer<ffi::F32>& hyper, const ffi::RemainingArgs& grads, ffi::ResultBuffer<ffi::F32>& p_out,
                    ffi::ResultBuffer<ffi::F32>& v_out, ffi::ResultBuffer<ffi::F32>* t_out) {
  const int64_t n = static_cast<int64_t>(p.element_count());
  if (ffi::Error err = jaxopt_zoo::rms::Check<false>(n, {static_cast<int64_t>(v.element_count()),
                                                        t == nullptr ? n : static_cast<int64_t>(t->element_count())},
                                                    hyper);
      err.failure()) {
    return err;
  }
  jaxopt_zoo::Leaves leaves;
  if (const char* err = jaxopt_zoo::ReadLeaves(grads, n, &leaves)) return ffi::Error::InvalidArgument(err);
  Hyper h = jaxopt_zoo::rms::ReadHyper(hyper.typed_data());
  h.momentum = t != nullptr;
  float* po = InPlace(p, p_out, n);
  float* vo = InPlace(v, v_out, n);
  float* to = t == nullptr ? nullptr : InPlace(*t, *t_out, n);
  const RangeFn range = PickRange<false>(h);
  jaxopt_zoo::ParallelForLeaves(pool, leaves, [=](int64_t at, const float* g, int64_t begin, int64_t end) {
    range(po + at, g, nullptr, vo + at, to == nullptr ? nullptr : to + at, h, begin, end);
  });
  return ffi::Error::Success();
}

ffi::Error RmsApplyMultiImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> v,
                             ffi::Buffer<ffi::F32> hyper, ffi::RemainingArgs grads, ffi::ResultBuffer<ffi::F32> p_out,
                             ffi::ResultBuffer<ffi::F32> v_out) {
  return RmsMulti(pool, p, v, nullptr, hyper, grads, p_out, v_out, nullptr);
}

ffi::Error RmsMomentumApplyMultiImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> v,
                                     ffi::Buffer<ffi::F32> t, ffi::Buffer<ffi::F32> hyper, ffi::RemainingArgs grads,
                                     ffi::ResultBuffer<ffi::F32> p_out, ffi::ResultBuffer<ffi::F32> v_out,
                                     ffi::ResultBuffer<ffi::F32> t_out) {
  return RmsMulti(pool, p, v, &t, hyper, grads, p_out, v_out, &t_out);
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooRmsApplyF32, RmsApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooRmsMomentumApplyF32, RmsMomentumApplyImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // t
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // t'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooRmsApplyMultiF32, RmsApplyMultiImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .RemainingArgs()               // g, per leaf
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooRmsMomentumApplyMultiF32, RmsMomentumApplyMultiImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // t
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .RemainingArgs()               // g, per leaf
                                  .Ret<ffi::Buffer<ffi::F32>>()  // p'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // t'
);
