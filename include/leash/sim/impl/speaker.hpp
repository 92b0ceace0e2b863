// leash/sim/impl/speaker.hpp — definitions for sim/speaker.hpp.
#ifndef LEASH_SIM_IMPL_SPEAKER_HPP
#define LEASH_SIM_IMPL_SPEAKER_HPP

#include <leash/sim/detail/time_text.hpp>

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

namespace leash::sim {

inline std::optional<Role> role_from_string(std::string_view s) noexcept {
  if (s == "persona") return Role::persona;
  if (s == "provider") return Role::provider;
  if (s == "judge") return Role::judge;
  return std::nullopt;
}

inline json::object reply_metadata(Reply const& reply, Role role) {
  json::object m;
  // Sized once: growing key by key rehashed it five times. One spare slot
  // for the conversation's raw_response.
  m.reserve(8 + reply.extra.size());
  if (reply.response_id.empty())
    m["response_id"] = nullptr;
  else
    m["response_id"] = reply.response_id;
  m["model"] = reply.model;
  m["provider"] = reply.provider;
  m["role"] = to_string(role);
  m["timestamp"] = detail::iso_utc(reply.timestamp);
  json::object usage(3);
  usage["prompt_tokens"] = reply.usage.input_tokens;
  usage["completion_tokens"] = reply.usage.output_tokens;
  usage["total_tokens"] = reply.usage.input_tokens + reply.usage.output_tokens;
  m["usage"] = std::move(usage);
  for (auto const& [k, v] : reply.extra) m[k] = v;
  return m;
}

inline json::object Turn::to_json() const {
  json::object o;
  o["turn"] = turn;
  o["speaker"] = to_string(speaker);
  if (input)
    o["input"] = *input;
  else
    o["input"] = nullptr;
  o["response"] = response;
  o["early_termination"] = early_termination;
  o["logging"] = logging;
  return o;
}

inline result<Turn> Turn::from_json(json::value const& v) {
  auto const* o = v.if_object();
  if (!o) return Error{Errc::invalid_input, "a turn must be a JSON object"};
  std::string missing;
  for (std::string_view key : {"turn", "speaker", "input", "response"})
    if (!o->contains(key)) missing += missing.empty() ? std::string(key) : ", " + std::string(key);
  if (!missing.empty()) return Error{Errc::invalid_input, "a turn is missing required fields: " + missing};
  Turn t;
  auto const& n = o->at("turn");
  if (!n.is_int64()) return Error{Errc::invalid_input, "turn.turn: expected an integer"};
  t.turn = static_cast<int>(n.get_int64());
  auto const* sp = o->at("speaker").if_string();
  auto role = sp ? role_from_string(*sp) : std::nullopt;
  if (!role) return Error{Errc::invalid_input, "turn.speaker: expected \"persona\", \"provider\" or \"judge\""};
  t.speaker = *role;
  auto const& in = o->at("input");
  if (in.is_string())
    t.input = std::string(in.get_string());
  else if (!in.is_null())
    return Error{Errc::invalid_input, "turn.input: expected a string or null"};
  auto const* resp = o->at("response").if_string();
  if (!resp) return Error{Errc::invalid_input, "turn.response: expected a string"};
  t.response = std::string(*resp);
  if (auto const* e = o->if_contains("early_termination")) {
    if (!e->is_bool()) return Error{Errc::invalid_input, "turn.early_termination: expected a bool"};
    t.early_termination = e->get_bool();
  }
  if (auto const* l = o->if_contains("logging"); l && !l->is_null()) {
    if (!l->is_object()) return Error{Errc::invalid_input, "turn.logging: expected an object"};
    t.logging = l->get_object();
  }
  return t;
}

inline bool contains_ignoring_case(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.empty() || needle.size() > haystack.size()) return false;
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return lower(a) == lower(b); }) != haystack.end();
}

inline std::vector<std::string> find_signals(std::vector<std::string> const& declared, std::string_view raw) {
  std::vector<std::string> found;
  for (auto const& s : declared)
    if (contains_ignoring_case(raw, s)) found.push_back(s);
  return found;
}

