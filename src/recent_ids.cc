#include "recent_ids.h"

#include "event_id.h"

namespace sse_balancer {

bool RecentIds::Contains(std::string_view id) const {
  return ids_.count(HashId(id)) != 0;
}

void RecentIds::Insert(std::string_view id) {
  const std::uint64_t hash = HashId(id);
  if (capacity_ == 0 || ids_.count(hash) != 0) return;
  if (order_.size() < capacity_) {
    order_.push_back(hash);
  } else {
    ids_.erase(order_[next_]);  // forget the oldest
    order_[next_] = hash;
    next_ = (next_ + 1) % capacity_;
  }
  ids_.insert(hash);
}

void RecentIds::Clear() {
  order_.clear();
  next_ = 0;
  ids_.clear();
}

}  // namespace sse_balancer
