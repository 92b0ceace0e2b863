// leash-learn — an agent that gets better from its own runs.
//
// The agent answers questions with two tools, `calculator` and `lookup`. Its
// configuration (which tools are enabled, how many turns, temperature, system
// prompt) is a TOML file per agent in a config directory. A learning cycle
// reads the recorded runs and their feedback, rewrites the configs, evaluates
// the agent on a dataset before and after, and keeps the change only when the
// score improved; otherwise it puts the old configs back.
//
//   leash-learn ask   STORE QUESTION [--agent NAME] [--configs DIR] [--model SPEC]
//   leash-learn cycle STORE --configs DIR [--agent NAME] [--dataset FILE]
//                     [--model SPEC] [--min-improvement X] [--min-quality Q] [--json]
//   leash-learn spec-search STORE --configs DIR --teacher-model SPEC --dataset FILE
//                     [--agent NAME] [--autonomy auto|tiered|manual] [--sessions N]
//                     [--sessions-dir DIR] [--min-traces N] [--max-cost USD] [--json]
//   leash-learn versions --configs DIR AGENT
//   leash-learn rollback --configs DIR AGENT VERSION
//
// With no --model the agent's planner is an offline stand-in for a model (it
// uses whatever tools the config enables, like a model given those tools), so
// the whole cycle runs without a network. --model takes any transport spec
// (openai:gpt-4o, anthropic:claude-sonnet-4-6, scripted:FILE#MODEL, …).
//
// spec-search lets a teacher model read the runs, run the agent, and propose
// edits to its config; each edit is kept only when the dataset's score says
// it helped (docs/spec-search.md). Edits that need a person wait for
// `leash review STORE` (sessions are kept in a sqlite: store).
//
// Attach feedback to recorded runs with `leash feedback STORE RUN up|down|SCORE`.
#include <leash/leash.hpp>
#include <leash/learn/apply_config.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/orchestrator.hpp>
#include <leash/learn/spec_search.hpp>
#include <leash/llm.hpp>
#include <leash/store/open.hpp>
#include <leash/sync_wait.hpp>

#include <CLI/CLI.hpp>

#include "calc_agent.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace json = boost::json;
namespace learn = leash::learn;

