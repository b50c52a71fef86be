// Small value types shared by the core and its hosts.
#ifndef SSE_BALANCER_TYPES_H_
#define SSE_BALANCER_TYPES_H_

#include <cstdint>
#include <string_view>

namespace sse_balancer {

/// Identifies one underlying connection (one EventSource object). Never reused
/// within a Balancer, so a late callback from a closed connection is
/// recognisable as stale.
using ConnectionId = std::uint32_t;

/// Identifies one timer started through the Host. Never reused within a
/// Balancer.
using TimerId = std::uint32_t;

/// Mirrors EventSource.readyState so the numbers can cross to JS unchanged.
enum class ReadyState : int { kConnecting = 0, kOpen = 1, kClosed = 2 };

/// Why a connection was given up. The names are part of the public API (they
/// appear on `error`/`failover` events and in stats()).
enum class FailureReason : int {
  kNone = 0,
  /// Connection refused or dropped; the browser would have retried the same
  /// URL by itself (EventSource readyState CONNECTING at the error).
  kNetwork = 1,
  /// The browser gave up: non-200 status, 204, wrong Content-Type, CORS
  /// (EventSource readyState CLOSED at the error).
  kHttp = 2,
  /// No event arrived within the heartbeat timeout.
  kStall = 3,
  /// A stream that had opened ended: the server closed it or the connection
  /// dropped (EventSource reports both the same way).
  kClosed = 4,
  /// The page's urlProvider threw, rejected or returned no usable URL.
  kProvider = 5,
  /// Not a failure: the server announced it goes away (a drain), and the
  /// balancer moved to another endpoint first. Only a failover's reason.
  kDrain = 6,
  /// Not a failure either: under the least-loaded policy the balancer moved
  /// off an endpoint that carried more than its share.
  kRebalance = 7,
};
inline constexpr int kFailureReasonCount = 8;

/// What a host can tell about a failed connection; the Balancer turns it
/// into a FailureReason.
enum class ConnectionError : int {
  /// The browser will retry the same URL (EventSource CONNECTING).
  kRetrying = 0,
  /// The browser gave up: non-200, 204, wrong type, CORS (CLOSED).
  kGaveUp = 1,
  /// No URL could be made (the page's urlProvider failed).
  kNoUrl = 2,
};

/// The lifecycle of one endpoint as the balancer sees it.
enum class EndpointState : int {
  kIdle = 0,         ///< eligible, not connected
  kConnecting = 1,   ///< connection requested, not yet open
  kOpen = 2,         ///< streaming (the active endpoint)
  kCoolingDown = 3,  ///< failed recently; ineligible until its backoff ends
  kEjected = 4,      ///< failed repeatedly; out for a longer ejection time
};
inline constexpr int kEndpointStateCount = 5;

std::string_view ToString(FailureReason reason);
std::string_view ToString(EndpointState state);

}  // namespace sse_balancer

#endif  // SSE_BALANCER_TYPES_H_
