// A speaker's retry (sim/retry.hpp: the reference's tests 18–25 and what we
// changed) and the model-backed speaker (sim/llm_speaker.hpp): the messages
// it sends, its metadata, its failures — over the scripted transport and over
// the OpenAI-compatible transport against the in-process server.
#include <leash/sim/llm_speaker.hpp>

#include <boost/test/unit_test.hpp>

#include "error_text.hpp"

#include <leash/llm/make_transport.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/sim/retry.hpp>

#include "http_server.hpp"
#include "support.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_sim_llm_speaker {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = leash::json;
using leash::Errc;
using leash::Error;
using leash::result;
using leash::llm::ChatMessage;
using leash::llm::ScriptedTransport;
using leash::sim::History;
using leash::sim::LlmSpeaker;
using leash::sim::LlmSpeakerOptions;
using leash::sim::Reply;
using leash::sim::RetryContext;
using leash::sim::Role;
using leash::sim::SpeakerRetry;
using leash::sim::Turn;
using leash_test::run_sync;
using leash_test::why;

// ---- retry fixtures ------------------------------------------------------

/// Retries that never wait: every delay 0, every sleep recorded.
struct Instant {
  std::shared_ptr<std::vector<double>> sleeps = std::make_shared<std::vector<double>>();
  SpeakerRetry retry;
  Instant() {
    retry.delay = [](unsigned) { return 0.0; };
    auto log = sleeps;
    retry.sleep = [log](double s) -> asio::awaitable<void> {
      log->push_back(s);
      co_return;
    };
  }
};

RetryContext harness_context(std::vector<std::string> no_retry = {}) {
  RetryContext ctx;
  ctx.provider = "harness";
  ctx.role = Role::provider;
  ctx.model = "harness-model";
  ctx.no_retry = std::move(no_retry);
  return ctx;
}

Reply reply_of(std::string text) {
  Reply r;
  r.text = std::move(text);
  return r;
}

/// An attempt that fails with `code` and `message` `failures` times, then says "done".
struct Flaky {
  int failures = 0;
  Errc code = Errc::llm_server_error;
  std::string message = "transient";
  std::shared_ptr<int> calls = std::make_shared<int>(0);

  asio::awaitable<result<Reply>> operator()() {
    int const n = ++*calls;
    if (n <= failures) co_return Error{code, message};
    co_return reply_of("done");
  }
};

// ---- speaker fixtures ----------------------------------------------------

Turn turn(int n, Role who, std::string text) {
  Turn t;
  t.turn = n;
  t.speaker = who;
  t.response = std::move(text);
  return t;
}

std::shared_ptr<ScriptedTransport> scripted(std::string const& jsonl, std::string model = "sim-model") {
  auto t = std::make_shared<ScriptedTransport>(leash::llm::parse_script(jsonl).value(), std::move(model));
  t->record_requests(true);
  return t;
}

LlmSpeakerOptions speaker_options(Role role, std::string system_prompt = "SYS") {
  LlmSpeakerOptions o;
  o.name = role == Role::persona ? "Mary" : "Bot";
  o.role = role;
  o.system_prompt = std::move(system_prompt);
  Instant instant;
  o.retry = instant.retry;
  return o;
}

/// "role: content" for each message, to compare whole conversations at once.
std::vector<std::string> flat(std::vector<ChatMessage> const& messages) {
  std::vector<std::string> out;
  for (auto const& m : messages) out.push_back(m.role + ": " + m.content);
  return out;
}

std::string openai_text(std::string const& text) {
  json::object body{{"id", "chatcmpl-2"},
                    {"model", "test-model"},
                    {"choices", json::array{json::object{{"index", 0},
                                                         {"message", json::object{{"role", "assistant"}, {"content", text}}},
                                                         {"finish_reason", "stop"}}}},
                    {"usage", json::object{{"prompt_tokens", 90}, {"completion_tokens", 5}}}};
  return json::serialize(body);
}

leash::llm::AnyTransport compatible(leash_test::HttpServer const& server) {
  leash::llm::TransportOptions opts;
  opts.retry.max_attempts = 1;  // the speaker's retry is under test, not the transport's
  opts.connect_timeout = 2s;
  opts.request_timeout = 5s;
  return leash::llm::make_transport("openai-compatible:" + server.url("/v1") + "#test-model", opts).value();
}

}  // namespace test_sim_llm_speaker

using namespace test_sim_llm_speaker;

BOOST_AUTO_TEST_SUITE(sim_llm_speaker)

// ================================================================ retry

