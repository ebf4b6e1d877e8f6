// One fused Adam / AdamW step on a flat float32 chunk, as an XLA FFI custom call (CPU).
//
// For every element i of the chunk, in one pass over memory:
//
//   g    = (g / n) * c                     only when `clip` == 2 (clip_by_global_norm to c,
//                                          n = the global norm of the grads, computed before)
//   m'   = fma(g, c1, b1 * m)              = c1 g + b1 m,        c1 = 1 - b1
//   v'   = fma(g * g, c2, b2 * v)          = c2 g^2 + b2 v,      c2 = 1 - b2
//          (`clip` != 0: fma(v, b2, (g * g) * c2), the same sum contracted on its other side)
//   with bc1 = 1 - b1^t, bc2 = 1 - b2^t (t: the new step count), r1 = 1/bc1, r2 = 1/bc2:
//   form 0:  a = (m' r1) / (sqrt(fma(v', r2, eps_root)) + eps)
//   form 1:  a = m' / (bc1 (sqrt(v' / bc2 + eps_root) + eps))
//            (both are  m^ / (sqrt(v^ + eps_root) + eps),  m^ = m'/bc1, v^ = v'/bc2)
//   `nesterov` (NAdam, Dozat's form: m^ = b1 m'/(1 - b1^(t+1)) + (1 - b1) g/(1 - b1^t)), with
//   bc1n = 1 - b1^(t+1), r1n = 1/bc1n:
//   form 0:  a = fma(g r1, c1, (m' r1n) b1) / (sqrt(fma(v', r2, eps_root)) + eps)
//   form 1:  a = fma(g / bc1, c1, (m' / bc1n) b1) / (sqrt(v' / bc2 + eps_root) + eps)
//            (so with bfloat16 moments, and with float32 moments when the chain clips and
//            eps_root != 0; otherwise the sum is contracted on its first product instead:
//            fma(m' r1n, b1, (g r1) c1), form 1 alike; see MhFirst)
//   a    = fma(p, wd, a)                   = a + wd p, only when `decay` != 0 (AdamW)
//   update handler (JaxoptZooAdamF32):       writes u  = a * s        (reads p, g, m, v)
//   apply handler (JaxoptZooAdamApplyF32):   writes p' = fma(a, s, p) = p + a s, in place
//   s: -lr, or the schedule's value at this step.
//
// The update handler serves `tx.update` (the caller adds u to p); the apply handler is the
// whole step `p + tx.update(...)` in one pass: it reads p, g, m, v and writes p, m, v (28
// bytes per parameter, the memory floor of AdamW).
//
// These are the operations XLA's CPU compiler makes of jaxopt_zoo's unfused path
// (optimizers/_adam.py, _numerics._ema / bias_correction, transforms/_weight_decay.py,
// transforms/_scaling.py, _base.apply_updates), reproduced one for one so the numbers are
// the same: XLA's algebraic simplifier rewrites the bias-corrected ratio into form 0 or
// form 1 depending on the program around it (the caller says which); its LLVM backend
// contracts `a * b + c` into one fused multiply-add where the CPU has one, on one of the two
// products of a sum, which one depending on the program around it (v' contracts the other
// way when the clipping select is fused in). These choices are those of jaxlib 0.10.2 on
// x86-64, pinned by tests/test_kernels.py. This file is built with -ffp-contract=off, so
// the only contractions are the explicit std::fma calls. All scalars arrive in one float32
// operand `hyper`, computed by the caller in JAX exactly as the unfused path computes them
// (so jit's cache is not keyed on their values):
//
//   hyper = [c1, b1, c2, b2, r1, r2, eps_root, eps, wd, s, decay, form, bc1, bc2, clip, n, c,
//            nesterov, r1n, bc1n, b1_lo, b2_lo]
//
// The apply handler JaxoptZooAdamApplyBf16State takes m and v in bfloat16 (mu_dtype =
// nu_dtype = bfloat16), as the unfused path computes with them: the Python decays meet
// bfloat16 arrays in b1 m and b2 v, so they are rounded to bfloat16 (b1_lo, b2_lo), and XLA
// keeps the products in float32 (its default excess precision): m' = fma(g, c1, m b1_lo),
// v' = fma(g * g, c2, v b2_lo) (`clip` != 0: fma(v, b2_lo, (g * g) * c2), as in float32, unless
// b2_lo is 1, as bfloat16's 0.999 is: XLA then drops v * 1, the first form), the rest
// of the step in float32 from these, and m', v' stored rounded to nearest even (XLA's convert).
//
// `clip` is 0 without clip_by_global_norm in the chain, 1 with it when the norm n is below c
// (the grads pass unchanged), 2 when it is not (they are scaled).
//
// m and v (and p, for the apply handler) are aliased to their outputs by the caller
// (input_output_aliases), so a donated state is updated in place. Large chunks are split
// over XLA's intra-op threads.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

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
  bool nesterov;
  bool static_eps_root_zero;  // `nesterov` == 2: eps_root is 0 in the program (not a runtime scalar)
  float r1n, bc1n;
  float b1_lo, b2_lo;  // b1 and b2 rounded to bfloat16 (bfloat16 moments)
};

