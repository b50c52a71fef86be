// Endpoint lists that change while the stream runs. See Balancer::SetEndpoints.
#include <algorithm>
#include <limits>

#include "balancer.h"

namespace sse_balancer {
namespace {
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
}  // namespace

void Balancer::SetEndpoints(std::vector<std::string> urls,
                            std::vector<double> weights) {
  if (closed_ || urls.empty()) return;
  // A connection opened beside the stream to an endpoint that is removed is
  // given up first: the move picks again, among the new list.
  if (standby_.id != 0 &&
      std::find(urls.begin(), urls.end(), endpoints_[standby_.endpoint].url) ==
          urls.end()) {
    const bool leaving = standby_.leaving;
    AbandonStandby(std::nullopt);
    if (closed_) return;
    // The move it was for (a drain, a move for load, leaving a removed
    // endpoint) starts again.
    if (drain_timer_ == 0) {
      drain_timer_ = ++next_timer_;
      leaving_retired_ = leaving;
      host_.StartTimer(drain_timer_, 0);
    }
  }
  std::vector<Endpoint> next;
  std::vector<std::size_t> old_of;  // new index -> old index, or kNone
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const auto it =
        std::find_if(endpoints_.begin(), endpoints_.end(),
                     [&](const Endpoint& e) { return e.url == urls[i]; });
    Endpoint endpoint;
    if (it != endpoints_.end()) {
      endpoint = *it;
      endpoint.retired = false;
      old_of.push_back(static_cast<std::size_t>(it - endpoints_.begin()));
    } else {
      endpoint.url = std::move(urls[i]);
      old_of.push_back(kNone);
    }
    // A weight not given (<= 0) keeps the endpoint's own, or 1 if new.
    if (i < weights.size() && weights[i] > 0) {
      endpoint.weight = weights[i];
    } else if (it == endpoints_.end()) {
      endpoint.weight = 1.0;
    }
    next.push_back(std::move(endpoint));
  }

  // The endpoints the streams are on stay, retired, until they are left.
  bool moving = false;
  for (const std::optional<std::size_t> busy :
       {active_, standby_.id != 0
                     ? std::optional<std::size_t>(standby_.endpoint)
                     : std::nullopt}) {
    if (!busy ||
        std::find(old_of.begin(), old_of.end(), *busy) != old_of.end()) {
      continue;
    }
    Endpoint endpoint = endpoints_[*busy];
    endpoint.retired = true;
    next.push_back(std::move(endpoint));
    old_of.push_back(*busy);
    moving = moving || busy == active_;
  }
  Reindex(std::move(next), old_of);
  host_.NotifyEndpointsChanged();
  if (closed_) return;
  if (moving) {
    LeaveRetired(0);
  } else if (leaving_retired_ && standby_.id == 0) {
    CancelDrain();  // listed again before the move started: it stays
  }
}

void Balancer::Reindex(std::vector<Endpoint> next,
                       const std::vector<std::size_t>& old_of) {
  const auto remap =
      [&](std::optional<std::size_t> old) -> std::optional<std::size_t> {
    if (!old) return std::nullopt;
    const auto it = std::find(old_of.begin(), old_of.end(), *old);
    if (it == old_of.end()) return std::nullopt;
    return static_cast<std::size_t>(it - old_of.begin());
  };
  active_ = remap(active_);
  previous_ = remap(previous_);
  avoid_once_ = remap(avoid_once_);
  if (standby_.id != 0) standby_.endpoint = *remap(standby_.endpoint);
  // An outage sweep starts afresh over the new list.
  sweep_left_.clear();
  tried_in_round_.clear();
  endpoints_ = std::move(next);
}

void Balancer::PurgeRetired() {
  std::vector<Endpoint> next;
  std::vector<std::size_t> old_of;
  bool purged = false;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const bool busy =
        active_ == i || (standby_.id != 0 && standby_.endpoint == i);
    if (endpoints_[i].retired && !busy) {
      purged = true;
      continue;
    }
    next.push_back(endpoints_[i]);
    old_of.push_back(i);
  }
  if (!purged) return;
  Reindex(std::move(next), old_of);
  host_.NotifyEndpointsChanged();
}

}  // namespace sse_balancer
