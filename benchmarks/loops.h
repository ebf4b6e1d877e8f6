// The loops benchmarks/threads.cc (through the kernels' thread harness, against XLA) and
// benchmarks/one_core.cc (on one thread, in thread CPU time) time: a triad x = x + 3 y, the plain
// AdamW loop of the in-place kernel (adam_cpu.cc) and variants of it that walk the same four
// streams otherwise (issue 18: the kernel at ~80% of the floor). Every variant computes the same
// numbers as the plain loop; each is one function over elements [begin, end).

#ifndef JAXOPT_ZOO_BENCHMARKS_LOOPS_H_
#define JAXOPT_ZOO_BENCHMARKS_LOOPS_H_

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

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

// Software prefetch: before each group of 16 elements (one 64-byte line of each stream), ask for
// the line kAhead elements further on in each of the four streams, into L1 and L2 (T0) or L2
// only (T1), on top of the hardware prefetchers. The group is the plain loop (vectorised).
template <int kAhead, int kHint>
void AdamWPrefetch(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                   int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i + 16 <= end; i += 16) {
    _mm_prefetch(reinterpret_cast<const char*>(g + i + kAhead), static_cast<_mm_hint>(kHint));
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kAhead), static_cast<_mm_hint>(kHint));
    _mm_prefetch(reinterpret_cast<const char*>(m + i + kAhead), static_cast<_mm_hint>(kHint));
    _mm_prefetch(reinterpret_cast<const char*>(v + i + kAhead), static_cast<_mm_hint>(kHint));
    AdamW(p, g, m, v, i, i + 16);
  }
  AdamW(p, g, m, v, i, end);
}

// Non-temporal (streaming) stores of p', m', v': written around the caches instead of through
// them (the lines were just read, so there is no read-for-ownership to save; this tests whether
// the write-backs of dirty lines are what costs). 8 floats a store, on 32-byte aligned addresses.
void AdamWStream(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                 int64_t begin, int64_t end) {
  int64_t i = begin;
  for (; i < end && reinterpret_cast<uintptr_t>(p + i) % 32 != 0; ++i) AdamW(p, g, m, v, i, i + 1);
  const __m256 c1 = _mm256_set1_ps(0.1f), b1 = _mm256_set1_ps(0.9f), c2 = _mm256_set1_ps(0.001f),
               b2 = _mm256_set1_ps(0.999f), r1 = _mm256_set1_ps(1.5f), r2 = _mm256_set1_ps(1.2f),
               eps = _mm256_set1_ps(1e-8f), wd = _mm256_set1_ps(1e-4f), s = _mm256_set1_ps(-1e-3f),
               zero = _mm256_setzero_ps();
  for (; i + 8 <= end; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i), pi = _mm256_load_ps(p + i);
    const __m256 mi = _mm256_fmadd_ps(gi, c1, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
    const __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(gi, gi), c2, _mm256_mul_ps(_mm256_loadu_ps(v + i), b2));
    const __m256 d = _mm256_add_ps(_mm256_sqrt_ps(_mm256_fmadd_ps(vi, r2, zero)), eps);
    const __m256 a = _mm256_fmadd_ps(pi, wd, _mm256_div_ps(_mm256_mul_ps(mi, r1), d));
    _mm256_stream_ps(p + i, _mm256_fmadd_ps(a, s, pi));
    // m and v are streamed only where they share p's alignment (XLA aligns every buffer to 64).
    if (reinterpret_cast<uintptr_t>(m + i) % 32 == 0) _mm256_stream_ps(m + i, mi); else _mm256_storeu_ps(m + i, mi);
    if (reinterpret_cast<uintptr_t>(v + i) % 32 == 0) _mm256_stream_ps(v + i, vi); else _mm256_storeu_ps(v + i, vi);
  }
  AdamW(p, g, m, v, i, end);
  _mm_sfence();
}

// Two passes per piece of 4 Ki elements (48 KiB of g, m, v: L1/L2 resident): m' and v' first
// (3 streams from memory), then p' from p and the m', v', g just touched (1 stream from memory).
// Fewer streams in flight at a time, the same bytes.
void AdamWTwoPass(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                  int64_t begin, int64_t end) {
  const float c1 = 0.1f, b1 = 0.9f, c2 = 0.001f, b2 = 0.999f, r1 = 1.5f, r2 = 1.2f, eps = 1e-8f, wd = 1e-4f, s = -1e-3f;
  for (int64_t lo = begin; lo < end; lo += 4096) {
    const int64_t hi = std::min(end, lo + 4096);
    for (int64_t i = lo; i < hi; ++i) {
      const float gi = g[i];
      m[i] = std::fma(gi, c1, m[i] * b1);
      v[i] = std::fma(gi * gi, c2, v[i] * b2);
    }
    for (int64_t i = lo; i < hi; ++i) {
      const float a = std::fma(p[i], wd, (m[i] * r1) / (std::sqrt(std::fma(v[i], r2, 0.0f)) + eps));
      p[i] = std::fma(a, s, p[i]);
    }
  }
}

// AdamW's access pattern alone (read p, g, m, v; write p, m, v) with one add per stream: how fast
// the memory serves these seven streams, whatever the arithmetic.
void Pattern(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t begin,
             int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i];
    p[i] += gi;
    m[i] += gi;
    v[i] += gi;
  }
}

using AdamWFn = void (*)(float*, const float*, float*, float*, int64_t, int64_t);

// The variants by index (benchmarks/threads.py names them; threads.cc takes the index in cfg[2]).
constexpr AdamWFn kVariants[] = {AdamW,
                                 AdamWPrefetch<256, _MM_HINT_T0>,
                                 AdamWPrefetch<256, _MM_HINT_T1>,
                                 AdamWPrefetch<1024, _MM_HINT_T1>,
                                 AdamWStream,
                                 AdamWTwoPass,
                                 Pattern};

}  // namespace

#endif  // JAXOPT_ZOO_BENCHMARKS_LOOPS_H_
