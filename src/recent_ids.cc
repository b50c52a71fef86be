#include "recent_ids.h"

#include "event_id.h"

namespace sse_balancer {

bool RecentIds::Contains(std::string_view id) const {
  return ids_.count(HashId(id)) != 0;
}

void RecentIds::Insert(std::string_view id) {
  const std::uint64_t hash = HashId(id);
  if (capacity_ == 0 || ids_.count(hash) != 0) return;
  if (order_.size() == capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(hash);
  ids_.insert(hash);
}

void RecentIds::Clear() {
  order_.clear();
  ids_.clear();
}

}  // namespace sse_balancer
