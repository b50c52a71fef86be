// Shared by the core benchmarks (core_bench.cc with Google Benchmark and
// core_bench_wasm.cc, the self-timing harness built both to Wasm and
// natively): a Host that does nothing and the inputs every case uses.
#ifndef SSE_BALANCER_TESTS_BENCH_BENCH_COMMON_H_
#define SSE_BALANCER_TESTS_BENCH_BENCH_COMMON_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "endpoint.h"
#include "host.h"
#include "types.h"

namespace sse_balancer {
namespace bench {

// The cheapest Host possible, so a benchmark measures the core and nothing
// else: every call returns at once; the clock moves only when told.
class NoopHost : public Host {
 public:
  void OpenConnection(ConnectionId id, std::size_t endpoint,
                      const std::string& /*url*/) override {
    last_opened = id;
    last_endpoint = endpoint;
    ++opens;
  }
  void CloseConnection(ConnectionId /*id*/) override {}
  void StartTimer(TimerId /*id*/, double /*delay_ms*/) override {}
  void CancelTimer(TimerId /*id*/) override {}
  double NowMs() override { return now_ms; }
  void NotifyOpen(std::size_t /*endpoint*/) override {}
  void NotifyError(std::size_t /*endpoint*/,
                   FailureReason /*reason*/) override {}
  void NotifyFailover(std::optional<std::size_t> /*from*/, std::size_t /*to*/,
                      FailureReason /*reason*/) override {}

  double now_ms = 0;
  ConnectionId last_opened = 0;
  std::size_t last_endpoint = 0;
  std::size_t opens = 0;
};

inline std::vector<std::string> MakeUrls(std::size_t count) {
  std::vector<std::string> urls;
  urls.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    urls.push_back("https://backend-" + std::to_string(i) +
                   ".example.com/chat/events");
  }
  return urls;
}

inline std::vector<Endpoint> MakeEndpoints(std::size_t count) {
  std::vector<Endpoint> endpoints;
  endpoints.reserve(count);
  for (std::string& url : MakeUrls(count)) {
    Endpoint endpoint;
    endpoint.url = std::move(url);
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

// The eligible list Policy::Pick receives: every endpoint, or every other
// one (0, 2, 4, ...: half of them cooling down).
inline std::vector<std::size_t> MakeEligible(std::size_t count, bool half) {
  std::vector<std::size_t> eligible;
  for (std::size_t i = 0; i < count; i += half ? 2 : 1) eligible.push_back(i);
  return eligible;
}

// Writes the decimal digits of `value` to `buffer` (at least 21 bytes) and
// returns their count. Cheaper than std::to_string (no allocation), so the
// id-making does not dominate the OnMessage figures.
inline std::size_t FormatDecimal(unsigned long long value, char* buffer) {
  char digits[24];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (std::size_t i = 0; i < n; ++i) buffer[i] = digits[n - 1 - i];
  return n;
}

}  // namespace bench
}  // namespace sse_balancer

#endif  // SSE_BALANCER_TESTS_BENCH_BENCH_COMMON_H_
