#include "recent_ids.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>
#include <string>
#include <string_view>

namespace sse_balancer {
namespace {

TEST(RecentIdsTest, RemembersInsertedIds) {
  RecentIds ids(4);
  EXPECT_FALSE(ids.Contains("a"));
  ids.Insert("a");
  ids.Insert("b");
  EXPECT_TRUE(ids.Contains("a"));
  EXPECT_TRUE(ids.Contains("b"));
  EXPECT_FALSE(ids.Contains("c"));
  EXPECT_EQ(ids.size(), 2u);
}

TEST(RecentIdsTest, InsertingAKnownIdIsANoOp) {
  RecentIds ids(4);
  ids.Insert("a");
  ids.Insert("a");
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_TRUE(ids.Contains("a"));
}

TEST(RecentIdsTest, EvictsTheOldestFirstWhenFull) {
  RecentIds ids(3);
  ids.Insert("a");
  ids.Insert("b");
  ids.Insert("c");
  ids.Insert("d");
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_FALSE(ids.Contains("a"));
  EXPECT_TRUE(ids.Contains("b"));
  EXPECT_TRUE(ids.Contains("c"));
  EXPECT_TRUE(ids.Contains("d"));

  ids.Insert("e");
  EXPECT_FALSE(ids.Contains("b"));
  EXPECT_TRUE(ids.Contains("c"));
  EXPECT_TRUE(ids.Contains("e"));
  EXPECT_EQ(ids.size(), 3u);
}

TEST(RecentIdsTest, ReinsertingDoesNotRefreshAnIdsAge) {
  // Eviction is by first insertion (FIFO), not by last use.
  RecentIds ids(3);
  ids.Insert("a");
  ids.Insert("b");
  ids.Insert("c");
  ids.Insert("a");
  ids.Insert("d");
  EXPECT_FALSE(ids.Contains("a"));
  EXPECT_TRUE(ids.Contains("b"));
  EXPECT_TRUE(ids.Contains("d"));
}

TEST(RecentIdsTest, AnEvictedIdCanComeBack) {
  RecentIds ids(1);
  ids.Insert("a");
  ids.Insert("b");
  EXPECT_FALSE(ids.Contains("a"));
  ids.Insert("a");
  EXPECT_TRUE(ids.Contains("a"));
  EXPECT_FALSE(ids.Contains("b"));
  EXPECT_EQ(ids.size(), 1u);
}

TEST(RecentIdsTest, CapacityZeroRemembersNothing) {
  RecentIds ids(0);
  ids.Insert("a");
  ids.Insert("b");
  EXPECT_FALSE(ids.Contains("a"));
  EXPECT_FALSE(ids.Contains("b"));
  EXPECT_EQ(ids.size(), 0u);
}

TEST(RecentIdsTest, IdsAreComparedExactly) {
  RecentIds ids(4);
  ids.Insert("10");
  EXPECT_FALSE(ids.Contains("1"));
  EXPECT_FALSE(ids.Contains("10 "));
  EXPECT_FALSE(ids.Contains("100"));
  EXPECT_TRUE(ids.Contains(std::string("10")));
}

TEST(RecentIdsTest, ClearForgetsEverything) {
  RecentIds ids(3);
  ids.Insert("a");
  ids.Insert("b");
  ids.Clear();
  EXPECT_EQ(ids.size(), 0u);
  EXPECT_FALSE(ids.Contains("a"));
  EXPECT_FALSE(ids.Contains("b"));
  // Usable again, with its full capacity.
  for (const char* id : {"c", "d", "e"}) ids.Insert(id);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.Contains("c"));
  EXPECT_TRUE(ids.Contains("e"));
  ids.Insert("f");
  EXPECT_FALSE(ids.Contains("c"));
}

TEST(RecentIdsTest, LongIdsCostOneEntryEach) {
  RecentIds ids(2);
  const std::string big(1 << 20, 'x');
  std::string other = big;
  other.back() = 'y';
  ids.Insert(big);
  EXPECT_TRUE(ids.Contains(big));
  EXPECT_FALSE(ids.Contains(other));
  ids.Insert(other);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_TRUE(ids.Contains(std::string(1 << 20, 'x')));
}

TEST(RecentIdsTest, TheEmptyIdIsAnIdLikeAnyOther) {
  // The Balancer never inserts it; RecentIds itself does not special-case.
  RecentIds ids(2);
  EXPECT_FALSE(ids.Contains(""));
  ids.Insert("");
  EXPECT_TRUE(ids.Contains(""));
  EXPECT_FALSE(ids.Contains(std::string_view("\0", 1)));
}

// The open-addressing table against a plain model: the last `capacity`
// distinct ids, oldest forgotten first. Small windows over a small id space
// make probe runs collide, wrap around the table and shift back on every
// erase.
TEST(RecentIdsTest, AgreesWithAPlainModelThroughManyEvictions) {
  std::mt19937 rng(20261201);
  for (std::size_t capacity : {1u, 2u, 3u, 5u, 8u, 13u, 64u}) {
    SCOPED_TRACE(capacity);
    RecentIds ids(capacity);
    std::deque<std::string> order;
    std::set<std::string> model;
    std::uniform_int_distribution<int> pick(0, static_cast<int>(capacity) * 3);
    for (int step = 0; step < 20000; ++step) {
      const std::string id = std::to_string(pick(rng));
      ASSERT_EQ(ids.Contains(id), model.count(id) == 1) << "step " << step;
      ids.Insert(id);
      if (model.insert(id).second) {
        order.push_back(id);
        if (order.size() > capacity) {
          model.erase(order.front());
          order.pop_front();
        }
      }
      ASSERT_EQ(ids.size(), model.size());
      if (step % 997 == 0) {
        for (int k = 0; k <= static_cast<int>(capacity) * 3; ++k) {
          const std::string probe = std::to_string(k);
          ASSERT_EQ(ids.Contains(probe), model.count(probe) == 1) << probe;
        }
      }
    }
    ids.Clear();
    EXPECT_EQ(ids.size(), 0u);
    for (const std::string& id : model) EXPECT_FALSE(ids.Contains(id));
  }
}

}  // namespace
}  // namespace sse_balancer
