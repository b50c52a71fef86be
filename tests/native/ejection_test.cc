// Outlier ejection: an endpoint that keeps failing is taken out for longer
// than its backoff; panic and probation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

constexpr double kTolerance = 1e-6;

class EjectionTest : public BalancerTest {
 protected:
  // Exact delays, no budget or watchdog, ejection as configured (library
  // defaults: after 5 failures, 30 s x count up to 300 s, at most 50 %).
  static BalancerOptions WithEjection(double max_percent = 50,
                                      int after_failures = 5) {
    BalancerOptions options = ExactOptions();
    options.ejection = EjectionOptions{};
    options.ejection.max_percent = max_percent;
    options.ejection.after_failures = after_failures;
    return options;
  }

  // Fails every attempt as it is made (some after opening, with each hint
  // in turn) until the clock passes `until_ms`, calling `check` after every
  // step.
  template <typename Check>
  void FailEveryAttemptUntil(double until_ms, Check check) {
    int steps = 0;
    while (host_.now() < until_ms || !host_.open_ids().empty()) {
      ASSERT_LT(++steps, 400000) << "no progress at t=" << host_.now();
      if (!host_.open_ids().empty()) {
        if (steps % 3 == 0) OpenActive();
        FailActive(steps % 2 == 0 ? ConnectionError::kGaveUp
                                  : ConnectionError::kRetrying);
      } else {
        ASSERT_TRUE(balancer().retry_pending()) << "t=" << host_.now();
        ASSERT_TRUE(host_.AdvanceToNextTimer());
      }
      check();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

  // Endpoints whose state is kEjected, whether or not the time is up.
  std::size_t InEjectedState() {
    std::size_t count = 0;
    for (const Endpoint& endpoint : balancer().endpoints()) {
      count += endpoint.state() == EndpointState::kEjected ? 1 : 0;
    }
    return count;
  }
};

TEST(EjectionOptionsTest, DefaultsAreDocumented) {
  const BalancerOptions options;
  EXPECT_EQ(options.ejection.after_failures, 5);
  EXPECT_EQ(options.ejection.base_ms, 30000);
  EXPECT_EQ(options.ejection.max_ms, 300000);
  EXPECT_EQ(options.ejection.max_percent, 50);
  EXPECT_EQ(options.watchdog.heartbeat_timeout_ms, 0);
  EXPECT_EQ(options.watchdog.connect_timeout_ms, 10000);
  EXPECT_EQ(options.max_connects_per_minute, 60u);
  EXPECT_EQ(options.dedup_window, 1024u);
}

// ---------------------------------------------------------------------------
// When

TEST_F(EjectionTest, EjectedAfterExactlyAfterFailuresConsecutiveFailures) {
  // One endpoint that may be ejected alone; it fails at each attempt, made
  // on the exact outage schedule 0, 1000, 2600, 4600, 6600.
  MakeBalancer(1, "round-robin", WithEjection(/*max_percent=*/100));
  balancer().Start();
  const Endpoint& endpoint = EndpointAt(0);
  const double attempts[] = {0, 1000, 2600, 4600, 6600};
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(ConnectionCount(), static_cast<std::size_t>(i) + 1);
    EXPECT_NEAR(LastAttemptAt(), attempts[i], kTolerance);
    FailActive();
    EXPECT_EQ(endpoint.health.consecutive_failures(), i + 1);
    if (i < 4) {
      EXPECT_EQ(endpoint.state(), EndpointState::kCoolingDown);
      EXPECT_EQ(endpoint.counters.ejections, 0u);
      ASSERT_TRUE(host_.AdvanceToNextTimer());
    }
  }
  EXPECT_EQ(endpoint.state(), EndpointState::kEjected);
  EXPECT_EQ(endpoint.counters.ejections, 1u);
  EXPECT_FALSE(endpoint.health.probation());
  // The backoff goes on (6553.6 ms); the ejection is 30 s.
  EXPECT_NEAR(endpoint.health.cooldown_until_ms(), 6600 + 6553.6, kTolerance);
  EXPECT_NEAR(endpoint.health.ejected_until_ms(), 6600 + 30000, kTolerance);
  EXPECT_EQ(EjectedNow(), 1u);
}

TEST_F(EjectionTest, AfterFailuresIsHonouredForEveryValue) {
  for (int after : {1, 2, 3, 7}) {
    SCOPED_TRACE(after);
    ResetForNextRun();
    MakeBalancer(1, "round-robin", WithEjection(100, after));
    balancer().Start();
    for (int i = 1; i <= after; ++i) {
      FailActive();
      EXPECT_EQ(EndpointAt(0).state(), i < after ? EndpointState::kCoolingDown
                                                 : EndpointState::kEjected)
          << "failure " << i;
      if (i < after) ASSERT_TRUE(host_.AdvanceToNextTimer());
    }
    EXPECT_EQ(EndpointAt(0).counters.ejections, 1u);
  }
}

TEST_F(EjectionTest, ZeroAfterFailuresNeverEjects) {
  MakeBalancer(2, "round-robin", WithEjection(100, 0));
  balancer().Start();
  FailEveryAttemptUntil(10 * 60000, [this] { ASSERT_EQ(EjectedNow(), 0u); });
  for (const Endpoint& endpoint : balancer().endpoints()) {
    EXPECT_EQ(endpoint.counters.ejections, 0u);
    EXPECT_GT(endpoint.health.consecutive_failures(), 5);
  }
}

TEST_F(EjectionTest, AShortStreamDoesNotBreakTheRun) {
  // Four refused attempts, then one that opens but drops after 10 s (less
  // than reset_after_ms): the fifth consecutive failure.
  MakeBalancer(1, "round-robin", WithEjection(100));
  balancer().Start();
  for (int i = 0; i < 4; ++i) {
    FailActive();
    ASSERT_TRUE(host_.AdvanceToNextTimer());
  }
  OpenActive();
  host_.Advance(10000);
  FailActive();
  EXPECT_EQ(EndpointAt(0).state(), EndpointState::kEjected);
  EXPECT_EQ(EndpointAt(0).health.consecutive_failures(), 5);
}

TEST_F(EjectionTest, AHealthyStreamStartsTheCountAfresh) {
  MakeBalancer(1, "round-robin", WithEjection(100));
  balancer().Start();
  for (int i = 0; i < 4; ++i) {
    FailActive();
    ASSERT_TRUE(host_.AdvanceToNextTimer());
  }
  OpenActive();
  host_.Advance(60000);  // exactly reset_after_ms
  FailActive();
  EXPECT_EQ(EndpointAt(0).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(0).health.consecutive_failures(), 1);
  EXPECT_EQ(EndpointAt(0).health.backoff_attempt(), 1);
  EXPECT_EQ(EndpointAt(0).counters.ejections, 0u);
}

// ---------------------------------------------------------------------------
// How long

TEST_F(EjectionTest, EjectionTimeIsBaseTimesCountCapped) {
  // Every failure ejects (after_failures 1, then probation); 30 s x count,
  // capped at 100 s.
  BalancerOptions options = WithEjection(100, 1);
  options.ejection.max_ms = 100000;
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  const double expected[] = {30000, 60000, 90000, 100000, 100000, 100000};
  for (std::size_t k = 0; k < std::size(expected); ++k) {
    SCOPED_TRACE(k + 1);
    const double now = host_.now();
    FailActive();
    const Endpoint& endpoint = EndpointAt(0);
    ASSERT_EQ(endpoint.state(), EndpointState::kEjected);
    EXPECT_EQ(endpoint.counters.ejections, k + 1);
    EXPECT_NEAR(endpoint.health.ejected_until_ms() - now, expected[k],
                kTolerance);
    ASSERT_TRUE(host_.AdvanceToNextTimer());  // panic: its backoff
    ASSERT_EQ(ConnectionCount(), k + 2);
  }
}

TEST_F(EjectionTest, EjectionIsNeverShorterThanTheBackoff) {
  // A backoff (capped at 60 s) longer than the 10 s ejection: the endpoint
  // stays out for its backoff.
  BalancerOptions options = WithEjection(100, 1);
  options.backoff.initial_ms = 60000;
  options.backoff.max_ms = 60000;
  options.ejection.base_ms = 10000;
  options.ejection.max_ms = 10000;
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  FailActive();
  EXPECT_EQ(EndpointAt(0).health.ejected_until_ms(), 60000);
  EXPECT_EQ(EndpointAt(0).health.cooldown_until_ms(), 60000);
}

TEST_F(EjectionTest, EjectionTimeIsJitteredByAQuarterOfTheJitter) {
  // factor in [1 - j/4, 1 + j/4): 30 s becomes [22.5 s, 37.5 s) with full
  // jitter and [26.25 s, 33.75 s) with half.
  for (double jitter : {1.0, 0.5}) {
    SCOPED_TRACE(jitter);
    double low = 1e300;
    double high = 0;
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
      ResetForNextRun();
      BalancerOptions options = WithEjection(100, 1);
      options.backoff.jitter = jitter;
      MakeBalancer(1, "round-robin", options, seed);
      balancer().Start();
      FailActive();
      const double length = EndpointAt(0).health.ejected_until_ms();
      ASSERT_GE(length, 30000 * (1 - jitter / 4)) << "seed " << seed;
      ASSERT_LT(length, 30000 * (1 + jitter / 4)) << "seed " << seed;
      low = std::min(low, length);
      high = std::max(high, length);
    }
    // It really spreads over the range.
    EXPECT_LT(low, 30000 * (1 - jitter / 5));
    EXPECT_GT(high, 30000 * (1 + jitter / 5));
  }
}

