// Rendezvous hashing on a key the app gives (a user or a room).
#ifndef SSE_BALANCER_STICKY_POLICY_H_
#define SSE_BALANCER_STICKY_POLICY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy.h"

namespace sse_balancer {

/// Every endpoint gets a score from a hash of the key and its URL; the
/// eligible one with the highest score is picked. The same key picks the
/// same endpoint in every client and across reloads, and moves only when
/// that endpoint is not eligible (it failed, drains or was removed): then to
/// its second choice, and only the keys of that endpoint move (rendezvous,
/// or highest-random-weight, hashing). Without a key it picks at random.
///
/// Bounded load (consistent hashing with bounded loads): where the servers
/// advertise their load, an endpoint whose load would exceed kLoadBound
/// times the mean (this client included) is passed over for the key's next
/// choice, so a hot range of keys cannot overload one endpoint; and a client
/// on an endpoint that is above that bound moves (see LoadBound()). Where no
/// figure is known (a page's first pick), the key's first choice stands.
class StickyPolicy final : public Policy {
 public:
  static constexpr double kLoadBound = 1.25;

  explicit StickyPolicy(std::string key) : key_(std::move(key)) {}
  std::size_t Pick(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible, Rng& rng) override;
  std::string_view name() const override { return "sticky"; }
  double LoadBound() const override { return kLoadBound; }
  double LoadTarget() const override { return kLoadBound; }

  /// The score of `url` for `key` (64-bit FNV-1a, then a 64-bit mix).
  static std::uint64_t Score(std::string_view key, std::string_view url);

 private:
  std::string key_;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_STICKY_POLICY_H_
