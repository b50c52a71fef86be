#include "balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backoff.h"
#include "balancer_fixture.h"
#include "fake_host.h"
#include "policy_registry.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

constexpr std::size_t kNetwork =
    static_cast<std::size_t>(FailureReason::kNetwork);
constexpr std::size_t kHttp = static_cast<std::size_t>(FailureReason::kHttp);
constexpr std::size_t kClosed =
    static_cast<std::size_t>(FailureReason::kClosed);
// Slack for comparing differences of fake times (sums of doubles).
constexpr double kRounding = 1e-9;

// Position of `entry` in the host's call log, or -1.
int LogIndex(const FakeHost& host, const std::string& entry) {
  const auto& log = host.log();
  const auto it = std::find(log.begin(), log.end(), entry);
  return it == log.end() ? -1 : static_cast<int>(it - log.begin());
}

// ---------------------------------------------------------------------------
// Start and open

TEST_F(BalancerTest, StartOpensExactlyOneConnection) {
  MakeBalancer(3);
  EXPECT_EQ(ConnectionCount(), 0u);
  balancer().Start();

  ASSERT_EQ(ConnectionCount(), 1u);
  const std::size_t endpoint = LastEndpoint();
  ASSERT_LT(endpoint, 3u);
  EXPECT_EQ(LastUrl(), Url(endpoint));  // no lastEventId yet
  EXPECT_EQ(host_.open_ids().size(), 1u);
  EXPECT_TRUE(host_.started_timers().empty());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
  EXPECT_EQ(balancer().active_endpoint(), endpoint);
  EXPECT_EQ(EndpointAt(endpoint).state(), EndpointState::kConnecting);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(EndpointAt(i).counters.connects, i == endpoint ? 1u : 0u);
  }
  EXPECT_TRUE(host_.open_notices().empty());
  EXPECT_TRUE(host_.failover_notices().empty());
}

TEST_F(BalancerTest, SecondStartDoesNothing) {
  MakeBalancer(3);
  balancer().Start();
  balancer().Start();
  EXPECT_EQ(ConnectionCount(), 1u);
}

TEST_F(BalancerTest, OpenMovesToOpenAndNotifies) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t endpoint = LastEndpoint();
  host_.Advance(40);
  OpenActive();

  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  EXPECT_EQ(EndpointAt(endpoint).state(), EndpointState::kOpen);
  EXPECT_EQ(EndpointAt(endpoint).opened_at_ms, 40);
  EXPECT_EQ(EndpointAt(endpoint).counters.opens, 1u);
  ASSERT_EQ(host_.open_notices().size(), 1u);
  EXPECT_EQ(host_.open_notices()[0].endpoint, endpoint);
  EXPECT_EQ(host_.open_notices()[0].ready_state, ReadyState::kOpen);
  EXPECT_TRUE(host_.failover_notices().empty());
}

// ---------------------------------------------------------------------------
// Failover

TEST_F(BalancerTest, ErrorClosesTheFailedConnectionThenOpensTheNextAtOnce) {
  MakeBalancer(3);
  balancer().Start();
  const ConnectionId first_id = LastConnectionId();
  OpenActive();
  host_.Advance(1234);
  FailActive();

  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId second_id = LastConnectionId();
  EXPECT_NE(second_id, first_id);
  EXPECT_EQ(host_.closed(), std::vector<ConnectionId>{first_id});
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{second_id});
  // Same fake time, no timer involved.
  EXPECT_EQ(host_.opened().back().at_ms, 1234);
  EXPECT_TRUE(host_.started_timers().empty());
  // The failed stream was closed before the new one was requested.
  const int close_at = LogIndex(host_, "close " + std::to_string(first_id));
  const int open_at = LogIndex(host_, "open " + std::to_string(second_id));
  ASSERT_GE(close_at, 0);
  EXPECT_LT(close_at, open_at);
}

TEST_F(BalancerTest, ReadyStateFollowsConnectingOpenConnectingOpen) {
  MakeBalancer(2);
  std::vector<ReadyState> states = {balancer().ready_state()};
  balancer().Start();
  states.push_back(balancer().ready_state());
  OpenActive();
  states.push_back(balancer().ready_state());
  FailActive();
  states.push_back(balancer().ready_state());
  OpenActive();
  states.push_back(balancer().ready_state());
  EXPECT_EQ(states, (std::vector<ReadyState>{
                        ReadyState::kConnecting, ReadyState::kConnecting,
                        ReadyState::kOpen, ReadyState::kConnecting,
                        ReadyState::kOpen}));
  EXPECT_EQ(host_.open_notices().size(), 2u);
}

// The browser would retry (EventSource CONNECTING) a stream that had opened:
// the server ended it or the connection dropped, reported as `closed`
// (failure_reason_test.cc maps every hint).
TEST_F(BalancerTest, DroppedStreamNotifiesErrorThenFailoverFromTo) {
  MakeBalancer(3);
  balancer().Start();
  const std::size_t from = LastEndpoint();
  OpenActive();
  FailActive(ConnectionError::kRetrying);
  const std::size_t to = LastEndpoint();
  EXPECT_NE(to, from);

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, from);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kClosed);
  // The page's error listener already sees CONNECTING.
  EXPECT_EQ(host_.error_notices()[0].ready_state, ReadyState::kConnecting);
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].ready_state, ReadyState::kConnecting);
  EXPECT_EQ(host_.failover_notices()[0].from, std::optional<std::size_t>(from));
  EXPECT_EQ(host_.failover_notices()[0].to, to);
  EXPECT_EQ(host_.failover_notices()[0].reason, FailureReason::kClosed);
  const int error_at =
      LogIndex(host_, "notify-error " + std::to_string(from) + " closed");
  ASSERT_GE(error_at, 0);
  EXPECT_LT(error_at,
            LogIndex(host_, "notify-failover " + std::to_string(from) + "->" +
                                std::to_string(to) + " closed"));
  EXPECT_EQ(balancer().active_endpoint(), to);
}

TEST_F(BalancerTest, BrowserGivingUpIsAnHttpFailure) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t from = LastEndpoint();
  OpenActive();
  FailActive(ConnectionError::kGaveUp);

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kHttp);
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].from, std::optional<std::size_t>(from));
  EXPECT_EQ(host_.failover_notices()[0].to, LastEndpoint());
  EXPECT_EQ(host_.failover_notices()[0].reason, FailureReason::kHttp);
  EXPECT_EQ(EndpointAt(from).counters.last_error, FailureReason::kHttp);
}

TEST_F(BalancerTest, RetryingTheOnlyEndpointIsNotAFailover) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  FailActive();
  host_.Advance(1000);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(LastEndpoint(), 0u);
  EXPECT_EQ(host_.error_notices().size(), 1u);
  EXPECT_TRUE(host_.failover_notices().empty());
}

TEST_F(BalancerTest, FailoverAfterARetryReportsTheLastFailure) {
  // a fails (network) -> b; b fails (http) -> all down; the retry at 1000
  // goes back to a and reports b -> a for http.
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  FailActive(ConnectionError::kRetrying);
  const std::size_t b = LastEndpoint();
  FailActive(ConnectionError::kGaveUp);
  host_.Advance(1000);
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(LastEndpoint(), a);
  ASSERT_EQ(host_.failover_notices().size(), 2u);
  const FailoverNotice& notice = host_.failover_notices()[1];
  EXPECT_EQ(notice.from, std::optional<std::size_t>(b));
  EXPECT_EQ(notice.to, a);
  EXPECT_EQ(notice.reason, FailureReason::kHttp);
}

// ---------------------------------------------------------------------------
// Cool-down

