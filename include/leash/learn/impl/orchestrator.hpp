#ifndef LEASH_LEARN_IMPL_ORCHESTRATOR_HPP
#define LEASH_LEARN_IMPL_ORCHESTRATOR_HPP

#include <leash/store/detail/file_io.hpp>

#include <algorithm>
#include <sstream>
#include <type_traits>

namespace leash::learn {

namespace detail {

inline json::object config_json(AgentConfig const& c) {
  json::array tools;
  for (auto const& t : c.tools) tools.emplace_back(t);
  return json::object{{"name", c.name},
                      {"tools", std::move(tools)},
                      {"max_turns", c.max_turns},
                      {"temperature", c.temperature},
                      {"system_prompt", c.system_prompt}};
}

inline json::object training_json(TrainingResult const& t) {
  json::object o{{"status", to_string(t.status)},
                 {"reason", t.reason},
                 {"epochs", t.epochs},
                 {"total_steps", t.total_steps},
                 {"adapter_path", t.adapter_path},
                 {"training_samples", t.training_samples},
                 {"job_id", t.job_id},
                 {"model", t.model}};
  o["avg_loss"] = t.avg_loss ? json::value(*t.avg_loss) : json::value(nullptr);
  return o;
}

/// One agent's merged recommendation: every class that named it.
struct MergedRecommendation {
  std::vector<std::string> tools;
  int max_turns = 0;
  std::vector<std::string> classes;
};

}  // namespace detail

inline json::object ConfigChange::to_json() const {
  json::array classes;
  for (auto const& c : query_classes) classes.emplace_back(c);
  return json::object{{"agent", agent},
                      {"before", before ? json::value(detail::config_json(*before)) : json::value(nullptr)},
                      {"after", detail::config_json(after)},
                      {"query_classes", std::move(classes)}};
}

inline json::object CycleReport::to_json() const {
  auto opt = [](std::optional<double> v) { return v ? json::value(*v) : json::value(nullptr); };
  json::object best;
  for (auto const& [cls, model] : best_models) best[cls] = model;
  json::array changed;
  for (auto const& c : changes) changed.push_back(c.to_json());
  json::object o{{"status", status},
                 {"reason", reason},
                 {"timestamp", timestamp},
                 {"traces_seen", traces_seen},
                 {"sft_pairs", sft_pairs},
                 {"routing_classes", routing_classes},
                 {"agent_classes", agent_classes},
                 {"best_models", std::move(best)},
                 {"baseline_score", opt(baseline_score)},
                 {"post_score", opt(post_score)},
                 {"improvement", opt(improvement)},
                 {"accepted", accepted},
                 {"rolled_back", rolled_back},
                 {"routing_updated", routing_updated},
                 {"changes", std::move(changed)}};
  o["training"] = training ? json::value(detail::training_json(*training)) : json::value(nullptr);
  o["baseline"] = baseline ? json::value(baseline->to_json()) : json::value(nullptr);
  o["post"] = post ? json::value(post->to_json()) : json::value(nullptr);
  o["cycle_run_id"] = cycle_run_id;
  return o;
}

template <class Eval, class TrainerT>
LearningOrchestrator<Eval, TrainerT>::LearningOrchestrator(AnyStore store, OrchestratorOptions options, Eval evaluator,
                                                           TrainerT trainer)
    : store_(std::move(store)),
      options_(std::move(options)),
      evaluator_(std::move(evaluator)),
      trainer_(std::move(trainer)) {
  if constexpr (!std::is_same_v<Eval, NoEvaluator>) static_assert(check_evaluator<Eval>());
  if constexpr (!std::is_same_v<TrainerT, NoTrainer>)
    static_assert(Trainer<TrainerT>,
                  "leash::learn::LearningOrchestrator: the trainer needs "
                  "`asio::awaitable<result<TrainingResult>> train(TrainingRequest)` (leash/learn/trainer.hpp), "
                  "or pass leash::learn::NoTrainer");
}

template <class Eval, class TrainerT>
boost::asio::awaitable<result<CycleReport>> LearningOrchestrator<Eval, TrainerT>::record(CycleReport& rep) {
  if (!options_.record_cycle) co_return rep;
  State s;
  s.run_id = "learn-" + new_run_id();
  s.goal = options_.agent_id ? "learning cycle for agent " + *options_.agent_id : "learning cycle";
  s.info.agent = std::string(learning_agent);
  s.info.started_at = rep.timestamp;
  s.info.ended_at = Tracer::now();
  s.info.result = rep.status + (rep.reason.empty() ? "" : ": " + rep.reason);
  s.reason = s.info.result;
  if (rep.status == "completed")
    s.status = Status::success;
  else if (rep.status == "error")
    s.status = Status::error;
  else
    s.status = Status::no_progress;  // rejected or skipped: nothing learned this time
  rep.cycle_run_id = s.run_id;
  s.info.metadata = rep.to_json();
  s.info.metadata["kind"] = "learning_cycle";
  // What the cycle was asked to do, so a recorded cycle can be judged alone.
  s.info.metadata["inputs"] = json::object{
      {"config_dir", options_.config_dir.string()},
      {"agent_id", options_.agent_id ? json::value(*options_.agent_id) : json::value(nullptr)},
      {"min_improvement", options_.min_improvement},
      {"min_quality", options_.min_quality},
      {"min_sft_pairs", options_.min_sft_pairs},
      {"evaluated", !std::is_same_v<Eval, NoEvaluator>},
      {"trainer", !std::is_same_v<TrainerT, NoTrainer>},
      {"router", options_.router != nullptr}};
  auto recorded = co_await store_.create_run(s);
  if (recorded.has_error()) {
    rep.cycle_run_id.clear();
    rep.reason +=
        (rep.reason.empty() ? "" : "; ") + std::string("the cycle could not be recorded: ") + recorded.error().what();
  }
  co_return rep;
}

template <class Eval, class TrainerT>
boost::asio::awaitable<result<CycleReport>> LearningOrchestrator<Eval, TrainerT>::run() {
  CycleReport rep;
  rep.timestamp = Tracer::now();

  EvolverOptions evolver_options;
  evolver_options.agent = options_.agent_id;  // §4.8: the reference's evolver saw every agent
  auto opened = AgentConfigEvolver::open(options_.config_dir, evolver_options);
  if (opened.has_error()) co_return opened.error();
  AgentConfigEvolver evolver = std::move(opened).value();
  MinerOptions miner_options;
  miner_options.min_quality = options_.min_quality;
  miner_options.agent = options_.agent_id;
  TrainingDataMiner miner(miner_options);

  std::optional<LearnedRouter> router_before;
  if (options_.router) {
    router_before = *options_.router;
    options_.router->begin_update();
  }

  // One streamed pass feeds every analysis.
  TraceFilter filter;
  if (options_.agent_id) filter.agent = *options_.agent_id;
  TraceStore traces(store_);
  auto scanned = co_await traces.for_each(filter, [&](Trace const& t) {
    ++rep.traces_seen;
    miner.add(t);
    evolver.add(t);
    if (options_.router) options_.router->add(t);
    return true;
  });
  if (scanned.has_error()) {
    if (router_before) *options_.router = std::move(*router_before);
    co_return scanned.error();
  }

  auto routing = miner.routing_pairs();
  auto agent_pairs = miner.agent_config_pairs();
  rep.sft_pairs = miner.sft_pairs().size();
  rep.routing_classes = routing.size();
  rep.agent_classes = agent_pairs.size();
  for (auto const& [cls, pair] : routing) rep.best_models[cls] = pair.best_model;

  // Restores what the cycle changed; returns what could not be restored.
  auto restore = [&]() -> std::string {
    std::string failures;
    for (auto it = rep.changes.rbegin(); it != rep.changes.rend(); ++it) {
      if (it->before) {
        // The version written before this cycle's is the newest archive.
        auto versions = evolver.list_versions(it->agent);
        std::optional<std::uint64_t> previous;
        if (versions.has_value())
          for (auto const& v : versions.value())
            if (!v.current) previous = v.version;
        auto back = previous ? evolver.rollback(it->agent, *previous)
                             : result<void>(Error{Errc::store_failed, "no archived version"});
        if (back.has_error()) failures += "; " + it->agent + ": " + back.error().what();
      } else {
        std::error_code ec;
        std::filesystem::remove(evolver.config_path(it->agent), ec);
        if (ec) failures += "; " + it->agent + ": " + ec.message();
      }
    }
    if (router_before) *options_.router = *router_before;
    rep.rolled_back = true;
    return failures;
  };

  auto finish = [&](std::string status, std::string reason) {
    rep.status = std::move(status);
    rep.reason = std::move(reason);
  };

  if (rep.sft_pairs == 0 && routing.empty() && agent_pairs.empty()) {
    if (router_before) *options_.router = std::move(*router_before);
    finish("skipped", "no training data available");
    co_return co_await record(rep);
  }

  // Evolve: one config per recommended agent, all its classes merged.
  std::map<std::string, detail::MergedRecommendation, std::less<>> merged;
  std::vector<std::string> order;
  for (auto const& rec : evolver.recommendations()) {
    if (rec.recommended_agent.empty() || !is_safe_agent_name(rec.recommended_agent)) continue;
    auto [it, inserted] = merged.try_emplace(rec.recommended_agent);
    if (inserted) order.push_back(rec.recommended_agent);
    auto& m = it->second;
    for (auto const& tool : rec.recommended_tools)
      if (std::find(m.tools.begin(), m.tools.end(), tool) == m.tools.end()) m.tools.push_back(tool);
    m.max_turns = std::max(m.max_turns, rec.recommended_max_turns);
    m.classes.push_back(rec.query_class);
  }
  std::vector<ConfigChange> planned;
  for (auto const& agent : order) {
    auto const& m = merged.find(agent)->second;
    ConfigChange change;
    change.agent = agent;
    change.query_classes = m.classes;
    std::error_code ec;
    if (std::filesystem::exists(evolver.config_path(agent), ec)) {
      auto before = evolver.load(agent);
      if (before.has_error()) {
        if (router_before) *options_.router = std::move(*router_before);
        finish("error", "cannot read the config of agent '" + agent + "': " + before.error().what());
        co_return co_await record(rep);
      }
      change.before = std::move(before).value();
      change.after = *change.before;
    } else {
      change.after.name = agent;
    }
    change.after.tools = m.tools;
    change.after.max_turns = m.max_turns;
    if (change.before && *change.before == change.after) continue;  // nothing to change
    planned.push_back(std::move(change));
  }

  bool const will_train = !std::is_same_v<TrainerT, NoTrainer> && rep.sft_pairs >= options_.min_sft_pairs;
  if (planned.empty() && !will_train) {
    // Nothing to evaluate: the router's update stands, as any change does
    // without an evaluation.
    if (options_.router) {
      options_.router->finish_update();
      rep.routing_updated = true;
    }
    finish("skipped", "the agent configs already match what the runs recommend");
    co_return co_await record(rep);
  }

  if constexpr (!std::is_same_v<Eval, NoEvaluator>) {
    auto baseline = co_await evaluator_.evaluate();
    if (baseline.has_error()) {
      if (router_before) *options_.router = std::move(*router_before);
      finish("error", "baseline evaluation failed: " + baseline.error().what());
      co_return co_await record(rep);
    }
    rep.baseline_score = baseline.value().accuracy;
    rep.baseline = std::move(baseline).value();
  }

  for (auto& change : planned) {
    auto written = evolver.write_config(change.after);
    if (written.has_error()) {
      auto failures = restore();
      finish("error", "cannot write the config of agent '" + change.agent + "': " + written.error().what() + failures);
      co_return co_await record(rep);
    }
    rep.changes.push_back(std::move(change));
  }

  if (options_.router) {
    options_.router->finish_update();
    rep.routing_updated = true;
  }

  if constexpr (!std::is_same_v<TrainerT, NoTrainer>) {
    if (rep.sft_pairs >= options_.min_sft_pairs) {
      auto dir = options_.dataset_dir.empty() ? options_.config_dir / "datasets" : options_.dataset_dir;
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      auto path = dir / ("sft-" + new_run_id() + ".jsonl");
      std::ostringstream lines;
      auto wrote = write_sft_jsonl_chat(miner.sft_pairs(), lines);
      std::string failure;
      if (wrote.has_error())
        failure = wrote.error().what();
      else if (auto write_error = leash::detail::file_io::replace_atomically(path, lines.str(), 0644))
        failure = write_error.message();
      if (!failure.empty()) {
        rep.training = TrainingResult::failed("cannot write the dataset " + path.string() + ": " + failure);
      } else {
        TrainingRequest request;
        request.dataset_path = path;
        request.sample_count = rep.sft_pairs;
        request.config = options_.training;
        request.model = options_.training_model;
        auto trained = co_await trainer_.train(request);
        rep.training =
            trained.has_value() ? std::move(trained).value() : TrainingResult::failed(trained.error().what());
      }
    } else {
      rep.training = TrainingResult::skipped("only " + std::to_string(rep.sft_pairs) + " SFT pairs; " +
                                             std::to_string(options_.min_sft_pairs) + " needed");
    }
  }

  if constexpr (!std::is_same_v<Eval, NoEvaluator>) {
    auto post = co_await evaluator_.evaluate();
    if (post.has_error()) {
      auto failures = restore();
      finish("error",
             "evaluation after the change failed: " + post.error().what() + "; the change was undone" + failures);
      co_return co_await record(rep);
    }
    rep.post_score = post.value().accuracy;
    rep.post = std::move(post).value();
    rep.improvement = *rep.post_score - *rep.baseline_score;
    if (*rep.improvement >= options_.min_improvement) {
      rep.accepted = true;
      finish("completed", "");
      co_return co_await record(rep);
    }
    std::ostringstream why;
    why.precision(4);
    why << std::fixed << "eval improvement " << *rep.improvement << " below threshold " << options_.min_improvement;
    auto failures = restore();
    finish("rejected", why.str() + "; the change was undone" + failures);
    co_return co_await record(rep);
  } else {
    rep.accepted = true;
    finish("completed", "");
    co_return co_await record(rep);
  }
}

}  // namespace leash::learn

#endif
