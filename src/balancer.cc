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
    if (endpoints_.size() < options_.weights.size()) {
      endpoint.weight = options_.weights[endpoints_.size()];
    }
    endpoints_.push_back(std::move(endpoint));
  }
  if (!last_event_id_.empty()) recent_ids_.Insert(last_event_id_);
}

void Balancer::Start() {
  if (started_ || closed_) return;
  started_ = true;
  ConnectNext(FailureReason::kNone, ConnectMode::kNow);
}

void Balancer::Close() {
  if (closed_) return;
  closed_ = true;
  ready_state_ = ReadyState::kClosed;
  if (standby_.id != 0) AbandonStandby(std::nullopt);
  CancelDrain();
  if (active_connection_ != 0) {
    const ConnectionId id = active_connection_;
    active_connection_ = 0;
    host_.CloseConnection(id);
  }
  if (active_) {
    endpoints_[*active_].connection = EndpointState::kIdle;
    active_.reset();
  }
  CancelRetry();
  CancelWatchdog();
}

void Balancer::OnOpen(ConnectionId id) {
  if (!closed_ && id != 0 && id == standby_.id) {
    // It takes over when it has caught up, or once it has been open for
    // kStandbyQuietMs without (a quiet stream: it resumed from the last id,
    // so nothing is lost), instead of failing as a connect timeout.
    standby_.open = true;
    StopTimer(standby_.timer);
    standby_.timer = ++next_timer_;
    host_.StartTimer(standby_.timer, kStandbyQuietMs);
    return;
  }
  if (closed_ || id == 0 || id != active_connection_) return;
  Endpoint& endpoint = endpoints_[*active_];
  const double now = host_.NowMs();
  endpoint.connection = EndpointState::kOpen;
  endpoint.opened_at_ms = now;
  ++endpoint.counters.opens;
  EndOutage();
  ready_state_ = ReadyState::kOpen;
  last_activity_ms_ = now;
  if (options_.watchdog.heartbeat_timeout_ms > 0) {
    ArmWatchdog(options_.watchdog.heartbeat_timeout_ms);
  } else {
    CancelWatchdog();
  }
  host_.NotifyOpen(*active_);
}

void Balancer::OnError(ConnectionId id, ConnectionError error) {
  if (!closed_ && id != 0 && id == standby_.id) {
    AbandonStandby(error == ConnectionError::kGaveUp ? FailureReason::kHttp
                                                     : FailureReason::kNetwork);
    return;
  }
  if (closed_ || id == 0 || id != active_connection_) return;
  switch (error) {
    case ConnectionError::kGaveUp:
      Fail(FailureReason::kHttp);
      return;
    case ConnectionError::kNoUrl:
      Fail(FailureReason::kProvider);
      return;
    case ConnectionError::kRetrying:
      // A stream that had opened ended; one that never opened was refused.
      Fail(endpoints_[*active_].connection == EndpointState::kOpen
               ? FailureReason::kClosed
               : FailureReason::kNetwork);
      return;
  }
}

void Balancer::Fail(FailureReason reason) {
  // The stream of a drained endpoint ended before the new one delivered:
  // the new one takes over now.
  if (standby_.id != 0) {
    PromoteStandby();
    return;
  }
  CancelDrain();
  const std::size_t failed = *active_;
  const ConnectionId id = active_connection_;
  // As gRPC's backoff, which applies to attempts that fail: a stream that
  // opened and delivered events, then ended (a proxy's age limit, a
  // serverless time limit, a rebalancing server) reconnects at once.
  const bool healthy_end =
      reason == FailureReason::kClosed && delivered_on_connection_ > 0;
  // Close first: the browser must not keep retrying the dead endpoint.
  active_connection_ = 0;
  CancelWatchdog();
  host_.CloseConnection(id);
  previous_ = failed;
  active_.reset();
  if (healthy_end) {
    RecordHealthyEnd(failed);
    // Not a failure, but no evidence it is still up either (a kill looks the
    // same): the reconnect prefers another endpoint when there is one.
    avoid_once_ = failed;
  } else {
    RecordFailure(failed, reason);
  }
  ready_state_ = ReadyState::kConnecting;
  host_.NotifyError(failed, reason);
  // A listener may have closed the source, or brought it back (an `online`
  // dispatched from an error handler connects at once).
  if (closed_ || retry_timer_ != 0 || active_connection_ != 0) return;
  // Moving to another endpoint is a failover, made at once. Coming back to
  // the same one (one URL, or no other eligible), every client its server
  // just cut off would return in the same millisecond: spread them a little.
  RefreshHealth();
  if (!healthy_end || Eligible().size() > 1) {
    ConnectNext(reason, ConnectMode::kNow);
    return;
  }
  const double jitter_ms =
      kHealthyEndJitterMs * options_.backoff.jitter * rng_.Uniform01();
  if (jitter_ms <= 0 || offline_) {
    ConnectNext(reason, ConnectMode::kNow);
  } else {
    ScheduleRetryAt(host_.NowMs() + jitter_ms);
  }
}

