// Every conversion between core values and JS values lives here, so the
// shape of what crosses the boundary is readable in one place.
#ifndef SSE_BALANCER_BINDINGS_JS_CONVERSIONS_H_
#define SSE_BALANCER_BINDINGS_JS_CONVERSIONS_H_

#include <emscripten/val.h>

#include <string>
#include <vector>

#include "balancer.h"

namespace sse_balancer::bindings {

/// A JS array of strings (already validated by web/index.js) -> URLs.
std::vector<std::string> UrlsFromJs(const emscripten::val& urls);

/// The normalised options object built by web/index.js -> core options.
BalancerOptions OptionsFromJs(const emscripten::val& options);

/// The core's default options, under the option names web/index.js uses:
/// the one source of every default the core applies.
emscripten::val DefaultOptionsToJs();

/// One endpoint as `{ url, state, connects, ..., lastError, failuresByReason
/// }`.
emscripten::val EndpointToJs(const Endpoint& endpoint, double now_ms);

/// `{ readyState, policy, activeEndpoint, lastEventId, endpoints: [...] }`.
emscripten::val StatsToJs(Balancer& balancer, double now_ms);

}  // namespace sse_balancer::bindings

#endif  // SSE_BALANCER_BINDINGS_JS_CONVERSIONS_H_
