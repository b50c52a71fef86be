// One URL the balancer may stream from, with its health and counters.
#ifndef SSE_BALANCER_ENDPOINT_H_
#define SSE_BALANCER_ENDPOINT_H_

#include <array>
#include <cstdint>
#include <string>

#include "endpoint_health.h"
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
  /// The connection side only: kIdle, kConnecting (the active endpoint,
  /// not open yet) or kOpen (streaming).
  EndpointState connection = EndpointState::kIdle;
  EndpointHealth health;
  EndpointCounters counters;
  /// Its share of new connections under the `weighted` policy (> 0).
  double weight = 1;
  /// The load its server last advertised (e.g. open streams); -1: unknown.
  double load = -1;
  /// Removed from the list while the stream was on it: never picked again,
  /// dropped once the stream has moved off it.
  bool retired = false;
  /// While kOpen: when the stream opened.
  double opened_at_ms = 0;

  /// What stats() reports: the connection while there is one, otherwise the
  /// health (idle, cooling-down or ejected).
  EndpointState state() const {
    if (connection != EndpointState::kIdle) return connection;
    switch (health.status()) {
      case EndpointHealth::Status::kCoolingDown:
        return EndpointState::kCoolingDown;
      case EndpointHealth::Status::kEjected:
        return EndpointState::kEjected;
      case EndpointHealth::Status::kUp:
        break;
    }
    return EndpointState::kIdle;
  }
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_ENDPOINT_H_
