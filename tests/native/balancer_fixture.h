// The fixture the Balancer tests share: builds a Balancer over FakeHost and
// drives its most recent connection.
#ifndef SSE_BALANCER_TESTS_NATIVE_BALANCER_FIXTURE_H_
#define SSE_BALANCER_TESTS_NATIVE_BALANCER_FIXTURE_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "balancer.h"
#include "fake_host.h"
#include "policy_registry.h"
#include "round_robin_policy.h"
#include "types.h"

namespace sse_balancer {
namespace test {

// TearDown checks the invariants every scenario must keep: never more than
// one connection open, no misuse of the Host, and every connection opened
// to the URL of the endpoint the Balancer named.
/// What the fixture's Message() returns for an event that is not delivered.
inline constexpr int kDropEvent = -1;

class BalancerTest : public ::testing::Test {
 protected:
  // "http://127.0.0.1:900N/events" for endpoint N.
  static std::string Url(std::size_t index) {
    return "http://127.0.0.1:" + std::to_string(9000 + index) + "/events";
  }

  // The endpoint index a connection URL points at (its port minus 9000);
  // any path, query or fragment is ignored.
  static std::size_t EndpointOfUrl(std::string_view url) {
    constexpr std::string_view kHost = "127.0.0.1:";
    const std::size_t at = url.find(kHost);
    EXPECT_NE(at, std::string_view::npos) << url;
    if (at == std::string_view::npos) return SIZE_MAX;
    std::size_t port = 0;
    for (std::size_t i = at + kHost.size();
         i < url.size() && url[i] >= '0' && url[i] <= '9'; ++i) {
      port = port * 10 + static_cast<std::size_t>(url[i] - '0');
    }
    return port - 9000;
  }

  // The library defaults with jitter off, so every delay is exact:
  // cool-downs 1000, 1600, 2560, ... ms, floor 250 ms, reset after 60 s.
  // The features that act on their own are off, so that a test sees only
  // what it drives: no outlier ejection, no connect-timeout watchdog (its
  // timer would be pending after every connect), no retry budget. Their own
  // tests (ejection_test.cc, watchdog_test.cc, retry_budget_test.cc) turn
  // them on; DefaultsWithoutJitter() keeps every default.
  static BalancerOptions ExactOptions() {
    BalancerOptions options = DefaultsWithoutJitter();
    options.ejection.after_failures = 0;
    options.watchdog.connect_timeout_ms = 0;
    options.max_connects_per_minute = 0;
    return options;
  }

  // Every library default except the jitter.
  static BalancerOptions DefaultsWithoutJitter() {
    BalancerOptions options;
    options.backoff.jitter = 0;
    return options;
  }

  void MakeBalancer(std::size_t url_count,
                    std::string_view policy = "round-robin",
                    BalancerOptions options = ExactOptions(),
                    std::uint64_t seed = 1) {
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < url_count; ++i) urls.push_back(Url(i));
    options.seed = seed;
    MakeBalancerWithUrls(std::move(urls), policy, std::move(options));
  }

  // Uses `options.seed` as given.
  void MakeBalancerWithUrls(std::vector<std::string> urls,
                            std::string_view policy, BalancerOptions options,
                            std::string_view sticky_key = "") {
    std::unique_ptr<Policy> made = MakePolicy(policy, sticky_key);
    ASSERT_NE(made, nullptr) << policy;
    // The Balancer owns the policy; keep a view of a round-robin one for
    // Order().
    round_robin_ = dynamic_cast<const RoundRobinPolicy*>(made.get());
    balancer_ = std::make_unique<Balancer>(std::move(urls), std::move(options),
                                           std::move(made), host_);
    host_.set_balancer(balancer_.get());
  }

  void TearDown() override { ExpectHostInvariants(); }

  void ExpectHostInvariants() {
    EXPECT_LE(host_.max_open(), max_open_allowed_)
        << "more connections were open at once than the test allows";
    EXPECT_TRUE(host_.host_errors().empty())
        << "first Host misuse: " << host_.host_errors().front();
    // After a new endpoint list, old connections' indices name other endpoints.
    if (balancer_ == nullptr || host_.endpoints_changed() > 0) return;
    for (const OpenedConnection& connection : host_.opened()) {
      ASSERT_LT(connection.endpoint, balancer_->endpoints().size());
      // The endpoint's URL up to its query or fragment, which the resume id
      // may change.
      const std::string& url = balancer_->endpoints()[connection.endpoint].url;
      const std::string base = url.substr(0, url.find_first_of("?#"));
      EXPECT_EQ(connection.url.compare(0, base.size(), base), 0)
          << "connection " << connection.id << " to endpoint "
          << connection.endpoint << " opened " << connection.url;
    }
  }

