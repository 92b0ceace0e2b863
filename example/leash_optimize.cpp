// leash-optimize — config optimisation of an agent, and the runs it leaves in
// a store.
//
//   leash-optimize list   DB [--limit N]
//   leash-optimize show   DB RUN [--json]
//   leash-optimize export DB RUN FILE
//   leash-optimize run    DB --optimizer-model SPEC --config OPTIMIZE_TOML --dataset JSONL
//                         [--max-trials N] [--patience N] [--seed N]
//
// DB is the path of an OptimizationStore SQLite file (it may be the leash run
// store's file: the optimisation tables are kept apart). `run` lets a model
// (any transport spec; scripted:FILE replays replies offline) propose
// configurations of the example calculator agent — the one of leash-learn,
// with an offline planner — from the `[optimize]` search space of the config
// file; each trial evaluates the agent on the dataset with its tools
// (`tools.tool_set`) and turns (`agent.max_turns`) set as proposed, and is
// saved as soon as it is measured.
//
//   leash-optimize run runs.db --optimizer-model scripted:example/optimize/optimizer.jsonl
//       --config example/optimize/optimize.toml --dataset example/learn/eval.jsonl --max-trials 3
//   leash-optimize show runs.db RUN
//   leash-optimize export runs.db RUN recipes/best.toml
#include <leash/leash.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/optimize/engine.hpp>
#include <leash/learn/optimize/llm_optimizer.hpp>
#include <leash/learn/optimize/pareto.hpp>
#include <leash/learn/optimize/recipe.hpp>
#include <leash/learn/optimize/search_space.hpp>
#include <leash/learn/optimize/store.hpp>
#include <leash/learn/optimize/types.hpp>
#include <leash/llm.hpp>
#include <leash/sync_wait.hpp>

#include <CLI/CLI.hpp>

#include "calc_agent.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace json = boost::json;
namespace learn = leash::learn;
namespace opt = leash::learn::optimize;

namespace {

using namespace calc_agent;  // the agent of leash-learn: example/calc_agent.hpp


/// What a trial may change of the agent.
struct AgentKnobs {
  std::optional<std::vector<std::string>> tools;  ///< empty optional: every tool
  std::uint64_t max_turns = 6;
};

/// The knobs a trial's params set: `tools.tool_set` (an array of tool names)
/// and `agent.max_turns` (a whole number ≥ 1). Other params are not used by
/// this agent. Errc::invalid_input for a value of the wrong type.
leash::result<AgentKnobs> knobs_from(json::object const& params) {
  AgentKnobs k;
  if (auto const* v = params.if_contains("tools.tool_set")) {
    if (!v->is_array()) return leash::Error{leash::Errc::invalid_input, "tools.tool_set is not an array"};
    std::vector<std::string> names;
    for (auto const& t : v->as_array()) {
      if (!t.is_string()) return leash::Error{leash::Errc::invalid_input, "tools.tool_set holds a non-string"};
      names.emplace_back(t.as_string());
    }
    k.tools = std::move(names);
  }
  if (auto const* v = params.if_contains("agent.max_turns")) {
    std::int64_t n = 0;
    if (v->is_int64()) n = v->get_int64();
    else if (v->is_uint64()) n = static_cast<std::int64_t>(v->get_uint64());
    else if (v->is_double() && std::floor(v->get_double()) == v->get_double()) n = static_cast<std::int64_t>(v->get_double());
    else return leash::Error{leash::Errc::invalid_input, "agent.max_turns is not a whole number"};
    if (n < 1) return leash::Error{leash::Errc::invalid_input, "agent.max_turns is below 1"};
    k.max_turns = static_cast<std::uint64_t>(n);
  }
  return k;
}

std::unique_ptr<Agent> make_agent(AgentKnobs const& k, std::string const& question) {
  leash::LoopOptions options;
  options.agent_name = "calc";
  options.quiet = true;
  options.limits.max_iterations = k.max_turns;
  if (k.tools) options.enabled_tools = *k.tools;
  options.observe = observe;
  return std::make_unique<Agent>(question, leash::AnyPlanner(OfflinePlanner(question)), Tools{},
                                 leash::DefaultPolicies{}, leash::ExitList<leash::Success<Answered>>{},
                                 leash::AnyStore{}, std::move(options));
}

std::string params_text(json::object const& params) { return json::serialize(params); }

/// A TrialRunner: the example agent with the trial's knobs, evaluated on the dataset.
struct CalcRunner {
  std::shared_ptr<std::vector<learn::EvalSample> const> dataset;
  std::size_t max_samples = 0;
  std::size_t max_trials = 0;
  std::size_t trials_run = 0;