// Elements [begin, end) of the chunk; m and v are updated in place, and p too when kApply
// (then `u` is unused), else u is written (and p only read). The switches are template
// parameters so the loop has no branches, and each buffer is reached through one pointer
// (`__restrict`), so it vectorises.
// The moments' storage: float, or bfloat16 (its bits in a uint16_t), read exactly into float
// and written rounded to nearest even, as XLA's convert does; the math is float32 either way.
inline float Load(float x) { return x; }
inline float Load(uint16_t x) {
  const uint32_t bits = static_cast<uint32_t>(x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline void Store(float* out, float x) { *out = x; }
inline void Store(uint16_t* out, float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if (std::isnan(x)) {
    *out = static_cast<uint16_t>((bits >> 16) | 0x40);  // a quiet NaN, sign kept
  } else {
    *out = static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
  }
}

// x rounded to bfloat16, as a float.
inline float Round(float x) {
  uint16_t b;
  Store(&b, x);
  return Load(b);
}

template <bool kApply, bool kNesterov, bool kDecay, bool kForm1, int kClip, typename S = float, bool kMhFirst = false>
[[gnu::always_inline]] inline void AdamRange(float* __restrict p, const float* __restrict g, S* __restrict m,
                                             S* __restrict v, float* __restrict u, const Hyper h, int64_t begin,
                                             int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    float gi = g[i];
    if constexpr (kClip == 2) gi = (gi / h.norm) * h.max_norm;
    float mi, vi;
    if constexpr (std::is_same_v<S, uint16_t>) {
      // bfloat16 moments: the decays meet bfloat16 arrays, so they are rounded to bfloat16
      // (b1_lo, b2_lo); XLA keeps the products in float32 (excess precision, its default).
      mi = std::fma(gi, h.c1, Load(m[i]) * h.b1_lo);
      if constexpr (kClip != 0) {
        // The other side, as in float32, unless b2_lo is 1 (b2 = 0.999 is, in bfloat16): XLA
        // then drops the product v * 1 and contracts the one left.
        vi = h.b2_lo == 1.0f ? std::fma(gi * gi, h.c2, Load(v[i])) : std::fma(Load(v[i]), h.b2_lo, (gi * gi) * h.c2);
      } else {
        vi = std::fma(gi * gi, h.c2, Load(v[i]) * h.b2_lo);
      }
    } else {
      mi = std::fma(gi, h.c1, m[i] * h.b1);
      if constexpr (kClip != 0) {
        vi = std::fma(v[i], h.b2, (gi * gi) * h.c2);
      } else {
        vi = std::fma(gi * gi, h.c2, v[i] * h.b2);
      }
    }
    float ai;
    if constexpr (kNesterov) {
      // m^ = b1 m'/bc1n + c1 g/bc1, contracted on its first product or its second (kMhFirst,
      // XLA's choice for the program: see MhFirst).
      const float mb = kForm1 ? (mi / h.bc1n) * h.b1 : (mi * h.r1n) * h.b1;
      const float gb = kForm1 ? gi / h.bc1 : gi * h.r1;
      const float mh = kMhFirst ? std::fma(kForm1 ? mi / h.bc1n : mi * h.r1n, h.b1, gb * h.c1) : std::fma(gb, h.c1, mb);
      ai = mh / (kForm1 ? std::sqrt(vi / h.bc2 + h.eps_root) + h.eps : std::sqrt(std::fma(vi, h.r2, h.eps_root)) + h.eps);
    } else if constexpr (kForm1) {
      ai = mi / (h.bc1 * (std::sqrt(vi / h.bc2 + h.eps_root) + h.eps));
    } else {
      ai = (mi * h.r1) / (std::sqrt(std::fma(vi, h.r2, h.eps_root)) + h.eps);
    }
    if constexpr (kDecay) ai = std::fma(p[i], h.wd, ai);
    if constexpr (kApply) {
      p[i] = std::fma(ai, h.s, p[i]);
    } else {
      u[i] = ai * h.s;
    }
    Store(&m[i], mi);
    Store(&v[i], vi);
  }
}

// AdamRange in groups of one cache line, each after a prefetch of p, g, m and v further on
// (cpu_common.h, ByLines): the loop the handlers run (AdamRange is inlined into it, so a group
// costs no call).
template <bool kApply, bool kNesterov, bool kDecay, bool kForm1, int kClip, typename S, bool kMhFirst>
void AdamLines(float* __restrict p, const float* __restrict g, S* __restrict m, S* __restrict v,
               float* __restrict u, const Hyper h, int64_t begin, int64_t end) {
  const auto range = [&](int64_t lo, int64_t hi) {
    AdamRange<kApply, kNesterov, kDecay, kForm1, kClip, S, kMhFirst>(p, g, m, v, u, h, lo, hi);
  };
  jaxopt_zoo::ByLines(begin, end, range, p, g, m, v);
}

template <typename S>
using RangeFn = void (*)(float*, const float*, S*, S*, float*, const Hyper, int64_t, int64_t);

// Which product of NAdam's sum m^ = b1 m'/bc1n + c1 g/bc1 XLA's CPU compiler contracts into the
// FMA (found by sweeping every chain packed_apply covers, tests/test_kernels.py): with bfloat16
// moments, the second (c1 g/bc1); with float32 moments, the first (b1 m'/bc1n), except when the
// chain clips and eps_root is not a 0 of the program (then the second; a runtime eps_root of
// inject_hyperparams is not, even at 0: XLA cannot fold it). Adam without Nesterov has no such sum.
template <typename S>
bool MhFirst(const Hyper& h) {
  return std::is_same_v<S, float> && !(h.clip != 0 && !h.static_eps_root_zero);
}

template <bool kApply, bool kNesterov, bool kDecay, bool kForm1, typename S, bool kMhFirst>
RangeFn<S> PickClipSide(int clip) {
  return clip == 2   ? AdamLines<kApply, kNesterov, kDecay, kForm1, 2, S, kMhFirst>
         : clip == 1 ? AdamLines<kApply, kNesterov, kDecay, kForm1, 1, S, kMhFirst>
                     : AdamLines<kApply, kNesterov, kDecay, kForm1, 0, S, kMhFirst>;
}

template <bool kApply, bool kNesterov, bool kDecay, bool kForm1, typename S>
RangeFn<S> PickClip(const Hyper& h) {
  return kNesterov && MhFirst<S>(h) ? PickClipSide<kApply, kNesterov, kDecay, kForm1, S, true>(h.clip)
                                    : PickClipSide<kApply, kNesterov, kDecay, kForm1, S, false>(h.clip);
}

template <bool kApply, bool kNesterov, typename S>
RangeFn<S> PickForm(const Hyper& h) {
  if (h.decay) {
    return h.form1 ? PickClip<kApply, kNesterov, true, true, S>(h)
                   : PickClip<kApply, kNesterov, true, false, S>(h);
  }
  return h.form1 ? PickClip<kApply, kNesterov, false, true, S>(h)
                 : PickClip<kApply, kNesterov, false, false, S>(h);
}

template <bool kApply, typename S = float>
RangeFn<S> Pick(const Hyper& h) {
  return h.nesterov ? PickForm<kApply, true, S>(h) : PickForm<kApply, false, S>(h);
}

// Checks the sizes and reads the scalars; nullptr on success, else the error's message.
const char* ReadHyper(int64_t n, int64_t np, int64_t nm, int64_t nv, const ffi::Buffer<ffi::F32>& hyper, Hyper* h) {
  if (np != n || nm != n || nv != n) return "adam_cpu: p, g, m and v must have the same size";
  if (hyper.element_count() != 22) return "adam_cpu: hyper must hold 22 scalars";
  const float* k = hyper.typed_data();
  *h = Hyper{k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9],
             k[10] != 0.0f, k[11] != 0.0f, k[12], k[13], static_cast<int>(k[14]), k[15], k[16],
             k[17] != 0.0f, k[17] == 2.0f, k[18], k[19], k[20], k[21]};
  return nullptr;
}

