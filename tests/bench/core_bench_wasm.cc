// The core_bench cases without Google Benchmark, so the same source runs as
// WebAssembly (em++ -O2, under Node) and natively (g++ -O2) and the two can
// be put side by side.
//
// Each case runs in batches of about 10 ms of CPU time until --min-ms
// (default 200) of CPU time have been spent (or five times that in wall time,
// on a busy machine). Every batch is timed twice: process CPU time
// (clock_gettime(CLOCK_PROCESS_CPUTIME_ID) natively, process.cpuUsage() under
// Node), which time slices lost to other processes do not inflate, and wall
// time (std::chrono::steady_clock). The headline figure is the median batch in
// CPU ns per operation; the fastest batch and the wall-clock median are
// reported beside it. Prints JSON on stdout and a readable table on stderr;
// never asserts on time.
//
//   em++ -O2 -std=c++17 -Isrc -Itests/bench src/*.cc
//        tests/bench/core_bench_wasm.cc -sENVIRONMENT=node
//        -sWASM_ASYNC_COMPILATION=0 -sALLOW_MEMORY_GROWTH=1
//        -o out/bench/core_bench_wasm.js
//   node out/bench/core_bench_wasm.js [--min-ms=200]
//
// (scripts/bench-native.sh does this. -sWASM_ASYNC_COMPILATION=0: Emscripten
// 3.1.6's glue would otherwise load the .wasm with the global fetch() that
// Node 18+ has, which cannot read a file path. -sALLOW_MEMORY_GROWTH=1: the
// 10,000-endpoint cases need more than the default 16 MB.)
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#else
#include <time.h>
#endif

#include "balancer.h"
#include "bench_common.h"
#include "policy_registry.h"
#include "rng.h"

namespace sse_balancer {
namespace bench {
namespace {

// Keeps results alive so the optimiser cannot drop the measured calls.
volatile std::uint64_t g_sink = 0;

using Clock = std::chrono::steady_clock;

double WallNs() {
  return std::chrono::duration<double, std::nano>(
             Clock::now().time_since_epoch())
      .count();
}

#ifdef __EMSCRIPTEN__
// Node's user + system CPU time of the process, in microseconds.
EM_JS(double, ProcessCpuUs, (), {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
});
double CpuNs() { return ProcessCpuUs() * 1e3; }
#else
double CpuNs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}
#endif

struct Stamp {
  double cpu_ns;
  double wall_ns;
  static Stamp Now() { return {CpuNs(), WallNs()}; }
};

struct Case {
  std::string name;
  std::string group;  // pick | on_message | failover
  // Runs `iterations` operations; returns a checksum for g_sink.
  std::function<std::uint64_t(std::uint64_t iterations)> run;
};

struct Result {
  std::string name;
  std::string group;
  double median_ns = 0;       // CPU time, median batch
  double min_ns = 0;          // CPU time, fastest batch
  double mean_ns = 0;         // CPU time, all batches together
  double median_wall_ns = 0;  // wall time, median batch
  std::uint64_t iterations = 0;
  std::size_t batches = 0;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Result Measure(const Case& c, double min_ms) {
  g_sink = g_sink + c.run(1000);  // warm-up (and Wasm tier-up)
  std::uint64_t batch = 16;
  for (;;) {
    const Stamp start = Stamp::Now();
    g_sink = g_sink + c.run(batch);
    const double ns = Stamp::Now().cpu_ns - start.cpu_ns;
    if (ns >= 10e6 || batch >= (1ULL << 40)) break;
    const double scale = ns > 0 ? 10e6 / ns : 100.0;
    batch = static_cast<std::uint64_t>(static_cast<double>(batch) *
                                       std::min(100.0, std::max(2.0, scale)));
  }
  std::vector<double> cpu_per_op;
  std::vector<double> wall_per_op;
  double cpu_total = 0;
  double wall_total = 0;
  std::uint64_t total_iterations = 0;
  while ((cpu_total < min_ms * 1e6 && wall_total < 5 * min_ms * 1e6) ||
         cpu_per_op.size() < 5) {
    const Stamp start = Stamp::Now();
    g_sink = g_sink + c.run(batch);
    const Stamp end = Stamp::Now();
    const double n = static_cast<double>(batch);
    cpu_per_op.push_back((end.cpu_ns - start.cpu_ns) / n);
    wall_per_op.push_back((end.wall_ns - start.wall_ns) / n);
    cpu_total += end.cpu_ns - start.cpu_ns;
    wall_total += end.wall_ns - start.wall_ns;
    total_iterations += batch;
  }
  Result result;
  result.name = c.name;
  result.group = c.group;
  result.median_ns = Median(cpu_per_op);
  result.min_ns = *std::min_element(cpu_per_op.begin(), cpu_per_op.end());
  result.mean_ns = cpu_total / static_cast<double>(total_iterations);
  result.median_wall_ns = Median(wall_per_op);
  result.iterations = total_iterations;
  result.batches = cpu_per_op.size();
  return result;
}

Case PickCase(const std::string& policy_name, std::size_t count, bool half) {
  auto policy = std::shared_ptr<Policy>(MakePolicy(policy_name));
  auto endpoints =
      std::make_shared<std::vector<Endpoint>>(MakeEndpoints(count));
  auto eligible =
      std::make_shared<std::vector<std::size_t>>(MakeEligible(count, half));
  auto rng = std::make_shared<Rng>(42);
  Case c;
  c.name = "pick/" + policy_name + "/endpoints:" + std::to_string(count) +
           "/eligible:" + (half ? "half" : "all");
  c.group = "pick";
  c.run = [policy, endpoints, eligible, rng](std::uint64_t iterations) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) {
      sum += policy->Pick(*endpoints, *eligible, *rng);
    }
    return sum;
  };
  return c;
}

// Owns a Balancer and its Host for the lifetime of a case.
struct Rig {
  explicit Rig(std::size_t count) {
    BalancerOptions options;
    options.seed = 7;
    balancer = std::make_unique<Balancer>(MakeUrls(count), options,
                                          MakePolicy("round-robin"), host);
    balancer->Start();
    balancer->OnOpen(balancer->active_connection());
  }
  NoopHost host;
  std::unique_ptr<Balancer> balancer;
};

enum class IdKind { kNumeric, kString, kNone };

Case OnMessageCase(IdKind kind) {
  auto rig = std::make_shared<Rig>(3);
  const ConnectionId id = rig->balancer->active_connection();
  if (kind == IdKind::kNone) rig->balancer->OnMessage(id, "1000");
  auto next = std::make_shared<unsigned long long>(1000000000ULL);
  Case c;
  c.group = "on_message";
  c.name = kind == IdKind::kNumeric  ? "on_message/numeric-id"
           : kind == IdKind::kString ? "on_message/string-id"
                                     : "on_message/no-id";
  c.run = [rig, next, id, kind](std::uint64_t iterations) {
    char buffer[32] = "evt-";
    const std::size_t prefix = kind == IdKind::kString ? 4 : 0;
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) {
      std::string_view last_event_id = "1000";
      if (kind != IdKind::kNone) {
        const std::size_t n = FormatDecimal((*next)++, buffer + prefix);
        last_event_id = std::string_view(buffer, prefix + n);
      }
      sum += rig->balancer->OnMessage(id, last_event_id).value_or(7) + 1;
    }
    return sum;
  };
  return c;
}

