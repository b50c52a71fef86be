// The only way the core touches the world.
#ifndef SSE_BALANCER_HOST_H_
#define SSE_BALANCER_HOST_H_

#include <cstddef>
#include <optional>
#include <string>

#include "types.h"

namespace sse_balancer {

/// Everything the Balancer wants done outside itself goes through this
/// interface: the browser binding implements it over EventSource and
/// setTimeout, the native tests with a fake clock and fake connections.
///
/// Calls are synchronous. A Notify* call may re-enter the Balancer (a page's
/// listener may call close()); the Balancer re-checks its state after each.
class Host {
 public:
  virtual ~Host() = default;

  /// Opens a stream to `url` (endpoint `endpoint`'s URL with the resume id
  /// added). Its outcome comes back through Balancer::OnOpen / OnError /
  /// OnMessage with the same `id`.
  virtual void OpenConnection(ConnectionId id, std::size_t endpoint,
                              const std::string& url) = 0;
  /// Closes a stream opened with OpenConnection. No callback for `id` may be
  /// delivered afterwards (stale ones are ignored by the Balancer anyway).
  virtual void CloseConnection(ConnectionId id) = 0;

  /// Calls Balancer::OnTimer(id) once, `delay_ms` from now.
  virtual void StartTimer(TimerId id, double delay_ms) = 0;
  virtual void CancelTimer(TimerId id) = 0;

  /// Monotonic milliseconds.
  virtual double NowMs() = 0;

  /// The active stream to `endpoint` is open.
  virtual void NotifyOpen(std::size_t endpoint) = 0;
  /// The active stream to `endpoint` failed for `reason` and was closed.
  virtual void NotifyError(std::size_t endpoint, FailureReason reason) = 0;
  /// The active endpoint changed from `from` (the endpoint given up last,
  /// whether or not it ever opened) to `to` because of `reason`.
  virtual void NotifyFailover(std::optional<std::size_t> from, std::size_t to,
                              FailureReason reason) = 0;
  /// The endpoint list changed (SetEndpoints, or a removed endpoint the
  /// stream has left): indices name other endpoints from now on.
  virtual void NotifyEndpointsChanged() {}
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_HOST_H_
