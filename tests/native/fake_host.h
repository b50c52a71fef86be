// A scripted Host for the native tests (fake clock, fake connections, a
// record of every call) and the fixture the Balancer tests share.
#ifndef SSE_BALANCER_TESTS_NATIVE_FAKE_HOST_H_
#define SSE_BALANCER_TESTS_NATIVE_FAKE_HOST_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "balancer.h"
#include "host.h"
#include "policy_registry.h"
#include "types.h"

namespace sse_balancer {
namespace test {

struct OpenedConnection {
  ConnectionId id;
  std::string url;
  double at_ms;  // fake time of the OpenConnection call
};

struct FakeTimer {
  TimerId id;
  double due_ms;
};

// Each notice also records the Balancer's readyState while the listener
// runs (what a page would read from the event's target).
struct OpenNotice {
  std::size_t endpoint;
  double at_ms;
  ReadyState ready_state;
};

struct ErrorNotice {
  std::size_t endpoint;
  FailureReason reason;
  ReadyState ready_state;
};

struct FailoverNotice {
  std::optional<std::size_t> from;
  std::size_t to;
  FailureReason reason;
  ReadyState ready_state;
};

// Time moves only through Advance*/AdvanceToNextTimer, which fire due timers
// in time order (ties in start order) by calling Balancer::OnTimer. Misuse of
// the Host contract (closing an unknown connection, reusing an id, cancelling
// an unknown timer) is collected in host_errors() instead of crashing.
class FakeHost : public Host {
 public:
  // Safety net: this many timers firing without the clock moving means the
  // Balancer is spinning on zero-delay timers.
  static constexpr int kMaxFiresAtOneInstant = 1000;

  void set_balancer(Balancer* balancer) { balancer_ = balancer; }

  // Re-entrancy: make the given notification call balancer->Close(), as a
  // page listener calling es.close() would.
  void set_close_on_open(bool value) { close_on_open_ = value; }
  void set_close_on_error(bool value) { close_on_error_ = value; }
  void set_close_on_failover(bool value) { close_on_failover_ = value; }

  void Advance(double ms) { AdvanceTo(now_ + ms); }

  void AdvanceTo(double target_ms) {
    int fires_at_this_instant = 0;
    double instant = now_;
    for (;;) {
      auto next = NextTimer();
      if (next == timers_.end() || next->due_ms > target_ms) break;
      const FakeTimer timer = *next;
      timers_.erase(next);
      if (timer.due_ms > now_) now_ = timer.due_ms;
      if (now_ != instant) {
        instant = now_;
        fires_at_this_instant = 0;
      }
      if (++fires_at_this_instant > kMaxFiresAtOneInstant) {
        ADD_FAILURE() << "timers keep firing at t=" << now_
                      << " without the clock moving";
        return;
      }
      Fire(timer.id);
    }
    if (target_ms > now_) now_ = target_ms;
  }

  // Jumps to the earliest pending timer and fires it (and any others due at
  // that same time). Returns false when no timer is pending.
  bool AdvanceToNextTimer() {
    auto next = NextTimer();
    if (next == timers_.end()) return false;
    AdvanceTo(next->due_ms);
    return true;
  }

  // Host:
  void OpenConnection(ConnectionId id, const std::string& url) override {
    log_.push_back("open " + std::to_string(id));
    if (!used_connection_ids_.insert(id).second) {
      host_errors_.push_back("connection id reused: " + std::to_string(id));
    }
    opened_.push_back({id, url, now_});
    open_ids_.insert(id);
    if (open_ids_.size() > max_open_) max_open_ = open_ids_.size();
  }

  void CloseConnection(ConnectionId id) override {
    log_.push_back("close " + std::to_string(id));
    closed_.push_back(id);
    if (open_ids_.erase(id) == 0) {
      host_errors_.push_back("closed a connection that is not open: " +
                             std::to_string(id));
    }
  }

  void StartTimer(TimerId id, double delay_ms) override {
    log_.push_back("timer " + std::to_string(id));
    if (!used_timer_ids_.insert(id).second) {
      host_errors_.push_back("timer id reused: " + std::to_string(id));
    }
    if (delay_ms < 0) {
      host_errors_.push_back("negative timer delay");
    }
    started_timers_.push_back({id, now_ + delay_ms});
    timers_.push_back({id, now_ + delay_ms});
  }

  void CancelTimer(TimerId id) override {
    log_.push_back("cancel " + std::to_string(id));
    cancelled_timers_.push_back(id);
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->id == id) {
        timers_.erase(it);
        return;
      }
    }
    host_errors_.push_back("cancelled a timer that is not pending: " +
                           std::to_string(id));
  }

  double NowMs() override { return now_; }

  void NotifyOpen(std::size_t endpoint) override {
    log_.push_back("notify-open " + std::to_string(endpoint));
    open_notices_.push_back({endpoint, now_, CurrentReadyState()});
    if (close_on_open_) balancer_->Close();
  }

  void NotifyError(std::size_t endpoint, FailureReason reason) override {
    log_.push_back("notify-error " + std::to_string(endpoint) + " " +
                   std::string(ToString(reason)));
    error_notices_.push_back({endpoint, reason, CurrentReadyState()});
    if (close_on_error_) balancer_->Close();
  }

