// One simulated session: turn adjustment, alternation, termination (global
// and custom), discard, word cap, post-processing, the speaker hooks' defaults
// (reference/vera-mh-simulator.md §8.1, §8.3, §8.4).
#include <leash/sim/conversation.hpp>
#include <leash/sim/scripted_speaker.hpp>

#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_sim_conversation {

namespace sim = leash::sim;
using leash::Errc;
using leash_test::run_sync;
using sim::Role;
using sim::ScriptedSpeaker;
using sim::Turn;

template <class P, class Q>
leash::result<std::vector<Turn>> talk(sim::Conversation<P, Q>& c, int max_turns,
                                      std::optional<std::size_t> words = {}, bool persona_first = true) {
  return run_sync(c.async_run(max_turns, words, persona_first));
}

std::vector<std::string> speakers(std::vector<Turn> const& turns) {
  std::vector<std::string> out;
  for (auto const& t : turns) out.emplace_back(sim::to_string(t.speaker));
  return out;
}

// A provider that ends a session with its own marker.
struct SessionEndingProvider : ScriptedSpeaker {
  using ScriptedSpeaker::ScriptedSpeaker;
  std::vector<std::string> custom_termination_signals() const { return {"[SESSION_ENDED]"}; }
};

// A provider whose error replies are dropped from the transcript.
struct DiscardingProvider : ScriptedSpeaker {
  using ScriptedSpeaker::ScriptedSpeaker;
  std::vector<std::string> custom_termination_signals() const { return {"[ERROR]"}; }
  bool should_discard(std::vector<std::string> const& signals) const {
    return std::find(signals.begin(), signals.end(), "[ERROR]") != signals.end();
  }
};

