// leash/trace.hpp — the events of a run and the sinks that receive them.
//
// Fourteen event kinds, named as the reference names them. An event's fields
// are built only when at least one sink listens: a loop with no sink pays one
// branch per event, nothing more.
#ifndef LEASH_TRACE_HPP
#define LEASH_TRACE_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdio>
#include <new>
#include <utility>
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

/// An event as the Tracer hands it out: built once, immutable, shared by
/// every sink that keeps it and by the run's store (no copy per receiver).
/// Made with make_shared<Event> (not <Event const>): a store that ends up the
/// only holder may move the event out rather than copy it, so one made
/// elsewhere must be made the same way, and never watched through a weak_ptr.
///
/// The fields live in the event's own arena, which frees nothing until the
/// event goes: a copy meant to outlive the event, or to be changed, belongs
/// in other storage — `json::object(e->fields, json::storage_ptr())` — since
/// a plain copy of a Boost.JSON value allocates where its source does.
using SharedEvent = std::shared_ptr<Event const>;

/// A receiver of events. Implementations must not throw out of `write`.
class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void write(Event const& e) noexcept = 0;
  /// What the Tracer calls. A sink that keeps events overrides it to keep the
  /// pointer instead of a copy (MemorySink does); the default calls write(*e).
  virtual void write_shared(SharedEvent const& e) noexcept { write(*e); }
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
  /// Keeps the Tracer's event itself: no copy.
  void write_shared(SharedEvent const& e) noexcept override;
  /// A copy of the events so far.
  std::vector<Event> events() const;
  /// The kinds so far, in order.
  std::vector<std::string> kinds() const;
  std::size_t size() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<SharedEvent> events_;
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

namespace detail {

/// An event's own memory (see Tracer::emit): the tables, keys and strings of
/// its fields, bump-allocated from one block allocated with it and freed when
/// the last value referring to it goes (storage_ptr counts them), instead of
/// one heap allocation per key. A block that turns out short continues in
/// blocks from operator new. A copy of an event's fields allocates here too,
/// from whatever thread makes it: a spin lock keeps that safe.
class event_arena : public json::memory_resource {
 public:
  event_arena(event_arena const&) = delete;
  event_arena& operator=(event_arena const&) = delete;
  ~event_arena() override {
    while (extra_) {
      extra_block* next = extra_->next;
      std::size_t align = extra_->align;
      ::operator delete(static_cast<void*>(extra_), std::align_val_t(align));
      extra_ = next;
    }
  }
  /// Bytes handed out so far.
  std::size_t used() const noexcept { return used_ + extra_bytes_; }

 protected:
  event_arena(unsigned char* block, std::size_t size, event_arena** self) noexcept : block_(block), size_(size) {
    *self = this;
  }

 private:
  struct extra_block {
    extra_block* next;
    std::size_t align;
  };
  struct lock_guard {
    std::atomic_flag& f;
    explicit lock_guard(std::atomic_flag& flag) noexcept : f(flag) {
      while (f.test_and_set(std::memory_order_acquire)) {
      }
    }
    ~lock_guard() { f.clear(std::memory_order_release); }
  };

  void* do_allocate(std::size_t n, std::size_t align) override {
    lock_guard lock(lock_);
    std::size_t at = (used_ + align - 1) & ~(align - 1);
    if (at <= size_ && n <= size_ - at) {
      used_ = at + n;
      return block_ + at;
    }
    std::size_t a = std::max(align, alignof(extra_block));
    std::size_t header = (sizeof(extra_block) + a - 1) & ~(a - 1);
    auto* raw = static_cast<unsigned char*>(::operator new(header + n, std::align_val_t(a)));
    extra_ = ::new (raw) extra_block{extra_, a};
    extra_bytes_ += n;
    return raw + header;
  }
  void do_deallocate(void*, std::size_t, std::size_t) override {}
  bool do_is_equal(json::memory_resource const& other) const noexcept override { return this == &other; }

  unsigned char* block_;
  std::size_t size_;
  std::size_t used_ = 0;
  std::size_t extra_bytes_ = 0;
  extra_block* extra_ = nullptr;
  std::atomic_flag lock_ = ATOMIC_FLAG_INIT;
};

template <std::size_t N>
class sized_event_arena : public event_arena {
 public:
  explicit sized_event_arena(event_arena** self) noexcept : event_arena(block_, N, self) {}

