#include "sticky_policy.h"

namespace sse_balancer {

std::uint64_t StickyPolicy::Score(std::string_view key, std::string_view url) {
  std::uint64_t h = 14695981039346656037ull;
  const auto add = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (const char c : key) add(static_cast<unsigned char>(c));
  add(0);  // "ab" + "c" differs from "a" + "bc"
  for (const char c : url) add(static_cast<unsigned char>(c));
  // FNV's low bits mix poorly; finish with splitmix64's mixer.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

std::size_t StickyPolicy::Pick(const std::vector<Endpoint>& endpoints,
                               const std::vector<std::size_t>& eligible,
                               Rng& rng) {
  if (key_.empty()) return eligible[rng.Below(eligible.size())];
  double sum = 0;
  std::size_t known = 0;
  for (const std::size_t i : eligible) {
    if (endpoints[i].load >= 0) {
      sum += endpoints[i].load;
      ++known;
    }
  }
  // The bound, where there is a mean to bound by: this client joins one of
  // them, so the mean counts it.
  const double capacity =
      known < 2 ? -1 : kLoadBound * (sum + 1) / static_cast<double>(known);
  const auto fits = [&](std::size_t i) {
    const double load = endpoints[i].load;
    return capacity < 0 || load < 0 || load + 1 <= capacity;
  };
  // The key's first choice among those within the bound, else its first
  // choice overall: the same as walking its ranking, without sorting it.
  std::size_t best = eligible.front();
  std::uint64_t best_score = 0;
  bool best_fits = false;
  bool any = false;
  for (const std::size_t i : eligible) {
    const std::uint64_t score = Score(key_, endpoints[i].url);
    const bool ok = fits(i);
    if (!any || (ok && !best_fits) || (ok == best_fits && score > best_score)) {
      best = i;
      best_score = score;
      best_fits = ok;
      any = true;
    }
  }
  return best;
}

}  // namespace sse_balancer
