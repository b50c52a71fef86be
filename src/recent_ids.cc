#include "recent_ids.h"

namespace sse_balancer {

bool RecentIds::Contains(std::string_view id) const {
  return ids_.count(std::string(id)) != 0;
}

void RecentIds::Insert(std::string_view id) {
  if (capacity_ == 0 || Contains(id)) return;
  if (order_.size() == capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  order_.emplace_back(id);
  ids_.emplace(id);
}

}  // namespace sse_balancer
