// leash/loop.hpp — the one type that puts everything together.
//
//   using Agent = leash::Loop<MyPlanner, leash::ToolSet<ReadFile, EditFile>,
//                             leash::PolicyList<leash::NoProgress<3>>,
//                             leash::ExitList<leash::Stagnation<5>>, leash::AnyStore>;
//   Agent agent("make the tests pass", planner, {}, {}, {}, leash::AnyStore{}, options);
//   auto result = agent.run();      // or co_await agent.async_run();
//
// Each iteration: ceilings → policies' before_iteration → observe → measure →
// success check → plan (up to 3 attempts; rejected calls are fed back) → per
// call: ceilings, gate, approval, enforced execution → record → exit
// conditions. Every ending is a Status; nothing throws out of run().
#ifndef LEASH_LOOP_HPP
#define LEASH_LOOP_HPP

#include <leash/approval.hpp>
#include <leash/budget.hpp>
#include <leash/context.hpp>
#include <leash/error.hpp>
#include <leash/exit.hpp>
#include <leash/explain.hpp>
#include <leash/loop_result.hpp>
#include <leash/planner.hpp>
#include <leash/policy.hpp>
#include <leash/pricing.hpp>
#include <leash/progress.hpp>
#include <leash/state.hpp>
#include <leash/store/store.hpp>
#include <leash/toolset.hpp>
#include <leash/trace.hpp>

#include <boost/asio/awaitable.hpp>

#include <array>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

/// Everything about a loop that is chosen at runtime.
struct LoopOptions {
  /// Limits and settings, persisted with the run so a resume keeps them.
  LoopConfig limits;
  /// What the agent sees each iteration (excerpted to 16 KiB). None: "".
  std::function<std::string(State const&)> observe;
  /// Measures progress from the observation; decides success.
  AnyGoalMetric goal_metric;
  /// Receivers of the run's events, in addition to the store.
  std::vector<std::shared_ptr<TraceSink>> trace_sinks;
  /// Also append every event to the run's store (so runs can be explained and
  /// learned from later).
  bool trace_to_store = true;
  /// Who decides gated actions. None: every gated action is denied.
  std::shared_ptr<ApprovalRunner> approval;
  /// Summarises iterations that leave the verbatim window. None: the
  /// deterministic summary. Its calls are budgeted and counted like plans.
  AnyPlanner summarizer;
  /// Prices for USD accounting, and what to do when they are stale.
  Pricing pricing = default_pricing();
  PricingStaleness pricing_staleness = PricingStaleness::warn;
  /// The tools this agent may use, by name. Unset (the default): every tool
  /// of the ToolSet. Set: the planner is offered only those tools' schemas
  /// (in the ToolSet's order; an empty list offers none), and a call to any
  /// other tool is rejected exactly as an unknown tool is ("unknown tool 'x'",
  /// fed back to the planner, an invalid attempt like any other). A name the
  /// ToolSet lacks is a configuration error (Errc::invalid_config, from run()).
  /// Not persisted: a resume must pass the same list, as it passes the same
  /// `observe`.
  std::optional<std::vector<std::string>> enabled_tools;
  /// The agent's own instructions, added to every system message after
  /// leash's agent_instruction and before the goal, under "Agent
  /// instructions:" (see ContextManager::system_message). Empty: none. Not
  /// persisted: a resume must pass the same prompt.
  std::string system_prompt;
  /// The run's id in its store; empty: a fresh one.
  std::string run_id;
  /// Who this loop is, as learning sees it: runs are grouped, mined and
  /// routed per agent (RunInfo::agent; learn/ reads it back).
  std::string agent_name;
  /// Stored with the run as RunInfo::metadata (source, session ids, …).
  json::object run_metadata;
  /// Worker threads for blocking tools and for approvals.
  std::size_t tool_threads = 2;
  /// No announce line and no warnings on the console (events are still traced).
  bool quiet = false;
  /// Where the announce line and warnings go (nullptr: std::cerr).
  std::ostream* console = nullptr;
};

/// A decision on a pending approval, handed to resume(): the token from
/// LoopResult::approval_token and whether the action may run.
struct ApprovalAnswer {
  std::string token;
  bool approved = true;
};

/// New values for a stored run's limits (each one optional). A resumed run
/// keeps every limit it was started with unless it is named here.
struct LimitsExtension {
  std::optional<std::uint64_t> max_iterations;
  std::optional<std::uint64_t> token_limit;
  std::optional<double> wall_clock_s;
  std::optional<double> cost_limit_usd;
  std::optional<std::uint64_t> verbatim_window;
  std::optional<std::uint64_t> max_tokens_per_call;
  std::optional<double> approval_ttl_s;
};