BOOST_AUTO_TEST_CASE(no_retry_substrings_match_as_literals, *boost::unit_test::description("reference test 18")) {
  using leash::sim::matches_no_retry;
  BOOST_TEST(matches_no_retry("Error: insufficient_quota for this key", {"insufficient_quota"}));
  BOOST_TEST(matches_no_retry("Your credit balance is too low", {"insufficient_quota", "credit balance is too low"}));
  BOOST_TEST(!matches_no_retry("timeout connecting to host", {"insufficient_quota", "invalid_api_key"}));
  BOOST_TEST(!matches_no_retry("anything at all", {}));
  BOOST_TEST(matches_no_retry("billing_hard_limit exceeded", {"billing_hard_limit"}));
  // Ours: case matters (as in the reference), and an empty entry matches nothing.
  BOOST_TEST(!matches_no_retry("INSUFFICIENT_QUOTA", {"insufficient_quota"}));
  BOOST_TEST(!matches_no_retry("anything at all", {""}));
}

BOOST_AUTO_TEST_CASE(transient_failures_are_retried, *boost::unit_test::description("reference test 19")) {
  Instant instant;
  auto ctx = harness_context();
  json::object metadata{{"provider", "stale"}};
  Flaky flaky;
  flaky.failures = 2;
  auto calls = flaky.calls;
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().text == "done");
  BOOST_TEST(*calls == 3);
  BOOST_TEST(instant.sleeps->size() == 2u);
  BOOST_TEST(metadata.empty());  // cleared before each attempt; on success left for the caller to fill
}

BOOST_AUTO_TEST_CASE(attempts_run_out, *boost::unit_test::description("reference test 20")) {
  Instant instant;
  auto ctx = harness_context();
  json::object metadata;
  Flaky flaky;
  flaky.failures = 1000;
  flaky.message = "always";
  auto calls = flaky.calls;
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(*calls == 4);  // max_retries 3: four attempts
  BOOST_TEST(r.error() == Errc::llm_server_error);  // the cause's code is kept
  BOOST_TEST(r.error().message == "LLM call failed after 4 attempts: always");
  BOOST_TEST(instant.sleeps->size() == 3u);  // none after the last attempt
}

BOOST_AUTO_TEST_CASE(no_retry_phrase_stops_at_once, *boost::unit_test::description("reference test 21")) {
  Instant instant;
  auto ctx = harness_context({"insufficient_quota"});
  json::object metadata;
  Flaky flaky;
  flaky.failures = 1000;
  flaky.code = Errc::llm_rate_limited;
  flaky.message = "stop: insufficient_quota exceeded";
  auto calls = flaky.calls;
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(*calls == 1);
  BOOST_TEST(r.error() == Errc::llm_rate_limited);
  BOOST_TEST(r.error().message == "LLM error (non-retryable): stop: insufficient_quota exceeded");
  BOOST_TEST(metadata.at("error") == "stop: insufficient_quota exceeded");
  BOOST_TEST(metadata.at("retryable") == false);
  BOOST_TEST(metadata.at("will_retry") == false);
  BOOST_TEST(instant.sleeps->empty());
}

BOOST_AUTO_TEST_CASE(returned_speaker_failed_passes_through, *boost::unit_test::description("reference test 22")) {
  Instant instant;
  auto ctx = harness_context();
  json::object metadata;
  Flaky flaky;
  flaky.failures = 1000;
  flaky.code = Errc::speaker_failed;
  flaky.message = "fatal";
  auto calls = flaky.calls;
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(*calls == 1);
  BOOST_TEST(r.error() == Errc::speaker_failed);
  BOOST_TEST(r.error().message == "fatal");  // unchanged
  // The attempt left no record, so one is written, marked final.
  BOOST_TEST(metadata.at("error") == "fatal");
  BOOST_TEST(metadata.at("retryable") == false);
  BOOST_TEST(metadata.at("will_retry") == false);

  // A record the attempt wrote itself is kept.
  json::object own;
  auto writes_its_own = [&own]() -> asio::awaitable<result<Reply>> {
    own["note"] = "mine";
    co_return Error{Errc::speaker_failed, "gave up"};
  };
  auto r2 = run_sync(leash::sim::run_with_retry(instant.retry, std::move(writes_its_own), own, ctx));
  BOOST_TEST(r2.error().message == "gave up");
  BOOST_TEST(own == (json::object{{"note", "mine"}}));
}

BOOST_AUTO_TEST_CASE(thrown_exceptions_are_ordinary_failures) {
  Instant instant;
  instant.retry.max_retries = 1;
  auto ctx = harness_context();
  json::object metadata;
  int calls = 0;
  auto throws = [&calls]() -> asio::awaitable<result<Reply>> {
    ++calls;
    throw std::runtime_error("kaput");
    co_return reply_of("never");
  };
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(throws), metadata, ctx));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(calls == 2);  // retried, unlike a returned speaker_failed
  BOOST_TEST(r.error() == Errc::speaker_failed);
  BOOST_TEST(r.error().message == "LLM call failed after 2 attempts: kaput");

  // …unless its text is a no-retry phrase.
  auto strict = harness_context({"kaput"});
  calls = 0;
  auto throws_again = [&calls]() -> asio::awaitable<result<Reply>> {
    ++calls;
    throw std::runtime_error("kaput");
    co_return reply_of("never");
  };
  auto r2 = run_sync(leash::sim::run_with_retry(instant.retry, std::move(throws_again), metadata, strict));
  BOOST_TEST(calls == 1);
  BOOST_TEST(r2.error().message == "LLM error (non-retryable): kaput");
}

