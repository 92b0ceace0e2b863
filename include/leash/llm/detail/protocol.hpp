// leash/llm/detail/protocol.hpp — checked JSON access and small text helpers
// shared by the provider protocols. Nothing here throws: Boost.JSON's `as_*`
// accessors do, so only the `if_*` forms are used.
#ifndef LEASH_LLM_DETAIL_PROTOCOL_HPP
#define LEASH_LLM_DETAIL_PROTOCOL_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::llm::detail {

/// At most `cap` bytes of `text` (never splitting a UTF-8 character), with
/// control characters shown as spaces and "…" when cut: for error messages.
inline std::string snippet(std::string_view text, std::size_t cap = 200) {
  std::size_t n = utf8_prefix(text, cap);
  std::string out(text.substr(0, n));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (n < text.size()) out += "…";
  return out;
}

/// Replaces every occurrence of `secret` in `text` (no-op for an empty secret).
inline void redact(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at))
    text.replace(at, secret.size(), "[redacted]");
}

/// Parses a whole document; nullopt if it is not JSON.
inline std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

/// The same, into `storage` (the document must not outlive it).
inline std::optional<json::value> parse_json(std::string_view text, json::storage_ptr storage) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, std::move(storage));
  if (ec) return std::nullopt;
  return v;
}

inline json::value const* field(json::object const& o, std::string_view key) { return o.if_contains(key); }

inline json::object const* object_field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

inline json::array const* array_field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

inline json::string const* string_field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  return v ? v->if_string() : nullptr;
}

/// The string at `key`, or "" when missing or not a string.
inline std::string string_or_empty(json::object const& o, std::string_view key) {
  auto const* s = string_field(o, key);
  return s ? std::string(*s) : std::string();
}

/// A non-negative integer (token counts); nullopt when absent or not a count.
inline std::optional<std::uint64_t> count_field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (auto const* u = v->if_uint64()) return *u;
  if (auto const* i = v->if_int64()) return *i >= 0 ? std::optional<std::uint64_t>(std::uint64_t(*i)) : std::nullopt;
  if (auto const* d = v->if_double())
    return *d >= 0 && *d < 1.8e19 ? std::optional<std::uint64_t>(std::uint64_t(*d)) : std::nullopt;
  return std::nullopt;
}

/// Tool-call arguments as a model wrote them (a JSON text): the object if it
/// is one; otherwise the raw text as a JSON string, so strict validation
/// rejects the call by name and the model sees why. Blank text is `{}` (a
/// call of a tool without parameters).
inline json::value arguments_from_text(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  if (auto parsed = parse_json(text); parsed && parsed->is_object()) return std::move(*parsed);
  return json::string(text);
}

/// "<provider>: malformed response: <what> (body: <excerpt>)", as Errc::llm_bad_response.
inline Error bad_response(std::string_view provider, std::string_view what, std::string_view body) {
  std::string m(provider);
  m += ": malformed response: ";
  m += what;
  if (!body.empty()) {
    m += " (body: ";
    m += snippet(body, 160);
    m += ')';
  }
  return Error{Errc::llm_bad_response, std::move(m)};
}

/// The id each tool call and tool result is sent under. Providers pair a
/// result with its call by id; leash's own calls may have none (scripted
/// plans), so a missing call id is made up ("call_<message>_<call>") and a
/// result without one answers the earliest call still unanswered.
/// Returns, per message, the ids of its calls (assistant) or its one id (tool).
template <class Messages>
std::vector<std::vector<std::string>> assign_call_ids(Messages const& messages) {
  std::vector<std::vector<std::string>> out(messages.size());
  std::deque<std::string> unanswered;
  for (std::size_t m = 0; m < messages.size(); ++m) {
    auto const& msg = messages[m];
    if (msg.role == "tool") {
      std::string id = msg.tool_call_id;
      if (id.empty()) id = unanswered.empty() ? "call_orphan_" + std::to_string(m) : unanswered.front();
      if (auto it = std::find(unanswered.begin(), unanswered.end(), id); it != unanswered.end())
        unanswered.erase(it);
      out[m].push_back(std::move(id));
      continue;
    }
    for (std::size_t k = 0; k < msg.tool_calls.size(); ++k) {
      std::string id = msg.tool_calls[k].id;
      if (id.empty()) id = "call_" + std::to_string(m) + "_" + std::to_string(k);
      unanswered.push_back(id);
      out[m].push_back(std::move(id));
    }
  }
  return out;
}

