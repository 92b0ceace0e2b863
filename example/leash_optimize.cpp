// leash-optimize — config optimisation of an agent, and the runs it leaves in
// a store.
//
//   leash-optimize list   DB [--limit N]
//   leash-optimize show   DB RUN [--json]
//   leash-optimize export DB RUN FILE
//   leash-optimize run    DB --optimizer-model SPEC --config OPTIMIZE_TOML --dataset JSONL
//                         [--max-trials N] [--patience N] [--concurrency N] [--seed N]
//
// DB is the path of an OptimizationStore SQLite file (it may be the leash run
// store's file: the optimisation tables are kept apart). `run` lets a model
// (any transport spec; scripted:FILE replays replies offline) propose
// configurations of the example calculator agent — the one of leash-learn,
// with an offline planner — from the `[optimize]` search space of the config
// file; each trial evaluates the agent on the dataset with its tools
// (`tools.tool_set`) and turns (`agent.max_turns`) set as proposed — a
// DatasetTrialRunner over the agent's Loop type — and is saved as soon as it
// is recorded. --concurrency N evaluates up to N trials at once.
//
//   leash-optimize run runs.db --optimizer-model scripted:example/optimize/optimizer.jsonl
//       --config example/optimize/optimize.toml --dataset example/learn/eval.jsonl --max-trials 3
//   leash-optimize show runs.db RUN
//   leash-optimize export runs.db RUN recipes/best.toml
#include <leash/leash.hpp>
#include <leash/learn/apply_config.hpp>
#include <leash/learn/evaluator.hpp>
#include <leash/learn/optimize/engine.hpp>
#include <leash/learn/optimize/llm_optimizer.hpp>
#include <leash/learn/optimize/pareto.hpp>
#include <leash/learn/optimize/recipe.hpp>
#include <leash/learn/optimize/search_space.hpp>
#include <leash/learn/optimize/store.hpp>
#include <leash/learn/optimize/trial_runner.hpp>
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

/// A fresh loop of the example agent per sample, with the options a trial chose.
struct MakeCalcLoop {
  leash::LoopOptions options;
  std::unique_ptr<Agent> operator()(learn::EvalSample const& sample) const {
    return std::make_unique<Agent>(sample.query, leash::AnyPlanner(OfflinePlanner(sample.query)), Tools{},
                                   leash::DefaultPolicies{}, leash::ExitList<leash::Success<Answered>>{},
                                   leash::AnyStore{}, options);
  }
};

/// The DatasetTrialRunner's agent factory: the trial's params (those of the
/// default search space this agent has: `tools.tool_set`, `agent.max_turns`,
/// a system prompt) onto the agent's LoopOptions. A param of the wrong type,
/// or a tool the agent does not have, fails that trial.
struct CalcAgentFactory {
  leash::result<learn::LoopAgent<MakeCalcLoop>> operator()(opt::TrialConfig const& trial) const {
    learn::AgentConfig base;  // every tool, 6 turns, unless the trial says otherwise
    base.name = "calc";
    base.max_turns = 6;
    BOOST_OUTCOME_TRY(auto config, opt::agent_config_from_params(trial.params, base));
    MakeCalcLoop make;
    make.options.quiet = true;
    make.options.observe = observe;
    BOOST_OUTCOME_TRY(learn::apply_agent_config<Tools>(config, make.options));
    return learn::loop_agent(std::move(make));
  }
};

std::string params_text(json::object const& params) { return json::serialize(params); }

/// One line per recorded trial: "trial N/MAX  ID  PARAMS  accuracy …" or "… failed: why".
void print_trial(std::size_t n, std::size_t max, opt::TrialResult const& r) {
  std::cout << "trial " << n << '/' << max << "  " << r.trial_id << "  " << params_text(r.config.params);
  if (r.failed) {
    std::cout << "  failed: " << r.error << '\n';
  } else {
    char buf[128];
    std::snprintf(buf, sizeof buf, "  accuracy %.4f  latency %.4fs  tokens %llu", r.accuracy, r.mean_latency_seconds,
                  static_cast<unsigned long long>(r.total_tokens));
    std::cout << buf << '\n';
  }
  std::cout.flush();
}

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
  std::size_t max_trials = 5, patience = 3, concurrency = 1;
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
  if (s.concurrency == 0) return fail(2, "--concurrency must be at least 1");

  // The dataset is the benchmark; the config's first benchmark, if any, names
  // it and caps its samples.
  opt::BenchmarkSpec spec;
  spec.benchmark = s.dataset;
  spec.max_samples = samples.value().size();
  if (!config.value().benchmarks.empty()) spec = config.value().benchmarks.front();
  auto runner = opt::make_dataset_trial_runner({opt::trial_benchmark(spec, std::move(samples).value())},
                                               CalcAgentFactory{}, learn::ContainsGrader{});
  if (runner.has_error()) return fail(2, runner.error().what());

  auto store = opt::OptimizationStore::open(db);
  if (store.has_error()) return fail(3, std::string("cannot open ") + db + ": " + store.error().what());

  std::uint64_t seed = s.seed ? *s.seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  opt::LlmOptimizerOptions oo;
  oo.search_space = config.value().search_space;
  oo.objectives = config.value().objectives;
  oo.seed = seed;
  opt::LlmOptimizer optimizer(transport.value(), std::move(oo));

  opt::OptimizationRun begun;
  begun.run_id = opt::engine_run_id(seed);
  if (auto ok = store.value().begin_run(begun, config.value().search_space, config.value().objectives,
                                        s.optimizer_model, spec.benchmark);
      ok.has_error())
    return fail(3, ok.error().what());
  std::cout << "run " << begun.run_id << '\n';

  // Each trial is printed and the run so far saved as soon as it is recorded,
  // so an interrupted run leaves every finished trial in the store.
  std::optional<leash::Error> save_error;
  opt::EngineOptions eo;
  eo.max_trials = s.max_trials;
  eo.patience = s.patience;
  eo.max_concurrent_trials = s.concurrency;
  eo.seed = seed;
  eo.progress = [&](std::size_t n, std::size_t max, opt::OptimizationRun const& so_far) {
    print_trial(n, max, so_far.trials.back());
    if (auto ok = opt::save_progress(store.value(), so_far); ok.has_error()) save_error = ok.error();
  };
  opt::OptimizationEngine engine(std::move(optimizer), std::move(runner).value(), std::move(eo));
  auto done = leash::sync_wait(engine.run());
  if (done.has_error()) return fail(2, done.error().what());
  auto const& r = done.value();
  if (save_error) std::cerr << "leash-optimize: warning: progress could not be saved: " << save_error->what() << '\n';
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
  run_cmd->add_option("--concurrency", rs.concurrency, "Trials evaluated at once")->capture_default_str();
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