TEST_F(BalancerTest, FailedEndpointCoolsDownForItsBackoff) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  host_.Advance(300);
  FailActive();
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(a).health.cooldown_until_ms(), 1300);  // 300 + 1000
  EXPECT_EQ(EndpointAt(a).health.backoff_attempt(), 1);
}

TEST_F(BalancerTest, FailedEndpointIsNotPickedUntilItsCooldownPasses) {
  // Three endpoints a, b, c in the client's order. a fails at t=0 (cooling
  // until 1000) -> b; b opens but fails before any event at t=500 (an
  // ordinary failure) -> c, not a; c streams and its stream ends after
  // delivering an event (a healthy end): at t=999 a is still cooling down,
  // so c is taken again; at t=1000 a's cool-down has passed and it is a's
  // turn.
  for (const double end_at : {999.0, 1000.0}) {
    SCOPED_TRACE(end_at);
    ResetForNextRun();
    MakeBalancer(3);
    balancer().Start();
    const std::size_t a = LastEndpoint();
    FailActive();
    const std::size_t b = LastEndpoint();
    ASSERT_EQ(b, AfterInOrder(a));
    OpenActive();
    host_.AdvanceTo(500);
    FailActive();
    EXPECT_EQ(EndpointAt(b).state(), EndpointState::kCoolingDown);
    ASSERT_EQ(ConnectionCount(), 3u);
    const std::size_t c = LastEndpoint();
    EXPECT_EQ(c, AfterInOrder(a, 2));
    EXPECT_EQ(LastAttemptAt(), 500);
    OpenActive();
    ASSERT_EQ(Message("1"), static_cast<int>(c));
    host_.AdvanceTo(end_at);
    FailActive();
    ASSERT_EQ(ConnectionCount(), 4u);
    EXPECT_EQ(LastAttemptAt(), end_at);
    EXPECT_EQ(LastEndpoint(), end_at < 1000 ? c : a);
    EXPECT_FALSE(balancer().retry_pending());
    EXPECT_EQ(EndpointAt(b).state(), EndpointState::kCoolingDown);
  }
}

// ---------------------------------------------------------------------------
// Every endpoint down

TEST_F(BalancerTest, AllDownFollowsTheOutageScheduleWithExactBackoff) {
  // One endpoint, jitter 0: once it is down, each sweep (here one attempt)
  // follows the outage schedule from the previous attempt: 1000, 1600 ms,
  // then the 2000 ms cap (OutageDelayMs from initial_ms), not the
  // endpoint's own cool-downs (1000, 1600, 2560, 4096, ... ms).
  MakeBalancer(1);
  balancer().Start();
  const double expected_attempts[] = {0,    1000,  2600,  4600, 6600,
                                      8600, 10600, 12600, 14600};
  const double cooldowns[] = {1000,   1600,     2560,      4096,
                              6553.6, 10485.76, 16777.216, 26843.5456};
  for (int i = 1; i < 9; ++i) {
    SCOPED_TRACE(i);
    FailActive();
    EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
    EXPECT_TRUE(balancer().retry_pending());
    EXPECT_EQ(host_.open_ids().size(), 0u);
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_NEAR(host_.timers()[0].due_ms, expected_attempts[i], 1e-6);
    // The endpoint's own cool-down, from the failure; from the third round
    // on it runs past the sweep, which tries the endpoint all the same.
    EXPECT_NEAR(EndpointAt(0).health.cooldown_until_ms(),
                expected_attempts[i - 1] + cooldowns[i - 1], 1e-6);
    if (i >= 3) {
      EXPECT_GT(EndpointAt(0).health.cooldown_until_ms(), expected_attempts[i]);
    }
    host_.AdvanceTo(expected_attempts[i] - 1);
    EXPECT_EQ(ConnectionCount(), static_cast<std::size_t>(i));
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    ASSERT_EQ(ConnectionCount(), static_cast<std::size_t>(i) + 1);
    EXPECT_NEAR(host_.opened().back().at_ms, expected_attempts[i], 1e-6);
    EXPECT_FALSE(balancer().retry_pending());
  }
  EXPECT_TRUE(host_.open_notices().empty());
  for (const ErrorNotice& notice : host_.error_notices()) {
    EXPECT_EQ(notice.ready_state, ReadyState::kConnecting);
  }
}

TEST_F(BalancerTest, AllDownRoundsBackOffEvenIfAnEndpointHasCooledDown) {
  // a fails at 0 (cooling until 1000) -> b at once; b streams an event and
  // ends at 500 (a healthy end: b's backoff starts afresh) and is retried at
  // once (a still cools down); that attempt fails at 500 (cooling until
  // 1500): every endpoint is down. The first sweep is due 1000 ms after the
  // last attempt (1500): at 1000, when a has cooled down, nothing is
  // attempted. The sweep at 1500 tries a, then b at once (still cooling
  // down until 1500: every endpoint is tried), and the next sweep is due
  // 1600 ms after b's attempt.
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  FailActive();
  const std::size_t b = LastEndpoint();
  ASSERT_NE(b, a);
  OpenActive();
  ASSERT_EQ(Message("1"), static_cast<int>(b));
  host_.AdvanceTo(500);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(LastEndpoint(), b);
  EXPECT_EQ(LastAttemptAt(), 500);
  FailActive();
  EXPECT_EQ(EndpointAt(a).health.cooldown_until_ms(), 1000);
  EXPECT_EQ(EndpointAt(b).health.cooldown_until_ms(), 1500);
  EXPECT_EQ(EndpointAt(b).health.backoff_attempt(), 1);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 1500);
  host_.AdvanceTo(1000);
  EXPECT_EQ(ConnectionCount(), 3u);
  host_.AdvanceTo(1499);
  EXPECT_EQ(ConnectionCount(), 3u);
  EXPECT_LT(EndpointAt(a).health.cooldown_until_ms(), host_.now());
  host_.AdvanceTo(1500);
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_EQ(LastEndpoint(), a);
  host_.AdvanceTo(1600);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 5u);
  EXPECT_EQ(LastEndpoint(), b);
  EXPECT_EQ(LastAttemptAt(), 1600);
  FailActive();
  EXPECT_EQ(ConnectionCount(), 5u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 1600 + 1600);
}

TEST_F(BalancerTest, RoundDelayIsMeasuredFromTheAttemptNotTheFailure) {
  // Both endpoints down at 0; the sweep at 1000 tries a, which takes 100 ms
  // to fail, then b at 1100, which fails at 1200. The next sweep is due
  // 1600 ms after the last attempt: 2700, not 1200 + 1600.
  MakeBalancer(2);
  balancer().Start();
  FailActive();
  FailActive();
  host_.AdvanceTo(1000);
  ASSERT_EQ(ConnectionCount(), 3u);
  host_.Advance(100);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_EQ(LastAttemptAt(), 1100);
  host_.Advance(100);
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 2700);
  host_.AdvanceTo(2699);
  EXPECT_EQ(ConnectionCount(), 4u);
  host_.AdvanceTo(2700);
  EXPECT_EQ(ConnectionCount(), 5u);
}

