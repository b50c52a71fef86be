// A bounded memory of recently delivered event ids, for dropping replays.
#ifndef SSE_BALANCER_RECENT_IDS_H_
#define SSE_BALANCER_RECENT_IDS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace sse_balancer {

/// Remembers the last `capacity` distinct ids (as 64-bit hashes, so a
/// hostile server sending megabyte ids cannot grow it); the oldest is
/// forgotten first.
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity) : capacity_(capacity) {}

  bool Contains(std::string_view id) const;
  /// Adds `id` (no-op if present or capacity is 0).
  void Insert(std::string_view id);
  void Clear();
  std::size_t size() const { return ids_.size(); }

 private:
  std::size_t capacity_;
  /// Insertion order as a ring: order_[next_] is the oldest once full.
  std::vector<std::uint64_t> order_;
  std::size_t next_ = 0;
  std::unordered_set<std::uint64_t> ids_;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_RECENT_IDS_H_