TEST_F(EjectionTest, TheCapAppliesBeforeTheJitter) {
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    ResetForNextRun();
    BalancerOptions options = WithEjection(100, 1);
    options.backoff.jitter = 1;
    options.ejection.max_ms = 30000;
    MakeBalancer(1, "round-robin", options, seed);
    balancer().Start();
    for (int k = 1; k <= 3; ++k) {
      const double now = host_.now();
      FailActive();
      const double length = EndpointAt(0).health.ejected_until_ms() - now;
      ASSERT_GE(length, 22500 - kTolerance) << "seed " << seed;
      ASSERT_LT(length, 37500 + kTolerance) << "seed " << seed;
      ASSERT_TRUE(host_.AdvanceToNextTimer());
    }
  }
}

// ---------------------------------------------------------------------------
// How many

TEST_F(EjectionTest, MaxPercentIsNeverExceeded) {
  struct Case {
    std::size_t endpoints;
    double max_percent;
    std::size_t allowed;  // floor(endpoints x max_percent / 100)
  };
  const Case cases[] = {{10, 30, 3}, {7, 33, 2},  {5, 50, 2}, {4, 50, 2},
                        {3, 50, 1},  {2, 50, 1},  {1, 50, 0}, {5, 0, 0},
                        {4, 100, 4}, {3, 99.9, 2}};
  for (const Case& c : cases) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(std::to_string(c.endpoints) + " endpoints at " +
                   std::to_string(c.max_percent) + "%, seed " +
                   std::to_string(seed));
      ResetForNextRun();
      BalancerOptions options = WithEjection(c.max_percent, 2);
      options.backoff.jitter = 1;  // the library default
      MakeBalancer(c.endpoints, "round-robin", options, seed);
      balancer().Start();
      std::size_t most = 0;
      FailEveryAttemptUntil(30 * 60000, [&] {
        const std::size_t now = EjectedNow();
        most = std::max(most, now);
        ASSERT_LE(now, c.allowed) << "t=" << host_.now();
        // Expired ejections are taken back at the next pick, which every
        // step ends with.
        ASSERT_LE(InEjectedState(), c.allowed) << "t=" << host_.now();
      });
      EXPECT_EQ(most, c.allowed) << "the limit was never reached";
      if (c.allowed == 0) {
        for (const Endpoint& endpoint : balancer().endpoints()) {
          EXPECT_EQ(endpoint.counters.ejections, 0u);
        }
      }
    }
  }
}

