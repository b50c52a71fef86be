// Host implemented over the browser through one JS function.
#ifndef SSE_BALANCER_BINDINGS_BROWSER_HOST_H_
#define SSE_BALANCER_BINDINGS_BROWSER_HOST_H_

#include <emscripten/val.h>

#include <string>

#include "host.h"
#include "protocol.h"

namespace sse_balancer::bindings {

/// Every Host call becomes one call of `host(op, a, b, c, text)`, a function
/// of web/index.js (HostOp in protocol.h says what each op carries). The JS
/// side does what the core decided: it opens and closes the EventSources
/// (through the page's urlProvider when there is one), runs the timers and
/// dispatches the open/error/failover events. Numbers and one string cross,
/// nothing else: one call signature, a fraction of the Wasm and glue of an
/// object bridge.
class BrowserHost final : public Host {
 public:
  explicit BrowserHost(emscripten::val host) : host_(std::move(host)) {}

  void OpenConnection(ConnectionId id, std::size_t endpoint,
                      const std::string& url) override;
  void CloseConnection(ConnectionId id) override;
  void StartTimer(TimerId id, double delay_ms) override;
  void CancelTimer(TimerId id) override;
  double NowMs() override;
  void NotifyOpen(std::size_t endpoint) override;
  void NotifyError(std::size_t endpoint, FailureReason reason) override;
  void NotifyFailover(std::optional<std::size_t> from, std::size_t to,
                      FailureReason reason) override;
  void NotifyEndpointsChanged() override;

  /// Whether connection `id` still looks usable (its EventSource is not
  /// CLOSED, or it is waiting for its URL).
  bool IsAlive(ConnectionId id);

 private:
  double Send(HostOp op, double a, double b = 0, double c = 0,
              const std::string& text = std::string());

  emscripten::val host_;
};

}  // namespace sse_balancer::bindings

#endif  // SSE_BALANCER_BINDINGS_BROWSER_HOST_H_
