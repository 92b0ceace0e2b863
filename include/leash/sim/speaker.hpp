// leash/sim/speaker.hpp — a party of a simulated conversation: the Speaker
// requirement, its optional hooks, and the turn it produces.
//
// A conversation has two speakers: the *persona* (a simulated user) and the
// *provider* (the chatbot under test). A Speaker is any type with
//
//   asio::awaitable<result<Reply>> start();                 // turn 0 of a session
//   asio::awaitable<result<Reply>> respond(History history); // every later turn
//
// and, optionally, any of the hooks below; a hook the type does not define
// has the default shown. Defining one member overrides one hook, nothing to
// inherit (speaker_traits<S> reads them):
//
//   std::string post_process(std::string_view raw);          // raw
//   std::vector<std::string> custom_termination_signals();  // none
//   std::vector<std::string> extract_signals(std::string_view raw);
//                            // the declared signals found in raw, case-insensitively,
//                            // as literals, in declaration order, in their declared form
//   bool should_discard(std::vector<std::string> const& signals);  // false
//   std::optional<Role> first_speaker();                    // none: the runner's setting
//   std::vector<std::string> prepare_sessions(std::vector<std::string>);  // unchanged
//   setup(), enter_session(std::string_view type), cleanup()  // nothing
//       each returning asio::awaitable<result<void>>, asio::awaitable<void>,
//       result<void> or void
//   std::vector<std::string> no_retry_substrings();         // none
//   std::optional<std::string> first_turn_input();          // the start prompt
//   SpeakerInfo describe();                                 // empty (for logs)
//   json::object failure_metadata();                        // empty (logged when a reply fails)
//
// Reference: VERA-MH's LLMInterface (reference/vera-mh-simulator.md §3, §4).
// Kept: the hook names (without the leading underscore), defaults and
// semantics, the turn dict and its keys. Changed: hooks are members found at
// compile time rather than virtual overrides, and failures are values
// (result<Reply>) rather than LLMGenerationFailed exceptions.
#ifndef LEASH_SIM_SPEAKER_HPP
#define LEASH_SIM_SPEAKER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/planner.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/describe/enum.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace leash::sim {

/// Who speaks. The string forms ("persona", "provider", "judge") are what
/// turns, transcripts and traces carry.
enum class Role { persona, provider, judge };
BOOST_DESCRIBE_ENUM(Role, persona, provider, judge)

constexpr std::string_view to_string(Role r) noexcept {
  switch (r) {
    case Role::persona: return "persona";
    case Role::provider: return "provider";
    case Role::judge: return "judge";
  }
  return "persona";
}

/// The role a string names; empty for anything else (case-sensitive).
std::optional<Role> role_from_string(std::string_view s) noexcept;

/// What a speaker says on turn 0 when it has no static first message.
inline constexpr std::string_view default_start_prompt = "Start the conversation based on the system prompt";

/// The persona's global end marker (Conversation::termination_signal).
inline constexpr std::string_view end_of_conversation = "<END OF CONVERSATION>";

/// One reply of a speaker: the text and what is known about how it was made.
struct Reply {
  std::string text;
  std::string model;
  std::string provider;     ///< "openai", "anthropic", "scripted", "mock", …
  std::string response_id;  ///< empty when the provider gave none (or a static first message)
  Usage usage;
  double timestamp = 0.0;   ///< seconds since the epoch; 0: when the turn was recorded
  json::object extra;       ///< anything else worth keeping in the turn's `logging`
};

/// The `logging` object of a turn, in the reference's shape:
/// {response_id (null when empty), model, provider, role, timestamp (ISO 8601,
/// UTC), usage: {prompt_tokens, completion_tokens, total_tokens}, …extra}.
json::object reply_metadata(Reply const& reply, Role role);

/// One turn of a conversation.
struct Turn {
  int turn = 0;  ///< 1-based, per session
  Role speaker = Role::persona;
  std::optional<std::string> input;  ///< what the speaker answered; none for a static first message
  std::string response;              ///< after post-processing
  bool early_termination = false;
  json::object logging;  ///< reply_metadata; provider turns add `raw_response`

  /// {turn, speaker, input (null when none), response, early_termination, logging}.
  json::object to_json() const;
  /// The inverse; an object missing `turn`, `speaker`, `input` or `response`
  /// is Errc::invalid_input naming every missing key; an unknown speaker or a
  /// value of the wrong type is Errc::invalid_input too.
  static result<Turn> from_json(json::value const& v);

  friend bool operator==(Turn const&, Turn const&) = default;
};

/// The turns of the current session so far, oldest first.
using History = std::span<Turn const>;

/// What a speaker says about itself, for the session log.
struct SpeakerInfo {
  std::string name;
  std::string model;
  std::optional<double> temperature;
  std::optional<std::uint64_t> max_tokens;
};

namespace detail {
template <class T> using speaker_task = boost::asio::awaitable<result<T>>;
}  // namespace detail

/// The Speaker requirement (see the top of this file).
template <class S>
concept Speaker = requires(S& s, History h) {
  { s.start() } -> std::same_as<detail::speaker_task<Reply>>;
  { s.respond(h) } -> std::same_as<detail::speaker_task<Reply>>;
};

template <class S>
consteval bool check_speaker() {
  static_assert(Speaker<S>,
                "leash::sim::Speaker: the speaker type needs `asio::awaitable<leash::result<leash::sim::Reply>> "
                "start()` and `asio::awaitable<leash::result<leash::sim::Reply>> respond(leash::sim::History)` "
                "(see leash/sim/speaker.hpp)");
  return true;
}

/// The declared signals that occur in `raw`, compared case-insensitively as
/// literals, in declaration order, in their declared form (the default of
/// extract_signals).
std::vector<std::string> find_signals(std::vector<std::string> const& declared, std::string_view raw);

/// Whether `needle` occurs in `haystack`, ASCII case ignored (an empty needle
/// never does).
bool contains_ignoring_case(std::string_view haystack, std::string_view needle) noexcept;

/// Each hook of a speaker type: its member when it has one, else the
/// default. The conversation and the runner call hooks only through this.
template <class S>
struct speaker_traits {
  static std::string post_process(S& s, std::string raw);
  static std::vector<std::string> custom_termination_signals(S& s);
  static std::vector<std::string> extract_signals(S& s, std::string_view raw);
  static bool should_discard(S& s, std::vector<std::string> const& signals);
  static std::optional<Role> first_speaker(S& s);
  static std::vector<std::string> prepare_sessions(S& s, std::vector<std::string> sessions);
  static boost::asio::awaitable<result<void>> setup(S& s);
  static boost::asio::awaitable<result<void>> enter_session(S& s, std::string_view session_type);
  static boost::asio::awaitable<result<void>> cleanup(S& s);
  static std::vector<std::string> no_retry_substrings(S& s);
  static std::optional<std::string> first_turn_input(S& s);
  static SpeakerInfo describe(S& s);
  static json::object failure_metadata(S& s);
  /// Whether S defines prepare_sessions (without it, the prepared list is
  /// known before the speaker exists: the runner uses that to skip finished
  /// jobs without building their speakers).
  static constexpr bool has_prepare_sessions = requires(S& s, std::vector<std::string> v) {
    s.prepare_sessions(std::move(v));
  };
};

}  // namespace leash::sim

#include <leash/sim/impl/speaker.hpp>

#endif