/// How to continue a stored run.
struct ResumeOptions {
  /// The answer to a pending approval. Without one, a decision recorded in the
  /// store (`leash approve` / `leash deny`) is used; with neither, resuming a
  /// run that waits for approval is Errc::approval_required.
  std::optional<ApprovalAnswer> approval;
  LimitsExtension extend;
  /// Continue although the tools' schemas differ from the stored run's.
  bool allow_schema_change = false;
  /// Continue although stored summaries came from another summariser.
  bool allow_artifact_drift = false;
};

/// Errc::invalid_config naming every entry of `names` that `ToolSet_` lacks and
/// listing the tools it has; success when there is none. `what` says where
/// the names come from ("LoopOptions::enabled_tools", "agent config 'coder'").
template <class ToolSet_>
result<void> check_tool_names(std::vector<std::string> const& names, std::string_view what);

template <class Planner_, class ToolSet_, class PolicyList_ = DefaultPolicies,
          class ExitList_ = ExitList<>, class Store_ = AnyStore>
class Loop {
  static_assert(check_planner<Planner_>());
  static_assert(ToolSetType<ToolSet_>, "leash::Loop: the second argument must be leash::ToolSet<...>");
  static_assert(check_store<Store_>());

 public:
  using planner_type = Planner_;
  using toolset_type = ToolSet_;
  using policies_type = PolicyList_;
  using exits_type = ExitList_;
  using store_type = Store_;

  Loop(std::string goal, Planner_ planner, ToolSet_ tools = {}, PolicyList_ policies = {},
       ExitList_ exits = {}, Store_ store = {}, LoopOptions options = {});
  Loop(Loop const&) = delete;
  Loop& operator=(Loop const&) = delete;

  /// Runs until a status; blocks on an io_context of its own. Fails (as a
  /// value) only when the loop cannot start: nested in one of its own tools,
  /// a pending approval (resume instead), a configuration error, or a store
  /// that cannot create the run.
  result<LoopResult> run();

  /// The same, on the caller's executor: many loops can share one io_context.
  boost::asio::awaitable<result<LoopResult>> async_run();

  /// Continues run `run_id` of this loop's store: after a crash, a budget
  /// stop, or a pause for approval. The stored goal and limits apply (the
  /// constructor's are ignored), raised or changed by `options.extend`.
  ///
  /// In order: the schema and summary-drift checks; an action that a crash
  /// left without a result is recorded `uncertain` (or re-run, if its tool is
  /// idempotent); then a pending approval is settled — expired (PENDING_EXPIRED),
  /// no decision (Errc::approval_required), wrong token
  /// (Errc::approval_token_mismatch), tampered action
  /// (Errc::approval_action_mismatch), denied (APPROVAL_DENIED), situation
  /// changed since the request (AWAITING_APPROVAL with a new token), a ceiling
  /// reached (BUDGET_EXHAUSTED, the approval kept), else the action runs with
  /// the calls planned after it — and the loop goes on.
  result<LoopResult> resume(std::string run_id, ResumeOptions options = {});
  boost::asio::awaitable<result<LoopResult>> async_resume(std::string run_id, ResumeOptions options = {});

  /// The tool schemas the planner is offered: the ToolSet's, or those of
  /// LoopOptions::enabled_tools.
  json::array const& offered_tools() const noexcept {
    return options_.enabled_tools ? enabled_schemas_ : ToolSet_::schemas();
  }

  /// Why the loop stopped (or "RUNNING" before it did).
  ExplainReport explain() const;
  /// Estimated tokens per context section, and what was spent.
  BudgetReport budget_report() const;

  State const& state() const noexcept { return state_; }
  std::optional<LoopResult> const& last_result() const noexcept { return last_; }
  /// Set when the options cannot work (an enabled tool the ToolSet lacks,
  /// stale pricing under `refuse`, …); run() returns it.
  std::optional<Error> const& config_error() const noexcept { return config_error_; }
  std::vector<std::string> const& warnings() const noexcept { return warnings_; }

  Planner_& planner() noexcept { return planner_; }
  ToolSet_& tools() noexcept { return tools_; }
  PolicyList_& policies() noexcept { return policies_; }
  ExitList_& exits() noexcept { return exits_; }
  Store_& store() noexcept { return store_; }

