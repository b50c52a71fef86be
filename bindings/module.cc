// The Embind surface. Internal: only web/index.js uses it.
#include <emscripten/bind.h>
#include <emscripten/emmalloc.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>

#include <string>

#include "balancer.h"
#include "browser_host.h"
#include "js_conversions.h"
#include "policy_registry.h"

namespace sse_balancer::bindings {
namespace {

using emscripten::val;

/// One BalancedEventSource's core: the Balancer and the host it drives.
/// web/index.js validates every argument before constructing it.
class WasmBalancer {
 public:
  WasmBalancer(val urls, val options, val bridge)
      : host_(std::move(bridge), options["withCredentials"].as<bool>(),
              options["hasUrlProvider"].as<bool>()),
        balancer_(UrlsFromJs(urls), OptionsFromJs(options),
                  MakePolicy(options["policy"].as<std::string>()), host_) {}

  void Start() { balancer_.Start(); }
  void Close() { balancer_.Close(); }
  void OnOpen(ConnectionId id) { balancer_.OnOpen(id); }
  void OnError(ConnectionId id, int ready_state) {
    balancer_.OnError(id, ready_state == static_cast<int>(ReadyState::kClosed)
                              ? FailureReason::kHttp
                              : FailureReason::kNetwork);
  }
  void OnUrlResolved(ConnectionId id, const std::string& url) {
    host_.CompleteOpen(id, url);
  }
  void OnUrlFailed(ConnectionId id) {
    if (host_.AbandonOpen(id)) balancer_.OnError(id, FailureReason::kProvider);
  }
  int PickForRequest(val exclude) {
    std::vector<std::size_t> excluded;
    const int length = exclude["length"].as<int>();
    for (int i = 0; i < length; ++i) {
      excluded.push_back(static_cast<std::size_t>(exclude[i].as<int>()));
    }
    const auto pick = balancer_.PickForRequest(excluded);
    return pick ? static_cast<int>(*pick) : -1;
  }
  void OnRequestFailed(int endpoint) {
    if (endpoint >= 0) {
      balancer_.OnRequestFailed(static_cast<std::size_t>(endpoint));
    }
  }
  void OnOnline() { balancer_.OnOnline(); }
  void OnOffline() { balancer_.OnOffline(); }
  void OnResume() {
    balancer_.OnResume(host_.IsAlive(balancer_.active_connection()));
  }
  // The hot path: one call per event, small values only; the payload stays
  // in JS.
  int OnMessage(ConnectionId id, const std::string& last_event_id) {
    return balancer_.OnMessage(id, last_event_id);
  }
  void OnTimer(TimerId id) {
    host_.TimerFired(id);
    balancer_.OnTimer(id);
  }
  void Listen(const std::string& type) { host_.Listen(type); }

  int ReadyStateValue() const {
    return static_cast<int>(balancer_.ready_state());
  }
  int ActiveEndpoint() const {
    const auto active = balancer_.active_endpoint();
    return active ? static_cast<int>(*active) : -1;
  }
  std::string LastEventId() const { return balancer_.last_event_id(); }
  val Stats() { return StatsToJs(balancer_, host_.NowMs()); }

 private:
  BrowserHost host_;
  Balancer balancer_;
};

double HeapInUseJs() {
  return static_cast<double>(emmalloc_dynamic_heap_size() -
                             emmalloc_free_dynamic_memory());
}

double HeapSizeJs() { return static_cast<double>(emscripten_get_heap_size()); }

val PolicyNamesJs() {
  val names = val::array();
  for (const std::string& name : PolicyNames()) {
    names.call<void>("push", name);
  }
  return names;
}

}  // namespace

EMSCRIPTEN_BINDINGS(sse_balancer) {
  emscripten::class_<WasmBalancer>("WasmBalancer")
      .constructor<val, val, val>()
      .function("start", &WasmBalancer::Start)
      .function("close", &WasmBalancer::Close)
      .function("onOpen", &WasmBalancer::OnOpen)
      .function("onError", &WasmBalancer::OnError)
      .function("onMessage", &WasmBalancer::OnMessage)
      .function("onTimer", &WasmBalancer::OnTimer)
      .function("onUrlResolved", &WasmBalancer::OnUrlResolved)
      .function("onUrlFailed", &WasmBalancer::OnUrlFailed)
      .function("pickForRequest", &WasmBalancer::PickForRequest)
      .function("onRequestFailed", &WasmBalancer::OnRequestFailed)
      .function("onOnline", &WasmBalancer::OnOnline)
      .function("onOffline", &WasmBalancer::OnOffline)
      .function("onResume", &WasmBalancer::OnResume)
      .function("listen", &WasmBalancer::Listen)
      .function("readyState", &WasmBalancer::ReadyStateValue)
      .function("activeEndpoint", &WasmBalancer::ActiveEndpoint)
      .function("lastEventId", &WasmBalancer::LastEventId)
      .function("stats", &WasmBalancer::Stats);
  emscripten::function("policyNames", &PolicyNamesJs);
  emscripten::function("defaultOptions", &DefaultOptionsToJs);
  emscripten::function("heapInUse", &HeapInUseJs);
  emscripten::function("heapSize", &HeapSizeJs);
}

}  // namespace sse_balancer::bindings