TEST_F(EjectionTest, AnEndpointThatMayNotBeEjectedCoolsDown) {
  // Two endpoints, 50 %: while a is ejected, b's failures only cool it down.
  // Rounds of 1000, 1600 ms (min_ms = initial_ms, a long max_outage_ms).
  BalancerOptions options = WithEjection(50, 1);
  options.backoff.min_ms = 1000;
  options.backoff.max_outage_ms = 30000;
  MakeBalancer(2, "round-robin", options);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  FailActive();  // t=0
  const std::size_t b = LastEndpoint();
  ASSERT_NE(a, b);
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kEjected);
  EXPECT_EQ(EndpointAt(a).health.ejected_until_ms(), 30000);
  FailActive();  // t=0
  EXPECT_EQ(EndpointAt(b).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(b).counters.ejections, 0u);
  EXPECT_EQ(EndpointAt(b).health.cooldown_until_ms(), 1000);
  // Every endpoint is down: the first outage round, at 1000, sweeps both,
  // ejected or not, in the client's order: a first, on probation.
  host_.Advance(999);
  EXPECT_EQ(ConnectionCount(), 2u);
  host_.Advance(1);
  ASSERT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(LastEndpoint(), a);
  EXPECT_TRUE(EndpointAt(a).health.probation());
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kConnecting);
  // a fails on probation: b is not ejected, so a is, at once, for 60 s.
  host_.Advance(100);
  FailActive();  // t=1100
  EXPECT_EQ(EndpointAt(a).state(), EndpointState::kEjected);
  EXPECT_EQ(EndpointAt(a).counters.ejections, 2u);
  EXPECT_EQ(EndpointAt(a).health.ejected_until_ms(), 1100 + 60000);
  // The sweep goes on with b at once; b fails: cooling until 2800, not
  // ejected (a is).
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_EQ(LastEndpoint(), b);
  EXPECT_EQ(LastAttemptAt(), 1100);
  host_.Advance(100);
  FailActive();  // t=1200
  EXPECT_EQ(EndpointAt(b).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(b).health.cooldown_until_ms(), 2800);
  EXPECT_EQ(EndpointAt(b).counters.ejections, 0u);
  // The next round: 1600 ms after the last attempt.
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 2700);
}

