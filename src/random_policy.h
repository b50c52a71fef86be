#ifndef SSE_BALANCER_RANDOM_POLICY_H_
#define SSE_BALANCER_RANDOM_POLICY_H_

#include "policy.h"

namespace sse_balancer {

/// Uniform among the eligible endpoints, independently at every pick (no
/// memory between picks, unlike round-robin's per-client order).
class RandomPolicy final : public Policy {
 public:
  std::size_t Pick(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible, Rng& rng) override;
  std::string_view name() const override { return "random"; }
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_RANDOM_POLICY_H_
