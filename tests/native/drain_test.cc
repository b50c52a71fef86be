// Drain: the server of the active stream says it goes away; the balancer
// opens its next pick beside the stream, switches when the new stream
// delivers an event the old one has not, then closes the old one.
#include <gtest/gtest.h>

#include <optional>

#include "balancer.h"
#include "balancer_fixture.h"
#include "policy_registry.h"
#include "rng.h"

namespace sse_balancer::test {
namespace {

class DrainTest : public MovingStreamTest {
 protected:
  // Three endpoints, the stream open on one of them, events 1 to 3 delivered.
  void Streaming() {
    StreamOn({"1", "2", "3"});
    old_ = LastConnectionId();
    from_ = LastEndpoint();
  }

  ConnectionId old_ = 0;
  std::size_t from_ = 0;
};

TEST_F(DrainTest, MakeBeforeBreakWithoutLossOrRepeat) {
  Streaming();
  balancer().OnDrain(old_, 1000);
  EXPECT_EQ(ConnectionCount(),
            1u);       // not yet: the move is spread over the time given
  host_.Advance(800);  // kDrainMoveShare of it at the latest
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId next = LastConnectionId();
  const std::size_t to = LastEndpoint();
  EXPECT_NE(to, from_);
  EXPECT_NE(host_.opened().back().url.find("lastEventId=3"), std::string::npos);
  EXPECT_EQ(host_.open_ids().size(), 2u);
  // The old stream goes on delivering while the new one connects.
  EXPECT_EQ(balancer().OnMessage(old_, "4"), std::optional<std::size_t>(from_));
  balancer().OnOpen(next);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  // The new stream delivers 5 before the old one: it takes over, the old
  // one is closed.
  EXPECT_EQ(balancer().OnMessage(next, "5"), std::optional<std::size_t>(to));
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  EXPECT_EQ(balancer().OnMessage(old_, "5"), std::nullopt);  // stale
  EXPECT_EQ(balancer().active_endpoint(), std::optional<std::size_t>(to));
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  EXPECT_TRUE(host_.error_notices().empty());  // no error: nothing failed
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].reason, FailureReason::kDrain);
  EXPECT_EQ(EndpointAt(from_).counters.failures, 0u);
  // The drained endpoint rests (it is being restarted).
  balancer().RefreshHealth();
  EXPECT_EQ(EndpointAt(from_).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(balancer().last_event_id(), "5");
}

TEST_F(DrainTest, TheNewStreamTakesOverOnceItHasCaughtUp) {
  Streaming();
  balancer().OnDrain(old_, 1000);
  host_.Advance(800);
  const ConnectionId next = LastConnectionId();
  const std::size_t to = LastEndpoint();
  balancer().OnOpen(next);
  // Its replay: 4 and 5, which the old stream delivered meanwhile; 4 is
  // behind (dropped, the old stream stays), 5 is where the old one is.
  EXPECT_EQ(balancer().OnMessage(old_, "4"), std::optional<std::size_t>(from_));
  EXPECT_EQ(balancer().OnMessage(old_, "5"), std::optional<std::size_t>(from_));
  EXPECT_EQ(balancer().OnMessage(next, "4"), std::nullopt);
  EXPECT_EQ(host_.open_ids().size(), 2u);
  EXPECT_EQ(balancer().OnMessage(next, "5"), std::nullopt);  // caught up
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  EXPECT_EQ(balancer().active_endpoint(), std::optional<std::size_t>(to));
  // An event without an id: its browser repeats 5; delivered, once.
  EXPECT_EQ(balancer().OnMessage(next, "5"), std::optional<std::size_t>(to));
  EXPECT_EQ(balancer().OnMessage(next, "6"), std::optional<std::size_t>(to));
  EXPECT_EQ(balancer().OnMessage(old_, "6"), std::nullopt);
  EXPECT_EQ(host_.failover_notices().size(), 1u);
}

TEST_F(DrainTest, ANewStreamWhoseServerDrainsTooMovesOnOnceItTookOver) {
  // Four endpoints: two servers drain (e.g. one process of two goes away);
  // the stream moves off both without a failure.
  MakeBalancer(4);
  balancer().Start();
  OpenActive();
  ASSERT_NE(Message("1"), kDropEvent);
  old_ = LastConnectionId();
  from_ = LastEndpoint();
  balancer().OnDrain(old_, 1000);
  host_.Advance(800);
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId next = LastConnectionId();
  const std::size_t to = LastEndpoint();
  balancer().OnOpen(next);
  // Its server tells the new stream at once that it drains as well.
  balancer().OnDrain(next, 2000);
  EXPECT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(balancer().OnMessage(next, "2"), std::optional<std::size_t>(to));
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  // It moves on, as for a drain announced on the stream itself, and not to
  // either drained endpoint.
  host_.Advance(1600);
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_NE(LastEndpoint(), from_);
  EXPECT_NE(LastEndpoint(), to);
  const ConnectionId third = LastConnectionId();
  balancer().OnOpen(third);
  EXPECT_EQ(balancer().OnMessage(third, "3"),
            std::optional<std::size_t>(LastEndpoint()));
  EXPECT_TRUE(host_.error_notices().empty());
  ASSERT_EQ(host_.failover_notices().size(), 2u);
  EXPECT_EQ(host_.failover_notices()[1].reason, FailureReason::kDrain);
}

TEST_F(DrainTest, TheOldStreamEndingFirstHandsOverAtOnce) {
  Streaming();
  balancer().OnDrain(old_, 500);
  host_.Advance(400);
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId next = LastConnectionId();
  // The drained server went before the new stream delivered.
  balancer().OnError(old_, ConnectionError::kRetrying);
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  EXPECT_EQ(ConnectionCount(), 2u);  // no third connection
  EXPECT_TRUE(host_.error_notices().empty());
  balancer().OnOpen(next);
  EXPECT_EQ(balancer().OnMessage(next, "4"),
            std::optional<std::size_t>(LastEndpoint()));
  EXPECT_EQ(EndpointAt(from_).counters.failures, 0u);
}

TEST_F(DrainTest, ANewStreamThatFailsIsDroppedAndTheOldOneStays) {
  Streaming();
  balancer().OnDrain(old_, 500);
  host_.Advance(400);
  const ConnectionId next = LastConnectionId();
  const std::size_t to = LastEndpoint();
  balancer().OnError(next, ConnectionError::kGaveUp);
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{old_});
  EXPECT_EQ(balancer().OnMessage(old_, "4"), std::optional<std::size_t>(from_));
  EXPECT_EQ(EndpointAt(to).counters.failures, 1u);
  EXPECT_TRUE(host_.error_notices().empty());
}

