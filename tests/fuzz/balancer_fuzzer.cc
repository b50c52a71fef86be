// libFuzzer target for the Balancer. The first bytes choose the endpoints
// and options; the rest is a script of host events (open, error, message,
// time passing, offline/online, resume, close, stale callbacks) played
// against FakeHost (tests/native/fake_host.h). After every step the
// Balancer's invariants are checked; a violation prints the last steps and
// aborts, which libFuzzer reports as a crash.
//
// Build and run: scripts/fuzz.sh (preset `fuzz`). Replay one input with
// `SSEB_FUZZ_LOG=1 out/build/fuzz/sseb_fuzzer FILE` to see the host calls
// that led to a violation.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "balancer.h"
#include "fake_host.h"
#include "policy_registry.h"
#include "types.h"

namespace sse_balancer {
namespace fuzz {
namespace {

using test::FakeHost;
using test::OpenedConnection;

constexpr double kBudgetWindowMs = 60000;

// Reads the input front to back; past the end every read is 0.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : data_(data), size_(size) {}

  bool done() const { return pos_ >= size_; }
  std::uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t U16() {
    const std::uint16_t high = Byte();
    return static_cast<std::uint16_t>(high << 8 | Byte());
  }
  template <typename T, std::size_t N>
  const T& Pick(const T (&table)[N]) {
    return table[Byte() % N];
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Event ids the script can send: numeric (with leading zeros, 18 and 19
// digits), opaque, empty (`id:` with no value) and longer than
// kMaxCarriedIdBytes.
const std::vector<std::string>& IdAlphabet() {
  static const std::vector<std::string> ids = {
      "",
      "1",
      "2",
      "3",
      "7",
      "10",
      "11",
      "007",
      "99",
      "999999999999999999",
      "1000000000000000000",
      "a",
      "b",
      "c",
      std::string(kMaxCarriedIdBytes, 'z'),
      std::string(kMaxCarriedIdBytes + 1, 'y'),
  };
  return ids;
}

enum class Op : std::uint8_t {
  kOpen,
  kError,
  kMessage,
  kMessageNoId,
  kAdvance,
  kAdvanceToNextTimer,
  kOffline,
  kOnline,
  kResumeAlive,
  kResumeDead,
  kClose,
  kStale,
  kSuspend,
  kStart,
  kDrain,           // the active stream's server announces a drain
  kStandbyOpen,     // the connection opened beside it (if any) opens
  kStandbyError,    // ... fails
  kStandbyMessage,  // ... delivers an event
  kStandbyDrain,    // ... its server announces a drain too
  kSetEndpoints,    // a new endpoint list (from a pool of six URLs)
  kCount,
};

const char* OpName(Op op) {
  static const char* const kNames[] = {
      "open",          "error",         "message",
      "message-no-id", "advance",       "next",
      "offline",       "online",        "resume(true)",
      "resume(false)", "close",         "stale",
      "suspend",       "start",         "drain",
      "standby-open",  "standby-error", "standby-message",
      "standby-drain", "set-endpoints",
  };
  const auto index = static_cast<std::size_t>(op);
  return index < sizeof kNames / sizeof kNames[0] ? kNames[index] : "?";
}

struct Step {
  Op op;
  double arg;
  double at_ms;
};

class Harness {
 public:
  explicit Harness(Input& input) : input_(input) {}

  void Run() {
    Setup();
    while (!input_.done()) {
      const std::uint8_t byte = input_.Byte();
      // Close is rarer than the rest (about 1 step in 85) so that most
      // scripts keep running.
      Op op = static_cast<Op>(byte % static_cast<int>(Op::kCount));
      if (op == Op::kClose && byte < 0xe0) op = Op::kAdvance;
      RunStep(op);
      CheckInvariants();
    }
  }

 private:
  // ---------------------------------------------------------------------
  // Setup

  // Six bytes choose the endpoints and the options, within the ranges the
  // bindings accept:
  //   0: endpoints (1-5) | policy | fractional times | page listener close
  //   1: jitter | initial backoff | multiplier | max backoff
  //   2: floor | reset after | eject after | max ejected percent
  //   3: ejection time | max ejection time | heartbeat | connect timeout
  //   4: budget | dedup window | id param | initial id
  //   5: seed | start offline
  void Setup() {
    const std::uint8_t b0 = input_.Byte();
    const std::uint8_t b1 = input_.Byte();
    const std::uint8_t b2 = input_.Byte();
    const std::uint8_t b3 = input_.Byte();
    const std::uint8_t b4 = input_.Byte();
    const std::uint8_t b5 = input_.Byte();
    // Recording every call costs more than the Balancer; keep it all when
    // replaying.
    host_.set_lean(std::getenv("SSEB_FUZZ_LOG") == nullptr);

    endpoints_ = 1 + (b0 & 7) % 5;
    const bool random_policy = b0 & 8;
    fractional_time_ = b0 & 0x10;
    // A page listener calling close(): 1 on error, 2 on failover, 3 on open
    // (rarely: 3 in 8 scripts).
    listener_close_ = b0 >> 5;
    host_.set_close_on_error(listener_close_ == 1);
    host_.set_close_on_failover(listener_close_ == 2);
    host_.set_close_on_open(listener_close_ == 3);

    static const double kJitter[] = {0, 0.5, 1, 1};
    static const double kInitial[] = {1, 100, 1000, 5000};
    static const double kMultiplier[] = {1, 1.6, 2, 10};
    static const double kMax[] = {1, 1000, 30000, 120000};
    BackoffOptions& backoff = options_.backoff;
    backoff.jitter = kJitter[b1 & 3];
    backoff.initial_ms = kInitial[(b1 >> 2) & 3];
    backoff.multiplier = kMultiplier[(b1 >> 4) & 3];
    // The bindings require max >= initial.
    backoff.max_ms = std::max(backoff.initial_ms, kMax[b1 >> 6]);

    static const double kMin[] = {10, 250, 250, 1000};
    static const double kResetAfter[] = {0, 1000, 60000, 60000};
    static const int kAfter[] = {0, 1, 2, 5};
    static const double kPercent[] = {0, 33, 50, 100};
    backoff.min_ms = kMin[b2 & 3];
    backoff.reset_after_ms = kResetAfter[(b2 >> 2) & 3];
    options_.ejection.after_failures = kAfter[(b2 >> 4) & 3];
    options_.ejection.max_percent = kPercent[b2 >> 6];

    static const double kBase[] = {1, 1000, 30000, 30000};
    static const double kEjectMax[] = {1, 60000, 300000, 300000};
    static const double kHeartbeat[] = {0, 100, 5000, 45000};
    static const double kConnect[] = {0, 100, 10000, 10000};
    options_.ejection.base_ms = kBase[b3 & 3];
    options_.ejection.max_ms =
        std::max(options_.ejection.base_ms, kEjectMax[(b3 >> 2) & 3]);
    options_.watchdog.heartbeat_timeout_ms = kHeartbeat[(b3 >> 4) & 3];
    options_.watchdog.connect_timeout_ms = kConnect[b3 >> 6];

    static const std::size_t kBudget[] = {0, 1, 3, 60};
    static const std::size_t kDedup[] = {0, 3, 16, 1024};
    static const std::string kInitialIds[] = {"", "10", "a",
                                              std::string(1025, 'y')};
    options_.max_connects_per_minute = kBudget[b4 & 3];
    options_.dedup_window = kDedup[(b4 >> 2) & 3];
    // With a window smaller than the alphabet, ids are forgotten (and may
    // be delivered again) by design.
    check_dedup_ = options_.dedup_window >= IdAlphabet().size();
    options_.last_event_id_param = (b4 & 0x10) ? "" : "lastEventId";
    options_.initial_last_event_id = kInitialIds[b4 >> 6];

    options_.seed = b5 & 0x7f;
    const bool start_offline = b5 & 0x80;

    std::vector<std::string> urls;
    for (std::size_t i = 0; i < endpoints_; ++i) urls.push_back(UrlOf(i));
    balancer_ = std::make_unique<Balancer>(
        std::move(urls), options_,
        MakePolicy(random_policy ? "random" : "round-robin"), host_);
    host_.set_balancer(balancer_.get());
    allowed_ejected_ = static_cast<std::size_t>(
        std::floor(static_cast<double>(endpoints_) *
                   options_.ejection.max_percent / 100.0));
    if (!options_.initial_last_event_id.empty()) {
      delivered_.insert(options_.initial_last_event_id);
    }

    if (start_offline) balancer_->OnOffline();
    balancer_->Start();
    started_ = true;
    CheckInvariants();
  }

  // ---------------------------------------------------------------------
  // Steps

  void RunStep(Op op) {
    Step step{op, 0, host_.now()};
    Balancer& b = *balancer_;
    const ConnectionId active = b.active_connection();
    switch (op) {
      case Op::kOpen:
        // The browser opens a connection once, before any event.
        if (active != 0 && host_.open_ids().count(active) &&
            !opened_.count(active)) {
          opened_.insert(active);
          b.OnOpen(active);
        }
        break;
      case Op::kError: {
        static const ConnectionError kHints[] = {ConnectionError::kRetrying,
                                                 ConnectionError::kGaveUp,
                                                 ConnectionError::kNoUrl};
        const ConnectionError hint = input_.Pick(kHints);
        step.arg = static_cast<double>(hint);
        if (active != 0 && host_.open_ids().count(active)) {
          b.OnError(active, hint);
        }
        break;
      }
      case Op::kMessage:
      case Op::kMessageNoId: {
        const std::size_t which = input_.Byte() % IdAlphabet().size();
        step.arg = static_cast<double>(which);
        // Events arrive only on an open stream.
        if (active != 0 && opened_.count(active)) {
          Deliver(active, op == Op::kMessage ? &IdAlphabet()[which] : nullptr);
        }
        break;
      }
      case Op::kAdvance: {
        const double ms = AdvanceAmount();
        step.arg = ms;
        host_.Advance(ms);
        break;
      }
      case Op::kAdvanceToNextTimer:
        host_.AdvanceToNextTimer();
        break;
      case Op::kOffline:
        b.OnOffline();
        break;
      case Op::kOnline:
        b.OnOnline();
        break;
      case Op::kResumeAlive:
        b.OnResume(true);
        break;
      case Op::kResumeDead:
        b.OnResume(false);
        break;
      case Op::kClose:
        b.Close();
        harness_closed_ = true;
        break;
      case Op::kStale:
        Stale();
        break;
      case Op::kSuspend: {
        const double ms = AdvanceAmount();
        step.arg = ms;
        host_.Suspend(ms);
        break;
      }
      case Op::kStart:
        b.Start();  // a second Start does nothing
        break;
      case Op::kDrain: {
        const double within = 10.0 * input_.Byte();
        step.arg = within;
        if (active != 0 && opened_.count(active)) b.OnDrain(active, within);
        break;
      }
      case Op::kStandbyOpen:
      case Op::kStandbyError:
      case Op::kStandbyMessage:
      case Op::kStandbyDrain:
        StandbyStep(op, b, active, step);
        break;
      case Op::kSetEndpoints:
        step.arg = NewList(b);
        break;
      case Op::kCount:
        break;
    }
    steps_.push_back(step);
    if (steps_.size() > 40) steps_.pop_front();
  }

  // The connection open beside the active one during a drain, if any.
  ConnectionId Standby(ConnectionId active) const {
    for (const ConnectionId id : host_.open_ids()) {
      if (id != active) return id;
    }
    return 0;
  }

  // A new list: a non-empty subset of six URLs (the first ones are the
  // setup's), rotated, some with a weight (0: keep the endpoint's). Returns
  // the subset's mask, for the log.
  double NewList(Balancer& b) {
    const std::uint8_t mask = input_.Byte() % 63 + 1;
    const std::uint8_t shape = input_.Byte();
    std::vector<std::string> urls;
    std::vector<double> weights;
    for (std::size_t i = 0; i < 6; ++i) {
      if ((mask >> i) & 1) urls.push_back(UrlOf(i));
    }
    std::rotate(urls.begin(), urls.begin() + (shape % urls.size()), urls.end());
    if (shape & 0x80) {
      for (std::size_t i = 0; i < urls.size(); ++i) {
        weights.push_back(static_cast<double>((shape >> i) & 3));
      }
    }
    b.SetEndpoints(std::move(urls), std::move(weights));
    allowed_ejected_ = std::max(allowed_ejected_,
                                static_cast<std::size_t>(std::floor(
                                    static_cast<double>(b.endpoints().size()) *
                                    options_.ejection.max_percent / 100.0)));
    return mask;
  }

  static std::string UrlOf(std::size_t i) {
    return "https://e" + std::to_string(i) + ".example/events";
  }

  void StandbyStep(Op op, Balancer& b, ConnectionId active, Step& step) {
    const ConnectionId standby = Standby(active);
    if (standby == 0) return;
    if (op == Op::kStandbyOpen) {
      if (opened_.insert(standby).second) b.OnOpen(standby);
    } else if (op == Op::kStandbyError) {
      b.OnError(standby, ConnectionError::kRetrying);
    } else if (op == Op::kStandbyDrain) {
      const double within = 10.0 * input_.Byte();
      step.arg = within;
      if (opened_.count(standby)) b.OnDrain(standby, within);
    } else {
      const std::size_t which = input_.Byte() % IdAlphabet().size();
      step.arg = static_cast<double>(which);
      if (opened_.count(standby)) Deliver(standby, &IdAlphabet()[which]);
    }
  }

  double AdvanceAmount() {
    static const double kAmounts[] = {0,    1,     10,    99,    100,
                                      249,  250,   999,   1000,  4999,
                                      5000, 10000, 30000, 60000, 300000};
    double ms = input_.Pick(kAmounts);
    // performance.now()-like fractions, down to a microsecond.
    if (fractional_time_) ms += input_.U16() / 1000.0;
    return ms;
  }

  // An event on the active connection; `id` null: no id field (the browser
  // repeats the connection's lastEventId).
  void Deliver(ConnectionId connection, const std::string* id) {
    std::string& browser_id = browser_last_id_[connection];
    const std::string previous = browser_id;
    if (id != nullptr) browser_id = *id;
    const std::string reported = browser_id;
    const std::optional<std::size_t> result =
        balancer_->OnMessage(connection, reported);
    if (result) {
      Check(*result < balancer_->endpoints().size(), "OnMessage returned %zu",
            *result);
      const std::string& url = url_of_.at(connection);
      Check(balancer_->endpoints()[*result].url == url,
            "OnMessage named endpoint %zu for a connection to %s", *result,
            url.c_str());
    }
    if (balancer_->id_resets() != epoch_) {
      // A restarted log: a new id epoch.
      epoch_ = balancer_->id_resets();
      delivered_.clear();
    }
    const bool new_id = !reported.empty() && reported != previous;
    if (result && new_id && check_dedup_) {
      Check(delivered_.insert(reported).second,
            "id '%.40s' delivered twice as new within one id epoch",
            reported.c_str());
    }
  }

  // A callback for a connection that is not the active one (closed, never
  // used, or 0) must change nothing.
  void Stale() {
    Balancer& b = *balancer_;
    const std::uint8_t pick = input_.Byte();
    ConnectionId id = 0;
    const auto& opened = host_.opened();
    if (pick % 4 == 1) {
      id = 1000000;
    } else if (pick % 4 >= 2 && !opened.empty()) {
      id = opened[(pick / 4) % opened.size()].id;
    }
    if (id == b.active_connection() && id != 0) return;
    // The connection a drain opened beside the active one is not stale.
    if (id != 0 && id == Standby(b.active_connection())) return;
    const std::size_t calls = host_.calls();
    const std::uint64_t resets = b.id_resets();
    const std::string last = b.last_event_id();
    switch (input_.Byte() % 4) {
      case 0:
        b.OnOpen(id);
        break;
      case 1:
        b.OnError(id, ConnectionError::kRetrying);
        break;
      case 2: {
        // A timer that already fired or was cancelled (or 0), as a host
        // might deliver late.
        const TimerId timer = StaleTimer(pick);
        b.OnTimer(timer);
        Check(host_.calls() == calls, "stale timer %u reached the host", timer);
        break;
      }
      default:
        Check(b.OnMessage(id,
                          IdAlphabet()[input_.Byte() % IdAlphabet().size()]) ==
                  std::nullopt,
              "an event of stale connection %u was delivered", id);
    }
    Check(host_.calls() == calls,
          "a stale callback for connection %u reached the host", id);
    Check(b.id_resets() == resets && b.last_event_id() == last,
          "a stale callback for connection %u changed the ids", id);
  }

  // A timer id that is not pending: one that fired or was cancelled, or 0.
  TimerId StaleTimer(std::uint8_t pick) const {
    const auto& started = host_.started_timers();
    if (started.empty() || pick % 5 == 0) return 0;
    const TimerId id = started[(pick / 5) % started.size()].id;
    for (const test::FakeTimer& pending : host_.timers()) {
      if (pending.id == id) return 0;
    }
    return id;
  }

  // ---------------------------------------------------------------------
  // Invariants

  void CheckInvariants() {
    Balancer& b = *balancer_;
    const auto& open = host_.open_ids();
    const bool closed = harness_closed_ || host_.listener_closes() > 0;
    if (closed && !was_closed_) {
      was_closed_ = true;
      opened_at_close_ = host_.opened().size();
    }
    for (; mapped_attempts_ < host_.opened().size(); ++mapped_attempts_) {
      const OpenedConnection& connection = host_.opened()[mapped_attempts_];
      // By URL: a new list moves endpoints to other indices.
      const std::string url =
          connection.url.substr(0, connection.url.find('?'));
      url_of_.emplace(connection.id, url);
      // Nothing new ever goes to an endpoint that was removed.
      for (const Endpoint& e : b.endpoints()) {
        Check(e.url != url || !e.retired,
              "connection %u opened to the removed endpoint %s", connection.id,
              url.c_str());
      }
    }

    Check(host_.host_errors().empty(), "host misuse: %s",
          host_.host_errors().empty() ? "" : host_.host_errors()[0].c_str());
    // Two only while a drain moves the stream: the active one and the one
    // opened beside it.
    Check(open.size() <= 2 && host_.max_open() <= 2,
          "%zu connections open at once", host_.max_open());
    if (!open.empty()) {
      Check(open.count(b.active_connection()) == 1,
            "connections are open but not the active one %u",
            b.active_connection());
    }
    Check((b.ready_state() == ReadyState::kClosed) == closed,
          "readyState %d, closed %d", static_cast<int>(b.ready_state()),
          closed);
    // Retry, watchdog, and during a drain its move and the new stream's
    // connect timeout.
    Check(host_.timers().size() <= 4, "%zu timers pending",
          host_.timers().size());
    CheckBudget();

    if (closed) {
      Check(open.empty(), "a connection is open after Close()");
      Check(host_.timers().empty(), "a timer is pending after Close()");
      Check(host_.opened().size() == opened_at_close_,
            "a connection was opened after Close()");
      Check(!b.retry_pending() && !b.watchdog_pending(),
            "the Balancer waits for a timer after Close()");
      if (!host_.opened().empty()) {
        Check(b.OnMessage(host_.opened().back().id, "x") == std::nullopt,
              "an event was delivered after Close()");
      }
      Check(b.active_connection() == 0 && !b.active_endpoint(),
            "an active connection after Close()");
      return;
    }

    // Structure: what is active is open in the host, and the Balancer is
    // always either connected or waiting for exactly one retry.
    const ConnectionId active = b.active_connection();
    if (active != 0) {
      Check(open.count(active) == 1, "active connection %u is not open",
            active);
      Check(b.active_endpoint().has_value(), "no active endpoint");
      Check(!b.retry_pending(), "a retry is pending while connected");
    } else {
      Check(!b.active_endpoint().has_value(), "an active endpoint, no conn.");
      Check(!b.watchdog_pending(), "a watchdog without a connection");
      if (started_) {
        Check(b.retry_pending(), "nothing open and no retry pending");
      }
    }
    std::size_t busy = 0;
    std::size_t ejected = 0;
    const ConnectionId standby = Standby(b.active_connection());
    std::optional<std::size_t> standby_endpoint;
    for (std::size_t i = 0; standby != 0 && i < b.endpoints().size(); ++i) {
      if (b.endpoints()[i].url == url_of_.at(standby)) standby_endpoint = i;
    }
    for (std::size_t i = 0; i < b.endpoints().size(); ++i) {
      const Endpoint& endpoint = b.endpoints()[i];
      if (endpoint.state() == EndpointState::kConnecting ||
          endpoint.state() == EndpointState::kOpen) {
        ++busy;
        Check(b.active_endpoint() == i || standby_endpoint == i,
              "endpoint %zu busy but neither active nor the drain's new one",
              i);
      }
      if (endpoint.state() == EndpointState::kEjected &&
          endpoint.health.ejected_until_ms() > host_.now()) {
        ++ejected;
      }
      std::uint64_t by_reason = 0;
      for (std::uint64_t count : endpoint.counters.failures_by_reason) {
        by_reason += count;
      }
      Check(by_reason == endpoint.counters.failures,
            "endpoint %zu: failures by reason do not add up", i);
    }
    Check(busy == (active != 0 ? 1u : 0u) + (standby != 0 ? 1u : 0u),
          "%zu endpoints busy", busy);
    Check(ejected <= allowed_ejected_, "%zu endpoints ejected, %zu allowed",
          ejected, allowed_ejected_);
    if (active != 0) {
      const bool stream_open =
          b.endpoints()[*b.active_endpoint()].state() == EndpointState::kOpen;
      Check((b.ready_state() == ReadyState::kOpen) == stream_open,
            "readyState %d with the active endpoint %s",
            static_cast<int>(b.ready_state()), stream_open ? "open" : "not");
    } else {
      Check(b.ready_state() == ReadyState::kConnecting,
            "readyState %d while waiting to retry",
            static_cast<int>(b.ready_state()));
    }
  }

  // Attempts inside any sliding minute (an attempt at `a` counts while
  // a <= t < a + 60 s, as RetryBudget counts it) never exceed the budget.
  void CheckBudget() {
    const std::size_t limit = options_.max_connects_per_minute;
    const auto& opened = host_.opened();
    for (; checked_attempts_ < opened.size(); ++checked_attempts_) {
      const double at = opened[checked_attempts_].at_ms;
      if (limit == 0) continue;
      while (!window_.empty() && window_.front() + kBudgetWindowMs <= at) {
        window_.pop_front();
      }
      window_.push_back(at);
      Check(window_.size() <= limit,
            "%zu attempts within a minute (budget %zu) at t=%.17g",
            window_.size(), limit, at);
    }
  }

  void Check(bool ok, const char* format, ...) {
    if (ok) return;
    std::fprintf(stderr, "\nINVARIANT VIOLATED at t=%.17g: ", host_.now());
    va_list args;
    va_start(args, format);
    std::vfprintf(stderr, format, args);
    va_end(args);
    std::fprintf(stderr, "\n");
    Dump();
    std::abort();
  }

  void Dump() const {
    std::fprintf(
        stderr,
        "setup: %zu endpoints; backoff initial %g x%g max %g jitter %g "
        "min %g reset %g; eject after %d base %g max %g %g%%; heartbeat %g "
        "connect %g; budget %zu; dedup %zu; param '%s'; initial id %zu "
        "bytes; listener close %d (1 error, 2 failover, 3 open)\n",
        endpoints_, options_.backoff.initial_ms, options_.backoff.multiplier,
        options_.backoff.max_ms, options_.backoff.jitter,
        options_.backoff.min_ms, options_.backoff.reset_after_ms,
        options_.ejection.after_failures, options_.ejection.base_ms,
        options_.ejection.max_ms, options_.ejection.max_percent,
        options_.watchdog.heartbeat_timeout_ms,
        options_.watchdog.connect_timeout_ms, options_.max_connects_per_minute,
        options_.dedup_window, options_.last_event_id_param.c_str(),
        options_.initial_last_event_id.size(), listener_close_);
    std::fprintf(stderr, "last steps:\n");
    for (const Step& step : steps_) {
      std::fprintf(stderr, "  t=%.17g %s %g\n", step.at_ms, OpName(step.op),
                   step.arg);
    }
    std::fprintf(stderr, "last attempts:\n");
    const auto& opened = host_.opened();
    for (std::size_t i = opened.size() > 10 ? opened.size() - 10 : 0;
         i < opened.size(); ++i) {
      std::fprintf(stderr, "  t=%.17g connection %u to endpoint %zu\n",
                   opened[i].at_ms, opened[i].id, opened[i].endpoint);
    }
    const auto& log = host_.log();
    if (log.empty()) {
      std::fprintf(stderr, "(replay with SSEB_FUZZ_LOG=1 for host calls)\n");
      return;
    }
    std::fprintf(stderr, "last host calls:\n");
    for (std::size_t i = log.size() > 60 ? log.size() - 60 : 0; i < log.size();
         ++i) {
      std::fprintf(stderr, "  %s\n", log[i].c_str());
    }
  }

  Input& input_;
  FakeHost host_;
  BalancerOptions options_;
  std::unique_ptr<Balancer> balancer_;  // after host_: destroyed first
  std::size_t endpoints_ = 0;
  std::size_t allowed_ejected_ = 0;
  bool fractional_time_ = false;
  int listener_close_ = 0;
  bool check_dedup_ = false;
  bool started_ = false;
  bool harness_closed_ = false;
  bool was_closed_ = false;
  std::size_t opened_at_close_ = 0;

  std::set<ConnectionId> opened_;  // connections the browser opened
  std::map<ConnectionId, std::string> browser_last_id_;
  std::map<ConnectionId, std::string> url_of_;
  std::set<std::string> delivered_;  // new ids delivered in this epoch
  std::uint64_t epoch_ = 0;
  std::size_t checked_attempts_ = 0;
  std::size_t mapped_attempts_ = 0;
  std::deque<double> window_;
  std::deque<Step> steps_;
};

}  // namespace
}  // namespace fuzz
}  // namespace sse_balancer

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  sse_balancer::fuzz::Input input(data, size);
  sse_balancer::fuzz::Harness harness(input);
  harness.Run();
  return 0;
}
