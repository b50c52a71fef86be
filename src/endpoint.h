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
  std::uint64_t ejections = 0;   ///< times it was ejected
  std::array<std::uint64_t, kFailureReasonCount> failures_by_reason{};
  FailureReason last_error = FailureReason::kNone;
  /// Host clock time of the last failure (meaningful when last_error is set).
  double last_error_at_ms = 0;
};

struct Endpoint {
  std::string url;
  EndpointState state = EndpointState::kIdle;
  EndpointCounters counters;
  /// Consecutive failures since the endpoint last streamed healthily; the
  /// exponent of its next backoff.
  int backoff_attempt = 0;
  /// Failures since it last streamed healthily (resetBackoffAfterMs).
  int consecutive_failures = 0;
  /// While kCoolingDown (and kEjected): the end of its backoff.
  double cooldown_until_ms = 0;
  /// While kEjected: the end of its ejection.
  double ejected_until_ms = 0;
  /// Back from an ejection and not yet healthy again: preferred last, and
  /// its next failure ejects it again at once.
  bool probation = false;
  /// While kOpen: when the stream opened.
  double opened_at_ms = 0;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_ENDPOINT_H_