// tx.update: returns the update u, m' and v' (m and v aliased).
ffi::Error AdamImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g, ffi::Buffer<ffi::F32> m,
                    ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> hyper,
                    ffi::ResultBuffer<ffi::F32> u, ffi::ResultBuffer<ffi::F32> m_out,
                    ffi::ResultBuffer<ffi::F32> v_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  Hyper h;
  if (const char* err = ReadHyper(n, p.element_count(), m.element_count(), v.element_count(), hyper, &h)) {
    return ffi::Error::InvalidArgument(err);
  }
  float* mo = InPlace(m, m_out, n);
  float* vo = InPlace(v, v_out, n);
  // p is only read by this handler (the pointer is not const because the apply handler
  // shares the loop).
  float* pp = const_cast<float*>(p.typed_data());
  const float* gp = g.typed_data();
  float* up = u->typed_data();
  const RangeFn<float> range = Pick<false>(h);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(pp, gp, mo, vo, up, h, begin, end); });
  return ffi::Error::Success();
}

// p + tx.update: returns p', m' and v' (p, m and v aliased).
ffi::Error AdamApplyImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g, ffi::Buffer<ffi::F32> m,
                         ffi::Buffer<ffi::F32> v, ffi::Buffer<ffi::F32> hyper,
                         ffi::ResultBuffer<ffi::F32> p_out, ffi::ResultBuffer<ffi::F32> m_out,
                         ffi::ResultBuffer<ffi::F32> v_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  Hyper h;
  if (const char* err = ReadHyper(n, p.element_count(), m.element_count(), v.element_count(), hyper, &h)) {
    return ffi::Error::InvalidArgument(err);
  }
  float* po = InPlace(p, p_out, n);
  float* mo = InPlace(m, m_out, n);
  float* vo = InPlace(v, v_out, n);
  const float* gp = g.typed_data();
  const RangeFn<float> range = Pick<true>(h);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(po, gp, mo, vo, nullptr, h, begin, end); });
  return ffi::Error::Success();
}

