#include "retry_budget.h"

#include <algorithm>

namespace sse_balancer {

void RetryBudget::Expire(double now_ms) {
  while (size() > 0 && attempts_[head_] + window_ms_ <= now_ms) ++head_;
  if (head_ > 0 && head_ * 2 >= attempts_.size()) {
    attempts_.erase(attempts_.begin(),
                    attempts_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

bool RetryBudget::Allows(double now_ms) {
  if (limit_ == 0) return true;
  Expire(now_ms);
  return size() < limit_;
}

void RetryBudget::Record(double now_ms) {
  if (limit_ == 0) return;
  Expire(now_ms);
  attempts_.push_back(now_ms);
  // Only the newest `limit_` matter for the decision.
  if (size() > limit_) head_ = attempts_.size() - limit_;
}

double RetryBudget::NextAllowedAt(double now_ms) {
  if (Allows(now_ms)) return now_ms;
  return attempts_[head_] + window_ms_;
}

std::size_t RetryBudget::used(double now_ms) {
  Expire(now_ms);
  return size();
}

}  // namespace sse_balancer
