#include "url_query.h"

namespace sse_balancer {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

// The name part of one `a=b` query component, as written in the URL.
std::string_view ParamName(std::string_view component) {
  return component.substr(0, component.find('='));
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string WithQueryParam(std::string_view url, std::string_view name,
                           std::string_view value) {
  const std::size_t hash = url.find('#');
  const std::string_view fragment =
      hash == std::string_view::npos ? std::string_view() : url.substr(hash);
  const std::string_view before_fragment = url.substr(0, hash);
  const std::size_t question = before_fragment.find('?');
  const std::string_view path = before_fragment.substr(0, question);
  const std::string_view query = question == std::string_view::npos
                                     ? std::string_view()
                                     : before_fragment.substr(question + 1);

  const std::string encoded_name = PercentEncode(name);
  std::string out(path);
  out.push_back('?');
  std::size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view component = query.substr(pos, amp - pos);
    const std::string_view component_name = ParamName(component);
    if (!component.empty() && component_name != name &&
        component_name != encoded_name) {
      out.append(component);
      out.push_back('&');
    }
    pos = amp + 1;
  }
  out.append(encoded_name);
  out.push_back('=');
  out.append(PercentEncode(value));
  out.append(fragment);
  return out;
}

}  // namespace sse_balancer
