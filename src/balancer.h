// The balancing core: owns every endpoint's state and every decision.
#ifndef SSE_BALANCER_BALANCER_H_
#define SSE_BALANCER_BALANCER_H_

#include <cstddef>
#include <cstdint>
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
#include "retry_budget.h"
#include "rng.h"
#include "types.h"

namespace sse_balancer {

/// Outlier ejection, after Envoy: an endpoint that keeps failing is taken
/// out for longer than its backoff, but never so many that too few remain.
struct EjectionOptions {
  /// Consecutive failures that eject an endpoint; 0 disables ejection.
  int after_failures = 5;
  /// Ejection time is base_ms x (times ejected), capped, jittered +/-25 %
  /// (scaled by BackoffOptions::jitter).
  double base_ms = 30000;
  double max_ms = 300000;
  /// At most this share of the endpoints is ejected at once.
  double max_percent = 50;
};

/// Detecting streams that are dead but look alive.
struct WatchdogOptions {
  /// An open stream with no event of any type for this long has stalled;
  /// 0 turns the check off.
  double heartbeat_timeout_ms = 0;
  /// A connection that has not opened after this long has stalled; 0 = off.
  double connect_timeout_ms = 10000;
};

struct BalancerOptions {
  BackoffOptions backoff;
  EjectionOptions ejection;
  WatchdogOptions watchdog;
  /// Connection attempts allowed per sliding minute, across all endpoints;
  /// 0 = unlimited.
  std::size_t max_connects_per_minute = 60;
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
  /// Each endpoint's weight for the `weighted` policy, in the order of the
  /// URLs (missing ones: 1).
  std::vector<double> weights;
};

/// Ids longer than this are delivered but not carried in the URL (URL
/// length limits would turn every reconnect into an HTTP failure).
inline constexpr std::size_t kMaxCarriedIdBytes = 1024;

/// At most this many endpoints are tried per outage round: a sweep over a
/// long list would spend the retry budget (and load a restarting fleet) in
/// a few rounds; the next rounds continue through the list.
inline constexpr std::size_t kOutageSweepSize = 3;

/// Once more than this share of the retry budget is used, outage rounds slow
/// to the pace the budget sustains. Below it, a 30 s outage keeps its short
/// schedule (about 42 attempts with three endpoints).
inline constexpr double kPaceAboveBudgetShare = 0.75;

/// A drain announced for `within` ms: the move starts within this share of
/// it (spread by the jitter), so that it completes before the server goes.
inline constexpr double kDrainMoveShare = 0.8;

/// A connection opened beside the stream (a drain, a move for load, leaving
/// a removed endpoint) that has opened takes over after this long even if it
/// has delivered nothing: the stream is quiet, and it resumed from the last
/// id, so nothing is lost.
inline constexpr double kStandbyQuietMs = 1000;

/// A least-loaded client moves for load at most this often, and within this
/// long after deciding to (spread), so that clients do not move in waves.
inline constexpr double kRebalanceEveryMs = 10000;
inline constexpr double kRebalanceSpreadMs = 1000;

/// Retry semantics (issue 8, items 4 and 5):
/// - A stream that opened and delivered at least one event, then ended
///   (kClosed), is a healthy end, not a failed attempt: counters record it,
///   the endpoint's backoff starts afresh and it stays eligible. The
///   balancer reconnects at once to another endpoint when another is
///   eligible (a kill ends a stream the same way), else to the same one
///   after a random 0 to kHealthyEndJitterMs x jitter.
/// - Any other failure cools the endpoint down and fails over at once while
///   some endpoint is eligible.
/// - Once no endpoint is eligible (every one failed since the last open),
///   the balancer is in an outage. Each round it sweeps: it tries up to
///   kOutageSweepSize endpoints in turn (policy order among those not yet
///   tried in this cycle through the list; the next one as soon as the
///   previous fails). Between rounds it waits OutageDelayMs(round) from the
///   last attempt (initial_ms, x multiplier, capped at max_outage_ms,
///   +/-20 % x jitter, floored at min_ms); once more than
///   kPaceAboveBudgetShare of the retry budget is used, at least the
///   budget's sustainable pace (sweep size x window / limit, jittered
///   alike). The budget applies to every attempt.
///
/// Keeps exactly one stream open across a list of endpoints. The Host is
/// told what to open and close; it reports back through the On* calls.
///
/// Invariants: at most one connection is open; a connection that failed is
/// closed before another is opened; within one id epoch an event id is
/// delivered at most once (within the dedup window); after Close() nothing
/// is open and no timer is pending.
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
  /// The connection failed with what the host can tell (ConnectionError);
  /// the Balancer alone decides the FailureReason it reports: kHttp when
  /// the browser gave up, kProvider when no URL could be made, kClosed for
  /// a stream that had opened and ended, kNetwork for one that never opened.
  void OnError(ConnectionId id, ConnectionError error);
  /// Decides one event. `last_event_id` is the event's lastEventId as the
  /// browser reports it (it persists across events that carry no id field).
  /// An empty value on a connection that has reported an id is `id:` with no
  /// value: the last event id becomes empty, as in EventSource. An empty
  /// value on a connection that has not is an event without an id: the
  /// delivered event's lastEventId is last_event_id() (it persists across
  /// reconnections, as in EventSource).
  /// Returns the index of the endpoint it came through when the event must be
  /// delivered, nullopt when not (a duplicate, or from a stale connection).
  std::optional<std::size_t> OnMessage(ConnectionId id,
                                       std::string_view last_event_id);
  void OnTimer(TimerId id);
  /// The active stream's server announced it goes away within `within_ms`
  /// (a drain). Make before break: at a moment spread over that time, the
  /// balancer opens its next pick beside the stream, switches when the new
  /// stream delivers an event the old one has not, and only then closes the
  /// old one; the drained endpoint rests meanwhile. No event is lost or
  /// repeated, and the page sees no gap.
  void OnDrain(ConnectionId id, double within_ms);
  /// The servers' latest load figure for `endpoint` (< 0: unknown).
  void SetLoad(std::size_t endpoint, double load);
  /// New load figures arrived on connection `id`. Under a policy with a
  /// LoadBound() (least-loaded, sticky), a client whose endpoint carries
  /// more than that bound times the mean moves (make before break, as for a
  /// drain) with the probability that brings the load to the policy's
  /// LoadTarget() in expectation, at most once per kRebalanceEveryMs.
  void OnLoadReport(ConnectionId id);
  /// A new endpoint list (in its order; `weights` as in BalancerOptions). An
  /// endpoint in both keeps its health and counters; a new one starts idle;
  /// a removed one goes, except the one streaming: it is retired (never
  /// picked) and the stream moves off it as for a drain, then it goes.
  /// `urls` must be non-empty and without repeats (the bindings check).
  void SetEndpoints(std::vector<std::string> urls, std::vector<double> weights);

