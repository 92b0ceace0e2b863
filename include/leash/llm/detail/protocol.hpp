// leash/llm/detail/protocol.hpp — checked JSON access and small text helpers
// shared by the provider protocols. Nothing here throws: Boost.JSON's `as_*`
// accessors do, so only the `if_*` forms are used.
#ifndef LEASH_LLM_DETAIL_PROTOCOL_HPP
#define LEASH_LLM_DETAIL_PROTOCOL_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <algorithm>
#include <cstdint>
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

}  // namespace leash::llm::detail

#endif