namespace {

using namespace calc_agent;  // the agent: example/calc_agent.hpp


struct AgentSettings {
  std::string agent = "calc";
  std::string configs;  ///< empty: every tool, defaults
  std::string model;    ///< empty: the offline planner
  bool quiet = true;
};

/// The agent for `question`, configured from its TOML file when there is one.
leash::result<std::unique_ptr<Agent>> make_agent(AgentSettings const& s, std::string const& question,
                                                 leash::AnyStore store) {
  leash::LoopOptions options;
  options.agent_name = s.agent;
  options.quiet = s.quiet;
  options.limits.max_iterations = 6;
  options.observe = observe;
  leash::LlmPlannerOptions planner_options;
  if (!s.configs.empty()) {
    auto evolver = learn::AgentConfigEvolver::open(s.configs);
    if (evolver.has_error()) return evolver.error();
    std::error_code ec;
    if (std::filesystem::exists(evolver.value().config_path(s.agent), ec)) {
      auto config = evolver.value().load(s.agent);
      if (config.has_error()) return config.error();
      auto applied = learn::apply_agent_config<Tools>(config.value(), options, planner_options);
      if (applied.has_error()) return applied.error();
    }
  }
  leash::AnyPlanner planner;
  if (s.model.empty()) {
    planner = OfflinePlanner(question);
  } else {
    auto transport = leash::llm::make_transport(s.model);
    if (transport.has_error()) return transport.error();
    planner = leash::LlmPlanner(transport.value(), planner_options);
  }
  return std::make_unique<Agent>(question, std::move(planner), Tools{}, leash::DefaultPolicies{},
                                 leash::ExitList<leash::Success<Answered>>{}, std::move(store), std::move(options));
}

int fail(int code, std::string const& message) {
  std::cerr << "leash-learn: " << message << '\n';
  return code;
}

std::optional<leash::AnyStore> open(std::string const& spec) {
  auto store = leash::open_store(spec);
  if (store.has_error()) {
    fail(3, store.error().what());
    return std::nullopt;
  }
  return std::move(store).value();
}

int ask(std::string const& spec, std::string const& question, AgentSettings const& settings) {
  auto store = open(spec);
  if (!store) return 3;
  auto agent = make_agent(settings, question, *store);
  if (agent.has_error()) return fail(2, agent.error().what());
  auto r = agent.value()->run();
  if (r.has_error()) return fail(1, r.error().what());
  std::cout << r.value().run_id << '\t' << leash::to_string(r.value().status) << '\t'
            << agent.value()->state().info.result << '\n';
  return r.value().status == leash::Status::success ? 0 : 1;
}

void print_config(learn::AgentConfig const& c) {
  std::cout << "tools [";
  for (std::size_t i = 0; i < c.tools.size(); ++i) std::cout << (i ? ", " : "") << c.tools[i];
  std::cout << "], max_turns " << c.max_turns;
}

int cycle(std::string const& spec, AgentSettings const& settings, std::string const& dataset,
          std::string const& grader, double min_improvement, double min_quality, bool as_json) {
  auto store = open(spec);
  if (!store) return 3;
  learn::OrchestratorOptions options;
  options.config_dir = settings.configs;
  options.min_improvement = min_improvement;
  options.min_quality = min_quality;
  if (!settings.agent.empty()) options.agent_id = settings.agent;

  auto print = [&](learn::CycleReport const& rep) {
    if (as_json) {
      std::cout << json::serialize(rep.to_json()) << '\n';
      return;
    }
    std::cout << "runs read: " << rep.traces_seen << "  sft pairs: " << rep.sft_pairs
              << "  query classes: " << rep.routing_classes << '\n';
    for (auto const& [cls, model] : rep.best_models) std::cout << "  best model for " << cls << ": " << model << '\n';
    if (rep.baseline_score) std::cout << "baseline score: " << *rep.baseline_score << '\n';
    for (auto const& c : rep.changes) {
      std::cout << "changed " << c.agent << ": ";
      if (c.before) {
        print_config(*c.before);
        std::cout << "  ->  ";
      } else {
        std::cout << "(new)  ";
      }
      print_config(c.after);
      std::cout << '\n';
    }
    if (rep.post_score) std::cout << "score after the change: " << *rep.post_score << '\n';
    std::cout << rep.status << (rep.reason.empty() ? "" : ": " + rep.reason) << '\n';
    if (rep.rolled_back) std::cout << "the configs are back as they were\n";
    if (!rep.cycle_run_id.empty()) std::cout << "recorded as run " << rep.cycle_run_id << '\n';
  };

  leash::result<learn::CycleReport> rep = leash::Error{leash::Errc::invalid_input};
  if (dataset.empty()) {
    learn::LearningOrchestrator<> orchestrator(*store, options);
    rep = leash::sync_wait(orchestrator.run());
  } else {
    auto samples = learn::load_dataset(dataset);
    if (samples.has_error()) return fail(2, samples.error().what());
    // Evaluation runs go to a store of their own (memory): they are not
    // history to learn from.
    auto agent = learn::loop_agent([settings](learn::EvalSample const& sample) -> std::unique_ptr<Agent> {
      auto made = make_agent(settings, sample.query, leash::AnyStore{});
      return made.has_value() ? std::move(made).value() : nullptr;
    });
    auto run_with = [&](auto grader) {
      learn::DatasetEvaluator evaluator(samples.value(), agent, std::move(grader));
      learn::LearningOrchestrator<decltype(evaluator)> orchestrator(*store, options, std::move(evaluator));
      return leash::sync_wait(orchestrator.run());
    };
    if (grader == "exact")
      rep = run_with(learn::ExactGrader{});
    else if (grader == "numeric")
      rep = run_with(learn::NumericGrader{});
    else if (grader == "reference")
      rep = run_with(learn::ReferenceGrader{});
    else
      rep = run_with(learn::ContainsGrader{});
  }
  if (rep.has_error()) return fail(3, rep.error().what());
  print(rep.value());
  return rep.value().status == "error" ? 1 : 0;
}

struct SpecSearchSettings {
  std::string teacher_model;
  std::string dataset;
  std::string autonomy = "tiered";
  std::string sessions_dir;
  std::uint64_t sessions = 1;
  std::uint64_t min_traces = 20;
  double max_cost_usd = 5.0;
  bool as_json = false;
};

void print_session(learn::spec_search::LearningSession const& s) {
  namespace ss = learn::spec_search;
  std::cout << "session " << s.id << ": " << ss::to_string(s.status);
  if (s.error) std::cout << " — " << *s.error;
  std::cout << '\n';
  if (s.benchmark_before)
    std::cout << "  score before: " << s.benchmark_before->overall_score << '\n';
  for (auto const& o : s.edit_outcomes) {
    std::cout << "  " << ss::to_string(o.status) << "  " << o.edit.id << " (" << ss::to_string(o.edit.op) << ")";
    if (o.benchmark_delta) std::cout << "  delta " << (*o.benchmark_delta >= 0 ? "+" : "") << *o.benchmark_delta;
    if (o.error) std::cout << "  — " << *o.error;
    std::cout << '\n';
  }
  if (s.benchmark_after) std::cout << "  score after: " << s.benchmark_after->overall_score << '\n';
  std::cout << "  spent: " << leash::format_usd(s.teacher_cost_usd) << '\n';
}

int spec_search(std::string const& spec, AgentSettings const& settings, SpecSearchSettings const& o) {
  namespace ss = learn::spec_search;
  auto store = open(spec);
  if (!store) return 3;
  auto autonomy = ss::autonomy_from_string(o.autonomy);
  if (!autonomy) return fail(2, "--autonomy must be auto, tiered or manual");
  auto samples = learn::load_dataset(o.dataset);
  if (samples.has_error()) return fail(2, samples.error().what());
  auto teacher = leash::llm::make_transport(o.teacher_model);
  if (teacher.has_error()) return fail(2, teacher.error().what());

  ss::SpecSearchOptions options;
  options.autonomy_mode = *autonomy;
  options.min_traces = o.min_traces;
  options.max_cost_usd = o.max_cost_usd;
  options.sessions_dir = o.sessions_dir;
  options.student_tools = ss::tool_descriptions<Tools>();
  options.agent = settings.agent;
  // Only the edits this program reads back: its agent file's tools, prompt
  // and parameters (not models.toml, routing.toml or tools.toml).
  options.allowed_ops = std::vector<ss::EditOp>{ss::EditOp::add_tool_to_agent, ss::EditOp::remove_tool_from_agent,
                                                ss::EditOp::set_agent_param, ss::EditOp::patch_system_prompt,
                                                ss::EditOp::replace_system_prompt};
  // The student reads its config file anew for every task, so an edit
  // reaches it through the file; its runs go to a memory store (they are
  // measurements, not history to learn from).
  auto student = learn::loop_agent([settings](learn::EvalSample const& sample) -> std::unique_ptr<Agent> {
    auto made = make_agent(settings, sample.query, leash::AnyStore{});
    return made.has_value() ? std::move(made).value() : nullptr;
  });
  ss::SpecSearchSession session(teacher.value(), learn::TraceStore(*store), ss::ConfigHome(settings.configs),
                                student, samples.value(), ss::DatasetScorer(samples.value(), student),
                                std::move(options));
  constexpr std::string_view sqlite_prefix = "sqlite:";
  if (spec.starts_with(sqlite_prefix)) {
    auto sessions = ss::SessionStore::open(spec.substr(sqlite_prefix.size()));
    if (sessions.has_error()) return fail(3, sessions.error().what());
    session.set_session_store(std::make_shared<ss::SessionStore>(std::move(sessions).value()));
  } else {
    std::cerr << "leash-learn: sessions are kept only in a sqlite: store; pending edits cannot be reviewed later\n";
  }

  int code = 0;
  for (std::uint64_t i = 0; i < o.sessions; ++i) {
    auto ran = leash::sync_wait(session.run_session(ss::Trigger::on_demand()));
    if (ran.has_error()) return fail(3, ran.error().what());
    auto const& s = ran.value();
    if (o.as_json)
      std::cout << json::serialize(ss::to_json(s)) << '\n';
    else
      print_session(s);
    if (s.status == ss::SessionStatus::failed) {
      code = 1;
      break;
    }
  }
  return code;
}

int versions(std::string const& configs, std::string const& agent) {
  auto evolver = learn::AgentConfigEvolver::open(configs);
  if (evolver.has_error()) return fail(3, evolver.error().what());
  auto list = evolver.value().list_versions(agent);
  if (list.has_error()) return fail(3, list.error().what());
  for (auto const& v : list.value())
    std::cout << 'v' << v.version << (v.current ? "  (current)  " : "  ") << v.path.string() << '\n';
  return 0;
}

int rollback(std::string const& configs, std::string const& agent, std::uint64_t version) {
  auto evolver = learn::AgentConfigEvolver::open(configs);
  if (evolver.has_error()) return fail(3, evolver.error().what());
  auto back = evolver.value().rollback(agent, version);
  if (back.has_error()) return fail(2, back.error().what());
  std::cout << agent << " is at v" << version << " again\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"leash-learn: learn from recorded runs; keep a change only when an evaluation says it helped",
               "leash-learn"};
  app.require_subcommand(1);
  app.footer("STORE is a store spec (sqlite:PATH, file:DIR). Exit codes: 0 done; 1 the run or cycle failed; "
             "2 bad input; 3 store or config directory unreadable.");

