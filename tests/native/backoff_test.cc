#include "backoff.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sse_balancer {
namespace {

constexpr double kTolerance = 1e-9;

BackoffOptions NoJitter() {
  BackoffOptions options;
  options.jitter = 0;
  return options;
}

TEST(BackoffTest, DefaultsMatchTheDocumentedSchedule) {
  const BackoffOptions options;
  EXPECT_EQ(options.initial_ms, 1000);
  EXPECT_EQ(options.multiplier, 1.6);
  EXPECT_EQ(options.max_ms, 30000);
  EXPECT_EQ(options.jitter, 1.0);
  EXPECT_EQ(options.min_ms, 250);
  EXPECT_EQ(options.reset_after_ms, 60000);
}

TEST(BackoffTest, WithoutJitterDelaysGrowByTheMultiplierUpToTheCap) {
  const BackoffOptions options = NoJitter();
  const double expected[] = {1000,   1600,     2560,      4096,
                             6553.6, 10485.76, 16777.216, 26843.5456,
                             30000,  30000,    30000};
  for (int attempt = 0; attempt < 11; ++attempt) {
    EXPECT_NEAR(BackoffDelayMs(options, attempt, 0.0), expected[attempt],
                kTolerance)
        << "attempt " << attempt;
  }
}

TEST(BackoffTest, WithoutJitterTheRandomDrawIsIgnored) {
  const BackoffOptions options = NoJitter();
  for (double u : {0.0, 0.25, 0.5, 0.999999}) {
    EXPECT_NEAR(BackoffDelayMs(options, 3, u), 4096, kTolerance) << u;
  }
}

TEST(BackoffTest, HugeAttemptCountsStayAtTheCap) {
  const BackoffOptions options = NoJitter();
  EXPECT_EQ(BackoffDelayMs(options, 200, 0.0), 30000);
  // 1.6^5000 overflows to infinity; the cap must still apply.
  EXPECT_EQ(BackoffDelayMs(options, 5000, 0.0), 30000);
  EXPECT_EQ(BackoffDelayMs(options, std::numeric_limits<int>::max(), 0.0),
            30000);
}

TEST(BackoffTest, NegativeAttemptIsTreatedAsTheFirst) {
  EXPECT_NEAR(BackoffDelayMs(NoJitter(), -3, 0.0), 1000, kTolerance);
}

TEST(BackoffTest, FullJitterStaysBetweenTheFloorAndTheBase) {
  const BackoffOptions options;  // full jitter
  const BackoffOptions exact = NoJitter();
  for (int attempt = 0; attempt <= 12; ++attempt) {
    const double base = BackoffDelayMs(exact, attempt, 0.0);
    for (int step = 0; step < 1000; ++step) {
      const double u = step / 1000.0;
      const double delay = BackoffDelayMs(options, attempt, u);
      ASSERT_GE(delay, options.min_ms) << "attempt " << attempt << " u " << u;
      ASSERT_LE(delay, base) << "attempt " << attempt << " u " << u;
    }
  }
}

TEST(BackoffTest, FullJitterScalesTheBaseByOneMinusU) {
  const BackoffOptions options;
  EXPECT_NEAR(BackoffDelayMs(options, 0, 0.0), 1000, kTolerance);
  EXPECT_NEAR(BackoffDelayMs(options, 0, 0.5), 500, kTolerance);
  EXPECT_NEAR(BackoffDelayMs(options, 1, 0.25), 1200, kTolerance);
  EXPECT_NEAR(BackoffDelayMs(options, 20, 0.9), 3000, kTolerance);
}

TEST(BackoffTest, PartialJitterOnlyRemovesThatFractionAtMost) {
  BackoffOptions options;
  options.jitter = 0.5;
  EXPECT_NEAR(BackoffDelayMs(options, 0, 0.5), 750, kTolerance);
  EXPECT_GE(BackoffDelayMs(options, 0, 0.999999), 500);
}

TEST(BackoffTest, FloorAppliesWhenJitterDrawsNearOne) {
  const BackoffOptions options;
  EXPECT_EQ(BackoffDelayMs(options, 0, 0.9), 250);  // 100 -> floor
  EXPECT_EQ(BackoffDelayMs(options, 0, 0.999999), 250);
}

TEST(BackoffTest, FloorAppliesWhenTheInitialDelayIsBelowIt) {
  BackoffOptions options = NoJitter();
  options.initial_ms = 100;
  options.multiplier = 2;
  EXPECT_EQ(BackoffDelayMs(options, 0, 0.0), 250);  // 100
  EXPECT_EQ(BackoffDelayMs(options, 1, 0.0), 250);  // 200
  EXPECT_NEAR(BackoffDelayMs(options, 2, 0.0), 400, kTolerance);
}

TEST(BackoffTest, FloorWinsOverTheCap) {
  BackoffOptions options = NoJitter();
  options.max_ms = 100;
  options.min_ms = 300;
  EXPECT_EQ(BackoffDelayMs(options, 5, 0.0), 300);
}

}  // namespace
}  // namespace sse_balancer