  /// The browser went offline: attempts pause (a slow probe continues in
  /// case the signal is wrong); an open stream is left alone.
  void OnOffline();
  /// Back online: when no stream is open, cool-downs are forgotten and a
  /// connection is attempted at once (within the retry budget).
  void OnOnline();
  /// The page became visible or was restored from the back/forward cache.
  /// `active_alive`: whether the active connection still looks usable to the
  /// host. A dead or stalled stream fails over; while waiting to retry,
  /// cool-downs (not ejections) are forgotten and an attempt is made now.
  void OnResume(bool active_alive);

  /// Chooses the endpoint for a one-off request (a POST beside the stream)
  /// with the same policy and health: endpoints that are not cooling down or
  /// ejected, less `exclude`; if none is left, any not excluded (panic).
  /// nullopt when every endpoint is excluded or after Close().
  /// Ends the cool-downs and ejections whose time is up (EndpointHealth::
  /// RefreshAt): the Balancer calls it before each decision; stats() callers
  /// call it first so that what they report is as of now.
  void RefreshHealth(bool panic = false);

  std::optional<std::size_t> PickForRequest(
      const std::vector<std::size_t>& exclude);
  /// A request to `endpoint` failed at the network level: it counts as a
  /// `network` failure and the endpoint cools down, unless it is the active
  /// one (its stream speaks for itself).
  void OnRequestFailed(std::size_t endpoint);