BOOST_AUTO_TEST_CASE(stale_metadata_is_replaced, *boost::unit_test::description("reference test 23")) {
  Instant instant;
  auto ctx = harness_context();
  json::object metadata{{"provider", "stale"}, {"response_id", "old"}, {"leftover", true}};
  Flaky flaky;
  flaky.failures = 1000;
  flaky.message = "always";
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(metadata.at("provider") == "harness");
  BOOST_TEST(metadata.at("model") == "harness-model");
  BOOST_TEST(metadata.at("role") == "provider");
  BOOST_TEST(metadata.at("error") == "always");
  BOOST_TEST(metadata.at("attempt") == 4);
  BOOST_TEST(metadata.at("max_attempts") == 4);
  BOOST_TEST(metadata.at("retryable") == true);
  BOOST_TEST(metadata.at("will_retry") == false);
  BOOST_TEST(metadata.at("response_id").is_null());
  BOOST_TEST(metadata.at("usage") == json::object{});
  BOOST_TEST(metadata.at("timestamp").is_string());
  BOOST_TEST(!metadata.contains("leftover"));
  BOOST_TEST(!metadata.contains("retry_delay_seconds"));  // no wait follows the last attempt
}

BOOST_AUTO_TEST_CASE(on_error_adds_to_the_record, *boost::unit_test::description("reference test 24")) {
  Instant instant;
  auto ctx = harness_context();
  json::object metadata;
  std::vector<bool> will_retry_seen;
  leash::sim::RetryErrorHook hook = [&](Error const& err, unsigned attempt, unsigned max_attempts, bool retryable,
                                        bool will_retry) {
    will_retry_seen.push_back(will_retry);
    json::object extra;
    extra["error_type"] = err == Errc::llm_server_error ? "llm_server_error" : "other";
    extra["observed_attempt"] = attempt;
    extra["observed_total"] = max_attempts;
    extra["observed_retryable"] = retryable;
    extra["observed_will_retry"] = will_retry;
    extra["error"] = "redacted";  // the hook's keys win
    return extra;
  };
  Flaky flaky;
  flaky.failures = 1000;
  flaky.message = "boom";
  auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx, std::move(hook)));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message == "LLM call failed after 4 attempts: boom");  // the error itself is not redacted
  BOOST_TEST(metadata.at("error_type") == "llm_server_error");
  BOOST_TEST(metadata.at("observed_attempt") == 4);
  BOOST_TEST(metadata.at("observed_total") == 4);
  BOOST_TEST(metadata.at("observed_retryable") == true);
  BOOST_TEST(metadata.at("observed_will_retry") == false);
  BOOST_TEST(metadata.at("error") == "redacted");
  BOOST_TEST((will_retry_seen == std::vector<bool>{true, true, true, false}));
}

