// Requests beside the stream (BalancedEventSource.fetch): the endpoint is
// chosen with the stream's policy and health state.
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <vector>

#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

class RequestPickTest : public BalancerTest {};

TEST_F(RequestPickTest, RoundRobinSpreadsRequestsOverHealthyEndpoints) {
  MakeBalancer(3);
  balancer().Start();
  OpenActive();
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 300; ++i) {
    const std::optional<std::size_t> pick = balancer().PickForRequest({});
    ASSERT_TRUE(pick.has_value());
    ++counts[*pick];
  }
  // Round-robin over all three, the streaming one included.
  EXPECT_EQ(counts, (std::vector<int>{100, 100, 100}));
}

TEST_F(RequestPickTest, CoolingDownEndpointsAreSkipped) {
  MakeBalancer(3);
  balancer().Start();
  const std::size_t failed = LastEndpoint();
  FailActive();  // `failed` cools down, another one connects
  OpenActive();
  for (int i = 0; i < 50; ++i) {
    const std::optional<std::size_t> pick = balancer().PickForRequest({});
    ASSERT_TRUE(pick.has_value());
    EXPECT_NE(*pick, failed);
  }
}

TEST_F(RequestPickTest, ExcludedEndpointsAreNeverPickedAndAllExcludedIsNone) {
  MakeBalancer(3);
  balancer().Start();
  for (int i = 0; i < 30; ++i) {
    const std::optional<std::size_t> pick = balancer().PickForRequest({0, 2});
    ASSERT_TRUE(pick.has_value());
    EXPECT_EQ(*pick, 1u);
  }
  EXPECT_FALSE(balancer().PickForRequest({0, 1, 2}).has_value());
}

TEST_F(RequestPickTest, WhenEveryEndpointIsDownAnyNotExcludedIsTried) {
  MakeBalancer(2);
  balancer().Start();
  FailActive();
  FailActive();  // both cooling down, a retry is pending
  ASSERT_TRUE(balancer().retry_pending());
  const std::optional<std::size_t> pick = balancer().PickForRequest({});
  ASSERT_TRUE(pick.has_value());
  const std::optional<std::size_t> other = balancer().PickForRequest({*pick});
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(*other, *pick);
}

TEST_F(RequestPickTest, AFailedRequestCoolsItsEndpointDownButNotTheActiveOne) {
  MakeBalancer(3);
  balancer().Start();
  OpenActive();
  const std::size_t active = LastEndpoint();
  const std::size_t other = (active + 1) % 3;
  balancer().OnRequestFailed(active);
  EXPECT_EQ(EndpointAt(active).state(), EndpointState::kOpen);
  EXPECT_EQ(EndpointAt(active).counters.failures, 0u);

  balancer().OnRequestFailed(other);
  EXPECT_EQ(EndpointAt(other).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(other).counters.failures, 1u);
  EXPECT_EQ(EndpointAt(other).counters.last_error, FailureReason::kNetwork);
  // A second report while it is already down does not stack failures.
  balancer().OnRequestFailed(other);
  EXPECT_EQ(EndpointAt(other).counters.failures, 1u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_NE(balancer().PickForRequest({}), std::optional<std::size_t>(other));
  }
  // Out-of-range reports are ignored.
  balancer().OnRequestFailed(99);
}

TEST_F(RequestPickTest, NothingIsPickedAfterClose) {
  MakeBalancer(2);
  balancer().Start();
  balancer().Close();
  EXPECT_FALSE(balancer().PickForRequest({}).has_value());
  balancer().OnRequestFailed(0);
  EXPECT_EQ(EndpointAt(0).counters.failures, 0u);
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
