#include "balancer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "event_id.h"
#include "url_query.h"

namespace sse_balancer {
namespace {
constexpr double kBudgetWindowMs = 60000;
}  // namespace

Balancer::Balancer(std::vector<std::string> urls, BalancerOptions options,
                   std::unique_ptr<Policy> policy, Host& host)
    : options_(std::move(options)),
      policy_(std::move(policy)),
      host_(host),
      rng_(options_.seed),
      budget_(options_.max_connects_per_minute, kBudgetWindowMs),
      last_event_id_(options_.initial_last_event_id),
      recent_ids_(options_.dedup_window) {
  endpoints_.reserve(urls.size());
  for (std::string& url : urls) {
    Endpoint endpoint;
    endpoint.url = std::move(url);
    endpoints_.push_back(std::move(endpoint));
  }
  if (!last_event_id_.empty()) recent_ids_.Insert(last_event_id_);
}

void Balancer::Start() {
  if (started_ || closed_) return;
  started_ = true;
  ConnectNext(FailureReason::kNone);
}

void Balancer::Close() {
  if (closed_) return;
  closed_ = true;
  ready_state_ = ReadyState::kClosed;
  if (active_connection_ != 0) {
    const ConnectionId id = active_connection_;
    active_connection_ = 0;
    host_.CloseConnection(id);
  }
  if (active_) {
    endpoints_[*active_].state = EndpointState::kIdle;
    active_.reset();
  }
  CancelRetry();
  CancelWatchdog();
}

void Balancer::OnOpen(ConnectionId id) {
  if (closed_ || id == 0 || id != active_connection_) return;
  Endpoint& endpoint = endpoints_[*active_];
  const double now = host_.NowMs();
  endpoint.state = EndpointState::kOpen;
  endpoint.opened_at_ms = now;
  ++endpoint.counters.opens;
  all_down_ = false;
  all_down_rounds_ = 0;
  ready_state_ = ReadyState::kOpen;
  last_activity_ms_ = now;
  if (options_.watchdog.heartbeat_timeout_ms > 0) {
    ArmWatchdog(options_.watchdog.heartbeat_timeout_ms);
  } else {
    CancelWatchdog();
  }
  host_.NotifyOpen(*active_);
}

void Balancer::OnError(ConnectionId id, FailureReason hint) {
  if (closed_ || id == 0 || id != active_connection_) return;
  FailureReason reason = hint;
  if (hint == FailureReason::kNetwork &&
      endpoints_[*active_].state == EndpointState::kOpen) {
    reason = FailureReason::kClosed;
  }
  Fail(reason);
}

void Balancer::Fail(FailureReason reason) {
  const std::size_t failed = *active_;
  const ConnectionId id = active_connection_;
  // Close first: the browser must not keep retrying the dead endpoint.
  active_connection_ = 0;
  CancelWatchdog();
  host_.CloseConnection(id);
  previous_ = failed;
  active_.reset();
  RecordFailure(failed, reason);
  ready_state_ = ReadyState::kConnecting;
  host_.NotifyError(failed, reason);
  if (closed_) return;  // a listener called close()
  ConnectNext(reason);
}

int Balancer::OnMessage(ConnectionId id, std::string_view last_event_id) {
  if (closed_ || id == 0 || id != active_connection_) return kDropEvent;
  const std::size_t index = *active_;
  Endpoint& endpoint = endpoints_[index];
  if (options_.watchdog.heartbeat_timeout_ms > 0) {
    last_activity_ms_ = host_.NowMs();
  }
  if (last_event_id.empty()) {
    // Empty on a connection that had an id: `id:` with no value reset it,
    // and a native EventSource would now resume with no id at all. Empty on
    // a connection that never had one: the event simply carries no id and
    // the balancer's last id still stands (the page is told that one).
    if (!connection_last_id_.empty()) {
      connection_last_id_.clear();
      last_event_id_.clear();
    }
  } else if (last_event_id != connection_last_id_) {
    // The event carried a new id.
    connection_last_id_.assign(last_event_id);
    const std::optional<std::uint64_t> numeric = NumericId(last_event_id);
    if (numeric && numeric_before_ && *numeric < *numeric_before_) {
      // The sequence went backwards: the server's log restarted, so old
      // ids are being reused for new events. Forget them rather than drop
      // new events as duplicates.
      recent_ids_.Clear();
      ++id_resets_;
    }
    if (numeric) {
      numeric_before_ = numeric;
    } else if (first_id_) {
      numeric_before_.reset();
    }
    first_id_ = false;
    if (recent_ids_.Contains(last_event_id)) {
      ++endpoint.counters.duplicates;
      return kDropEvent;
    }
    recent_ids_.Insert(last_event_id);
    last_event_id_.assign(last_event_id);
  }
  ++endpoint.counters.messages;
  return static_cast<int>(index);
}

void Balancer::OnTimer(TimerId id) {
  if (closed_ || id == 0) return;
  if (id == retry_timer_) {
    retry_timer_ = 0;
    ConnectNext(last_reason_, /*probe=*/offline_);
    return;
  }
  if (id != watchdog_timer_) return;
  watchdog_timer_ = 0;
  if (active_connection_ == 0) return;
  if (endpoints_[*active_].state != EndpointState::kOpen) {
    Fail(FailureReason::kStall);  // never opened within connect_timeout_ms
    return;
  }
  const double now = host_.NowMs();
  const double deadline =
      last_activity_ms_ + options_.watchdog.heartbeat_timeout_ms;
  if (now >= deadline) {
    Fail(FailureReason::kStall);
  } else {
    ArmWatchdog(deadline - now);
  }
}

void Balancer::OnOffline() {
  if (closed_ || offline_) return;
  offline_ = true;
  if (retry_timer_ != 0) {
    CancelRetry();
    ConnectNext(last_reason_);  // reschedules as a slow probe
  }
}

void Balancer::OnOnline() {
  if (closed_ || !offline_) return;
  offline_ = false;
  if (!started_ || active_connection_ != 0) return;
  // Failures while offline say nothing about the endpoints.
  for (Endpoint& endpoint : endpoints_) {
    if (endpoint.state == EndpointState::kCoolingDown ||
        endpoint.state == EndpointState::kEjected) {
      endpoint.state = EndpointState::kIdle;
    }
  }
  all_down_ = false;
  all_down_rounds_ = 0;
  CancelRetry();
  ConnectNext(FailureReason::kNetwork);
}

void Balancer::OnResume(bool active_alive) {
  if (closed_ || !started_) return;
  if (active_connection_ != 0) {
    const bool open = endpoints_[*active_].state == EndpointState::kOpen;
    if (!active_alive) {
      Fail(open ? FailureReason::kClosed : FailureReason::kNetwork);
    } else if (open && options_.watchdog.heartbeat_timeout_ms > 0 &&
               host_.NowMs() >=
                   last_activity_ms_ + options_.watchdog.heartbeat_timeout_ms) {
      Fail(FailureReason::kStall);  // timers may have been throttled
    }
    return;
  }
  if (retry_timer_ != 0) {
    // The user is back and the stream is down: try now rather than at the
    // end of a cool-down (or a throttled background timer). Ejections stay;
    // the budget and the floor still apply.
    for (Endpoint& endpoint : endpoints_) {
      if (endpoint.state == EndpointState::kCoolingDown) {
        endpoint.state = EndpointState::kIdle;
      }
    }
    CancelRetry();
    ConnectNext(last_reason_, /*probe=*/false, /*resume=*/true);
  }
}

std::optional<std::size_t> Balancer::PickForRequest(
    const std::vector<std::size_t>& exclude) {
  if (closed_) return std::nullopt;
  const auto excluded = [&exclude](std::size_t i) {
    return std::find(exclude.begin(), exclude.end(), i) != exclude.end();
  };
  Eligible(/*panic=*/false);  // lets expired cool-downs end
  std::vector<std::size_t> healthy;
  std::vector<std::size_t> any;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (excluded(i)) continue;
    any.push_back(i);
    const EndpointState state = endpoints_[i].state;
    if (state != EndpointState::kCoolingDown &&
        state != EndpointState::kEjected) {
      healthy.push_back(i);
    }
  }
  if (any.empty()) return std::nullopt;
  return policy_->Pick(endpoints_, healthy.empty() ? any : healthy, rng_);
}

