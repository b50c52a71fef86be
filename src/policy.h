// The interface every selection policy implements.
#ifndef SSE_BALANCER_POLICY_H_
#define SSE_BALANCER_POLICY_H_

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "endpoint.h"
#include "rng.h"

namespace sse_balancer {

/// Chooses the endpoint for the next connection. A policy sees every endpoint
/// (for load or health signals) and the indices that are eligible now; it
/// keeps whatever memory it needs between picks. Adding a policy means a new
/// file and one line in policy_registry.cc, never an edit of the Balancer.
class Policy {
 public:
  virtual ~Policy() = default;

  /// `eligible` is sorted ascending and non-empty. Returns one of its
  /// elements.
  virtual std::size_t Pick(const std::vector<Endpoint>& endpoints,
                           const std::vector<std::size_t>& eligible,
                           Rng& rng) = 0;

  virtual std::string_view name() const = 0;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_POLICY_H_
