// Endpoint lists that change while the stream runs (Balancer::SetEndpoints).
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "balancer.h"
#include "balancer_fixture.h"

namespace sse_balancer::test {
namespace {

class EndpointsTest : public MovingStreamTest {
 protected:
  void Streaming() {
    StreamOn({"1"});
    here_ = LastEndpoint();
    url_ = EndpointAt(here_).url;
  }

  std::vector<std::string> UrlsBut(std::size_t skip, bool add_one = false) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < 3; ++i) {
      if (i != skip) out.push_back(Url(i));
    }
    if (add_one) out.push_back("https://new.example/events");
    return out;
  }

  // The other two cool down (failed requests), then the streaming endpoint
  // is removed: there is nowhere to move yet.
  void RemoveItWithTheOthersCooling() {
    for (std::size_t i = 0; i < 3; ++i) {
      if (i != here_) balancer().OnRequestFailed(i);
    }
    balancer().SetEndpoints(UrlsBut(here_), {});
  }

  std::size_t here_ = 0;
  std::string url_;
};

TEST_F(EndpointsTest, AnAddedEndpointJoinsIdleAndTheOthersKeepTheirState) {
  Streaming();
  std::vector<std::string> urls = {Url(0), Url(1), Url(2),
                                   "https://new.example/events"};
  balancer().SetEndpoints(urls, {1, 1, 1, 3});
  ASSERT_EQ(balancer().endpoints().size(), 4u);
  EXPECT_EQ(host_.endpoints_changed(), 1);
  EXPECT_EQ(balancer().active_endpoint(), std::optional<std::size_t>(here_));
  EXPECT_EQ(EndpointAt(here_).counters.messages, 1u);
  EXPECT_EQ(EndpointAt(3).state(), EndpointState::kIdle);
  EXPECT_EQ(EndpointAt(3).weight, 3);
  EXPECT_EQ(ConnectionCount(), 1u);  // nothing moves
}

TEST_F(EndpointsTest, ARemovedIdleEndpointGoesAndIndicesFollow) {
  Streaming();
  const std::size_t other = (here_ + 1) % 3;
  balancer().SetEndpoints(UrlsBut(other), {});
  ASSERT_EQ(balancer().endpoints().size(), 2u);
  const auto active = balancer().active_endpoint();
  ASSERT_TRUE(active.has_value());
  EXPECT_EQ(EndpointAt(*active).url, url_);
  EXPECT_EQ(balancer().OnMessage(LastConnectionId(), "2"), active);
}

TEST_F(EndpointsTest, RemovingTheStreamingEndpointMovesOffItWithoutLoss) {
  Streaming();
  const ConnectionId old = LastConnectionId();
  balancer().SetEndpoints(UrlsBut(here_, true), {});
  // Still there, retired, until the stream has left it.
  ASSERT_EQ(balancer().endpoints().size(), 4u);
  EXPECT_TRUE(balancer().endpoints().back().retired);
  EXPECT_EQ(balancer().endpoints().back().url, url_);
  host_.Advance(0);
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId next = LastConnectionId();
  EXPECT_NE(host_.opened().back().url.find("lastEventId=1"), std::string::npos);
  EXPECT_EQ(balancer().OnMessage(old, "2").has_value(), true);
  balancer().OnOpen(next);
  ASSERT_TRUE(balancer().OnMessage(next, "3").has_value());
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  ASSERT_EQ(balancer().endpoints().size(), 3u);  // the removed one is gone
  for (const Endpoint& e : balancer().endpoints()) EXPECT_NE(e.url, url_);
  EXPECT_TRUE(host_.error_notices().empty());
  EXPECT_EQ(host_.failover_notices().back().reason, FailureReason::kDrain);
  EXPECT_EQ(host_.endpoints_changed(), 2);  // the new list, then the purge
}

