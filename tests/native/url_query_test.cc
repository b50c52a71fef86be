#include "url_query.h"

#include <gtest/gtest.h>

#include <string>

namespace sse_balancer {
namespace {

TEST(PercentEncodeTest, LeavesUnreservedCharactersAlone) {
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  EXPECT_EQ(PercentEncode(unreserved), unreserved);
  EXPECT_EQ(PercentEncode(""), "");
}

TEST(PercentEncodeTest, EncodesReservedCharactersWithUppercaseHex) {
  EXPECT_EQ(PercentEncode(" "), "%20");  // not '+'
  EXPECT_EQ(PercentEncode("%"), "%25");
  EXPECT_EQ(PercentEncode("&=?#/+:"), "%26%3D%3F%23%2F%2B%3A");
  EXPECT_EQ(PercentEncode("!*'()[]@$,;"), "%21%2A%27%28%29%5B%5D%40%24%2C%3B");
  EXPECT_EQ(PercentEncode("a b"), "a%20b");
}

TEST(PercentEncodeTest, EncodesEveryByteOfUtf8AndControlBytes) {
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");  // é
  EXPECT_EQ(PercentEncode(std::string("\0\n\x7F\xFF", 4)), "%00%0A%7F%FF");
}

TEST(WithQueryParamTest, AddsAQueryWhenThereIsNone) {
  EXPECT_EQ(WithQueryParam("http://h/events", "lastEventId", "42"),
            "http://h/events?lastEventId=42");
}

TEST(WithQueryParamTest, AppendsToAnExistingQuery) {
  EXPECT_EQ(WithQueryParam("http://h/events?topic=a&x=1", "lastEventId", "42"),
            "http://h/events?topic=a&x=1&lastEventId=42");
}

TEST(WithQueryParamTest, ReplacesAnExistingParamOfTheSameName) {
  EXPECT_EQ(
      WithQueryParam("http://h/e?lastEventId=1&topic=a", "lastEventId", "42"),
      "http://h/e?topic=a&lastEventId=42");
  // Every occurrence goes, including one without a value.
  EXPECT_EQ(WithQueryParam("http://h/e?lastEventId=1&a=2&lastEventId",
                           "lastEventId", "42"),
            "http://h/e?a=2&lastEventId=42");
}

TEST(WithQueryParamTest, KeepsParamsWhoseNamesOnlyLookAlike) {
  EXPECT_EQ(
      WithQueryParam("http://h/e?lastEventIdX=1&xlastEventId=2&a=lastEventId",
                     "lastEventId", "42"),
      "http://h/e?lastEventIdX=1&xlastEventId=2&a=lastEventId&"
      "lastEventId=42");
}

TEST(WithQueryParamTest, KeepsTheFragmentAtTheEnd) {
  EXPECT_EQ(WithQueryParam("http://h/e#top", "lastEventId", "42"),
            "http://h/e?lastEventId=42#top");
  EXPECT_EQ(WithQueryParam("http://h/e?a=1#top", "lastEventId", "42"),
            "http://h/e?a=1&lastEventId=42#top");
  // A '?' inside the fragment is not the query.
  EXPECT_EQ(
      WithQueryParam("http://h/e#frag?lastEventId=1", "lastEventId", "42"),
      "http://h/e?lastEventId=42#frag?lastEventId=1");
}

TEST(WithQueryParamTest, DropsEmptyQueryComponents) {
  EXPECT_EQ(WithQueryParam("http://h/e?", "lastEventId", "42"),
            "http://h/e?lastEventId=42");
  EXPECT_EQ(WithQueryParam("http://h/e?a=1&&b=2&", "lastEventId", "42"),
            "http://h/e?a=1&b=2&lastEventId=42");
}

TEST(WithQueryParamTest, PercentEncodesTheValue) {
  EXPECT_EQ(WithQueryParam("http://h/e", "lastEventId", "a b&c=d#e/\xC3\xA9"),
            "http://h/e?lastEventId=a%20b%26c%3Dd%23e%2F%C3%A9");
  EXPECT_EQ(WithQueryParam("http://h/e", "lastEventId", ""),
            "http://h/e?lastEventId=");
}

TEST(WithQueryParamTest, PercentEncodesTheNameAndReplacesItInEitherForm) {
  EXPECT_EQ(WithQueryParam("http://h/e", "last id", "7"),
            "http://h/e?last%20id=7");
  EXPECT_EQ(WithQueryParam("http://h/e?last%20id=1&a=2", "last id", "7"),
            "http://h/e?a=2&last%20id=7");
}

TEST(WithQueryParamTest, ValueMayContainTheNameOfOtherParams) {
  const std::string url =
      WithQueryParam("http://h/e?a=1", "lastEventId", "a=2&b=3");
  EXPECT_EQ(url, "http://h/e?a=1&lastEventId=a%3D2%26b%3D3");
  // Applying it again replaces only our param.
  EXPECT_EQ(WithQueryParam(url, "lastEventId", "9"),
            "http://h/e?a=1&lastEventId=9");
}

}  // namespace
}  // namespace sse_balancer
