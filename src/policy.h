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

  /// How far above the mean advertised load a client's endpoint may be
  /// before the client moves off it (e.g. 1.2: 20 % above); 0: the policy
  /// ignores load and its clients never move for it.
  virtual double LoadBound() const { return 0; }
  /// The load, as a multiple of the mean, that moving clients bring their
  /// endpoint down to (in expectation): the mean itself for an even spread,
  /// the bound for a policy that prefers its clients to stay.
  virtual double LoadTarget() const { return 1; }
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_POLICY_H_
