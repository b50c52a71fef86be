#include "types.h"

namespace sse_balancer {

std::string_view ToString(FailureReason reason) {
  switch (reason) {
    case FailureReason::kNone:
      return "";
    case FailureReason::kNetwork:
      return "network";
    case FailureReason::kHttp:
      return "http";
    case FailureReason::kStall:
      return "stall";
    case FailureReason::kClosed:
      return "closed";
    case FailureReason::kProvider:
      return "provider";
    case FailureReason::kDrain:
      return "drain";
    case FailureReason::kRebalance:
      return "rebalance";
  }
  return "";
}

std::string_view ToString(EndpointState state) {
  switch (state) {
    case EndpointState::kIdle:
      return "idle";
    case EndpointState::kConnecting:
      return "connecting";
    case EndpointState::kOpen:
      return "open";
    case EndpointState::kCoolingDown:
      return "cooling-down";
    case EndpointState::kEjected:
      return "ejected";
  }
  return "";
}

}  // namespace sse_balancer
