#include "recent_ids.h"

#include "event_id.h"

namespace sse_balancer {

std::uint64_t RecentIds::Key(std::string_view id) {
  const std::uint64_t hash = HashId(id);
  return hash == 0 ? 1 : hash;
}

std::size_t RecentIds::Slot(std::uint64_t key) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = static_cast<std::size_t>(key) & mask;
  while (slots_[i] != 0 && slots_[i] != key) i = (i + 1) & mask;
  return i;
}

bool RecentIds::Contains(std::string_view id) const {
  if (count_ == 0) return false;
  const std::uint64_t key = Key(id);
  return slots_[Slot(key)] == key;
}

void RecentIds::Insert(std::string_view id) {
  if (capacity_ == 0) return;
  if (slots_.empty()) {
    std::size_t size = 8;
    while (size < 2 * capacity_) size *= 2;
    slots_.assign(size, 0);
  }
  const std::uint64_t key = Key(id);
  const std::size_t slot = Slot(key);
  if (slots_[slot] == key) return;
  if (order_.size() < capacity_) {
    order_.push_back(key);
    slots_[slot] = key;
  } else {
    Erase(order_[next_]);  // forget the oldest
    order_[next_] = key;
    next_ = (next_ + 1) % capacity_;
    slots_[Slot(key)] = key;  // the erase may have moved the free slot
  }
  ++count_;
}

void RecentIds::Erase(std::uint64_t key) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = Slot(key);
  if (slots_[hole] != key) return;
  --count_;
  // Move back every later entry of the probe run that may not stay behind
  // the hole (its home slot is not cyclically in (hole, here]).
  for (std::size_t i = (hole + 1) & mask; slots_[i] != 0; i = (i + 1) & mask) {
    const std::size_t home = static_cast<std::size_t>(slots_[i]) & mask;
    const bool stays =
        hole < i ? (hole < home && home <= i) : (hole < home || home <= i);
    if (stays) continue;
    slots_[hole] = slots_[i];
    hole = i;
  }
  slots_[hole] = 0;
}

void RecentIds::Clear() {
  order_.clear();
  next_ = 0;
  slots_.assign(slots_.size(), 0);
  count_ = 0;
}

}  // namespace sse_balancer
