// URL query editing for carrying the last event id across endpoints.
#ifndef SSE_BALANCER_URL_QUERY_H_
#define SSE_BALANCER_URL_QUERY_H_

#include <string>
#include <string_view>

namespace sse_balancer {

/// Percent-encodes everything except RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view text);

/// Returns `url` with `name=value` as its last query parameter. Any existing
/// parameter called `name` is removed; the rest of the query and any
/// fragment are kept as they were.
std::string WithQueryParam(std::string_view url, std::string_view name,
                           std::string_view value);

}  // namespace sse_balancer

#endif  // SSE_BALANCER_URL_QUERY_H_