namespace detail {

// A lifecycle hook may be a coroutine or a plain call, with or without a
// result; all become awaitable<result<void>>.
template <class F>
boost::asio::awaitable<result<void>> lift_hook(F&& call) {
  using R = std::invoke_result_t<F&>;
  if constexpr (std::is_same_v<R, boost::asio::awaitable<result<void>>>) {
    co_return co_await call();
  } else if constexpr (std::is_same_v<R, boost::asio::awaitable<void>>) {
    co_await call();
    co_return success();
  } else if constexpr (std::is_same_v<R, result<void>>) {
    co_return call();
  } else {
    static_assert(std::is_void_v<R>,
                  "leash::sim::Speaker: setup, enter_session and cleanup return asio::awaitable<result<void>>, "
                  "asio::awaitable<void>, result<void> or void");
    call();
    co_return success();
  }
}

}  // namespace detail

template <class S>
std::string speaker_traits<S>::post_process(S& s, std::string raw) {
  // Detected with a std::string argument: a member taking std::string_view,
  // std::string const& or std::string all qualify.
  if constexpr (requires { s.post_process(raw); })
    return std::string(s.post_process(std::as_const(raw)));
  else
    return raw;
}

template <class S>
std::vector<std::string> speaker_traits<S>::custom_termination_signals(S& s) {
  if constexpr (requires { s.custom_termination_signals(); }) {
    std::vector<std::string> out;
    for (auto const& x : s.custom_termination_signals()) out.emplace_back(x);
    return out;
  } else {
    return {};
  }
}

template <class S>
std::vector<std::string> speaker_traits<S>::extract_signals(S& s, std::string_view raw) {
  if constexpr (requires(std::string const& text) { s.extract_signals(text); }) {
    std::vector<std::string> out;
    // Named: a hook may return views into its argument, which must outlive the loop.
    std::string const text(raw);
    for (auto const& x : s.extract_signals(text)) out.emplace_back(x);
    return out;
  } else {
    return find_signals(custom_termination_signals(s), raw);
  }
}

template <class S>
bool speaker_traits<S>::should_discard(S& s, std::vector<std::string> const& signals) {
  if constexpr (requires { s.should_discard(signals); })
    return static_cast<bool>(s.should_discard(signals));
  else
    return false;
}

template <class S>
std::optional<Role> speaker_traits<S>::first_speaker(S& s) {
  if constexpr (requires { s.first_speaker(); })
    return s.first_speaker();
  else
    return std::nullopt;
}

template <class S>
std::vector<std::string> speaker_traits<S>::prepare_sessions(S& s, std::vector<std::string> sessions) {
  if constexpr (has_prepare_sessions)
    return s.prepare_sessions(std::move(sessions));
  else
    return sessions;
}

template <class S>
boost::asio::awaitable<result<void>> speaker_traits<S>::setup(S& s) {
  if constexpr (requires { s.setup(); })
    co_return co_await detail::lift_hook([&] { return s.setup(); });
  else
    co_return success();
}

template <class S>
boost::asio::awaitable<result<void>> speaker_traits<S>::enter_session(S& s, std::string_view session_type) {
  std::string type(session_type);
  if constexpr (requires { s.enter_session(std::as_const(type)); })
    co_return co_await detail::lift_hook([&] { return s.enter_session(std::as_const(type)); });
  else
    co_return success();
}

template <class S>
boost::asio::awaitable<result<void>> speaker_traits<S>::cleanup(S& s) {
  if constexpr (requires { s.cleanup(); })
    co_return co_await detail::lift_hook([&] { return s.cleanup(); });
  else
    co_return success();
}

template <class S>
std::vector<std::string> speaker_traits<S>::no_retry_substrings(S& s) {
  if constexpr (requires { s.no_retry_substrings(); }) {
    std::vector<std::string> out;
    for (auto const& x : s.no_retry_substrings()) out.emplace_back(x);
    return out;
  } else {
    return {};
  }
}

template <class S>
std::optional<std::string> speaker_traits<S>::first_turn_input(S& s) {
  if constexpr (requires { s.first_turn_input(); })
    return s.first_turn_input();
  else
    return std::string(default_start_prompt);
}

template <class S>
SpeakerInfo speaker_traits<S>::describe(S& s) {
  if constexpr (requires { s.describe(); })
    return s.describe();
  else
    return {};
}

template <class S>
json::object speaker_traits<S>::failure_metadata(S& s) {
  if constexpr (requires { s.failure_metadata(); })
    return s.failure_metadata();
  else
    return {};
}

}  // namespace leash::sim

#endif
