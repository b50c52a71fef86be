// EndpointHealth on its own, and the Balancer reporting it as of now.
#include "endpoint_health.h"

#include <gtest/gtest.h>

#include "balancer_fixture.h"

namespace sse_balancer::test {
namespace {

using Status = EndpointHealth::Status;

TEST(EndpointHealthTest, ACoolDownEndsWhenItsTimeIsUp) {
  EndpointHealth health;
  health.FailedAt(1000, 500);
  EXPECT_EQ(health.status(), Status::kCoolingDown);
  EXPECT_EQ(health.RetryInMs(1200), 300);
  health.RefreshAt(1499);
  EXPECT_EQ(health.status(), Status::kCoolingDown);
  health.RefreshAt(1500);
  EXPECT_TRUE(health.up());
  EXPECT_EQ(health.RetryInMs(1500), 0);
  EXPECT_FALSE(health.probation());
  EXPECT_EQ(health.consecutive_failures(), 1);
  EXPECT_EQ(health.backoff_attempt(), 1);
}

TEST(EndpointHealthTest, AnEjectionOutlastsTheCoolDownAndEndsOnProbation) {
  EndpointHealth health;
  health.FailedAt(0, 100);
  health.EjectUntil(5000);
  EXPECT_TRUE(health.EjectedAt(4999));
  EXPECT_FALSE(health.EjectedAt(5000));
  EXPECT_EQ(health.RetryInMs(1000), 4000);
  health.RefreshAt(1000);  // the cool-down is over, the ejection is not
  EXPECT_EQ(health.status(), Status::kEjected);
  health.RefreshAt(5000);
  EXPECT_TRUE(health.up());
  EXPECT_TRUE(health.probation());
  health.Recovered();
  EXPECT_FALSE(health.probation());
  EXPECT_EQ(health.backoff_attempt(), 0);
  EXPECT_EQ(health.consecutive_failures(), 0);
}

TEST(EndpointHealthTest, PanicEndsAnEjectionOnceTheCoolDownIsOver) {
  EndpointHealth health;
  health.FailedAt(0, 100);
  health.EjectUntil(5000);
  health.RefreshAt(50, /*panic=*/true);
  EXPECT_EQ(health.status(), Status::kEjected);  // still cooling down
  health.RefreshAt(100, /*panic=*/true);
  EXPECT_TRUE(health.up());
  EXPECT_TRUE(health.probation());
}

TEST(EndpointHealthTest, ForgetEndsCoolDownsAndOnlyWithEjectionsEjections) {
  EndpointHealth cooling;
  cooling.FailedAt(0, 1000);
  cooling.Forget(/*ejections=*/false);
  EXPECT_TRUE(cooling.up());

  EndpointHealth ejected;
  ejected.FailedAt(0, 1000);
  ejected.EjectUntil(30000);
  ejected.Forget(/*ejections=*/false);
  EXPECT_EQ(ejected.status(), Status::kEjected);
  ejected.Forget(/*ejections=*/true);
  EXPECT_TRUE(ejected.up());
  EXPECT_FALSE(ejected.probation());
}

TEST(EndpointHealthTest, ReturningEarlyFromAnEjectionIsOnProbation) {
  EndpointHealth health;
  health.FailedAt(0, 1000);
  health.ReturnEarly();  // not ejected: nothing changes
  EXPECT_EQ(health.status(), Status::kCoolingDown);
  health.EjectUntil(30000);
  health.ReturnEarly();
  EXPECT_TRUE(health.up());
  EXPECT_TRUE(health.probation());
}

// The stats bug this object fixes: an endpoint that failed long ago kept
// reading cooling-down until the next failover.
TEST_F(BalancerTest, StatsAreAsOfNowWithoutAFailoverSinceTheCoolDownEnded) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  const std::size_t failed = LastEndpoint();
  FailActive();
  OpenActive();  // the other endpoint streams from now on
  EXPECT_EQ(EndpointAt(failed).state(), EndpointState::kCoolingDown);
  host_.Advance(10 * 60 * 1000);  // ten minutes, no failover
  ASSERT_EQ(ConnectionCount(), 2u);
  balancer().RefreshHealth();
  EXPECT_EQ(EndpointAt(failed).state(), EndpointState::kIdle);
  EXPECT_EQ(EndpointAt(failed).health.RetryInMs(host_.now()), 0);
}

}  // namespace
}  // namespace sse_balancer::test