// ---------------------------------------------------------------------------
// Panic

TEST_F(EjectionTest, PanicRetriesTheOnlyEndpointOnTheOutageSchedule) {
  // The same outage with and without ejection: the attempts are the same
  // (the outage rounds, at most max_outage_ms apart), although the endpoint
  // is ejected again and again.
  std::vector<double> without;
  {
    MakeBalancer(1, "round-robin", WithEjection(100, 0));
    balancer().Start();
    FailEveryAttemptUntil(10 * 60000, [] {});
    for (const OpenedConnection& attempt : host_.opened()) {
      without.push_back(attempt.at_ms);
    }
  }
  ResetForNextRun();
  MakeBalancer(1, "round-robin", WithEjection(100));
  balancer().Start();
  bool ejected_at_an_attempt = false;
  FailEveryAttemptUntil(10 * 60000, [&] {
    const Endpoint& endpoint = EndpointAt(0);
    if (!host_.open_ids().empty() &&
        endpoint.health.ejected_until_ms() > host_.now()) {
      // Picked while its ejection runs: while everything is down, the
      // rounds take every endpoint.
      ejected_at_an_attempt = true;
      ASSERT_EQ(endpoint.state(), EndpointState::kConnecting);
    }
  });
  std::vector<double> with;
  for (const OpenedConnection& attempt : host_.opened()) {
    with.push_back(attempt.at_ms);
  }
  EXPECT_TRUE(ejected_at_an_attempt);
  EXPECT_GT(EndpointAt(0).counters.ejections, 10u);
  for (std::size_t i = 1; i < with.size(); ++i) {
    ASSERT_LE(with[i] - with[i - 1],
              BackoffOptions{}.max_outage_ms + kTolerance)
        << "attempt " << i;
  }
  ASSERT_EQ(with.size(), without.size());
  for (std::size_t i = 0; i < with.size(); ++i) {
    EXPECT_NEAR(with[i], without[i], kTolerance) << "attempt " << i;
  }
}

