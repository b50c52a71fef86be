#include "retry_budget.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "backoff.h"
#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

constexpr double kMinute = 60000;

// ---------------------------------------------------------------------------
// RetryBudget on its own

TEST(RetryBudgetTest, ZeroMeansUnlimited) {
  RetryBudget budget(0, kMinute);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(budget.Allows(0));
    budget.Record(0);
  }
  EXPECT_EQ(budget.used(0), 0u);
  EXPECT_EQ(budget.NextAllowedAt(5), 5);
  EXPECT_EQ(budget.limit(), 0u);
}

TEST(RetryBudgetTest, AllowsUpToTheLimitInTheWindow) {
  RetryBudget budget(3, kMinute);
  EXPECT_EQ(budget.limit(), 3u);
  EXPECT_TRUE(budget.Allows(0));
  budget.Record(0);
  budget.Record(10);
  EXPECT_TRUE(budget.Allows(20));
  EXPECT_EQ(budget.NextAllowedAt(20), 20);
  budget.Record(20);
  EXPECT_FALSE(budget.Allows(20));
  EXPECT_EQ(budget.used(20), 3u);
  // The attempt at 0 leaves the window exactly 60 s later.
  EXPECT_EQ(budget.NextAllowedAt(20), kMinute);
  EXPECT_FALSE(budget.Allows(kMinute - 0.001));
  EXPECT_EQ(budget.used(kMinute - 0.001), 3u);
  EXPECT_TRUE(budget.Allows(kMinute));
  EXPECT_EQ(budget.used(kMinute), 2u);
  EXPECT_EQ(budget.NextAllowedAt(kMinute), kMinute);
  budget.Record(kMinute);
  EXPECT_FALSE(budget.Allows(kMinute));
  EXPECT_EQ(budget.NextAllowedAt(kMinute), kMinute + 10);
  EXPECT_EQ(budget.used(kMinute + 20), 1u);
  EXPECT_EQ(budget.used(10 * kMinute), 0u);
}

TEST(RetryBudgetTest, OnlyTheNewestLimitAttemptsCount) {
  // Recording past the limit (the caller did not ask) keeps the newest.
  RetryBudget budget(3, kMinute);
  for (int t = 0; t < 10; ++t) budget.Record(t);
  EXPECT_EQ(budget.used(9), 3u);
  EXPECT_EQ(budget.NextAllowedAt(9), 7 + kMinute);
}

TEST(RetryBudgetTest, LimitOne) {
  RetryBudget budget(1, kMinute);
  budget.Record(5);
  EXPECT_FALSE(budget.Allows(6));
  EXPECT_EQ(budget.NextAllowedAt(6), 5 + kMinute);
  EXPECT_TRUE(budget.Allows(5 + kMinute));
}

TEST(RetryBudgetTest, TheWindowIsAParameter) {
  RetryBudget budget(2, 1000);
  budget.Record(0);
  budget.Record(500);
  EXPECT_FALSE(budget.Allows(999));
  EXPECT_EQ(budget.NextAllowedAt(999), 1000);
  EXPECT_TRUE(budget.Allows(1000));
}

TEST(RetryBudgetTest, GreedyUseNeverExceedsTheLimitInAnySlidingWindow) {
  // Attempt whenever allowed, probing every 250 ms for an hour.
  RetryBudget budget(7, kMinute);
  std::vector<double> attempts;
  for (double t = 0; t < 60 * kMinute; t += 250) {
    if (budget.Allows(t)) {
      budget.Record(t);
      attempts.push_back(t);
    }
  }
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    std::size_t in_window = 0;
    for (std::size_t j = 0; j <= i; ++j) {
      in_window += attempts[j] + kMinute > attempts[i] ? 1 : 0;
    }
    ASSERT_LE(in_window, 7u) << "attempt at " << attempts[i];
  }
  // Bursts of 7 at each whole minute.
  EXPECT_EQ(attempts.size(), 60u * 7);
  EXPECT_EQ(attempts[7], kMinute);
}

