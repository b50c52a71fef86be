// Streams that look alive but are not: the heartbeat timeout on open
// streams and the connect timeout on attempts, both reported as `stall`.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

constexpr std::size_t kStall = static_cast<std::size_t>(FailureReason::kStall);

class WatchdogTest : public BalancerTest {
 protected:
  // Exact delays, a 5 s heartbeat timeout and no connect timeout.
  static BalancerOptions WithHeartbeat(double timeout_ms = 5000) {
    BalancerOptions options = ExactOptions();
    options.watchdog.heartbeat_timeout_ms = timeout_ms;
    return options;
  }

  // The retry and the watchdog are never both pending: one waits for a
  // connection, the other watches one.
  void ExpectOneKindOfTimer() {
    EXPECT_FALSE(balancer().retry_pending() && balancer().watchdog_pending())
        << "t=" << host_.now();
    EXPECT_LE(host_.timers().size(), 1u) << "t=" << host_.now();
  }
};

// ---------------------------------------------------------------------------
// Heartbeat timeout

TEST_F(WatchdogTest, StallsExactlyAtTheTimeoutAfterTheLastMessage) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  EXPECT_FALSE(balancer().watchdog_pending());  // no connect timeout
  const std::size_t a = LastEndpoint();
  host_.Advance(100);
  OpenActive();
  EXPECT_TRUE(balancer().watchdog_pending());
  host_.AdvanceTo(1000);
  EXPECT_EQ(Message("1"), static_cast<int>(a));
  host_.AdvanceTo(3000);
  EXPECT_EQ(Message(""), static_cast<int>(a));  // any event counts

  host_.AdvanceTo(7999.999);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  EXPECT_TRUE(host_.error_notices().empty());
  ExpectOneKindOfTimer();
  host_.AdvanceTo(8000);

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, a);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
  EXPECT_EQ(host_.error_notices()[0].at_ms, 8000);
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].from, std::optional<std::size_t>(a));
  EXPECT_EQ(host_.failover_notices()[0].reason, FailureReason::kStall);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 8000);
  EXPECT_EQ(host_.closed().front(), host_.opened().front().id);
  const EndpointCounters& counters = EndpointAt(a).counters;
  EXPECT_EQ(counters.failures, 1u);
  EXPECT_EQ(counters.failures_by_reason[kStall], 1u);
  EXPECT_EQ(counters.last_error, FailureReason::kStall);
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(a).health.cooldown_until_ms(), 9000);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
  EXPECT_FALSE(balancer().watchdog_pending());  // not open yet
}

TEST_F(WatchdogTest, StallsAtTheTimeoutAfterOpenWithoutAnyEvent) {
  MakeBalancer(1, "round-robin", WithHeartbeat());
  balancer().Start();
  host_.Advance(250);
  OpenActive();
  host_.AdvanceTo(5249);
  EXPECT_TRUE(host_.error_notices().empty());
  const std::size_t timers_before = host_.started_timers().size();
  host_.Suspend(1);  // t=5250, the watchdog not fired yet
  ASSERT_TRUE(host_.AdvanceToNextTimer());
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
  // A stall is an ordinary failure: the endpoint cools down...
  EXPECT_EQ(EndpointAt(0).health.backoff_attempt(), 1);
  EXPECT_EQ(EndpointAt(0).health.cooldown_until_ms(), 6250);
  // ... but the only endpoint is down: the first outage round was due 250
  // ms after the attempt (at 250), so the retry is made at once, by its
  // timer, not failed over.
  EXPECT_TRUE(host_.failover_notices().empty());
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 5250);
  bool zero_delay_retry = false;
  for (std::size_t i = timers_before; i < host_.started_timers().size(); ++i) {
    zero_delay_retry |= host_.started_timers()[i].delay_ms == 0;
  }
  EXPECT_TRUE(zero_delay_retry);
}

