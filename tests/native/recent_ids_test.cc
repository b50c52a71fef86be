#include "recent_ids.h"

#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace sse_balancer
