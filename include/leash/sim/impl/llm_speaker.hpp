// leash/sim/impl/llm_speaker.hpp — definitions for sim/llm_speaker.hpp.
#ifndef LEASH_SIM_IMPL_LLM_SPEAKER_HPP
#define LEASH_SIM_IMPL_LLM_SPEAKER_HPP

#include <leash/sim/detail/time_text.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <utility>

namespace leash::sim {

namespace detail {

/// A random version-4 UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
inline std::string random_uuid4() {
  // Conversation ids are labels, not secrets: one generator per thread,
  // seeded once, instead of a std::random_device per speaker (~18 µs each).
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<unsigned char, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 4) {
    auto const word = static_cast<std::uint32_t>(rng());
    for (std::size_t k = 0; k < 4; ++k) b[i + k] = static_cast<unsigned char>(word >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[b[i] >> 4];
    s += hex[b[i] & 0x0f];
  }
  return s;
}

inline llm::ChatMessage chat_message(char const* role, std::string content) {
  return llm::ChatMessage{role, std::move(content), {}, {}};
}

}  // namespace detail

inline LlmSpeaker::LlmSpeaker(llm::AnyTransport transport, LlmSpeakerOptions options)
    : transport_(std::move(transport)), options_(std::move(options)), conversation_id_(detail::random_uuid4()) {
  // The transport's identity is fixed: the failure record's fields are made once.
  retry_ctx_.provider = std::string(transport_.provider());
  retry_ctx_.role = options_.role;
  retry_ctx_.model = std::string(transport_.model_id());
  retry_ctx_.no_retry = options_.no_retry_substrings;
}

inline boost::asio::awaitable<result<Reply>> LlmSpeaker::start() {
  if (options_.first_message) {
    Reply r;
    r.text = *options_.first_message;
    r.model = std::string(transport_.model_id());
    r.provider = std::string(transport_.provider());
    r.timestamp = detail::now_seconds();
    pending_.reset();
    metadata_ = reply_metadata(r, options_.role);
    last_failed_ = false;
    co_return r;
  }
  auto& messages = request_.messages;
  messages.clear();
  kept_ = false;
  if (!options_.system_prompt.empty()) messages.push_back(detail::chat_message("system", options_.system_prompt));
  messages.push_back(detail::chat_message("user", options_.start_prompt));
  co_return co_await complete();
}

inline boost::asio::awaitable<result<Reply>> LlmSpeaker::respond(History history) {
  if (history.empty()) co_return co_await start();
  update_messages(history);
  co_return co_await complete();
}

inline void LlmSpeaker::update_messages(History history) {
  // request_.messages becomes messages_for(history), keeping what it has.
  auto& m = request_.messages;
  auto is_own = [&](Turn const& t) { return t.turn != 0 && t.speaker == options_.role; };
  bool const system = !options_.system_prompt.empty();
  bool const opener = is_own(history.front());
  if (!kept_ || opener != opener_) {
    m.clear();
    if (system) m.push_back(detail::chat_message("system", options_.system_prompt));
    if (opener) m.push_back(detail::chat_message("user", options_.start_prompt));
    lead_ = m.size();
    opener_ = opener;
    reminded_ = 0;
    kept_ = true;
  }
  if (reminded_) {
    m[reminded_ - 1].content.erase(0, options_.reminder.size() + 2);
    reminded_ = 0;
  }
  // The turns already there, as long as they still match the history.
  std::size_t same = 0;
  std::size_t const had = m.size() - lead_;
  while (same < had && same < history.size()) {
    Turn const& t = history[same];
    auto const& msg = m[lead_ + same];
    if (msg.role != (is_own(t) ? "assistant" : "user") || msg.content != t.response) break;
    ++same;
  }
  m.resize(lead_ + same);
  for (std::size_t k = same; k < history.size(); ++k)
    m.push_back(detail::chat_message(is_own(history[k]) ? "assistant" : "user", history[k].response));
  if (options_.role == Role::persona && !options_.reminder.empty() && history.back().speaker == Role::provider) {
    m.back().content.insert(0, options_.reminder + "\n\n");
    reminded_ = m.size();
  }
}

inline std::vector<llm::ChatMessage> LlmSpeaker::messages_for(History history) const {
  std::vector<llm::ChatMessage> out;
  out.reserve(history.size() + 2);
  if (!options_.system_prompt.empty()) out.push_back(detail::chat_message("system", options_.system_prompt));
  auto is_own = [&](Turn const& t) { return t.turn != 0 && t.speaker == options_.role; };
  // Differs from the reference: a history that opens with this speaker's
  // own turn gets the start prompt before it, since providers such as
  // Anthropic need a user message first, and that prompt produced the turn.
  if (!history.empty() && is_own(history.front()))
    out.push_back(detail::chat_message("user", options_.start_prompt));
  for (Turn const& t : history) out.push_back(detail::chat_message(is_own(t) ? "assistant" : "user", t.response));
  // The persona is reminded who it plays each time the provider has spoken.
  if (options_.role == Role::persona && !options_.reminder.empty() && !history.empty() &&
      history.back().speaker == Role::provider)
    out.back().content = options_.reminder + "\n\n" + out.back().content;
  return out;
}

inline boost::asio::awaitable<result<Reply>> LlmSpeaker::complete() {
  pending_.reset();
  if (!transport_) {
    metadata_.clear();
    last_failed_ = true;
    co_return Error{Errc::invalid_config, "LlmSpeaker '" + options_.name + "' has no transport"};
  }
  llm::CompletionRequest& request = request_;
  request.max_tokens = options_.max_tokens;
  request.temperature = options_.temperature;
  // One request for every attempt, kept for the next reply.
  auto once = [this, &request]() -> boost::asio::awaitable<result<Reply>> {
    auto done = co_await transport_.complete(request);
    if (!done) co_return done.error();
    co_return to_reply(done.value());
  };
  auto reply = co_await run_with_retry(options_.retry, std::move(once), metadata_, retry_ctx_);
  if (!reply) {
    last_failed_ = true;
    co_return reply;
  }
  last_failed_ = false;
  // What last_metadata() needs, kept for when (if ever) it is asked for:
  // making the record costs a dozen allocations, and the conversation makes
  // its own from the reply.
  Reply const& r = reply.value();
  Reply& kept = pending_.emplace();
  kept.model = r.model;
  kept.provider = r.provider;
  kept.response_id = r.response_id;
  kept.usage = r.usage;
  kept.timestamp = r.timestamp;
  kept.extra = r.extra;
  adopt_conversation_id(r.extra);
  co_return reply;
}

inline json::object LlmSpeaker::last_metadata() const {
  return pending_ ? reply_metadata(*pending_, options_.role) : metadata_;
}

inline Reply LlmSpeaker::to_reply(llm::Completion& done) const {
  Reply r;
  r.text = std::move(done.text);
  if (done.model.empty())
    r.model = std::string(transport_.model_id());
  else
    r.model = std::move(done.model);
  r.provider = std::string(transport_.provider());
  r.response_id = std::move(done.response_id);
  r.usage = done.usage;
  r.timestamp = detail::now_seconds();
  if (!done.finish_reason.empty()) r.extra["finish_reason"] = done.finish_reason;
  return r;
}

inline void LlmSpeaker::adopt_conversation_id(json::object const& extra) {
  auto const* v = extra.if_contains("conversation_id");
  if (!v) return;
  auto const* s = v->if_string();
  if (s && !s->empty() && *s != conversation_id_) conversation_id_ = std::string(*s);
}

inline std::optional<std::string> LlmSpeaker::first_turn_input() const {
  if (options_.first_message) return std::nullopt;
  return options_.start_prompt;
}

inline SpeakerInfo LlmSpeaker::describe() const {
  SpeakerInfo info;
  info.name = options_.name;
  info.model = std::string(transport_.model_id());
  info.temperature = options_.temperature;
  info.max_tokens = options_.max_tokens;
  return info;
}

inline json::object LlmSpeaker::failure_metadata() const {
  if (!last_failed_) return {};
  return metadata_;
}

}  // namespace leash::sim

#endif
