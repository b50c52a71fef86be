#include "event_id.h"

#include <gtest/gtest.h>

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "balancer.h"
#include "balancer_fixture.h"
#include "types.h"

namespace sse_balancer {
namespace test {
namespace {

// ---------------------------------------------------------------------------
// NumericId

TEST(NumericIdTest, ParsesOneToEighteenAsciiDigits) {
  EXPECT_EQ(NumericId("0"), std::optional<std::uint64_t>(0));
  EXPECT_EQ(NumericId("7"), std::optional<std::uint64_t>(7));
  EXPECT_EQ(NumericId("42"), std::optional<std::uint64_t>(42));
  EXPECT_EQ(NumericId("007"), std::optional<std::uint64_t>(7));
  EXPECT_EQ(NumericId("123456789012345678"),
            std::optional<std::uint64_t>(123456789012345678ULL));
  EXPECT_EQ(NumericId("999999999999999999"),
            std::optional<std::uint64_t>(999999999999999999ULL));
  EXPECT_EQ(NumericId("000000000000000000"), std::optional<std::uint64_t>(0));
}

TEST(NumericIdTest, EverythingElseIsOpaque) {
  const std::string_view opaque[] = {
      "",
      "1234567890123456789",  // 19 digits
      "9999999999999999999",
      "-1",
      "+1",
      "1.5",
      " 1",
      "1 ",
      "1e3",
      "0x10",
      "abc",
      "12a",
      "a12",
      "\xd9\xa1",  // ARABIC-INDIC DIGIT ONE
      std::string_view("1\0", 2),
  };
  for (std::string_view id : opaque) {
    EXPECT_EQ(NumericId(id), std::nullopt) << "'" << id << "'";
  }
}

// ---------------------------------------------------------------------------
// HashId

TEST(HashIdTest, MatchesFnv1aWithAMurmurFinaliser) {
  // Computed independently (FNV-1a 64, then fmix64).
  EXPECT_EQ(HashId(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(HashId("a"), 0x82a2a958a9bece5bULL);
  EXPECT_EQ(HashId("1"), 0x7c3832dde020d3d6ULL);
  EXPECT_EQ(HashId("42"), 0x810b196a56ee3cecULL);
  EXPECT_EQ(HashId("event-7"), 0xff0baa2d9a985aa4ULL);
}

TEST(HashIdTest, DependsOnlyOnTheBytes) {
  const std::string owned = "event-7";
  const std::string framed = "[event-7]";
  EXPECT_EQ(HashId(owned), HashId("event-7"));
  EXPECT_EQ(HashId(std::string_view(framed).substr(1, 7)), HashId(owned));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(HashId(owned), HashId(owned));
}

TEST(HashIdTest, NearbyIdsDiffer) {
  const std::string_view ids[] = {"1",
                                  "01",
                                  " 1",
                                  "1 ",
                                  "10",
                                  "a",
                                  "A",
                                  "ab",
                                  "ba",
                                  "",
                                  std::string_view("\0", 1),
                                  std::string_view("\0\0", 2)};
  std::unordered_set<std::uint64_t> hashes;
  for (std::string_view id : ids) hashes.insert(HashId(id));
  EXPECT_EQ(hashes.size(), std::size(ids));
}

TEST(HashIdTest, NoCollisionsAcrossManyIds) {
  std::unordered_set<std::uint64_t> hashes;
  constexpr int kCount = 100000;
  for (int i = 0; i < kCount; ++i) {
    hashes.insert(HashId(std::to_string(i)));
    hashes.insert(HashId("evt-" + std::to_string(i)));
  }
  EXPECT_EQ(hashes.size(), 2u * kCount);
}

TEST(HashIdTest, SequentialIdsSpreadOverEveryBit) {
  constexpr int kCount = 100000;
  std::vector<int> ones(64, 0);
  std::vector<int> buckets(1024, 0);
  double flipped = 0;
  std::uint64_t previous = HashId("0");
  for (int i = 1; i <= kCount; ++i) {
    const std::uint64_t hash = HashId(std::to_string(i));
    for (int bit = 0; bit < 64; ++bit) ones[bit] += (hash >> bit) & 1;
    ++buckets[hash & 1023];
    flipped += static_cast<double>(std::bitset<64>(hash ^ previous).count());
    previous = hash;
  }
  for (int bit = 0; bit < 64; ++bit) {
    EXPECT_NEAR(ones[bit] / static_cast<double>(kCount), 0.5, 0.02)
        << "bit " << bit;
  }
  // Avalanche: ids one apart differ in about half the bits.
  EXPECT_NEAR(flipped / kCount, 32, 1);
  // The low bits alone spread evenly (about 98 per bucket).
  for (int count : buckets) {
    EXPECT_GE(count, 50);
    EXPECT_LE(count, 160);
  }
}

TEST(HashIdTest, LongIdsDifferingInTheLastByteDiffer) {
  std::string a(1 << 20, 'x');
  std::string b = a;
  b.back() = 'y';
  EXPECT_NE(HashId(a), HashId(b));
  EXPECT_EQ(HashId(a), HashId(std::string(1 << 20, 'x')));
}

// ---------------------------------------------------------------------------
// Id epochs in the Balancer: numeric ids going backwards mean the server's
// log restarted; the dedup memory starts afresh and the event is delivered.

using IdResetTest = BalancerTest;

TEST_F(IdResetTest, BackwardsWithinAConnectionStartsANewEpoch) {
  MakeBalancer(2);
  balancer().Start();
  const int a = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message("5"), a);
  EXPECT_EQ(Message("6"), a);
  EXPECT_EQ(Message("7"), a);
  EXPECT_EQ(balancer().id_resets(), 0u);

  EXPECT_EQ(Message("3"), a);  // restarted log: delivered
  EXPECT_EQ(balancer().id_resets(), 1u);
  EXPECT_EQ(balancer().last_event_id(), "3");
  EXPECT_EQ(Message("4"), a);
  // 5, 6, 7 of the new log are new events: the old ones were forgotten.
  EXPECT_EQ(Message("5"), a);
  EXPECT_EQ(Message("5"), a);  // no id field: the browser repeats it
  EXPECT_EQ(Message("6"), a);
  EXPECT_EQ(Message("7"), a);
  EXPECT_EQ(balancer().id_resets(), 1u);
  EXPECT_EQ(EndpointAt(a).counters.messages, 9u);
  EXPECT_EQ(EndpointAt(a).counters.duplicates, 0u);

  // Within the new epoch, a replay after failover is still dropped.
  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  EXPECT_EQ(LastUrl(), Url(b) + "?lastEventId=7");
  OpenActive();
  EXPECT_EQ(Message("7"), kDropEvent);
  EXPECT_EQ(Message("8"), b);
  EXPECT_EQ(balancer().id_resets(), 1u);
}

TEST_F(IdResetTest, EveryStepBackwardsCounts) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  for (const char* id : {"10", "9", "8", "20", "1"}) {
    EXPECT_EQ(Message(id), 0) << id;
  }
  EXPECT_EQ(balancer().id_resets(), 3u);  // 9, 8 and 1
}

TEST_F(IdResetTest, AResetForgetsOpaqueIdsToo) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("a"), 0);
  EXPECT_EQ(Message("b"), 0);
  EXPECT_EQ(Message("a"), kDropEvent);
  EXPECT_EQ(Message("9"), 0);
  EXPECT_EQ(Message("2"), 0);
  EXPECT_EQ(balancer().id_resets(), 1u);
  EXPECT_EQ(Message("a"), 0);
}

TEST_F(IdResetTest, BackwardsRelativeToTheResumeIdStartsANewEpoch) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  EXPECT_EQ(Message("99"), static_cast<int>(a));
  EXPECT_EQ(Message("100"), static_cast<int>(a));
  FailActive();
  const std::size_t b = LastEndpoint();
  EXPECT_EQ(LastUrl(), Url(b) + "?lastEventId=100");
  OpenActive();
  // The first id of the new connection is below the resume id: the log
  // restarted (a replay would start at or after the resume id).
  EXPECT_EQ(Message("3"), static_cast<int>(b));
  EXPECT_EQ(balancer().id_resets(), 1u);
  EXPECT_EQ(balancer().last_event_id(), "3");
  EXPECT_EQ(Message("99"), static_cast<int>(b));  // forgotten: new
  EXPECT_EQ(EndpointAt(b).counters.duplicates, 0u);
  // The next connection resumes from the new log.
  host_.Advance(5000);
  FailActive();
  EXPECT_EQ(LastUrl(), Url(LastEndpoint()) + "?lastEventId=99");
}

