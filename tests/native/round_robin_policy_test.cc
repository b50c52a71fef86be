#include "round_robin_policy.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "balancer_fixture.h"
#include "endpoint.h"
#include "policy_registry.h"
#include "rng.h"

namespace sse_balancer {
namespace {

const std::vector<std::size_t> kAllOfFour = {0, 1, 2, 3};

TEST(RoundRobinPolicyTest, IsRegisteredUnderItsName) {
  std::unique_ptr<Policy> policy = MakePolicy("round-robin");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->name(), "round-robin");
}

TEST(RoundRobinPolicyTest, AfterTheFirstPickGoesInListOrderAndWraps) {
  const std::vector<Endpoint> endpoints(4);
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE(seed);
    RoundRobinPolicy policy;
    Rng rng(seed);
    const std::size_t first = policy.Pick(endpoints, kAllOfFour, rng);
    ASSERT_LT(first, 4u);
    for (std::size_t step = 1; step <= 10; ++step) {
      EXPECT_EQ(policy.Pick(endpoints, kAllOfFour, rng), (first + step) % 4);
    }
  }
}

TEST(RoundRobinPolicyTest, SkipsIneligibleEndpoints) {
  const std::vector<Endpoint> endpoints(4);
  RoundRobinPolicy policy;
  Rng rng(3);
  // Whatever the random start, the only eligible index is taken.
  EXPECT_EQ(policy.Pick(endpoints, {2}, rng), 2u);
  EXPECT_EQ(policy.Pick(endpoints, {0, 1, 3}, rng), 3u);  // after 2
  EXPECT_EQ(policy.Pick(endpoints, {0, 1, 3}, rng), 0u);  // wraps after 3
  EXPECT_EQ(policy.Pick(endpoints, {2, 3}, rng), 2u);     // skips 1
  EXPECT_EQ(policy.Pick(endpoints, {0, 1}, rng), 0u);     // wraps past 3
  EXPECT_EQ(policy.Pick(endpoints, {0}, rng), 0u);        // only choice
  EXPECT_EQ(policy.Pick(endpoints, kAllOfFour, rng), 1u);
}

TEST(RoundRobinPolicyTest, FirstPickCoversEveryIndexEvenlyOverSeeds) {
  // 400 fresh clients over 4 endpoints: 100 each expected. The tolerance,
  // +-30 (7.5 percentage points), is about 3.5 standard deviations.
  const std::vector<Endpoint> endpoints(4);
  std::vector<int> hits(4, 0);
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    RoundRobinPolicy policy;
    Rng rng(seed);
    const std::size_t first = policy.Pick(endpoints, kAllOfFour, rng);
    ASSERT_LT(first, 4u);
    ++hits[first];
  }
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GT(hits[i], 0) << "index " << i << " never picked first";
    EXPECT_NEAR(hits[i], 100, 30) << "index " << i;
  }
}

using RoundRobinBalancerTest = test::BalancerTest;

TEST_F(RoundRobinBalancerTest, FirstEndpointIsSpreadOverSeeds) {
  // Same as above but through Balancer::Start and BalancerOptions::seed.
  std::vector<int> hits(4, 0);
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    ResetForNextRun();
    MakeBalancer(4, "round-robin", ExactOptions(), seed);
    balancer().Start();
    ASSERT_EQ(ConnectionCount(), 1u);
    ASSERT_LT(LastEndpoint(), 4u);
    ++hits[LastEndpoint()];
  }
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_GT(hits[i], 0) << "index " << i << " never picked first";
    EXPECT_NEAR(hits[i], 100, 30) << "index " << i;
  }
}

TEST_F(RoundRobinBalancerTest, ImmediateFailoversWalkTheListInOrder) {
  MakeBalancer(4);
  balancer().Start();
  const std::size_t first = LastEndpoint();
  for (std::size_t step = 1; step < 4; ++step) {
    FailActive();
    ASSERT_EQ(ConnectionCount(), step + 1);
    EXPECT_EQ(LastEndpoint(), (first + step) % 4);
  }
  // The fourth failure finds every endpoint cooling down; the retry after
  // the 1000 ms cool-down continues the rotation with `first`.
  FailActive();
  EXPECT_EQ(ConnectionCount(), 4u);
  host_.Advance(1000);
  ASSERT_EQ(ConnectionCount(), 5u);
  EXPECT_EQ(LastEndpoint(), first);
}

TEST_F(RoundRobinBalancerTest, KeepsRotatingWhenEarlierEndpointsHaveRecovered) {
  // Each stream lives 10 s, long past every cool-down, so all other
  // endpoints are eligible at each failure; round-robin still takes the
  // next one in order rather than the lowest index.
  MakeBalancer(4);
  balancer().Start();
  const std::size_t first = LastEndpoint();
  for (std::size_t step = 1; step <= 9; ++step) {
    OpenActive();
    host_.Advance(10000);
    FailActive();
    ASSERT_EQ(ConnectionCount(), step + 1);
    EXPECT_EQ(LastEndpoint(), (first + step) % 4) << "step " << step;
    EXPECT_EQ(host_.opened().back().at_ms, host_.now());
  }
}

TEST_F(RoundRobinBalancerTest, SkipsTheEndpointsThatAreCoolingDown) {
  // Endpoints f, f+1, f+2. f fails at t=0 (cool-down to 1000), f+1 fails at
  // t=0 (to 1000); f+2 streams for 500 ms and fails. The rotation would go
  // back to f but nothing is eligible: the retry waits for t=1000 and then
  // takes f, which comes next in order.
  MakeBalancer(3);
  balancer().Start();
  const std::size_t f = LastEndpoint();
  FailActive();
  EXPECT_EQ(LastEndpoint(), (f + 1) % 3);
  FailActive();
  EXPECT_EQ(LastEndpoint(), (f + 2) % 3);
  OpenActive();
  host_.Advance(500);
  FailActive();
  EXPECT_EQ(ConnectionCount(), 3u);
  host_.Advance(499);
  EXPECT_EQ(ConnectionCount(), 3u);
  host_.Advance(1);
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_EQ(LastEndpoint(), f);
  // f fails at once; f+1 has cooled down too, but the floor keeps the next
  // attempt 250 ms after the last one, and then it is f+1's turn (f+2 is
  // still cooling down until 1500).
  FailActive();
  host_.Advance(249);
  EXPECT_EQ(ConnectionCount(), 4u);
  host_.Advance(1);
  ASSERT_EQ(ConnectionCount(), 5u);
  EXPECT_EQ(LastEndpoint(), (f + 1) % 3);
}

}  // namespace
}  // namespace sse_balancer
