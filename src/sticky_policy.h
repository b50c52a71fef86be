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
class StickyPolicy final : public Policy {
 public:
  explicit StickyPolicy(std::string key) : key_(std::move(key)) {}
  std::size_t Pick(const std::vector<Endpoint>& endpoints,
                   const std::vector<std::size_t>& eligible, Rng& rng) override;
  std::string_view name() const override { return "sticky"; }

  /// The score of `url` for `key` (64-bit FNV-1a, then a 64-bit mix).
  static std::uint64_t Score(std::string_view key, std::string_view url);

 private:
  std::string key_;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_STICKY_POLICY_H_
