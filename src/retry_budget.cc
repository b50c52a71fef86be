#include "retry_budget.h"

#include <algorithm>

namespace sse_balancer {

void RetryBudget::Expire(double now_ms) {
  while (!attempts_.empty() && attempts_.front() + window_ms_ <= now_ms) {
    attempts_.pop_front();
  }
}

bool RetryBudget::Allows(double now_ms) {
  if (limit_ == 0) return true;
  Expire(now_ms);
  return attempts_.size() < limit_;
}

void RetryBudget::Record(double now_ms) {
  if (limit_ == 0) return;
  Expire(now_ms);
  attempts_.push_back(now_ms);
  // Only the newest `limit_` matter for the decision.
  while (attempts_.size() > limit_) attempts_.pop_front();
}

double RetryBudget::NextAllowedAt(double now_ms) {
  if (Allows(now_ms)) return now_ms;
  return attempts_.front() + window_ms_;
}

std::size_t RetryBudget::used(double now_ms) {
  Expire(now_ms);
  return attempts_.size();
}

}  // namespace sse_balancer
