// leash/trace.hpp — the events of a run and the sinks that receive them.
//
// Fourteen event kinds, named as the reference names them. An event's fields
// are built only when at least one sink listens: a loop with no sink pays one
// branch per event, nothing more.
#ifndef LEASH_TRACE_HPP
#define LEASH_TRACE_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

/// The event kinds (the reference's names, kept for compatibility of traces).
namespace event {
inline constexpr std::string_view loop_start = "loop.start";
inline constexpr std::string_view policy_stop = "policy.stop";
inline constexpr std::string_view iteration_start = "iteration.start";
inline constexpr std::string_view llm_call = "llm.call";
inline constexpr std::string_view plan_invalid = "plan.invalid";
inline constexpr std::string_view budget_preempt = "budget.preempt";
inline constexpr std::string_view action_executed = "action.executed";
/// Not in the reference: a call a crash left without a result, found on resume.
inline constexpr std::string_view action_uncertain = "action.uncertain";
inline constexpr std::string_view approval_requested = "approval.requested";
inline constexpr std::string_view approval_decision = "approval.decision";
inline constexpr std::string_view approval_expired = "approval.expired";
inline constexpr std::string_view approval_invalidated = "approval.invalidated";
inline constexpr std::string_view approval_cancelled = "approval.cancelled";
inline constexpr std::string_view iteration_end = "iteration.end";
inline constexpr std::string_view loop_end = "loop.end";
inline constexpr std::string_view all[] = {
    loop_start,       policy_stop,        iteration_start,   llm_call,
    plan_invalid,     budget_preempt,     action_executed,   action_uncertain,  approval_requested,
    approval_decision, approval_expired,  approval_invalidated, approval_cancelled,
    iteration_end,    loop_end};
}  // namespace event

/// One event: when (seconds since the epoch), what kind, and its fields.
struct Event {
  double ts = 0.0;
  std::string_view kind;  ///< one of leash::event::*; static storage
  json::object fields;

  /// `{"ts":…, "kind":…, <fields>}` — the JSONL line's object.
  json::object to_json() const;
};

/// A receiver of events. Implementations must not throw out of `write`.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void write(Event const& e) noexcept = 0;
};

/// Appends one JSON line per event to a file and flushes it, so a crash loses
/// at most the event being written.
class JsonlFileSink final : public TraceSink {
 public:
  /// Opens `path` for appending; the error names the file.
  static result<std::shared_ptr<JsonlFileSink>> open(std::string const& path);
  ~JsonlFileSink() override;
  void write(Event const& e) noexcept override;

 private:
  explicit JsonlFileSink(std::FILE* f) : file_(f) {}
  std::mutex mutex_;
  std::FILE* file_;
};

/// Calls a function per event; exceptions it throws are swallowed (a broken
/// observer must never break the loop it observes).
class CallbackSink final : public TraceSink {
 public:
  explicit CallbackSink(std::function<void(Event const&)> fn) : fn_(std::move(fn)) {}
  void write(Event const& e) noexcept override;

 private:
  std::function<void(Event const&)> fn_;
};

/// Keeps every event in memory (tests, benchmarks, short runs).
class MemorySink final : public TraceSink {
 public:
  void write(Event const& e) noexcept override;
  /// A copy of the events so far.
  std::vector<Event> events() const;
  /// The kinds so far, in order.
  std::vector<std::string> kinds() const;
  std::size_t size() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

/// Prints one line per iteration as it ends, for people watching a run:
///
///   iteration 2 | metric 1 (1 failing) | calls: edit_file[ok] | tokens 3120 | cost $0.0011
///
/// The metric is the goal metric's value at the iteration's start (`-` when
/// there is none; the count of its `detail.failing` list when it has one;
/// `(REGRESSION)` when it says something got worse), calls are
/// the executed actions with their status, tokens and cost the run's totals so
/// far (`cost $?` while no call had a known price). A rejected plan gets its
/// own line with the errors fed back to the model.
class ProgressLineSink final : public TraceSink {
 public:
  explicit ProgressLineSink(std::ostream& out) : out_(&out) {}
  void write(Event const& e) noexcept override;

 private:
  std::mutex mutex_;
  std::ostream* out_;
  std::string metric_ = "-";
  std::string calls_;
  std::uint64_t tokens_ = 0;
  double cost_ = 0.0;
  bool priced_ = false;
};

/// Fans events out to sinks; builds an event only when someone listens.
class Tracer {
 public:
  Tracer() = default;
  explicit Tracer(std::vector<std::shared_ptr<TraceSink>> sinks) : sinks_(std::move(sinks)) {}

  bool enabled() const noexcept { return !sinks_.empty() || store_buffer_; }
  void add(std::shared_ptr<TraceSink> sink) {
    if (sink) sinks_.push_back(std::move(sink));
  }

  /// Events for the run's store are moved into `buffer` after the sinks saw
  /// them: one event object per event, however many places receive it.
  void set_store_buffer(std::vector<Event>* buffer) noexcept { store_buffer_ = buffer; }

  /// `make_fields()` -> json::object is called only when someone listens.
  template <class MakeFields>
  void emit(std::string_view kind, MakeFields&& make_fields) {
    if (!enabled()) return;
    Event e{now(), kind, make_fields()};
    for (auto const& s : sinks_) s->write(e);
    if (store_buffer_) store_buffer_->push_back(std::move(e));
  }

  static double now() noexcept {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

 private:
  std::vector<std::shared_ptr<TraceSink>> sinks_;
  std::vector<Event>* store_buffer_ = nullptr;
};

}  // namespace leash

#include <leash/impl/trace.hpp>

#endif