TEST_F(EndpointsTest, ARemovedEndpointIsNeverPickedAgain) {
  Streaming();
  balancer().SetEndpoints(UrlsBut(here_), {});
  host_.Advance(0);
  // The move's new stream fails: the stream stays where it is and tries to
  // leave again later; no connection and no request ever goes to the
  // removed endpoint.
  balancer().OnError(LastConnectionId(), ConnectionError::kGaveUp);
  for (int i = 0; i < 5 && host_.AdvanceToNextTimer(); ++i) {
  }
  ASSERT_GE(ConnectionCount(), 3u);
  for (std::size_t i = 1; i < host_.opened().size(); ++i) {
    EXPECT_NE(host_.opened()[i].url.rfind(url_, 0), 0u)
        << host_.opened()[i].url;
  }
  for (int i = 0; i < 20; ++i) {
    const auto pick = balancer().PickForRequest({});
    ASSERT_TRUE(pick.has_value());
    EXPECT_FALSE(balancer().endpoints()[*pick].retired);
  }
}

TEST_F(EndpointsTest, AStandbyOnARemovedEndpointIsGivenUpAndTheMovePicksAgain) {
  Streaming();
  const ConnectionId old = LastConnectionId();
  balancer().OnDrain(old, 1000);
  host_.Advance(800);
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId standby = LastConnectionId();
  const std::string standby_url = EndpointAt(LastEndpoint()).url;
  // The endpoint the stream was moving to is removed.
  std::vector<std::string> urls;
  for (std::size_t i = 0; i < 3; ++i) {
    if (Url(i) != standby_url) urls.push_back(Url(i));
  }
  urls.push_back("https://new.example/events");
  balancer().SetEndpoints(urls, {});
  EXPECT_EQ(host_.open_ids().count(standby), 0u);
  host_.Advance(0);
  ASSERT_EQ(ConnectionCount(), 3u);
  // Neither the removed endpoint nor the draining one.
  EXPECT_NE(host_.opened().back().url.rfind(standby_url, 0), 0u);
  EXPECT_NE(host_.opened().back().url.rfind(url_, 0), 0u);
  const ConnectionId next = LastConnectionId();
  balancer().OnOpen(next);
  ASSERT_TRUE(balancer().OnMessage(next, "2").has_value());
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  EXPECT_TRUE(host_.error_notices().empty());
}

TEST_F(EndpointsTest, WithNowhereToGoTheStreamStaysAndLeavesOnceItCan) {
  Streaming();
  RemoveItWithTheOthersCooling();
  host_.Advance(0);
  EXPECT_EQ(ConnectionCount(), 1u);  // stays: nothing to move to yet
  // Once a cool-down ends, it moves; it never stays on the removed one.
  for (int i = 0; i < 10 && ConnectionCount() == 1; ++i) {
    host_.AdvanceToNextTimer();
  }
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId next = LastConnectionId();
  balancer().OnOpen(next);
  ASSERT_TRUE(balancer().OnMessage(next, "2").has_value());
  ASSERT_EQ(balancer().endpoints().size(), 2u);
  for (const Endpoint& e : balancer().endpoints()) EXPECT_NE(e.url, url_);
}

TEST_F(EndpointsTest, TheRemovedStreamFailingLeavesNoRetiredEndpointBehind) {
  Streaming();
  // When the stream fails, every endpoint of the new list is down: the
  // balancer sweeps.
  RemoveItWithTheOthersCooling();
  // Its server dies before the move: every later attempt, outage sweeps
  // included, goes to the endpoints of the new list only.
  const std::size_t failovers = host_.failover_notices().size();
  balancer().OnError(LastConnectionId(), ConnectionError::kRetrying);
  // The first connection after it is a failover the page hears of.
  for (int i = 0; i < 5 && host_.open_ids().empty(); ++i) {
    host_.AdvanceToNextTimer();
  }
  ASSERT_FALSE(host_.open_ids().empty());
  EXPECT_EQ(host_.failover_notices().size(), failovers + 1);
  for (int i = 0; i < 12; ++i) {
    if (host_.open_ids().empty()) {
      host_.AdvanceToNextTimer();
      continue;
    }
    balancer().OnError(LastConnectionId(), ConnectionError::kRetrying);
  }
  for (std::size_t i = 1; i < host_.opened().size(); ++i) {
    EXPECT_NE(host_.opened()[i].url.rfind(url_, 0), 0u)
        << host_.opened()[i].url;
  }
  // It is gone once a connection left it.
  EXPECT_EQ(balancer().endpoints().size(), 2u);
}