void Balancer::OnRequestFailed(std::size_t endpoint) {
  if (closed_ || endpoint >= endpoints_.size() || active_ == endpoint) return;
  const EndpointState state = endpoints_[endpoint].state;
  if (state == EndpointState::kCoolingDown ||
      state == EndpointState::kEjected) {
    return;  // already known to be down
  }
  RecordFailure(endpoint, FailureReason::kNetwork);
}

bool Balancer::MayEject(std::size_t index, double now_ms) const {
  std::size_t ejected = 0;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (i != index && endpoints_[i].state == EndpointState::kEjected &&
        endpoints_[i].ejected_until_ms > now_ms) {
      ++ejected;
    }
  }
  const double allowed = std::floor(static_cast<double>(endpoints_.size()) *
                                    options_.ejection.max_percent / 100.0);
  return static_cast<double>(ejected + 1) <= allowed;
}

void Balancer::RecordFailure(std::size_t index, FailureReason reason) {
  Endpoint& endpoint = endpoints_[index];
  const double now = host_.NowMs();
  EndpointCounters& counters = endpoint.counters;
  ++counters.failures;
  ++counters.failures_by_reason[static_cast<int>(reason)];
  counters.last_error = reason;
  counters.last_error_at_ms = now;
  last_reason_ = reason;
  if (endpoint.state == EndpointState::kOpen &&
      now - endpoint.opened_at_ms >= options_.backoff.reset_after_ms) {
    // It streamed healthily for a good while: start afresh and trust it.
    endpoint.backoff_attempt = 0;
    endpoint.consecutive_failures = 0;
    endpoint.probation = false;
  }
  ++endpoint.consecutive_failures;
  const double delay = BackoffDelayMs(
      options_.backoff, endpoint.backoff_attempt, rng_.Uniform01());
  ++endpoint.backoff_attempt;
  endpoint.cooldown_until_ms = now + delay;

  const EjectionOptions& ejection = options_.ejection;
  const bool eject = ejection.after_failures > 0 &&
                     (endpoint.probation || endpoint.consecutive_failures >=
                                                ejection.after_failures) &&
                     MayEject(index, now);
  if (!eject) {
    endpoint.state = EndpointState::kCoolingDown;
    return;
  }
  ++counters.ejections;
  const double base =
      std::min(ejection.max_ms,
               ejection.base_ms * static_cast<double>(counters.ejections));
  const double jitter = options_.backoff.jitter;
  const double factor = 1.0 - jitter / 4.0 + jitter / 2.0 * rng_.Uniform01();
  endpoint.ejected_until_ms = now + std::max(delay, base * factor);
  endpoint.state = EndpointState::kEjected;
}

