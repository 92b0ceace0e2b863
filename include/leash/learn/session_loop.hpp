// leash/learn/session_loop.hpp — learning sessions, one after another, until
// a stop condition says enough: no improvement for K sessions, the money is
// spent, or a session failed.
//
//   struct Improve {   // a Session: one diagnose → plan → execute → gate round
//     asio::awaitable<leash::result<SessionRecord>> run(SessionBudget budget);
//   };
//   leash::learn::SessionLoop<Improve> loop(Improve{...});   // DefaultStops
//   auto r = loop.run();   // or co_await loop.async_run()
//   // r->stop_reason.kind == StopKind::stagnation, r->best_overall_score, …
//
// A model of StopCondition has
//   std::optional<StopReason> evaluate(SessionHistory const&);
// and optionally
//   std::optional<double> remaining_usd(SessionHistory const&) const;  // a spending ceiling
//   result<void> validate() const;             // checked before the first session
//   double improvement_eps() const;            // what counts as an improvement
// A StopList evaluates its conditions after every session, in order; the first
// that fires ends the loop.
//
// Reference: OpenJarvis SpecSearchLoop (reference/openjarvis-learning.md
// §2.15, §1.5 LoopResult). Kept: stagnation_k = 5, stagnation_eps = 0.001,
// max_total_cost_usd = 50.0, the bookkeeping (best starts at 0, a session
// improves when score > best + eps, an unmeasured score counts as 0), the stop
// names and their precedence (failed, then stagnation, then budget).
// Changed: the reference checks the budget only after a session, so the total
// could overshoot by a whole session (§4 item 3); here each session is handed
// what is left of the budget as its hard ceiling (SessionBudget). And a session
// that errors or throws is a failed session that keeps the cost it charged,
// where the reference reset it to 0 (§4 item 3).
#ifndef LEASH_LEARN_SESSION_LOOP_HPP
#define LEASH_LEARN_SESSION_LOOP_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/describe/enum.hpp>

#include <atomic>
#include <concepts>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace leash::learn {

// ---- stop reasons and the history they read --------------------------------

/// Why a session loop stopped: the reference's stop names.
enum class StopKind {
  stagnation,  ///< K sessions in a row without an improvement above eps
  budget,      ///< the total cost reached the budget
  failed,      ///< a session failed
};
BOOST_DESCRIBE_ENUM(StopKind, stagnation, budget, failed)

/// "stagnation", "budget", "failed".
constexpr std::string_view to_string(StopKind k) noexcept {
  switch (k) {
    case StopKind::stagnation: return "stagnation";
    case StopKind::budget: return "budget";
    default: return "failed";
  }
}

/// Which stop fired, and a sentence for people.
struct StopReason {
  StopKind kind = StopKind::stagnation;
  std::string message;
};

/// What one session did, as the loop needs it.
struct SessionRecord {
  /// The benchmark score after the session; empty: not measured (counts as 0,
  /// as in the reference).
  std::optional<double> score;
  /// What the session spent, in USD. NaN or negative counts as 0.
  double cost_usd = 0.0;
  bool failed = false;
  std::string error;      ///< why it failed; empty otherwise
  json::object metadata;  ///< anything the session wants to keep (its id, the edits it made)
};

/// The sessions so far and the reference's bookkeeping over them: the best
/// score (starting at 0, raised only by more than eps), the streak of sessions
/// since the last improvement, and the total cost.
class SessionHistory {
 public:
  static constexpr double default_eps = 0.001;

  explicit SessionHistory(double eps = default_eps) : eps_(eps) {}

  /// Appends a record. Its cost is sanitised (NaN or negative: 0) and added to
  /// the total. A failed session is never an improvement; otherwise a score
  /// above best + eps becomes the best and resets the streak, anything else
  /// (an unmeasured score is 0) lengthens it.
  void add(SessionRecord record);

  std::vector<SessionRecord> const& records() const noexcept { return records_; }
  std::size_t size() const noexcept { return records_.size(); }
  bool empty() const noexcept { return records_.empty(); }
  /// The last session's record; the history must not be empty.
  SessionRecord const& last() const { return records_.back(); }

  double eps() const noexcept { return eps_; }
  double best_score() const noexcept { return best_; }
  std::size_t streak() const noexcept { return streak_; }
  double total_cost_usd() const noexcept { return total_cost_; }

  /// The streak and best as they would be with another eps (a scan of the records).
  std::size_t streak_for(double eps) const noexcept;
  double best_score_for(double eps) const noexcept;