BOOST_AUTO_TEST_CASE(injected_delays_and_sleeps, *boost::unit_test::description("reference test 25")) {
  auto ctx = harness_context();
  json::object metadata;
  std::vector<double> sleeps, recorded;
  std::vector<unsigned> asked;
  SpeakerRetry retry;
  retry.delay = [&asked](unsigned attempt) {
    asked.push_back(attempt);
    return 0.11 * attempt;
  };
  retry.sleep = [&](double s) -> asio::awaitable<void> {
    sleeps.push_back(s);
    recorded.push_back(metadata.at("retry_delay_seconds").as_double());  // written before the sleep
    co_return;
  };
  Flaky flaky;
  flaky.failures = 1000;
  auto r = run_sync(leash::sim::run_with_retry(retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST((asked == std::vector<unsigned>{1, 2, 3}));
  BOOST_TEST((sleeps == std::vector<double>{0.11 * 1, 0.11 * 2, 0.11 * 3}));
  BOOST_TEST((recorded == std::vector<double>{0.11, 0.22, 0.33}));  // rounded to milliseconds
  BOOST_TEST(metadata.at("attempt") == 4);
  BOOST_TEST(metadata.at("will_retry") == false);

  // Rounding, and a negative delay taken as none.
  std::vector<double> odd{0.12345, -2.0};
  recorded.clear();
  sleeps.clear();
  retry.max_retries = 2;
  retry.delay = [&odd](unsigned attempt) { return odd.at(attempt - 1); };
  Flaky again;
  again.failures = 1000;
  auto r2 = run_sync(leash::sim::run_with_retry(retry, std::move(again), metadata, ctx));
  BOOST_REQUIRE(r2.has_error());
  BOOST_TEST((recorded == std::vector<double>{0.123, 0.0}));
  BOOST_TEST((sleeps == std::vector<double>{0.12345, 0.0}));
}

BOOST_AUTO_TEST_CASE(some_codes_are_never_retried) {
  for (Errc code : {Errc::llm_auth_failed, Errc::llm_request_rejected, Errc::invalid_transport_spec,
                    Errc::llm_response_too_large}) {
    Instant instant;
    auto ctx = harness_context();
    json::object metadata;
    Flaky flaky;
    flaky.failures = 1000;
    flaky.code = code;
    flaky.message = "no";
    auto calls = flaky.calls;
    auto r = run_sync(leash::sim::run_with_retry(instant.retry, std::move(flaky), metadata, ctx));
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(*calls == 1);
    BOOST_TEST(r.error() == code);
    BOOST_TEST(r.error().message == "LLM error (non-retryable): no");
    BOOST_TEST(metadata.at("retryable") == false);
    BOOST_TEST(leash::sim::inherently_non_retryable(leash::make_error_code(code)));
  }
  for (Errc code : {Errc::llm_rate_limited, Errc::llm_server_error, Errc::llm_timeout, Errc::llm_unreachable,
                    Errc::speaker_failed})
    BOOST_TEST(!leash::sim::inherently_non_retryable(leash::make_error_code(code)));
}

BOOST_AUTO_TEST_CASE(full_jitter_bounds_and_determinism) {
  std::mt19937_64 rng(1);
  double const base = 0.75, max = 8.0;
  for (unsigned attempt = 1; attempt <= 8; ++attempt) {
    double const cap = std::min(base * static_cast<double>(1u << (attempt - 1)), max);
    double top = 0.0;
    for (int i = 0; i < 200; ++i) {
      double d = leash::sim::full_jitter_delay(attempt, base, max, rng);
      BOOST_TEST(d >= 0.0);
      BOOST_TEST(d <= cap);
      top = std::max(top, d);
    }
    BOOST_TEST(top > cap / 2);  // uniform over the whole range, not a fixed point
  }
  std::mt19937_64 a(5), b(5);
  BOOST_TEST(leash::sim::full_jitter_delay(3, base, max, a) == leash::sim::full_jitter_delay(3, base, max, b));
  BOOST_TEST(leash::sim::full_jitter_delay(0, base, max, a) <= base);  // 0 counts as the first
  BOOST_TEST(leash::sim::full_jitter_delay(2, 0.0, max, a) == 0.0);
  BOOST_TEST(leash::sim::full_jitter_delay(2, base, -1.0, a) == 0.0);
}

BOOST_AUTO_TEST_CASE(seeded_default_delays_repeat) {
  auto ctx = harness_context();
  auto run = [&](std::uint64_t seed) {
    json::object metadata;
    auto sleeps = std::make_shared<std::vector<double>>();
    SpeakerRetry retry;
    retry.seed = seed;
    retry.sleep = [sleeps](double s) -> asio::awaitable<void> {
      sleeps->push_back(s);
      co_return;
    };
    Flaky flaky;
    flaky.failures = 1000;
    auto r = run_sync(leash::sim::run_with_retry(retry, std::move(flaky), metadata, ctx));
    BOOST_TEST(r.has_error());
    return *sleeps;
  };
  auto first = run(42);
  BOOST_REQUIRE(first.size() == 3u);
  BOOST_TEST(first[0] <= 0.75);
  BOOST_TEST(first[1] <= 1.5);
  BOOST_TEST(first[2] <= 3.0);
  BOOST_TEST((run(42) == first));
  BOOST_TEST((run(43) != first));
}

BOOST_AUTO_TEST_CASE(default_sleep_uses_a_timer) {
  auto ctx = harness_context();
  json::object metadata;
  SpeakerRetry retry;
  retry.base_delay_s = 0.001;
  retry.max_delay_s = 0.002;
  retry.seed = 3;
  Flaky flaky;
  flaky.failures = 2;
  auto calls = flaky.calls;
  auto r = run_sync(leash::sim::run_with_retry(retry, std::move(flaky), metadata, ctx));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(*calls == 3);
}

// ================================================================ LlmSpeaker: messages

BOOST_AUTO_TEST_CASE(turns_map_to_roles) {
  auto t = scripted(R"({"text": "fine", "model": "gpt-4o", "finish_reason": "stop"})");
  LlmSpeaker bot(leash::llm::AnyTransport(t), speaker_options(Role::provider));
  std::vector<Turn> turns{turn(1, Role::persona, "hi"), turn(2, Role::provider, "hello"),
                          turn(3, Role::persona, "how are you")};
  History h = turns;
  auto r = run_sync(bot.respond(h));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().text == "fine");
  BOOST_TEST_REQUIRE(t->requests().size() == 1u);
  BOOST_TEST((flat(t->requests()[0].messages) ==
              std::vector<std::string>{"system: SYS", "user: hi", "assistant: hello", "user: how are you"}));

  // The same history seen by the persona: roles swap.
  auto t2 = scripted(R"({"text": "ok"})");
  LlmSpeaker mary(leash::llm::AnyTransport(t2), speaker_options(Role::persona, ""));
  std::vector<Turn> two{turn(1, Role::persona, "hi"), turn(2, Role::provider, "hello")};
  History h2 = two;
  BOOST_TEST((flat(mary.messages_for(h2)) == std::vector<std::string>{"user: " + std::string(leash::sim::default_start_prompt),
                                                                       "assistant: hi", "user: hello"}));
}

BOOST_AUTO_TEST_CASE(turn_zero_sends_the_start_prompt) {
  auto t = scripted(R"({"text": "Hello, I'm Mary"})");
  LlmSpeaker mary(leash::llm::AnyTransport(t), speaker_options(Role::persona));
  auto r = run_sync(mary.start());
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().text == "Hello, I'm Mary");
  History none;
  auto r2 = run_sync(mary.respond(none));  // an empty history is turn 0 too
  BOOST_REQUIRE_MESSAGE(r2.has_value(), why(r2));
  auto reqs = t->requests();
  BOOST_TEST_REQUIRE(reqs.size() == 2u);
  std::vector<std::string> const expected{"system: SYS", "user: " + std::string(leash::sim::default_start_prompt)};
  BOOST_TEST((flat(reqs[0].messages) == expected));
  BOOST_TEST((flat(reqs[1].messages) == expected));
  BOOST_TEST(mary.first_turn_input().value_or("<none>") == std::string(leash::sim::default_start_prompt));
  BOOST_TEST(leash::sim::speaker_traits<LlmSpeaker>::first_turn_input(mary).value_or("<none>") ==
             std::string(leash::sim::default_start_prompt));

  // A custom start prompt, no system prompt: one message.
  auto t2 = scripted(R"({"text": "hi"})");
  auto o = speaker_options(Role::provider, "");
  o.start_prompt = "Open the session.";
  LlmSpeaker bot(leash::llm::AnyTransport(t2), o);
  BOOST_TEST(run_sync(bot.start()).has_value());
  BOOST_TEST((flat(t2->requests().at(0).messages) == std::vector<std::string>{"user: Open the session."}));
  BOOST_TEST(bot.first_turn_input().value_or("<none>") == "Open the session.");
}

BOOST_AUTO_TEST_CASE(own_first_turn_gets_the_start_prompt_before_it) {
  auto t = scripted(R"({"text": "anything else?"})");
  auto o = speaker_options(Role::provider);
  o.start_prompt = "Greet the user.";
  LlmSpeaker bot(leash::llm::AnyTransport(t), o);
  std::vector<Turn> turns{turn(1, Role::provider, "Welcome!"), turn(2, Role::persona, "hi")};
  History h = turns;
  BOOST_TEST(run_sync(bot.respond(h)).has_value());
  BOOST_TEST((flat(t->requests().at(0).messages) ==
              std::vector<std::string>{"system: SYS", "user: Greet the user.", "assistant: Welcome!", "user: hi"}));

  // A turn numbered 0 (the reference's initial-prompt turn) is the user's, whoever spoke it.
  std::vector<Turn> with_zero{turn(0, Role::provider, "Greet the user."), turn(1, Role::provider, "Welcome!")};
  History hz = with_zero;
  BOOST_TEST((flat(bot.messages_for(hz)) ==
              std::vector<std::string>{"system: SYS", "user: Greet the user.", "assistant: Welcome!"}));
}

BOOST_AUTO_TEST_CASE(reminder_only_for_the_persona_after_the_provider) {
  auto t = scripted(R"({"text": "ok"})");
  auto o = speaker_options(Role::persona);
  o.reminder = "REMEMBER";
  LlmSpeaker mary(leash::llm::AnyTransport(t), o);
  std::vector<Turn> after_provider{turn(1, Role::persona, "hi"), turn(2, Role::provider, "hello")};
  History h = after_provider;
  BOOST_TEST(run_sync(mary.respond(h)).has_value());
  BOOST_TEST((flat(t->requests().at(0).messages) ==
              std::vector<std::string>{"system: SYS", "user: " + std::string(leash::sim::default_start_prompt),
                                       "assistant: hi", "user: REMEMBER\n\nhello"}));

  // The provider opened: its turn is the persona's first user message, reminded too.
  std::vector<Turn> provider_only{turn(1, Role::provider, "Welcome")};
  History hp = provider_only;
  BOOST_TEST((flat(mary.messages_for(hp)) == std::vector<std::string>{"system: SYS", "user: REMEMBER\n\nWelcome"}));

  // The last turn is the persona's own: no reminder anywhere.
  std::vector<Turn> after_persona{turn(1, Role::provider, "Welcome"), turn(2, Role::persona, "hi")};
  History ha = after_persona;
  for (auto const& m : mary.messages_for(ha)) BOOST_TEST(m.content.find("REMEMBER") == std::string::npos);

  // A provider with a reminder set, or a persona without one: none.
  auto ob = speaker_options(Role::provider);
  ob.reminder = "REMEMBER";
  LlmSpeaker bot(leash::llm::AnyTransport(t), ob);
  for (auto const& m : bot.messages_for(h)) BOOST_TEST(m.content.find("REMEMBER") == std::string::npos);
  LlmSpeaker plain(leash::llm::AnyTransport(t), speaker_options(Role::persona));
  BOOST_TEST(plain.messages_for(h).back().content == "hello");

  // Our default wording tells the persona how to end the chat.
  BOOST_TEST(leash::sim::default_persona_reminder.find(leash::sim::end_of_conversation) != std::string_view::npos);
}

// respond() keeps the last call's messages and adds the new turns; what it
// sends is messages_for(history) all the same: as a conversation grows, when
// the history is another one, after start() and after set_system_prompt.
BOOST_AUTO_TEST_CASE(kept_messages_are_the_history_s_messages) {
  auto t = scripted(R"({"text": "ok"})");
  auto o = speaker_options(Role::persona);
  o.reminder = "REMEMBER";
  LlmSpeaker mary(leash::llm::AnyTransport(t), o);
  std::vector<Turn> turns;
  std::vector<std::vector<Turn>> histories;
  for (int k = 1; k <= 6; ++k) {
    turns.push_back(turn(k, k % 2 ? Role::persona : Role::provider, "said " + std::to_string(k)));
    histories.push_back(turns);
  }
  // Growing by two (this speaker's turn and the other's), then by one, then
  // shrinking, then another conversation, then one opened by the provider.
  std::vector<std::vector<Turn>> calls{histories[1], histories[3], histories[4], histories[5], histories[2]};
  std::vector<Turn> other{turn(1, Role::persona, "said 1"), turn(2, Role::provider, "something else")};
  calls.push_back(other);
  calls.push_back({turn(1, Role::provider, "Welcome"), turn(2, Role::persona, "hi"), turn(3, Role::provider, "so?")});
  calls.push_back(histories[1]);
  std::size_t sent = 0;
  for (auto const& c : calls) {
    History h = c;
    BOOST_TEST(run_sync(mary.respond(h)).has_value());
    BOOST_TEST_REQUIRE(t->requests().size() == ++sent);
    BOOST_TEST((flat(t->requests().back().messages) == flat(mary.messages_for(h))));
  }
  BOOST_TEST(run_sync(mary.start()).has_value());
  History h3 = histories[3];
  BOOST_TEST(run_sync(mary.respond(h3)).has_value());
  BOOST_TEST((flat(t->requests().back().messages) == flat(mary.messages_for(h3))));
  mary.set_system_prompt("NEW");
  History h5 = histories[5];
  BOOST_TEST(run_sync(mary.respond(h5)).has_value());
  BOOST_TEST((flat(t->requests().back().messages) == flat(mary.messages_for(h5))));
  BOOST_TEST(t->requests().back().messages.at(0).content == "NEW");
  BOOST_TEST(t->requests().back().messages.back().content == "REMEMBER\n\nsaid 6");
  BOOST_TEST(t->requests().back().messages.at(5).content == "said 4");  // an earlier reminder is gone
}

BOOST_AUTO_TEST_CASE(first_message_makes_no_call) {
  auto t = scripted(R"({"text": "from the model"})");
  auto o = speaker_options(Role::persona);
  o.first_message = "Custom start";
  LlmSpeaker mary(leash::llm::AnyTransport(t), o);
  auto r = run_sync(mary.start());
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().text == "Custom start");
  BOOST_TEST(r.value().model == "sim-model");
  BOOST_TEST(r.value().provider == "scripted");
  BOOST_TEST(r.value().response_id.empty());
  BOOST_TEST(r.value().timestamp > 0.0);
  BOOST_TEST(t->calls() == 0u);
  BOOST_TEST(!mary.first_turn_input().has_value());
  BOOST_TEST(mary.last_metadata().at("response_id").is_null());
  BOOST_TEST(mary.last_metadata().at("role") == "persona");
  BOOST_TEST(mary.last_metadata().at("model") == "sim-model");
  BOOST_TEST(mary.failure_metadata().empty());
}