// p + tx.update with bfloat16 moments: returns p', m' and v' (p, m and v aliased).
ffi::Error AdamApplyBf16StateImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<ffi::F32> g,
                                  ffi::Buffer<ffi::BF16> m, ffi::Buffer<ffi::BF16> v, ffi::Buffer<ffi::F32> hyper,
                                  ffi::ResultBuffer<ffi::F32> p_out, ffi::ResultBuffer<ffi::BF16> m_out,
                                  ffi::ResultBuffer<ffi::BF16> v_out) {
  const int64_t n = static_cast<int64_t>(g.element_count());
  Hyper h;
  if (const char* err = ReadHyper(n, p.element_count(), m.element_count(), v.element_count(), hyper, &h)) {
    return ffi::Error::InvalidArgument(err);
  }
  float* po = InPlace(p, p_out, n);
  uint16_t* mo = jaxopt_zoo::InPlaceAs(m, m_out, n);
  uint16_t* vo = jaxopt_zoo::InPlaceAs(v, v_out, n);
  const float* gp = g.typed_data();
  const RangeFn<uint16_t> range = Pick<true, uint16_t>(h);
  ParallelFor(pool, n, [=](int64_t begin, int64_t end) { range(po, gp, mo, vo, nullptr, h, begin, end); });
  return ffi::Error::Success();
}

