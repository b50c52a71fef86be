// A cap on connection attempts per sliding minute, across all endpoints.
#ifndef SSE_BALANCER_RETRY_BUDGET_H_
#define SSE_BALANCER_RETRY_BUDGET_H_

#include <cstddef>
#include <vector>

namespace sse_balancer {

/// Remembers the times of the last `limit` attempts. An attempt is allowed
/// when fewer than `limit` happened in the last `window_ms`. 0 = no limit.
class RetryBudget {
 public:
  RetryBudget(std::size_t limit, double window_ms)
      : limit_(limit), window_ms_(window_ms) {}

  bool Allows(double now_ms);
  void Record(double now_ms);
  /// The earliest time at which an attempt is allowed again.
  double NextAllowedAt(double now_ms);
  /// Attempts inside the current window.
  std::size_t used(double now_ms);
  std::size_t limit() const { return limit_; }

 private:
  void Expire(double now_ms);
  std::size_t size() const { return attempts_.size() - head_; }

  std::size_t limit_;
  double window_ms_;
  /// Attempt times, oldest first, from index head_ on (the ones before it
  /// have expired; they are erased in bulk once they are half the vector):
  /// a queue without std::deque, which costs several KB of Wasm.
  std::vector<double> attempts_;
  std::size_t head_ = 0;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_RETRY_BUDGET_H_
