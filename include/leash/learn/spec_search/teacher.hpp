// leash/learn/spec_search/teacher.hpp — the teacher: a leash Loop whose tools
// read the student's traces, configuration and benchmark, and run the student
// on a task, so a strong model can find out why the student fails.
//
//   auto context = std::make_shared<ss::TeacherContext>(traces, home);
//   context->benchmark = personal_samples;                 // vector<EvalSample>
//   context->student_tools = {{"calculator", "Evaluate …"}, {"lookup", "…"}};
//   context->run_student = [&](EvalSample const& s) { return student(s); };
//   ss::TeacherOptions options;                            // 30 turns, $5, 8192 tokens a call
//   auto run = co_await ss::run_teacher(context, transport, goal, instructions, options);
//   // run.value().text: the teacher's final answer (the diagnosis)
//
// The tools are types (the loop's ToolSet is fixed at compile time, as for any
// leash agent); they share one TeacherContext. Every result is JSON and cut to
// the reference's sizes, so one long trace cannot flood the teacher's context.
//
// Reference: OpenJarvis TeacherAgent and its diagnostic tools
// (reference/openjarvis-learning.md §2.14). Kept: the tool names, their caps
// (20 traces a search, a trace's query 2,000 and result 6,000 characters, 20
// steps), 30 turns, $5, 8,192 tokens a call; no tool calls → the reply is
// the answer. Changed: the loop is leash's own, so the budget is checked
// before every call and the teacher's run is recorded and explainable like
// any other; a student run the teacher asks for is charged to the session
// (the reference logged tool costs as 0, §4 item 3); `run_self_on_task` and
// `compare_outputs` are left out (the teacher reasons in its own turns).
#ifndef LEASH_LEARN_SPEC_SEARCH_TEACHER_HPP
#define LEASH_LEARN_SPEC_SEARCH_TEACHER_HPP

#include <leash/error.hpp>
#include <leash/exit.hpp>
#include <leash/json.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/spec_search/applier.hpp>
#include <leash/learn/trace.hpp>
#include <leash/learn/trace_store.hpp>
#include <leash/llm/llm_planner.hpp>
#include <leash/llm/transport.hpp>
#include <leash/loop.hpp>
#include <leash/pricing.hpp>
#include <leash/schema.hpp>
#include <leash/store/store.hpp>
#include <leash/toolset.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/describe/class.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::spec_search {

/// What the teacher's tools read and run. Shared by the tools of one run.
struct TeacherContext {
  TeacherContext(TraceStore traces_, ConfigHome home_) : traces(std::move(traces_)), home(std::move(home_)) {}

  TraceStore traces;
  ConfigHome home;
  /// The personal benchmark (list_personal_benchmark).
  std::vector<EvalSample> benchmark;
  /// The student's tools, name → description: what list_available_tools
  /// shows and what get_tool_description falls back to.
  std::map<std::string, std::string> student_tools;
  /// Runs the student once on a task; empty: run_student_on_task says it cannot.
  std::function<boost::asio::awaitable<result<Answer>>(EvalSample const&)> run_student;
  /// What the student's runs cost so far (added by run_student_on_task).
  double student_cost_usd = 0.0;
  /// The ceiling of the teacher's calls and the student runs together, USD
  /// (run_teacher sets it from TeacherOptions::max_cost_usd).
  double max_cost_usd = std::numeric_limits<double>::infinity();
  std::uint64_t student_tokens = 0;
  std::uint64_t student_runs = 0;
};

// ---- the diagnostic tools -----------------------------------------------------

struct ListTracesArgs {
  std::optional<std::uint64_t> limit;
  std::optional<std::string> agent;
  std::optional<std::string> outcome;
  static constexpr std::array field_docs{
      FieldDoc{"limit", "how many traces, newest first (default 20, at most 100)"},
      FieldDoc{"agent", "only this agent's traces"},
      FieldDoc{"outcome", "only traces with this outcome: success, failure or unknown"},
  };
};
BOOST_DESCRIBE_STRUCT(ListTracesArgs, (), (limit, agent, outcome))