// ---------------------------------------------------------------------------
// Through the Balancer

class RetryBudgetBalancerTest : public BalancerTest {
 protected:
  static BalancerOptions WithBudget(std::size_t per_minute) {
    BalancerOptions options = ExactOptions();
    options.max_connects_per_minute = per_minute;
    return options;
  }

  // Attempt times in the order made.
  std::vector<double> AttemptTimes() const {
    std::vector<double> times;
    for (const OpenedConnection& attempt : host_.opened()) {
      times.push_back(attempt.at_ms);
    }
    return times;
  }

  // The most attempts inside any sliding window, as the budget counts them:
  // an attempt at `a` is in the window at `t` while a <= t < a + 60 s.
  std::size_t MostInAnyMinute() const {
    std::size_t most = 0;
    std::deque<double> window;
    for (double t : AttemptTimes()) {
      while (!window.empty() && window.front() + kMinute <= t) {
        window.pop_front();
      }
      window.push_back(t);
      most = std::max(most, window.size());
    }
    return most;
  }
};

TEST_F(RetryBudgetBalancerTest, DefaultBudgetIsSixtyAMinute) {
  MakeBalancer(2, "round-robin", DefaultsWithoutJitter());
  EXPECT_EQ(balancer().budget_limit(), 60u);
  EXPECT_EQ(balancer().budget_used(), 0u);
  balancer().Start();
  EXPECT_EQ(balancer().budget_used(), 1u);
  FailActive();
  EXPECT_EQ(balancer().budget_used(), 2u);
  OpenActive();
  host_.Advance(kMinute);
  EXPECT_EQ(balancer().budget_used(), 0u);
}

TEST_F(RetryBudgetBalancerTest, ExhaustedBudgetWaitsForTheOldestToLeave) {
  MakeBalancer(5, "round-robin", WithBudget(3));
  balancer().Start();
  FailActive();
  FailActive();
  ASSERT_EQ(ConnectionCount(), 3u);
  host_.Advance(10);
  FailActive();  // two endpoints are still idle, but the budget is spent
  EXPECT_EQ(ConnectionCount(), 3u);
  EXPECT_TRUE(balancer().retry_pending());
  EXPECT_EQ(balancer().ready_state(), ReadyState::kConnecting);
  EXPECT_EQ(balancer().budget_used(), 3u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, kMinute);  // the attempts at 0 leave

  host_.AdvanceTo(kMinute - 1);
  EXPECT_EQ(ConnectionCount(), 3u);
  host_.AdvanceTo(kMinute);
  ASSERT_EQ(ConnectionCount(), 4u);
  EXPECT_EQ(LastAttemptAt(), kMinute);
  // Three at once again (immediate failovers), then the next minute.
  FailActive();
  FailActive();
  EXPECT_EQ(ConnectionCount(), 6u);
  FailActive();
  EXPECT_EQ(ConnectionCount(), 6u);
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 2 * kMinute);
}

TEST_F(RetryBudgetBalancerTest, BudgetAndBackoffTogether) {
  // One endpoint, 2 attempts a minute: 0 and 1000 (the first outage round).
  // More than kPaceAboveBudgetShare of the budget is then used, so the next
  // round waits at least the budget's pace (1 endpoint x 60000 / 2 = 30000 ms,
  // over the 1600 ms round), and the budget holds it further, until the attempt
  // at 0 leaves the window (60000). The round after is due at the pace again
  // (90000), later than the budget would allow (61000).
  MakeBalancer(1, "round-robin", WithBudget(2));
  balancer().Start();
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, 1000);
  ASSERT_TRUE(host_.AdvanceToNextTimer());
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, kMinute);
  ASSERT_TRUE(host_.AdvanceToNextTimer());
  FailActive();
  ASSERT_EQ(host_.timers().size(), 1u);
  EXPECT_EQ(host_.timers()[0].due_ms, kMinute + 30000);
  ASSERT_TRUE(host_.AdvanceToNextTimer());
  EXPECT_EQ(AttemptTimes(), (std::vector<double>{0, 1000, kMinute, 90000}));
}