BOOST_AUTO_TEST_CASE(reply_and_metadata_fields) {
  auto t = scripted(
      R"({"text": "fine", "model": "gpt-4o-2024", "finish_reason": "stop", "usage": {"input_tokens": 10, "output_tokens": 20}})",
      "gpt-4o");
  auto o = speaker_options(Role::provider);
  o.temperature = 0.25;
  o.max_tokens = 321;
  LlmSpeaker bot(leash::llm::AnyTransport(t), o);
  std::vector<Turn> turns{turn(1, Role::persona, "hi")};
  History h = turns;
  auto r = run_sync(bot.respond(h));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  auto const& reply = r.value();
  BOOST_TEST(reply.model == "gpt-4o-2024");  // what the provider reported
  BOOST_TEST(reply.provider == "scripted");
  BOOST_TEST(reply.usage.input_tokens == 10u);
  BOOST_TEST(reply.usage.output_tokens == 20u);
  BOOST_TEST(reply.timestamp > 0.0);
  BOOST_TEST(reply.extra.at("finish_reason") == "stop");

  auto const& m = bot.last_metadata();
  BOOST_TEST(m.at("response_id").is_null());
  BOOST_TEST(m.at("model") == "gpt-4o-2024");
  BOOST_TEST(m.at("provider") == "scripted");
  BOOST_TEST(m.at("role") == "provider");
  BOOST_TEST(m.at("usage") == (json::object{{"prompt_tokens", 10}, {"completion_tokens", 20}, {"total_tokens", 30}}));
  BOOST_TEST(m.at("finish_reason") == "stop");
  BOOST_TEST(m.at("timestamp").is_string());
  BOOST_TEST(bot.failure_metadata().empty());

  auto const req = t->requests().at(0);
  BOOST_TEST(req.max_tokens == 321u);
  BOOST_TEST(req.temperature.value_or(-1.0) == 0.25);
  BOOST_TEST(req.tools.empty());

  auto info = bot.describe();
  BOOST_TEST(info.name == "Bot");
  BOOST_TEST(info.model == "gpt-4o");
  BOOST_TEST(info.temperature.value_or(-1.0) == 0.25);
  BOOST_TEST(info.max_tokens.value_or(0) == 321u);
}

