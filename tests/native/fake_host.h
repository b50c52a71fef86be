// A scripted Host (fake clock, fake connections, a record of every call),
// shared by the native tests (see balancer_fixture.h) and the fuzzer
// (tests/fuzz). It does not depend on GoogleTest: misuse of the Host
// contract is collected in host_errors() for the caller to check.
#ifndef SSE_BALANCER_TESTS_NATIVE_FAKE_HOST_H_
#define SSE_BALANCER_TESTS_NATIVE_FAKE_HOST_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "balancer.h"
#include "host.h"
#include "types.h"

namespace sse_balancer {
namespace test {

struct OpenedConnection {
  ConnectionId id;
  std::size_t endpoint;  // as the Balancer named it
  std::string url;
  double at_ms;  // fake time of the OpenConnection call
};

struct FakeTimer {
  TimerId id;
  double due_ms;
  double delay_ms;  // as requested
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
  double at_ms;
};

struct FailoverNotice {
  std::optional<std::size_t> from;
  std::size_t to;
  FailureReason reason;
  ReadyState ready_state;
};

// Time moves only through Advance*/AdvanceToNextTimer, which fire due timers
// in time order (ties in start order) by calling Balancer::OnTimer, or
// through Suspend, which moves the clock without firing anything (a frozen
// or throttled background tab; the overdue timers fire at the next
// Advance). Misuse of the Host contract (closing an unknown connection,
// reusing an id, cancelling an unknown timer, a negative or NaN delay, timers
// spinning at one instant) is collected in host_errors() instead of
// crashing.
class FakeHost : public Host {
 public:
  // Safety net: this many timers firing without the clock moving means the
  // Balancer is spinning on zero-delay timers.
  static constexpr int kMaxFiresAtOneInstant = 1000;

  void set_balancer(Balancer* balancer) { balancer_ = balancer; }

  // Lean recording, for the fuzzer's speed: no text log (calls() still
  // counts the calls) and no URL in opened().
  void set_lean(bool value) { lean_ = value; }

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
        host_errors_.push_back("timers keep firing at t=" + Format(now_) +
                               " without the clock moving");
        spinning_ = true;
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

  // Moves the clock by `ms` without firing any timer.
  void Suspend(double ms) { now_ += ms; }

  // Host:
  void OpenConnection(ConnectionId id, std::size_t endpoint,
                      const std::string& url) override {
    Log("open " + std::to_string(id));
    if (!used_connection_ids_.insert(id).second) {
      host_errors_.push_back("connection id reused: " + std::to_string(id));
    }
    if (id == 0) host_errors_.push_back("connection id 0 opened");
    // Lean (the fuzzer): the endpoint's URL without its query, which may
    // carry a long id.
    opened_.push_back(
        {id, endpoint, lean_ ? url.substr(0, url.find('?')) : url, now_});
    open_ids_.insert(id);
    if (open_ids_.size() > max_open_) max_open_ = open_ids_.size();
  }

  void CloseConnection(ConnectionId id) override {
    Log("close " + std::to_string(id));
    closed_.push_back(id);
    if (open_ids_.erase(id) == 0) {
      host_errors_.push_back("closed a connection that is not open: " +
                             std::to_string(id));
    }
  }

  void StartTimer(TimerId id, double delay_ms) override {
    Log("timer " + std::to_string(id));
    if (!used_timer_ids_.insert(id).second) {
      host_errors_.push_back("timer id reused: " + std::to_string(id));
    }
    if (id == 0) host_errors_.push_back("timer id 0 started");
    if (std::isnan(delay_ms)) {
      host_errors_.push_back("NaN timer delay");
    } else if (delay_ms < 0) {
      host_errors_.push_back("negative timer delay: " + Format(delay_ms));
    }
    started_timers_.push_back({id, now_ + delay_ms, delay_ms});
    timers_.push_back({id, now_ + delay_ms, delay_ms});
    if (timers_.size() > max_pending_timers_) {
      max_pending_timers_ = timers_.size();
    }
  }