// Post-processing that strips a marker and trims.
struct StrippingProvider : ScriptedSpeaker {
  using ScriptedSpeaker::ScriptedSpeaker;
  std::string marker = "[META]";
  std::string post_process(std::string const& raw) const {
    std::string s = raw;
    if (auto at = s.find(marker); at != std::string::npos) s.erase(at, marker.size());
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
};

struct StrippingSessionEnder : SessionEndingProvider {
  using SessionEndingProvider::SessionEndingProvider;
  std::string post_process(std::string_view raw) const {
    std::string s(raw);
    if (auto at = s.find(" [SESSION_ENDED]"); at != std::string::npos) s.erase(at);
    return s;
  }
};

// A custom extract_signals that reports a signal it never declared.
struct Overreporting : ScriptedSpeaker {
  using ScriptedSpeaker::ScriptedSpeaker;
  std::vector<std::string> custom_termination_signals() const { return {"[DONE]"}; }
  std::vector<std::string> extract_signals(std::string_view) const { return {"[UNDECLARED]"}; }
};

struct Throwing : ScriptedSpeaker {
  using ScriptedSpeaker::ScriptedSpeaker;
  leash::result<sim::Reply> fail() { throw std::runtime_error("socket on fire"); }
  boost::asio::awaitable<leash::result<sim::Reply>> respond(sim::History) { co_return fail(); }
};

BOOST_AUTO_TEST_SUITE(sim_conversation)

// §8.1 tests 8–17: every hook's default.
BOOST_AUTO_TEST_CASE(hook_defaults) {
  ScriptedSpeaker s;
  using T = sim::speaker_traits<ScriptedSpeaker>;
  BOOST_TEST(T::custom_termination_signals(s).empty());
  BOOST_TEST(T::post_process(s, "hello world") == "hello world");
  BOOST_TEST(T::post_process(s, "") == "");
  BOOST_TEST(!T::should_discard(s, {}));
  BOOST_TEST(!T::should_discard(s, {"SIGNAL"}));
  BOOST_TEST(!T::first_speaker(s).has_value());
  std::vector<std::string> sessions{"intake", "coaching"};
  BOOST_TEST(T::prepare_sessions(s, sessions) == sessions);
  BOOST_TEST(!T::has_prepare_sessions);
  BOOST_TEST(run_sync(T::setup(s)).has_value());
  BOOST_TEST(run_sync(T::enter_session(s, "intake")).has_value());
  BOOST_TEST(run_sync(T::cleanup(s)).has_value());
  BOOST_TEST(T::no_retry_substrings(s).empty());
}

// §8.1 tests 11–14: the default signal extraction.
BOOST_AUTO_TEST_CASE(extract_signals_is_case_insensitive_literal_in_declared_form) {
  std::vector<std::string> two{"[END]", "[ERROR]"};
  BOOST_TEST(sim::find_signals(two, "Something happened [END] here") == std::vector<std::string>{"[END]"});
  BOOST_TEST(sim::find_signals({"[END]"}, "nothing special here").empty());
  // Declaration order, not text order.
  BOOST_TEST(sim::find_signals(two, "[ERROR] something went wrong [END]") == two);
  BOOST_TEST(sim::find_signals({"[end]"}, "message [END] here") == std::vector<std::string>{"[end]"});
  // Literal: regex characters mean themselves.
  BOOST_TEST(sim::find_signals({".*"}, "no dots or stars").empty());
  BOOST_TEST(sim::find_signals({"a.c"}, "abc").empty());

  SessionEndingProvider p;
  using T = sim::speaker_traits<SessionEndingProvider>;
  BOOST_TEST(T::extract_signals(p, "bye [session_ended]") == std::vector<std::string>{"[SESSION_ENDED]"});
}

BOOST_AUTO_TEST_CASE(members_taking_strings_in_any_form_are_found) {
  StrippingProvider a;
  StrippingSessionEnder b;
  BOOST_TEST(sim::speaker_traits<StrippingProvider>::post_process(a, "x [META]") == "x");
  BOOST_TEST(sim::speaker_traits<StrippingSessionEnder>::post_process(b, "bye [SESSION_ENDED]") == "bye");
}

// §8.3 tests 26–27.
BOOST_AUTO_TEST_CASE(turns_are_adjusted_so_the_provider_speaks_last) {
  BOOST_TEST(sim::adjust_turns(4, true) == 4);
  BOOST_TEST(sim::adjust_turns(6, true) == 6);
  BOOST_TEST(sim::adjust_turns(3, true) == 4);
  BOOST_TEST(sim::adjust_turns(5, true) == 6);
  BOOST_TEST(sim::adjust_turns(3, false) == 3);
  BOOST_TEST(sim::adjust_turns(5, false) == 5);
  BOOST_TEST(sim::adjust_turns(2, false) == 3);
  BOOST_TEST(sim::adjust_turns(4, false) == 5);
}

// §8.4 tests 28–29, 37, 40.
BOOST_AUTO_TEST_CASE(persona_first_alternates_and_ends_with_the_provider) {
  ScriptedSpeaker persona({"A", "C", "E"}, "persona-model");
  ScriptedSpeaker provider({"B", "D", "F"}, "provider-model");
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 6);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 6u);
  BOOST_TEST(speakers(turns.value()) == (std::vector<std::string>{"persona", "provider", "persona", "provider", "persona",
                                                           "provider"}));
  for (std::size_t i = 0; i < turns.value().size(); ++i) {
    BOOST_TEST(turns.value()[i].turn == static_cast<int>(i + 1));
    BOOST_TEST(!turns.value()[i].early_termination);
    if (i > 0) BOOST_TEST(turns.value()[i].input.value_or("<none>") == turns.value()[i - 1].response);
    auto keys = turns.value()[i].to_json();
    for (char const* k : {"turn", "speaker", "input", "response", "early_termination", "logging"})
      BOOST_TEST(keys.contains(k));
  }
  BOOST_TEST(turns.value()[5].response == "F");
  BOOST_TEST(chat.history() == turns.value());
}

// async_run_and_take: the same session, its turns handed over rather than
// copied; a failure keeps the turns before it in history(), as async_run.
BOOST_AUTO_TEST_CASE(async_run_and_take_hands_the_turns_over) {
  ScriptedSpeaker persona_a({"A", "C"}, "persona-model");
  ScriptedSpeaker provider_a({"B", "D"}, "provider-model");
  sim::Conversation copied(persona_a, provider_a);
  auto kept = run_sync(copied.async_run(4));
  ScriptedSpeaker persona_b({"A", "C"}, "persona-model");
  ScriptedSpeaker provider_b({"B", "D"}, "provider-model");
  sim::Conversation taken(persona_b, provider_b);
  auto handed = run_sync(taken.async_run_and_take(4));
  BOOST_REQUIRE(kept.has_value());
  BOOST_REQUIRE(handed.has_value());
  BOOST_TEST(handed.value().size() == 4u);
  BOOST_TEST(speakers(handed.value()) == speakers(kept.value()));
  for (std::size_t i = 0; i < handed.value().size(); ++i) {
    BOOST_TEST(handed.value()[i].response == kept.value()[i].response);
    BOOST_TEST((handed.value()[i].input == kept.value()[i].input));
    BOOST_TEST(handed.value()[i].logging.size() == kept.value()[i].logging.size());
  }
  BOOST_TEST(taken.history().empty());
  BOOST_TEST(taken.total_words() == copied.total_words());

  ScriptedSpeaker persona_c({"hi"});
  ScriptedSpeaker failing;
  failing.simulate_error();
  sim::Conversation broken(persona_c, failing);
  auto error = run_sync(broken.async_run_and_take(4));
  BOOST_REQUIRE(error.has_error());
  BOOST_TEST(broken.history().size() == 1u);
}