BOOST_AUTO_TEST_CASE(failing_calls_leave_failure_metadata) {
  auto t = scripted(R"({"error": {"code": "llm_server_error", "message": "boom"}})");
  auto o = speaker_options(Role::provider);
  o.retry.max_retries = 1;
  LlmSpeaker bot(leash::llm::AnyTransport(t), o);
  std::vector<Turn> turns{turn(1, Role::persona, "hi")};
  History h = turns;
  auto r = run_sync(bot.respond(h));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::llm_server_error);
  BOOST_TEST(r.error().message == "LLM call failed after 2 attempts: boom");
  BOOST_TEST(t->calls() == 2u);
  auto m = bot.failure_metadata();
  BOOST_TEST(m.at("error") == "boom");
  BOOST_TEST(m.at("attempt") == 2);
  BOOST_TEST(m.at("max_attempts") == 2);
  BOOST_TEST(m.at("retryable") == true);
  BOOST_TEST(m.at("will_retry") == false);
  BOOST_TEST(m.at("provider") == "scripted");
  BOOST_TEST(m.at("model") == "sim-model");
  BOOST_TEST(m.at("role") == "provider");
  BOOST_TEST(m.at("response_id").is_null());
  BOOST_TEST(leash::sim::speaker_traits<LlmSpeaker>::failure_metadata(bot) == m);

  // Every attempt sent the same messages.
  auto reqs = t->requests();
  BOOST_TEST((flat(reqs.at(0).messages) == flat(reqs.at(1).messages)));
}