  // For tests that loop over seeds: checks the invariants of the run so
  // far, then drops the Balancer and starts again on a fresh FakeHost.
  void ResetForNextRun() {
    ExpectHostInvariants();
    round_robin_ = nullptr;
    balancer_.reset();
    host_ = FakeHost();
  }

  // The round-robin client's own order of the endpoints (RoundRobinPolicy::
  // order(): drawn on its first pick, so empty before Start()). Fails the
  // test when the policy is not round-robin.
  const std::vector<std::size_t>& Order() const {
    static const std::vector<std::size_t> kNone;
    EXPECT_NE(round_robin_, nullptr) << "the policy is not round-robin";
    return round_robin_ != nullptr ? round_robin_->order() : kNone;
  }

  // The endpoint `steps` places after `endpoint` in Order(), wrapping.
  std::size_t AfterInOrder(std::size_t endpoint, std::size_t steps = 1) const {
    const std::vector<std::size_t>& order = Order();
    std::size_t at = 0;
    while (at < order.size() && order[at] != endpoint) ++at;
    EXPECT_LT(at, order.size()) << "endpoint " << endpoint << " not in order";
    if (at == order.size()) return SIZE_MAX;
    return order[(at + steps) % order.size()];
  }

  Balancer& balancer() { return *balancer_; }

  ConnectionId LastConnectionId() const {
    EXPECT_FALSE(host_.opened().empty());
    return host_.opened().empty() ? 0 : host_.opened().back().id;
  }
  const std::string& LastUrl() const { return host_.opened().back().url; }
  // The endpoint the Balancer named for its most recent connection.
  std::size_t LastEndpoint() const { return host_.opened().back().endpoint; }
  double LastAttemptAt() const { return host_.opened().back().at_ms; }
  std::size_t ConnectionCount() const { return host_.opened().size(); }

  // The most recent connection reports `open`.
  void OpenActive() { balancer_->OnOpen(LastConnectionId()); }
  // The most recent connection reports `error` with what the host can tell
  // (kRetrying: EventSource CONNECTING; kGaveUp: CLOSED; kNoUrl).
  void FailActive(ConnectionError error = ConnectionError::kRetrying) {
    balancer_->OnError(LastConnectionId(), error);
  }
  // The most recent connection delivers an event whose lastEventId (as the
  // browser reports it) is `last_event_id`. The endpoint it is delivered
  // through, or kDropEvent.
  int Message(std::string_view last_event_id) {
    const auto endpoint =
        balancer_->OnMessage(LastConnectionId(), last_event_id);
    return endpoint ? static_cast<int>(*endpoint) : kDropEvent;
  }

  const Endpoint& EndpointAt(std::size_t index) {
    return balancer_->endpoints().at(index);
  }

  // Endpoints ejected right now (state kEjected and the ejection not over).
  std::size_t EjectedNow() {
    std::size_t count = 0;
    for (const Endpoint& endpoint : balancer_->endpoints()) {
      if (endpoint.health.EjectedAt(host_.now())) {
        ++count;
      }
    }
    return count;
  }

  FakeHost host_;
  /// One, except while a drain moves the stream (make before break): two.
  std::size_t max_open_allowed_ = 1;
  std::unique_ptr<Balancer> balancer_;  // after host_: destroyed first
  // The Balancer's policy when it is round-robin, else null.
  const RoundRobinPolicy* round_robin_ = nullptr;
};

// For tests of a stream that moves (a drain, a new endpoint list, a
// rebalance): the old and the new connection may be open together.
class MovingStreamTest : public BalancerTest {
 protected:
  void SetUp() override { max_open_allowed_ = 2; }

  // Three endpoints, the stream open on one of them, `ids` delivered.
  void StreamOn(std::initializer_list<const char*> ids) {
    MakeBalancer(3);
    balancer().Start();
    OpenActive();
    for (const char* id : ids) ASSERT_NE(Message(id), kDropEvent);
  }
};

// Endpoints for a policy's Pick, one per value, each with that value in
// `field` (&Endpoint::weight, &Endpoint::load).
inline std::vector<Endpoint> EndpointsWith(const std::vector<double>& values,
                                           double Endpoint::*field) {
  std::vector<Endpoint> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    out[i].url = "https://backend-" + std::to_string(i) + ".example/events";
    out[i].*field = values[i];
  }
  return out;
}

}  // namespace test
}  // namespace sse_balancer

#endif  // SSE_BALANCER_TESTS_NATIVE_BALANCER_FIXTURE_H_
