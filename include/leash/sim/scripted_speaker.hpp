// leash/sim/scripted_speaker.hpp — a Speaker that says what it is told: for
// tests, demos and dry runs of a simulation.
//
//   leash::sim::ScriptedSpeaker persona({"Hi, my bike squeaks.", "Thanks! <END OF CONVERSATION>"});
//   leash::sim::ScriptedSpeaker provider({"Which part squeaks?"}, "shop-bot");
//   leash::sim::Conversation chat(persona, provider);
//
// It replies with its lines in order, then "Mock response N" (N counting its
// replies from 1), as the reference's mock client does. A static first
// message makes turn 0 free; `simulate_error` makes every generated reply a
// failure. Hooks are not defined here: a test adds one by deriving and
// defining the member (see sim/speaker.hpp).
#ifndef LEASH_SIM_SCRIPTED_SPEAKER_HPP
#define LEASH_SIM_SCRIPTED_SPEAKER_HPP

#include <leash/error.hpp>
#include <leash/sim/speaker.hpp>
#include <leash/sim/detail/time_text.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace leash::sim {

class ScriptedSpeaker {
 public:
  ScriptedSpeaker() = default;
  explicit ScriptedSpeaker(std::vector<std::string> replies, std::string model = "mock-model")
      : replies_(std::move(replies)), model_(std::move(model)) {}

  /// Turn 0 returns this text without "generating" (no reply consumed).
  ScriptedSpeaker& first_message(std::string text) {
    first_message_ = std::move(text);
    return *this;
  }
  /// Every generated reply fails with Errc::llm_server_error "Simulated API error".
  ScriptedSpeaker& simulate_error(bool on = true) {
    simulate_error_ = on;
    return *this;
  }
  ScriptedSpeaker& name(std::string n) {
    name_ = std::move(n);
    return *this;
  }

  boost::asio::awaitable<result<Reply>> start() {
    if (first_message_) co_return reply(*first_message_);
    co_return generate();
  }

  boost::asio::awaitable<result<Reply>> respond(History history) {
    if (history.empty()) co_return co_await start();
    calls_.push_back(history.back().response);
    co_return generate();
  }

  /// None with a static first message (the reference records no input then).
  std::optional<std::string> first_turn_input() const {
    if (first_message_) return std::nullopt;
    return std::string(default_start_prompt);
  }
  SpeakerInfo describe() const {
    SpeakerInfo i;
    i.name = name_.empty() ? model_ : name_;
    i.model = model_;
    return i;
  }

  /// The last history response of each respond() call, in order.
  std::vector<std::string> const& calls() const noexcept { return calls_; }
  /// Replies generated so far (static first messages not counted).
  std::size_t generated() const noexcept { return generated_; }
  std::string const& model() const noexcept { return model_; }

 private:
  result<Reply> generate() {
    if (simulate_error_) return Error{Errc::llm_server_error, "Simulated API error"};
    std::size_t n = generated_++;
    if (n < replies_.size()) return reply(replies_[n]);
    return reply("Mock response " + std::to_string(n + 1));
  }
  Reply reply(std::string text) const {
    Reply r;
    r.text = std::move(text);
    r.model = model_;
    r.provider = "mock";
    r.usage = {10, 20};
    r.timestamp = detail::now_seconds();
    return r;
  }

  std::vector<std::string> replies_;
  std::string model_ = "mock-model";
  std::string name_;
  std::optional<std::string> first_message_;
  bool simulate_error_ = false;
  std::size_t generated_ = 0;
  std::vector<std::string> calls_;
};

}  // namespace leash::sim

#endif