 private:
  alignas(std::max_align_t) unsigned char block_[N];
};

/// Block sizes: every 64 bytes up to 1 KiB, then every 256 up to 4 KiB (a
/// larger event continues in overflow blocks): at most 63 (255) bytes unused.
inline constexpr std::size_t event_arena_class_size(std::size_t i) noexcept {
  return i < 16 ? 64 * (i + 1) : 1024 + 256 * (i - 15);
}
inline constexpr std::size_t event_arena_classes = 28;

template <std::size_t... I>
constexpr auto event_arena_factories(std::index_sequence<I...>) {
  using factory = json::storage_ptr (*)(event_arena**);
  return std::array<factory, sizeof...(I)>{+[](event_arena** self) {
    return json::make_shared_resource<sized_event_arena<event_arena_class_size(I)>>(self);
  }...};
}

/// A fresh arena whose block holds at least `hint` bytes (up to 4 KiB).
inline json::storage_ptr make_event_storage(std::size_t hint, event_arena*& arena) {
  static constexpr auto factories = event_arena_factories(std::make_index_sequence<event_arena_classes>{});
  std::size_t i = hint <= 1024 ? (hint + 63) / 64 : 16 + (hint - 1024 + 255) / 256;
  i = i == 0 ? 0 : std::min(i - 1, event_arena_classes - 1);
  return factories[i](&arena);
}

template <class F>
concept fields_with_storage = requires(F& f, json::storage_ptr const& sp) {
  { f(sp) } -> std::convertible_to<json::object>;
};

}  // namespace detail

/// Fans events out to sinks; builds an event only when someone listens.
class Tracer {
 public:
  Tracer() = default;
  explicit Tracer(std::vector<std::shared_ptr<TraceSink>> sinks) : sinks_(std::move(sinks)) {}

  bool enabled() const noexcept { return !sinks_.empty() || store_buffer_; }
  void add(std::shared_ptr<TraceSink> sink) {
    if (sink) sinks_.push_back(std::move(sink));
  }

  /// Events for the run's store are appended to `buffer` after the sinks saw
  /// them: one event object per event, shared by every place that keeps it.
  void set_store_buffer(std::vector<SharedEvent>* buffer) noexcept { store_buffer_ = buffer; }

  /// `make_fields()` -> json::object is called only when someone listens.
  /// `make_fields(sp)` builds the object in `sp`: the event's own arena, one
  /// allocation for all its keys and values, sized by what the last event of
  /// the same kind needed (see detail::event_arena).
  template <class MakeFields>
  void emit(std::string_view kind, MakeFields&& make_fields) {
    if (!enabled()) return;
    SharedEvent e;
    if constexpr (detail::fields_with_storage<MakeFields>) {
      std::uint32_t& hint = size_hint(kind);
      detail::event_arena* arena = nullptr;
      json::storage_ptr sp = detail::make_event_storage(hint, arena);
      e = std::make_shared<Event>(Event{now(), kind, make_fields(sp)});
      hint = static_cast<std::uint32_t>(std::min<std::size_t>(arena->used() + 16, 1u << 20));
    } else {
      e = std::make_shared<Event>(Event{now(), kind, make_fields()});
    }
    for (auto const& s : sinks_) s->write_shared(e);
    if (store_buffer_) store_buffer_->push_back(std::move(e));
  }

  static double now() noexcept {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

 private:
  /// Bytes the last event of `kind` took (kinds are leash::event::* constants:
  /// told apart by address, a handful at most).
  std::uint32_t& size_hint(std::string_view kind) noexcept {
    for (auto& h : hints_)
      if (h.kind == kind.data() || !h.kind) {
        h.kind = kind.data();
        return h.bytes;
      }
    return hints_.back().bytes;  // more kinds than slots: they share the last guess
  }
  struct hint {
    char const* kind = nullptr;
    std::uint32_t bytes = 128;
  };

  std::vector<std::shared_ptr<TraceSink>> sinks_;
  std::vector<SharedEvent>* store_buffer_ = nullptr;
  std::array<hint, 8> hints_{};  // a loop emits about six kinds; a parked loop keeps this
};

}  // namespace leash

#include <leash/impl/trace.hpp>

#endif