  void NotifyFailover(std::optional<std::size_t> from, std::size_t to,
                      FailureReason reason) override {
    log_.push_back("notify-failover " +
                   (from ? std::to_string(*from) : std::string("none")) + "->" +
                   std::to_string(to) + " " + std::string(ToString(reason)));
    failover_notices_.push_back({from, to, reason, CurrentReadyState()});
    if (close_on_failover_) balancer_->Close();
  }

  // Records.
  double now() const { return now_; }
  const std::vector<OpenedConnection>& opened() const { return opened_; }
  const std::vector<ConnectionId>& closed() const { return closed_; }
  const std::set<ConnectionId>& open_ids() const { return open_ids_; }
  std::size_t max_open() const { return max_open_; }
  // Pending timers, in start order.
  const std::vector<FakeTimer>& timers() const { return timers_; }
  const std::vector<FakeTimer>& started_timers() const {
    return started_timers_;
  }
  const std::vector<TimerId>& cancelled_timers() const {
    return cancelled_timers_;
  }
  const std::vector<OpenNotice>& open_notices() const { return open_notices_; }
  const std::vector<ErrorNotice>& error_notices() const {
    return error_notices_;
  }
  const std::vector<FailoverNotice>& failover_notices() const {
    return failover_notices_;
  }
  // Every Host call in order: "open 2", "close 1", "timer 1", "cancel 1",
  // "fire 1", "notify-open 0", "notify-error 0 network",
  // "notify-failover 0->1 http".
  const std::vector<std::string>& log() const { return log_; }
  const std::vector<std::string>& host_errors() const { return host_errors_; }

 private:
  ReadyState CurrentReadyState() const {
    return balancer_ ? balancer_->ready_state() : ReadyState::kClosed;
  }

  std::vector<FakeTimer>::iterator NextTimer() {
    auto best = timers_.end();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (best == timers_.end() || it->due_ms < best->due_ms) best = it;
    }
    return best;
  }

  void Fire(TimerId id) {
    log_.push_back("fire " + std::to_string(id));
    if (balancer_ == nullptr) {
      host_errors_.push_back("timer fired with no balancer set");
      return;
    }
    balancer_->OnTimer(id);
  }

  Balancer* balancer_ = nullptr;
  double now_ = 0;
  bool close_on_open_ = false;
  bool close_on_error_ = false;
  bool close_on_failover_ = false;

  std::vector<OpenedConnection> opened_;
  std::vector<ConnectionId> closed_;
  std::set<ConnectionId> open_ids_;
  std::set<ConnectionId> used_connection_ids_;
  std::size_t max_open_ = 0;
  std::vector<FakeTimer> timers_;
  std::vector<FakeTimer> started_timers_;
  std::set<TimerId> used_timer_ids_;
  std::vector<TimerId> cancelled_timers_;
  std::vector<OpenNotice> open_notices_;
  std::vector<ErrorNotice> error_notices_;
  std::vector<FailoverNotice> failover_notices_;
  std::vector<std::string> log_;
  std::vector<std::string> host_errors_;
};

// Builds a Balancer over FakeHost and drives its most recent connection.
// TearDown checks the invariants every scenario must keep: never more than
// one connection open, and no misuse of the Host.
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
  static BalancerOptions ExactOptions() {
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
                            std::string_view policy, BalancerOptions options) {
    std::unique_ptr<Policy> made = MakePolicy(policy);
    ASSERT_NE(made, nullptr) << policy;
    balancer_ = std::make_unique<Balancer>(std::move(urls), std::move(options),
                                           std::move(made), host_);
    host_.set_balancer(balancer_.get());
  }

  void TearDown() override { ExpectHostInvariants(); }

  void ExpectHostInvariants() {
    EXPECT_LE(host_.max_open(), 1u) << "two connections were open at once";
    EXPECT_TRUE(host_.host_errors().empty())
        << "first Host misuse: " << host_.host_errors().front();
  }

  // For tests that loop over seeds: checks the invariants of the run so
  // far, then drops the Balancer and starts again on a fresh FakeHost.
  void ResetForNextRun() {
    ExpectHostInvariants();
    balancer_.reset();
    host_ = FakeHost();
  }

  Balancer& balancer() { return *balancer_; }

  ConnectionId LastConnectionId() const {
    EXPECT_FALSE(host_.opened().empty());
    return host_.opened().empty() ? 0 : host_.opened().back().id;
  }
  const std::string& LastUrl() const { return host_.opened().back().url; }
  std::size_t LastEndpoint() const { return EndpointOfUrl(LastUrl()); }
  std::size_t ConnectionCount() const { return host_.opened().size(); }

  // The most recent connection reports `open`.
  void OpenActive() { balancer_->OnOpen(LastConnectionId()); }
  // The most recent connection reports `error`.
  void FailActive(bool browser_gave_up = false) {
    balancer_->OnError(LastConnectionId(), browser_gave_up);
  }
  // The most recent connection delivers an event whose lastEventId (as the
  // browser reports it) is `last_event_id`.
  int Message(std::string_view last_event_id) {
    return balancer_->OnMessage(LastConnectionId(), last_event_id);
  }

  const Endpoint& EndpointAt(std::size_t index) {
    return balancer_->endpoints().at(index);
  }

  FakeHost host_;
  std::unique_ptr<Balancer> balancer_;  // after host_: destroyed first
};

}  // namespace test
}  // namespace sse_balancer

#endif  // SSE_BALANCER_TESTS_NATIVE_FAKE_HOST_H_