TEST_F(BalancerTest, FloorIsMeasuredFromTheAttemptNotTheFailure) {
  // While everything is down, a resume starts a sweep at once only when
  // min_ms has passed since the last attempt: the sweep at 1000 tries b
  // last at 1050, which fails at 1200 (the next sweep due 1050 + 1600). A
  // resume at 1299 (99 ms after the failure, 249 after the attempt) moves
  // the sweep to 1300 (not 1450, the failure plus the floor, nor 2650, the
  // round); one at 1300 starts it at once. The sweep tries both endpoints,
  // and the next is due 2000 ms (the third round: the resume counted none)
  // after its last attempt.
  for (const double resume_at : {1299.0, 1300.0}) {
    SCOPED_TRACE(resume_at);
    ResetForNextRun();
    MakeBalancer(2);
    balancer().Start();
    FailActive();
    FailActive();
    host_.AdvanceTo(1000);
    ASSERT_EQ(ConnectionCount(), 3u);
    host_.AdvanceTo(1050);
    FailActive();
    ASSERT_EQ(ConnectionCount(), 4u);
    host_.AdvanceTo(1200);
    FailActive();
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_EQ(host_.timers()[0].due_ms, 2650);
    host_.AdvanceTo(resume_at);
    balancer().OnResume(true);
    if (resume_at < 1300) {
      EXPECT_EQ(ConnectionCount(), 4u);
      ASSERT_EQ(host_.timers().size(), 1u);
      EXPECT_EQ(host_.timers()[0].due_ms, 1300);
      host_.AdvanceTo(1300);
    }
    ASSERT_EQ(ConnectionCount(), 5u);
    EXPECT_EQ(LastAttemptAt(), 1300);
    EXPECT_FALSE(balancer().retry_pending());
    const std::size_t first = LastEndpoint();
    FailActive();
    ASSERT_EQ(ConnectionCount(), 6u);
    EXPECT_NE(LastEndpoint(), first);
    EXPECT_EQ(LastAttemptAt(), 1300);
    FailActive();
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_EQ(host_.timers()[0].due_ms, 1300 + 2000);
  }
}

TEST_F(BalancerTest, AllDownWithALargerFloorThanTheCooldown) {
  BalancerOptions options = ExactOptions();
  options.backoff.initial_ms = 100;
  options.backoff.min_ms = 700;
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  FailActive();
  host_.Advance(699);
  EXPECT_EQ(ConnectionCount(), 1u);
  host_.Advance(1);
  EXPECT_EQ(ConnectionCount(), 2u);
}

// Regression: the floor used to be checked as `now - last < min` while the
// timer was aimed at `last + min`; in floating point (L + m) - L can fall
// below m, which re-armed a 0 ms timer forever at the same instant.
TEST_F(BalancerTest, RetryDueAtTheFloorIsMadeWhenItsTimerFires) {
  // With a 100 ms initial backoff the first two outage rounds (100, 160 ms)
  // are floored at 250 ms, so their timers are aimed exactly at the last
  // attempt + min_ms, and a resume within the floor aims its timer at the
  // same sum: each sweep must start when its timer fires, without another
  // timer (a sweep found "too soon" would re-arm a 0 ms timer or cost a
  // longer round).
  BalancerOptions options = ExactOptions();
  options.backoff.initial_ms = 100;
  for (const double start : {0.1, 0.7, 1.0 / 3, 1234.567, 98765.4321}) {
    SCOPED_TRACE(start);
    ResetForNextRun();
    MakeBalancer(2, "round-robin", options);
    host_.Advance(start);
    balancer().Start();
    FailActive();
    FailActive();  // both down: the first sweep at start + 250
    std::size_t timers_before = host_.started_timers().size();
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    ASSERT_EQ(ConnectionCount(), 3u) << "no attempt at the first round";
    EXPECT_NEAR(LastAttemptAt(), start + 250, 1e-6);
    EXPECT_EQ(host_.started_timers().size(), timers_before);
    FailActive();
    ASSERT_EQ(ConnectionCount(), 4u);
    FailActive();  // the second round, floored too
    timers_before = host_.started_timers().size();
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    ASSERT_EQ(ConnectionCount(), 5u) << "no attempt at the second round";
    EXPECT_NEAR(LastAttemptAt(), start + 500, 1e-6);
    EXPECT_EQ(host_.started_timers().size(), timers_before);
    FailActive();
    ASSERT_EQ(ConnectionCount(), 6u);
    FailActive();  // the third round: 256 ms
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_NEAR(host_.timers()[0].due_ms, start + 756, 1e-6);
    // A resume 100 ms after the attempt: at the floor, start + 750.
    host_.AdvanceTo(LastAttemptAt() + 100);
    balancer().OnResume(true);
    EXPECT_EQ(ConnectionCount(), 6u);
    timers_before = host_.started_timers().size();
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    ASSERT_EQ(ConnectionCount(), 7u) << "no attempt at the floor";
    EXPECT_NEAR(LastAttemptAt(), start + 750, 1e-6);
    EXPECT_EQ(host_.started_timers().size(), timers_before);
  }
}

// Fails every attempt as soon as it is made, alternating network and HTTP
// failures, until the fake clock passes `until_ms` (the attempt that gets
// there is failed too).
class OutageTest : public BalancerTest {
 protected:
  void FailEveryAttemptUntil(double until_ms) {
    int steps = 0;
    while (host_.now() < until_ms || !host_.open_ids().empty()) {
      ASSERT_LT(++steps, 200000) << "no progress at t=" << host_.now();
      if (!host_.open_ids().empty()) {
        FailActive(steps % 2 == 0 ? ConnectionError::kGaveUp
                                  : ConnectionError::kRetrying);
        continue;
      }
      ASSERT_EQ(balancer().ready_state(), ReadyState::kConnecting);
      ASSERT_TRUE(balancer().retry_pending());
      ASSERT_TRUE(host_.AdvanceToNextTimer());
    }
  }

  std::vector<int> AttemptsPerMinute(double until_ms) const {
    std::vector<int> counts(static_cast<std::size_t>(until_ms / 60000), 0);
    for (const OpenedConnection& attempt : host_.opened()) {
      const auto minute = static_cast<std::size_t>(attempt.at_ms / 60000);
      if (minute < counts.size()) ++counts[minute];
    }
    return counts;
  }
};

// The outage schedule's base delay before sweep `round` + 1, unjittered.
double OutageBase(const BackoffOptions& backoff, std::size_t round) {
  return OutageDelayMs(backoff, static_cast<int>(round), 0.5);
}

// Checks the attempt times of a client (`options`) whose `endpoints` all
// failed every attempt as it was made, from t=0: the failovers at t=0 try
// every endpoint; then each round tries min(kOutageSweepSize, endpoints) at
// one instant, OutageDelayMs(round) (+/-20 % x jitter) after the previous
// attempt, or once more than kPaceAboveBudgetShare of the retry budget is used,
// at least the budget's pace (round size x window / limit, jittered alike). The
// budget is never exceeded; when it refuses, the attempt (which continues the
// round) is made when it allows again plus up to initial_ms x jitter.
// Returns how many attempts the budget held.
std::size_t ExpectOutageSchedule(const std::vector<double>& times,
                                 std::size_t endpoints,
                                 const BalancerOptions& options) {
  constexpr double kWindowMs = 60000;
  const BackoffOptions& backoff = options.backoff;
  const std::size_t limit = options.max_connects_per_minute;
  const std::size_t round_size = std::min(kOutageSweepSize, endpoints);
  std::size_t held = 0;
  EXPECT_GT(times.size(), endpoints);
  for (std::size_t i = 0; i < endpoints && i < times.size(); ++i) {
    EXPECT_EQ(times[i], 0) << "attempt " << i;
  }
  for (std::size_t i = endpoints; i < times.size(); ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i) + " at " +
                 std::to_string(times[i]));
    const bool budget_full = limit != 0 && i >= limit;
    if (budget_full) {
      EXPECT_GE(times[i], times[i - limit] + kWindowMs) << "over the budget";
    }
    const bool held_by_budget =
        budget_full && times[i] >= times[i - limit] + kWindowMs &&
        times[i] < times[i - limit] + kWindowMs +
                       backoff.initial_ms * backoff.jitter + kRounding;
    const double gap = times[i] - times[i - 1];
    if ((i - endpoints) % round_size != 0) {
      // Within a round: at once, unless the budget held it.
      if (gap != 0) {
        EXPECT_TRUE(held_by_budget) << "gap " << gap << " within a round";
        ++held;
      }
      continue;
    }
    const int round = static_cast<int>((i - endpoints) / round_size);
    double low = OutageDelayMs(backoff, round, 0);
    double high = OutageDelayMs(backoff, round, 1);
    if (limit != 0) {
      std::size_t used = 0;
      for (std::size_t j = 0; j < i; ++j) {
        if (times[j] > times[i - 1] - kWindowMs) ++used;
      }
      used = std::min(used, limit);
      if (static_cast<double>(used) >
          kPaceAboveBudgetShare * static_cast<double>(limit)) {
        const double pace = kWindowMs * static_cast<double>(round_size) /
                            static_cast<double>(limit);
        low = std::max(low, pace * (1 - 0.2 * backoff.jitter));
        high = std::max(high, pace * (1 + 0.2 * backoff.jitter));
      }
    }
    EXPECT_GE(gap, backoff.min_ms - kRounding);
    EXPECT_GE(gap, low - kRounding);
    if (gap > high + kRounding) {
      EXPECT_TRUE(held_by_budget) << "gap " << gap << " > " << high;
      ++held;
    }
  }
  return held;
}

