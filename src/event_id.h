// Reading SSE event ids.
#ifndef SSE_BALANCER_EVENT_ID_H_
#define SSE_BALANCER_EVENT_ID_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace sse_balancer {

/// The id as a number when it is 1-18 ASCII digits, the common case of a
/// server with a sequence; otherwise nullopt (ids are opaque strings).
std::optional<std::uint64_t> NumericId(std::string_view id);

/// A 64-bit hash of an id, so remembering ids costs the same whatever their
/// length. FNV-1a followed by a murmur-style finaliser.
std::uint64_t HashId(std::string_view id);

}  // namespace sse_balancer

#endif  // SSE_BALANCER_EVENT_ID_H_
