#include "balancer.h"

#include <algorithm>
#include <utility>

#include "url_query.h"

namespace sse_balancer {

Balancer::Balancer(std::vector<std::string> urls, BalancerOptions options,
                   std::unique_ptr<Policy> policy, Host& host)
    : options_(std::move(options)),
      policy_(std::move(policy)),
      host_(host),
      rng_(options_.seed),
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
  if (pending_timer_ != 0) {
    const TimerId id = pending_timer_;
    pending_timer_ = 0;
    host_.CancelTimer(id);
  }
}

void Balancer::OnOpen(ConnectionId id) {
  if (closed_ || id == 0 || id != active_connection_) return;
  Endpoint& endpoint = endpoints_[*active_];
  endpoint.state = EndpointState::kOpen;
  endpoint.opened_at_ms = host_.NowMs();
  ++endpoint.counters.opens;
  all_down_ = false;
  ready_state_ = ReadyState::kOpen;
  host_.NotifyOpen(*active_);
}

void Balancer::OnError(ConnectionId id, bool browser_gave_up) {
  if (closed_ || id == 0 || id != active_connection_) return;
  const std::size_t failed = *active_;
  const FailureReason reason =
      browser_gave_up ? FailureReason::kHttp : FailureReason::kNetwork;
  // Close first: the browser must not keep retrying the dead endpoint.
  active_connection_ = 0;
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
  if (!last_event_id.empty() && last_event_id != connection_last_id_) {
    // The event carried a new id.
    connection_last_id_.assign(last_event_id);
    if (recent_ids_.Contains(last_event_id)) {
      ++endpoint.counters.duplicates;
      return kDropEvent;
    }
    recent_ids_.Insert(last_event_id);
    last_event_id_.assign(last_event_id);
  } else if (last_event_id.empty()) {
    // `id:` with no value resets the browser's id; nothing to dedup on.
    connection_last_id_.clear();
  }
  ++endpoint.counters.messages;
  return static_cast<int>(index);
}

void Balancer::OnTimer(TimerId id) {
  if (closed_ || id == 0 || id != pending_timer_) return;
  pending_timer_ = 0;
  ConnectNext(last_reason_);
}

void Balancer::RecordFailure(std::size_t index, FailureReason reason) {
  Endpoint& endpoint = endpoints_[index];
  const double now = host_.NowMs();
  EndpointCounters& counters = endpoint.counters;
  ++counters.failures;
  ++counters.failures_by_reason[static_cast<int>(reason)];
  counters.last_error = reason;
  if (endpoint.state == EndpointState::kOpen &&
      now - endpoint.opened_at_ms >= options_.backoff.reset_after_ms) {
    endpoint.backoff_attempt = 0;  // it was healthy for a good while
  }
  const double delay = BackoffDelayMs(
      options_.backoff, endpoint.backoff_attempt, rng_.Uniform01());
  ++endpoint.backoff_attempt;
  endpoint.state = EndpointState::kCoolingDown;
  endpoint.cooldown_until_ms = now + delay;
  last_reason_ = reason;
}

std::vector<std::size_t> Balancer::EligibleNow() {
  const double now = host_.NowMs();
  std::vector<std::size_t> eligible;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    Endpoint& endpoint = endpoints_[i];
    if (endpoint.state == EndpointState::kCoolingDown &&
        endpoint.cooldown_until_ms <= now) {
      endpoint.state = EndpointState::kIdle;
    }
    if (endpoint.state == EndpointState::kIdle) eligible.push_back(i);
  }
  return eligible;
}

void Balancer::ConnectNext(FailureReason reason) {
  const std::vector<std::size_t> eligible = EligibleNow();
  // Fail over at once while some endpoint is healthy; once every endpoint
  // has been found down, attempts keep at least the floor apart until one
  // opens.
  const bool too_soon =
      all_down_ && host_.NowMs() < last_attempt_ms_ + options_.backoff.min_ms;
  if (eligible.empty() || too_soon) {
    all_down_ = true;
    ScheduleRetry();
    return;
  }
  Connect(policy_->Pick(endpoints_, eligible, rng_), reason);
}

void Balancer::Connect(std::size_t index, FailureReason reason) {
  Endpoint& endpoint = endpoints_[index];
  const ConnectionId id = ++next_connection_;
  active_connection_ = id;
  active_ = index;
  connection_last_id_.clear();
  endpoint.state = EndpointState::kConnecting;
  ++endpoint.counters.connects;
  last_attempt_ms_ = host_.NowMs();
  ready_state_ = ReadyState::kConnecting;
  host_.OpenConnection(id, ConnectionUrl(endpoint));
  if (closed_) return;
  if (previous_ && *previous_ != index) {
    host_.NotifyFailover(previous_, index, reason);
  }
}

void Balancer::ScheduleRetry() {
  const double now = host_.NowMs();
  double earliest = 1e300;
  for (const Endpoint& endpoint : endpoints_) {
    earliest = std::min(earliest, endpoint.state == EndpointState::kCoolingDown
                                      ? endpoint.cooldown_until_ms
                                      : now);
  }
  const double at =
      std::max(earliest, last_attempt_ms_ + options_.backoff.min_ms);
  pending_timer_ = ++next_timer_;
  ready_state_ = ReadyState::kConnecting;
  host_.StartTimer(pending_timer_, std::max(0.0, at - now));
}

std::string Balancer::ConnectionUrl(const Endpoint& endpoint) const {
  if (options_.last_event_id_param.empty() || last_event_id_.empty()) {
    return endpoint.url;
  }
  return WithQueryParam(endpoint.url, options_.last_event_id_param,
                        last_event_id_);
}

}  // namespace sse_balancer