TEST_F(OutageTest, TenMinutesWithFullJitterNeverRetryFasterThanTheFloor) {
  // The library defaults: full jitter, floor 250 ms, 60 attempts a minute.
  // Every attempt fails as it is made: the rounds (three attempts each, one
  // per endpoint) are never closer than the floor or the jittered round,
  // the budget is never exceeded, and past kPaceAboveBudgetShare of it the
  // rounds slow to its pace (3 x 60000 / 60 = 3 s, +/-20 %).
  constexpr std::size_t kEndpoints = 3;
  constexpr double kTenMinutes = 10 * 60000;
  BalancerOptions options;
  ASSERT_EQ(options.max_connects_per_minute, 60u);
  MakeBalancer(kEndpoints, "round-robin", options, /*seed=*/2024);
  balancer().Start();
  FailEveryAttemptUntil(kTenMinutes);

  const auto& attempts = host_.opened();
  std::vector<double> times;
  for (const OpenedConnection& attempt : attempts) {
    times.push_back(attempt.at_ms);
  }
  ExpectOutageSchedule(times, kEndpoints, options);
  // Each round tries every endpoint once.
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    for (std::size_t j = i - i % kEndpoints; j < i; ++j) {
      ASSERT_NE(attempts[j].endpoint, attempts[i].endpoint) << "attempt " << i;
    }
  }
  // It keeps trying at about the budget's pace: 60 / 1.2 to 60 a minute.
  const std::vector<int> per_minute = AttemptsPerMinute(kTenMinutes);
  for (std::size_t minute = 0; minute < per_minute.size(); ++minute) {
    EXPECT_LE(per_minute[minute], 60) << "minute " << minute;
    EXPECT_GE(per_minute[minute], 48) << "minute " << minute;
  }
  EXPECT_TRUE(host_.open_notices().empty());
  EXPECT_EQ(host_.error_notices().size(), attempts.size());
}

TEST_F(OutageTest, TenMinutesWithoutJitterSettleAtOneRoundPerCap) {
  // Three endpoints, jitter 0, no budget. The first sweep finds all three
  // down at t=0; from then on every sweep tries all three at one instant,
  // 1000, 1600, then 2000 ms (max_outage_ms) after the previous one,
  // whatever the endpoints' own cool-downs (longer, up to 30 s), in the
  // client's order.
  constexpr std::size_t kEndpoints = 3;
  constexpr double kTenMinutes = 10 * 60000;
  MakeBalancer(kEndpoints);  // jitter 0
  balancer().Start();
  const std::size_t first = LastEndpoint();
  FailEveryAttemptUntil(kTenMinutes);

  const BackoffOptions defaults;
  ASSERT_EQ(defaults.max_outage_ms, 2000);
  const auto& attempts = host_.opened();
  ASSERT_GT(attempts.size(), kEndpoints);
  ASSERT_EQ(attempts.size() % kEndpoints, 0u);
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    SCOPED_TRACE("attempt " + std::to_string(i));
    EXPECT_EQ(attempts[i].endpoint, AfterInOrder(first, i));
    const std::size_t sweep = i / kEndpoints;
    const double expected_at =
        sweep == 0 ? 0
                   : 1000 + (sweep >= 2 ? 1600 : 0) +
                         2000 * static_cast<double>(sweep >= 2 ? sweep - 2 : 0);
    ASSERT_NEAR(attempts[i].at_ms, expected_at, 1e-6);
  }
  // Each endpoint is retried every sweep: at the cap, every 2 s, although
  // its own cool-down has grown to 30 s.
  for (std::size_t e = 0; e < kEndpoints; ++e) {
    std::vector<double> times;
    for (const OpenedConnection& attempt : attempts) {
      if (EndpointOfUrl(attempt.url) == e) times.push_back(attempt.at_ms);
    }
    ASSERT_GE(times.size(), 10u);
    EXPECT_NEAR(times.back() - times[times.size() - 2], 2000, 1e-6)
        << "endpoint " << e;
    EXPECT_EQ(EndpointAt(e).health.cooldown_until_ms() -
                  EndpointAt(e).counters.last_error_at_ms,
              30000)
        << "endpoint " << e;
  }
  // The sweeps reach the 2 s cap at the third (at 4.6 s). From the second
  // minute on, the client makes exactly 30 sweeps a minute.
  const std::vector<int> per_minute = AttemptsPerMinute(kTenMinutes);
  for (std::size_t minute = 1; minute < per_minute.size(); ++minute) {
    EXPECT_EQ(per_minute[minute], 30 * static_cast<int>(kEndpoints))
        << "minute " << minute;
  }
}

// ---------------------------------------------------------------------------
// Retry rounds while every endpoint is down

// The attempt times of a client of `endpoints` endpoints whose every
// attempt fails at once, until the clock passes `until_ms`.
std::vector<double> AttemptTimesWhenEverythingFails(std::size_t endpoints,
                                                    BalancerOptions options,
                                                    double until_ms) {
  FakeHost host;
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < endpoints; ++i) {
    urls.push_back("http://127.0.0.1:" + std::to_string(9000 + i) + "/events");
  }
  Balancer balancer(std::move(urls), std::move(options),
                    MakePolicy("round-robin"), host);
  host.set_balancer(&balancer);
  balancer.Start();
  int steps = 0;
  while (host.now() < until_ms && ++steps < 100000) {
    if (balancer.active_connection() != 0) {
      balancer.OnError(balancer.active_connection(),
                       ConnectionError::kRetrying);
    } else if (!host.AdvanceToNextTimer()) {
      ADD_FAILURE() << "no retry pending at t=" << host.now();
      break;
    }
  }
  EXPECT_TRUE(host.host_errors().empty()) << host.host_errors().front();
  EXPECT_LE(host.max_open(), 1u);
  std::vector<double> times;
  for (const OpenedConnection& attempt : host.opened()) {
    times.push_back(attempt.at_ms);
  }
  return times;
}