struct TraceIdArgs {
  std::string trace_id;
};
BOOST_DESCRIBE_STRUCT(TraceIdArgs, (), (trace_id))

struct SearchTracesArgs {
  std::string query;
  std::optional<std::uint64_t> limit;
  static constexpr std::array field_docs{
      FieldDoc{"query", "words that must start words of a trace's query, result or agent"},
      FieldDoc{"limit", "at most this many (default and maximum 20)"},
  };
};
BOOST_DESCRIBE_STRUCT(SearchTracesArgs, (), (query, limit))

struct NoTeacherArgs {};
BOOST_DESCRIBE_STRUCT(NoTeacherArgs, (), ())

struct AgentArgs {
  std::string agent;
};
BOOST_DESCRIBE_STRUCT(AgentArgs, (), (agent))

struct ToolNameArgs {
  std::string tool_name;
};
BOOST_DESCRIBE_STRUCT(ToolNameArgs, (), (tool_name))

struct LimitArgs {
  std::optional<std::uint64_t> limit;
};
BOOST_DESCRIBE_STRUCT(LimitArgs, (), (limit))

struct StudentTaskArgs {
  std::string query;
  std::optional<std::string> expected;
  static constexpr std::array field_docs{
      FieldDoc{"query", "the task, exactly as a user would ask it"},
      FieldDoc{"expected", "the right answer, when you know it (shown beside the student's)"},
  };
};
BOOST_DESCRIBE_STRUCT(StudentTaskArgs, (), (query, expected))

/// The base of every teacher tool: the shared context.
struct TeacherTool {
  std::shared_ptr<TeacherContext> context;
};

struct ListTracesTool : TeacherTool {
  static constexpr std::string_view name = "list_traces";
  static constexpr std::string_view description =
      "List the student's recent runs, newest first: id, agent, model, query, outcome, feedback, result.";
  static constexpr bool idempotent = true;
  using args = ListTracesArgs;
  boost::asio::awaitable<result<json::value>> operator()(args const& a) const;
};

struct GetTraceTool : TeacherTool {
  static constexpr std::string_view name = "get_trace";
  static constexpr std::string_view description =
      "One run in full: query, result, outcome, feedback and its steps (tool calls with inputs and outputs).";
  static constexpr bool idempotent = true;
  using args = TraceIdArgs;
  boost::asio::awaitable<result<json::value>> operator()(args const& a) const;
};

struct SearchTracesTool : TeacherTool {
  static constexpr std::string_view name = "search_traces";
  static constexpr std::string_view description = "Full-text search over the runs' queries, results and agents.";
  static constexpr bool idempotent = true;
  using args = SearchTracesArgs;
  boost::asio::awaitable<result<json::value>> operator()(args const& a) const;
};

struct GetCurrentConfigTool : TeacherTool {
  static constexpr std::string_view name = "get_current_config";
  static constexpr std::string_view description =
      "The student's configuration files as they are now (agents, models, routing, tool descriptions).";
  static constexpr bool idempotent = true;
  static constexpr bool non_blocking = true;
  using args = NoTeacherArgs;
  result<json::value> operator()(args const& a) const;
};

struct GetAgentPromptTool : TeacherTool {
  static constexpr std::string_view name = "get_agent_prompt";
  static constexpr std::string_view description = "An agent's current system prompt.";
  static constexpr bool idempotent = true;
  static constexpr bool non_blocking = true;
  using args = AgentArgs;
  result<std::string> operator()(args const& a) const;
};

struct GetToolDescriptionTool : TeacherTool {
  static constexpr std::string_view name = "get_tool_description";
  static constexpr std::string_view description = "The description the student's model reads for one tool.";
  static constexpr bool idempotent = true;
  static constexpr bool non_blocking = true;
  using args = ToolNameArgs;
  result<std::string> operator()(args const& a) const;
};

