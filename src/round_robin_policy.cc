#include "round_robin_policy.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace sse_balancer {

std::size_t RoundRobinPolicy::Pick(const std::vector<Endpoint>& endpoints,
                                   const std::vector<std::size_t>& eligible,
                                   Rng& rng) {
  const std::size_t n = endpoints.size();
  if (order_.size() != n) {
    order_.resize(n);
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) {  // Fisher-Yates
      std::swap(order_[i - 1], order_[rng.Below(i)]);
    }
    position_ = rng.Below(n);
    picked_ = false;
  }
  const std::size_t start = picked_ ? position_ + 1 : position_;
  picked_ = true;
  if (eligible.size() == n) {  // the common case: nothing to skip
    position_ = start % n;
    return order_[position_];
  }
  for (std::size_t step = 0; step < n; ++step) {
    const std::size_t at = (start + step) % n;
    if (std::binary_search(eligible.begin(), eligible.end(), order_[at])) {
      position_ = at;
      return order_[at];
    }
  }
  return eligible.front();  // unreachable: `eligible` is a non-empty subset
}

}  // namespace sse_balancer