std::vector<std::size_t> Balancer::Eligible(bool panic) {
  const double now = host_.NowMs();
  std::vector<std::size_t> trusted;
  std::vector<std::size_t> on_probation;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    Endpoint& endpoint = endpoints_[i];
    if (endpoint.state == EndpointState::kCoolingDown &&
        endpoint.cooldown_until_ms <= now) {
      endpoint.state = EndpointState::kIdle;
    }
    const bool back_from_ejection = endpoint.state == EndpointState::kEjected &&
                                    endpoint.cooldown_until_ms <= now &&
                                    (panic || endpoint.ejected_until_ms <= now);
    if (back_from_ejection) {
      endpoint.state = EndpointState::kIdle;
      endpoint.probation = true;
    }
    if (endpoint.state != EndpointState::kIdle) continue;
    (endpoint.probation ? on_probation : trusted).push_back(i);
  }
  // A returning endpoint gets one connection only when no trusted one is
  // available.
  return trusted.empty() ? on_probation : trusted;
}

void Balancer::ConnectNext(FailureReason reason, bool probe, bool resume) {
  const double now = host_.NowMs();
  ready_state_ = ReadyState::kConnecting;
  if (offline_ && !probe) {
    // Paused; probe slowly in case the browser's offline signal is wrong.
    ScheduleRetryAt(now + options_.backoff.max_ms);
    return;
  }
  std::vector<std::size_t> eligible = Eligible(/*panic=*/false);
  // Panic: rather than none, try the ejected ones again on their backoff.
  if (eligible.empty()) eligible = Eligible(/*panic=*/true);
  // Fail over at once while some endpoint is healthy; once every endpoint
  // has been found down, attempts keep at least the floor apart until one
  // opens.
  const bool too_soon =
      all_down_ && now < last_attempt_ms_ + options_.backoff.min_ms;
  if (eligible.empty() || too_soon) {
    all_down_ = true;
    ScheduleRetry(/*new_round=*/!resume);
    return;
  }
  if (!budget_.Allows(now)) {
    ScheduleRetryAt(budget_.NextAllowedAt(now));
    return;
  }
  Connect(policy_->Pick(endpoints_, eligible, rng_), reason);
}

