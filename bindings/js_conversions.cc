#include "js_conversions.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "policy_registry.h"

namespace sse_balancer::bindings {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// One numeric option: how it reads and writes the core's options. Its JS
/// name is at the same index of kOptionNames: one table both directions use
/// (options in, defaults out).
struct NumericOption {
  double (*get)(const BalancerOptions&);
  void (*set)(BalancerOptions&, double);
};

#define SSEB_OPTION(field)                                                 \
  NumericOption {                                                          \
    [](const BalancerOptions& o) { return static_cast<double>(o.field); }, \
        [](BalancerOptions& o, double v) {                                 \
          o.field = static_cast<decltype(o.field)>(v);                     \
        }                                                                  \
  }

const NumericOption kNumericOptions[] = {
    SSEB_OPTION(backoff.initial_ms),
    SSEB_OPTION(backoff.multiplier),
    SSEB_OPTION(backoff.max_ms),
    SSEB_OPTION(backoff.jitter),
    SSEB_OPTION(backoff.min_ms),
    SSEB_OPTION(backoff.reset_after_ms),
    SSEB_OPTION(backoff.max_outage_ms),
    SSEB_OPTION(ejection.after_failures),
    SSEB_OPTION(ejection.base_ms),
    SSEB_OPTION(ejection.max_ms),
    SSEB_OPTION(ejection.max_percent),
    SSEB_OPTION(watchdog.heartbeat_timeout_ms),
    SSEB_OPTION(watchdog.connect_timeout_ms),
    SSEB_OPTION(max_connects_per_minute),
    SSEB_OPTION(dedup_window),
};
constexpr int kNumericOptionCount =
    sizeof(kNumericOptions) / sizeof(kNumericOptions[0]);

#undef SSEB_OPTION

constexpr const char* kOptionNames =
    "initialBackoffMs,backoffMultiplier,maxBackoffMs,jitter,minRetryMs,"
    "resetBackoffAfterMs,maxOutageRetryMs,ejectAfterFailures,ejectionMs,"
    "maxEjectionMs,maxEjectedPercent,heartbeatTimeoutMs,connectTimeoutMs,"
    "maxConnectsPerMinute,dedupWindow";

constexpr const char* kTableNames =
    "lastEventId,ops,textOps,hostOps,options,policies,states,reasons,"
    "balancerStats,endpointStats,defaultParam,defaultLastEventId,endpointUrls";
constexpr const char* kBalancerStatNames =
    "readyState,activeEndpoint,offline,idResets,connectsLastMinute.used,"
    "connectsLastMinute.limit";
constexpr const char* kEndpointStatNames =
    "state,connects,opens,failures,messages,duplicates,ejections,"
    "consecutiveFailures,probation,lastError,lastErrorAgoMs,retryInMs,weight,"
    "retired";

/// The endpoint field of kStat after the last of kEndpointStatNames: the
/// failure counts by reason follow, named "failuresByReason.<reason>".
constexpr int kFailuresByReasonField = 14;

/// `count` names from `name(i)`, comma-separated.
template <typename Name>
std::string Joined(int count, Name name) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    out += name(i);
  }
  return out;
}

double Optional(std::optional<std::size_t> value) {
  return value ? static_cast<double>(*value) : -1;
}

double BalancerStat(Balancer& balancer, int field) {
  switch (field) {
    case 0:
      return static_cast<double>(balancer.ready_state());
    case 1:
      return Optional(balancer.active_endpoint());
    case 2:
      return balancer.offline() ? 1 : 0;
    case 3:
      return static_cast<double>(balancer.id_resets());
    case 4:
      return static_cast<double>(balancer.budget_used());
    case 5:
      return static_cast<double>(balancer.budget_limit());
    default:
      return kNaN;
  }
}

