// Maps the `policy` option string to a Policy.
#ifndef SSE_BALANCER_POLICY_REGISTRY_H_
#define SSE_BALANCER_POLICY_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy.h"

namespace sse_balancer {

/// Returns nullptr for an unknown name. `key`: the sticky policy's key (a
/// user or room the app gives); the other policies ignore it.
std::unique_ptr<Policy> MakePolicy(std::string_view name,
                                   std::string_view key = {});

/// Every registered name, for error messages and docs.
std::vector<std::string> PolicyNames();

}  // namespace sse_balancer

#endif  // SSE_BALANCER_POLICY_REGISTRY_H_
