// Drain: a server announced it goes away; the balancer moves first (make
// before break). See Balancer::OnDrain.
#include <algorithm>
#include <cmath>

#include "balancer.h"
#include "event_id.h"

namespace sse_balancer {

void Balancer::OnDrain(ConnectionId id, double within_ms) {
  if (closed_ || id == 0 || !std::isfinite(within_ms)) return;
  within_ms = std::max(0.0, within_ms);
  const double now = host_.NowMs();
  // Left alone until it is back: the deploy that drains it restarts it.
  const double rest_until =
      now + std::max(2 * within_ms, options_.backoff.initial_ms);
  if (standby_.id != 0 && id == standby_.id) {
    // The stream it moves to goes away too: it moves on once it took over.
    endpoints_[standby_.endpoint].health.RestUntil(rest_until);
    standby_.drain_at = now + within_ms;
    return;
  }
  if (id != active_connection_ || standby_.id != 0) return;
  endpoints_[*active_].health.RestUntil(rest_until);
  // Clients drained together spread their moves over the time given.
  const double jitter = options_.backoff.jitter;
  const double spread = jitter * rng_.Uniform01() + (1 - jitter) * 0.5;
  CancelDrain();
  move_for_load_ = false;
  drain_timer_ = ++next_timer_;
  host_.StartTimer(drain_timer_, within_ms * kDrainMoveShare * spread);
}

void Balancer::SetLoad(std::size_t endpoint, double load) {
  if (endpoint < endpoints_.size()) {
    endpoints_[endpoint].load = std::isfinite(load) ? load : -1;
  }
}

void Balancer::OnLoadReport(ConnectionId id) {
  if (closed_ || id == 0 || id != active_connection_ || !active_ ||
      standby_.id != 0 || drain_timer_ != 0 || policy_->LoadBound() <= 0) {
    return;
  }
  const double now = host_.NowMs();
  if (now < last_rebalance_ms_ + kRebalanceEveryMs) return;
  const Endpoint& here = endpoints_[*active_];
  const double mine = here.load;
  if (mine < 0) return;
  // Loads per unit of weight (all weights are 1 unless given): an endpoint's
  // share is its weight's share.
  double sum = 0;
  double weights = 0;
  std::size_t known = 0;
  RefreshHealth();
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& e = endpoints_[i];
    if (e.load < 0 || (i != *active_ && !e.health.up())) continue;
    sum += e.load;
    weights += e.weight;
    ++known;
  }
  if (known < 2) return;
  const double mean = sum / weights;
  const double share = mean * here.weight;  // this endpoint's fair load
  if (mine < share + 1 || mine < policy_->LoadBound() * share) return;
  last_rebalance_ms_ = now;
  // Of the `mine` clients here, about mine - target move.
  const double target = policy_->LoadTarget() * share;
  if (rng_.Uniform01() >= (mine - target) / mine) return;
  move_for_load_ = true;
  drain_timer_ = ++next_timer_;
  host_.StartTimer(drain_timer_, kRebalanceSpreadMs * rng_.Uniform01());
}

void Balancer::OpenStandby() {
  const bool leaving = leaving_retired_;
  leaving_retired_ = false;
  if (closed_ || active_connection_ == 0 || standby_.id != 0) return;
  const double now = host_.NowMs();
  RefreshHealth();
  // The active endpoint is not idle and the draining one rests: neither is
  // a candidate. With none, the stream stays until its server ends it.
  std::vector<std::size_t> candidates = Eligible();
  // A move for load goes only where there is less of it (per unit of
  // weight), even after this client joins.
  if (move_for_load_) {
    const Endpoint& here = endpoints_[*active_];
    const auto heavier = [&](std::size_t i) {
      const Endpoint& e = endpoints_[i];
      return e.load < 0 || (e.load + 1) / e.weight > here.load / here.weight;
    };
    candidates.erase(
        std::remove_if(candidates.begin(), candidates.end(), heavier),
        candidates.end());
  }
  if (candidates.empty() || !budget_.Allows(now)) {
    // On a removed endpoint it must still go: try again later.
    LeaveRetired(std::max(options_.backoff.min_ms,
                          budget_.Allows(now) ? options_.backoff.initial_ms
                                              : BudgetAllowsAt(now) - now));
    return;
  }
  const std::size_t pick = policy_->Pick(endpoints_, candidates, rng_);
  Endpoint& endpoint = endpoints_[pick];
  standby_ = Standby{++next_connection_, pick, false, 0};
  standby_.leaving = leaving;
  endpoint.connection = EndpointState::kConnecting;
  ++endpoint.counters.connects;
  budget_.Record(now);
  last_attempt_ms_ = now;
  if (options_.watchdog.connect_timeout_ms > 0) {
    standby_.timer = ++next_timer_;
    host_.StartTimer(standby_.timer, options_.watchdog.connect_timeout_ms);
  }
  host_.OpenConnection(standby_.id, pick, ConnectionUrl(endpoint));
}

