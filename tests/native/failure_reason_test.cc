// What the host can tell about a failure (OnError's hint) and what the page
// is told (NotifyError / NotifyFailover / counters).
#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

TEST(FailureReasonTest, NamesArePartOfThePublicApi) {
  EXPECT_EQ(ToString(FailureReason::kNone), "");
  EXPECT_EQ(ToString(FailureReason::kNetwork), "network");
  EXPECT_EQ(ToString(FailureReason::kHttp), "http");
  EXPECT_EQ(ToString(FailureReason::kStall), "stall");
  EXPECT_EQ(ToString(FailureReason::kClosed), "closed");
  EXPECT_EQ(ToString(FailureReason::kProvider), "provider");
  EXPECT_EQ(ToString(FailureReason::kDrain), "drain");
  EXPECT_EQ(ToString(FailureReason::kRebalance), "rebalance");
}

TEST(FailureReasonTest, NumbersAreStableAndCounted) {
  // The numbers cross to JS and index failures_by_reason.
  EXPECT_EQ(static_cast<int>(FailureReason::kNone), 0);
  EXPECT_EQ(static_cast<int>(FailureReason::kNetwork), 1);
  EXPECT_EQ(static_cast<int>(FailureReason::kHttp), 2);
  EXPECT_EQ(static_cast<int>(FailureReason::kStall), 3);
  EXPECT_EQ(static_cast<int>(FailureReason::kClosed), 4);
  EXPECT_EQ(static_cast<int>(FailureReason::kProvider), 5);
  EXPECT_EQ(static_cast<int>(FailureReason::kDrain), 6);
  EXPECT_EQ(static_cast<int>(FailureReason::kRebalance), 7);
  EXPECT_EQ(kFailureReasonCount, 8);
  EXPECT_EQ(EndpointCounters{}.failures_by_reason.size(), 8u);
  std::set<std::string_view> names;
  for (int i = 0; i < kFailureReasonCount; ++i) {
    names.insert(ToString(static_cast<FailureReason>(i)));
  }
  EXPECT_EQ(names.size(), 8u);
}

TEST(EndpointStateTest, NamesArePartOfThePublicApi) {
  EXPECT_EQ(ToString(EndpointState::kIdle), "idle");
  EXPECT_EQ(ToString(EndpointState::kConnecting), "connecting");
  EXPECT_EQ(ToString(EndpointState::kOpen), "open");
  EXPECT_EQ(ToString(EndpointState::kCoolingDown), "cooling-down");
  EXPECT_EQ(ToString(EndpointState::kEjected), "ejected");
  EXPECT_EQ(static_cast<int>(EndpointState::kEjected), 4);
}

struct MappingCase {
  ConnectionError hint;
  bool opened;  // the stream had opened before the error
  FailureReason reported;
};

const char* NameOf(ConnectionError error) {
  switch (error) {
    case ConnectionError::kRetrying:
      return "retrying";
    case ConnectionError::kGaveUp:
      return "gaveUp";
    case ConnectionError::kNoUrl:
      return "noUrl";
  }
  return "";
}

std::ostream& operator<<(std::ostream& out, const MappingCase& c) {
  return out << NameOf(c.hint) << (c.opened ? " after" : " before") << " open";
}

class ReasonMappingTest : public BalancerTest,
                          public ::testing::WithParamInterface<MappingCase> {};

