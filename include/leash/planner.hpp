// leash/planner.hpp — the Planner requirement, the plan vocabulary, the
// ScriptedPlanner (tests and replays) and AnyPlanner (runtime choice).
//
// A model of Planner has
//   asio::awaitable<result<Plan>> plan(PlanRequest const&);   // one LLM call
//   std::string_view model_id() const;                        // for pricing and traces
// and optionally
//   std::uint64_t estimate_input_tokens(PlanRequest const&) const;
// which the loop uses instead of its len/4 estimate to keep budgets exact, and
//   std::string_view provider() const;   // "openai", "anthropic", "scripted", …
// which runs record as their engine (learning data; see learn/trace.hpp).
#ifndef LEASH_PLANNER_HPP
#define LEASH_PLANNER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

/// One chat message.
struct Message {
  std::string role;  ///< "system", "user" or "assistant"
  std::string content;
  friend bool operator==(Message const&, Message const&) = default;
};

/// A tool call as the model wrote it: arguments are whatever JSON came back,
/// validated by the ToolSet before anything runs.
struct ToolCall {
  std::string id;
  std::string name;
  json::value args;
};

/// Token usage as the provider reports it.
struct Usage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
};

/// One planner reply: text, tool calls (possibly none), usage, model.
struct Plan {
  std::string text;
  std::vector<ToolCall> tool_calls;
  Usage usage;
  std::string model_id;
  /// Retries under this reply, for the `llm.call` event: attempts beyond the
  /// first that the transport made (HTTP 429/5xx, timeouts, resets), and the
  /// seconds it waited between them. 0 for a planner without a network.
  unsigned retries = 0;
  double retry_wait_s = 0.0;

  /// A reply with one call; the text defaults to "<tool> <args>".
  static Plan single_call(std::string tool, json::object args, std::string text = {},
                          Usage usage = {50, 10});
  /// A reply with text only.
  static Plan text_only(std::string text, Usage usage = {50, 10});
};

/// Where a PlanRequest gets its messages: built only if the planner asks, so a
/// planner that does not read them (scripted, replay) costs nothing per call.
class MessageSource {
 public:
  virtual ~MessageSource() = default;
  virtual std::vector<Message> build() const = 0;
  /// Exact character count of what build() would return.
  virtual std::size_t size_chars() const = 0;
};

/// What the loop asks a planner for.
class PlanRequest {
 public:
  PlanRequest(MessageSource const& source, json::array const& tools, std::uint64_t max_tokens,
              unsigned attempt = 0)
      : source_(&source), tools_(&tools), max_tokens_(max_tokens), attempt_(attempt) {}
  PlanRequest(std::vector<Message> messages, json::array const& tools, std::uint64_t max_tokens)
      : tools_(&tools), max_tokens_(max_tokens), cache_(std::move(messages)) {}

  /// The conversation to send: system, user, then any rejected-attempt feedback.
  std::vector<Message> const& messages() const {
    if (!cache_) cache_ = source_->build();
    return *cache_;
  }
  /// Characters in messages(), without building them.
  std::size_t size_chars() const;
  /// Tool schemas: `[{"name","description","input_schema"}, …]`.
  json::array const& tools() const noexcept { return *tools_; }
  /// The most output tokens this call may produce (already clamped to the budget).
  std::uint64_t max_tokens() const noexcept { return max_tokens_; }
  void set_max_tokens(std::uint64_t n) noexcept { max_tokens_ = n; }
  /// 0 for the first attempt of an iteration, 1 and 2 for the retries.
  unsigned attempt() const noexcept { return attempt_; }

 private:
  MessageSource const* source_ = nullptr;
  json::array const* tools_;
  std::uint64_t max_tokens_;
  unsigned attempt_ = 0;
  mutable std::optional<std::vector<Message>> cache_;
};

namespace detail {
template <class P> concept has_plan = requires(P& p, PlanRequest const& r) {
  { p.plan(r) } -> std::same_as<boost::asio::awaitable<result<Plan>>>;
};
template <class P> concept has_model_id = requires(P const& p) {
  { p.model_id() } -> std::convertible_to<std::string_view>;
};
template <class P> concept has_provider = requires(P const& p) {
  { p.provider() } -> std::convertible_to<std::string_view>;
};
template <class P> concept estimates_input = requires(P const& p, PlanRequest const& r) {
  { p.estimate_input_tokens(r) } -> std::convertible_to<std::uint64_t>;
};
}  // namespace detail

