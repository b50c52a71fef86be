// A bounded memory of recently delivered event ids, for dropping replays.
#ifndef SSE_BALANCER_RECENT_IDS_H_
#define SSE_BALANCER_RECENT_IDS_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sse_balancer {

/// Remembers the last `capacity` distinct ids (as 64-bit hashes, so a
/// hostile server sending megabyte ids cannot grow it); the oldest is
/// forgotten first. The lookup is a small open-addressing table (linear
/// probing, backward-shift deletion): a fraction of the code of
/// std::unordered_set, which matters in the Wasm build.
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity) : capacity_(capacity) {}

  bool Contains(std::string_view id) const;
  /// Adds `id` (no-op if present or capacity is 0).
  void Insert(std::string_view id);
  void Clear();
  std::size_t size() const { return count_; }

 private:
  /// The table key of an id: its hash, never 0 (0 marks an empty slot).
  static std::uint64_t Key(std::string_view id);
  /// The slot holding `key`, or the empty slot where it would go.
  std::size_t Slot(std::uint64_t key) const;
  void Erase(std::uint64_t key);

  std::size_t capacity_;
  /// Insertion order as a ring: order_[next_] is the oldest once full.
  std::vector<std::uint64_t> order_;
  std::size_t next_ = 0;
  /// Power-of-two table, at most half full; allocated on first insert.
  std::vector<std::uint64_t> slots_;
  std::size_t count_ = 0;
};

}  // namespace sse_balancer

#endif  // SSE_BALANCER_RECENT_IDS_H_