 private:
  double eps_;
  std::vector<SessionRecord> records_;
  double best_ = 0.0;
  std::size_t streak_ = 0;
  double total_cost_ = 0.0;
};

// ---- the StopCondition requirement -----------------------------------------

namespace detail {
template <class C> concept stop_has_evaluate = requires(C& c, SessionHistory const& h) {
  { c.evaluate(h) } -> std::convertible_to<std::optional<StopReason>>;
};
template <class C> concept stop_has_ceiling = requires(C const& c, SessionHistory const& h) {
  { c.remaining_usd(h) } -> std::convertible_to<std::optional<double>>;
};
template <class C> concept stop_has_validate = requires(C const& c) {
  { c.validate() } -> std::same_as<result<void>>;
};
template <class C> concept stop_has_eps = requires(C const& c) {
  { c.improvement_eps() } -> std::convertible_to<double>;
};
}  // namespace detail

template <class C>
concept StopCondition = detail::stop_has_evaluate<C>;

template <class C>
consteval bool check_stop_condition() {
  static_assert(StopCondition<C>,
                "leash::learn::StopCondition: add `std::optional<leash::learn::StopReason> "
                "evaluate(leash::learn::SessionHistory const&)`");
  return true;
}

// ---- the built-in stop conditions ------------------------------------------

/// Stops with `stagnation` once K sessions in a row did not improve the best
/// score by more than `eps` (reference stagnation_k = 5, stagnation_eps = 0.001).
template <int K = 5>
struct Stagnation {
  static_assert(K >= 1,
                "leash::learn::Stagnation<K>: K is how many sessions in a row without improvement end the "
                "loop; it must be at least 1 (the reference's stagnation_k >= 1)");
  static constexpr int k = K;

  /// How much better than the best a score must be to count as an improvement;
  /// finite and >= 0 (checked by validate() before the first session).
  double eps = SessionHistory::default_eps;

  double improvement_eps() const noexcept { return eps; }
  result<void> validate() const;
  std::optional<StopReason> evaluate(SessionHistory const& h) const;
};

/// Stops with `budget` once the total cost reaches the budget (reference
/// max_total_cost_usd = 50.0), and hands each session what is left of it as
/// its ceiling. Built by make(), which refuses a budget that is not > 0.
class CostBudget {
 public:
  static constexpr double default_usd = 50.0;

  /// A $50 budget.
  CostBudget() = default;
  /// Errc::invalid_config unless `max_total_usd` is > 0 (NaN refused; +inf allowed).
  static result<CostBudget> make(double max_total_usd);

  double max_total_usd() const noexcept { return max_; }
  /// The budget less the total spent, never below 0.
  std::optional<double> remaining_usd(SessionHistory const& h) const noexcept;
  std::optional<StopReason> evaluate(SessionHistory const& h) const;

 private:
  explicit CostBudget(double usd) noexcept : max_(usd) {}
  double max_ = default_usd;
};

/// Stops with `failed` when the last session failed.
struct SessionFailed {
  std::optional<StopReason> evaluate(SessionHistory const& h) const;
};

/// Stop conditions, as instances (so they carry runtime parameters), evaluated
/// in order; the first that fires wins. A StopList is itself a StopCondition.
template <class... Cs>
class StopList {
  static_assert(sizeof...(Cs) > 0,
                "leash::learn::StopList: give at least one stop condition, or the session loop never ends");
  static_assert((check_stop_condition<Cs>() && ...));

 public:
  StopList() requires(std::default_initializable<Cs> && ...) = default;
  explicit StopList(Cs... cs) : stops_(std::move(cs)...) {}

  /// The first condition that fires, if any.
  std::optional<StopReason> evaluate(SessionHistory const& h);
  /// The smallest ceiling any condition sets; empty: none does.
  std::optional<double> remaining_usd(SessionHistory const& h) const;
  /// The first failing condition's validate().
  result<void> validate() const;
  /// The eps of the first condition that has one (Stagnation), else 0.001.
  double improvement_eps() const;

  template <class C> C& get() noexcept { return std::get<C>(stops_); }
  template <class C> C const& get() const noexcept { return std::get<C>(stops_); }

 private:
  std::tuple<Cs...> stops_;
};

/// The reference's stops in its order of precedence: a failed session first,
/// then stagnation (which wins over budget when both hold), then the budget.
using DefaultStops = StopList<SessionFailed, Stagnation<5>, CostBudget>;

template <class T> inline constexpr bool is_stop_list_v = false;
template <class... Cs> inline constexpr bool is_stop_list_v<StopList<Cs...>> = true;

