#include "browser_host.h"

#include <emscripten/emscripten.h>

#include <cmath>

namespace sse_balancer::bindings {

double BrowserHost::Send(HostOp op, double a, double b, double c,
                         const std::string& text) {
  return host_(static_cast<int>(op), a, b, c, text).as<double>();
}

void BrowserHost::OpenConnection(ConnectionId id, std::size_t endpoint,
                                 const std::string& url) {
  Send(HostOp::kOpenSource, id, static_cast<double>(endpoint), 0, url);
}

void BrowserHost::CloseConnection(ConnectionId id) {
  Send(HostOp::kCloseSource, id);
}

void BrowserHost::StartTimer(TimerId id, double delay_ms) {
  // Browsers truncate fractions; rounding up keeps the timer from firing
  // early.
  Send(HostOp::kStartTimer, id, std::ceil(delay_ms));
}

void BrowserHost::CancelTimer(TimerId id) { Send(HostOp::kCancelTimer, id); }

double BrowserHost::NowMs() { return emscripten_get_now(); }

void BrowserHost::NotifyOpen(std::size_t endpoint) {
  Send(HostOp::kNotifyOpen, static_cast<double>(endpoint));
}

void BrowserHost::NotifyError(std::size_t endpoint, FailureReason reason) {
  Send(HostOp::kNotifyError, static_cast<double>(endpoint),
       static_cast<double>(reason));
}

void BrowserHost::NotifyFailover(std::optional<std::size_t> from,
                                 std::size_t to, FailureReason reason) {
  Send(HostOp::kNotifyFailover, from ? static_cast<double>(*from) : -1,
       static_cast<double>(to), static_cast<double>(reason));
}

void BrowserHost::NotifyEndpointsChanged() {
  Send(HostOp::kEndpointsChanged, 0);
}

bool BrowserHost::IsAlive(ConnectionId id) {
  return Send(HostOp::kIsAlive, id) == 1;
}

}  // namespace sse_balancer::bindings