// The multi-tensor form of the apply handlers (JaxoptZooAdamApplyMultiF32 / ...Bf16State): the
// same step, with the grads given as the per-leaf arrays that tile the packed chunk (remaining
// operands, in order) instead of one packed array, so they are read where they are (no
// concatenation: 28 bytes per parameter, not 36). Returns p', m' and v' (p, m and v aliased).
template <ffi::DataType kS>
ffi::Error AdamApplyMultiImpl(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> p, ffi::Buffer<kS> m, ffi::Buffer<kS> v,
                              ffi::Buffer<ffi::F32> hyper, ffi::RemainingArgs grads, ffi::ResultBuffer<ffi::F32> p_out,
                              ffi::ResultBuffer<kS> m_out, ffi::ResultBuffer<kS> v_out) {
  const int64_t n = static_cast<int64_t>(p.element_count());
  Hyper h;
  jaxopt_zoo::Leaves leaves;
  const char* err = ReadHyper(n, n, m.element_count(), v.element_count(), hyper, &h);
  if (err == nullptr) err = jaxopt_zoo::ReadLeaves(grads, n, &leaves);
  if (err != nullptr) return ffi::Error::InvalidArgument(err);
  float* po = InPlace(p, p_out, n);
  auto* mo = jaxopt_zoo::InPlaceAs(m, m_out, n);
  auto* vo = jaxopt_zoo::InPlaceAs(v, v_out, n);
  const auto range = Pick<true, std::remove_pointer_t<decltype(mo)>>(h);
  jaxopt_zoo::ParallelForLeaves(pool, leaves, [=](int64_t at, const float* g, int64_t begin, int64_t end) {
    range(po + at, g, mo + at, vo + at, nullptr, h, begin, end);
  });
  return ffi::Error::Success();
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooAdamApplyBf16State, AdamApplyBf16StateImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()   // p
                                  .Arg<ffi::Buffer<ffi::F32>>()   // g
                                  .Arg<ffi::Buffer<ffi::BF16>>()  // m
                                  .Arg<ffi::Buffer<ffi::BF16>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()   // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()   // p'
                                  .Ret<ffi::Buffer<ffi::BF16>>()  // m'
                                  .Ret<ffi::Buffer<ffi::BF16>>()  // v'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooAdamF32, AdamImpl,
                              ffi::Ffi::Bind()
                                  .Ctx<ffi::ThreadPool>()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // p
                                  .Arg<ffi::Buffer<ffi::F32>>()  // g
                                  .Arg<ffi::Buffer<ffi::F32>>()  // m
                                  .Arg<ffi::Buffer<ffi::F32>>()  // v
                                  .Arg<ffi::Buffer<ffi::F32>>()  // hyper
                                  .Ret<ffi::Buffer<ffi::F32>>()  // u
                                  .Ret<ffi::Buffer<ffi::F32>>()  // m'
                                  .Ret<ffi::Buffer<ffi::F32>>()  // v'
);

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxoptZooAdamApplyF32, AdamApplyImpl,
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

#define JAXOPT_ZOO_ADAM_APPLY_MULTI(symbol, kS)                                        \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(symbol, AdamApplyMultiImpl<kS>,                       \
                                ffi::Ffi::Bind()                                      \
                                    .Ctx<ffi::ThreadPool>()                           \
                                    .Arg<ffi::Buffer<ffi::F32>>() /* p */             \
                                    .Arg<ffi::Buffer<kS>>()       /* m */             \
                                    .Arg<ffi::Buffer<kS>>()       /* v */             \
                                    .Arg<ffi::Buffer<ffi::F32>>() /* hyper */         \
                                    .RemainingArgs()              /* g, per leaf */   \
                                    .Ret<ffi::Buffer<ffi::F32>>() /* p' */            \
                                    .Ret<ffi::Buffer<kS>>()       /* m' */            \
                                    .Ret<ffi::Buffer<kS>>()       /* v' */            \
  );

JAXOPT_ZOO_ADAM_APPLY_MULTI(JaxoptZooAdamApplyMultiF32, ffi::F32)
JAXOPT_ZOO_ADAM_APPLY_MULTI(JaxoptZooAdamApplyMultiBf16State, ffi::BF16)