TEST_F(WatchdogTest, MessagesPushTheStallBackWithoutATimerEach) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  OpenActive();
  int id = 0;
  // An event every 100 ms for ten minutes, then one 4999 ms later.
  while (host_.now() < 10 * 60000) {
    host_.Advance(100);
    ASSERT_GE(Message(std::to_string(++id)), 0);
    ExpectOneKindOfTimer();
  }
  host_.Advance(4999);
  ASSERT_GE(Message(std::to_string(++id)), 0);
  const double last = host_.now();
  host_.Advance(4999);
  EXPECT_TRUE(host_.error_notices().empty());
  EXPECT_EQ(ConnectionCount(), 1u);
  // The watchdog re-arms when it fires, not at each of the 6001 events.
  EXPECT_LE(host_.started_timers().size(), 2u * (10 * 60000 / 5000) + 4);
  host_.Advance(1);
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].at_ms, last + 5000);
}

TEST_F(WatchdogTest, DroppedDuplicatesAreActivityToo) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  OpenActive();
  for (int i = 0; i < 20; ++i) Message("a" + std::to_string(i));
  FailActive();
  OpenActive();
  for (int i = 0; i < 20; ++i) {
    host_.Advance(4000);
    // The new server replays slowly: 80 s without a new event.
    EXPECT_EQ(Message("a" + std::to_string(i)), kDropEvent);
  }
  EXPECT_EQ(host_.error_notices().size(), 1u);  // only the first failure
}

TEST_F(WatchdogTest, EventsOfAStaleConnectionAreNotActivity) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  const ConnectionId old_id = LastConnectionId();
  OpenActive();
  FailActive();  // t=0
  OpenActive();  // t=0: stall due at 5000
  for (int i = 0; i < 4; ++i) {
    host_.Advance(1000);
    EXPECT_EQ(balancer().OnMessage(old_id, "x"), std::nullopt);
  }
  host_.AdvanceTo(5000);
  ASSERT_EQ(host_.error_notices().size(), 2u);
  EXPECT_EQ(host_.error_notices()[1].reason, FailureReason::kStall);
}

TEST_F(WatchdogTest, NoHeartbeatTimeoutMeansNoWatchdogOnOpenStreams) {
  MakeBalancer(1, "round-robin", DefaultsWithoutJitter());  // connect 10 s
  balancer().Start();
  ASSERT_TRUE(balancer().watchdog_pending());
  const TimerId connect_watchdog = host_.timers().at(0).id;
  host_.Advance(100);
  OpenActive();
  EXPECT_FALSE(balancer().watchdog_pending());
  EXPECT_TRUE(host_.timers().empty());
  EXPECT_EQ(host_.cancelled_timers(), std::vector<TimerId>{connect_watchdog});
  host_.Advance(24 * 3600000.0);
  EXPECT_TRUE(host_.error_notices().empty());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
}

TEST_F(WatchdogTest, FractionalTimesOnAWholeMillisecondGridNeverSpin) {
  // Timers in whole ms from fractional start times: the watchdog re-arms
  // cleanly (see also the regression test below for arbitrary fractions).
  MakeBalancer(1, "round-robin", WithHeartbeat(6074));
  host_.AdvanceTo(0.5);
  balancer().Start();
  OpenActive();
  host_.AdvanceTo(1402.5);
  Message("1");
  host_.AdvanceTo(1402.5 + 6074);
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].at_ms, 1402.5 + 6074);
}