std::optional<std::size_t> Balancer::OnMessage(ConnectionId id,
                                               std::string_view last_event_id) {
  if (!closed_ && id != 0 && id == standby_.id) {
    return OnStandbyMessage(last_event_id);
  }
  if (closed_ || id == 0 || id != active_connection_) return std::nullopt;
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
      return std::nullopt;
    }
    recent_ids_.Insert(last_event_id);
    last_event_id_.assign(last_event_id);
  }
  ++endpoint.counters.messages;
  ++delivered_on_connection_;
  return index;
}

void Balancer::OnTimer(TimerId id) {
  if (closed_ || id == 0) return;
  if (id == drain_timer_) {
    drain_timer_ = 0;
    OpenStandby();
    return;
  }
  if (id == standby_.timer) {
    standby_.timer = 0;
    if (standby_.open) {
      PromoteStandby();  // open and quiet: nothing to catch up on
    } else {
      AbandonStandby(FailureReason::kStall);  // it never opened in time
    }
    return;
  }
  if (id == retry_timer_) {
    retry_timer_ = 0;
    ConnectNext(last_reason_,
                offline_ ? ConnectMode::kProbe : ConnectMode::kTimer);
    return;
  }
  if (id != watchdog_timer_) return;
  watchdog_timer_ = 0;
  if (active_connection_ == 0) return;
  if (endpoints_[*active_].connection != EndpointState::kOpen) {
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
    ConnectNext(last_reason_, ConnectMode::kNow);  // becomes a slow probe
  }
}

void Balancer::OnOnline() {
  if (closed_ || !offline_) return;
  offline_ = false;
  if (!started_ || active_connection_ != 0) return;
  // Failures while offline say nothing about the endpoints.
  ForgetFailures(/*ejections=*/true);
  EndOutage();
  CancelRetry();
  ConnectNext(FailureReason::kNetwork, ConnectMode::kNow);
}

void Balancer::OnResume(bool active_alive) {
  if (closed_ || !started_) return;
  if (active_connection_ != 0) {
    const bool open = endpoints_[*active_].connection == EndpointState::kOpen;
    if (!active_alive) {
      Fail(open ? FailureReason::kClosed : FailureReason::kNetwork);
    } else if (open && options_.watchdog.heartbeat_timeout_ms > 0 &&
               host_.NowMs() >=
                   last_activity_ms_ + options_.watchdog.heartbeat_timeout_ms) {
      Fail(FailureReason::kStall);  // timers may have been throttled
    }
    return;
  }
  // While offline the pending timer is the slow probe: rescheduling it on
  // every resume would push it later each time.
  if (retry_timer_ != 0 && !offline_) {
    // The user is back and the stream is down: try now rather than at the
    // end of a cool-down (or a throttled background timer). Ejections stay;
    // the budget and the floor still apply.
    ForgetFailures(/*ejections=*/false);
    CancelRetry();
    ConnectNext(last_reason_, ConnectMode::kResume);
  }
}

std::optional<std::size_t> Balancer::PickForRequest(
    const std::vector<std::size_t>& exclude) {
  if (closed_) return std::nullopt;
  const auto excluded = [&exclude](std::size_t i) {
    return std::find(exclude.begin(), exclude.end(), i) != exclude.end();
  };
  RefreshHealth();
  std::vector<std::size_t> healthy;
  std::vector<std::size_t> any;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (excluded(i) || endpoints_[i].retired) continue;
    any.push_back(i);
    if (endpoints_[i].health.up()) healthy.push_back(i);
  }
  if (any.empty()) return std::nullopt;
  return policy_->Pick(endpoints_, healthy.empty() ? any : healthy, rng_);
}

void Balancer::OnRequestFailed(std::size_t endpoint) {
  if (closed_ || endpoint >= endpoints_.size() || active_ == endpoint) return;
  RefreshHealth();
  if (!endpoints_[endpoint].health.up()) return;  // already known to be down
  RecordFailure(endpoint, FailureReason::kNetwork);
}

bool Balancer::MayEject(std::size_t index, double now_ms) const {
  std::size_t ejected = 0;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    if (i != index && endpoints_[i].health.EjectedAt(now_ms)) {
      ++ejected;
    }
  }
  const double allowed = std::floor(static_cast<double>(endpoints_.size()) *
                                    options_.ejection.max_percent / 100.0);
  return static_cast<double>(ejected + 1) <= allowed;
}

