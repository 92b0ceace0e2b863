// leash/learn/spec_search/impl/teacher.hpp — definitions for teacher.hpp.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_TEACHER_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_TEACHER_HPP

#include <leash/learn/agent_config.hpp>
#include <leash/learn/detail/toml_parse.hpp>
#include <leash/store/detail/file_io.hpp>
#include <leash/trace.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <utility>

namespace leash::learn::spec_search {

namespace detail {

/// The reference's caps on what one tool result may carry.
inline constexpr std::size_t query_cap = 2000;
inline constexpr std::size_t result_cap = 6000;
inline constexpr std::size_t listing_text_cap = 200;
inline constexpr std::size_t step_field_cap = 1000;
inline constexpr std::size_t max_steps_shown = 20;
inline constexpr std::uint64_t max_listed = 100;
inline constexpr std::uint64_t max_searched = 20;
inline constexpr std::uint64_t max_benchmark_listed = 50;

inline json::value feedback_json(Trace const& t) {
  return t.feedback ? json::value(*t.feedback) : json::value(nullptr);
}

inline json::object listing_of(Trace const& t) {
  json::object o;
  o["trace_id"] = t.trace_id;
  o["agent"] = t.agent;
  o["model"] = t.model;
  o["query"] = clip(t.query, listing_text_cap);
  o["outcome"] = to_string(t.outcome);
  o["feedback"] = feedback_json(t);
  o["result"] = clip(t.result, listing_text_cap);
  return o;
}

inline std::string read_text(std::filesystem::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A config file as the teacher may see it: the value of every key that
/// looks sensitive (is_sensitive_param on its last dotted part) replaced,
/// so keys and endpoints never reach the teacher, its traces or the plan.
inline std::string redacted(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    auto eq = line.find('=');
    auto first = line.find_first_not_of(" \t");
    bool keyed = eq != std::string_view::npos && first != std::string_view::npos && line[first] != '#' &&
                 line[first] != '[';
    if (keyed) {
      auto key = line.substr(first, eq - first);
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
      if (auto dot = key.rfind('.'); dot != std::string_view::npos) key.remove_prefix(dot + 1);
      if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'')) key = key.substr(1, key.size() - 2);
      if (is_sensitive_param(key)) {
        out.append(line.substr(0, eq + 1)).append(" \"[redacted]\"");
        if (end != std::string_view::npos) out += '\n';
        continue;
      }
    }
    out.append(line);
    if (end != std::string_view::npos) out += '\n';
  }
  return out;
}

}  // namespace detail

inline boost::asio::awaitable<result<json::value>> ListTracesTool::operator()(args const& a) const {
  TraceFilter f;
  f.limit = std::min<std::uint64_t>(a.limit.value_or(20), detail::max_listed);
  f.with_steps = false;
  if (a.agent) f.agent = *a.agent;
  if (a.outcome) {
    auto o = outcome_from_string(*a.outcome);
    if (!o) co_return Error{Errc::invalid_arguments, "outcome must be success, failure or unknown, not '" + *a.outcome + "'"};
    f.outcome = *o;
  }
  auto listed = co_await context->traces.list(f);
  if (!listed) co_return listed.error();
  json::array out;
  for (auto const& t : listed.value()) out.emplace_back(detail::listing_of(t));
  co_return json::value(std::move(out));
}

inline boost::asio::awaitable<result<json::value>> GetTraceTool::operator()(args const& a) const {
  auto got = co_await context->traces.get(a.trace_id);
  if (!got) co_return got.error();
  auto const& t = got.value();
  json::object o = detail::listing_of(t);
  o["query"] = detail::clip(t.query, detail::query_cap);
  o["result"] = detail::clip(t.result, detail::result_cap);
  o["status"] = t.status ? json::value(to_string(*t.status)) : json::value(nullptr);
  o["total_tokens"] = t.total_tokens();
  o["latency_seconds"] = t.total_latency_s;
  json::array steps;
  for (std::size_t i = 0; i < t.steps.size() && i < detail::max_steps_shown; ++i) {
    auto const& s = t.steps[i];
    json::object step;
    step["type"] = to_string(s.type);
    step["input"] = detail::clip(json::serialize(s.input), detail::step_field_cap);
    step["output"] = detail::clip(json::serialize(s.output), detail::step_field_cap);
    step["duration_seconds"] = s.duration_s;
    steps.emplace_back(std::move(step));
  }
  o["steps"] = std::move(steps);
  if (t.steps.size() > detail::max_steps_shown) o["steps_not_shown"] = t.steps.size() - detail::max_steps_shown;
  co_return json::value(std::move(o));
}