TEST_F(DrainTest, CloseDuringTheMoveLeavesNothingOpen) {
  Streaming();
  balancer().OnDrain(old_, 500);
  host_.Advance(400);
  ASSERT_EQ(host_.open_ids().size(), 2u);
  balancer().Close();
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_FALSE(host_.AdvanceToNextTimer());  // no timer left
}

TEST_F(DrainTest, ADrainOfAStaleConnectionOrTwiceIsIgnored) {
  Streaming();
  balancer().OnDrain(old_ + 1000, 500);
  balancer().OnDrain(0, 500);
  host_.Advance(1000);
  EXPECT_EQ(ConnectionCount(), 1u);
  balancer().OnDrain(old_, 500);
  host_.Advance(400);
  balancer().OnDrain(old_, 500);  // a repeat while moving changes nothing
  host_.Advance(400);
  EXPECT_EQ(ConnectionCount(), 2u);
}

}  // namespace
}  // namespace sse_balancer::test

namespace sse_balancer::test {
namespace {

std::vector<Endpoint> Loaded(const std::vector<double>& loads) {
  return EndpointsWith(loads, &Endpoint::load);
}

TEST(LeastLoadedPolicyTest, TheLessLoadedOfTwoRandomOnes) {
  const auto endpoints = Loaded({10, 1, 5});
  auto policy = MakePolicy("least-loaded");
  Rng rng(9);
  std::vector<int> count(3);
  for (int i = 0; i < 3000; ++i)
    ++count[policy->Pick(endpoints, {0, 1, 2}, rng)];
  EXPECT_EQ(count[0], 0);            // it loses against either other one
  EXPECT_NEAR(count[1], 2000, 120);  // in two pairs of three, and wins both
  EXPECT_NEAR(count[2], 1000, 120);
}

TEST(LeastLoadedPolicyTest, WithoutFiguresItPicksAtRandom) {
  const auto endpoints = Loaded({-1, -1, 4});
  auto policy = MakePolicy("least-loaded");
  Rng rng(2);
  std::vector<int> count(3);
  for (int i = 0; i < 3000; ++i)
    ++count[policy->Pick(endpoints, {0, 1, 2}, rng)];
  for (const int n : count) EXPECT_NEAR(n, 1000, 150);
}

using RebalanceTest = MovingStreamTest;

TEST_F(RebalanceTest, AClientOnAnOverloadedEndpointMovesWithTheExcessShare) {
  int moved = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    MakeBalancer(3, "least-loaded", ExactOptions(), seed);
    balancer().Start();
    OpenActive();
    const std::size_t here = LastEndpoint();
    const std::size_t before = ConnectionCount();
    for (std::size_t i = 0; i < 3; ++i)
      balancer().SetLoad(i, i == here ? 10 : 4);
    balancer().OnLoadReport(LastConnectionId());
    host_.Advance(kRebalanceSpreadMs);
    if (ConnectionCount() > before) {
      ++moved;
      const ConnectionId next = LastConnectionId();
      balancer().OnOpen(next);
      ASSERT_NE(balancer().OnMessage(next, "1"), std::nullopt);
      EXPECT_EQ(host_.failover_notices().back().reason,
                FailureReason::kRebalance);
    }
    balancer().Close();
    ResetForNextRun();
  }
  // Mean 6, here 10: (10 - 6) / 10 of the clients move.
  EXPECT_NEAR(moved, 80, 25);
}

TEST_F(RebalanceTest, AStickyClientMovesOnlyAboveTheLoadBound) {
  BalancerOptions options = ExactOptions();
  int moved = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    options.seed = seed;
    MakeBalancerWithUrls({Url(0), Url(1), Url(2)}, "sticky", options,
                         "room-" + std::to_string(seed));
    balancer().Start();
    OpenActive();
    const std::size_t here = LastEndpoint();
    const std::size_t before = ConnectionCount();
    // 11 against a mean of 9.3: within 1.25 x the mean, nobody moves.
    for (std::size_t i = 0; i < 3; ++i)
      balancer().SetLoad(i, i == here ? 11 : 8.5);
    balancer().OnLoadReport(LastConnectionId());
    host_.Advance(kRebalanceSpreadMs);
    ASSERT_EQ(ConnectionCount(), before);
    // 20 against a mean of 9.3: down to the bound, (20 - 11.7) / 20 move.
    host_.Advance(kRebalanceEveryMs);
    for (std::size_t i = 0; i < 3; ++i)
      balancer().SetLoad(i, i == here ? 20 : 4);
    balancer().OnLoadReport(LastConnectionId());
    host_.Advance(kRebalanceSpreadMs);
    if (ConnectionCount() > before) ++moved;
    balancer().Close();
    ResetForNextRun();
  }
  EXPECT_NEAR(moved, 83, 25);
}

