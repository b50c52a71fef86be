// Browser lifecycle signals: offline/online, and resuming a page (made
// visible again or restored from the back/forward cache).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

class LifecycleTest : public BalancerTest {
 protected:
  // Fails every attempt as it is made until the clock reaches `until_ms`
  // (the attempt that gets there is failed too), so that the cool-downs
  // grow.
  void FailEveryAttemptUntil(double until_ms) {
    int steps = 0;
    while (host_.now() < until_ms || !host_.open_ids().empty()) {
      ASSERT_LT(++steps, 100000);
      if (!host_.open_ids().empty()) {
        FailActive();
      } else {
        ASSERT_TRUE(host_.AdvanceToNextTimer());
      }
    }
  }

  bool HasCancelled(TimerId id) const {
    const auto& cancelled = host_.cancelled_timers();
    return std::find(cancelled.begin(), cancelled.end(), id) != cancelled.end();
  }
};

// ---------------------------------------------------------------------------
// Offline

TEST_F(LifecycleTest, OfflineLeavesAnOpenStreamAlone) {
  MakeBalancer(2);
  balancer().Start();
  const int a = static_cast<int>(LastEndpoint());
  OpenActive();
  const std::size_t log_size = host_.log().size();
  balancer().OnOffline();
  EXPECT_TRUE(balancer().offline());
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  EXPECT_EQ(Message("1"), a);
  balancer().OnOffline();  // repeated: nothing more
  EXPECT_EQ(host_.log().size(), log_size);
  // Back online with the stream still open: nothing to do.
  balancer().OnOnline();
  EXPECT_FALSE(balancer().offline());
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
}

TEST_F(LifecycleTest, OfflineReplacesThePendingRetryWithASlowProbe) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();  // t=0: the first outage round at 1000
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 1000);
  const TimerId retry = host_.timers()[0].id;
  host_.AdvanceTo(100);
  balancer().OnOffline();
  EXPECT_TRUE(HasCancelled(retry));
  EXPECT_TRUE(balancer().retry_pending());
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 100 + 30000);  // backoff.max_ms
  EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
  host_.AdvanceTo(30099);
  EXPECT_EQ(ConnectionCount(), 1u);
  host_.AdvanceTo(30100);
  EXPECT_EQ(ConnectionCount(), 2u);
}

// Regression (fixed): the slow probe never probes. When the probe timer fires,
// OnTimer -> ConnectNext finds offline_ still set and only schedules the
// next probe (`if (offline_) { ScheduleRetryAt(now + max_ms); return; }`),
// so while the browser reports offline no connection is ever attempted:
// if the offline signal is wrong (captive portals, VPNs, some Linux network
// managers) the stream never comes back until an `online` event. Fix: let
// the probe timer attempt a connection (e.g. ConnectNext(reason,
// /*probe=*/true) from OnTimer skips the offline gate; a failed probe lands
// in ConnectNext again, which schedules the next probe max_ms later).
TEST_F(LifecycleTest, TheSlowProbeAttemptsAConnectionEveryMaxBackoff) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();  // t=0: the first outage round at 250
  host_.AdvanceTo(100);
  balancer().OnOffline();
  std::vector<double> probes;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    if (!host_.open_ids().empty()) {
      probes.push_back(LastAttemptAt());
      FailActive();
    }
  }
  EXPECT_EQ(probes, (std::vector<double>{30100, 60100, 90100, 120100, 150100}))
      << "attempts while offline: " << ConnectionCount() - 1;
}

TEST_F(LifecycleTest, AFailureWhileOfflineWaitsForTheProbe) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  balancer().OnOffline();
  host_.AdvanceTo(2000);
  FailActive();  // the stream drops while offline

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, a);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kClosed);
  EXPECT_TRUE(host_.failover_notices().empty());
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_EQ(ConnectionCount(), 1u);  // no failover while offline
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 2000 + 30000);
  host_.AdvanceTo(31999);
  EXPECT_EQ(ConnectionCount(), 1u);
}