// ---- the Session requirement -----------------------------------------------

/// What a session may spend: `remaining_usd`, what is left of the loop's
/// budget when it starts (infinity when no stop condition sets a ceiling), is
/// a hard ceiling. A session that charges its spending here as it goes keeps
/// the loop's accounting right even when it fails or throws: the loop counts
/// the larger of the charged total and SessionRecord::cost_usd.
///
/// Copies share one counter; charge() may be called from any thread.
class SessionBudget {
 public:
  /// An unlimited budget (for running a session on its own).
  SessionBudget() : SessionBudget(std::numeric_limits<double>::infinity()) {}
  explicit SessionBudget(double remaining, std::size_t index = 0)
      : remaining_usd(remaining), session_index(index), spent_(std::make_shared<std::atomic<double>>(0.0)) {}

  double remaining_usd;       ///< the ceiling for this session, USD
  std::size_t session_index;  ///< 0 for the first session of a loop

  /// Records `usd` spent (NaN or negative: ignored).
  void charge(double usd) noexcept {
    if (usd > 0) spent_->fetch_add(usd, std::memory_order_relaxed);
  }
  /// What has been charged so far.
  double spent_usd() const noexcept { return spent_->load(std::memory_order_relaxed); }
  /// The ceiling less what was charged, never below 0.
  double left_usd() const noexcept {
    double left = remaining_usd - spent_usd();
    return left > 0 ? left : 0.0;
  }
  /// Nothing left: the session should stop spending.
  bool exhausted() const noexcept { return left_usd() <= 0; }

 private:
  std::shared_ptr<std::atomic<double>> spent_;
};

namespace detail {
template <class S> concept session_has_run = requires(S& s, SessionBudget b) {
  { s.run(b) } -> std::same_as<boost::asio::awaitable<result<SessionRecord>>>;
};
}  // namespace detail

/// One learning session: `run(SessionBudget) -> asio::awaitable<result<SessionRecord>>`.
/// An error result is recorded as a failed session (with what it charged).
template <class S>
concept Session = detail::session_has_run<S>;

template <class S>
consteval bool check_session() {
  static_assert(Session<S>,
                "leash::learn::Session: add `boost::asio::awaitable<leash::result<leash::learn::SessionRecord>> "
                "run(leash::learn::SessionBudget)`");
  return true;
}

// ---- the loop ---------------------------------------------------------------

/// What a session loop did (the reference's LoopResult; named so that it does
/// not clash with leash::LoopResult).
struct SessionLoopResult {
  std::vector<SessionRecord> sessions;
  StopReason stop_reason;
  double total_cost_usd = 0.0;
  /// The best score, raised only by improvements above eps (0 when none).
  double best_overall_score = 0.0;
};

/// Runs `Session_` again and again until a condition of `Stops_` fires.
///
/// Before each session: the ceiling is the smallest remaining_usd() of the
/// stop conditions (a CostBudget's budget less the total), handed to the
/// session as SessionBudget::remaining_usd; no budget left stops the loop with
/// `budget` before the session. After each session: its record (an error
/// result or an exception becomes a failed record) goes into the history, and
/// the stop list is evaluated. No exception leaves async_run().
template <class Session_, class Stops_ = DefaultStops>
class SessionLoop {
  static_assert(check_session<Session_>());
  static_assert(is_stop_list_v<Stops_>,
                "leash::learn::SessionLoop: the second argument must be leash::learn::StopList<...>");

 public:
  using session_type = Session_;
  using stops_type = Stops_;

  explicit SessionLoop(Session_ session, Stops_ stops = {})
      : session_(std::move(session)), stops_(std::move(stops)) {}
  SessionLoop(SessionLoop const&) = delete;
  SessionLoop& operator=(SessionLoop const&) = delete;

  /// Runs to a stop on an io_context of its own. Fails (as a value) only when
  /// a stop condition's parameters are invalid (Errc::invalid_config), before
  /// any session runs.
  result<SessionLoopResult> run();
  /// The same, on the caller's executor.
  boost::asio::awaitable<result<SessionLoopResult>> async_run();

  Session_& session() noexcept { return session_; }
  Stops_& stops() noexcept { return stops_; }
  /// The sessions of the last (or current) run.
  SessionHistory const& history() const noexcept { return history_; }

 private:
  Session_ session_;
  Stops_ stops_;
  SessionHistory history_;
};

}  // namespace leash::learn

#include <leash/learn/impl/session_loop.hpp>

#endif