TEST_F(IdResetTest, BackwardsRelativeToTheInitialResumeId) {
  BalancerOptions options = ExactOptions();
  options.initial_last_event_id = "500";
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("1"), 0);
  EXPECT_EQ(balancer().id_resets(), 1u);
  // The resume id itself belonged to the old log.
  EXPECT_EQ(Message("500"), 0);
  EXPECT_EQ(balancer().id_resets(), 1u);
}

TEST_F(IdResetTest, LaterIdsAreComparedWithThePreviousIdNotTheResumeId) {
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  Message("100");
  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message("200"), b);
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(Message("150"), b);  // above the resume id, below 200
  EXPECT_EQ(balancer().id_resets(), 1u);
}

TEST_F(IdResetTest, ReplayAtOrAboveTheResumeIdIsStillDropped) {
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  for (const char* id : {"98", "99", "100"}) {
    EXPECT_EQ(Message(id), static_cast<int>(a));
  }
  FailActive();
  const int b = static_cast<int>(LastEndpoint());
  OpenActive();
  EXPECT_EQ(Message("100"), kDropEvent);  // the server replays the resume id
  EXPECT_EQ(Message("101"), b);
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(EndpointAt(b).counters.duplicates, 1u);

  host_.Advance(5000);
  FailActive();
  EXPECT_EQ(LastEndpoint(), a);
  EXPECT_EQ(LastUrl(), Url(a) + "?lastEventId=101");
  OpenActive();
  EXPECT_EQ(Message("101"), kDropEvent);
  EXPECT_EQ(Message("102"), static_cast<int>(a));
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(balancer().last_event_id(), "102");
}