  boost::asio::awaitable<leash::result<opt::TrialResult>> run_trial(opt::TrialConfig const& config) {
    ++trials_run;
    opt::TrialResult r;
    r.trial_id = config.trial_id;
    r.config = config;
    auto knobs = knobs_from(config.params);
    if (knobs.has_error()) {
      r.failed = true;
      r.error = knobs.error().what();
      print(r);
      co_return r;
    }
    AgentKnobs k = knobs.value();
    auto agent = learn::loop_agent([k](learn::EvalSample const& sample) { return make_agent(k, sample.query); });
    learn::EvaluatorOptions eo;
    eo.max_samples = max_samples;
    learn::DatasetEvaluator evaluator(*dataset, std::move(agent), learn::ContainsGrader{}, eo);
    auto report = co_await evaluator.evaluate();
    if (report.has_error()) {
      r.failed = true;
      r.error = report.error().what();
      print(r);
      co_return r;
    }
    auto const& rep = report.value();
    r.accuracy = rep.accuracy;
    r.mean_latency_seconds = rep.mean_latency_s;
    r.total_cost_usd = rep.total_cost_usd.value_or(0.0);
    r.total_tokens = rep.total_tokens;
    r.samples_evaluated = rep.samples;
    for (auto const& s : rep.per_sample)
      if (!s.correct)
        r.failure_modes.push_back(s.id + ": " + (s.error.empty() ? "answered \"" + s.answer + "\"" : s.error));
    print(r);
    co_return r;
  }

  void print(opt::TrialResult const& r) const {
    std::cout << "trial " << trials_run << '/' << max_trials << "  " << r.trial_id << "  " << params_text(r.config.params);
    if (r.failed) {
      std::cout << "  failed: " << r.error << '\n';
    } else {
      char buf[128];
      std::snprintf(buf, sizeof buf, "  accuracy %.4f  latency %.4fs  tokens %llu", r.accuracy,
                    r.mean_latency_seconds, static_cast<unsigned long long>(r.total_tokens));
      std::cout << buf << '\n';
    }
    std::cout.flush();
  }
};

// ---- The commands -------------------------------------------------------------

int fail(int code, std::string const& message) {
  std::cerr << "leash-optimize: " << message << '\n';
  return code;
}

std::string time_text(double seconds) {
  if (!(seconds > 0)) return "-";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string fixed4(double v) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

/// Opens an existing store file (never creates one): exit 3 when it is missing or unreadable.
std::optional<opt::OptimizationStore> open_existing(std::string const& path, int& code) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    code = fail(3, "no store file " + path);
    return std::nullopt;
  }
  auto store = opt::OptimizationStore::open(path);
  if (store.has_error()) {
    code = fail(3, std::string("cannot open ") + path + ": " + store.error().what());
    return std::nullopt;
  }
  return std::move(store).value();
}

/// The run `id` of the store; exit 2 when there is none, 3 when it cannot be read.
std::optional<opt::StoredRun> load_run(opt::OptimizationStore& store, std::string const& id, int& code) {
  auto run = store.get_run(id);
  if (run.has_error()) {
    code = fail(3, run.error().what());
    return std::nullopt;
  }
  if (!run.value()) {
    code = fail(2, "no optimisation run " + id + " in " + store.path().string() + " (see `leash-optimize list`)");
    return std::nullopt;
  }
  return std::move(*run.value());
}