// Regression (fixed): the watchdog compares `now - last_activity >= timeout`
// but re-arms for `timeout - (now - last_activity)`. With fractional times (as
// performance.now() gives) the rounding can leave the idle time a hair
// below the timeout and the new delay below the clock's resolution: the
// timer is due at the same instant, fires, finds the same idle time and
// re-arms again, forever on a host with an exact clock (FakeHost gives up
// after 1000 fires at one instant and records a host error). In a browser
// it costs extra 0 ms timers until the clock ticks. Fix: compare and aim at
// the same deadline, `last_activity + timeout`: fail when now >= deadline,
// else ArmWatchdog(deadline - now) (as the floor/budget retries already
// do); in OnResume too.
TEST_F(WatchdogTest, ReArmingConvergesWithFractionalTimes) {
  const double timeout = 6074;
  const double open = 6079.685463379139;
  const double last = 7481.6242358591089;
  MakeBalancer(2, "round-robin", WithHeartbeat(timeout));
  balancer().Start();
  host_.AdvanceTo(open);
  OpenActive();
  host_.AdvanceTo(last);
  ASSERT_GE(Message("1"), 0);
  host_.AdvanceTo(last + timeout + 1000);

  EXPECT_FALSE(host_.spinning()) << "the watchdog re-armed at one instant";
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
  EXPECT_NEAR(host_.error_notices()[0].at_ms, last + timeout, 1e-6);
  EXPECT_LE(host_.started_timers().size(), 4u);
}

// Regression (fixed): the same right after open, without any event: open at
// 208.544 with a 100 ms timeout arms a timer due at 308.544, where 308.544 -
// 208.544 is 99.99999999999997 (found by the fuzzer; about 9 % of opens at
// microsecond times below one second spin with a 100 ms timeout).
TEST_F(WatchdogTest, ReArmingConvergesRightAfterOpen) {
  MakeBalancer(2, "round-robin", WithHeartbeat(100));
  balancer().Start();
  host_.AdvanceTo(208.544);
  OpenActive();
  host_.AdvanceTo(1000);

  EXPECT_FALSE(host_.spinning()) << "the watchdog re-armed at one instant";
  ASSERT_GE(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
  EXPECT_NEAR(host_.error_notices()[0].at_ms, 308.544, 1e-9);
}

// Regression (fixed): the same, over random fractional times (about 0.6 % of
// them spin).
TEST_F(WatchdogTest, ReArmingConvergesForRandomFractionalTimes) {
  std::mt19937_64 random(20240611);
  std::uniform_real_distribution<double> unit(0, 1);
  int spins = 0;
  for (int run = 0; run < 2000; ++run) {
    const double timeout = 1000 + std::floor(unit(random) * 60000);
    const double open = unit(random) * 1e7;
    const double last = open + unit(random) * timeout * 0.999;
    balancer_.reset();
    host_ = FakeHost();
    MakeBalancer(1, "round-robin", WithHeartbeat(timeout));
    balancer().Start();
    host_.AdvanceTo(open);
    OpenActive();
    host_.AdvanceTo(last);
    Message("1");
    host_.AdvanceTo(last + timeout + 1);
    if (host_.spinning()) {
      ++spins;
      continue;
    }
    ASSERT_EQ(host_.error_notices().size(), 1u) << "run " << run;
  }
  host_ = FakeHost();  // the spins are counted here, not by TearDown
  EXPECT_EQ(spins, 0) << "of 2000 runs";
}

// ---------------------------------------------------------------------------
// Connect timeout

TEST_F(WatchdogTest, ConnectTimeoutIsOnByDefault) {
  MakeBalancer(2, "round-robin", DefaultsWithoutJitter());
  balancer().Start();
  const std::size_t a = LastEndpoint();
  EXPECT_TRUE(balancer().watchdog_pending());
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 10000);
  host_.AdvanceTo(9999);
  EXPECT_TRUE(host_.error_notices().empty());
  host_.AdvanceTo(10000);

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, a);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].reason, FailureReason::kStall);
  EXPECT_EQ(EndpointAt(a).counters.failures_by_reason[kStall], 1u);
  EXPECT_EQ(EndpointAt(a).counters.opens, 0u);
  // The attempt was closed, the next one made and watched.
  EXPECT_EQ(host_.closed().front(), host_.opened().front().id);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 10000);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 20000);
}

