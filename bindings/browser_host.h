// Host implemented over the browser: EventSource, setTimeout, performance.
#ifndef SSE_BALANCER_BINDINGS_BROWSER_HOST_H_
#define SSE_BALANCER_BINDINGS_BROWSER_HOST_H_

#include <emscripten/val.h>

#include <string>
#include <utility>
#include <vector>

#include "host.h"

namespace sse_balancer::bindings {

/// Drives real EventSource objects. `bridge` is a small JS object made by
/// web/index.js that supplies the JS functions C++ cannot create itself:
///   eventSourceClass: the platform's EventSource constructor, captured
///       once when web/index.js loaded (a page may later replace
///       globalThis.EventSource, e.g. with a BalancedEventSource subclass)
///   listenerFor(connectionId) -> function(event): the core's listener,
///       added first to every EventSource for every forwarded type
///   sourceReady(connectionId, source), sourceClosed(connectionId): the page's
///       listeners of event types go onto each EventSource behind the core's
///   onTimer(timerId)
///   resolveUrl(connectionId, endpoint, url)   (only with a urlProvider;
///       answers later through WasmBalancer.onUrlResolved / onUrlFailed)
///   notifyOpen(endpoint), notifyError(endpoint, reason),
///   notifyFailover(from /* -1: none */, to, reason)
class BrowserHost final : public Host {
 public:
  BrowserHost(emscripten::val bridge, bool with_credentials,
              bool has_url_provider);
  ~BrowserHost() override;

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

  /// Forwards a named event type to every open EventSource, now and later.
  void Listen(const std::string& type);
  /// The timer fired; forget its handle.
  void TimerFired(TimerId id);
  /// The URL provider answered for `id`: open the EventSource now, unless
  /// the connection was closed meanwhile. Returns false if it was.
  bool CompleteOpen(ConnectionId id, const std::string& url);
  /// The URL provider failed for `id`. Returns false if `id` was closed
  /// meanwhile (nothing to report).
  bool AbandonOpen(ConnectionId id) { return ForgetAwaiting(id); }
  /// Whether connection `id` still looks usable (its EventSource is not
  /// CLOSED, or it is waiting for its URL).
  bool IsAlive(ConnectionId id) const;

 private:
  // A handful of entries at most (one connection, two timers): flat vectors,
  // a fraction of the Wasm of the standard hash containers.
  struct Connection {
    ConnectionId id;
    emscripten::val source;
    emscripten::val listener;
  };

  void CreateSource(ConnectionId id, const std::string& url);
  std::vector<Connection>::iterator FindConnection(ConnectionId id);
  bool ForgetAwaiting(ConnectionId id);

  emscripten::val bridge_;
  emscripten::val event_source_class_;
  emscripten::val on_timer_;
  bool with_credentials_;
  bool has_url_provider_;
  /// Named event types forwarded to every EventSource (besides the
  /// built-in open, error and message).
  std::vector<std::string> types_;
  std::vector<ConnectionId> awaiting_url_;
  std::vector<Connection> connections_;
  std::vector<std::pair<TimerId, emscripten::val>> timers_;
};

}  // namespace sse_balancer::bindings

#endif  // SSE_BALANCER_BINDINGS_BROWSER_HOST_H_
