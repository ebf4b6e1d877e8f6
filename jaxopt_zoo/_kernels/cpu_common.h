// Shared by the CPU kernels of jaxopt_zoo (XLA FFI custom calls): splitting a chunk over XLA's
// threads, and writing an aliased output over its input.

#ifndef JAXOPT_ZOO_KERNELS_CPU_COMMON_H_
#define JAXOPT_ZOO_KERNELS_CPU_COMMON_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace jaxopt_zoo {

// Elements per block: a chunk is cut into blocks of this many elements, and a chunk of one
// block runs on the calling thread (handing work to other threads costs more).
constexpr int64_t kBlock = 1 << 16;

// body(begin, end) over [0, n) in blocks of `block` elements, on the calling thread and on
// XLA's own intra-op thread pool (the threads XLA runs its parallel loops on; no thread is
// started here). Blocks are claimed from a shared counter by whichever thread comes first,
// so the caller never waits for a task the pool has not started (no deadlock when the
// caller itself runs on the pool): it waits only for blocks other threads are running. Tasks
// that start late find no block left and return; they hold the shared state, not the
// caller's stack.
//
// `workers` threads run blocks, the calling thread included: by default as many as the pool
// has threads (one per core), so the caller and pool.num_threads() - 1 of the pool's threads.
// The caller is not one of the pool's threads (XLA runs the custom call on its own thread), so
// handing blocks to every pool thread as well would put one thread more than there are cores
// to work: the OS then time-slices them, and a thread preempted while it holds one of the last
// blocks makes all the others wait for it (benchmarks/README.md, "One leaf: XLA at ~63% of the memory floor, the kernel above it").
template <typename F>
void ParallelFor(xla::ffi::ThreadPool& pool, int64_t n, F body, int64_t block = kBlock, int64_t workers = 0) {
  const int64_t blocks = (n + block - 1) / block;
  if (workers <= 0) workers = pool.num_threads();
  const int64_t helpers = std::min<int64_t>({blocks - 1, workers - 1, pool.num_threads()});
  if (helpers <= 0) {
    body(0, n);
    return;
  }
  struct Shared {
    std::atomic<int64_t> next{0}, done{0};
    int64_t blocks, n, block;
    F body;
    std::mutex mu;
    std::condition_variable cv;
    Shared(int64_t blocks, int64_t n, int64_t block, F body) : blocks(blocks), n(n), block(block), body(std::move(body)) {}
  };
  auto shared = std::make_shared<Shared>(blocks, n, block, std::move(body));
  auto work = [](Shared& s) {
    for (int64_t b; (b = s.next.fetch_add(1)) < s.blocks;) {
      s.body(b * s.block, std::min(s.n, (b + 1) * s.block));
      if (s.done.fetch_add(1) + 1 == s.blocks) {
        std::lock_guard<std::mutex> lock(s.mu);
        s.cv.notify_all();
      }
    }
  };
  for (int64_t i = 0; i < helpers; ++i) pool.Schedule([shared, work] { work(*shared); });
  work(*shared);
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->cv.wait(lock, [&] { return shared->done.load() == shared->blocks; });
}

// Software prefetch for the streaming loops of every in-place kernel (issue 18;
// benchmarks/threads.py, "prefetch 1 KiB ahead (T1)", 5-9% off a plain AdamW loop's time,
// measured under load; benchmarks/README.md has the kernels' own numbers): a loop over
// [begin, end) walks it in groups of kLine elements (one 64-byte cache line of float32,
// ByLines) and, before each group, asks for the element kPrefetchAhead further on (1 KiB of
// float32) in each of the streams it reads, into L2 (prefetcht1 on x86). A core streams at
// about half the rate of two here (benchmarks/README.md): its misses in flight, not the memory,
// bound it, and the prefetches keep more of them in flight than the hardware prefetchers alone
// (which start again at every 4 KiB page). A prefetch never faults (an address past a buffer's
// end is only a hint) and changes no number.
constexpr int64_t kLine = 16;
constexpr int64_t kPrefetchAhead = 256;