TEST_F(LifecycleTest, StartWhileOfflineWaitsForOnline) {
  MakeBalancer(2);
  balancer().OnOffline();
  balancer().Start();
  EXPECT_EQ(ConnectionCount(), 0u);
  EXPECT_TRUE(balancer().retry_pending());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
  host_.AdvanceTo(700);
  balancer().OnOnline();
  ASSERT_EQ(ConnectionCount(), 1u);
  EXPECT_EQ(LastAttemptAt(), 700);
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_TRUE(host_.timers().empty());
}

// ---------------------------------------------------------------------------
// Online

TEST_F(LifecycleTest, OnlineReconnectsAtOnceAndClearsCooldowns) {
  MakeBalancer(2);
  balancer().Start();
  FailEveryAttemptUntil(60000);  // rounds of 30 s and cool-downs of seconds
  ASSERT_TRUE(host_.open_ids().empty());
  // The endpoint tried last is cooling down; the other one has cooled down
  // long ago, but the retry round is still far off.
  const std::size_t cooling = LastEndpoint();
  ASSERT_EQ(EndpointAt(cooling).state(), EndpointState::kCoolingDown);
  ASSERT_GT(EndpointAt(cooling).health.cooldown_until_ms(), host_.now() + 100);
  ASSERT_EQ(host_.timers().size(), 1u);
  ASSERT_GT(host_.timers()[0].due_ms, host_.now() + 100);
  balancer().OnOffline();
  const std::size_t attempts = ConnectionCount();
  host_.Advance(100);
  const double online_at = host_.now();
  balancer().OnOnline();

  EXPECT_FALSE(balancer().offline());
  ASSERT_EQ(ConnectionCount(), attempts + 1);
  EXPECT_EQ(LastAttemptAt(), online_at);
  EXPECT_EQ(LastEndpoint(), AfterInOrder(cooling));
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_TRUE(host_.timers().empty());  // the probe was cancelled
  EXPECT_EQ(EndpointAt(cooling).state(), EndpointState::kIdle);
  // The endpoint that was cooling down is eligible at once too.
  FailActive();
  ASSERT_EQ(ConnectionCount(), attempts + 2);
  EXPECT_EQ(LastEndpoint(), cooling);
  EXPECT_EQ(LastAttemptAt(), online_at);
}

TEST_F(LifecycleTest, OnlineTakesEjectedEndpointsBackToo) {
  BalancerOptions options = ExactOptions();
  options.ejection.after_failures = 1;
  options.ejection.max_percent = 100;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  FailActive();
  FailActive();  // both ejected for 30 s
  for (const Endpoint& endpoint : balancer().endpoints()) {
    ASSERT_EQ(endpoint.state(), EndpointState::kEjected);
  }
  balancer().OnOffline();
  host_.Advance(100);
  balancer().OnOnline();
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(LastAttemptAt(), 100);
  const std::size_t other = 1 - LastEndpoint();
  EXPECT_EQ(EndpointAt(other).state(), EndpointState::kIdle);
}

TEST_F(LifecycleTest, OnlineRespectsTheRetryBudget) {
  BalancerOptions options = ExactOptions();
  options.max_connects_per_minute = 2;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  FailActive();
  FailActive();  // two attempts at t=0: the budget is spent until 60000
  balancer().OnOffline();
  host_.Advance(100);
  balancer().OnOnline();
  EXPECT_EQ(ConnectionCount(), 2u);
  EXPECT_TRUE(balancer().retry_pending());
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 60000);
  host_.AdvanceTo(60000);
  EXPECT_EQ(ConnectionCount(), 3u);
}

TEST_F(LifecycleTest, OnlineWhileAnAttemptIsPendingLeavesItAlone) {
  MakeBalancer(2);
  balancer().Start();
  balancer().OnOffline();
  const std::size_t log_size = host_.log().size();
  balancer().OnOnline();
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(ConnectionCount(), 1u);
  EXPECT_EQ(host_.open_ids().size(), 1u);
}

TEST_F(LifecycleTest, OnlineWithoutOfflineDoesNothing) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();
  const std::size_t log_size = host_.log().size();
  balancer().OnOnline();
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(ConnectionCount(), 1u);
}

// ---------------------------------------------------------------------------
// Resume

