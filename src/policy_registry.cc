#include "policy_registry.h"

#include "random_policy.h"
#include "round_robin_policy.h"

namespace sse_balancer {
namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<Policy> (*make)();
};

template <typename T>
std::unique_ptr<Policy> Make() {
  return std::make_unique<T>();
}

// A new policy is one line here.
constexpr Entry kPolicies[] = {
    {"round-robin", &Make<RoundRobinPolicy>},
    {"random", &Make<RandomPolicy>},
};

}  // namespace

std::unique_ptr<Policy> MakePolicy(std::string_view name) {
  for (const Entry& entry : kPolicies) {
    if (entry.name == name) return entry.make();
  }
  return nullptr;
}

std::vector<std::string> PolicyNames() {
  std::vector<std::string> names;
  for (const Entry& entry : kPolicies) names.emplace_back(entry.name);
  return names;
}

}  // namespace sse_balancer