TEST_F(EjectionTest, PanicRetriesEveryEndpointOnTheBackoffSchedule) {
  // All three ejected for 10 minutes or more; they are still tried at least
  // every max backoff (30 s), each of them.
  BalancerOptions options = WithEjection(100);
  options.backoff.jitter = 1;
  options.ejection.base_ms = 600000;
  options.ejection.max_ms = 600000;
  MakeBalancer(3, "round-robin", options, 7);
  balancer().Start();
  FailEveryAttemptUntil(20 * 60000, [] {});
  const auto& attempts = host_.opened();
  for (std::size_t i = 1; i < attempts.size(); ++i) {
    ASSERT_LE(attempts[i].at_ms - attempts[i - 1].at_ms, 30000 + kTolerance)
        << "attempt " << i;
  }
  std::vector<int> late(3, 0);
  for (const OpenedConnection& attempt : attempts) {
    if (attempt.at_ms >= 17 * 60000) ++late[attempt.endpoint];
  }
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_GE(late[e], 2) << "endpoint " << e;
    EXPECT_GE(EndpointAt(e).counters.ejections, 5u) << "endpoint " << e;
  }
}

// ---------------------------------------------------------------------------
// Probation

TEST_F(EjectionTest, ProbationIsPreferredLastReEjectedAndTrustedAgain) {
  // Three endpoints in round-robin order a, b, c; ejection after 2
  // consecutive failures, any number at once. Streams of 100 s are healthy
  // (>= reset_after_ms) and start the failure count afresh (they deliver
  // no event: ordinary failures after a long stream, not healthy ends). The
  // outage rounds are 1000 ms, then 1600 ms (min_ms = initial_ms).
  BalancerOptions options = WithEjection(100, 2);
  options.backoff.min_ms = 1000;
  options.backoff.max_outage_ms = 30000;
  MakeBalancer(3, "round-robin", options);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  const std::size_t b = (a + 1) % 3;
  const std::size_t c = (a + 2) % 3;
  const Endpoint& ea = EndpointAt(a);

  FailActive();  // t=0: a 1st failure
  ASSERT_EQ(LastEndpoint(), b);
  OpenActive();
  host_.Advance(100000);
  FailActive();  // t=100000: b healthy
  ASSERT_EQ(LastEndpoint(), c);
  OpenActive();
  host_.Advance(100000);
  FailActive();  // t=200000: c healthy
  ASSERT_EQ(LastEndpoint(), a);
  FailActive();  // a 2nd failure: ejected for 30 s
  EXPECT_EQ(ea.state(), EndpointState::kEjected);
  EXPECT_EQ(ea.health.ejected_until_ms(), 230000);
  EXPECT_EQ(ea.health.cooldown_until_ms(), 201600);
  EXPECT_FALSE(ea.health.probation());
  ASSERT_EQ(LastEndpoint(), b);
  OpenActive();
  host_.Advance(100000);
  FailActive();  // t=300000: b healthy; a's ejection is over
  EXPECT_EQ(ea.state(), EndpointState::kIdle);
  EXPECT_TRUE(ea.health.probation());
  ASSERT_EQ(LastEndpoint(), c);
  OpenActive();
  host_.Advance(100000);
  FailActive();  // t=400000: c healthy
  // Round-robin's turn is a's, but b (trusted, cooled down) is preferred.
  EXPECT_EQ(LastEndpoint(), b);
  EXPECT_EQ(ea.state(), EndpointState::kIdle);
  EXPECT_EQ(ea.counters.connects, 2u);

  FailActive();  // b fails before opening: its 2nd failure, ejected
  EXPECT_EQ(EndpointAt(b).state(), EndpointState::kEjected);
  // Nothing trusted is left (c cools down until 401000): a gets its chance.
  ASSERT_EQ(LastEndpoint(), a);
  EXPECT_EQ(LastAttemptAt(), 400000);

  FailActive();  // on probation: ejected again at once, for 2 x 30 s
  EXPECT_EQ(ea.state(), EndpointState::kEjected);
  EXPECT_EQ(ea.counters.ejections, 2u);
  EXPECT_EQ(ea.health.ejected_until_ms(), 460000);
  EXPECT_TRUE(balancer().retry_pending());

  // Every endpoint is down: the first outage round, at 401000, sweeps from
  // b (the client's order), ejected until 430000: back on probation, it
  // fails and is ejected again, for 2 x 30 s; c is tried at once and opens.
  host_.Advance(999);
  EXPECT_EQ(LastEndpoint(), a);
  host_.Advance(1);
  ASSERT_EQ(LastEndpoint(), b);
  EXPECT_EQ(LastAttemptAt(), 401000);
  EXPECT_TRUE(EndpointAt(b).health.probation());
  FailActive();
  EXPECT_EQ(EndpointAt(b).state(), EndpointState::kEjected);
  EXPECT_EQ(EndpointAt(b).counters.ejections, 2u);
  EXPECT_EQ(EndpointAt(b).health.ejected_until_ms(), 461000);
  ASSERT_EQ(LastEndpoint(), c);
  EXPECT_EQ(LastAttemptAt(), 401000);
  OpenActive();
  host_.Advance(100000);
  FailActive();  // t=501000: a and b are both back, both on probation
  EXPECT_TRUE(ea.health.probation());
  EXPECT_TRUE(EndpointAt(b).health.probation());
  ASSERT_EQ(LastEndpoint(), a);  // round-robin among them

  OpenActive();
  host_.Advance(60000);  // exactly reset_after_ms
  FailActive();          // t=561000: it streamed healthily
  EXPECT_FALSE(ea.health.probation());
  EXPECT_EQ(ea.state(), EndpointState::kCoolingDown);
  EXPECT_EQ(ea.health.consecutive_failures(), 1);  // this failure, from 0
  EXPECT_EQ(ea.health.backoff_attempt(), 1);       // from exponent 0: 1000 ms
  EXPECT_EQ(ea.health.cooldown_until_ms(), 562000);
  EXPECT_EQ(ea.counters.ejections, 2u);
}

