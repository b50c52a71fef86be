// One URL the balancer may stream from, with its health and counters.
#ifndef SSE_BALANCER_ENDPOINT_H_
#define SSE_BALANCER_ENDPOINT_H_

#include <array>
#include <cstdint>
#include <string>

#include "types.h"

namespace sse_balancer {

struct EndpointCounters {
  std::uint64_t connects = 0;    ///< connection attempts started
  std::uint64_t opens = 0;       ///< attempts that reached `open`
  std::uint64_t failures = 0;    ///< attempts or streams that failed
  std::uint64_t messages = 0;    ///< events delivered to the page
  std::uint64_t duplicates = 0;  ///< events dropped as already delivered
  std::array<std::uint64_t, kFailureReasonCount> failures_by_reason{};
  FailureReason last_error = FailureReason::kNone;
};

struct Endpoint {
  std::string url;
  EndpointState state = EndpointState::kIdle;
  EndpointCounters counters;
  /// Consecutive failures since the endpoint last streamed healthily; the
  /// exponent of its next backoff.
  int backoff_attempt = 0;
  /// While kCoolingDown: the Host clock time at which it becomes eligible.
  double cooldown_until_ms = 0;
  /// While kOpen: when the stream opened.
  double opened_at_ms = 0;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_ENDPOINT_H_