void Balancer::Connect(std::size_t index, FailureReason reason) {
  Endpoint& endpoint = endpoints_[index];
  const double now = host_.NowMs();
  const ConnectionId id = ++next_connection_;
  active_connection_ = id;
  active_ = index;
  connection_last_id_.clear();
  numeric_before_ = NumericId(last_event_id_);
  first_id_ = true;
  endpoint.state = EndpointState::kConnecting;
  ++endpoint.counters.connects;
  last_attempt_ms_ = now;
  budget_.Record(now);
  ready_state_ = ReadyState::kConnecting;
  if (options_.watchdog.connect_timeout_ms > 0) {
    ArmWatchdog(options_.watchdog.connect_timeout_ms);
  }
  host_.OpenConnection(id, index, ConnectionUrl(endpoint));
  if (closed_ || active_connection_ != id) return;
  if (previous_ && *previous_ != index) {
    host_.NotifyFailover(previous_, index, reason);
  }
}

void Balancer::ScheduleRetry(bool new_round) {
  const double now = host_.NowMs();
  double earliest = 1e300;
  for (const Endpoint& endpoint : endpoints_) {
    switch (endpoint.state) {
      case EndpointState::kCoolingDown:
      case EndpointState::kEjected:  // panic takes it back after its backoff
        earliest = std::min(earliest, endpoint.cooldown_until_ms);
        break;
      default:
        earliest = std::min(earliest, now);
    }
  }
  // Every endpoint's own cool-down is floored at min_ms, so with many
  // endpoints the earliest is nearly always the floor: without a backoff of
  // its own, every client that lost everything would retry every min_ms in
  // step. The rounds back off (and jitter) like an endpoint does.
  double round_delay = options_.backoff.min_ms;
  if (new_round) {
    round_delay =
        BackoffDelayMs(options_.backoff, all_down_rounds_, rng_.Uniform01());
    ++all_down_rounds_;
  }
  double at = std::max(earliest, last_attempt_ms_ + round_delay);
  at = std::max(at, budget_.NextAllowedAt(now));
  ScheduleRetryAt(at);
}

void Balancer::ScheduleRetryAt(double at_ms) {
  CancelRetry();
  retry_timer_ = ++next_timer_;
  host_.StartTimer(retry_timer_, std::max(0.0, at_ms - host_.NowMs()));
}

void Balancer::CancelRetry() {
  if (retry_timer_ == 0) return;
  const TimerId id = retry_timer_;
  retry_timer_ = 0;
  host_.CancelTimer(id);
}

void Balancer::ArmWatchdog(double delay_ms) {
  CancelWatchdog();
  watchdog_timer_ = ++next_timer_;
  host_.StartTimer(watchdog_timer_, delay_ms);
}

void Balancer::CancelWatchdog() {
  if (watchdog_timer_ == 0) return;
  const TimerId id = watchdog_timer_;
  watchdog_timer_ = 0;
  host_.CancelTimer(id);
}

std::string Balancer::ConnectionUrl(const Endpoint& endpoint) const {
  if (options_.last_event_id_param.empty() || last_event_id_.empty() ||
      last_event_id_.size() > kMaxCarriedIdBytes) {
    return endpoint.url;
  }
  return WithQueryParam(endpoint.url, options_.last_event_id_param,
                        last_event_id_);
}

}  // namespace sse_balancer