// §8.4 test 30, 50.
BOOST_AUTO_TEST_CASE(provider_first_gives_an_odd_count) {
  ScriptedSpeaker persona({"P1", "P2"});
  ScriptedSpeaker provider({"Provider opening", "Q2", "Q3"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 5, {}, false);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(speakers(turns.value()) == (std::vector<std::string>{"provider", "persona", "provider", "persona", "provider"}));

  auto three = talk(chat, 2, {}, false);
  BOOST_REQUIRE(three.has_value());
  BOOST_TEST(three.value().size() == 3u);
  BOOST_TEST(three.value()[0].input.value_or("") == std::string(sim::default_start_prompt));
}

// §8.4 tests 31–34: the global signal, case ignored, persona only.
BOOST_AUTO_TEST_CASE(the_persona_ends_with_the_global_signal) {
  {
    ScriptedSpeaker persona({"Hello", "Goodbye, I have to go now", "more"});
    ScriptedSpeaker provider({"Hi"});
    sim::Conversation chat(persona, provider);
    chat.termination_signal = "Goodbye";
    auto turns = talk(chat, 10);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value().size() == 3u);
    BOOST_TEST(turns.value().back().early_termination);
    BOOST_TEST(turns.value().back().response.find("Goodbye") != std::string::npos);
    BOOST_TEST(!turns.value()[0].early_termination);
    BOOST_TEST(!turns.value()[1].early_termination);
  }
  {
    ScriptedSpeaker persona({"Hello", "<END OF CONVERSATION>"});
    ScriptedSpeaker provider;
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 10);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value().size() == 3u);
    BOOST_TEST(turns.value().back().early_termination);
  }
  {
    ScriptedSpeaker persona({"Hello", "GOODBYE and thanks"});
    ScriptedSpeaker provider;
    sim::Conversation chat(persona, provider);
    chat.termination_signal = "goodbye";
    auto turns = talk(chat, 10);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value().size() == 3u);
    BOOST_TEST(turns.value().back().early_termination);
  }
}

// §8.4 tests 35–36.
BOOST_AUTO_TEST_CASE(the_provider_cannot_use_the_global_signal) {
  ScriptedSpeaker persona({"a", "b", "c"});
  ScriptedSpeaker provider({"Goodbye, bye", "Goodbye", "<END OF CONVERSATION>"});
  sim::Conversation chat(persona, provider);
  chat.termination_signal = "Goodbye";
  auto turns = talk(chat, 6);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 6u);
  for (auto const& t : turns.value()) BOOST_TEST(!t.early_termination);
}

// §8.4 tests 38–39, 48–49: turn 0's input.
BOOST_AUTO_TEST_CASE(first_turn_input_is_the_start_prompt_or_none_for_a_static_message) {
  {
    ScriptedSpeaker persona({"Hello from persona"});
    ScriptedSpeaker provider;
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 2);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value()[0].input.value_or("<none>") == "Start the conversation based on the system prompt");
    BOOST_TEST(turns.value()[0].response == "Hello from persona");
    BOOST_TEST(sim::to_string(turns.value()[1].speaker) == "provider");
  }
  {
    ScriptedSpeaker persona;
    persona.first_message("Custom start");
    ScriptedSpeaker provider;
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 2);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(!turns.value()[0].input.has_value());
    BOOST_TEST(turns.value()[0].response == "Custom start");
    BOOST_TEST(persona.generated() == 0u);
    BOOST_TEST(provider.calls() == std::vector<std::string>{"Custom start"});
    BOOST_TEST(turns.value()[0].to_json().at("input").is_null());
  }
  {
    // §8.4 test 51: a provider's static opening.
    ScriptedSpeaker persona;
    ScriptedSpeaker provider;
    provider.first_message("Provider says hello first");
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 2, {}, false);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value().size() == 3u);
    BOOST_TEST(!turns.value()[0].input.has_value());
    BOOST_TEST(persona.calls() == std::vector<std::string>{"Provider says hello first"});
  }
}

