// leash/sim/conversation.hpp — one session of a simulated conversation
// between a persona (the simulated user) and a provider (the chatbot under
// test).
//
//   leash::sim::Conversation chat(persona, provider);
//   auto turns = co_await chat.async_run(/*max_turns*/ 6, /*max_total_words*/ {}, /*persona_first*/ true);
//   if (!turns) …   // a speaker's error; chat.history() keeps the turns before it
//
// The rules (reference/vera-mh-simulator.md §5.2, kept exactly):
// * the provider has the last word: max_turns is raised by one when the
//   first speaker would otherwise also speak last (adjust_turns);
// * speakers alternate strictly; turn 0 is start(), later turns respond(history);
// * termination signals are extracted from the raw reply, then the reply is
//   post-processed (once); the stored, counted and checked text is the
//   post-processed one;
// * the global termination_signal ends the conversation only when the
//   persona says it (after post-processing, case ignored); a speaker's own
//   custom_termination_signals end it from either side;
// * on termination the speaker may discard its turn: the turn is dropped and
//   the one before it (if any) carries early_termination;
// * the word cap counts both speakers and is checked after provider turns;
// * provider turns keep the unprocessed text as logging.raw_response.
// Differences: failures come back as values, and a speaker that throws
// yields Errc::speaker_failed instead of an exception.
#ifndef LEASH_SIM_CONVERSATION_HPP
#define LEASH_SIM_CONVERSATION_HPP

#include <leash/error.hpp>
#include <leash/sim/speaker.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::sim {

/// The turn count that lets the provider speak last: persona first and odd,
/// or provider first and even, gains one (4 → 4 and 3 → 4 persona first;
/// 2 → 3 and 3 → 3 provider first).
constexpr int adjust_turns(int max_turns, bool persona_first) noexcept {
  bool odd = max_turns % 2 != 0;
  return (persona_first == odd) ? max_turns + 1 : max_turns;
}

/// Whitespace-separated words in `text` (what max_total_words counts).
std::size_t count_words(std::string_view text) noexcept;

template <class Persona, class Provider>
class Conversation {
  static_assert(check_speaker<Persona>());
  static_assert(check_speaker<Provider>());

 public:
  Conversation(Persona& persona, Provider& provider) : persona_(&persona), provider_(&provider) {}

  /// The persona's global end marker; tests and users may change it.
  std::string termination_signal{end_of_conversation};

  /// Runs one session from an empty history. max_turns < 1 is
  /// Errc::invalid_input; a speaker's failure is returned as it is (the turns
  /// before it stay in history()). A speaker that throws: Errc::speaker_failed.
  boost::asio::awaitable<result<std::vector<Turn>>> async_run(int max_turns,
                                                               std::optional<std::size_t> max_total_words = {},
                                                               bool persona_first = true);
  /// As async_run, but a successful session's turns are handed over instead
  /// of copied: history() is then empty (after a failure it keeps the turns
  /// before it, as with async_run). For a caller that keeps the result and
  /// not the conversation (the runner): copying every turn's record is a
  /// good part of a turn's own work.
  boost::asio::awaitable<result<std::vector<Turn>>> async_run_and_take(int max_turns,
                                                                        std::optional<std::size_t> max_total_words = {},
                                                                        bool persona_first = true);

  /// The turns of the last (or current) session.
  std::vector<Turn> const& history() const noexcept { return history_; }
  /// Words counted in the last session.
  std::size_t total_words() const noexcept { return words_; }

  Persona& persona() noexcept { return *persona_; }
  Provider& provider() noexcept { return *provider_; }

 private:
  enum class After { next, stop };
  boost::asio::awaitable<result<std::vector<Turn>>> run_session(int max_turns,
                                                                std::optional<std::size_t> max_total_words,
                                                                bool persona_first, bool hand_over);
  template <class S>
  boost::asio::awaitable<result<After>> take_turn(S& speaker, Role role, int index,
                                                  std::optional<std::size_t> max_total_words);

  Persona* persona_;
  Provider* provider_;
  std::vector<Turn> history_;
  std::size_t words_ = 0;
};

}  // namespace leash::sim

#include <leash/sim/impl/conversation.hpp>

#endif