TEST_F(LifecycleTest, ResumeWithADeadOpenStreamFailsOverAsClosed) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  const ConnectionId first = LastConnectionId();
  OpenActive();
  host_.Advance(3000);
  balancer().OnResume(/*active_alive=*/false);

  EXPECT_EQ(host_.closed(), std::vector<ConnectionId>{first});
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, a);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kClosed);
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].from, std::optional<std::size_t>(a));
  EXPECT_EQ(host_.failover_notices()[0].reason, FailureReason::kClosed);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 3000);
  EXPECT_EQ(EndpointAt(a).counters.last_error, FailureReason::kClosed);
}

TEST_F(LifecycleTest, ResumeWithADeadAttemptFailsOverAsNetwork) {
  MakeBalancer(2);
  balancer().Start();
  balancer().OnResume(false);
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kNetwork);
  EXPECT_EQ(ConnectionCount(), 2u);
}

TEST_F(LifecycleTest, ResumeWithALiveStreamDoesNothing) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  host_.Suspend(600000);
  const std::size_t log_size = host_.log().size();
  balancer().OnResume(true);
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
}

TEST_F(LifecycleTest, ResumeEndsARetryWaitWhoseTimerWasThrottled) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();  // retry due at 1000
  const TimerId retry = host_.timers().at(0).id;
  host_.Suspend(5000);  // a background tab: the timer has not fired
  balancer().OnResume(true);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 5000);
  EXPECT_TRUE(HasCancelled(retry));
  EXPECT_TRUE(host_.timers().empty());
  host_.Advance(10000);
  EXPECT_EQ(ConnectionCount(), 2u);  // not twice
}

TEST_F(LifecycleTest, ResumeEndsACoolDownNow) {
  // One endpoint: down at 0, the first round at 1000 fails too (cooling
  // down until 2600); the second round is due at 2600. A resume at 1300,
  // past the floor (1250), attempts at once and ends the cool-down.
  MakeBalancer(1);
  balancer().Start();
  FailActive();
  host_.AdvanceTo(1000);
  ASSERT_EQ(ConnectionCount(), 2u);
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 2600);
  const TimerId retry = host_.timers()[0].id;
  EXPECT_EQ(EndpointAt(0).health.cooldown_until_ms(), 2600);
  host_.AdvanceTo(1300);
  balancer().OnResume(true);
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(LastAttemptAt(), 1300);
  EXPECT_TRUE(HasCancelled(retry));
  EXPECT_FALSE(balancer().retry_pending());
  host_.AdvanceTo(5000);
  EXPECT_EQ(ConnectionCount(), 3u);
}

// Regression, fixed (src/balancer.cc, OnResume -> ConnectNext ->
// ScheduleRetry): while every endpoint is down, OnResume cancels the pending
// retry and calls ConnectNext, which finds the attempt too soon and calls
// ScheduleRetry: that counts a new round (all_down_rounds_ + 1) and aims the
// retry at last_attempt + BackoffDelayMs(round + 1). Here the retry due at 1000
// (the first round) moves to 0 + 1600 = 1600: resuming the page postpones the
// reconnect instead of making it now (balancer.h: "cool-downs (not
// ejections) are forgotten and an attempt is made now"; balancer.cc: "the
// budget and the floor still apply").
TEST_F(LifecycleTest, ResumeKeepsTheFloorWhileEverythingIsDown) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();  // t=0, every endpoint down
  host_.AdvanceTo(100);
  balancer().OnResume(true);
  EXPECT_EQ(ConnectionCount(), 1u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 250);
  host_.AdvanceTo(250);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 250);
}

