#include "js_conversions.h"

#include <algorithm>
#include <cmath>

namespace sse_balancer::bindings {

using emscripten::val;

std::vector<std::string> UrlsFromJs(const val& urls) {
  const int length = urls["length"].as<int>();
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(length));
  for (int i = 0; i < length; ++i) out.push_back(urls[i].as<std::string>());
  return out;
}

namespace {

/// One numeric option: its JS name and how it reads and writes the core's
/// options. The one table both directions use (options in, defaults out).
struct NumericOption {
  const char* name;
  double (*get)(const BalancerOptions&);
  void (*set)(BalancerOptions&, double);
};

#define SSEB_OPTION(js_name, field)                    \
  NumericOption {                                      \
    js_name,                                           \
        [](const BalancerOptions& o) -> double {       \
          return static_cast<double>(o.field);         \
        },                                             \
        [](BalancerOptions& o, double v) {             \
          o.field = static_cast<decltype(o.field)>(v); \
        }                                              \
  }

const NumericOption kNumericOptions[] = {
    SSEB_OPTION("initialBackoffMs", backoff.initial_ms),
    SSEB_OPTION("backoffMultiplier", backoff.multiplier),
    SSEB_OPTION("maxBackoffMs", backoff.max_ms),
    SSEB_OPTION("jitter", backoff.jitter),
    SSEB_OPTION("minRetryMs", backoff.min_ms),
    SSEB_OPTION("resetBackoffAfterMs", backoff.reset_after_ms),
    SSEB_OPTION("maxOutageRetryMs", backoff.max_outage_ms),
    SSEB_OPTION("ejectAfterFailures", ejection.after_failures),
    SSEB_OPTION("ejectionMs", ejection.base_ms),
    SSEB_OPTION("maxEjectionMs", ejection.max_ms),
    SSEB_OPTION("maxEjectedPercent", ejection.max_percent),
    SSEB_OPTION("heartbeatTimeoutMs", watchdog.heartbeat_timeout_ms),
    SSEB_OPTION("connectTimeoutMs", watchdog.connect_timeout_ms),
    SSEB_OPTION("maxConnectsPerMinute", max_connects_per_minute),
    SSEB_OPTION("dedupWindow", dedup_window),
};

#undef SSEB_OPTION

}  // namespace

BalancerOptions OptionsFromJs(const val& options) {
  BalancerOptions out;
  for (const NumericOption& option : kNumericOptions) {
    option.set(out, options[option.name].as<double>());
  }
  out.last_event_id_param = options["lastEventIdParam"].as<std::string>();
  out.seed = static_cast<std::uint64_t>(options["seed"].as<double>());
  out.initial_last_event_id = options["lastEventId"].as<std::string>();
  return out;
}

val DefaultOptionsToJs() {
  const BalancerOptions defaults;
  val out = val::object();
  for (const NumericOption& option : kNumericOptions) {
    out.set(option.name, option.get(defaults));
  }
  out.set("lastEventIdParam", defaults.last_event_id_param);
  out.set("lastEventId", defaults.initial_last_event_id);
  return out;
}

val EndpointToJs(const Endpoint& endpoint, double now_ms) {
  const EndpointCounters& counters = endpoint.counters;
  val out = val::object();
  out.set("url", endpoint.url);
  out.set("state", std::string(ToString(endpoint.state)));
  out.set("connects", static_cast<double>(counters.connects));
  out.set("opens", static_cast<double>(counters.opens));
  out.set("failures", static_cast<double>(counters.failures));
  out.set("messages", static_cast<double>(counters.messages));
  out.set("duplicates", static_cast<double>(counters.duplicates));
  out.set("ejections", static_cast<double>(counters.ejections));
  out.set("consecutiveFailures", endpoint.consecutive_failures);
  out.set("probation", endpoint.probation);
  out.set("lastError", counters.last_error == FailureReason::kNone
                           ? val::null()
                           : val(std::string(ToString(counters.last_error))));
  // How old the last error is: a UI can tell a recovered endpoint's past
  // failure from a fresh one.
  out.set(
      "lastErrorAgoMs",
      counters.last_error == FailureReason::kNone
          ? val::null()
          : val(std::max(0.0, std::floor(now_ms - counters.last_error_at_ms))));
  val by_reason = val::object();
  for (int r = 1; r < kFailureReasonCount; ++r) {
    by_reason.set(std::string(ToString(static_cast<FailureReason>(r))),
                  static_cast<double>(counters.failures_by_reason[r]));
  }
  out.set("failuresByReason", by_reason);
  double until = 0;
  if (endpoint.state == EndpointState::kCoolingDown) {
    until = endpoint.cooldown_until_ms;
  } else if (endpoint.state == EndpointState::kEjected) {
    until = std::max(endpoint.cooldown_until_ms, endpoint.ejected_until_ms);
  }
  out.set("retryInMs", std::max(0.0, std::ceil(until - now_ms)));
  return out;
}

val StatsToJs(Balancer& balancer, double now_ms) {
  val out = val::object();
  out.set("readyState", static_cast<int>(balancer.ready_state()));
  out.set("policy", std::string(balancer.policy_name()));
  const auto active = balancer.active_endpoint();
  out.set("activeEndpoint",
          active ? val(static_cast<int>(*active)) : val::null());
  out.set("lastEventId", balancer.last_event_id());
  out.set("offline", balancer.offline());
  out.set("idResets", static_cast<double>(balancer.id_resets()));
  val budget = val::object();
  budget.set("used", static_cast<double>(balancer.budget_used()));
  budget.set("limit", static_cast<double>(balancer.budget_limit()));
  out.set("connectsLastMinute", budget);
  val endpoints = val::array();
  for (const Endpoint& endpoint : balancer.endpoints()) {
    endpoints.call<void>("push", EndpointToJs(endpoint, now_ms));
  }
  out.set("endpoints", endpoints);
  return out;
}

}  // namespace sse_balancer::bindings
