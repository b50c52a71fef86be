#include "endpoint_health.h"

#include <algorithm>
#include <cmath>

namespace sse_balancer {

void EndpointHealth::RefreshAt(double now_ms, bool panic) {
  if (status_ == Status::kCoolingDown && cooldown_until_ms_ <= now_ms) {
    status_ = Status::kUp;
  } else if (status_ == Status::kEjected && cooldown_until_ms_ <= now_ms &&
             (panic || ejected_until_ms_ <= now_ms)) {
    status_ = Status::kUp;
    probation_ = true;
  }
}

double EndpointHealth::RetryInMs(double now_ms) const {
  double until = 0;
  if (status_ == Status::kCoolingDown) {
    until = cooldown_until_ms_;
  } else if (status_ == Status::kEjected) {
    until = std::max(cooldown_until_ms_, ejected_until_ms_);
  }
  return std::max(0.0, std::ceil(until - now_ms));
}

bool EndpointHealth::EjectedAt(double now_ms) const {
  return status_ == Status::kEjected && ejected_until_ms_ > now_ms;
}

void EndpointHealth::FailedAt(double now_ms, double delay_ms) {
  ++consecutive_failures_;
  ++backoff_attempt_;
  cooldown_until_ms_ = now_ms + delay_ms;
  status_ = Status::kCoolingDown;
}

void EndpointHealth::EjectUntil(double until_ms) {
  ejected_until_ms_ = until_ms;
  status_ = Status::kEjected;
}

void EndpointHealth::Recovered() {
  backoff_attempt_ = 0;
  consecutive_failures_ = 0;
  probation_ = false;
}

void EndpointHealth::Forget(bool ejections) {
  if (status_ == Status::kCoolingDown ||
      (ejections && status_ == Status::kEjected)) {
    status_ = Status::kUp;
  }
}

void EndpointHealth::RestUntil(double until_ms) {
  cooldown_until_ms_ = std::max(cooldown_until_ms_, until_ms);
  if (status_ == Status::kUp) status_ = Status::kCoolingDown;
}

void EndpointHealth::ReturnEarly() {
  if (status_ != Status::kEjected) return;
  status_ = Status::kUp;
  probation_ = true;
}

}  // namespace sse_balancer