/// The Errc for an HTTP status that is not 2xx (the protocols refine 429).
inline Errc errc_for_status(unsigned status) {
  if (status == 401 || status == 403) return Errc::llm_auth_failed;
  if (status == 429) return Errc::llm_rate_limited;
  if (status == 408 || status == 409 || status >= 500) return Errc::llm_server_error;
  if (status >= 400) return Errc::llm_request_rejected;
  return Errc::llm_bad_response;  // 1xx/3xx: not an answer this protocol gives
}

/// "<provider>: HTTP <status> (<code>): <message>", the provider's words cut short.
inline std::string status_message(std::string_view provider, unsigned status, std::string_view code,
                                  std::string_view message) {
  std::string m(provider);
  m += ": HTTP ";
  m += std::to_string(status);
  if (!code.empty()) {
    m += " (";
    m += snippet(code, 80);
    m += ')';
  }
  if (!message.empty()) {
    m += ": ";
    m += snippet(message, 400);
  }
  return m;
}

/// `s` as a JSON string, appended to `out` with exactly Boost.JSON's escapes
/// (`\"`, `\\`, `\b \f \n \r \t`, other control characters as `\u00xx`
/// in lower-case hex; every other byte as it is), so the text is the one
/// json::serialize writes. Boost.JSON's own serializer goes byte by byte
/// after the first escape, and a rendered context has a newline every line:
/// this one skips eight plain bytes at a time and copies runs.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto plain = [](unsigned char c) { return c >= 0x20 && c != '"' && c != '\\'; };
  out.push_back('"');
  char const* p = s.data();
  char const* const end = p + s.size();
  char const* run = p;
  for (;;) {
    // Eight bytes at a time while none is below 0x20, a quote or a backslash
    // (the classic has-less / has-zero tests: exact as yes/no per word).
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      std::uint64_t const low = (w - ones * 0x20) & ~w & highs;
      std::uint64_t const q = w ^ (ones * '"'), b = w ^ (ones * '\\');
      if (low | ((q - ones) & ~q & highs) | ((b - ones) & ~b & highs)) break;
      p += 8;
    }
    char const* const stop = end - p >= 8 ? p + 8 : end;
    while (p < stop && plain(static_cast<unsigned char>(*p))) ++p;
    if (p == end) break;
    if (p == stop) continue;
    out.append(run, static_cast<std::size_t>(p - run));
    auto const c = static_cast<unsigned char>(*p++);
    run = p;
    out.push_back('\\');
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '\b': out.push_back('b'); break;
      case '\f': out.push_back('f'); break;
      case '\n': out.push_back('n'); break;
      case '\r': out.push_back('r'); break;
      case '\t': out.push_back('t'); break;
      default:
        out.append("u00", 3);
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(run, static_cast<std::size_t>(p - run));
  out.push_back('"');
}

/// JSON text appended to a string, byte for byte as json::serialize writes
/// it, without building a json::value first.
class JsonAppender {
 public:
  explicit JsonAppender(std::string& out) : out_(out) {}
  void raw(std::string_view s) { out_.append(s); }
  void string(std::string_view s) { append_json_string(out_, s); }
  void value(json::value const& v) {
    sr_.reset(&v);
    char buf[4096];
    while (!sr_.done()) {
      auto part = sr_.read(buf, sizeof buf);
      out_.append(part.data(), part.size());
    }
  }
  /// `"name":`
  void key(std::string_view name) {
    string(name);
    out_.push_back(':');
  }

 private:
  std::string& out_;
  json::serializer sr_;
};

/// The size a request body of these messages will about have once written as
/// JSON: their text, a quarter more for escapes (rendered iterations quote
/// JSON), and room for the rest. Reserved up front, the body is written in one
/// allocation instead of doubling its way up from 4 KiB.
template <class Messages>
std::size_t request_size_guess(Messages const& messages, std::size_t tools) {
  std::size_t guess = 512 + 512 * tools;
  for (auto const& m : messages) {
    guess += 64 + m.content.size() + m.content.size() / 4;
    for (auto const& c : m.tool_calls)
      guess += 96 + c.name.size() + (c.args.is_string() ? c.args.get_string().size() : 64);
  }
  return guess;
}

}  // namespace leash::llm::detail

#endif