void Balancer::RefreshHealth(bool panic) {
  const double now = host_.NowMs();
  for (Endpoint& endpoint : endpoints_) endpoint.health.RefreshAt(now, panic);
}

void Balancer::ForgetFailures(bool ejections) {
  for (Endpoint& endpoint : endpoints_) endpoint.health.Forget(ejections);
}

void Balancer::CountEnd(Endpoint& endpoint, FailureReason reason,
                        double now_ms) {
  EndpointCounters& counters = endpoint.counters;
  ++counters.failures;
  ++counters.failures_by_reason[static_cast<int>(reason)];
  counters.last_error = reason;
  counters.last_error_at_ms = now_ms;
  last_reason_ = reason;
}

void Balancer::RecordHealthyEnd(std::size_t index) {
  Endpoint& endpoint = endpoints_[index];
  CountEnd(endpoint, FailureReason::kClosed, host_.NowMs());
  endpoint.health.Recovered();
  endpoint.connection = EndpointState::kIdle;
}

void Balancer::RecordFailure(std::size_t index, FailureReason reason) {
  Endpoint& endpoint = endpoints_[index];
  EndpointHealth& health = endpoint.health;
  const double now = host_.NowMs();
  CountEnd(endpoint, reason, now);
  if (endpoint.connection == EndpointState::kOpen &&
      now - endpoint.opened_at_ms >= options_.backoff.reset_after_ms) {
    health.Recovered();  // it streamed for a good while before failing
  }
  endpoint.connection = EndpointState::kIdle;
  const double delay = BackoffDelayMs(
      options_.backoff, health.backoff_attempt(), rng_.Uniform01());
  health.FailedAt(now, delay);

  const EjectionOptions& ejection = options_.ejection;
  const bool eject = ejection.after_failures > 0 &&
                     (health.probation() || health.consecutive_failures() >=
                                                ejection.after_failures) &&
                     MayEject(index, now);
  if (!eject) return;
  const std::uint64_t ejections = ++endpoint.counters.ejections;
  const double base = std::min(
      ejection.max_ms, ejection.base_ms * static_cast<double>(ejections));
  const double jitter = options_.backoff.jitter;
  const double factor = 1.0 - jitter / 4.0 + jitter / 2.0 * rng_.Uniform01();
  health.EjectUntil(now + std::max(delay, base * factor));
}

std::vector<std::size_t> Balancer::Eligible() const {
  std::vector<std::size_t> trusted;
  std::vector<std::size_t> on_probation;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& endpoint = endpoints_[i];
    if (endpoint.connection != EndpointState::kIdle || !endpoint.health.up() ||
        endpoint.retired) {
      continue;
    }
    (endpoint.health.probation() ? on_probation : trusted).push_back(i);
  }
  // A returning endpoint gets one connection only when no trusted one is
  // available.
  return trusted.empty() ? on_probation : trusted;
}

void Balancer::ConnectNext(FailureReason reason, ConnectMode mode) {
  const double now = host_.NowMs();
  ready_state_ = ReadyState::kConnecting;
  const bool starts_sweep = retry_starts_sweep_ && mode != ConnectMode::kNow;
  retry_starts_sweep_ = false;
  if (offline_ && mode != ConnectMode::kProbe) {
    // Paused; probe slowly in case the browser's offline signal is wrong.
    ScheduleRetryAt(now + options_.backoff.max_ms);
    return;
  }
  RefreshHealth();
  std::vector<std::size_t> candidates = Eligible();
  // Panic: rather than none, try the ejected ones again on their backoff.
  if (candidates.empty()) {
    RefreshHealth(/*panic=*/true);
    candidates = Eligible();
  }
  // Fail over at once while some endpoint may be up. Once every endpoint has
  // been found down since the last open, the endpoints' own cool-downs say
  // nothing any more (they grow for a dead endpoint among live ones, and
  // would keep a client silent long after a restarted fleet is back): the
  // balancer sweeps every endpoint in turn on the outage schedule.
  if (candidates.empty() && !all_down_) {
    // The failovers that found everything down were the first sweep.
    all_down_ = true;
    sweep_left_.clear();
    tried_in_round_.clear();
    round_attempts_ = kOutageSweepSize;
  }
  if (all_down_) {
    const bool floor_passed = now >= last_attempt_ms_ + options_.backoff.min_ms;
    if (starts_sweep || mode == ConnectMode::kProbe ||
        (mode == ConnectMode::kResume && floor_passed)) {
      round_attempts_ = 0;
      tried_in_round_.clear();
    } else if (mode == ConnectMode::kResume) {
      ScheduleOutageRound(/*new_round=*/false);
      return;
    }
    const std::size_t sweep_size = SweepSize();
    if (round_attempts_ < sweep_size && sweep_left_.empty()) {
      // A new cycle through the list; never an endpoint twice in a round.
      for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        if (!endpoints_[i].retired &&
            std::find(tried_in_round_.begin(), tried_in_round_.end(), i) ==
                tried_in_round_.end()) {
          sweep_left_.push_back(i);
        }
      }
    }
    if (round_attempts_ >= sweep_size || sweep_left_.empty()) {
      ScheduleOutageRound(/*new_round=*/true);
      return;
    }
    candidates = sweep_left_;
  }
  if (!budget_.Allows(now)) {
    ScheduleRetryAt(BudgetAllowsAt(now));
    return;
  }
  if (avoid_once_ && !all_down_ && candidates.size() > 1) {
    candidates.erase(
        std::remove(candidates.begin(), candidates.end(), *avoid_once_),
        candidates.end());
  }
  avoid_once_.reset();
  const std::size_t pick = policy_->Pick(endpoints_, candidates, rng_);
  if (all_down_) {
    sweep_left_.erase(std::find(sweep_left_.begin(), sweep_left_.end(), pick));
    tried_in_round_.push_back(pick);
    ++round_attempts_;
  }
  Connect(pick, reason);
}

