// The Embind surface: four functions over plain numbers and strings.
// Internal: only web/index.js uses it; protocol.h defines the codes.
#include <emscripten/bind.h>
#include <emscripten/emmalloc.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "balancer.h"
#include "browser_host.h"
#include "js_conversions.h"
#include "policy_registry.h"
#include "protocol.h"

namespace sse_balancer::bindings {
namespace {

using emscripten::val;
using Handle = std::uintptr_t;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// One BalancedEventSource's core: what JS set before start, then the
/// Balancer and the host it drives. web/index.js validates every value
/// before it gets here.
struct WasmBalancer {
  explicit WasmBalancer(val host_function) : host(std::move(host_function)) {}

  BrowserHost host;
  std::vector<std::string> urls;
  BalancerOptions options;
  std::string policy;
  std::string sticky_key;
  std::unique_ptr<Balancer> balancer;
  /// Endpoints the next request pick must not choose.
  std::vector<std::size_t> excluded;
  /// The next endpoint list (nextUrl, nextWeight), until applyEndpoints.
  std::vector<std::string> next_urls;
  std::vector<double> next_weights;
};

WasmBalancer& From(Handle handle) {
  return *reinterpret_cast<WasmBalancer*>(handle);
}

double Endpoint(std::optional<std::size_t> endpoint) {
  return endpoint ? static_cast<double>(*endpoint) : -1;
}

// A started balancer's calls; `a` and `b` as protocol.h describes them.
// What servers and the page tell a started balancer about the fleet: a
// drain, loads, a new endpoint list.
double CallFleet(WasmBalancer& core, Op op, double a, double b) {
  Balancer& balancer = *core.balancer;
  const auto id = static_cast<ConnectionId>(a);
  switch (op) {
    case Op::kDrain:
      balancer.OnDrain(id, b);
      return 0;
    case Op::kSetLoad:
      balancer.SetLoad(static_cast<std::size_t>(a), b);
      return 0;
    case Op::kLoadReport:
      balancer.OnLoadReport(id);
      return 0;
    case Op::kNextWeight: {
      if (!(a >= 0 && a < 1e6)) return kNaN;
      const auto at = static_cast<std::size_t>(a);
      if (core.next_weights.size() <= at) core.next_weights.resize(at + 1, 1.0);
      core.next_weights[at] = b;
      return 0;
    }
    case Op::kApplyEndpoints: {
      std::vector<std::string> urls = std::move(core.next_urls);
      std::vector<double> weights = std::move(core.next_weights);
      core.next_urls.clear();
      core.next_weights.clear();
      balancer.SetEndpoints(std::move(urls), std::move(weights));
      return 0;
    }
    default:
      return kNaN;
  }
}

double CallStarted(WasmBalancer& core, Op op, double a, double b) {
  Balancer& balancer = *core.balancer;
  const auto id = static_cast<ConnectionId>(a);
  switch (op) {
    case Op::kClose:
      balancer.Close();
      return 0;
    case Op::kOpen:
      balancer.OnOpen(id);
      return 0;
    case Op::kError:
      // The EventSource's readyState at the error: CLOSED means the browser
      // gave up; the core decides what that means.
      balancer.OnError(id, b == static_cast<double>(ReadyState::kClosed)
                               ? ConnectionError::kGaveUp
                               : ConnectionError::kRetrying);
      return 0;
    case Op::kMessage: {
      char buffer[24];
      return Endpoint(balancer.OnMessage(
          id, b < 0 ? std::string_view() : DecimalId(b, buffer)));
    }
    case Op::kTimer:
      balancer.OnTimer(static_cast<TimerId>(a));
      return 0;
    case Op::kUrlFailed:
      balancer.OnError(id, ConnectionError::kNoUrl);
      return 0;
    case Op::kExclude:
      core.excluded.push_back(static_cast<std::size_t>(a));
      return 0;
    case Op::kPick: {
      const double pick = Endpoint(balancer.PickForRequest(core.excluded));
      core.excluded.clear();
      return pick;
    }
    case Op::kRequestFailed:
      balancer.OnRequestFailed(static_cast<std::size_t>(a));
      return 0;
    case Op::kOnline:
      balancer.OnOnline();
      return 0;
    case Op::kOffline:
      balancer.OnOffline();
      return 0;
    case Op::kResume:
      balancer.OnResume(core.host.IsAlive(balancer.active_connection()));
      return 0;
    case Op::kRefresh:
      balancer.RefreshHealth();
      return 0;
    case Op::kStat:
      return StatValue(balancer, static_cast<int>(a), static_cast<int>(b),
                       core.host.NowMs());
    default:
      return CallFleet(core, op, a, b);
      return kNaN;
  }
}

double Call(Handle handle, int code, double a, double b) {
  const auto op = static_cast<Op>(code);
  switch (op) {
    case Op::kDefault:
      return DefaultOption(static_cast<int>(a));
    case Op::kHeapInUse:
      return static_cast<double>(emmalloc_dynamic_heap_size() -
                                 emmalloc_free_dynamic_memory());
    case Op::kHeapSize:
      return static_cast<double>(emscripten_get_heap_size());
    default:
      break;
  }
  WasmBalancer& core = From(handle);
  switch (op) {
    case Op::kSetOption:
      return SetOption(core.options, static_cast<int>(a), b) ? 0 : kNaN;
    case Op::kSetWeight: {
      if (!(a >= 0 && a < 1e6)) return kNaN;
      auto& weights = core.options.weights;
      const auto at = static_cast<std::size_t>(a);
      if (weights.size() <= at) weights.resize(at + 1, 1.0);
      weights[at] = b;
      return 0;
    }
    case Op::kSetSeed:
      core.options.seed = static_cast<std::uint64_t>(a);
      return 0;
    case Op::kStart: {
      if (core.balancer) return 0;
      std::unique_ptr<Policy> policy = MakePolicy(core.policy, core.sticky_key);
      if (!policy || core.urls.empty()) return kNaN;
      core.balancer = std::make_unique<Balancer>(std::move(core.urls),
                                                 std::move(core.options),
                                                 std::move(policy), core.host);
      core.balancer->Start();
      return 0;
    }
    case Op::kDelete:
      delete &core;
      return 0;
    default:
      return core.balancer ? CallStarted(core, op, a, b) : kNaN;
  }
}

double Text(Handle handle, int code, double a, const std::string& text) {
  WasmBalancer& core = From(handle);
  switch (static_cast<TextOp>(code)) {
    case TextOp::kAddUrl:
      core.urls.push_back(text);
      return 0;
    case TextOp::kPolicy:
      core.policy = text;
      return 0;
    case TextOp::kStickyKey:
      core.sticky_key = text;
      return 0;
    case TextOp::kNextUrl:
      core.next_urls.push_back(text);
      return 0;
    case TextOp::kLastEventIdParam:
      core.options.last_event_id_param = text;
      return 0;
    case TextOp::kLastEventId:
      core.options.initial_last_event_id = text;
      return 0;
    case TextOp::kMessage:
      if (!core.balancer) return -1;
      return Endpoint(
          core.balancer->OnMessage(static_cast<ConnectionId>(a), text));
  }
  return kNaN;
}

std::string TextOfJs(Handle handle, int code) {
  const auto which = static_cast<TextOut>(code);
  if (which == TextOut::kEndpointUrls) {
    const WasmBalancer& core = From(handle);
    std::string out;
    if (!core.balancer) return out;
    for (const auto& endpoint : core.balancer->endpoints()) {
      if (!out.empty()) out += '\n';
      out += endpoint.url;
    }
    return out;
  }
  if (which != TextOut::kLastEventId) return TextOf(which);
  const WasmBalancer& core = From(handle);
  return core.balancer ? core.balancer->last_event_id()
                       : core.options.initial_last_event_id;
}

Handle Create(val host_function) {
  return reinterpret_cast<Handle>(new WasmBalancer(std::move(host_function)));
}

}  // namespace

EMSCRIPTEN_BINDINGS(sse_balancer) {
  emscripten::function("create", &Create);
  emscripten::function("call", &Call);
  emscripten::function("text", &Text);
  emscripten::function("textOf", &TextOfJs);
}

}  // namespace sse_balancer::bindings