TEST_F(RetryBudgetBalancerTest, StreamsThatLastDoNotUseTheBudgetUp) {
  MakeBalancer(2, "round-robin", WithBudget(2));
  balancer().Start();
  OpenActive();
  host_.Advance(10 * kMinute);
  FailActive();
  OpenActive();
  host_.Advance(10 * kMinute);
  FailActive();
  EXPECT_EQ(ConnectionCount(), 3u);
  EXPECT_EQ(LastAttemptAt(), 20 * kMinute);
}

// Every attempt fails at once, refused or dropped just after opening, for 30
// simulated minutes; the attempts in any sliding minute never exceed the
// budget.
TEST_F(RetryBudgetBalancerTest, FlappingEndpointsNeverExceedTheBudget) {
  struct Case {
    std::string name;
    std::size_t endpoints;
    std::size_t budget;
    bool binding;  // the flapping would exceed it without the budget
    BalancerOptions options;
  };
  BalancerOptions fast;  // quick retries: the budget is what holds them back
  fast.backoff.initial_ms = 50;
  fast.backoff.max_ms = 1000;
  fast.backoff.min_ms = 10;
  // With the library defaults the outage rounds back off while everything
  // is down (at most kOutageSweepSize attempts a round) and, past most of
  // the budget, slow to its pace, so eight flapping endpoints stay under 60 a
  // minute; it takes a lower budget or several dozen endpoints to reach the
  // limit.
  std::vector<Case> cases = {
      {"library defaults", 3, 60, false, BalancerOptions{}},
      {"eight endpoints", 8, 60, false, BalancerOptions{}},
      {"eight endpoints, twenty a minute", 8, 20, true, BalancerOptions{}},
      {"forty-eight endpoints", 48, 60, true, BalancerOptions{}},
      {"fast retries", 4, 60, true, fast},
      {"ten a minute", 5, 10, true, BalancerOptions{}},
      {"one a minute", 2, 1, true, fast},
  };
  for (Case& c : cases) {
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(c.name + ", seed " + std::to_string(seed));
      ResetForNextRun();
      c.options.max_connects_per_minute = c.budget;
      MakeBalancer(c.endpoints, "round-robin", c.options, seed);
      balancer().Start();
      int steps = 0;
      while (host_.now() < 30 * kMinute) {
        ASSERT_LT(++steps, 1000000);
        if (!host_.open_ids().empty()) {
          if (steps % 2 == 0) OpenActive();  // flapping: open, then drop
          FailActive(steps % 3 == 0 ? ConnectionError::kGaveUp
                                    : ConnectionError::kRetrying);
        } else {
          ASSERT_TRUE(balancer().retry_pending());
          ASSERT_TRUE(host_.AdvanceToNextTimer());
        }
        ASSERT_LE(balancer().budget_used(), c.budget);
      }
      EXPECT_LE(MostInAnyMinute(), c.budget);
      if (c.binding) EXPECT_EQ(MostInAnyMinute(), c.budget);
      // ... and it keeps trying: no wait longer than the budget's (plus up
      // to initial_ms x jitter), the longest outage round or, past most of the
      // budget, its pace (round size x minute / budget), jittered.
      const BackoffOptions& backoff = c.options.backoff;
      const double round_size = static_cast<double>(
          std::min<std::size_t>(kOutageSweepSize, c.endpoints));
      const double pace = kMinute * round_size / static_cast<double>(c.budget);
      const double longest = std::max(
          {kMinute + backoff.initial_ms * backoff.jitter,
           OutageDelayMs(backoff, 1000, 1), pace * (1 + 0.2 * backoff.jitter)});
      const std::vector<double> times = AttemptTimes();
      for (std::size_t i = 1; i < times.size(); ++i) {
        ASSERT_LE(times[i] - times[i - 1], longest + 1e-6) << "attempt " << i;
      }
    }
  }
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
