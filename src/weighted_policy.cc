#include "weighted_policy.h"

#include <algorithm>
#include <cmath>

namespace sse_balancer {

std::size_t WeightedPolicy::Step(const std::vector<Endpoint>& endpoints,
                                 const std::vector<std::size_t>& eligible) {
  double total = 0;
  std::size_t best = eligible.front();
  for (const std::size_t i : eligible) {
    current_[i] += endpoints[i].weight;
    total += endpoints[i].weight;
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total;
  return best;
}

std::size_t WeightedPolicy::Pick(const std::vector<Endpoint>& endpoints,
                                 const std::vector<std::size_t>& eligible,
                                 Rng& rng) {
  if (current_.size() != endpoints.size()) {
    current_.assign(endpoints.size(), 0.0);
    started_ = false;
  }
  if (!started_) {
    // A random point of the sequence: up to one round's picks (the sum of
    // the weights over the smallest), at most a bounded number.
    started_ = true;
    double total = 0;
    double smallest = endpoints[eligible.front()].weight;
    for (const std::size_t i : eligible) {
      total += endpoints[i].weight;
      smallest = std::min(smallest, endpoints[i].weight);
    }
    const auto steps = static_cast<std::size_t>(
        std::min(1000.0, std::max(1.0, std::ceil(total / smallest))));
    for (std::size_t n = rng.Below(steps); n > 0; --n)
      Step(endpoints, eligible);
  }
  return Step(endpoints, eligible);
}

}  // namespace sse_balancer
