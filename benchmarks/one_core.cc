// The loops of loops.h on one thread, timed in the thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
// which does not grow while the thread waits for a core: on a shared machine its minimum and
// median stay close, where wall-clock times spread. Built and run by
// `python -m benchmarks.threads --one-core`; prints two markdown tables:
//
// * the triad and each AdamW loop on N float32 elements (argv[1], 16 Mi by default), on 4 KiB
//   pages and on 2 MiB pages (madvise(MADV_HUGEPAGE) before the first touch), each contender 3
//   calls a round, R rounds alternated (argv[2]); the rate as a share of the triad's bandwidth
//   on 4 KiB pages (12 bytes per element for the triad, 28 for AdamW), as benchmarks/run.py's
//   floor counts it;
// * the triad's bandwidth by size, 8 MiB to 512 MiB of arrays, in its first call after the
//   others (the arrays come from memory) and in the calls that follow it back to back (what of
//   them the L3 cache still holds comes from there).

#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "loops.h"

namespace {

double CpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// n floats at a 2 MiB boundary, on huge pages or not, every page touched (filled with x).
float* Buffer(int64_t n, bool huge, float x) {
  const size_t bytes = (n * sizeof(float) + (2 << 20) - 1) / (2 << 20) * (2 << 20);
  float* p = static_cast<float*>(std::aligned_alloc(2 << 20, bytes));
  madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  std::fill_n(p, n, x);
  return p;
}

struct Contender {
  std::string name;
  double bytes;  // per element
  int64_t n;
  float *p, *g, *m, *v;
  int variant;  // -1: the triad x = p, y = g
  std::vector<double> first, rest;
  void Run() const {
    constexpr int64_t kBlock = 1 << 16;  // as the kernels' harness cuts a chunk
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t e = std::min(n, b + kBlock);
      if (variant < 0) {
        Triad(p, g, b, e);
      } else {
        kVariants[variant](p, g, m, v, b, e);
      }
    }
  }
  double Time() const {
    const double t0 = CpuSeconds();
    Run();
    return CpuSeconds() - t0;
  }
};

double Min(const std::vector<double>& t) { return *std::min_element(t.begin(), t.end()); }
double Median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 16 << 20;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 30;
  const char* names[] = {"plain",
                         "prefetch 1 KiB ahead (T0)",
                         "prefetch 1 KiB ahead (T1)",
                         "prefetch 4 KiB ahead (T1)",
                         "streaming stores",
                         "two passes per 4 Ki",
                         "the access pattern alone (adds)"};
  std::vector<Contender> cs;
  for (const bool huge : {false, true}) {
    const std::string pages = huge ? ", 2 MiB pages" : "";
    float *p = Buffer(n, huge, 1.0f), *g = Buffer(n, huge, 0.01f), *m = Buffer(n, huge, 0.01f),
          *v = Buffer(n, huge, 0.01f);
    cs.push_back({"triad" + pages, 12, n, p, g, nullptr, nullptr, -1});
    for (int k = 0; k < static_cast<int>(sizeof names / sizeof *names); ++k) {
      if (huge && k != 0 && k != 2) continue;
      cs.push_back({std::string("AdamW, ") + names[k] + pages, 28, n, p, g, m, v, k});
    }
  }
  for (int r = 0; r < rounds; ++r) {
    for (auto& c : cs) {
      for (int k = 0; k < 3; ++k) (k ? c.rest : c.first).push_back(c.Time());
    }
  }
  const double triad = Min(cs[0].rest) / 12;  // seconds per byte
  const double plain = Median(cs[1].rest);
  std::printf("%lld float32 elements, one thread, %d rounds of 3 calls, thread CPU time\n\n",
              static_cast<long long>(n), rounds);
  std::printf("| contender | min ms | median ms | %% of the triad's bandwidth (min) | median / plain AdamW's |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  for (auto& c : cs) {
    std::vector<double> all = c.first;
    all.insert(all.end(), c.rest.begin(), c.rest.end());
    std::printf("| %s | %.2f | %.2f | %.0f%% | %.3f |\n", c.name.c_str(), Min(all) * 1e3, Median(all) * 1e3,
                100 * c.bytes * triad / Min(all), Median(all) / plain);
  }
  std::vector<Contender> sizes;
  for (int64_t s = 1 << 20; s <= 64 << 20; s *= 2) {
    sizes.push_back({"", 12, s, Buffer(s, false, 1.0f), Buffer(s, false, 1e-6f), nullptr, nullptr, -1});
  }
  for (int r = 0; r < std::max(3, rounds / 3); ++r) {
    for (auto& c : sizes) {
      const int calls = std::max<int64_t>(3, (128 << 20) / c.n);
      for (int k = 0; k < calls; ++k) (k ? c.rest : c.first).push_back(c.Time());
    }
  }
  std::printf("\n| triad arrays | GB/s, first call | GB/s, calls back to back |\n|---:|---:|---:|\n");
  for (auto& c : sizes) {
    std::printf("| %lld MiB | %.1f | %.1f |\n", static_cast<long long>(c.n * 8 >> 20), 12.0 * c.n / Min(c.first) / 1e9,
                12.0 * c.n / Min(c.rest) / 1e9);
  }
}