  void CancelTimer(TimerId id) override {
    Log("cancel " + std::to_string(id));
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
    Log("notify-open " + std::to_string(endpoint));
    open_notices_.push_back({endpoint, now_, CurrentReadyState()});
    if (close_on_open_) ListenerClose();
  }

  void NotifyError(std::size_t endpoint, FailureReason reason) override {
    Log("notify-error " + std::to_string(endpoint) + " " +
        std::string(ToString(reason)));
    error_notices_.push_back({endpoint, reason, CurrentReadyState(), now_});
    if (close_on_error_) ListenerClose();
  }

  void NotifyFailover(std::optional<std::size_t> from, std::size_t to,
                      FailureReason reason) override {
    Log("notify-failover " +
        (from ? std::to_string(*from) : std::string("none")) + "->" +
        std::to_string(to) + " " + std::string(ToString(reason)));
    failover_notices_.push_back({from, to, reason, CurrentReadyState()});
    if (close_on_failover_) ListenerClose();
  }

  void NotifyEndpointsChanged() override {
    Log("notify-endpoints-changed");
    ++endpoints_changed_;
  }

  // Records.
  double now() const { return now_; }
  int endpoints_changed() const { return endpoints_changed_; }
  const std::vector<OpenedConnection>& opened() const { return opened_; }
  const std::vector<ConnectionId>& closed() const { return closed_; }
  const std::set<ConnectionId>& open_ids() const { return open_ids_; }
  std::size_t max_open() const { return max_open_; }
  // Pending timers, in start order.
  const std::vector<FakeTimer>& timers() const { return timers_; }
  std::size_t max_pending_timers() const { return max_pending_timers_; }
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
  // How many calls log() would hold (also when lean).
  std::size_t calls() const { return calls_; }
  // True once AdvanceTo gave up on timers firing at one instant.
  bool spinning() const { return spinning_; }
  // How often a listener (set_close_on_*) called Balancer::Close().
  int listener_closes() const { return listener_closes_; }

 private:
  static std::string Format(double value) {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", value);
    return buffer;
  }

  template <typename Text>
  void Log(Text&& text) {
    ++calls_;
    if (!lean_) log_.emplace_back(std::forward<Text>(text));
  }

  ReadyState CurrentReadyState() const {
    return balancer_ ? balancer_->ready_state() : ReadyState::kClosed;
  }

  void ListenerClose() {
    ++listener_closes_;
    balancer_->Close();
  }

  std::vector<FakeTimer>::iterator NextTimer() {
    auto best = timers_.end();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (best == timers_.end() || it->due_ms < best->due_ms) best = it;
    }
    return best;
  }

  void Fire(TimerId id) {
    Log("fire " + std::to_string(id));
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
  bool spinning_ = false;
  bool lean_ = false;
  std::size_t calls_ = 0;
  int listener_closes_ = 0;

  std::vector<OpenedConnection> opened_;
  std::vector<ConnectionId> closed_;
  std::set<ConnectionId> open_ids_;
  std::set<ConnectionId> used_connection_ids_;
  std::size_t max_open_ = 0;
  int endpoints_changed_ = 0;
  std::vector<FakeTimer> timers_;
  std::size_t max_pending_timers_ = 0;
  std::vector<FakeTimer> started_timers_;
  std::set<TimerId> used_timer_ids_;
  std::vector<TimerId> cancelled_timers_;
  std::vector<OpenNotice> open_notices_;
  std::vector<ErrorNotice> error_notices_;
  std::vector<FailoverNotice> failover_notices_;
  std::vector<std::string> log_;
  std::vector<std::string> host_errors_;
};

}  // namespace test
}  // namespace sse_balancer

#endif  // SSE_BALANCER_TESTS_NATIVE_FAKE_HOST_H_