void Balancer::Connect(std::size_t index, FailureReason reason) {
  Endpoint& endpoint = endpoints_[index];
  const double now = host_.NowMs();
  const ConnectionId id = ++next_connection_;
  active_connection_ = id;
  active_ = index;
  connection_last_id_.clear();
  delivered_on_connection_ = 0;
  numeric_before_ = NumericId(last_event_id_);
  first_id_ = true;
  // An outage sweep may try an endpoint before its ejection ends: it comes
  // back on probation.
  endpoint.health.ReturnEarly();
  endpoint.connection = EndpointState::kConnecting;
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
  if (!closed_ && active_connection_ == id) PurgeRetired();
}

void Balancer::ScheduleOutageRound(bool new_round) {
  const double now = host_.NowMs();
  double delay = options_.backoff.min_ms;
  if (new_round) {
    delay = OutageDelayMs(options_.backoff, all_down_rounds_, rng_.Uniform01());
    ++all_down_rounds_;
    // Past three quarters of the budget, slow to the pace it can sustain rather
    // than spend it all and fall silent until the window frees up.
    const std::size_t limit = budget_.limit();
    if (limit > 0 && static_cast<double>(budget_.used(now)) >
                         kPaceAboveBudgetShare * static_cast<double>(limit)) {
      const double pace =
          kBudgetWindowMs * static_cast<double>(SweepSize()) /
          static_cast<double>(limit) *
          OutageJitterFactor(options_.backoff.jitter, rng_.Uniform01());
      delay = std::max(delay, pace);
    }
  }
  ScheduleRetryAt(std::max(last_attempt_ms_ + delay, BudgetAllowsAt(now)));
  retry_starts_sweep_ = true;
}

void Balancer::EndOutage() {
  all_down_ = false;
  all_down_rounds_ = 0;
  sweep_left_.clear();
}

std::size_t Balancer::SweepSize() const {
  return std::min(kOutageSweepSize, endpoints_.size());
}

double Balancer::BudgetAllowsAt(double now_ms) {
  const double at = budget_.NextAllowedAt(now_ms);
  if (at <= now_ms) return at;
  // Clients whose budget ran out together (a fleet that lost everything at
  // once) would all be let go at the same instant, a minute later.
  return at + options_.backoff.initial_ms * options_.backoff.jitter *
                  rng_.Uniform01();
}

void Balancer::ScheduleRetryAt(double at_ms) {
  CancelRetry();  // also: this timer starts no sweep unless told so
  retry_timer_ = ++next_timer_;
  host_.StartTimer(retry_timer_, std::max(0.0, at_ms - host_.NowMs()));
}

void Balancer::StopTimer(TimerId& timer) {
  if (timer == 0) return;
  const TimerId id = timer;
  timer = 0;
  host_.CancelTimer(id);
}

void Balancer::CancelRetry() {
  retry_starts_sweep_ = false;
  StopTimer(retry_timer_);
}

void Balancer::ArmWatchdog(double delay_ms) {
  CancelWatchdog();
  watchdog_timer_ = ++next_timer_;
  host_.StartTimer(watchdog_timer_, delay_ms);
}

void Balancer::CancelWatchdog() { StopTimer(watchdog_timer_); }

std::string Balancer::ConnectionUrl(const Endpoint& endpoint) const {
  if (options_.last_event_id_param.empty() || last_event_id_.empty() ||
      last_event_id_.size() > kMaxCarriedIdBytes) {
    return endpoint.url;
  }
  return WithQueryParam(endpoint.url, options_.last_event_id_param,
                        last_event_id_);
}

}  // namespace sse_balancer
