#include "sticky_policy.h"

#include <algorithm>
#include <utility>

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
  // The key's ranking of the eligible endpoints, first choice first.
  std::vector<std::pair<std::uint64_t, std::size_t>> ranking;
  ranking.reserve(eligible.size());
  double sum = 0;
  std::size_t known = 0;
  for (const std::size_t i : eligible) {
    ranking.emplace_back(Score(key_, endpoints[i].url), i);
    if (endpoints[i].load >= 0) {
      sum += endpoints[i].load;
      ++known;
    }
  }
  std::sort(ranking.begin(), ranking.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  if (known < 2) return ranking.front().second;
  // This client joins one of them: the mean counts it.
  const double capacity = kLoadBound * (sum + 1) / static_cast<double>(known);
  for (const auto& [score, i] : ranking) {
    const double load = endpoints[i].load;
    if (load < 0 || load + 1 <= capacity) return i;
  }
  return ranking.front().second;
}

}  // namespace sse_balancer
