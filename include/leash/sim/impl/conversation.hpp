// leash/sim/impl/conversation.hpp — definitions for sim/conversation.hpp.
#ifndef LEASH_SIM_IMPL_CONVERSATION_HPP
#define LEASH_SIM_IMPL_CONVERSATION_HPP

#include <algorithm>
#include <cctype>
#include <exception>
#include <utility>

namespace leash::sim {

inline std::size_t count_words(std::string_view text) noexcept {
  std::size_t n = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

// Not coroutines: both return run_session's (its parameters are plain values).
template <class Persona, class Provider>
boost::asio::awaitable<result<std::vector<Turn>>> Conversation<Persona, Provider>::async_run(
    int max_turns, std::optional<std::size_t> max_total_words, bool persona_first) {
  return run_session(max_turns, max_total_words, persona_first, false);
}

template <class Persona, class Provider>
boost::asio::awaitable<result<std::vector<Turn>>> Conversation<Persona, Provider>::async_run_and_take(
    int max_turns, std::optional<std::size_t> max_total_words, bool persona_first) {
  return run_session(max_turns, max_total_words, persona_first, true);
}

template <class Persona, class Provider>
boost::asio::awaitable<result<std::vector<Turn>>> Conversation<Persona, Provider>::run_session(
    int max_turns, std::optional<std::size_t> max_total_words, bool persona_first, bool hand_over) {
  history_.clear();
  words_ = 0;
  if (max_turns < 1)
    co_return Error{Errc::invalid_input, "Conversation: max_turns must be at least 1, got " + std::to_string(max_turns)};
  int const turns = adjust_turns(max_turns, persona_first);
  history_.reserve(static_cast<std::size_t>(turns));
  for (int t = 0; t < turns; ++t) {
    bool persona_turn = (t % 2 == 0) == persona_first;
    result<After> after = After::next;
    if (persona_turn)
      after = co_await take_turn(*persona_, Role::persona, t, max_total_words);
    else
      after = co_await take_turn(*provider_, Role::provider, t, max_total_words);
    if (!after) co_return after.error();
    if (after.value() == After::stop) break;
  }
  if (!hand_over) co_return history_;
  std::vector<Turn> said = std::move(history_);
  history_.clear();
  co_return said;
}

template <class Persona, class Provider>
template <class S>
boost::asio::awaitable<result<typename Conversation<Persona, Provider>::After>>
Conversation<Persona, Provider>::take_turn(S& speaker, Role role, int index,
                                            std::optional<std::size_t> max_total_words) {
  using traits = speaker_traits<S>;
  // Every call into the speaker (its replies and its hooks) is inside the
  // try: a speaker that throws ends the session with an error value.
  try {
    result<Reply> reply = Error{Errc::speaker_failed, "no reply"};
    if (index == 0)
      reply = co_await speaker.start();
    else
      reply = co_await speaker.respond(History(history_));
    if (!reply) co_return reply.error();
    Reply& said = reply.value();
    // Signals come from the raw text: post-processing may strip them.
    std::vector<std::string> signals = traits::extract_signals(speaker, said.text);
    Turn turn;
    turn.logging = reply_metadata(said, role);
    if (role == Role::provider) turn.logging["raw_response"] = said.text;
    // The raw text is not needed any more: handed to post-processing, not copied.
    std::string text = traits::post_process(speaker, std::move(said.text));
    words_ += count_words(text);

    turn.turn = index + 1;
    turn.speaker = role;
    if (index == 0)
      turn.input = traits::first_turn_input(speaker);
    else
      turn.input = history_.back().response;
    turn.response = std::move(text);
    history_.push_back(std::move(turn));

    bool global = role == Role::persona && contains_ignoring_case(history_.back().response, termination_signal);
    bool custom = false;
    if (!global && !signals.empty()) {
      // Only what this speaker declared ends the conversation: a custom
      // extract_signals may report more than that.
      auto declared = traits::custom_termination_signals(speaker);
      custom = std::any_of(signals.begin(), signals.end(), [&](std::string const& s) {
        return std::find(declared.begin(), declared.end(), s) != declared.end();
      });
    }
    if (global || custom) {
      if (traits::should_discard(speaker, signals)) {
        history_.pop_back();
        if (!history_.empty()) history_.back().early_termination = true;
      } else {
        history_.back().early_termination = true;
      }
      co_return After::stop;
    }
    if (role == Role::provider && max_total_words && words_ >= *max_total_words) co_return After::stop;
    co_return After::next;
  } catch (std::exception const& e) {
    co_return Error{Errc::speaker_failed, std::string(to_string(role)) + " threw: " + e.what()};
  } catch (...) {
    co_return Error{Errc::speaker_failed, std::string(to_string(role)) + " threw an unknown exception"};
  }
}

}  // namespace leash::sim

#endif