std::optional<std::size_t> Balancer::OnStandbyMessage(
    std::string_view last_event_id) {
  // The new stream replays from the id the old one had delivered when it
  // opened: what the old one delivered since is dropped here. Once it
  // reaches the last id delivered, it has caught up and takes over (both
  // streams carry the same live events, and the old one is usually first).
  if (!last_event_id.empty() && recent_ids_.Contains(last_event_id)) {
    ++endpoints_[standby_.endpoint].counters.duplicates;
    if (last_event_id == last_event_id_) {
      PromoteStandby();
      // Its browser repeats this id on an event without one.
      connection_last_id_.assign(last_event_id);
    }
    return std::nullopt;
  }
  PromoteStandby();
  if (closed_) return std::nullopt;
  return OnMessage(active_connection_, last_event_id);
}

void Balancer::PromoteStandby() {
  const std::size_t from = *active_;
  const ConnectionId old = active_connection_;
  StopTimer(standby_.timer);
  const Standby next = standby_;
  standby_ = Standby{};
  CancelDrain();
  CancelWatchdog();
  // The old stream ends as its server announced: no failure, no error.
  active_connection_ = next.id;
  active_ = next.endpoint;
  host_.CloseConnection(old);
  endpoints_[from].connection = EndpointState::kIdle;
  previous_ = from;
  connection_last_id_.clear();
  delivered_on_connection_ = 0;
  numeric_before_ = NumericId(last_event_id_);
  first_id_ = true;
  host_.NotifyFailover(
      from, next.endpoint,
      move_for_load_ ? FailureReason::kRebalance : FailureReason::kDrain);
  move_for_load_ = false;
  if (closed_ || active_connection_ != next.id) return;
  if (!next.open) {
    ready_state_ = ReadyState::kConnecting;
    if (options_.watchdog.connect_timeout_ms > 0) {
      ArmWatchdog(options_.watchdog.connect_timeout_ms);
    }
  } else {
    // It opened before it took over: it is the open stream now.
    OnOpen(next.id);
  }
  if (closed_ || active_connection_ != next.id) return;
  PurgeRetired();
  if (next.drain_at >= 0) {
    OnDrain(next.id, std::max(0.0, next.drain_at - host_.NowMs()));
  }
  // It took over on an endpoint removed meanwhile: it moves on.
  LeaveRetired(0);
}

void Balancer::AbandonStandby(std::optional<FailureReason> failure) {
  StopTimer(standby_.timer);
  const Standby standby = standby_;
  standby_ = Standby{};
  host_.CloseConnection(standby.id);
  if (failure) {
    RecordFailure(standby.endpoint, *failure);
  } else {
    endpoints_[standby.endpoint].connection = EndpointState::kIdle;
  }
  // Still on an endpoint that was removed: try to leave it again.
  if (failure) LeaveRetired(options_.backoff.min_ms);
  if (!closed_) PurgeRetired();
}

void Balancer::LeaveRetired(double delay_ms) {
  if (closed_ || !active_ || !endpoints_[*active_].retired ||
      standby_.id != 0) {
    return;
  }
  // A move for load pending on a removed endpoint becomes a plain move off it
  // (and goes if the endpoint is listed again before it starts).
  if (drain_timer_ != 0) {
    if (move_for_load_) leaving_retired_ = true;
    move_for_load_ = false;
    return;
  }
  move_for_load_ = false;
  drain_timer_ = ++next_timer_;
  leaving_retired_ = true;
  host_.StartTimer(drain_timer_, delay_ms);
}

void Balancer::CancelDrain() {
  leaving_retired_ = false;
  StopTimer(drain_timer_);
}

}  // namespace sse_balancer