Case FailoverCase(std::size_t count) {
  auto rig = std::make_shared<Rig>(count);
  rig->balancer->OnMessage(rig->balancer->active_connection(), "1000");
  Case c;
  c.group = "failover";
  c.name = "failover/endpoints:" + std::to_string(count);
  c.run = [rig](std::uint64_t iterations) {
    Balancer& balancer = *rig->balancer;
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) {
      rig->host.now_ms += 61000;
      balancer.OnError(balancer.active_connection(),
                       ConnectionError::kRetrying);
      const ConnectionId next = balancer.active_connection();
      if (next == 0) {
        std::fprintf(stderr, "failover did not open a connection\n");
        std::exit(2);
      }
      balancer.OnOpen(next);
      sum += rig->host.last_endpoint;
    }
    return sum;
  };
  return c;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace
}  // namespace bench
}  // namespace sse_balancer

int main(int argc, char** argv) {
  using namespace sse_balancer::bench;
  double min_ms = 200;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--min-ms=", 9) == 0) {
      min_ms = std::atof(argv[i] + 9);
    } else {
      std::fprintf(stderr, "usage: %s [--min-ms=200]\n", argv[0]);
      return 1;
    }
  }
#ifdef __EMSCRIPTEN__
  const char* runtime = "wasm";
#else
  const char* runtime = "native";
#endif

  std::vector<Case> cases;
  for (const char* policy : {"round-robin", "random"}) {
    for (std::size_t count : {3, 100, 10000}) {
      for (bool half : {false, true}) {
        cases.push_back(PickCase(policy, count, half));
      }
    }
  }
  cases.push_back(OnMessageCase(IdKind::kNumeric));
  cases.push_back(OnMessageCase(IdKind::kString));
  cases.push_back(OnMessageCase(IdKind::kNone));
  for (std::size_t count : {3, 100, 10000}) {
    cases.push_back(FailoverCase(count));
  }

  std::fprintf(stderr, "core_bench_wasm (%s, %s), %.0f ms per case\n", runtime,
               __VERSION__, min_ms);
  std::fprintf(stderr, "%-44s %12s %12s %12s %12s\n", "case", "cpu ns/op",
               "min cpu ns", "wall ns/op", "iterations");
  std::vector<Result> results;
  for (const Case& c : cases) {
    results.push_back(Measure(c, min_ms));
    const Result& r = results.back();
    std::fprintf(stderr, "%-44s %12.2f %12.2f %12.2f %12llu\n", r.name.c_str(),
                 r.median_ns, r.min_ns, r.median_wall_ns,
                 static_cast<unsigned long long>(r.iterations));
  }

  std::printf("{\n  \"runtime\": \"%s\",\n  \"compiler\": \"%s\",\n", runtime,
              Escape(__VERSION__).c_str());
  std::printf("  \"min_ms_per_case\": %.0f,\n", min_ms);
  std::printf(
      "  \"clock\": \"median_ns_per_op, min_ns_per_op and mean_ns_per_op are "
      "process CPU time per operation; median_wall_ns_per_op is wall time\",\n"
      "  \"results\": [\n");
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    std::printf(
        "    {\"name\": \"%s\", \"group\": \"%s\", \"median_ns_per_op\": "
        "%.3f, \"min_ns_per_op\": %.3f, \"mean_ns_per_op\": %.3f, "
        "\"median_wall_ns_per_op\": %.3f, \"iterations\": %llu, "
        "\"batches\": %zu}%s\n",
        r.name.c_str(), r.group.c_str(), r.median_ns, r.min_ns, r.mean_ns,
        r.median_wall_ns, static_cast<unsigned long long>(r.iterations),
        r.batches, i + 1 < results.size() ? "," : "");
  }
  std::printf("  ],\n  \"checksum\": %llu\n}\n",
              static_cast<unsigned long long>(g_sink));
  return 0;
}
