#ifndef LEASH_LLM_IMPL_SCRIPTED_HPP
#define LEASH_LLM_IMPL_SCRIPTED_HPP

#include <leash/llm/detail/protocol.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <utility>

namespace leash::llm {

namespace detail {

/// The error codes a script may name: the ones a transport can return.
inline std::optional<Errc> scripted_errc(std::string_view name) {
  static constexpr std::pair<std::string_view, Errc> table[] = {
      {"llm_unreachable", Errc::llm_unreachable},
      {"llm_timeout", Errc::llm_timeout},
      {"llm_rate_limited", Errc::llm_rate_limited},
      {"llm_server_error", Errc::llm_server_error},
      {"llm_auth_failed", Errc::llm_auth_failed},
      {"llm_request_rejected", Errc::llm_request_rejected},
      {"llm_bad_response", Errc::llm_bad_response},
      {"llm_response_too_large", Errc::llm_response_too_large},
      {"tls_failed", Errc::tls_failed},
      {"planner_failed", Errc::planner_failed},
  };
  for (auto const& [n, e] : table)
    if (n == name) return e;
  return std::nullopt;
}

/// Reads one script line into `entry` (a reply or a scripted error); returns
/// what is wrong with the line, if anything.
inline std::optional<Error> parse_script_line(json::object const& line, std::string const& where,
                                              result<Completion>& entry) {
  auto fail = [&](std::string what) {
    return std::optional<Error>(Error{Errc::invalid_transport_spec, where + ": " + what});
  };

  if (auto const* e = line.if_contains("error")) {
    if (line.size() != 1) return fail("an \"error\" line has no other keys");
    auto const* eo = e->if_object();
    auto const* code = eo ? string_field(*eo, "code") : nullptr;
    if (!code) return fail("\"error\" needs {\"code\": \"llm_…\", \"message\": \"…\"}");
    auto errc = scripted_errc(*code);
    if (!errc) return fail("unknown error code \"" + snippet(*code, 60) + "\"");
    for (auto const& kv : *eo)
      if (kv.key() != "code" && kv.key() != "message")
        return fail("unknown key \"" + snippet(kv.key(), 60) + "\" in \"error\"");
    std::string message = string_or_empty(*eo, "message");
    entry = Error{*errc, message.empty() ? std::string(*code) : message};
    return std::nullopt;
  }

  Completion c;
  for (auto const& kv : line) {
    std::string_view key = kv.key();
    json::value const& v = kv.value();
    if (key == "text") {
      auto const* s = v.if_string();
      if (!s) return fail("\"text\" is not a string");
      c.text = std::string(*s);
    } else if (key == "model") {
      auto const* s = v.if_string();
      if (!s) return fail("\"model\" is not a string");
      c.model = std::string(*s);
    } else if (key == "finish_reason") {
      auto const* s = v.if_string();
      if (!s) return fail("\"finish_reason\" is not a string");
      c.finish_reason = std::string(*s);
    } else if (key == "usage") {
      auto const* u = v.if_object();
      if (!u) return fail("\"usage\" is not an object");
      for (auto const& f : *u) {
        if (f.key() != "input_tokens" && f.key() != "output_tokens")
          return fail("unknown key \"" + snippet(f.key(), 60) + "\" in \"usage\"");
        auto n = count_field(*u, f.key());
        if (!n) return fail("\"usage." + std::string(f.key()) + "\" is not a count");
        (f.key() == "input_tokens" ? c.usage.input_tokens : c.usage.output_tokens) = *n;
      }
    } else if (key == "tool_calls") {
      auto const* calls = v.if_array();
      if (!calls) return fail("\"tool_calls\" is not an array");
      for (std::size_t k = 0; k < calls->size(); ++k) {
        auto const* call = (*calls)[k].if_object();
        auto const* name = call ? string_field(*call, "name") : nullptr;
        if (!name) return fail("tool_calls[" + std::to_string(k) + "] needs a \"name\"");
        ToolCall tc;
        tc.name = std::string(*name);
        tc.args = json::object{};
        for (auto const& f : *call) {
          if (f.key() == "args")
            tc.args = f.value();
          else if (f.key() == "id" && f.value().is_string())
            tc.id = std::string(f.value().get_string());
          else if (f.key() != "name")
            return fail("unknown key \"" + snippet(f.key(), 60) + "\" in tool_calls[" + std::to_string(k) + "]");
        }
        c.tool_calls.push_back(std::move(tc));
      }
    } else {
      return fail("unknown key \"" + snippet(key, 60) + "\"");
    }
  }
  if (c.finish_reason.empty()) c.finish_reason = c.tool_calls.empty() ? "stop" : "tool_calls";
  entry = std::move(c);
  return std::nullopt;
}

inline std::uint64_t chars_to_tokens(std::size_t chars) { return std::max<std::uint64_t>(1, (chars + 3) / 4); }

}  // namespace detail

inline result<std::vector<result<Completion>>> parse_script(std::string_view text, std::string_view name) {
  std::vector<result<Completion>> out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string where = std::string(name) + ":" + std::to_string(line_no);
    auto doc = detail::parse_json(line);
    if (!doc) return Error{Errc::invalid_transport_spec, where + ": not JSON: " + detail::snippet(line, 80)};
    auto const* obj = doc->if_object();
    if (!obj) return Error{Errc::invalid_transport_spec, where + ": not a JSON object"};
    result<Completion> entry = Completion{};
    if (auto bad = detail::parse_script_line(*obj, where, entry)) return std::move(*bad);
    out.push_back(std::move(entry));
  }
  if (out.empty()) return Error{Errc::invalid_transport_spec, std::string(name) + ": the script has no replies"};
  return out;
}