BOOST_AUTO_TEST_CASE(a_success_after_a_failure_clears_failure_metadata) {
  auto t = scripted(R"({"error": {"code": "llm_timeout", "message": "slow"}})"
                    "\n"
                    R"({"text": "there"})");
  auto o = speaker_options(Role::provider);
  o.retry.max_retries = 0;
  LlmSpeaker bot(leash::llm::AnyTransport(t), o);
  std::vector<Turn> turns{turn(1, Role::persona, "hi")};
  History h = turns;
  auto bad = run_sync(bot.respond(h));
  BOOST_REQUIRE(bad.has_error());
  BOOST_TEST(bad.error().message == "LLM call failed after 1 attempts: slow");
  BOOST_TEST(bot.failure_metadata().at("error") == "slow");
  auto good = run_sync(bot.respond(h));
  BOOST_REQUIRE_MESSAGE(good.has_value(), why(good));
  BOOST_TEST(good.value().text == "there");
  BOOST_TEST(bot.failure_metadata().empty());
  BOOST_TEST(!bot.last_metadata().contains("error"));
}

BOOST_AUTO_TEST_CASE(speaker_no_retry_phrases) {
  auto t = scripted(R"({"error": {"code": "llm_rate_limited", "message": "quota: insufficient_quota"}})");
  auto o = speaker_options(Role::persona);
  o.no_retry_substrings = {"insufficient_quota"};
  LlmSpeaker mary(leash::llm::AnyTransport(t), o);
  auto r = run_sync(mary.start());
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(t->calls() == 1u);
  BOOST_TEST(r.error() == Errc::llm_rate_limited);
  BOOST_TEST(r.error().message == "LLM error (non-retryable): quota: insufficient_quota");
  BOOST_TEST(mary.failure_metadata().at("retryable") == false);
  BOOST_TEST((leash::sim::speaker_traits<LlmSpeaker>::no_retry_substrings(mary) ==
              std::vector<std::string>{"insufficient_quota"}));
}