TEST_F(IdResetTest, AnEmptyIdDoesNotHideThePreviousNumericId) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("5"), 0);
  EXPECT_EQ(Message(""), 0);  // `id:` with no value
  EXPECT_EQ(Message("3"), 0);
  EXPECT_EQ(balancer().id_resets(), 1u);
}

// Regression (fixed): an opaque id between two numeric ids makes the Balancer
// forget the previous numeric id (OnMessage sets numeric_before_ =
// NumericId(id), i.e. nullopt), so a restarted log is not recognised and its
// first events are dropped as duplicates. The documented rule compares with
// "the previous numeric id on the same connection" (5 here).
TEST_F(IdResetTest, AnOpaqueIdInBetweenKeepsThePreviousNumericId) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  for (const char* id : {"1", "2", "3", "4", "5", "snapshot"}) {
    EXPECT_EQ(Message(id), 0) << id;
  }
  EXPECT_EQ(Message("3"), 0) << "the restarted log's event 3 was dropped";
  EXPECT_EQ(balancer().id_resets(), 1u);
}

TEST_F(IdResetTest, OpaqueIdsNeverReset) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("b"), 0);
  EXPECT_EQ(Message("a"), 0);
  EXPECT_EQ(Message("10a"), 0);
  EXPECT_EQ(Message("9"), 0);  // no numeric id before it on this connection
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(Message("b"), kDropEvent);
}

TEST_F(IdResetTest, NineteenDigitIdsAreOpaque) {
  BalancerOptions options = ExactOptions();
  options.initial_last_event_id = "5000000000000000000";  // 19 digits
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("1"), 0);  // not below a numeric resume id
  EXPECT_EQ(Message("1000000000000000000"), 0);
  EXPECT_EQ(Message("999999999999999999"), 0);  // 18 digits, after opaque
  EXPECT_EQ(balancer().id_resets(), 0u);
}

TEST_F(IdResetTest, LeadingZerosCompareByValue) {
  MakeBalancer(1);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("010"), 0);
  EXPECT_EQ(Message("011"), 0);
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(Message("9"), 0);
  EXPECT_EQ(balancer().id_resets(), 1u);
}

TEST_F(IdResetTest, AnOpaqueResumeIdIsNeverBelowANumericId) {
  BalancerOptions options = ExactOptions();
  options.initial_last_event_id = "zzz";
  MakeBalancer(1, "round-robin", options);
  balancer().Start();
  OpenActive();
  EXPECT_EQ(Message("1"), 0);
  EXPECT_EQ(Message("zzz"), kDropEvent);
  EXPECT_EQ(balancer().id_resets(), 0u);
}

TEST_F(IdResetTest, EventsFromAStaleConnectionDoNotReset) {
  MakeBalancer(2);
  balancer().Start();
  const ConnectionId old_id = LastConnectionId();
  OpenActive();
  Message("10");
  FailActive();
  OpenActive();
  EXPECT_EQ(balancer().OnMessage(old_id, "1"), std::nullopt);
  EXPECT_EQ(balancer().id_resets(), 0u);
  EXPECT_EQ(Message("10"), kDropEvent);  // memory intact
}

// ---------------------------------------------------------------------------
// Long ids

TEST_F(BalancerTest, LongIdsAreDeliveredButNotCarried) {
  ASSERT_EQ(kMaxCarriedIdBytes, 1024u);
  const std::string longest_carried(kMaxCarriedIdBytes, 'x');
  const std::string too_long(kMaxCarriedIdBytes + 1, 'y');
  MakeBalancer(2);
  balancer().Start();
  const std::size_t a = LastEndpoint();
  OpenActive();
  EXPECT_EQ(Message(longest_carried), static_cast<int>(a));
  FailActive();
  const std::size_t b = LastEndpoint();
  EXPECT_EQ(LastUrl(), Url(b) + "?lastEventId=" + longest_carried);

  OpenActive();
  EXPECT_EQ(Message(too_long), static_cast<int>(b));
  EXPECT_EQ(balancer().last_event_id(), too_long);
  host_.Advance(5000);
  FailActive();
  // Neither the long id nor an older one: the URL as configured.
  EXPECT_EQ(LastUrl(), Url(a));

  // Still deduplicated.
  OpenActive();
  EXPECT_EQ(Message(too_long), kDropEvent);
  EXPECT_EQ(Message("short"), static_cast<int>(a));
  host_.Advance(5000);
  FailActive();
  EXPECT_EQ(LastUrl(), Url(b) + "?lastEventId=short");
}

TEST_F(BalancerTest, MegabyteIdsAreDeduplicatedWithoutBeingKept) {
  const std::string huge(1 << 20, 'z');
  MakeBalancer(2);
  balancer().Start();
  OpenActive();
  EXPECT_GE(Message(huge), 0);
  FailActive();
  OpenActive();
  EXPECT_EQ(Message(huge), kDropEvent);
  EXPECT_EQ(LastUrl(), Url(LastEndpoint()));
}

}  // namespace
}  // namespace test
}  // namespace sse_balancer
