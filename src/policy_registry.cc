#include "policy_registry.h"

#include "least_loaded_policy.h"
#include "random_policy.h"
#include "round_robin_policy.h"
#include "sticky_policy.h"
#include "weighted_policy.h"

namespace sse_balancer {
namespace {

struct Entry {
  std::string_view name;
  std::unique_ptr<Policy> (*make)(std::string_view key);
};

template <typename T>
std::unique_ptr<Policy> Make(std::string_view /*key*/) {
  return std::make_unique<T>();
}

std::unique_ptr<Policy> MakeSticky(std::string_view key) {
  return std::make_unique<StickyPolicy>(std::string(key));
}

// A new policy is one line here.
constexpr Entry kPolicies[] = {
    {"round-robin", &Make<RoundRobinPolicy>},   {"random", &Make<RandomPolicy>},
    {"weighted", &Make<WeightedPolicy>},        {"sticky", &MakeSticky},
    {"least-loaded", &Make<LeastLoadedPolicy>},
};

}  // namespace

std::unique_ptr<Policy> MakePolicy(std::string_view name,
                                   std::string_view key) {
  for (const Entry& entry : kPolicies) {
    if (entry.name == name) return entry.make(key);
  }
  return nullptr;
}

std::vector<std::string> PolicyNames() {
  std::vector<std::string> names;
  for (const Entry& entry : kPolicies) names.emplace_back(entry.name);
  return names;
}

}  // namespace sse_balancer