TEST_F(LifecycleTest, ResumeEndsCoolDownsButNotEjections) {
  // a is ejected (backoff to 1000, ejection to 30000); b only cools down
  // (to 1000). Every endpoint is down: the first outage round is due at
  // 1000. A resume at 200 ends b's cool-down only (a stays ejected until
  // 30000) and, within the floor, moves the round to 250. Either way the
  // round sweeps every endpoint, the ejected one too: a first (the client's
  // order), back on probation; it fails and is ejected again at once; then
  // b at once.
  BalancerOptions options = ExactOptions();
  options.ejection.after_failures = 1;
  options.ejection.max_percent = 50;
  for (const bool resume : {false, true}) {
    SCOPED_TRACE(resume);
    ResetForNextRun();
    MakeBalancer(2, "round-robin", options);
    balancer().Start();
    const std::size_t a = LastEndpoint();
    FailActive();
    const std::size_t b = LastEndpoint();
    FailActive();
    ASSERT_EQ(EndpointAt(a).state(), EndpointState::kEjected);
    ASSERT_EQ(EndpointAt(b).state(), EndpointState::kCoolingDown);
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_EQ(host_.timers()[0].due_ms, 1000);
    host_.AdvanceTo(200);
    if (resume) {
      balancer().OnResume(true);
      EXPECT_EQ(ConnectionCount(), 2u);
      EXPECT_EQ(EndpointAt(b).state(), EndpointState::kIdle);
      EXPECT_EQ(EndpointAt(a).state(), EndpointState::kEjected);
      EXPECT_EQ(EndpointAt(a).health.ejected_until_ms(), 30000);
      ASSERT_EQ(host_.timers().size(), 1u);
      EXPECT_EQ(host_.timers()[0].due_ms, 250);
    }
    const double round_at = resume ? 250 : 1000;
    host_.AdvanceTo(round_at - 1);
    EXPECT_EQ(ConnectionCount(), 2u);
    host_.AdvanceTo(round_at);
    ASSERT_EQ(ConnectionCount(), 3u);
    EXPECT_EQ(LastEndpoint(), a);
    EXPECT_TRUE(EndpointAt(a).health.probation());
    FailActive();
    EXPECT_EQ(EndpointAt(a).state(), EndpointState::kEjected);
    EXPECT_EQ(EndpointAt(a).counters.ejections, 2u);
    EXPECT_EQ(EndpointAt(a).health.ejected_until_ms(), round_at + 60000);
    ASSERT_EQ(ConnectionCount(), 4u);
    EXPECT_EQ(LastEndpoint(), b);
    EXPECT_EQ(LastAttemptAt(), round_at);
  }
}

TEST_F(LifecycleTest, ResumeWithEveryEndpointEjectedKeepsTheFloor) {
  // Both endpoints ejected at 0 (backoff to 1000): the first outage round
  // is due at 1000. A resume within the floor (at 100) attempts nothing and
  // moves the round to the floor, 250 (never later than the pending one);
  // the round sweeps the ejected endpoints (each back on probation).
  BalancerOptions options = ExactOptions();
  options.ejection.after_failures = 1;
  options.ejection.max_percent = 100;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  FailActive();
  FailActive();  // both ejected, backoff to 1000
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 1000);
  host_.AdvanceTo(100);
  balancer().OnResume(true);
  EXPECT_EQ(ConnectionCount(), 2u);
  EXPECT_TRUE(balancer().retry_pending());
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 250);
  host_.AdvanceTo(249);
  EXPECT_EQ(ConnectionCount(), 2u);
  host_.AdvanceTo(250);
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_GT(EndpointAt(LastEndpoint()).health.ejected_until_ms(), 250);
  EXPECT_TRUE(EndpointAt(LastEndpoint()).health.probation());
  const std::size_t first = LastEndpoint();
  FailActive();
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_NE(LastEndpoint(), first);
  EXPECT_EQ(LastAttemptAt(), 250);
  EXPECT_TRUE(EndpointAt(LastEndpoint()).health.probation());
}

// Regression, fixed (same as ResumeKeepsTheFloorWhileEverythingIsDown), at
// every stage of an outage: two endpoints, jitter 0, every attempt failing at
// once; after 0 to 7 rounds the page is resumed 100 ms after the last attempt
// (within the floor). Resuming must never make the next attempt later than the
// retry that was pending (it used to move it one round further each time).
TEST_F(LifecycleTest, ResumeNeverPostponesThePendingRetry) {
  for (int rounds = 0; rounds < 8; ++rounds) {
    SCOPED_TRACE("after " + std::to_string(rounds) + " rounds");
    ResetForNextRun();
    MakeBalancer(2);
    balancer().Start();
    FailActive();
    FailActive();
    for (int round = 0; round < rounds; ++round) {
      ASSERT_TRUE(host_.AdvanceToNextTimer());
      FailActive();  // the round sweeps both endpoints
      ASSERT_EQ(ConnectionCount(), static_cast<std::size_t>(round) * 2 + 4);
      FailActive();
    }
    ASSERT_EQ(host_.timers().size(), 1u);
    const double due = host_.timers()[0].due_ms;
    const std::size_t attempts = ConnectionCount();
    host_.AdvanceTo(LastAttemptAt() + 100);
    balancer().OnResume(true);
    // Within the floor: the sweep moves to the floor, before the round.
    EXPECT_EQ(ConnectionCount(), attempts);
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_EQ(host_.timers()[0].due_ms, LastAttemptAt() + 250);
    EXPECT_LE(host_.timers()[0].due_ms, due);
    host_.AdvanceTo(due);
    EXPECT_GT(ConnectionCount(), attempts)
        << "the retry due at " << due << " was moved to "
        << (host_.timers().empty() ? -1 : host_.timers()[0].due_ms);
  }
}

