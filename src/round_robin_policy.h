#ifndef SSE_BALANCER_ROUND_ROBIN_POLICY_H_
#define SSE_BALANCER_ROUND_ROBIN_POLICY_H_

#include <optional>

#include "policy.h"

namespace sse_balancer {

/// Takes the next eligible endpoint after the one it picked last, in list
/// order. The first pick starts at a random index so that many fresh clients
/// do not all land on endpoint 0.
class RoundRobinPolicy final : public Policy {
 public:
  std::size_t Pick(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible, Rng& rng) override;
  std::string_view name() const override { return "round-robin"; }

 private:
  std::optional<std::size_t> last_;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_ROUND_ROBIN_POLICY_H_