/// The Planner requirement (see the top of this file).
template <class P>
concept Planner = detail::has_plan<P> && detail::has_model_id<P>;

template <class P>
consteval bool check_planner() {
  if constexpr (!detail::has_plan<P>)
    static_assert(detail::has_plan<P>,
                  "leash::Planner: add `asio::awaitable<leash::result<leash::Plan>> "
                  "plan(leash::PlanRequest const&)`");
  else if constexpr (!detail::has_model_id<P>)
    static_assert(detail::has_model_id<P>,
                  "leash::Planner: add `std::string_view model_id() const`");
  return true;
}

/// What served a planner's calls ("" when it does not say).
template <class P>
std::string_view provider_of(P const& planner) {
  if constexpr (detail::has_provider<P>)
    return planner.provider();
  else
    return {};
}

/// The loop's input-token estimate for a request: the planner's own if it has
/// one, else characters / 4.
template <Planner P>
std::uint64_t estimate_input_tokens(P const& planner, PlanRequest const& request) {
  if constexpr (detail::estimates_input<P>)
    return planner.estimate_input_tokens(request);
  else
    return request.size_chars() / 4;
}

/// Replies from a script, in order; the last one repeats forever. A scripted
/// entry may be an Error, to test planner failures.
class ScriptedPlanner {
 public:
  ScriptedPlanner() = default;
  explicit ScriptedPlanner(std::vector<result<Plan>> script, std::string model = "scripted")
      : script_(std::move(script)), model_(std::move(model)) {}
  ScriptedPlanner(std::initializer_list<Plan> script, std::string model = "scripted");

  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& request);
  std::string_view model_id() const noexcept { return model_; }
  std::string_view provider() const noexcept { return "scripted"; }

  /// Keep a copy of every request's messages and max_tokens (off by default:
  /// building messages costs time the loop otherwise skips).
  void record_requests(bool on = true) { record_ = on; }
  struct Recorded {
    std::vector<Message> messages;
    std::uint64_t max_tokens;
  };
  std::vector<Recorded> const& requests() const noexcept { return requests_; }
  std::size_t calls() const noexcept { return calls_; }

 private:
  std::vector<result<Plan>> script_;
  std::string model_ = "scripted";
  std::size_t next_ = 0;
  std::size_t calls_ = 0;
  bool record_ = false;
  std::vector<Recorded> requests_;
};

/// A planner chosen at runtime (an LLM transport, a summariser, a replay).
class AnyPlanner {
 public:
  AnyPlanner() = default;
  template <Planner P>
    requires(!std::same_as<std::remove_cvref_t<P>, AnyPlanner>)
  AnyPlanner(P planner) : impl_(std::make_shared<model<P>>(std::move(planner))) {}

  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& request) { return impl_->plan(request); }
  std::string_view model_id() const { return impl_ ? impl_->model_id() : std::string_view("none"); }
  std::string_view provider() const { return impl_ ? impl_->provider() : std::string_view(); }
  std::uint64_t estimate_input_tokens(PlanRequest const& request) const {
    return impl_->estimate(request);
  }
  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual boost::asio::awaitable<result<Plan>> plan(PlanRequest const&) = 0;
    virtual std::string_view model_id() const = 0;
    virtual std::string_view provider() const = 0;
    virtual std::uint64_t estimate(PlanRequest const&) const = 0;
  };
  template <class P>
  struct model final : concept_t {
    explicit model(P p) : planner(std::move(p)) {}
    boost::asio::awaitable<result<Plan>> plan(PlanRequest const& r) override { return planner.plan(r); }
    std::string_view model_id() const override { return planner.model_id(); }
    std::string_view provider() const override { return leash::provider_of(planner); }
    std::uint64_t estimate(PlanRequest const& r) const override {
      return leash::estimate_input_tokens(planner, r);
    }
    P planner;
  };
  std::shared_ptr<concept_t> impl_;
};

}  // namespace leash

#include <leash/impl/planner.hpp>

#endif