// §8.4 test 41: a failing speaker's error comes back; the turns before it stay.
BOOST_AUTO_TEST_CASE(a_failing_speaker_returns_its_error) {
  ScriptedSpeaker persona({"hi"});
  ScriptedSpeaker provider;
  provider.simulate_error();
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 4);
  BOOST_REQUIRE(turns.has_error());
  BOOST_TEST(turns.error().what().find("Simulated API error") != std::string::npos);
  BOOST_TEST(chat.history().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_throwing_speaker_is_an_error_value) {
  ScriptedSpeaker persona({"hi"});
  Throwing provider;
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 4);
  BOOST_REQUIRE(turns.has_error());
  BOOST_TEST((turns.error() == Errc::speaker_failed));
  BOOST_TEST(turns.error().what().find("socket on fire") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(max_turns_below_one_is_refused) {
  ScriptedSpeaker a, b;
  sim::Conversation chat(a, b);
  auto turns = talk(chat, 0);
  BOOST_REQUIRE(turns.has_error());
  BOOST_TEST((turns.error() == Errc::invalid_input));
}

// §8.4 test 42: turn metadata.
BOOST_AUTO_TEST_CASE(turn_logging_carries_the_reply_metadata) {
  ScriptedSpeaker persona({"hello"}, "persona-model");
  ScriptedSpeaker provider;
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 2);
  BOOST_REQUIRE(turns.has_value());
  auto const& log = turns.value()[0].logging;
  BOOST_TEST(log.at("provider").as_string() == "mock");
  BOOST_TEST(log.at("model").as_string() == "persona-model");
  BOOST_TEST(log.at("role").as_string() == "persona");
  auto const& usage = log.at("usage").as_object();
  BOOST_TEST(usage.at("prompt_tokens").to_number<int>() == 10);
  BOOST_TEST(usage.at("completion_tokens").to_number<int>() == 20);
  BOOST_TEST(usage.at("total_tokens").to_number<int>() == 30);
  BOOST_TEST(log.at("timestamp").as_string().size() > 19u);
}

// §8.4 test 43: each run starts a fresh history.
BOOST_AUTO_TEST_CASE(a_second_run_starts_from_an_empty_history) {
  ScriptedSpeaker persona, provider;
  sim::Conversation chat(persona, provider);
  BOOST_REQUIRE(talk(chat, 2).has_value());
  auto second = talk(chat, 4);
  BOOST_REQUIRE(second.has_value());
  BOOST_TEST(second.value().size() == 4u);
  BOOST_TEST(second.value().front().turn == 1);
  BOOST_TEST(chat.history() == second.value());
}

// §8.4 tests 44–46: the word cap.
BOOST_AUTO_TEST_CASE(the_word_cap_stops_after_a_provider_turn) {
  {
    ScriptedSpeaker persona({"Hello there", "How are you", "Fine thanks", "Bye now"});
    ScriptedSpeaker provider({"I am doing well today", "Very good indeed", "Sure", "Ok"});
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 10, 10);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value().size() == 4u);
    BOOST_TEST(sim::to_string(turns.value().back().speaker) == "provider");
    BOOST_TEST(chat.total_words() >= 10u);
  }
  {
    ScriptedSpeaker persona({std::string("one two three four five six seven eight nine ten")});
    ScriptedSpeaker provider({"OK"});
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 10, 5);
    BOOST_REQUIRE(turns.has_value());
    // The persona passed the cap on turn 1, but only a provider turn stops it.
    BOOST_TEST(turns.value().size() == 2u);
    BOOST_TEST(sim::to_string(turns.value().back().speaker) == "provider");
  }
  {
    ScriptedSpeaker persona, provider;
    sim::Conversation chat(persona, provider);
    auto turns = talk(chat, 6);
    BOOST_REQUIRE(turns.has_value());
    BOOST_TEST(turns.value().size() == 6u);
  }
}

BOOST_AUTO_TEST_CASE(count_words_splits_on_any_whitespace) {
  BOOST_TEST(sim::count_words("") == 0u);
  BOOST_TEST(sim::count_words("  a\tb\n\nc  ") == 3u);
  BOOST_TEST(sim::count_words("héllo wörld") == 2u);
}

