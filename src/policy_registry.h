// Maps the `policy` option string to a Policy.
#ifndef SSE_BALANCER_POLICY_REGISTRY_H_
#define SSE_BALANCER_POLICY_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy.h"

namespace sse_balancer {

/// Returns nullptr for an unknown name.
std::unique_ptr<Policy> MakePolicy(std::string_view name);

/// Every registered name, for error messages and docs.
std::vector<std::string> PolicyNames();

}  // namespace sse_balancer

#endif  // SSE_BALANCER_POLICY_REGISTRY_H_