template <typename... T>
inline void Prefetch(int64_t i, const T*... streams) {
  (__builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(streams + i) +
                                                    kPrefetchAhead * sizeof(T)),
                      0, 2),
   ...);
}

// range(lo, hi) over [begin, end) in groups of kLine elements, each after Prefetch(lo, streams...).
template <typename F, typename... T>
inline void ByLines(int64_t begin, int64_t end, F range, const T*... streams) {
  for (int64_t lo = begin; lo < end; lo += kLine) {
    Prefetch(lo, streams...);
    range(lo, std::min(end, lo + kLine));
  }
}

// The buffer an aliased output is written in: XLA hands us the input's own buffer (the
// caller aliases them with input_output_aliases); copy the input first should it ever not.
inline float* InPlace(const xla::ffi::Buffer<xla::ffi::F32>& in, xla::ffi::ResultBuffer<xla::ffi::F32>& out,
                      int64_t n) {
  float* o = out->typed_data();
  if (o != in.typed_data()) std::copy_n(in.typed_data(), n, o);
  return o;
}

// InPlace for any element type T of the buffers (bfloat16 moments: uint16_t).
template <xla::ffi::DataType kDtype>
auto* InPlaceAs(const xla::ffi::Buffer<kDtype>& in, xla::ffi::ResultBuffer<kDtype>& out, int64_t n) {
  auto* o = out->typed_data();
  if (o != in.typed_data()) std::copy_n(in.typed_data(), n, o);
  return o;
}


// The gradient leaves of a multi-tensor call: the float32 arrays passed as the call's remaining
// operands (XLA FFI RemainingArgs), one per leaf, that tile the packed chunk in order. start[j]
// is where leaf j begins in the chunk, start.back() the chunk's size.
struct Leaves {
  std::vector<int64_t> start;
  std::vector<const float*> data;
};

// Reads the leaves; nullptr on success, else the error's message (not float32, or their sizes do
// not add up to the chunk's n elements).
inline const char* ReadLeaves(const xla::ffi::RemainingArgs& args, int64_t n, Leaves* out) {
  out->start.assign(1, 0);
  out->data.clear();
  for (size_t j = 0; j < args.size(); ++j) {
    auto leaf = args.get<xla::ffi::Buffer<xla::ffi::F32>>(j);
    if (!leaf.has_value()) return "the gradient leaves must be float32 arrays";
    out->data.push_back(leaf->typed_data());
    out->start.push_back(out->start.back() + static_cast<int64_t>(leaf->element_count()));
  }
  return out->start.back() == n ? nullptr : "the gradient leaves must tile the chunk (their sizes add up to its size)";
}

// body(offset, g, begin, end) for the pieces of [0, n) (n = leaves.start.back()), split over
// threads as ParallelFor splits it, each block cut where a leaf ends: the piece covers elements
// [offset + begin, offset + end) of the chunk and [begin, end) of the leaf g, which starts at
// `offset`. The grads are read where they are: nothing is concatenated.
template <typename F>
void ParallelForLeaves(xla::ffi::ThreadPool& pool, const Leaves& leaves, F body) {
  ParallelFor(pool, leaves.start.back(), [leaves, body](int64_t begin, int64_t end) {
    const auto& start = leaves.start;
    size_t j = std::upper_bound(start.begin(), start.end(), begin) - start.begin() - 1;
    for (; begin < end; ++j) {
      const int64_t hi = std::min(end, start[j + 1]);
      if (hi > begin) body(start[j], leaves.data[j], begin - start[j], hi - start[j]);
      begin = std::max(begin, hi);
    }
  });
}

}  // namespace jaxopt_zoo

#endif  // JAXOPT_ZOO_KERNELS_CPU_COMMON_H_