// §8.4 test 52: a provider's own marker ends the conversation.
BOOST_AUTO_TEST_CASE(custom_signals_end_the_conversation_from_the_provider) {
  ScriptedSpeaker persona;
  SessionEndingProvider provider({"normal reply", "closing [SESSION_ENDED]", "never said"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 10);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 4u);
  BOOST_TEST(sim::to_string(turns.value().back().speaker) == "provider");
  BOOST_TEST(turns.value().back().early_termination);
}

// §8.4 test 53: a discarded turn; the one before carries the end.
BOOST_AUTO_TEST_CASE(a_discarded_turn_is_dropped_and_the_previous_one_ends) {
  ScriptedSpeaker persona({"hello"});
  DiscardingProvider provider({"[ERROR] server failure"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 10);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 1u);
  BOOST_TEST(sim::to_string(turns.value().front().speaker) == "persona");
  BOOST_TEST(turns.value().front().early_termination);
}

// §6.3: discarding the very first turn leaves nothing.
BOOST_AUTO_TEST_CASE(discarding_the_first_turn_leaves_an_empty_session) {
  ScriptedSpeaker persona;
  DiscardingProvider provider({"[error] down"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 3, {}, false);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().empty());
}

// §8.4 tests 54–56: raw_response on provider turns only; post-processing once.
BOOST_AUTO_TEST_CASE(post_processing_is_stored_and_the_raw_text_kept_on_provider_turns) {
  ScriptedSpeaker persona;
  StrippingProvider provider({"hello [META]"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 2);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value()[1].logging.at("raw_response").as_string() == "hello [META]");
  BOOST_TEST(turns.value()[1].response == "hello");
  BOOST_TEST(!turns.value()[0].logging.contains("raw_response"));

  StrippingProvider internal({"hello there <INTERNAL>"});
  internal.marker = "<INTERNAL>";
  sim::Conversation chat2(persona, internal);
  auto two = talk(chat2, 2);
  BOOST_REQUIRE(two.has_value());
  BOOST_TEST(two.value()[1].response == "hello there");
}

// §8.4 test 57: signals come from the raw text, before post-processing.
BOOST_AUTO_TEST_CASE(signals_are_read_before_post_processing_strips_them) {
  ScriptedSpeaker persona;
  StrippingSessionEnder provider({"goodbye [SESSION_ENDED]"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 10);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 2u);
  BOOST_TEST(turns.value().back().early_termination);
  BOOST_TEST(turns.value().back().response.find("[SESSION_ENDED]") == std::string::npos);
}

// §5.2 (b): a signal the speaker never declared does not end anything.
BOOST_AUTO_TEST_CASE(only_declared_signals_terminate) {
  ScriptedSpeaker persona;
  Overreporting provider;
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 4);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 4u);
}

// §6.3: a persona can declare signals and discard its own turn too.
BOOST_AUTO_TEST_CASE(the_persona_may_use_custom_signals) {
  DiscardingProvider persona({"fine", "[ERROR] I give up"});
  ScriptedSpeaker provider({"one", "two"});
  sim::Conversation chat(persona, provider);
  auto turns = talk(chat, 10);
  BOOST_REQUIRE(turns.has_value());
  BOOST_TEST(turns.value().size() == 2u);
  BOOST_TEST(turns.value().back().early_termination);
  BOOST_TEST(sim::to_string(turns.value().back().speaker) == "provider");
}

// §8.5 test 58, 60.
BOOST_AUTO_TEST_CASE(turns_round_trip_through_json) {
  Turn t;
  t.turn = 1;
  t.speaker = Role::persona;
  t.input = "Start";
  t.response = "Hello";
  t.logging["tokens"] = 100;
  auto j = t.to_json();
  BOOST_TEST(j.at("speaker").as_string() == "persona");
  BOOST_TEST(j.at("early_termination").as_bool() == false);
  auto back = Turn::from_json(j);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((back.value() == t));

  leash::json::object partial;
  partial["turn"] = 1;
  auto missing = Turn::from_json(partial);
  BOOST_REQUIRE(missing.has_error());
  BOOST_TEST(missing.error().what().find("speaker, input, response") != std::string::npos);
  partial["speaker"] = "narrator";
  partial["input"] = nullptr;
  partial["response"] = "x";
  BOOST_TEST(Turn::from_json(partial).has_error());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace test_sim_conversation