TEST_F(EjectionTest, AShortStreamOnProbationIsEjectedAgain) {
  // The first outage round at 1000 (min_ms = initial_ms) finds the backoff
  // over: panic takes the endpoint back on probation.
  BalancerOptions options = WithEjection(100, 1);
  options.backoff.min_ms = 1000;
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  FailActive();  // t=0: ejected until 30000; backoff until 1000
  host_.Advance(1000);
  ASSERT_EQ(ConnectionCount(), 2u);
  EXPECT_TRUE(EndpointAt(0).health.probation());
  OpenActive();
  host_.Advance(59999);
  FailActive();  // t=60999: not healthy long enough
  EXPECT_TRUE(EndpointAt(0).health.probation());
  EXPECT_EQ(EndpointAt(0).state(), EndpointState::kEjected);
  EXPECT_EQ(EndpointAt(0).counters.ejections, 2u);
  EXPECT_EQ(EndpointAt(0).health.ejected_until_ms(), 60999 + 60000);
}

TEST_F(EjectionTest, ProbationEndpointsFollowThePolicyAmongThemselves) {
  // Random policy: when only endpoints on probation are left, any of them.
  // The first outage round (min_ms = initial_ms: at 1000) finds both
  // backoffs over and both ejections running: panic takes either back.
  BalancerOptions options = WithEjection(100, 1);
  options.backoff.min_ms = 1000;
  std::vector<int> picks(2, 0);
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    ResetForNextRun();
    MakeBalancer(2, "random", options, seed);
    balancer().Start();
    FailActive();
    FailActive();  // both ejected for 30 s
    host_.Advance(999);
    ASSERT_EQ(ConnectionCount(), 2u);
    host_.Advance(1);
    ASSERT_EQ(ConnectionCount(), 3u);
    EXPECT_EQ(EndpointAt(LastEndpoint()).health.ejected_until_ms(), 30000);
    EXPECT_TRUE(EndpointAt(LastEndpoint()).health.probation());
    ++picks[LastEndpoint()];
  }
  EXPECT_GT(picks[0], 10);
  EXPECT_GT(picks[1], 10);
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
