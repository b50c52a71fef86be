// The weighted and sticky policies.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "balancer_fixture.h"
#include "policy_registry.h"
#include "rng.h"
#include "sticky_policy.h"

namespace sse_balancer::test {
namespace {

std::vector<Endpoint> Endpoints(const std::vector<double>& weights) {
  return EndpointsWith(weights, &Endpoint::weight);
}

std::vector<std::size_t> All(std::size_t n) {
  std::vector<std::size_t> out(n);
  std::iota(out.begin(), out.end(), std::size_t{0});
  return out;
}

TEST(WeightedPolicyTest, EveryRoundFollowsTheWeightsExactly) {
  const auto endpoints = Endpoints({1, 2, 3});
  auto policy = MakePolicy("weighted");
  Rng rng(7);
  std::vector<int> count(3);
  for (int i = 0; i < 600; ++i) ++count[policy->Pick(endpoints, All(3), rng)];
  EXPECT_EQ(count, (std::vector<int>{100, 200, 300}));
}

TEST(WeightedPolicyTest, PicksAreSpreadNotInBursts) {
  const auto endpoints = Endpoints({1, 1, 4});
  auto policy = MakePolicy("weighted");
  Rng rng(3);
  // The heavy endpoint never gets more than its share in a row plus one.
  std::size_t run = 0;
  std::size_t longest = 0;
  for (int i = 0; i < 60; ++i) {
    run = policy->Pick(endpoints, All(3), rng) == 2 ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  EXPECT_LE(longest, 3u);
}

TEST(WeightedPolicyTest,
     AnIneligibleEndpointIsSkippedAndTheRestKeepTheirRatio) {
  const auto endpoints = Endpoints({1, 2, 3});
  auto policy = MakePolicy("weighted");
  Rng rng(11);
  std::vector<int> count(3);
  for (int i = 0; i < 400; ++i) ++count[policy->Pick(endpoints, {0, 2}, rng)];
  EXPECT_EQ(count[1], 0);
  EXPECT_EQ(count[0], 100);
  EXPECT_EQ(count[2], 300);
}

TEST(WeightedPolicyTest, FreshClientsStartInProportionToTheWeights) {
  const auto endpoints = Endpoints({1, 2, 3});
  std::vector<int> first(3);
  for (std::uint64_t seed = 1; seed <= 6000; ++seed) {
    auto policy = MakePolicy("weighted");
    Rng rng(seed);
    ++first[policy->Pick(endpoints, All(3), rng)];
  }
  EXPECT_NEAR(first[0], 1000, 120);
  EXPECT_NEAR(first[1], 2000, 150);
  EXPECT_NEAR(first[2], 3000, 150);
}

TEST(StickyPolicyTest, AKeyKeepsItsEndpointInEveryClient) {
  const auto endpoints = Endpoints({1, 1, 1, 1});
  const std::size_t chosen = [&] {
    auto policy = MakePolicy("sticky", "room-42");
    Rng rng(1);
    return policy->Pick(endpoints, All(4), rng);
  }();
  for (std::uint64_t seed = 2; seed < 50; ++seed) {
    auto policy = MakePolicy("sticky", "room-42");
    Rng rng(seed);
    EXPECT_EQ(policy->Pick(endpoints, All(4), rng), chosen);
  }
}

TEST(StickyPolicyTest, OnlyTheKeysOfAnEndpointThatGoesMove) {
  const auto endpoints = Endpoints({1, 1, 1, 1});
  Rng rng(1);
  int moved = 0;
  int on_lost = 0;
  std::vector<int> spread(4);
  for (int k = 0; k < 2000; ++k) {
    auto policy = MakePolicy("sticky", "user-" + std::to_string(k));
    const std::size_t before = policy->Pick(endpoints, All(4), rng);
    ++spread[before];
    const std::size_t after = policy->Pick(endpoints, {0, 1, 3}, rng);
    if (before == 2) {
      ++on_lost;
      EXPECT_NE(after, 2u);
    } else {
      moved += after != before;
    }
  }
  EXPECT_EQ(moved, 0);  // keys of the other endpoints stay where they are
  EXPECT_GT(on_lost, 0);
  for (const int n : spread) EXPECT_NEAR(n, 500, 80);  // keys spread evenly
}

// Keys among "user-0", "user-1", ... whose first choice is `endpoint`.
std::vector<std::string> KeysPreferring(const std::vector<Endpoint>& endpoints,
                                        std::size_t endpoint, int count) {
  std::vector<std::string> out;
  Rng rng(1);
  for (int k = 0; static_cast<int>(out.size()) < count; ++k) {
    const std::string key = "user-" + std::to_string(k);
    if (MakePolicy("sticky", key)
            ->Pick(endpoints, All(endpoints.size()), rng) == endpoint) {
      out.push_back(key);
    }
  }
  return out;
}

TEST(StickyPolicyTest, AnEndpointAboveTheLoadBoundIsPassedOver) {
  auto endpoints = Endpoints({1, 1, 1});
  const std::string key = KeysPreferring(endpoints, 0, 1).front();
  auto policy = MakePolicy("sticky", key);
  Rng rng(1);
  const std::size_t second = policy->Pick(endpoints, {1, 2}, rng);
  // No figures: the first choice. Within the bound (1.25 x (12+10+10+1)/3 =
  // 13.75 >= 12 + 1): still the first choice.
  EXPECT_EQ(policy->Pick(endpoints, All(3), rng), 0u);
  endpoints[0].load = 12;
  endpoints[1].load = endpoints[2].load = 10;
  EXPECT_EQ(policy->Pick(endpoints, All(3), rng), 0u);
  // Above it: the key's second choice, not just any endpoint.
  endpoints[0].load = 30;
  endpoints[1].load = endpoints[2].load = 5;
  EXPECT_EQ(policy->Pick(endpoints, All(3), rng), second);
  // Only one figure known: no mean to bound by, the first choice.
  endpoints[1].load = endpoints[2].load = -1;
  EXPECT_EQ(policy->Pick(endpoints, All(3), rng), 0u);
}

TEST(StickyPolicyTest, AHotRangeOfKeysCannotOverloadOneEndpoint) {
  // 300 clients whose keys all prefer endpoint 0, joining one by one and
  // seeing the loads so far (as after the first load event).
  auto endpoints = Endpoints({1, 1, 1});
  for (auto& e : endpoints) e.load = 0;
  Rng rng(1);
  for (const std::string& key : KeysPreferring(endpoints, 0, 300)) {
    const std::size_t pick =
        MakePolicy("sticky", key)->Pick(endpoints, All(3), rng);
    endpoints[pick].load += 1;
  }
  // Mean 100: endpoint 0 holds at most 1.25 x the mean, the rest go to
  // their second choices.
  EXPECT_LE(endpoints[0].load, 126);
  EXPECT_GE(endpoints[0].load, 124);
  EXPECT_EQ(endpoints[0].load + endpoints[1].load + endpoints[2].load, 300);
}

TEST(StickyPolicyTest, WithoutAKeyItPicksAtRandom) {
  const auto endpoints = Endpoints({1, 1, 1});
  auto policy = MakePolicy("sticky");
  Rng rng(5);
  std::map<std::size_t, int> seen;
  for (int i = 0; i < 300; ++i) ++seen[policy->Pick(endpoints, All(3), rng)];
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace sse_balancer::test