TEST_F(BalancerTest, WithoutJitterAllDownRoundsWait1000Then1600Then2000) {
  // Ten endpoints, jitter 0, all found down at t=0. Each round tries
  // kOutageSweepSize of them at one instant (the next as soon as the
  // previous fails), continuing through the list in the client's order (each
  // endpoint once per pass), 1000 x 1.6^round ms after the previous attempt,
  // capped at max_outage_ms (2 s), whatever the endpoints' cool-downs.
  constexpr std::size_t kEndpoints = 10;
  constexpr std::size_t kRoundSize = kOutageSweepSize;
  ASSERT_LT(kRoundSize, kEndpoints);
  MakeBalancer(kEndpoints);
  balancer().Start();
  const std::size_t first = LastEndpoint();
  for (std::size_t i = 1; i < kEndpoints; ++i) FailActive();
  ASSERT_EQ(ConnectionCount(), kEndpoints);
  FailActive();
  const double expected_gaps[] = {1000, 1600, 2000, 2000, 2000, 2000,
                                  2000, 2000, 2000, 2000, 2000, 2000};
  for (std::size_t round = 0; round < std::size(expected_gaps); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const double last = LastAttemptAt();
    const std::size_t before = kEndpoints + round * kRoundSize;
    ASSERT_TRUE(balancer().retry_pending());
    ASSERT_EQ(host_.timers().size(), 1u);
    EXPECT_NEAR(host_.timers()[0].due_ms - last, expected_gaps[round], 1e-6);
    host_.AdvanceTo(host_.timers()[0].due_ms - 1);
    ASSERT_EQ(ConnectionCount(), before);
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    for (std::size_t i = 0; i < kRoundSize; ++i) {
      ASSERT_EQ(ConnectionCount(), before + i + 1);
      EXPECT_NEAR(LastAttemptAt() - last, expected_gaps[round], 1e-6);
      EXPECT_EQ(LastEndpoint(), AfterInOrder(first, before + i));
      FailActive();
    }
    EXPECT_EQ(ConnectionCount(), before + kRoundSize);
  }
  // Without jitter the timing does not depend on the seed: two clients
  // with different orders retry at the same instants. The jitter is what
  // takes them apart (next test).
  EXPECT_EQ(AttemptTimesWhenEverythingFails(kEndpoints, ExactOptions(), 6e5),
            [] {
              BalancerOptions other = ExactOptions();
              other.seed = 99;
              return AttemptTimesWhenEverythingFails(kEndpoints, other, 6e5);
            }());
}

// 50 clients with different seeds (`budget` attempts a minute, 0 =
// unlimited; otherwise the library defaults: full jitter) lose all ten
// endpoints at t=0 and keep failing for 10 minutes, each on the outage
// schedule (ExpectOutageSchedule). After t=0 no two clients ever attempt at
// the same instant.
void ExpectClientsThatLoseEverythingTogetherDriftApart(std::size_t budget) {
  constexpr std::size_t kEndpoints = 10;
  constexpr std::size_t kClients = 50;
  std::map<double, std::size_t> client_at;  // instant -> first client there
  std::size_t shared = 0;
  std::size_t held = 0;
  for (std::size_t client = 0; client < kClients; ++client) {
    SCOPED_TRACE("client " + std::to_string(client));
    BalancerOptions options;
    options.seed = client + 1;
    options.max_connects_per_minute = budget;
    const std::vector<double> times =
        AttemptTimesWhenEverythingFails(kEndpoints, options, 6e5);
    ASSERT_GT(times.size(), 10 * kEndpoints);
    held += ExpectOutageSchedule(times, kEndpoints, options);
    for (std::size_t i = 1; i < times.size(); ++i) {
      if (times[i] == times[i - 1]) continue;  // the same round
      const auto [it, inserted] = client_at.emplace(times[i], client);
      if (!inserted && it->second != client) {
        ++shared;
        ADD_FAILURE() << "clients " << it->second << " and " << client
                      << " both attempt at t=" << times[i];
      }
    }
  }
  EXPECT_EQ(shared, 0u);
  if (budget == 0) EXPECT_EQ(held, 0u);
}

TEST(RetryRoundTest, ClientsThatLoseEverythingTogetherDriftApart) {
  // Each endpoint's cool-down is floored at min_ms, so with ten endpoints
  // the earliest cool-down end is often the floor: if the balancer waited
  // only for that, clients that lost everything at the same instant would
  // retry together. The outage sweeps back off and jitter on their own.
  // Here the sweeps alone, without a retry budget.
  ExpectClientsThatLoseEverythingTogetherDriftApart(/*budget=*/0);
}

// The same with the library's default retry budget (60 attempts a minute):
// past kPaceAboveBudgetShare of it the rounds slow to its pace, jittered, and
// when it does refuse, the clients are let go at a random time up to initial_ms
// after it allows again, so that the budget does not put back in step the
// clients the jitter took apart.
TEST(RetryRoundTest, ClientsThatLoseEverythingTogetherDriftApartWithBudget) {
  ExpectClientsThatLoseEverythingTogetherDriftApart(
      BalancerOptions{}.max_connects_per_minute);
}

TEST_F(BalancerTest, RoundsStartAgainAfterAConnectionOpens) {
  // Three endpoints f, g, h (the client's order), jitter 0. All down at 0;
  // sweeps at 1000 and 2600: f opens at 2600. It drops at 2610 before any
  // event (an ordinary failure); g and h have cooled down (until 2600) and
  // are tried at once, and fail: all down again. The first sweep after the
  // open is back to 1000 ms (3610; without the reset the third round would
  // wait 2000 ms, to 4610), then 1600 and 2000 ms again.
  MakeBalancer(3);
  balancer().Start();
  const std::size_t f = LastEndpoint();
  FailActive();
  FailActive();
  FailActive();
  ASSERT_TRUE(host_.AdvanceToNextTimer());
  FailActive();
  FailActive();
  FailActive();
  ASSERT_TRUE(host_.AdvanceToNextTimer());
  ASSERT_EQ(ConnectionCount(), 7u);
  EXPECT_EQ(LastAttemptAt(), 2600);
  EXPECT_EQ(LastEndpoint(), f);
  OpenActive();
  EXPECT_FALSE(balancer().retry_pending());
  host_.Advance(10);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 8u);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 9u);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 9u);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    FailActive();
    FailActive();
    FailActive();
  }
  std::vector<double> times;
  std::vector<std::size_t> endpoints;
  for (const OpenedConnection& attempt : host_.opened()) {
    times.push_back(attempt.at_ms);
    endpoints.push_back(attempt.endpoint);
  }
  const std::vector<double> expected = {0,    0,    0,    1000, 1000, 1000,
                                        2600, 2610, 2610, 3610, 3610, 3610,
                                        5210, 5210, 5210, 7210, 7210, 7210};
  ASSERT_EQ(times.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(times[i], expected[i], 1e-6) << "attempt " << i;
    EXPECT_EQ(endpoints[i], AfterInOrder(f, i)) << "attempt " << i;
  }
}

TEST_F(BalancerTest, RoundsStartAgainWhenBackOnline) {
  // Three endpoints, jitter 0. All down at 0; sweeps at 1000 and 2600; the
  // next is due at 4600. Offline at 3000, online at 3100: every endpoint is
  // tried at once and fails; the first sweep is back to 1000 ms (4100;
  // without the reset the third round would wait 2000 ms, to 5100), then
  // 1600 and 2000 ms.
  MakeBalancer(3);
  balancer().Start();
  FailActive();
  FailActive();
  FailActive();
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    FailActive();
    FailActive();
    FailActive();
  }
  ASSERT_EQ(ConnectionCount(), 9u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 4600);
  host_.AdvanceTo(3000);
  balancer().OnOffline();
  host_.AdvanceTo(3100);
  balancer().OnOnline();
  FailActive();
  FailActive();
  FailActive();
  ASSERT_EQ(ConnectionCount(), 12u);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(host_.AdvanceToNextTimer());
    FailActive();
    FailActive();
    FailActive();
  }
  std::vector<double> times;
  for (const OpenedConnection& attempt : host_.opened()) {
    times.push_back(attempt.at_ms);
  }
  const std::vector<double> expected = {
      0,    0,    0,    1000, 1000, 1000, 2600, 2600, 2600, 3100, 3100,
      3100, 4100, 4100, 4100, 5700, 5700, 5700, 7700, 7700, 7700};
  ASSERT_EQ(times.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(times[i], expected[i], 1e-6) << "attempt " << i;
  }
}

