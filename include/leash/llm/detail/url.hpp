// Splitting the absolute URLs the HTTP client is given. Not for direct use.
//
// Hand-parsed rather than Boost.URL: only `http(s)://host[:port][/path][?query]`
// is accepted, that takes fifty lines, and Boost.URL (1.81) is a compiled
// library that would make the header-only core link one more Boost library.
#ifndef LEASH_LLM_DETAIL_URL_HPP
#define LEASH_LLM_DETAIL_URL_HPP

#include <leash/error.hpp>

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

namespace leash::llm::detail {

/// An absolute http(s) URL, split for connecting and for the request line.
struct Url {
  bool tls = false;
  std::string host;         ///< without brackets for IPv6 literals
  std::uint16_t port = 0;   ///< explicit, or 80 / 443
  std::string target;       ///< path and query, at least "/"; never the fragment
  bool ipv6_literal = false;

  /// "host:port" (IPv6 bracketed): what error messages and the pool key name.
  std::string origin() const {
    return (ipv6_literal ? '[' + host + ']' : host) + ':' + std::to_string(port);
  }
  /// The Host header: the port only when it is not the scheme's default.
  std::string host_header() const {
    std::string h = ipv6_literal ? '[' + host + ']' : host;
    if (port != (tls ? 443 : 80)) h += ':' + std::to_string(port);
    return h;
  }
};

/// Splits `text`; Errc::invalid_transport_spec when it is not an absolute
/// http(s) URL. Messages never repeat the path or query (a query may carry a key).
inline result<Url> parse_url(std::string_view text) {
  auto bad = [](std::string why) { return Error(Errc::invalid_transport_spec, "invalid URL: " + std::move(why)); };
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
  };

  Url url;
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad("expected http://host/... or https://host/...");
  auto scheme = lower(text.substr(0, sep));
  if (scheme == "https")
    url.tls = true;
  else if (scheme != "http")
    return bad("scheme must be http or https");
  text.remove_prefix(sep + 3);

  auto end = text.find_first_of("/?#");
  auto authority = text.substr(0, end);
  auto rest = end == std::string_view::npos ? std::string_view() : text.substr(end);
  // Credentials in a URL end up in logs; keys belong in headers.
  if (authority.find('@') != std::string_view::npos) return bad("user information in the URL is not supported");

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    url.ipv6_literal = true;
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected characters after the IPv6 address");
      port_text = after.substr(1);
    }
    for (char c : url.host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return bad("invalid IPv6 address");
  } else {
    auto colon = authority.rfind(':');
    url.host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (char c : url.host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
        return bad("invalid character in the host name");
  }
  if (url.host.empty()) return bad("no host");

  if (port_text.empty()) {
    url.port = url.tls ? 443 : 80;
  } else {
    unsigned long p = 0;
    if (port_text.size() > 5) return bad("port out of range");
    for (char c : port_text) {
      if (c < '0' || c > '9') return bad("port is not a number");
      p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (p == 0 || p > 65535) return bad("port out of range");
    url.port = static_cast<std::uint16_t>(p);
  }

  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  // Control characters and spaces would break (or inject into) the request line.
  for (char c : rest)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("space or control character in the path");
  url.target = rest.empty() ? std::string("/") : rest.front() == '/' ? std::string(rest) : '/' + std::string(rest);
  return url;
}

}  // namespace leash::llm::detail

#endif