 private:
  using call_type = typename ToolSet_::call_type;
  struct Planned {
    Plan plan;
    std::vector<call_type> calls;
  };
  struct PlanInvalid {};
  struct PlanError {
    std::string reason;
  };
  using PlanOutcome = std::variant<Planned, PlanInvalid, BudgetStop, PlanError>;

  boost::asio::awaitable<LoopResult> main_loop();
  /// Runs `calls[first…]` of iteration `it` (ceilings, gate, approval,
  /// journaled execution). A LoopResult when the loop ended on the way.
  boost::asio::awaitable<std::optional<LoopResult>> run_calls(IterationRecord& it, std::vector<call_type>& calls,
                                                              std::size_t first);
  /// Journals the call's start (and the previous call's result), runs it,
  /// appends its record to `it`. A LoopResult if the journal cannot be written.
  /// `more_follow`: another call of this iteration may run after it (its start
  /// write then carries this call's result); false spares keeping a copy.
  boost::asio::awaitable<std::optional<LoopResult>> execute_journaled(IterationRecord& it, call_type const& call,
                                                                      bool more_follow = true);
  /// Turns a crash's journal into a recorded iteration with `uncertain` actions.
  boost::asio::awaitable<std::optional<LoopResult>> recover_in_flight(std::vector<JournaledAction> entries);
  /// Settles a pending approval on resume; empty: go on into the main loop.
  boost::asio::awaitable<result<std::optional<LoopResult>>> settle_pending(ResumeOptions const& options);
  boost::asio::awaitable<std::optional<LoopResult>> stop_with(Status status, std::string reason,
                                                              std::optional<std::string> token = std::nullopt);
  void start_session();
  result<LoopResult> block_on(std::function<boost::asio::awaitable<result<LoopResult>>()> start);
  /// tools_.validate, but a tool LoopOptions::enabled_tools leaves out is an unknown tool.
  result<call_type> validate_call(std::string_view name, json::value const& args) const;
  static JournaledAction journal_entry(IterationRecord const& it, call_type const& call);
  boost::asio::awaitable<PlanOutcome> plan_step(std::string const& observation, IterationRecord& it);
  boost::asio::awaitable<std::optional<LoopResult>> record(IterationRecord it);
  boost::asio::awaitable<LoopResult> finish(Status status, std::string reason,
                                            std::optional<std::string> token = std::nullopt);
  /// Adds a call's usage to the metrics; its cost when known.
  std::optional<double> account_call(Usage const& usage, std::string_view model);
  double elapsed() const;
  void sync_elapsed() { state_.metrics.elapsed_s = elapsed(); }
  std::optional<BudgetStop> ceiling() const {
    return ceiling_reached(state_, state_.config, elapsed(), usd_enabled_);
  }
  std::optional<ModelPrice> price_of(std::string_view model) const;
  result<std::string> observe() noexcept;
  result<std::optional<MetricSnapshot>> measure(std::string const& observation) noexcept;
  boost::asio::awaitable<void> flush_events();
  /// The events buffered for the store, handed over; the buffer keeps its capacity.
  std::vector<SharedEvent> take_store_events();
  void announce();

  Planner_ planner_;
  ToolSet_ tools_;
  PolicyList_ policies_;
  ExitList_ exits_;
  Store_ store_;
  LoopOptions options_;
  /// Per tool of the ToolSet (declaration order): may it be called?
  std::array<bool, ToolSet_::size> tool_enabled_{};
  /// The schemas of the enabled tools (used only with LoopOptions::enabled_tools).
  json::array enabled_schemas_;
  State state_;
  ContextManager context_;
  Tracer tracer_;
  std::vector<SharedEvent> store_events_;
  bool run_created_ = false;
  bool usd_enabled_ = true;
  bool keep_pending_on_finish_ = false;
  /// The last call journaled in this iteration; its result rides with the next start.
  std::optional<JournaledAction> last_journaled_;
  std::optional<Error> config_error_;
  std::vector<std::string> warnings_;
  std::optional<LoopResult> last_;
  std::string last_observation_;
  double elapsed_base_ = 0.0;
  std::chrono::steady_clock::time_point session_start_ = std::chrono::steady_clock::now();
  // Last member: destroyed first, so tool threads are joined while tools still exist.
  detail::ToolPool pool_;
};

}  // namespace leash

#include <leash/impl/loop.hpp>

#endif