BOOST_AUTO_TEST_CASE(conversation_ids_and_system_prompt) {
  auto t = scripted(R"({"text": "ok"})");
  LlmSpeaker a(leash::llm::AnyTransport(t), speaker_options(Role::provider));
  LlmSpeaker b(leash::llm::AnyTransport(t), speaker_options(Role::provider));
  std::regex const uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  BOOST_TEST(std::regex_match(a.conversation_id(), uuid4), a.conversation_id());
  BOOST_TEST(std::regex_match(b.conversation_id(), uuid4), b.conversation_id());
  BOOST_TEST(a.conversation_id() != b.conversation_id());

  a.set_system_prompt("NEW");
  BOOST_TEST(run_sync(a.start()).has_value());
  BOOST_TEST(t->requests().at(0).messages.at(0).content == "NEW");
  BOOST_TEST(b.messages_for(History{}).at(0).content == "SYS");  // the other speaker is unaffected
  BOOST_TEST((a.role() == Role::provider));
  BOOST_TEST(a.name() == "Bot");
}

BOOST_AUTO_TEST_CASE(no_transport_is_an_error) {
  LlmSpeaker none(leash::llm::AnyTransport{}, speaker_options(Role::provider));
  auto r = run_sync(none.start());
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_config);
}

// ================================================================ LlmSpeaker over HTTP

BOOST_AUTO_TEST_CASE(openai_compatible_reply) {
  leash_test::HttpServer server([](leash_test::ReceivedRequest const&) {
    return leash_test::Reply::json(openai_text("Hello from the model"));
  });
  LlmSpeaker bot(compatible(server), speaker_options(Role::provider));
  std::vector<Turn> turns{turn(1, Role::persona, "hi"), turn(2, Role::provider, "hello"),
                          turn(3, Role::persona, "bye")};
  History h = turns;
  auto r = run_sync(bot.respond(h));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().text == "Hello from the model");
  BOOST_TEST(r.value().response_id == "chatcmpl-2");
  BOOST_TEST(r.value().provider == "openai-compatible");
  BOOST_TEST(r.value().model == "test-model");
  BOOST_TEST(r.value().usage.input_tokens == 90u);
  BOOST_TEST(bot.last_metadata().at("response_id") == "chatcmpl-2");

  auto got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 1u);
  BOOST_TEST(got[0].target == "/v1/chat/completions");
  auto body = json::parse(got[0].body);
  BOOST_TEST(body.at("model") == "test-model");
  BOOST_TEST(body.at("messages") == json::parse(R"([
      {"role": "system", "content": "SYS"},
      {"role": "user", "content": "hi"},
      {"role": "assistant", "content": "hello"},
      {"role": "user", "content": "bye"}])"));
  BOOST_TEST(!body.as_object().contains("tools"));
}

BOOST_AUTO_TEST_CASE(openai_compatible_server_errors_are_retried) {
  std::atomic<int> seen{0};
  leash_test::HttpServer server([&seen](leash_test::ReceivedRequest const&) {
    if (++seen <= 2)
      return leash_test::Reply::json(R"({"error": {"message": "overloaded", "type": "server_error"}})", 500);
    return leash_test::Reply::json(openai_text("made it"));
  });
  auto o = speaker_options(Role::provider);
  auto sleeps = std::make_shared<std::vector<double>>();
  o.retry = SpeakerRetry{};
  o.retry.sleep = [sleeps](double s) -> asio::awaitable<void> {
    sleeps->push_back(s);
    co_return;
  };
  o.retry.seed = 9;
  LlmSpeaker bot(compatible(server), o);
  std::vector<Turn> turns{turn(1, Role::persona, "hi")};
  History h = turns;
  auto r = run_sync(bot.respond(h));
  BOOST_REQUIRE_MESSAGE(r.has_value(), why(r));
  BOOST_TEST(r.value().text == "made it");
  BOOST_TEST(server.request_count() == 3u);
  BOOST_TEST(sleeps->size() == 2u);
  BOOST_TEST(bot.failure_metadata().empty());
}

BOOST_AUTO_TEST_CASE(openai_compatible_refused_key_is_final) {
  leash_test::HttpServer server([](leash_test::ReceivedRequest const&) {
    return leash_test::Reply::json(R"({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})",
                                   401);
  });
  LlmSpeaker bot(compatible(server), speaker_options(Role::provider));
  std::vector<Turn> turns{turn(1, Role::persona, "hi")};
  History h = turns;
  auto r = run_sync(bot.respond(h));
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::llm_auth_failed);
  BOOST_TEST(r.error().message.rfind("LLM error (non-retryable): ", 0) == 0u, r.error().message);
  BOOST_TEST(server.request_count() == 1u);
  auto m = bot.failure_metadata();
  BOOST_TEST(m.at("retryable") == false);
  BOOST_TEST(m.at("attempt") == 1);
  BOOST_TEST(m.at("provider") == "openai-compatible");
}

BOOST_AUTO_TEST_SUITE_END()