  std::string spec, question, dataset, configs, model;
  std::string agent_name = "calc";
  double min_improvement = 0.02, min_quality = 0.7;
  bool as_json = false;
  std::uint64_t version = 0;

  auto* ask_cmd = app.add_subcommand("ask", "Run the agent on one question and record the run");
  ask_cmd->add_option("STORE", spec, "Store spec")->required();
  ask_cmd->add_option("QUESTION", question, "The question")->required();
  auto* cycle_cmd = app.add_subcommand("cycle", "One learning cycle: mine, change configs, evaluate, keep or undo");
  cycle_cmd->add_option("STORE", spec, "Store spec")->required();
  cycle_cmd->add_option("--dataset", dataset, "JSONL of {query, expected} to evaluate on (none: accept)");
  cycle_cmd->add_option("--min-improvement", min_improvement, "Keep a change that gains at least this")
      ->capture_default_str();
  cycle_cmd->add_option("--min-quality", min_quality, "Lowest feedback a run may have to be mined")
      ->capture_default_str();
  cycle_cmd->add_flag("--json", as_json, "Print the cycle's report as JSON");
  std::string grader = "contains";
  cycle_cmd->add_option("--grader", grader, "How answers are graded against `expected`")
      ->check(CLI::IsMember({"contains", "exact", "numeric", "reference"}))
      ->capture_default_str();
  for (auto* cmd : {ask_cmd, cycle_cmd}) {
    cmd->add_option("--agent", agent_name, "Agent name")->capture_default_str();
    cmd->add_option("--model", model, "Transport spec; none: the offline planner");
  }
  ask_cmd->add_option("--configs", configs, "Config directory (none: every tool, defaults)");
  cycle_cmd->add_option("--configs", configs, "Config directory")->required();
  SpecSearchSettings search;
  auto* search_cmd = app.add_subcommand(
      "spec-search", "A teacher model proposes config edits; each is kept only when the dataset's score improves");
  search_cmd->add_option("STORE", spec, "Store spec (sqlite:PATH keeps sessions for `leash review`)")->required();
  search_cmd->add_option("--configs", configs, "Config directory the edits change")->required();
  search_cmd->add_option("--teacher-model", search.teacher_model, "Transport spec of the teacher")->required();
  search_cmd->add_option("--dataset", search.dataset, "JSONL benchmark the gate scores on")->required();
  search_cmd->add_option("--agent", agent_name, "Agent name")->capture_default_str();
  search_cmd->add_option("--autonomy", search.autonomy, "auto, tiered (review-tier edits wait) or manual")
      ->capture_default_str();
  search_cmd->add_option("--sessions", search.sessions, "Sessions to run, one after another")->capture_default_str();
  search_cmd->add_option("--sessions-dir", search.sessions_dir, "Where each session's files go (none: no files)");
  search_cmd->add_option("--min-traces", search.min_traces, "Runs the store must hold first")->capture_default_str();
  search_cmd->add_option("--max-cost", search.max_cost_usd, "USD one session may spend")->capture_default_str();
  search_cmd->add_flag("--json", search.as_json, "Print each session as JSON");
  auto* versions_cmd = app.add_subcommand("versions", "List an agent's config versions");
  auto* rollback_cmd = app.add_subcommand("rollback", "Make an earlier config version current again");
  for (auto* cmd : {versions_cmd, rollback_cmd}) {
    cmd->add_option("--configs", configs, "Config directory")->required();
    cmd->add_option("AGENT", agent_name, "Agent name")->required();
  }
  rollback_cmd->add_option("VERSION", version, "Version number (see versions)")->required();

  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  AgentSettings settings;
  settings.agent = agent_name;
  settings.configs = configs;
  settings.model = model;
  if (*ask_cmd) return ask(spec, question, settings);
  if (*cycle_cmd) return cycle(spec, settings, dataset, grader, min_improvement, min_quality, as_json);
  if (*search_cmd) return spec_search(spec, settings, search);
  if (*versions_cmd) return versions(configs, agent_name);
  if (*rollback_cmd) return rollback(configs, agent_name, version);
  return 2;
}
