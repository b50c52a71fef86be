// Smooth weighted round-robin over the endpoints' weights.
#ifndef SSE_BALANCER_WEIGHTED_POLICY_H_
#define SSE_BALANCER_WEIGHTED_POLICY_H_

#include <cstddef>
#include <vector>

#include "policy.h"

namespace sse_balancer {

/// Each eligible endpoint gains its weight (Endpoint::weight) per pick, the
/// one with the most is picked and gives back the total: over any run of
/// picks each endpoint is picked in proportion to its weight, spread evenly
/// rather than in bursts (nginx's smooth weighted round-robin). Each client
/// starts at a random point of that sequence, so that many fresh clients
/// land in proportion to the weights instead of all on the heaviest.
class WeightedPolicy final : public Policy {
 public:
  std::size_t Pick(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible, Rng& rng) override;
  std::string_view name() const override { return "weighted"; }
  /// Where servers advertise load, a client moves off an endpoint that
  /// carries a stream more than its weight's share (down to that share).
  double LoadBound() const override { return 1; }

 private:
  std::size_t Step(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible);

  std::vector<double> current_;  // per endpoint
  bool started_ = false;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_WEIGHTED_POLICY_H_