struct ListAvailableToolsTool : TeacherTool {
  static constexpr std::string_view name = "list_available_tools";
  static constexpr std::string_view description =
      "Every tool the student's program has (an agent may enable only some of them), with descriptions.";
  static constexpr bool idempotent = true;
  static constexpr bool non_blocking = true;
  using args = NoTeacherArgs;
  json::value operator()(args const& a) const;
};

struct ListPersonalBenchmarkTool : TeacherTool {
  static constexpr std::string_view name = "list_personal_benchmark";
  static constexpr std::string_view description =
      "The tasks edits are judged on: id, query, expected answer, category (default 50).";
  static constexpr bool idempotent = true;
  static constexpr bool non_blocking = true;
  using args = LimitArgs;
  json::value operator()(args const& a) const;
};

struct RunStudentOnTaskTool : TeacherTool {
  static constexpr std::string_view name = "run_student_on_task";
  static constexpr std::string_view description =
      "Run the student agent, as configured now, on one task and see its answer (this costs a run).";
  using args = StudentTaskArgs;
  boost::asio::awaitable<result<json::value>> operator()(args const& a) const;
};

using TeacherTools = ToolSet<ListTracesTool, GetTraceTool, SearchTracesTool, GetCurrentConfigTool, GetAgentPromptTool,
                             GetToolDescriptionTool, ListAvailableToolsTool, ListPersonalBenchmarkTool,
                             RunStudentOnTaskTool>;

/// The tool set over one context.
TeacherTools make_teacher_tools(std::shared_ptr<TeacherContext> const& context);

// ---- running the teacher ----------------------------------------------------------

/// The loop ends when the teacher answers in words without calling a tool.
struct TeacherAnswered {
  bool operator()(State const& s) const;
};

/// Stops the teacher (BUDGET_EXHAUSTED) before an iteration or a tool call
/// once its own calls and the student runs it asked for together reach the
/// context's max_cost_usd: the loop's cost limit sees only the teacher's calls.
struct TeacherSpending {
  static constexpr std::string_view name = "teacher_spending";
  std::shared_ptr<TeacherContext> context;
  Decision before_iteration(State const& s) const;
  Decision before_action(State const& s, ActionView const& a) const;
};

using TeacherPolicies = PolicyList<NoProgress<3>, TeacherSpending>;
using TeacherLoop = Loop<AnyPlanner, TeacherTools, TeacherPolicies, ExitList<Success<TeacherAnswered>>, AnyStore>;

/// How the teacher runs.
struct TeacherOptions {
  std::uint64_t max_turns = 30;        ///< iterations of the teacher's loop (the reference's max_turns)
  double max_cost_usd = 5.0;           ///< USD ceiling of the run (the loop's cost limit)
  std::uint64_t max_tokens = 8192;     ///< per call
  std::optional<double> temperature;
  Pricing pricing = default_pricing();
  /// Where the teacher's run is recorded (agent `leash.learn`, metadata
  /// role = teacher); empty: in memory only.
  AnyStore store;
  /// Also appended here as JSON lines (the reference's teacher_traces/*.jsonl); empty: not.
  std::filesystem::path trace_file;
  json::object run_metadata;           ///< e.g. the session id
  bool quiet = true;
};

/// What the teacher's run gave.
struct TeacherRun {
  std::string text;           ///< the final answer (what the teacher last said)
  Status status = Status::error;
  std::string reason;
  double cost_usd = 0.0;      ///< the teacher's own calls (0 when the model has no price)
  std::uint64_t tokens = 0;
  std::uint64_t iterations = 0;
  std::uint64_t tool_calls = 0;
  std::string run_id;
};

/// Runs the teacher on `goal` with `instructions` as its system prompt.
/// Errc::invalid_config for options that cannot work (0 turns, 0 tokens a
/// call, a cost limit that is not > 0); a loop that cannot start is its
/// error. A run that ends in any status is a TeacherRun (the caller decides
/// what an empty answer means).
boost::asio::awaitable<result<TeacherRun>> run_teacher(std::shared_ptr<TeacherContext> context,
                                                       llm::AnyTransport transport, std::string goal,
                                                       std::string instructions, TeacherOptions options = {});

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/teacher.hpp>

#endif