TEST_P(ReasonMappingTest, ErrorFailoverAndCountersReportTheMappedReason) {
  const MappingCase& c = GetParam();
  MakeBalancer(2);
  balancer().Start();
  const std::size_t from = LastEndpoint();
  if (c.opened) OpenActive();
  host_.Advance(100);
  FailActive(c.hint);
  const std::size_t to = LastEndpoint();
  ASSERT_NE(to, from);

  ASSERT_EQ(host_.error_notices().size(), 1u);
  EXPECT_EQ(host_.error_notices()[0].endpoint, from);
  EXPECT_EQ(host_.error_notices()[0].reason, c.reported);
  ASSERT_EQ(host_.failover_notices().size(), 1u);
  EXPECT_EQ(host_.failover_notices()[0].from, std::optional<std::size_t>(from));
  EXPECT_EQ(host_.failover_notices()[0].reason, c.reported);
  const EndpointCounters& counters = EndpointAt(from).counters;
  EXPECT_EQ(counters.last_error, c.reported);
  EXPECT_EQ(counters.failures, 1u);
  for (int i = 0; i < kFailureReasonCount; ++i) {
    EXPECT_EQ(counters.failures_by_reason[i],
              i == static_cast<int>(c.reported) ? 1u : 0u)
        << ToString(static_cast<FailureReason>(i));
  }
  // Every reason cools the endpoint down the same way.
  EXPECT_EQ(EndpointAt(from).state(), EndpointState::kCoolingDown);
  EXPECT_EQ(EndpointAt(from).health.cooldown_until_ms(), 1100);
}

INSTANTIATE_TEST_SUITE_P(
    Hints, ReasonMappingTest,
    ::testing::Values(
        // The browser would retry; nothing had arrived: a network failure.
        MappingCase{ConnectionError::kRetrying, false, FailureReason::kNetwork},
        // The browser would retry a stream that had opened: it ended.
        MappingCase{ConnectionError::kRetrying, true, FailureReason::kClosed},
        MappingCase{ConnectionError::kGaveUp, false, FailureReason::kHttp},
        MappingCase{ConnectionError::kGaveUp, true, FailureReason::kHttp},
        MappingCase{ConnectionError::kNoUrl, false, FailureReason::kProvider},
        MappingCase{ConnectionError::kNoUrl, true, FailureReason::kProvider}),
    [](const ::testing::TestParamInfo<MappingCase>& info) {
      return std::string(NameOf(info.param.hint)) +
             (info.param.opened ? "AfterOpen" : "BeforeOpen");
    });

TEST_F(BalancerTest, ClosedIsJudgedPerConnection) {
  // a opened and dropped (closed); b's attempt is refused before it opens
  // (network), although an earlier stream had been open.
  MakeBalancer(3);
  balancer().Start();
  OpenActive();
  FailActive(ConnectionError::kRetrying);
  FailActive(ConnectionError::kRetrying);
  ASSERT_EQ(host_.error_notices().size(), 2u);
  EXPECT_EQ(host_.error_notices()[0].reason, FailureReason::kClosed);
  EXPECT_EQ(host_.error_notices()[1].reason, FailureReason::kNetwork);
  EXPECT_EQ(host_.failover_notices().back().reason, FailureReason::kNetwork);
}

TEST_F(BalancerTest, TheLastErrorRemembersWhenItHappened) {
  MakeBalancer(2);
  host_.Advance(1234.5);
  balancer().Start();
  const std::size_t first = LastEndpoint();
  OpenActive();
  host_.Advance(100);
  FailActive(ConnectionError::kRetrying);
  const EndpointCounters& counters = EndpointAt(first).counters;
  EXPECT_EQ(counters.last_error, FailureReason::kClosed);
  EXPECT_DOUBLE_EQ(counters.last_error_at_ms, 1334.5);
  // The other endpoint never failed: no time is recorded for it.
  EXPECT_EQ(EndpointAt(1 - first).counters.last_error, FailureReason::kNone);
  EXPECT_DOUBLE_EQ(EndpointAt(1 - first).counters.last_error_at_ms, 0);
}

TEST_F(BalancerTest, ProviderFailuresFailOverLikeAnyOther) {
  MakeBalancer(1);
  balancer().Start();
  FailActive(ConnectionError::kNoUrl);
  EXPECT_TRUE(host_.open_ids().empty());
  EXPECT_TRUE(balancer().retry_pending());
  host_.Advance(1000);
  EXPECT_EQ(ConnectionCount(), 2u);
  EXPECT_EQ(EndpointAt(0).counters.last_error, FailureReason::kProvider);
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