inline boost::asio::awaitable<result<json::value>> SearchTracesTool::operator()(args const& a) const {
  auto limit = std::min<std::uint64_t>(a.limit.value_or(detail::max_searched), detail::max_searched);
  auto found = co_await context->traces.search(a.query, limit);
  if (!found) co_return found.error();
  json::array out;
  for (auto const& t : found.value()) out.emplace_back(detail::listing_of(t));
  co_return json::value(std::move(out));
}

inline result<json::value> GetCurrentConfigTool::operator()(args const&) const {
  json::object files;
  std::error_code ec;
  std::vector<std::filesystem::path> paths;
  for (auto const& entry : std::filesystem::directory_iterator(context->home.root(), ec))
    if (entry.is_regular_file() && entry.path().extension() == ".toml") paths.push_back(entry.path());
  if (ec) return Error{Errc::store_failed, "cannot list " + context->home.root().string() + ": " + ec.message()};
  std::sort(paths.begin(), paths.end());
  for (auto const& p : paths)
    files[p.filename().string()] = detail::clip(detail::redacted(detail::read_text(p)), detail::result_cap);
  return json::value(std::move(files));
}

inline result<std::string> GetAgentPromptTool::operator()(args const& a) const {
  if (!is_safe_agent_name(a.agent)) return Error{Errc::invalid_arguments, "'" + a.agent + "' is not an agent name"};
  auto config = parse_agent_config_file(context->home.agent_file(a.agent));
  if (!config) return config.error();
  return config.value().system_prompt;
}

inline result<std::string> GetToolDescriptionTool::operator()(args const& a) const {
  // An override in tools.toml (what an edit_tool_description wrote) wins over
  // the description compiled into the tool.
  auto file = context->home.tools_file();
  if (std::filesystem::exists(file)) {
    toml::table table;
    if (auto bad = learn::detail::parse_toml(detail::read_text(file), file.string(), table))
      return Error{Errc::invalid_config, file.string() + ": " + *bad};
    if (auto d = table["tools"][a.tool_name]["description"].value<std::string>()) return *d;
  }
  auto it = context->student_tools.find(a.tool_name);
  if (it == context->student_tools.end())
    return Error{Errc::invalid_arguments, "the student has no tool '" + a.tool_name + "'"};
  return it->second;
}

inline json::value ListAvailableToolsTool::operator()(args const&) const {
  json::array out;
  for (auto const& [name, text] : context->student_tools) out.emplace_back(json::object{{"name", name}, {"description", text}});
  return out;
}

inline json::value ListPersonalBenchmarkTool::operator()(args const& a) const {
  auto limit = std::min<std::uint64_t>(a.limit.value_or(detail::max_benchmark_listed), detail::max_benchmark_listed);
  json::array out;
  for (auto const& s : context->benchmark) {
    if (out.size() >= limit) break;
    json::object o;
    o["id"] = s.id;
    o["query"] = detail::clip(s.query, detail::query_cap);
    o["expected"] = detail::clip(s.expected, detail::query_cap);
    if (auto const* c = s.metadata.if_contains("category")) o["category"] = *c;
    out.emplace_back(std::move(o));
  }
  return out;
}

inline boost::asio::awaitable<result<json::value>> RunStudentOnTaskTool::operator()(args const& a) const {
  if (!context->run_student) co_return Error{Errc::tool_failed, "the student cannot be run in this session"};
  EvalSample sample;
  sample.id = "teacher-task-" + std::to_string(context->student_runs + 1);
  sample.query = a.query;
  sample.expected = a.expected.value_or("");
  auto answered = co_await context->run_student(sample);
  ++context->student_runs;
  if (!answered) co_return answered.error();
  auto const& ans = answered.value();
  context->student_tokens += ans.tokens;
  if (ans.cost_usd && std::isfinite(*ans.cost_usd) && *ans.cost_usd > 0) context->student_cost_usd += *ans.cost_usd;
  json::object o;
  o["answer"] = detail::clip(ans.text, detail::result_cap);
  if (a.expected) o["expected"] = *a.expected;
  o["status"] = ans.status ? json::value(to_string(*ans.status)) : json::value(nullptr);
  o["run_id"] = ans.run_id;
  o["tokens"] = ans.tokens;
  co_return json::value(std::move(o));
}