inline ScriptedTransport::ScriptedTransport(std::vector<result<Completion>> script, std::string model)
    : script_(std::move(script)), model_(std::move(model)) {}

inline result<std::shared_ptr<ScriptedTransport>> ScriptedTransport::from_file(std::string const& path,
                                                                              std::string model) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::invalid_transport_spec, "scripted: cannot open " + path};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{Errc::invalid_transport_spec, "scripted: cannot read " + path};
  auto script = parse_script(text.str(), path);
  if (script.has_error()) return script.error();
  return std::make_shared<ScriptedTransport>(std::move(script).value(), std::move(model));
}

inline result<Completion> ScriptedTransport::next(CompletionRequest const& request) {
  std::unique_lock lock(mutex_);
  ++calls_;
  if (record_) requests_.push_back(request);
  if (script_.empty()) return Error{Errc::planner_failed, "scripted transport has an empty script"};
  result<Completion> entry = script_[next_];
  if (next_ + 1 < script_.size()) ++next_;
  lock.unlock();

  if (entry.has_error()) return entry;
  Completion& c = entry.value();
  if (c.model.empty()) c.model = model_;
  if (c.usage.input_tokens == 0 && c.usage.output_tokens == 0) {
    std::size_t in = 0, out = c.text.size();
    for (auto const& m : request.messages) in += m.content.size();
    for (auto const& call : c.tool_calls) out += call.name.size() + json::serialize(call.args).size();
    c.usage = Usage{detail::chars_to_tokens(in), detail::chars_to_tokens(out)};
  }
  if (request.keep_raw) c.raw_body = "(scripted)";
  return entry;
}

inline boost::asio::awaitable<result<Completion>> ScriptedTransport::complete(CompletionRequest const& request) {
  co_return next(request);
}

inline boost::asio::awaitable<result<Completion>> ScriptedTransport::stream(CompletionRequest const& request,
                                                                           StreamCallback on_delta) {
  auto reply = next(request);
  if (reply.has_value() && on_delta) {
    Completion const& c = reply.value();
    // Pieces of a few bytes, never splitting a UTF-8 character.
    std::string_view text = c.text;
    while (!text.empty()) {
      std::size_t n = utf8_prefix(text, 7);
      if (n == 0) n = text.size();
      on_delta(StreamDelta{StreamDelta::Kind::text, 0, {}, {}, std::string(text.substr(0, n))});
      text.remove_prefix(n);
    }
    for (std::size_t k = 0; k < c.tool_calls.size(); ++k) {
      auto const& call = c.tool_calls[k];
      on_delta(StreamDelta{StreamDelta::Kind::tool_call_start, k, call.id, call.name, {}});
      std::string args = call.args.is_string() ? std::string(call.args.get_string()) : json::serialize(call.args);
      std::size_t half = args.size() / 2;
      on_delta(StreamDelta{StreamDelta::Kind::tool_call_args, k, {}, {}, args.substr(0, half)});
      on_delta(StreamDelta{StreamDelta::Kind::tool_call_args, k, {}, {}, args.substr(half)});
    }
  }
  co_return reply;
}

inline void ScriptedTransport::record_requests(bool on) {
  std::lock_guard lock(mutex_);
  record_ = on;
}

inline std::vector<CompletionRequest> ScriptedTransport::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

inline std::size_t ScriptedTransport::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

}  // namespace leash::llm

#endif
