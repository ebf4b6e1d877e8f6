// Shared by the CPU kernels of jaxopt_zoo (XLA FFI custom calls): splitting a chunk over the
// machine's threads, and writing an aliased output over its input.

#ifndef JAXOPT_ZOO_KERNELS_CPU_COMMON_H_
#define JAXOPT_ZOO_KERNELS_CPU_COMMON_H_

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace jaxopt_zoo {

// Below this many elements a chunk runs on the calling thread: starting threads costs more.
constexpr int64_t kMinPerThread = 1 << 16;

// body(begin, end) over [0, n), split over the machine's threads for large n.
template <typename F>
void ParallelFor(int64_t n, F&& body) {
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t workers = std::min<int64_t>(hw, std::max<int64_t>(1, n / kMinPerThread));
  if (workers == 1) {
    body(0, n);
    return;
  }
  // Split on 16-element boundaries so each worker's stores stay within its own cache lines.
  const int64_t step = ((n + workers - 1) / workers + 15) / 16 * 16;
  std::vector<std::thread> threads;
  for (int64_t w = 1; w < workers; ++w) {
    const int64_t begin = std::min(n, w * step), end = std::min(n, (w + 1) * step);
    if (begin < end) threads.emplace_back(body, begin, end);
  }
  body(0, std::min(n, step));
  for (auto& t : threads) t.join();
}

// The buffer an aliased output is written in: XLA hands us the input's own buffer (the
// caller aliases them with input_output_aliases); copy the input first should it ever not.
inline float* InPlace(const xla::ffi::Buffer<xla::ffi::F32>& in, xla::ffi::ResultBuffer<xla::ffi::F32>& out,
                      int64_t n) {
  float* o = out->typed_data();
  if (o != in.typed_data()) std::copy_n(in.typed_data(), n, o);
  return o;
}

}  // namespace jaxopt_zoo

#endif  // JAXOPT_ZOO_KERNELS_CPU_COMMON_H_