// ---------------------------------------------------------------------------
// Recovery and backoff reset

TEST_F(BalancerTest, RecoversWhenAnEndpointOpensAgain) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  FailActive();
  const std::size_t b = LastEndpoint();
  FailActive();
  host_.Advance(1000);
  ASSERT_EQ(LastEndpoint(), a);
  OpenActive();

  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  EXPECT_FALSE(balancer().retry_pending());
  ASSERT_EQ(host_.open_notices().size(), 1u);
  EXPECT_EQ(host_.open_notices()[0].endpoint, a);

  // Once a stream opened, a failure fails over at once again: b (cooled down
  // since 1000) is tried 10 ms after the previous attempt, inside the floor.
  host_.Advance(10);
  FailActive();
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_EQ(LastEndpoint(), b);
  EXPECT_EQ(host_.opened().back().at_ms, 1010);
}

TEST_F(BalancerTest, BackoffResetsOnlyAfterTheStreamLastedResetAfterMs) {
  MakeBalancer(1);
  const Endpoint& endpoint = EndpointAt(0);
  balancer().Start();
  OpenActive();
  FailActive();  // t=0, attempt 0: 1000
  EXPECT_EQ(endpoint.health.cooldown_until_ms(), 1000);

  host_.Advance(1000);
  OpenActive();
  host_.Advance(59999);  // one ms short of reset_after_ms
  FailActive();          // t=60999, attempt 1: 1600
  EXPECT_EQ(endpoint.health.cooldown_until_ms(), 60999 + 1600);
  EXPECT_EQ(endpoint.health.backoff_attempt(), 2);

  host_.Advance(1600);
  ASSERT_EQ(ConnectionCount(), 3u);
  OpenActive();
  host_.Advance(60000);  // exactly reset_after_ms
  FailActive();          // t=122599: reset, attempt 0 again: 1000
  EXPECT_EQ(endpoint.health.cooldown_until_ms(), 122599 + 1000);
  EXPECT_EQ(endpoint.health.backoff_attempt(), 1);
}

TEST_F(BalancerTest, LongConnectingWithoutOpenDoesNotResetBackoff) {
  MakeBalancer(1);
  const Endpoint& endpoint = EndpointAt(0);
  balancer().Start();
  FailActive();  // 1000
  host_.Advance(1000);
  host_.Advance(100000);  // never opens
  FailActive();           // t=101000, attempt 1: 1600
  EXPECT_EQ(endpoint.health.cooldown_until_ms(), 101000 + 1600);
}

// ---------------------------------------------------------------------------
// Last event id on the next connection

TEST_F(BalancerTest, LastEventIdIsCarriedToTheNextConnection) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  EXPECT_EQ(LastUrl(), Url(a));
  OpenActive();
  EXPECT_EQ(Message("6"), static_cast<int>(a));
  EXPECT_EQ(Message("7"), static_cast<int>(a));
  EXPECT_EQ(balancer().last_event_id(), "7");
  FailActive();
  const std::size_t b = LastEndpoint();
  EXPECT_EQ(LastUrl(), Url(b) + "?lastEventId=7");

  // Events without an id do not change the resume point.
  OpenActive();
  EXPECT_EQ(Message(""), static_cast<int>(b));
  host_.Advance(5000);
  FailActive();
  EXPECT_EQ(LastUrl(), Url(a) + "?lastEventId=7");
}

TEST_F(BalancerTest, LastEventIdIsPercentEncoded) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  Message("a b/c&d");
  FailActive();
  EXPECT_EQ(LastUrl(), Url(LastEndpoint()) + "?lastEventId=a%20b%2Fc%26d");
}

TEST_F(BalancerTest, LastEventIdUsesACustomParamName) {
  BalancerOptions options = ExactOptions();
  options.last_event_id_param = "since";
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  OpenActive();
  Message("7");
  FailActive();
  EXPECT_EQ(LastUrl(), Url(LastEndpoint()) + "?since=7");
}

TEST_F(BalancerTest, EmptyParamNameDisablesTheLastEventIdParam) {
  BalancerOptions options = ExactOptions();
  options.last_event_id_param = "";
  options.initial_last_event_id = "3";
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  EXPECT_EQ(LastUrl(), Url(LastEndpoint()));
  OpenActive();
  Message("7");
  FailActive();
  EXPECT_EQ(LastUrl(), Url(LastEndpoint()));
  // Dedup still works without the param.
  OpenActive();
  EXPECT_EQ(Message("7"), kDropEvent);
}

TEST_F(BalancerTest, LastEventIdKeepsTheEndpointsOwnQueryAndFragment) {
  const std::string urls[] = {
      "http://127.0.0.1:9000/events?topic=a&lastEventId=stale#frag",
      "http://127.0.0.1:9001/events?topic=b",
  };
  const std::string with_id[] = {
      "http://127.0.0.1:9000/events?topic=a&lastEventId=7#frag",
      "http://127.0.0.1:9001/events?topic=b&lastEventId=7",
  };
  BalancerOptions options = ExactOptions();
  options.seed = 1;
  MakeBalancerWithUrls({urls[0], urls[1]}, "round-robin", options);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  EXPECT_EQ(LastUrl(), urls[a]);  // nothing to carry yet: URL untouched
  OpenActive();
  Message("7");
  FailActive();
  const std::size_t b = LastEndpoint();
  EXPECT_EQ(LastUrl(), with_id[b]);
  OpenActive();
  host_.Advance(5000);
  FailActive();
  EXPECT_EQ(LastEndpoint(), a);
  EXPECT_EQ(LastUrl(), with_id[a]);
}

TEST_F(BalancerTest, InitialLastEventIdResumesTheFirstConnection) {
  BalancerOptions options = ExactOptions();
  options.initial_last_event_id = "41";
  MakeBalancer(2, "round-robin", options);
  EXPECT_EQ(balancer().last_event_id(), "41");
  balancer().Start();
  const std::size_t a = LastEndpoint();
  EXPECT_EQ(LastUrl(), Url(a) + "?lastEventId=41");
  OpenActive();
  EXPECT_EQ(Message("41"), kDropEvent);  // the server replays the resume point
  EXPECT_EQ(Message("42"), static_cast<int>(a));
  EXPECT_EQ(EndpointAt(a).counters.duplicates, 1u);
  EXPECT_EQ(EndpointAt(a).counters.messages, 1u);
}

// ---------------------------------------------------------------------------
// Duplicates

// Opaque (non-numeric) ids; numeric ids that go back below the resume id
// mean a restarted log instead (event_id_test.cc).
TEST_F(BalancerTest, ReplayedIdsAreDroppedAfterFailover) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  EXPECT_EQ(Message("e1"), static_cast<int>(a));
  EXPECT_EQ(Message("e2"), static_cast<int>(a));
  EXPECT_EQ(Message("e3"), static_cast<int>(a));
  FailActive();
  const std::size_t b = LastEndpoint();
  OpenActive();
  // The new server replays from an earlier point.
  EXPECT_EQ(Message("e2"), kDropEvent);
  EXPECT_EQ(Message("e3"), kDropEvent);
  EXPECT_EQ(Message("e4"), static_cast<int>(b));
  EXPECT_EQ(Message("e5"), static_cast<int>(b));

  EXPECT_EQ(balancer().last_event_id(), "e5");
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(EndpointAt(a).counters.messages, 3u);
  EXPECT_EQ(EndpointAt(a).counters.duplicates, 0u);
  EXPECT_EQ(EndpointAt(b).counters.messages, 2u);
  EXPECT_EQ(EndpointAt(b).counters.duplicates, 2u);
}