TEST_F(RebalanceTest, WeightedClientsMoveTowardTheirWeightsShare) {
  BalancerOptions options = ExactOptions();
  options.weights = {1, 2, 3};
  int moved = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    MakeBalancer(3, "weighted", options, seed);
    balancer().Start();
    OpenActive();
    const std::size_t here = LastEndpoint();
    const std::size_t before = ConnectionCount();
    // 5 streams per unit of weight everywhere: balanced, nobody moves.
    for (std::size_t i = 0; i < 3; ++i) balancer().SetLoad(i, 5.0 * (i + 1));
    balancer().OnLoadReport(LastConnectionId());
    host_.Advance(kRebalanceSpreadMs);
    ASSERT_EQ(ConnectionCount(), before);
    // Four streams too many here: some clients move, each to an endpoint
    // that stays lighter per unit of weight with it.
    host_.Advance(kRebalanceEveryMs);
    balancer().SetLoad(here, 5.0 * (here + 1) + 4);
    balancer().OnLoadReport(LastConnectionId());
    host_.Advance(kRebalanceSpreadMs);
    if (ConnectionCount() > before) {
      ++moved;
      const std::size_t to = LastEndpoint();
      EXPECT_NE(to, here);
      EXPECT_LE((5.0 * (to + 1) + 1) / static_cast<double>(to + 1),
                (5.0 * (here + 1) + 4) / static_cast<double>(here + 1));
    }
    balancer().Close();
    ResetForNextRun();
  }
  // Between 10 % (weight 3) and 37 % (weight 1) of the clients move.
  EXPECT_GT(moved, 15);
  EXPECT_LT(moved, 80);
}

TEST_F(RebalanceTest, NoMoveWhenBalancedOrUnderAnotherPolicy) {
  MakeBalancer(3, "least-loaded");
  balancer().Start();
  OpenActive();
  for (std::size_t i = 0; i < 3; ++i) balancer().SetLoad(i, 5);
  balancer().OnLoadReport(LastConnectionId());
  host_.Advance(2 * kRebalanceSpreadMs);
  EXPECT_EQ(ConnectionCount(), 1u);
  ResetForNextRun();
  MakeBalancer(3, "round-robin");
  balancer().Start();
  OpenActive();
  const std::size_t here = LastEndpoint();
  for (std::size_t i = 0; i < 3; ++i) balancer().SetLoad(i, i == here ? 50 : 1);
  balancer().OnLoadReport(LastConnectionId());
  host_.Advance(2 * kRebalanceSpreadMs);
  EXPECT_EQ(ConnectionCount(), 1u);
}

}  // namespace
}  // namespace sse_balancer::test