inline TeacherTools make_teacher_tools(std::shared_ptr<TeacherContext> const& c) {
  return TeacherTools(ListTracesTool{{c}}, GetTraceTool{{c}}, SearchTracesTool{{c}}, GetCurrentConfigTool{{c}},
                      GetAgentPromptTool{{c}}, GetToolDescriptionTool{{c}}, ListAvailableToolsTool{{c}},
                      ListPersonalBenchmarkTool{{c}}, RunStudentOnTaskTool{{c}});
}

inline bool TeacherAnswered::operator()(State const& s) const {
  return !s.iterations.empty() && s.iterations.back().actions.empty() && !s.iterations.back().plan_text.empty();
}

inline Decision TeacherSpending::before_iteration(State const& s) const {
  double spent = s.metrics.cost_usd.value_or(0.0) + context->student_cost_usd;
  if (spent >= context->max_cost_usd)
    return Decision::stop("the teacher and the student runs it asked for spent " + format_usd(spent) + " of " +
                              format_usd(context->max_cost_usd),
                          Status::budget_exhausted);
  return Decision::proceed();
}

inline Decision TeacherSpending::before_action(State const& s, ActionView const&) const {
  return before_iteration(s);
}

inline boost::asio::awaitable<result<TeacherRun>> run_teacher(std::shared_ptr<TeacherContext> context,
                                                              llm::AnyTransport transport, std::string goal,
                                                              std::string instructions, TeacherOptions options) {
  if (!context) co_return Error{Errc::invalid_config, "run_teacher: no TeacherContext"};
  if (options.max_turns == 0) co_return Error{Errc::invalid_config, "the teacher needs at least one turn (max_turns)"};
  if (options.max_tokens == 0)
    co_return Error{Errc::invalid_config, "the teacher needs at least one output token a call (max_tokens)"};
  if (!(options.max_cost_usd > 0))
    co_return Error{Errc::invalid_config, "the teacher's cost limit must be > 0 (max_cost_usd)"};

  LoopOptions lo;
  lo.limits.max_iterations = options.max_turns;
  lo.limits.max_tokens_per_call = options.max_tokens;
  if (std::isfinite(options.max_cost_usd)) lo.limits.cost_limit_usd = options.max_cost_usd;
  lo.system_prompt = std::move(instructions);
  lo.agent_name = std::string(learning_agent);
  lo.run_metadata = std::move(options.run_metadata);
  lo.run_metadata["role"] = "teacher";
  lo.pricing = std::move(options.pricing);
  lo.quiet = options.quiet;
  if (!options.trace_file.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.trace_file.parent_path(), ec);
    auto sink = JsonlFileSink::open(options.trace_file.string());
    if (!sink) co_return sink.error();
    lo.trace_sinks.push_back(std::move(sink).value());
  }
  LlmPlannerOptions po;
  po.temperature = options.temperature;
  AnyPlanner planner{LlmPlanner(std::move(transport), po)};
  auto tools = make_teacher_tools(context);
  context->max_cost_usd = options.max_cost_usd;
  auto loop = std::make_unique<TeacherLoop>(std::move(goal), std::move(planner), std::move(tools),
                                            TeacherPolicies(NoProgress<3>{}, TeacherSpending{context}),
                                            ExitList<Success<TeacherAnswered>>{},
                                            std::move(options.store), std::move(lo));
  auto ran = co_await loop->async_run();
  if (!ran) co_return ran.error();
  auto const& r = ran.value();
  TeacherRun out;
  out.text = loop->state().info.result;
  out.status = r.status;
  out.reason = r.reason;
  out.cost_usd = r.metrics.cost_usd.value_or(0.0);
  out.tokens = r.metrics.total_tokens();
  out.iterations = r.iterations;
  for (auto const& it : loop->state().iterations) out.tool_calls += it.actions.size();
  out.run_id = r.run_id;
  co_return out;
}

}  // namespace leash::learn::spec_search

#endif