// Opaque ids; a numeric id going backwards is a restarted log instead.
TEST_F(BalancerTest, AnIdSeenEarlierOnTheSameConnectionIsDropped) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("a"), 0);
  EXPECT_EQ(Message("b"), 0);
  EXPECT_EQ(Message("a"), kDropEvent);
  EXPECT_EQ(balancer().last_event_id(), "b");
  EXPECT_EQ(balancer().id_resets(), 0u);
}

TEST_F(BalancerTest, EventsWithoutANewIdAreDelivered) {
  MakeBalancer(2);
  balancer().Start();
  const int a = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message(""), a);  // no id at all
  EXPECT_EQ(Message("5"), a);
  EXPECT_EQ(Message("5"), a);  // no id field: the browser repeats the last
  EXPECT_EQ(Message("5"), a);
  EXPECT_EQ(Message(""), a);  // `id:` with no value resets it
  EXPECT_EQ(Message(""), a);
  EXPECT_EQ(EndpointAt(a).counters.messages, 6u);
  EXPECT_EQ(EndpointAt(a).counters.duplicates, 0u);
  // As in EventSource, `id:` with no value leaves no id to resume from.
  EXPECT_EQ(balancer().last_event_id(), "");

  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  EXPECT_EQ(LastUrl(), EndpointAt(b).url);  // nothing to carry
  OpenActive();
  EXPECT_EQ(Message(""), b);
  EXPECT_EQ(Message("5"), kDropEvent);  // replayed id
  EXPECT_EQ(Message("5"), b);           // next event, no id of its own
  EXPECT_EQ(Message("6"), b);
  EXPECT_EQ(EndpointAt(b).counters.messages, 3u);
  EXPECT_EQ(EndpointAt(b).counters.duplicates, 1u);
}

// An event without an id on a new connection keeps the balancer's last id;
// the first id-less event of a connection does not reset it.
TEST_F(BalancerTest, TheLastIdPersistsAcrossReconnections) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  Message("7");
  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message(""), b);
  EXPECT_EQ(Message(""), b);
  EXPECT_EQ(balancer().last_event_id(), "7");
  EXPECT_EQ(Message("8"), b);
  EXPECT_EQ(Message(""), b);  // `id:` reset on this connection
  EXPECT_EQ(balancer().last_event_id(), "");
}

TEST_F(BalancerTest, DedupRemembersOnlyTheWindow) {
  BalancerOptions options = ExactOptions();
  options.dedup_window = 2;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  OpenActive();
  Message("a");
  Message("b");
  Message("c");
  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message("a"), b);  // forgotten: delivered again
  EXPECT_EQ(Message("c"), kDropEvent);
}

TEST_F(BalancerTest, DedupWindowZeroDeliversReplays) {
  BalancerOptions options = ExactOptions();
  options.dedup_window = 0;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  OpenActive();
  Message("1");
  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message("1"), b);
  EXPECT_EQ(EndpointAt(b).counters.duplicates, 0u);
}

// ---------------------------------------------------------------------------
// Stale callbacks

TEST_F(BalancerTest, EventsFromAClosedConnectionAreDropped) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  const ConnectionId old_id = LastConnectionId();
  OpenActive();
  Message("1");
  FailActive();
  OpenActive();

  EXPECT_EQ(balancer().OnMessage(old_id, "2"), std::nullopt);
  EXPECT_EQ(balancer().OnMessage(old_id, ""), std::nullopt);
  EXPECT_EQ(EndpointAt(a).counters.messages, 1u);
  EXPECT_EQ(balancer().last_event_id(), "1");
  // The stale event did not enter the dedup memory either.
  EXPECT_EQ(Message("2"), static_cast<int>(LastEndpoint()));
}

TEST_F(BalancerTest, StaleOpenAndErrorFromAnOldConnectionAreIgnored) {
  MakeBalancer(3);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  const ConnectionId old_id = LastConnectionId();
  FailActive();
  const std::size_t b = LastEndpoint();
  const std::size_t log_size = host_.log().size();

  balancer().OnOpen(old_id);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(a).counters.opens, 0u);
  EXPECT_EQ(EndpointAt(b).state(), EndpointState::kConnecting);

  balancer().OnError(old_id, ConnectionError::kGaveUp);
  EXPECT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(EndpointAt(a).counters.failures, 1u);
  EXPECT_EQ(EndpointAt(b).counters.failures, 0u);
  EXPECT_EQ(balancer().active_endpoint(), b);

  EXPECT_EQ(host_.log().size(), log_size)
      << "a stale callback reached the host";
}

TEST_F(BalancerTest, UnknownConnectionAndTimerIdsAreIgnored) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  const std::size_t log_size = host_.log().size();
  for (ConnectionId id : {0u, 999u}) {
    balancer().OnOpen(id);
    EXPECT_EQ(balancer().OnMessage(id, "x"), std::nullopt);
    for (ConnectionError hint :
         {ConnectionError::kRetrying, ConnectionError::kGaveUp,
          ConnectionError::kNoUrl}) {
      balancer().OnError(id, hint);
    }
  }
  balancer().OnTimer(0);
  balancer().OnTimer(999);
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kOpen);
  EXPECT_EQ(ConnectionCount(), 1u);
}

TEST_F(BalancerTest, AFiredTimerDoesNotFireTwice) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  const TimerId timer = host_.timers()[0].id;
  host_.Advance(1000);
  ASSERT_EQ(ConnectionCount(), 2u);
  balancer().OnTimer(timer);
  EXPECT_EQ(ConnectionCount(), 2u);
}

// ---------------------------------------------------------------------------
// Close

TEST_F(BalancerTest, CloseClosesTheOpenConnection) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  const ConnectionId id = LastConnectionId();
  OpenActive();
  balancer().Close();

  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  EXPECT_EQ(host_.closed(), std::vector<ConnectionId>{id});
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_EQ(balancer().active_endpoint(), std::nullopt);
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kIdle);
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_TRUE(host_.timers().empty());
}

TEST_F(BalancerTest, CloseWhileConnectingClosesTheAttempt) {
  MakeBalancer(2);
  balancer().Start();
  balancer().Close();
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_EQ(host_.closed().size(), 1u);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
}

TEST_F(BalancerTest, CloseCancelsThePendingRetry) {
  MakeBalancer(1);
  balancer().Start();
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  const TimerId timer = host_.timers()[0].id;
  balancer().Close();

  EXPECT_EQ(host_.cancelled_timers(), std::vector<TimerId>{timer});
  EXPECT_TRUE(host_.timers().empty());
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  // The closed connection is not closed twice.
  EXPECT_EQ(host_.closed().size(), 1u);
  // Even if the host delivered the cancelled timer anyway.
  balancer().OnTimer(timer);
  host_.Advance(10 * 60000);
  EXPECT_EQ(ConnectionCount(), 1u);
  EXPECT_EQ(host_.started_timers().size(), 1u);
}

TEST_F(BalancerTest, CallbacksAfterCloseDoNothing) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  const ConnectionId id = LastConnectionId();
  OpenActive();
  EXPECT_EQ(Message("1"), static_cast<int>(a));
  balancer().Close();
  const std::size_t log_size = host_.log().size();
  const EndpointCounters before = EndpointAt(a).counters;

  balancer().OnOpen(id);
  EXPECT_EQ(balancer().OnMessage(id, "2"), std::nullopt);
  EXPECT_EQ(balancer().OnMessage(id, ""), std::nullopt);
  for (ConnectionError hint :
       {ConnectionError::kRetrying, ConnectionError::kGaveUp,
        ConnectionError::kNoUrl}) {
    balancer().OnError(id, hint);
  }
  balancer().OnTimer(1);
  balancer().Start();
  balancer().OnOffline();
  balancer().OnOnline();
  balancer().OnResume(false);
  balancer().OnResume(true);
  host_.Advance(60000);

  EXPECT_EQ(host_.log().size(), log_size) << "the host was called after Close";
  EXPECT_EQ(ConnectionCount(), 1u);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  EXPECT_EQ(balancer().last_event_id(), "1");
  const EndpointCounters& after = EndpointAt(a).counters;
  EXPECT_EQ(after.opens, before.opens);
  EXPECT_EQ(after.messages, before.messages);
  EXPECT_EQ(after.failures, before.failures);
}