TEST_F(WatchdogTest, OpeningInTimeDisarmsTheConnectTimeout) {
  MakeBalancer(2, "round-robin", DefaultsWithoutJitter());
  balancer().Start();
  host_.AdvanceTo(9999);
  OpenActive();
  host_.AdvanceTo(60000);
  EXPECT_TRUE(host_.error_notices().empty());
  EXPECT_FALSE(balancer().watchdog_pending());
}

TEST_F(WatchdogTest, AnErrorDisarmsItAndTheNextAttemptGetsItsOwn) {
  MakeBalancer(2, "round-robin", DefaultsWithoutJitter());
  balancer().Start();
  host_.AdvanceTo(500);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 2u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 10500);
  host_.AdvanceTo(10500);
  ASSERT_EQ(host_.error_notices().size(), 2u);
  EXPECT_EQ(host_.error_notices()[1].reason, FailureReason::kStall);
}

TEST_F(WatchdogTest, ConnectTimeoutThenHeartbeat) {
  BalancerOptions options = WithHeartbeat(5000);
  options.watchdog.connect_timeout_ms = 10000;
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  host_.AdvanceTo(9000);
  OpenActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 14000);
  host_.AdvanceTo(12000);
  Message("1");
  host_.AdvanceTo(16999);
  EXPECT_TRUE(host_.error_notices().empty());
  host_.AdvanceTo(17000);
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
}

TEST_F(WatchdogTest, StalledAttemptsEverywhereKeepTheTimersApart) {
  // Every attempt hangs: each is given up after the connect timeout. Over
  // an hour, the retry and the watchdog never overlap.
  BalancerOptions options = DefaultsWithoutJitter();
  options.watchdog.connect_timeout_ms = 2000;
  MakeBalancer(3, "round-robin", options);
  balancer().Start();
  while (host_.now() < 3600000) {
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    ExpectOneKindOfTimer();
  }
  EXPECT_GT(ConnectionCount(), 100u);
  for (const ErrorNotice& notice : host_.error_notices()) {
    ASSERT_EQ(notice.reason, FailureReason::kStall);
  }
  for (const Endpoint& endpoint : balancer().endpoints()) {
    EXPECT_EQ(endpoint.counters.failures_by_reason[kStall],
              endpoint.counters.failures);
  }
}

// ---------------------------------------------------------------------------
// OnResume: timers of a background tab may not have fired

TEST_F(WatchdogTest, ResumeFailsAStaleStreamAtOnce) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  host_.AdvanceTo(1000);
  Message("1");
  host_.Suspend(10000);  // t=11000; the watchdog due at 5000 has not fired
  balancer().OnResume(/*active_alive=*/true);

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, a);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
  EXPECT_EQ(host_.error_notices()[0].at_ms, 11000);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastAttemptAt(), 11000);
  EXPECT_TRUE(host_.timers().empty());  // the overdue watchdog was cancelled
  host_.Advance(1);
  EXPECT_EQ(host_.error_notices().size(), 1u);
}

TEST_F(WatchdogTest, ResumeStallsAtExactlyTheTimeout) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  OpenActive();
  host_.AdvanceTo(1000);
  Message("1");
  host_.Suspend(4999);
  balancer().OnResume(true);
  EXPECT_TRUE(host_.error_notices().empty());
  host_.Suspend(1);
  balancer().OnResume(true);
  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kStall);
}

TEST_F(WatchdogTest, ResumeLeavesAFreshStreamAlone) {
  MakeBalancer(2, "round-robin", WithHeartbeat());
  balancer().Start();
  OpenActive();
  host_.AdvanceTo(1000);
  Message("1");
  host_.Suspend(3000);
  const std::size_t log_size = host_.log().size();
  balancer().OnResume(true);
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
}

TEST_F(WatchdogTest, ResumeWithoutAHeartbeatTimeoutTrustsTheHost) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  host_.Suspend(3600000);
  const std::size_t log_size = host_.log().size();
  balancer().OnResume(true);
  EXPECT_EQ(host_.log().size(), log_size);
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
