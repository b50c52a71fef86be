#include "browser_host.h"

#include <emscripten/emscripten.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sse_balancer::bindings {

using emscripten::val;

namespace {
// Always forwarded: the connection's own lifecycle, and unnamed events.
constexpr const char* kBuiltinTypes[] = {"open", "error", "message"};
}  // namespace

BrowserHost::BrowserHost(val bridge, bool with_credentials,
                         bool has_url_provider)
    : bridge_(std::move(bridge)),
      event_source_class_(bridge_["eventSourceClass"]),
      on_timer_(bridge_["onTimer"]),
      with_credentials_(with_credentials),
      has_url_provider_(has_url_provider) {}

BrowserHost::~BrowserHost() {
  for (Connection& connection : connections_) {
    connection.source.call<void>("close");
  }
  for (auto& [id, handle] : timers_) {
    val::global().call<void>("clearTimeout", handle);
  }
}

std::vector<BrowserHost::Connection>::iterator BrowserHost::FindConnection(
    ConnectionId id) {
  return std::find_if(connections_.begin(), connections_.end(),
                      [id](const Connection& c) { return c.id == id; });
}

bool BrowserHost::ForgetAwaiting(ConnectionId id) {
  auto it = std::find(awaiting_url_.begin(), awaiting_url_.end(), id);
  if (it == awaiting_url_.end()) return false;
  awaiting_url_.erase(it);
  return true;
}

void BrowserHost::TimerFired(TimerId id) {
  auto it = std::find_if(timers_.begin(), timers_.end(),
                         [id](const auto& t) { return t.first == id; });
  if (it != timers_.end()) timers_.erase(it);
}

void BrowserHost::OpenConnection(ConnectionId id, std::size_t endpoint,
                                 const std::string& url) {
  if (has_url_provider_) {
    awaiting_url_.push_back(id);
    bridge_.call<void>("resolveUrl", id, static_cast<int>(endpoint), url);
    return;
  }
  CreateSource(id, url);
}

bool BrowserHost::CompleteOpen(ConnectionId id, const std::string& url) {
  if (!ForgetAwaiting(id)) return false;
  CreateSource(id, url);
  return true;
}

bool BrowserHost::IsAlive(ConnectionId id) const {
  if (std::find(awaiting_url_.begin(), awaiting_url_.end(), id) !=
      awaiting_url_.end()) {
    return true;
  }
  auto it = std::find_if(connections_.begin(), connections_.end(),
                         [id](const Connection& c) { return c.id == id; });
  if (it == connections_.end()) return false;
  return it->source["readyState"].as<int>() != 2;  // CLOSED
}

void BrowserHost::CreateSource(ConnectionId id, const std::string& url) {
  val init = val::object();
  init.set("withCredentials", with_credentials_);
  val source = event_source_class_.new_(url, init);
  val listener = bridge_.call<val>("listenerFor", id);
  for (const char* type : kBuiltinTypes) {
    source.call<void>("addEventListener", val(type), listener);
  }
  for (const std::string& type : types_) {
    source.call<void>("addEventListener", type, listener);
  }
  connections_.push_back(Connection{id, source, listener});
  // After the core's listeners: the page's own go behind them.
  bridge_.call<void>("sourceReady", id, source);
}

void BrowserHost::CloseConnection(ConnectionId id) {
  ForgetAwaiting(id);
  auto it = FindConnection(id);
  if (it == connections_.end()) return;
  it->source.call<void>("close");
  connections_.erase(it);
  bridge_.call<void>("sourceClosed", id);
}

void BrowserHost::StartTimer(TimerId id, double delay_ms) {
  timers_.emplace_back(
      id, val::global().call<val>("setTimeout", on_timer_,
                                  // Browsers truncate fractions; rounding up
                                  // keeps the timer from firing early.
                                  std::ceil(delay_ms), id));
}

void BrowserHost::CancelTimer(TimerId id) {
  auto it = std::find_if(timers_.begin(), timers_.end(),
                         [id](const auto& t) { return t.first == id; });
  if (it == timers_.end()) return;
  val::global().call<void>("clearTimeout", it->second);
  timers_.erase(it);
}

double BrowserHost::NowMs() { return emscripten_get_now(); }

void BrowserHost::NotifyOpen(std::size_t endpoint) {
  bridge_.call<void>("notifyOpen", static_cast<int>(endpoint));
}

void BrowserHost::NotifyError(std::size_t endpoint, FailureReason reason) {
  bridge_.call<void>("notifyError", static_cast<int>(endpoint),
                     std::string(ToString(reason)));
}

void BrowserHost::NotifyFailover(std::optional<std::size_t> from,
                                 std::size_t to, FailureReason reason) {
  bridge_.call<void>("notifyFailover", from ? static_cast<int>(*from) : -1,
                     static_cast<int>(to), std::string(ToString(reason)));
}

void BrowserHost::Listen(const std::string& type) {
  for (const char* builtin : kBuiltinTypes) {
    if (type == builtin) return;
  }
  if (std::find(types_.begin(), types_.end(), type) != types_.end()) return;
  types_.push_back(type);
  for (Connection& connection : connections_) {
    connection.source.call<void>("addEventListener", type, connection.listener);
  }
}

}  // namespace sse_balancer::bindings