double EndpointStat(const Endpoint& endpoint, int field, double now_ms) {
  const EndpointCounters& counters = endpoint.counters;
  const bool failed = counters.last_error != FailureReason::kNone;
  if (field >= kFailuresByReasonField) {
    const int reason = field - kFailuresByReasonField + 1;
    if (reason < 1 || reason >= kFailureReasonCount) return kNaN;
    return static_cast<double>(counters.failures_by_reason[reason]);
  }
  switch (field) {
    case 0:
      return static_cast<double>(endpoint.state());
    case 1:
      return static_cast<double>(counters.connects);
    case 2:
      return static_cast<double>(counters.opens);
    case 3:
      return static_cast<double>(counters.failures);
    case 4:
      return static_cast<double>(counters.messages);
    case 5:
      return static_cast<double>(counters.duplicates);
    case 6:
      return static_cast<double>(counters.ejections);
    case 7:
      return endpoint.health.consecutive_failures();
    case 8:
      return endpoint.health.probation() ? 1 : 0;
    case 9:
      return failed ? static_cast<double>(counters.last_error) : -1;
    // How old the last error is: a UI can tell a recovered endpoint's past
    // failure from a fresh one.
    case 10:
      return failed
                 ? std::max(0.0, std::floor(now_ms - counters.last_error_at_ms))
                 : -1;
    case 11:
      return endpoint.health.RetryInMs(now_ms);
    case 12:
      return endpoint.weight;
    case 13:
      return endpoint.retired ? 1 : 0;
    default:
      return kNaN;
  }
}

}  // namespace

bool SetOption(BalancerOptions& options, int index, double value) {
  if (index < 0 || index >= kNumericOptionCount) return false;
  kNumericOptions[index].set(options, value);
  return true;
}

double DefaultOption(int index) {
  if (index < 0 || index >= kNumericOptionCount) return kNaN;
  return kNumericOptions[index].get(BalancerOptions{});
}

double StatValue(Balancer& balancer, int endpoint, int field, double now_ms) {
  if (endpoint < 0) return BalancerStat(balancer, field);
  if (static_cast<std::size_t>(endpoint) >= balancer.endpoints().size()) {
    return kNaN;
  }
  return EndpointStat(balancer.endpoints()[endpoint], field, now_ms);
}

std::string TextOf(TextOut which) {
  switch (which) {
    case TextOut::kOps:
      return kOpNames;
    case TextOut::kTextOps:
      return kTextOpNames;
    case TextOut::kHostOps:
      return kHostOpNames;
    case TextOut::kOptions:
      return kOptionNames;
    case TextOut::kPolicies: {
      const std::vector<std::string> names = PolicyNames();
      return Joined(static_cast<int>(names.size()),
                    [&](int i) { return names[i]; });
    }
    case TextOut::kStates:
      return Joined(kEndpointStateCount, [](int i) {
        return ToString(static_cast<EndpointState>(i));
      });
    case TextOut::kReasons:
      return Joined(kFailureReasonCount, [](int i) {
        return ToString(static_cast<FailureReason>(i));
      });
    case TextOut::kTables:
      return kTableNames;
    case TextOut::kAll: {
      std::string out = std::string("tables=") + kTableNames + '\n';
      std::string_view names = kTableNames;
      for (int i = 0; !names.empty(); ++i) {
        const std::size_t comma = std::min(names.find(','), names.size());
        if (i != static_cast<int>(TextOut::kLastEventId) &&
            i != static_cast<int>(TextOut::kEndpointUrls)) {
          out.append(names.substr(0, comma));
          out += '=';
          out += TextOf(static_cast<TextOut>(i));
          out += '\n';
        }
        names.remove_prefix(std::min(comma + 1, names.size()));
      }
      return out;
    }
    case TextOut::kBalancerStats:
      return kBalancerStatNames;
    case TextOut::kEndpointStats: {
      std::string out = kEndpointStatNames;
      for (int r = 1; r < kFailureReasonCount; ++r) {
        out += ",failuresByReason.";
        out += ToString(static_cast<FailureReason>(r));
      }
      return out;
    }
    case TextOut::kDefaultParam:
      return BalancerOptions{}.last_event_id_param;
    case TextOut::kDefaultLastEventId:
      return BalancerOptions{}.initial_last_event_id;
    case TextOut::kLastEventId:
    case TextOut::kEndpointUrls:
      break;  // a handle's (TextOfJs in module.cc)
  }
  return {};
}

std::string_view DecimalId(double value, char (&buffer)[24]) {
  auto n = static_cast<std::uint64_t>(value);
  char* end = buffer + sizeof(buffer);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  return {p, static_cast<std::size_t>(end - p)};
}

}  // namespace sse_balancer::bindings
