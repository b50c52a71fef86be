// Power of two choices on the load the servers advertise.
#ifndef SSE_BALANCER_LEAST_LOADED_POLICY_H_
#define SSE_BALANCER_LEAST_LOADED_POLICY_H_

#include <cstddef>
#include <vector>

#include "policy.h"

namespace sse_balancer {

/// Two eligible endpoints drawn at random; the one with the lower load
/// (Endpoint::load, from the servers' `sse-balancer.load` events) is picked.
/// Where a figure is missing, the first of the two: uniform at random.
/// Two choices rather than the least loaded of all, so that many clients
/// deciding on the same figures do not all pick the same endpoint.
class LeastLoadedPolicy final : public Policy {
 public:
  std::size_t Pick(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible, Rng& rng) override;
  std::string_view name() const override { return "least-loaded"; }
  double LoadBound() const override { return 1.2; }
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_LEAST_LOADED_POLICY_H_