TEST_F(LifecycleTest, ResumeKeepsTheRetryBudget) {
  BalancerOptions options = ExactOptions();
  options.max_connects_per_minute = 1;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  FailActive();  // the budget is spent until 60000
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 60000);
  host_.AdvanceTo(500);
  balancer().OnResume(true);
  EXPECT_EQ(ConnectionCount(), 1u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 60000);
}

TEST_F(LifecycleTest, LifecycleSignalsBeforeStartDoNothing) {
  MakeBalancer(2);
  balancer().OnResume(false);
  balancer().OnResume(true);
  balancer().OnOffline();
  balancer().OnOnline();
  EXPECT_TRUE(host_.log().empty());
  balancer().Start();
  EXPECT_EQ(ConnectionCount(), 1u);
}

TEST_F(LifecycleTest, LifecycleSignalsAfterCloseDoNothing) {
  MakeBalancer(2);
  balancer().Start();
  FailActive();
  FailActive();
  balancer().Close();
  const std::size_t log_size = host_.log().size();
  balancer().OnOffline();
  balancer().OnOnline();
  balancer().OnResume(false);
  balancer().OnResume(true);
  host_.Advance(600000);
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
}

TEST_F(LifecycleTest, CloseWhileOfflineCancelsTheProbe) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();
  balancer().OnOffline();
  balancer().Close();
  EXPECT_TRUE(host_.timers().empty());
  EXPECT_FALSE(balancer().retry_pending());
}

// Regression (review of issue 8): every resume while offline re-armed the
// slow probe at now + max_ms, so a user switching tabs more often than that
// never got a probe while navigator.onLine was wrongly false.
TEST_F(LifecycleTest, ResumeWhileOfflineKeepsThePendingProbe) {
  MakeBalancer(1);
  balancer().Start();
  balancer().OnOffline();
  FailActive(ConnectionError::kGaveUp);  // t=0: probe due at max_ms
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 30000);
  for (int i = 0; i < 10; ++i) {
    host_.Advance(20000);
    balancer().OnResume(/*active_alive=*/true);
    if (ConnectionCount() > 1) break;
  }
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 30000);
}

// A host whose error notification brings the browser back online, as a page
// listener dispatching `online` from its error handler would.
class OnlineFromErrorListenerHost : public FakeHost {
 public:
  void NotifyError(std::size_t endpoint, FailureReason reason) override {
    FakeHost::NotifyError(endpoint, reason);
    if (balancer_ != nullptr) {
      Balancer* balancer = balancer_;
      balancer_ = nullptr;
      balancer->OnOnline();
    }
  }
  Balancer* balancer_ = nullptr;
};

// Regression (review of issue 8): Fail() went on to connect after a
// listener's OnOnline() had already connected: two connections open.
TEST(LifecycleReentrancyTest, OnlineFromAnErrorListenerOpensOneConnection) {
  OnlineFromErrorListenerHost host;
  BalancerOptions options;
  options.backoff.jitter = 0;
  Balancer balancer({"https://a.example/e", "https://b.example/e"}, options,
                    MakePolicy("round-robin"), host);
  host.set_balancer(&balancer);
  balancer.Start();
  balancer.OnOffline();
  host.balancer_ = &balancer;
  balancer.OnError(host.opened().back().id, ConnectionError::kRetrying);
  EXPECT_EQ(host.max_open(), 1u);
  EXPECT_EQ(host.open_ids().size(), 1u);
  EXPECT_TRUE(host.host_errors().empty());
  balancer.Close();
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
