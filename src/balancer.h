// The balancing core: owns every endpoint's state and every decision.
#ifndef SSE_BALANCER_BALANCER_H_
#define SSE_BALANCER_BALANCER_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backoff.h"
#include "endpoint.h"
#include "host.h"
#include "policy.h"
#include "recent_ids.h"
#include "rng.h"
#include "types.h"

namespace sse_balancer {

struct BalancerOptions {
  BackoffOptions backoff;
  /// Query parameter that carries the last delivered id to a new connection;
  /// empty disables it.
  std::string last_event_id_param = "lastEventId";
  /// How many recent ids are remembered for dropping replayed events.
  std::size_t dedup_window = 1024;
  /// Seeds every random choice (first round-robin index, random picks,
  /// jitter).
  std::uint64_t seed = 0;
  /// Resume point for the very first connection (empty: none).
  std::string initial_last_event_id;
};

/// What OnMessage decided about an event.
inline constexpr int kDropEvent = -1;

/// Keeps exactly one stream open across a list of endpoints. The Host is
/// told what to open and close; it reports back through the On* calls.
///
/// Invariants: at most one connection is open; a connection that failed is
/// closed before another is opened; an event id is delivered at most once
/// within the dedup window; after Close() nothing is open and no timer is
/// pending.
class Balancer {
 public:
  /// `urls` must be non-empty and `policy` non-null (the bindings validate
  /// user input before getting here).
  Balancer(std::vector<std::string> urls, BalancerOptions options,
           std::unique_ptr<Policy> policy, Host& host);
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  /// Opens the first connection. Call once.
  void Start();
  /// Closes everything; later callbacks are ignored. Idempotent.
  void Close();

  void OnOpen(ConnectionId id);
  /// `browser_gave_up`: the EventSource was CLOSED at its error (HTTP
  /// failure) rather than CONNECTING (network drop, it would retry).
  void OnError(ConnectionId id, bool browser_gave_up);
  /// Decides one event. `last_event_id` is the event's lastEventId as the
  /// browser reports it (it persists across events that carry no id field).
  /// Returns the index of the endpoint it came through when the event must be
  /// delivered, or kDropEvent (duplicate, or from a stale connection).
  int OnMessage(ConnectionId id, std::string_view last_event_id);
  void OnTimer(TimerId id);

  ReadyState ready_state() const { return ready_state_; }
  /// The endpoint streaming or being connected to, if any.
  std::optional<std::size_t> active_endpoint() const { return active_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  const std::string& last_event_id() const { return last_event_id_; }
  std::string_view policy_name() const { return policy_->name(); }
  /// True while a retry timer is pending (for tests and stats).
  bool retry_pending() const { return pending_timer_ != 0; }

 private:
  void ConnectNext(FailureReason reason);
  void Connect(std::size_t index, FailureReason reason);
  void ScheduleRetry();
  void RecordFailure(std::size_t index, FailureReason reason);
  std::vector<std::size_t> EligibleNow();
  std::string ConnectionUrl(const Endpoint& endpoint) const;

  std::vector<Endpoint> endpoints_;
  BalancerOptions options_;
  std::unique_ptr<Policy> policy_;
  Host& host_;
  Rng rng_;

  ReadyState ready_state_ = ReadyState::kConnecting;
  bool started_ = false;
  bool closed_ = false;
  ConnectionId next_connection_ = 0;
  ConnectionId active_connection_ = 0;  // 0: none
  std::optional<std::size_t> active_;
  /// The endpoint that was active last, for failover's `from`.
  std::optional<std::size_t> previous_;
  TimerId next_timer_ = 0;
  TimerId pending_timer_ = 0;  // 0: none
  double last_attempt_ms_ = -1e300;
  /// Every endpoint has been found down since the last successful open.
  bool all_down_ = false;
  FailureReason last_reason_ = FailureReason::kNone;

  std::string last_event_id_;
  /// lastEventId the active connection reported with its previous event;
  /// an event reporting the same value carried no id of its own.
  std::string connection_last_id_;
  RecentIds recent_ids_;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_BALANCER_H_