int list(std::string const& db, std::size_t limit) {
  int code = 0;
  auto store = open_existing(db, code);
  if (!store) return code;
  auto runs = store->list_runs(limit);
  if (runs.has_error()) return fail(3, runs.error().what());
  if (runs.value().empty()) {
    std::cout << "no optimisation runs in " << db << '\n';
    return 0;
  }
  std::printf("%-16s  %-9s  %6s  %-12s  %8s  %s\n", "RUN", "STATUS", "TRIALS", "BEST", "ACCURACY", "CREATED");
  for (auto const& s : runs.value()) {
    std::string accuracy = "-";
    if (s.best_trial_id) {
      auto run = store->get_run(s.run_id);
      if (run.has_value() && run.value())
        if (auto const* best = run.value()->best()) accuracy = fixed4(best->result.accuracy);
    }
    std::printf("%-16s  %-9s  %6llu  %-12s  %8s  %s\n", s.run_id.c_str(), s.status.c_str(),
                static_cast<unsigned long long>(s.trials), s.best_trial_id.value_or("-").c_str(), accuracy.c_str(),
                time_text(s.created_at).c_str());
  }
  std::fflush(stdout);
  return 0;
}

bool in(std::vector<std::string> const& ids, std::string const& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

json::object show_json(opt::StoredRun const& run) {
  json::object o;
  o["run_id"] = run.run_id;
  o["status"] = run.status;
  o["reason"] = run.reason;
  o["optimizer_model"] = run.optimizer_model;
  o["benchmark"] = run.benchmark;
  o["created_at"] = run.created_at;
  o["updated_at"] = run.updated_at;
  o["best_trial_id"] = run.best_trial_id ? json::value(*run.best_trial_id) : json::value(nullptr);
  json::array frontier;
  for (auto const& id : run.frontier_ids) frontier.emplace_back(id);
  o["frontier"] = std::move(frontier);
  o["recipe_path"] = run.recipe_path ? json::value(*run.recipe_path) : json::value(nullptr);
  json::array trials;
  for (auto const& t : run.trials) {
    auto const& r = t.result;
    json::object j;
    j["trial_id"] = r.trial_id;
    j["params"] = r.config.params;
    j["reasoning"] = r.config.reasoning;
    j["proposal_kind"] = t.proposal_kind;
    j["accuracy"] = r.accuracy;
    j["mean_latency_seconds"] = r.mean_latency_seconds;
    j["total_cost_usd"] = r.total_cost_usd;
    j["total_tokens"] = r.total_tokens;
    j["samples_evaluated"] = r.samples_evaluated;
    j["failed"] = r.failed;
    j["error"] = r.error;
    j["analysis"] = r.analysis;
    json::array modes;
    for (auto const& m : r.failure_modes) modes.emplace_back(m);
    j["failure_modes"] = std::move(modes);
    j["metrics"] = r.metrics;
    j["frontier"] = in(run.frontier_ids, r.trial_id);
    j["best"] = run.best_trial_id && *run.best_trial_id == r.trial_id;
    trials.push_back(std::move(j));
  }
  o["trials"] = std::move(trials);
  if (auto const* best = run.best()) {
    json::object b;
    b["trial_id"] = best->result.trial_id;
    b["accuracy"] = best->result.accuracy;
    b["params"] = best->result.config.params;
    o["best"] = std::move(b);
  } else {
    o["best"] = nullptr;
  }
  return o;
}

int show(std::string const& db, std::string const& id, bool as_json) {
  int code = 0;
  auto store = open_existing(db, code);
  if (!store) return code;
  auto run = load_run(*store, id, code);
  if (!run) return code;
  if (as_json) {
    std::cout << json::serialize(show_json(*run)) << '\n';
    return 0;
  }
  std::cout << "run " << run->run_id << "  " << run->status << (run->reason.empty() ? "" : " (" + run->reason + ")")
            << "  optimizer " << (run->optimizer_model.empty() ? "-" : run->optimizer_model) << "  benchmark "
            << (run->benchmark.empty() ? "-" : run->benchmark) << "  created " << time_text(run->created_at) << '\n';
  std::printf("%-1s %-12s  %8s  %10s  %10s  %s\n", "F", "TRIAL", "ACCURACY", "LATENCY_S", "COST_USD", "STATUS");
  for (auto const& t : run->trials) {
    auto const& r = t.result;
    bool best = run->best_trial_id && *run->best_trial_id == r.trial_id;
    std::string status = r.failed ? "failed: " + r.error : "ok";
    if (best) status += "  best";
    std::printf("%-1s %-12s  %8s  %10s  %10s  %s\n", in(run->frontier_ids, r.trial_id) ? "*" : " ",
                r.trial_id.c_str(), r.failed ? "-" : fixed4(r.accuracy).c_str(),
                r.failed ? "-" : fixed4(r.mean_latency_seconds).c_str(),
                r.failed ? "-" : fixed4(r.total_cost_usd).c_str(), status.c_str());
  }
  std::fflush(stdout);
  if (auto const* best = run->best()) {
    std::cout << "best " << best->result.trial_id << " (accuracy " << fixed4(best->result.accuracy) << "):\n";
    for (auto const& [key, value] : best->result.config.params)
      std::cout << "  " << std::string_view(key) << " = " << json::serialize(value) << '\n';
  } else {
    std::cout << "no best trial\n";
  }
  return 0;
}

int export_best(std::string const& db, std::string const& id, std::string const& file) {
  int code = 0;
  auto store = open_existing(db, code);
  if (!store) return code;
  auto run = load_run(*store, id, code);
  if (!run) return code;
  auto const* best = run->best();
  if (!best || best->result.failed) return fail(1, "run " + id + " has no successful best trial to export");
  if (auto ok = opt::export_recipe(file, best->result); ok.has_error()) return fail(3, ok.error().what());
  if (auto ok = store->set_recipe_path(id, file); ok.has_error())
    std::cerr << "leash-optimize: warning: " << ok.error().what() << '\n';
  std::cout << "wrote " << file << " (trial " << best->result.trial_id << ")\n";
  return 0;
}

struct RunSettings {
  std::string optimizer_model, config, dataset;
  std::size_t max_trials = 5, patience = 3;
  std::optional<std::uint64_t> seed;
};

int run(std::string const& db, RunSettings const& s) {
  auto config = opt::load_optimize_config(s.config);
  if (config.has_error()) return fail(2, config.error().what());
  auto samples = learn::load_dataset(s.dataset);
  if (samples.has_error()) return fail(2, samples.error().what());
  if (samples.value().empty()) return fail(2, "the dataset " + s.dataset + " has no samples");
  auto transport = leash::llm::make_transport(s.optimizer_model);
  if (transport.has_error()) return fail(2, transport.error().what());
  if (s.max_trials == 0) return fail(2, "--max-trials must be at least 1");

  auto store = opt::OptimizationStore::open(db);
  if (store.has_error()) return fail(3, std::string("cannot open ") + db + ": " + store.error().what());

  std::uint64_t seed = s.seed ? *s.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  opt::LlmOptimizerOptions oo;
  oo.search_space = config.value().search_space;
  oo.objectives = config.value().objectives;
  oo.seed = seed;
  opt::LlmOptimizer optimizer(transport.value(), std::move(oo));

  opt::EngineOptions eo;
  eo.max_trials = s.max_trials;
  eo.patience = s.patience;
  eo.seed = seed;

  opt::OptimizationRun begun;
  begun.run_id = opt::engine_run_id(seed);
  std::string benchmark = s.dataset;
  if (!config.value().benchmarks.empty()) benchmark = config.value().benchmarks.front().benchmark;
  if (auto ok = store.value().begin_run(begun, config.value().search_space, config.value().objectives,
                                        s.optimizer_model, benchmark);
      ok.has_error())
    return fail(3, ok.error().what());
  std::cout << "run " << begun.run_id << '\n';

  CalcRunner runner;
  runner.dataset = std::make_shared<std::vector<learn::EvalSample> const>(std::move(samples).value());
  if (!config.value().benchmarks.empty()) runner.max_samples = config.value().benchmarks.front().max_samples;
  runner.max_trials = s.max_trials;
  opt::RecordingRunner<CalcRunner> recording(std::move(runner), store.value(), begun.run_id);
  opt::OptimizationEngine<opt::RecordingRunner<CalcRunner>> engine(std::move(optimizer), std::move(recording),
                                                                   std::move(eo));
  auto done = leash::sync_wait(engine.run());
  if (done.has_error()) return fail(2, done.error().what());
  auto const& r = done.value();
  if (auto const& e = engine.runner().last_save_error())
    std::cerr << "leash-optimize: warning: a trial could not be saved: " << e->what() << '\n';
  if (auto ok = opt::save_progress(store.value(), r); ok.has_error()) return fail(3, ok.error().what());
  if (auto ok = store.value().finish_run(r); ok.has_error()) return fail(3, ok.error().what());

  std::cout << r.status << " (" << r.reason << ") after " << r.trials.size() << " trial(s), " << r.llm_calls
            << " optimizer call(s)\n";
  if (r.best) {
    auto const& b = r.trials[*r.best];
    std::cout << "best " << b.trial_id << "  accuracy " << fixed4(b.accuracy) << "  " << params_text(b.config.params)
              << '\n';
  } else {
    std::cout << "no best trial\n";
  }
  return r.status == "completed" && r.best ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"leash-optimize: let a model tune an agent's configuration; list, show and export the runs",
               "leash-optimize"};
  app.require_subcommand(1);
  app.footer("DB is an optimisation store file (SQLite; it may be the run store's file). Exit codes: 0 done; "
             "1 the run failed (or has no best trial to export); 2 bad input (including an unknown run); "
             "3 store or file unreadable.");

  std::string db, run_id, file;
  std::size_t limit = 50;
  bool as_json = false;
  RunSettings rs;
  std::uint64_t seed = 0;

  auto* list_cmd = app.add_subcommand("list", "The optimisation runs in DB, newest first");
  list_cmd->add_option("DB", db, "Store file")->required();
  list_cmd->add_option("--limit", limit, "At most this many runs")->capture_default_str();
  auto* show_cmd = app.add_subcommand("show", "A run's trials, its frontier (*) and its best configuration");
  show_cmd->add_option("DB", db, "Store file")->required();
  show_cmd->add_option("RUN", run_id, "Run id (see list)")->required();
  show_cmd->add_flag("--json", as_json, "Print the run as one JSON object");
  auto* export_cmd = app.add_subcommand("export", "Write the best trial's configuration as a recipe TOML");
  export_cmd->add_option("DB", db, "Store file")->required();
  export_cmd->add_option("RUN", run_id, "Run id (see list)")->required();
  export_cmd->add_option("FILE", file, "Recipe file to write")->required();
  auto* run_cmd = app.add_subcommand("run", "Optimise the example calculator agent on a dataset");
  run_cmd->add_option("DB", db, "Store file (created when missing)")->required();
  run_cmd->add_option("--optimizer-model", rs.optimizer_model, "Transport spec of the proposer (scripted:FILE, …)")
      ->required();
  run_cmd->add_option("--config", rs.config, "TOML with an [optimize] table (search space, objectives)")->required();
  run_cmd->add_option("--dataset", rs.dataset, "JSONL of {query, expected}")->required();
  run_cmd->add_option("--max-trials", rs.max_trials, "Trials at most")->capture_default_str();
  run_cmd->add_option("--patience", rs.patience, "Stop after this many trials without a better best (0: never)")
      ->capture_default_str();
  auto* seed_opt = run_cmd->add_option("--seed", seed, "Seeds the run and trial ids (none: random)");

  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (*list_cmd) return list(db, limit);
  if (*show_cmd) return show(db, run_id, as_json);
  if (*export_cmd) return export_best(db, run_id, file);
  if (*run_cmd) {
    if (seed_opt->count() > 0) rs.seed = seed;
    return run(db, rs);
  }
  return 2;
}