  ReadyState ready_state() const { return ready_state_; }
  /// The endpoint streaming or being connected to, if any.
  std::optional<std::size_t> active_endpoint() const { return active_; }
  /// The connection streaming or being connected, or 0.
  ConnectionId active_connection() const { return active_connection_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  const std::string& last_event_id() const { return last_event_id_; }
  std::string_view policy_name() const { return policy_->name(); }
  /// True while a retry timer is pending.
  bool retry_pending() const { return retry_timer_ != 0; }
  /// True while the stall watchdog timer is pending.
  bool watchdog_pending() const { return watchdog_timer_ != 0; }
  bool offline() const { return offline_; }
  /// How often the server's numeric ids went backwards (a restarted log):
  /// each time the dedup memory starts afresh.
  std::uint64_t id_resets() const { return id_resets_; }
  std::size_t budget_used() { return budget_.used(host_.NowMs()); }
  std::size_t budget_limit() const { return budget_.limit(); }

 private:
  /// Why a connection is being looked for.
  enum class ConnectMode {
    kNow,     ///< after a failure or at start: at once if anything may be up
    kTimer,   ///< the retry timer fired (an outage round, a cool-down's end)
    kProbe,   ///< the slow probe while the browser says it is offline
    kResume,  ///< the user came back: now if the floor allows, never later
  };

  void Fail(FailureReason reason);
  void ConnectNext(FailureReason reason, ConnectMode mode);
  void Connect(std::size_t index, FailureReason reason);
  /// Every endpoint has been found down: the next sweep follows the outage
  /// schedule. `new_round` false keeps the floor only (resume).
  void ScheduleOutageRound(bool new_round);
  void ScheduleRetryAt(double at_ms);
  /// When the retry budget allows the next attempt, jittered when it is
  /// later than now.
  double BudgetAllowsAt(double now_ms);
  /// Cancels `timer` if it is pending, and forgets it (0).
  void StopTimer(TimerId& timer);
  void CancelRetry();
  void ArmWatchdog(double delay_ms);
  void CancelWatchdog();
  // Drain (balancer_drain.cc).
  void OpenStandby();
  std::optional<std::size_t> OnStandbyMessage(std::string_view last_event_id);
  void PromoteStandby();
  void AbandonStandby(std::optional<FailureReason> failure);
  void CancelDrain();
  // Endpoint lists (balancer_endpoints.cc).
  void Reindex(std::vector<Endpoint> next,
               const std::vector<std::size_t>& old_of);
  /// On a removed (retired) endpoint with no move under way: start one in
  /// `delay_ms` (a pending move for load becomes a plain move off it).
  void LeaveRetired(double delay_ms);
  void PurgeRetired();
  /// A stream that opened and delivered events, then ended: not a failed
  /// attempt. Its endpoint stays eligible with a fresh backoff.
  void RecordHealthyEnd(std::size_t index);
  /// Counts a stream or attempt that ended with `reason` (healthy or not).
  void CountEnd(Endpoint& endpoint, FailureReason reason, double now_ms);
  /// A stream opened (or the browser came back online): no outage any more.
  void EndOutage();
  /// Endpoints tried per outage round.
  std::size_t SweepSize() const;
  void RecordFailure(std::size_t index, FailureReason reason);
  bool MayEject(std::size_t index, double now_ms) const;
  /// Endpoints that may be picked now. With `panic`, ejections are ignored
  /// (only the ordinary backoff counts): used when nothing else is left.
  /// Endpoints that may take the next connection (a query: RefreshHealth()
  /// first). Trusted ones; those on probation only when no trusted one is.
  std::vector<std::size_t> Eligible() const;
  /// Cool-downs (and with `ejections`, ejections) end now: OnOnline and
  /// OnResume.
  void ForgetFailures(bool ejections);
  std::string ConnectionUrl(const Endpoint& endpoint) const;

  std::vector<Endpoint> endpoints_;
  BalancerOptions options_;
  std::unique_ptr<Policy> policy_;
  Host& host_;
  Rng rng_;
  RetryBudget budget_;

  ReadyState ready_state_ = ReadyState::kConnecting;
  bool started_ = false;
  bool closed_ = false;
  bool offline_ = false;
  ConnectionId next_connection_ = 0;
  ConnectionId active_connection_ = 0;  // 0: none
  std::optional<std::size_t> active_;
  /// The endpoint that was active last, for failover's `from`.
  std::optional<std::size_t> previous_;
  TimerId next_timer_ = 0;
  TimerId retry_timer_ = 0;     // 0: none
  TimerId watchdog_timer_ = 0;  // 0: none
  double last_attempt_ms_ = -1e300;
  double last_activity_ms_ = 0;
  /// Every endpoint has been found down since the last successful open.
  bool all_down_ = false;
  /// Retry rounds made while every endpoint was down: the exponent of the
  /// wait between rounds, so that clients that lost everything together
  /// drift apart instead of retrying in lockstep at the floor.
  int all_down_rounds_ = 0;
  /// Endpoints not yet tried in the current cycle through the list.
  std::vector<std::size_t> sweep_left_;
  /// Attempts made in the current outage round, and to which endpoints.
  std::size_t round_attempts_ = 0;
  std::vector<std::size_t> tried_in_round_;
  /// The endpoint whose healthy stream just ended: the reconnect picks
  /// another one when any other is eligible.
  std::optional<std::size_t> avoid_once_;
  /// A connection opened beside the active one to move off a draining
  /// endpoint (make before break); id 0: none.
  struct Standby {
    ConnectionId id = 0;
    std::size_t endpoint = 0;
    bool open = false;
    TimerId timer = 0;  // its connect timeout
    /// When its own server goes away (it announced a drain too); < 0: not.
    double drain_at = -1;
    /// It was opened to leave a removed endpoint (LeaveRetired).
    bool leaving = false;
  };
  Standby standby_;
  /// When to open the standby (a drain was announced); 0: none.
  TimerId drain_timer_ = 0;
  /// The pending drain timer is a move off a removed endpoint (LeaveRetired).
  bool leaving_retired_ = false;
  /// When this client last decided to move for load.
  double last_rebalance_ms_ = -1e300;
  /// The pending move is for load, not a drain: it goes only to an endpoint
  /// that carries less, and its failover's reason is kRebalance.
  bool move_for_load_ = false;
  /// The pending retry timer starts a new outage sweep (rather than
  /// continuing one the retry budget interrupted).
  bool retry_starts_sweep_ = false;
  FailureReason last_reason_ = FailureReason::kNone;
  /// Events delivered on the active connection (a stream that delivered
  /// some and then ended is a healthy end, not a failed attempt).
  std::uint64_t delivered_on_connection_ = 0;

  std::string last_event_id_;
  /// lastEventId the active connection reported with its previous event;
  /// an event reporting the same value carried no id of its own.
  std::string connection_last_id_;
  /// The numeric id before the next one on this connection: the resume id
  /// at first, then the connection's previous numeric id.
  std::optional<std::uint64_t> numeric_before_;
  bool first_id_ = true;
  std::uint64_t id_resets_ = 0;
  RecentIds recent_ids_;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_BALANCER_H_