TEST_F(BalancerTest, CloseIsIdempotent) {
  MakeBalancer(1);
  balancer().Start();
  balancer().Close();
  const std::size_t log_size = host_.log().size();
  balancer().Close();
  EXPECT_EQ(host_.log().size(), log_size);
  EXPECT_EQ(host_.closed().size(), 1u);
}

TEST_F(BalancerTest, StartAfterCloseOpensNothing) {
  MakeBalancer(2);
  balancer().Close();
  balancer().Start();
  EXPECT_EQ(ConnectionCount(), 0u);
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
}

// ---------------------------------------------------------------------------
// Close() from inside a notification (a page listener calling es.close())

TEST_F(BalancerTest, CloseInsideNotifyErrorStopsTheFailover) {
  MakeBalancer(2);
  host_.set_close_on_error(true);
  balancer().Start();
  OpenActive();
  FailActive();

  EXPECT_EQ(ConnectionCount(), 1u);
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_TRUE(host_.timers().empty());
  EXPECT_TRUE(host_.failover_notices().empty());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  EXPECT_EQ(balancer().active_endpoint(), std::nullopt);
}

TEST_F(BalancerTest, CloseInsideNotifyErrorWhenAllDownSchedulesNothing) {
  MakeBalancer(1);
  host_.set_close_on_error(true);
  balancer().Start();
  FailActive();

  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_TRUE(host_.started_timers().empty());
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
}

TEST_F(BalancerTest, CloseInsideNotifyFailoverClosesTheNewConnection) {
  MakeBalancer(2);
  host_.set_close_on_failover(true);
  balancer().Start();
  const ConnectionId first = LastConnectionId();
  OpenActive();
  FailActive();

  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId second = LastConnectionId();
  EXPECT_EQ(host_.closed(), (std::vector<ConnectionId>{first, second}));
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_TRUE(host_.timers().empty());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  EXPECT_EQ(host_.failover_notices().size(), 1u);

  const std::size_t log_size = host_.log().size();
  balancer().OnOpen(second);
  balancer().OnError(second, ConnectionError::kRetrying);
  EXPECT_EQ(host_.log().size(), log_size);
}

TEST_F(BalancerTest, CloseInsideNotifyFailoverFromTheRetryTimer) {
  MakeBalancer(2);
  balancer().Start();
  FailActive();
  FailActive();  // all down, retry at 1000
  ASSERT_TRUE(balancer().retry_pending());
  host_.set_close_on_failover(true);
  host_.Advance(1000);

  EXPECT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(host_.failover_notices().size(), 2u);
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_TRUE(host_.timers().empty());
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  host_.Advance(60000);
  EXPECT_EQ(ConnectionCount(), 3u);
}

TEST_F(BalancerTest, CloseInsideNotifyOpen) {
  MakeBalancer(2);
  host_.set_close_on_open(true);
  balancer().Start();
  OpenActive();
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kClosed);
  EXPECT_EQ(Message("1"), kDropEvent);
}

// ---------------------------------------------------------------------------
// Counters

TEST_F(BalancerTest, CountersTrackEveryEndpoint) {
  // a: open, ids 1 2, the stream ends at 100 (closed: a healthy end, still
  // counted) -> b at once: open, replay 2, id 3, http failure at 200 -> a,
  // eligible at once (no cool-down after a healthy end): http failure at 200
  // -> all down; the first sweep takes b at 1200 (1000 ms after the
  // attempt).
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  Message("1");
  Message("2");
  host_.AdvanceTo(100);
  FailActive(ConnectionError::kRetrying);
  const std::size_t b = LastEndpoint();
  ASSERT_NE(b, a);
  EXPECT_EQ(LastAttemptAt(), 100);
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kIdle);
  OpenActive();
  Message("2");
  Message("3");
  host_.AdvanceTo(200);
  FailActive(ConnectionError::kGaveUp);
  ASSERT_EQ(LastEndpoint(), a);
  EXPECT_EQ(LastAttemptAt(), 200);
  FailActive(ConnectionError::kGaveUp);
  host_.AdvanceTo(1199);
  ASSERT_EQ(LastEndpoint(), a);
  host_.AdvanceTo(1200);
  ASSERT_EQ(LastEndpoint(), b);
  EXPECT_EQ(LastAttemptAt(), 1200);

  const EndpointCounters& ca = EndpointAt(a).counters;
  EXPECT_EQ(ca.connects, 2u);
  EXPECT_EQ(ca.opens, 1u);
  EXPECT_EQ(ca.failures, 2u);
  EXPECT_EQ(ca.failures_by_reason[kNetwork], 0u);
  EXPECT_EQ(ca.failures_by_reason[kClosed], 1u);
  EXPECT_EQ(ca.failures_by_reason[kHttp], 1u);
  EXPECT_EQ(ca.messages, 2u);
  EXPECT_EQ(ca.duplicates, 0u);
  EXPECT_EQ(ca.last_error, FailureReason::kHttp);
  EXPECT_EQ(ca.last_error_at_ms, 200);

  const EndpointCounters& cb = EndpointAt(b).counters;
  EXPECT_EQ(cb.connects, 2u);
  EXPECT_EQ(cb.opens, 1u);
  EXPECT_EQ(cb.failures, 1u);
  EXPECT_EQ(cb.failures_by_reason[kNetwork], 0u);
  EXPECT_EQ(cb.failures_by_reason[kClosed], 0u);
  EXPECT_EQ(cb.failures_by_reason[kHttp], 1u);
  EXPECT_EQ(cb.messages, 1u);
  EXPECT_EQ(cb.duplicates, 1u);
  EXPECT_EQ(cb.last_error, FailureReason::kHttp);

  for (const Endpoint& endpoint : balancer().endpoints()) {
    const auto& by_reason = endpoint.counters.failures_by_reason;
    ASSERT_EQ(by_reason.size(), static_cast<std::size_t>(kFailureReasonCount));
    EXPECT_EQ(
        std::accumulate(by_reason.begin(), by_reason.end(), std::uint64_t{0}),
        endpoint.counters.failures);
    EXPECT_EQ(endpoint.counters.ejections, 0u);
  }
}

TEST_F(BalancerTest, CountersStartAtZero) {
  MakeBalancer(2);
  for (const Endpoint& endpoint : balancer().endpoints()) {
    EXPECT_EQ(endpoint.counters.connects, 0u);
    EXPECT_EQ(endpoint.counters.failures, 0u);
    EXPECT_EQ(endpoint.counters.last_error, FailureReason::kNone);
    EXPECT_EQ(endpoint.counters.ejections, 0u);
    EXPECT_EQ(endpoint.state(), EndpointState::kIdle);
    EXPECT_EQ(endpoint.health.consecutive_failures(), 0);
    EXPECT_FALSE(endpoint.health.probation());
  }
  EXPECT_EQ(balancer().policy_name(), "round-robin");
  EXPECT_EQ(balancer().active_connection(), 0u);
  EXPECT_FALSE(balancer().retry_pending());
  EXPECT_FALSE(balancer().watchdog_pending());
  EXPECT_FALSE(balancer().offline());
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(balancer().budget_used(), 0u);
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
