// leash/llm/scripted.hpp — a transport that replays completions from a
// script: for tests, demos and offline runs (`make_transport("scripted:FILE")`).
//
// The file is JSON Lines, one reply per line (blank lines are skipped):
//
//   {"text": "Fixing a.", "tool_calls": [{"name": "fix", "args": {"name": "a"}}],
//    "usage": {"input_tokens": 50, "output_tokens": 10}, "model": "gpt-4o"}
//   {"error": {"code": "llm_rate_limited", "message": "try later"}}
//
// Reply keys: `text`, `tool_calls` (each `name`, `args` — any JSON, kept as it
// is, so a script can test the rejection of bad arguments — and an optional
// `id`), `usage`, `model`, `finish_reason`. An error line names a leash::Errc
// (`llm_rate_limited`, `llm_server_error`, …) and a message. Replies are
// replayed in order and the last one repeats. Unknown keys are errors: a typo
// in a script should not pass silently.
#ifndef LEASH_LLM_SCRIPTED_HPP
#define LEASH_LLM_SCRIPTED_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/llm/transport.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace leash::llm {

/// Parses a script (the text of a JSONL file). `name` (the file) is used in
/// errors: "FILE:LINE: what is wrong" as Errc::invalid_transport_spec.
result<std::vector<result<Completion>>> parse_script(std::string_view text, std::string_view name = "script");

/// Replays scripted completions in order; the last one repeats.
///
/// A reply without `usage` is given an estimate (request characters / 4 in,
/// reply characters / 4 out, at least 1 each), so token budgets still bite in
/// offline runs. stream() delivers the text in pieces of a few characters and
/// each call's arguments in two pieces. Safe to share between loops and
/// threads (the position in the script is guarded).
class ScriptedTransport final : public TransportInterface {
 public:
  explicit ScriptedTransport(std::vector<result<Completion>> script, std::string model = "scripted");

  /// Reads and parses `path`; a missing or malformed file is
  /// Errc::invalid_transport_spec naming the file (and line).
  static result<std::shared_ptr<ScriptedTransport>> from_file(std::string const& path,
                                                              std::string model = "scripted");

  boost::asio::awaitable<result<Completion>> complete(CompletionRequest const& request) override;
  boost::asio::awaitable<result<Completion>> stream(CompletionRequest const& request,
                                                    StreamCallback on_delta) override;
  std::string_view model_id() const override { return model_; }
  std::string_view provider() const override { return "scripted"; }

  /// Keep a copy of every request (off by default).
  void record_requests(bool on = true);
  /// The recorded requests, in order.
  std::vector<CompletionRequest> requests() const;
  /// How many calls were made.
  std::size_t calls() const;

 private:
  result<Completion> next(CompletionRequest const& request);

  std::vector<result<Completion>> script_;
  std::string model_;
  mutable std::mutex mutex_;
  std::size_t next_ = 0;
  std::size_t calls_ = 0;
  bool record_ = false;
  std::vector<CompletionRequest> requests_;
};

}  // namespace leash::llm

#include <leash/llm/impl/scripted.hpp>

#endif
