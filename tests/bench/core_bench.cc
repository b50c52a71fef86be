// Google Benchmark figures for the balancing core, native:
//
//   pick/<policy>/endpoints:<n>/eligible:<all|half>
//       Policy::Pick alone, as MakePolicy builds it, with every endpoint
//       eligible or every other one (the rest cooling down).
//   on_message/<numeric-id|string-id|no-id>
//       Balancer::OnMessage for one event on an open stream with a no-op
//       Host: a new numeric id each time (the dedup memory inserts and
//       evicts), a new non-numeric id, or an event without an id field (the
//       browser repeats the previous lastEventId).
//   failover/endpoints:<n>
//       One whole failover: OnError on the open stream -> close, record the
//       failure, pick -> OpenConnection, then OnOpen of the new stream. The
//       fake clock moves 61 s before each failure, so no cool-down, retry
//       budget or ejection state piles up across iterations (default
//       options otherwise).
//
// Run with --benchmark_out=FILE --benchmark_out_format=json. Nothing here
// asserts on time.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balancer.h"
#include "bench_common.h"
#include "policy_registry.h"
#include "rng.h"

namespace sse_balancer {
namespace bench {
namespace {

void BM_Pick(benchmark::State& state, std::string policy_name,
             std::size_t count, bool half) {
  std::unique_ptr<Policy> policy = MakePolicy(policy_name);
  const std::vector<Endpoint> endpoints = MakeEndpoints(count);
  const std::vector<std::size_t> eligible = MakeEligible(count, half);
  Rng rng(42);
  for (auto _ : state) {
    std::size_t chosen = policy->Pick(endpoints, eligible, rng);
    benchmark::DoNotOptimize(chosen);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["endpoints"] = static_cast<double>(count);
  state.counters["eligible"] = static_cast<double>(eligible.size());
}

enum class IdKind { kNumeric, kString, kNone };

void BM_OnMessage(benchmark::State& state, IdKind kind) {
  NoopHost host;
  BalancerOptions options;
  options.seed = 7;
  Balancer balancer(MakeUrls(3), options, MakePolicy("round-robin"), host);
  balancer.Start();
  const ConnectionId id = balancer.active_connection();
  balancer.OnOpen(id);
  char buffer[32] = "evt-";
  const std::size_t prefix = kind == IdKind::kString ? 4 : 0;
  unsigned long long next = 1000000000ULL;
  if (kind == IdKind::kNone) {
    balancer.OnMessage(id, "1000");  // the last id, repeated by every event
  }
  int dropped = 0;
  for (auto _ : state) {
    std::string_view last_event_id = "1000";
    if (kind != IdKind::kNone) {
      const std::size_t n = FormatDecimal(next++, buffer + prefix);
      last_event_id = std::string_view(buffer, prefix + n);
    }
    const std::optional<std::size_t> result =
        balancer.OnMessage(id, last_event_id);
    benchmark::DoNotOptimize(result);
    dropped += !result.has_value();
  }
  if (dropped != 0) state.SkipWithError("events were dropped");
  state.SetItemsProcessed(state.iterations());
}

void BM_Failover(benchmark::State& state, std::size_t count) {
  NoopHost host;
  BalancerOptions options;
  options.seed = 7;
  Balancer balancer(MakeUrls(count), options, MakePolicy("round-robin"), host);
  balancer.Start();
  balancer.OnOpen(balancer.active_connection());
  balancer.OnMessage(balancer.active_connection(), "1000");  // resume id
  bool stuck = false;
  for (auto _ : state) {
    host.now_ms += 61000;
    balancer.OnError(balancer.active_connection(), ConnectionError::kRetrying);
    const ConnectionId next = balancer.active_connection();
    stuck |= next == 0;
    balancer.OnOpen(next);
  }
  if (stuck) state.SkipWithError("a failover did not open a connection");
  state.SetItemsProcessed(state.iterations());
  state.counters["endpoints"] = static_cast<double>(count);
}

void RegisterAll() {
  for (const char* policy : {"round-robin", "random"}) {
    for (std::size_t count : {3, 100, 10000}) {
      for (bool half : {false, true}) {
        const std::string name = std::string("pick/") + policy +
                                 "/endpoints:" + std::to_string(count) +
                                 "/eligible:" + (half ? "half" : "all");
        benchmark::RegisterBenchmark(name.c_str(), BM_Pick, std::string(policy),
                                     count, half);
      }
    }
  }
  benchmark::RegisterBenchmark("on_message/numeric-id", BM_OnMessage,
                               IdKind::kNumeric);
  benchmark::RegisterBenchmark("on_message/string-id", BM_OnMessage,
                               IdKind::kString);
  benchmark::RegisterBenchmark("on_message/no-id", BM_OnMessage, IdKind::kNone);
  for (std::size_t count : {3, 100, 10000}) {
    const std::string name = "failover/endpoints:" + std::to_string(count);
    benchmark::RegisterBenchmark(name.c_str(), BM_Failover, count);
  }
}

}  // namespace
}  // namespace bench
}  // namespace sse_balancer

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  sse_balancer::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
