#include "random_policy.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "balancer_fixture.h"
#include "endpoint.h"
#include "policy_registry.h"
#include "rng.h"

namespace sse_balancer {
namespace {

std::vector<Endpoint> MakeEndpoints(std::size_t count) {
  return std::vector<Endpoint>(count);
}

std::vector<std::size_t> Picks(std::uint64_t seed, std::size_t count,
                               const std::vector<std::size_t>& eligible,
                               std::size_t endpoint_count) {
  RandomPolicy policy;
  Rng rng(seed);
  const std::vector<Endpoint> endpoints = MakeEndpoints(endpoint_count);
  std::vector<std::size_t> picks;
  for (std::size_t i = 0; i < count; ++i) {
    picks.push_back(policy.Pick(endpoints, eligible, rng));
  }
  return picks;
}

TEST(RandomPolicyTest, IsRegisteredUnderItsName) {
  std::unique_ptr<Policy> policy = MakePolicy("random");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->name(), "random");
}

TEST(RandomPolicyTest, SpreadsPicksEvenlyOverAllEndpoints) {
  constexpr int kPicks = 100000;
  const std::vector<std::size_t> picks =
      Picks(/*seed=*/12345, kPicks, {0, 1, 2, 3, 4}, 5);
  std::vector<int> hits(5, 0);
  for (std::size_t pick : picks) {
    ASSERT_LT(pick, 5u);
    ++hits[pick];
  }
  for (std::size_t i = 0; i < 5; ++i) {
    const double share = 100.0 * hits[i] / kPicks;
    EXPECT_NEAR(share, 20.0, 1.0) << "endpoint " << i;
  }
}

TEST(RandomPolicyTest, SameSeedGivesTheSameSequence) {
  const std::vector<std::size_t> eligible = {0, 1, 2, 3, 4};
  EXPECT_EQ(Picks(7, 1000, eligible, 5), Picks(7, 1000, eligible, 5));
  EXPECT_NE(Picks(7, 1000, eligible, 5), Picks(8, 1000, eligible, 5));
}

TEST(RandomPolicyTest, ReturnsOnlyEligibleIndicesAndEachOfThem) {
  const std::vector<std::size_t> eligible = {1, 3, 4};
  const std::vector<std::size_t> picks = Picks(99, 30000, eligible, 5);
  std::vector<int> hits(5, 0);
  for (std::size_t pick : picks) {
    ASSERT_TRUE(pick == 1 || pick == 3 || pick == 4) << pick;
    ++hits[pick];
  }
  for (std::size_t index : eligible) {
    EXPECT_NEAR(100.0 * hits[index] / 30000, 100.0 / 3, 1.5) << index;
  }
}

TEST(RandomPolicyTest, SingleEligibleEndpointIsAlwaysPicked) {
  for (std::size_t pick : Picks(5, 100, {2}, 5)) EXPECT_EQ(pick, 2u);
}

// Through the Balancer: after a failure the random policy only ever chooses
// among the endpoints that are not cooling down.
using RandomPolicyBalancerTest = test::BalancerTest;

TEST_F(RandomPolicyBalancerTest, NeverPicksACoolingDownEndpoint) {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE(seed);
    ResetForNextRun();
    MakeBalancer(3, "random", ExactOptions(), seed);
    balancer().Start();
    std::set<std::size_t> failed;
    for (int i = 0; i < 3; ++i) {
      const std::size_t endpoint = LastEndpoint();
      ASSERT_EQ(failed.count(endpoint), 0u);
      failed.insert(endpoint);
      FailActive();
    }
    // All three are cooling down: nothing new until the 1000 ms cool-down.
    EXPECT_EQ(ConnectionCount(), 3u);
    EXPECT_TRUE(balancer().retry_pending());
  }
}

TEST_F(RandomPolicyBalancerTest, FirstEndpointVariesWithTheSeed) {
  std::set<std::size_t> firsts;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    ResetForNextRun();
    MakeBalancer(4, "random", ExactOptions(), seed);
    balancer().Start();
    firsts.insert(LastEndpoint());
  }
  EXPECT_EQ(firsts.size(), 4u);
}

}  // namespace
}  // namespace sse_balancer