TEST_F(EndpointsTest, AQuietNewStreamTakesOverWithoutBlamingAnyone) {
  Streaming();
  const ConnectionId old = LastConnectionId();
  balancer().SetEndpoints(UrlsBut(here_), {});
  host_.Advance(0);
  ASSERT_EQ(ConnectionCount(), 2u);
  const ConnectionId next = LastConnectionId();
  balancer().OnOpen(next);
  // No event on either stream (a quiet chat): it takes over all the same.
  host_.Advance(kStandbyQuietMs);
  EXPECT_EQ(host_.open_ids(), std::set<ConnectionId>{next});
  EXPECT_EQ(balancer().active_connection(), next);
  EXPECT_EQ(balancer().OnMessage(old, "2"), std::nullopt);
  EXPECT_TRUE(balancer().OnMessage(next, "2").has_value());
  for (const Endpoint& e : balancer().endpoints()) {
    EXPECT_EQ(e.counters.failures, 0u) << e.url;
    EXPECT_NE(e.url, url_);
  }
  EXPECT_EQ(host_.failover_notices().back().reason, FailureReason::kDrain);
}

TEST_F(EndpointsTest, ListedAgainWhileMovingTheStreamStaysWhereItIs) {
  Streaming();
  balancer().SetEndpoints(UrlsBut(here_), {});
  host_.Advance(0);
  ASSERT_EQ(ConnectionCount(), 2u);  // leaving it: a new stream beside it
  const std::string moving_to = EndpointAt(LastEndpoint()).url;
  // The next list drops where it was going and lists it again.
  std::vector<std::string> urls = {url_};
  for (std::size_t i = 0; i < 3; ++i) {
    if (Url(i) != url_ && Url(i) != moving_to) urls.push_back(Url(i));
  }
  balancer().SetEndpoints(urls, {});
  host_.Advance(0);
  EXPECT_EQ(ConnectionCount(), 2u);  // no third connection: no move
  EXPECT_EQ(host_.open_ids().size(), 1u);
  EXPECT_EQ(EndpointAt(*balancer().active_endpoint()).url, url_);
  for (const Endpoint& e : balancer().endpoints()) EXPECT_FALSE(e.retired);
}

TEST_F(EndpointsTest, AListWithoutWeightsKeepsTheWeightsItHad) {
  MakeBalancer(3, "weighted");
  balancer().SetEndpoints({Url(0), Url(1), Url(2)}, {1, 2, 3});
  balancer().SetEndpoints({Url(0), Url(1), Url(2), "https://new.example/e"},
                          {});
  EXPECT_EQ(EndpointAt(0).weight, 1);
  EXPECT_EQ(EndpointAt(1).weight, 2);
  EXPECT_EQ(EndpointAt(2).weight, 3);
  EXPECT_EQ(EndpointAt(3).weight, 1);
  // 0 (not given) keeps it too; a weight given replaces it.
  balancer().SetEndpoints({Url(0), Url(1), Url(2)}, {0, 5, 0});
  EXPECT_EQ(EndpointAt(1).weight, 5);
  EXPECT_EQ(EndpointAt(2).weight, 3);
}

TEST_F(EndpointsTest, TheStreamingEndpointListedAgainIsKept) {
  Streaming();
  balancer().SetEndpoints(UrlsBut(here_), {});
  // Before the move starts, a list with it again: it stays, un-retired.
  std::vector<std::string> urls = UrlsBut(here_);
  urls.push_back(url_);
  balancer().SetEndpoints(urls, {});
  host_.Advance(0);
  EXPECT_EQ(ConnectionCount(), 1u);  // no move: it was listed again in time
  for (const Endpoint& e : balancer().endpoints()) EXPECT_FALSE(e.retired);
  EXPECT_EQ(EndpointAt(*balancer().active_endpoint()).url, url_);
  EXPECT_EQ(balancer().endpoints().size(), 3u);
}

}  // namespace
}  // namespace sse_balancer::test
