// Every conversion between core values and what crosses the boundary (plain
// numbers and strings) lives here, so the shape of the boundary is readable
// in one place. See protocol.h for the codes.
#ifndef SSE_BALANCER_BINDINGS_JS_CONVERSIONS_H_
#define SSE_BALANCER_BINDINGS_JS_CONVERSIONS_H_

#include <string>

#include "balancer.h"
#include "protocol.h"

namespace sse_balancer::bindings {

/// Sets numeric option `index` (of the table kOptions names) to `value`.
/// False for an index out of range.
bool SetOption(BalancerOptions& options, int index, double value);

/// The core's default for numeric option `index` (NaN out of range): the one
/// source of every default the core applies.
double DefaultOption(int index);

/// One figure of stats(): `field` of the balancer (`endpoint` < 0; fields
/// named by kBalancerStats) or of endpoint `endpoint` (fields named by
/// kEndpointStats). Enumerations are their index in kStates / kReasons;
/// "none" is -1; flags are 0 or 1. NaN out of range.
double StatValue(Balancer& balancer, int endpoint, int field, double now_ms);

/// A name table or default string (not kLastEventId, which needs a handle).
std::string TextOf(TextOut which);

/// `value` (a non-negative integer below 2^53) in decimal, as the id it
/// was before JS turned it into a number.
std::string_view DecimalId(double value, char (&buffer)[24]);

}  // namespace sse_balancer::bindings

#endif  // SSE_BALANCER_BINDINGS_JS_CONVERSIONS_H_
