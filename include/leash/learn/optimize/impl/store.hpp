// leash/learn/optimize/impl/store.hpp — the optimization tables, their
// migrations, and the JSON the columns hold.
#ifndef LEASH_LEARN_OPTIMIZE_IMPL_STORE_HPP
#define LEASH_LEARN_OPTIMIZE_IMPL_STORE_HPP

#include <leash/store/detail/sqlite_tables.hpp>

#include <algorithm>
#include <exception>
#include <limits>
#include <string_view>
#include <utility>

namespace leash::learn::optimize {

namespace detail::opt_store {

// The SQLite plumbing (opening, transactions, rows and parameters by name,
// JSON columns) is shared with spec_search's SessionStore.
namespace sqlt = leash::detail::sqlite_tables;
using sqlt::Corrupt;
using sqlt::parse_json;
using sqlt::parse_object;
using sqlt::select_list;

/// The optimization tables' layout, step by step, applied in order to files
/// whose `optimization_schema` version is lower. Never edit a released step:
/// add the next one.
inline constexpr sqlt::Migration migrations[] = {
    {1, R"sql(
CREATE TABLE optimization_runs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id          TEXT NOT NULL UNIQUE,
  status          TEXT NOT NULL,
  reason          TEXT NOT NULL,
  optimizer_model TEXT NOT NULL,
  benchmark       TEXT NOT NULL,
  search_space    TEXT NOT NULL,
  objectives      TEXT NOT NULL,
  best_trial_id   TEXT,
  frontier_ids    TEXT NOT NULL,
  recipe_path     TEXT,
  created_at      REAL NOT NULL,
  updated_at      REAL NOT NULL
);
CREATE INDEX optimization_runs_by_created_at ON optimization_runs (created_at);
CREATE TABLE optimization_trials (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id               TEXT NOT NULL REFERENCES optimization_runs (run_id) ON DELETE CASCADE,
  trial_id             TEXT NOT NULL,
  config_trial_id      TEXT NOT NULL,
  params               TEXT NOT NULL,
  reasoning            TEXT NOT NULL,
  accuracy             REAL,
  mean_latency_seconds REAL,
  total_cost_usd       REAL,
  total_energy_joules  REAL,
  total_tokens         INTEGER NOT NULL,
  samples_evaluated    INTEGER NOT NULL,
  analysis             TEXT NOT NULL,
  failure_modes        TEXT NOT NULL,
  metrics              TEXT NOT NULL,
  failed               INTEGER NOT NULL,
  error                TEXT NOT NULL,
  feedback             TEXT NOT NULL,
  proposal_kind        TEXT NOT NULL,
  created_at           REAL NOT NULL,
  updated_at           REAL NOT NULL,
  UNIQUE (run_id, trial_id)
);
CREATE INDEX optimization_trials_by_run ON optimization_trials (run_id);
)sql"},
};

inline constexpr sqlt::Schema schema{.store = "optimization store",
                                     .file_noun = "database",
                                     .layout = "optimization",
                                     .version_table = "optimization_schema",
                                     .component = "optimization",
                                     .migrations = migrations};
static_assert(schema.latest() == optimization_schema_version, "add a migration when optimization_schema_version grows");

/// Binds by parameter name: bind(st, ":run_id", run_id); a NaN is NULL.
inline constexpr sqlt::Binder bind{schema.store};

inline std::vector<std::string> string_array(json::value const& v, std::string const& what) {
  if (!v.is_array()) throw Corrupt(what + " is not a JSON array");
  std::vector<std::string> out;
  for (auto const& x : v.get_array()) {
    if (!x.is_string()) throw Corrupt(what + " holds a non-string");
    out.emplace_back(x.get_string());
  }
  return out;
}
inline json::array to_array(std::vector<std::string> const& v) {
  json::array a;
  for (auto const& s : v) a.emplace_back(s);
  return a;
}

inline std::string get_string(json::object const& o, std::string_view key, std::string const& what) {
  auto const* v = o.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) throw Corrupt(what + "." + std::string(key) + " is not a string");
  return std::string(v->get_string());
}
inline std::optional<double> get_number(json::object const& o, std::string_view key, std::string const& what) {
  auto const* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  throw Corrupt(what + "." + std::string(key) + " is not a number");
}

inline json::value number_or_null(std::optional<double> v) { return v ? json::value(*v) : json::value(nullptr); }

inline json::object space_to_json(SearchSpace const& s) {
  json::array dims;
  for (auto const& d : s.dimensions) {
    json::object o;
    o["name"] = d.name;
    o["type"] = to_string(d.type);
    json::array values;
    for (auto const& v : d.values) values.push_back(v);
    o["values"] = std::move(values);
    o["low"] = number_or_null(d.low);
    o["high"] = number_or_null(d.high);
    o["description"] = d.description;
    o["primitive"] = d.primitive;
    dims.push_back(std::move(o));
  }
  json::object out;
  out["dimensions"] = std::move(dims);
  out["fixed"] = s.fixed;
  out["constraints"] = to_array(s.constraints);
  return out;
}

inline SearchSpace space_from_json(json::object const& o, std::string const& what) {
  SearchSpace s;
  if (auto const* dims = o.if_contains("dimensions")) {
    if (!dims->is_array()) throw Corrupt(what + ".dimensions is not a JSON array");
    std::size_t n = 0;
    for (auto const& dv : dims->get_array()) {
      std::string const at = what + ".dimensions[" + std::to_string(n++) + "]";
      if (!dv.is_object()) throw Corrupt(at + " is not a JSON object");
      auto const& d = dv.get_object();
      SearchDimension dim;
      dim.name = get_string(d, "name", at);
      auto type = dimension_type_from_string(get_string(d, "type", at));
      if (!type) throw Corrupt(at + ".type is not a dimension type");
      dim.type = *type;
      if (auto const* values = d.if_contains("values")) {
        if (!values->is_array()) throw Corrupt(at + ".values is not a JSON array");
        dim.values.assign(values->get_array().begin(), values->get_array().end());
      }
      dim.low = get_number(d, "low", at);
      dim.high = get_number(d, "high", at);
      dim.description = get_string(d, "description", at);
      dim.primitive = get_string(d, "primitive", at);
      s.dimensions.push_back(std::move(dim));
    }
  }
  if (auto const* fixed = o.if_contains("fixed")) {
    if (!fixed->is_object()) throw Corrupt(what + ".fixed is not a JSON object");
    s.fixed = fixed->get_object();
  }
  if (auto const* c = o.if_contains("constraints")) s.constraints = string_array(*c, what + ".constraints");
  return s;
}

inline json::array objectives_to_json(std::vector<ObjectiveSpec> const& objectives) {
  json::array out;
  for (auto const& o : objectives) {
    json::object x;
    x["metric"] = o.metric;
    x["direction"] = to_string(o.direction);
    x["weight"] = o.weight;
    out.push_back(std::move(x));
  }
  return out;
}

inline std::vector<ObjectiveSpec> objectives_from_json(json::value const& v, std::string const& what) {
  if (!v.is_array()) throw Corrupt(what + " is not a JSON array");
  std::vector<ObjectiveSpec> out;
  std::size_t n = 0;
  for (auto const& x : v.get_array()) {
    std::string const at = what + "[" + std::to_string(n++) + "]";
    if (!x.is_object()) throw Corrupt(at + " is not a JSON object");
    ObjectiveSpec o;
    o.metric = get_string(x.get_object(), "metric", at);
    auto direction = direction_from_string(get_string(x.get_object(), "direction", at));
    if (!direction) throw Corrupt(at + ".direction is neither maximize nor minimize");
    o.direction = *direction;
    o.weight = get_number(x.get_object(), "weight", at).value_or(1.0);
    out.push_back(std::move(o));
  }
  return out;
}

/// The JSON text of `v`; Errc::invalid_input naming `what` when it holds a
/// number JSON cannot represent.
template <class Tree>
result<std::string> checked_text(Tree const& v, std::string const& what) {
  if (sqlt::non_finite(json::value(v)))
    return Error(Errc::invalid_input,
                 "optimization store: " + what + " holds a NaN or infinite number, which JSON cannot represent; "
                                                 "nothing was written");
  return json::serialize(v);
}

}  // namespace detail::opt_store

struct OptimizationStore::State : leash::detail::sqlite_tables::Tables {
  State() : Tables(detail::opt_store::schema) {}

  Error missing(std::string const& run_id) const {
    return Error{Errc::run_not_found, "no optimization run '" + run_id + "' in '" + path_text + "'"};
  }

  result<bool> run_exists(std::string const& run_id);
  result<void> insert_run(OptimizationRun const& run, SearchSpace const& space,
                          std::vector<ObjectiveSpec> const& objectives, std::string const& optimizer_model,
                          std::string const& benchmark);
  result<void> upsert_trial(std::string const& run_id, TrialResult const& trial, json::object const& feedback,
                            std::string const& proposal_kind, double now);
  result<void> update_run(OptimizationRun const& run, bool with_status, double now);
  result<void> touch(std::string const& run_id, double now);
};

// ---------------------------------------------------------------------------
// Feedback as JSON

inline json::object feedback_to_json(TrialFeedback const& f) {
  bool const none = f.summary_text.empty() && f.failure_patterns.empty() && f.primitive_ratings.empty() &&
                    f.suggested_changes.empty() && f.target_primitive.empty() && f.parsed;
  if (none) return {};
  json::object o;
  o["summary_text"] = f.summary_text;
  o["failure_patterns"] = detail::opt_store::to_array(f.failure_patterns);
  json::object ratings;
  for (auto const& [k, v] : f.primitive_ratings) ratings[k] = v;
  o["primitive_ratings"] = std::move(ratings);
  o["suggested_changes"] = detail::opt_store::to_array(f.suggested_changes);
  o["target_primitive"] = f.target_primitive;
  o["parsed"] = f.parsed;
  return o;
}

inline TrialFeedback feedback_from_json(json::object const& o) {
  TrialFeedback f;
  auto strings = [&](char const* key, std::vector<std::string>& out) {
    if (auto const* v = o.if_contains(key); v && v->is_array())
      for (auto const& x : v->get_array())
        if (x.is_string()) out.emplace_back(x.get_string());
  };
  if (auto const* v = o.if_contains("summary_text"); v && v->is_string()) f.summary_text = v->get_string();
  strings("failure_patterns", f.failure_patterns);
  if (auto const* v = o.if_contains("primitive_ratings"); v && v->is_object())
    for (auto const& kv : v->get_object())
      if (kv.value().is_string()) f.primitive_ratings[std::string(kv.key())] = std::string(kv.value().get_string());
  strings("suggested_changes", f.suggested_changes);
  if (auto const* v = o.if_contains("target_primitive"); v && v->is_string()) f.target_primitive = v->get_string();
  if (auto const* v = o.if_contains("parsed"); v && v->is_bool()) f.parsed = v->get_bool();
  return f;
}

// ---------------------------------------------------------------------------
// StoredRun

inline StoredTrial const* StoredRun::best() const noexcept {
  if (!best_trial_id) return nullptr;
  for (auto const& t : trials)
    if (t.result.trial_id == *best_trial_id) return &t;
  return nullptr;
}

inline OptimizationRun StoredRun::to_optimization_run() const {
  OptimizationRun run;
  run.run_id = run_id;
  run.status = status;
  run.reason = reason;
  auto index_of = [&](std::string const& id) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < trials.size(); ++i)
      if (trials[i].result.trial_id == id) return i;
    return std::nullopt;
  };
  for (auto const& t : trials) {
    run.trials.push_back(t.result);
    run.feedback.push_back(feedback_from_json(t.feedback));
    run.proposal_kinds.push_back(t.proposal_kind);
    run.proposal_errors.emplace_back();
    run.proposal_changes.emplace_back();
  }
  if (best_trial_id) run.best = index_of(*best_trial_id);
  for (auto const& id : frontier_ids)
    if (auto i = index_of(id)) run.frontier.push_back(*i);
  return run;
}

// ---------------------------------------------------------------------------
// Opening

inline OptimizationStore::OptimizationStore(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
inline OptimizationStore::~OptimizationStore() = default;

inline std::filesystem::path const& OptimizationStore::path() const noexcept { return state_->path; }

inline result<OptimizationStore> OptimizationStore::open(std::filesystem::path path, OptimizationStoreOptions options) {
  namespace sqlt = leash::detail::sqlite_tables;
  try {
    auto s = std::make_unique<State>();
    s->clock = std::move(options.clock);
    BOOST_OUTCOME_TRY(sqlt::connect(*s, std::move(path), options.busy_timeout));
    // This store's order, unlike sqlt::open's: the pragmas before the version
    // is read, so a newer file is switched to WAL before it is refused.
    BOOST_OUTCOME_TRY(sqlt::configure(*s));
    BOOST_OUTCOME_TRY(sqlt::migrate(*s));
    return OptimizationStore(std::move(s));
  } catch (std::exception const& e) {
    return Error{Errc::store_failed, "cannot open optimization store: " + std::string(e.what())};
  }
}

// ---------------------------------------------------------------------------
// Writing

inline result<bool> OptimizationStore::State::run_exists(std::string const& run_id) {
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(st, "SELECT 1 AS found FROM optimization_runs WHERE run_id = :run_id", "cannot look up a run"));
  detail::opt_store::bind(st, ":run_id", run_id);
  int rc = st.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(rc, "cannot look up a run");
}

inline result<void> OptimizationStore::State::insert_run(OptimizationRun const& run, SearchSpace const& space,
                                                         std::vector<ObjectiveSpec> const& objectives,
                                                         std::string const& optimizer_model,
                                                         std::string const& benchmark) {
  namespace os = detail::opt_store;
  BOOST_OUTCOME_TRY(auto space_text, os::checked_text(os::space_to_json(space), "run '" + run.run_id + "' search space"));
  BOOST_OUTCOME_TRY(auto objectives_text,
                    os::checked_text(os::objectives_to_json(objectives), "run '" + run.run_id + "' objectives"));
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(st,
                            "INSERT INTO optimization_runs (run_id, status, reason, optimizer_model, benchmark, "
                            "search_space, objectives, best_trial_id, frontier_ids, recipe_path, created_at, "
                            "updated_at) VALUES (:run_id, 'running', '', :optimizer_model, :benchmark, "
                            ":search_space, :objectives, NULL, '[]', NULL, :now, :now)",
                            "cannot write a run"));
  double const t = now();
  os::bind(st, ":run_id", run.run_id);
  os::bind(st, ":optimizer_model", optimizer_model);
  os::bind(st, ":benchmark", benchmark);
  os::bind(st, ":search_space", space_text);
  os::bind(st, ":objectives", objectives_text);
  os::bind(st, ":now", t);
  return this->run(st, "cannot write run '" + run.run_id + "'");
}

inline result<void> OptimizationStore::State::upsert_trial(std::string const& run_id, TrialResult const& trial,
                                                           json::object const& feedback,
                                                           std::string const& proposal_kind, double t) {
  namespace os = detail::opt_store;
  std::string const what = "run '" + run_id + "' trial '" + trial.trial_id + "'";
  BOOST_OUTCOME_TRY(auto params, os::checked_text(trial.config.params, what + " params"));
  BOOST_OUTCOME_TRY(auto metrics, os::checked_text(trial.metrics, what + " metrics"));
  BOOST_OUTCOME_TRY(auto feedback_text, os::checked_text(feedback, what + " feedback"));
  std::string const failure_modes = json::serialize(os::to_array(trial.failure_modes));
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(
      st,
      "INSERT INTO optimization_trials (run_id, trial_id, config_trial_id, params, reasoning, accuracy, "
      "mean_latency_seconds, total_cost_usd, total_energy_joules, total_tokens, samples_evaluated, analysis, "
      "failure_modes, metrics, failed, error, feedback, proposal_kind, created_at, updated_at) VALUES (:run_id, "
      ":trial_id, :config_trial_id, :params, :reasoning, :accuracy, :mean_latency_seconds, :total_cost_usd, "
      ":total_energy_joules, :total_tokens, :samples_evaluated, :analysis, :failure_modes, :metrics, :failed, "
      ":error, :feedback, :proposal_kind, :now, :now) ON CONFLICT (run_id, trial_id) DO UPDATE SET "
      "config_trial_id = excluded.config_trial_id, params = excluded.params, reasoning = excluded.reasoning, "
      "accuracy = excluded.accuracy, mean_latency_seconds = excluded.mean_latency_seconds, "
      "total_cost_usd = excluded.total_cost_usd, total_energy_joules = excluded.total_energy_joules, "
      "total_tokens = excluded.total_tokens, samples_evaluated = excluded.samples_evaluated, "
      "analysis = excluded.analysis, failure_modes = excluded.failure_modes, metrics = excluded.metrics, "
      "failed = excluded.failed, error = excluded.error, feedback = excluded.feedback, "
      "proposal_kind = excluded.proposal_kind, updated_at = excluded.updated_at",
      "cannot write a trial"));
  os::bind(st, ":run_id", run_id);
  os::bind(st, ":trial_id", trial.trial_id);
  os::bind(st, ":config_trial_id", trial.config.trial_id);
  os::bind(st, ":params", params);
  os::bind(st, ":reasoning", trial.config.reasoning);
  os::bind(st, ":accuracy", trial.accuracy);
  os::bind(st, ":mean_latency_seconds", trial.mean_latency_seconds);
  os::bind(st, ":total_cost_usd", trial.total_cost_usd);
  os::bind(st, ":total_energy_joules", trial.total_energy_joules);
  os::bind(st, ":total_tokens", static_cast<std::int64_t>(trial.total_tokens));
  os::bind(st, ":samples_evaluated", static_cast<std::int64_t>(trial.samples_evaluated));
  os::bind(st, ":analysis", trial.analysis);
  os::bind(st, ":failure_modes", failure_modes);
  os::bind(st, ":metrics", metrics);
  os::bind(st, ":failed", std::int64_t{trial.failed ? 1 : 0});
  os::bind(st, ":error", trial.error);
  os::bind(st, ":feedback", feedback_text);
  os::bind(st, ":proposal_kind", proposal_kind);
  os::bind(st, ":now", t);
  return run(st, "cannot write " + what);
}

inline result<void> OptimizationStore::State::touch(std::string const& run_id, double t) {
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(st, "UPDATE optimization_runs SET updated_at = :now WHERE run_id = :run_id",
                            "cannot update a run"));
  detail::opt_store::bind(st, ":run_id", run_id);
  detail::opt_store::bind(st, ":now", t);
  return run(st, "cannot update run '" + run_id + "'");
}

inline result<void> OptimizationStore::State::update_run(OptimizationRun const& r, bool with_status, double t) {
  namespace os = detail::opt_store;
  std::optional<std::string> best;
  if (r.best && *r.best < r.trials.size()) best = r.trials[*r.best].trial_id;
  json::array frontier;
  for (auto i : r.frontier)
    if (i < r.trials.size()) frontier.emplace_back(r.trials[i].trial_id);
  std::string const frontier_text = json::serialize(frontier);
  leash::detail::sqlite::Statement st;
  BOOST_OUTCOME_TRY(prepare(st,
                            with_status ? "UPDATE optimization_runs SET status = :status, reason = :reason, "
                                          "best_trial_id = :best, frontier_ids = :frontier, updated_at = :now "
                                          "WHERE run_id = :run_id"
                                        : "UPDATE optimization_runs SET best_trial_id = :best, frontier_ids = "
                                          ":frontier, updated_at = :now WHERE run_id = :run_id",
                            "cannot update a run"));
  os::bind(st, ":run_id", r.run_id);
  if (with_status) {
    os::bind(st, ":status", r.status);
    os::bind(st, ":reason", r.reason);
  }
  os::bind(st, ":best", best);
  os::bind(st, ":frontier", frontier_text);
  os::bind(st, ":now", t);
  BOOST_OUTCOME_TRY(run(st, "cannot update run '" + r.run_id + "'"));
  if (sqlite3_changes(db.get()) == 0) return missing(r.run_id);
  return success();
}

inline result<void> OptimizationStore::begin_run(OptimizationRun const& run, SearchSpace const& space,
                                                 std::vector<ObjectiveSpec> const& objectives,
                                                 std::string optimizer_model, std::string benchmark) {
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    if (run.run_id.empty()) return Error{Errc::invalid_input, "optimization store: a run needs an id"};
    return s.in_write([&]() -> result<void> {
      BOOST_OUTCOME_TRY(bool exists, s.run_exists(run.run_id));
      if (exists)
        return Error{Errc::invalid_input,
                     "optimization store '" + s.path_text + "' already has a run '" + run.run_id + "'"};
      return s.insert_run(run, space, objectives, optimizer_model, benchmark);
    });
  });
}

inline result<void> OptimizationStore::save_trial(std::string const& run_id, TrialResult const& trial,
                                                  json::object const& feedback, std::string const& proposal_kind) {
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    if (trial.trial_id.empty())
      return Error{Errc::invalid_input, "optimization store: a trial of run '" + run_id + "' has no id"};
    return s.in_write([&]() -> result<void> {
      BOOST_OUTCOME_TRY(bool exists, s.run_exists(run_id));
      if (!exists) return s.missing(run_id);
      double const t = s.now();
      BOOST_OUTCOME_TRY(s.upsert_trial(run_id, trial, feedback, proposal_kind, t));
      return s.touch(run_id, t);
    });
  });
}

inline result<void> OptimizationStore::finish_run(OptimizationRun const& run) {
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    if (run.status.empty())
      return Error{Errc::invalid_input, "optimization store: run '" + run.run_id + "' has no status to finish with"};
    return s.in_write([&] { return s.update_run(run, true, s.now()); });
  });
}

inline result<void> OptimizationStore::save_progress(OptimizationRun const& run) {
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    if (run.run_id.empty()) return Error{Errc::invalid_input, "optimization store: a run needs an id"};
    return s.in_write([&]() -> result<void> {
      BOOST_OUTCOME_TRY(bool exists, s.run_exists(run.run_id));
      if (!exists) {
        BOOST_OUTCOME_TRY(s.insert_run(run, SearchSpace{}, {}, {}, {}));
      }
      double const t = s.now();
      static std::string const no_kind;
      for (std::size_t i = 0; i < run.trials.size(); ++i) {
        if (run.trials[i].trial_id.empty())
          return Error{Errc::invalid_input, "optimization store: trial #" + std::to_string(i + 1) + " of run '" +
                                                run.run_id + "' has no id"};
        json::object feedback = i < run.feedback.size() ? feedback_to_json(run.feedback[i]) : json::object();
        BOOST_OUTCOME_TRY(s.upsert_trial(run.run_id, run.trials[i], feedback,
                                         i < run.proposal_kinds.size() ? run.proposal_kinds[i] : no_kind, t));
      }
      return s.update_run(run, !run.status.empty(), t);
    });
  });
}

inline result<void> OptimizationStore::set_recipe_path(std::string const& run_id, std::filesystem::path const& path) {
  auto& s = *state_;
  return s.guarded([&]() -> result<void> {
    return s.in_write([&]() -> result<void> {
      leash::detail::sqlite::Statement st;
      BOOST_OUTCOME_TRY(s.prepare(st,
                                  "UPDATE optimization_runs SET recipe_path = :path, updated_at = :now WHERE "
                                  "run_id = :run_id",
                                  "cannot update a run"));
      std::string const text = path.string();
      detail::opt_store::bind(st, ":run_id", run_id);
      detail::opt_store::bind(st, ":path", text);
      detail::opt_store::bind(st, ":now", s.now());
      BOOST_OUTCOME_TRY(s.run(st, "cannot update run '" + run_id + "'"));
      if (sqlite3_changes(s.db.get()) == 0) return s.missing(run_id);
      return success();
    });
  });
}

inline result<void> save_progress(OptimizationStore& store, OptimizationRun const& run) {
  return store.save_progress(run);
}

inline std::string engine_run_id(std::uint64_t seed) { return detail::run_id(seed); }

// ---------------------------------------------------------------------------
// Reading

inline result<std::optional<StoredRun>> OptimizationStore::get_run(std::string const& run_id) {
  namespace os = detail::opt_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<std::optional<StoredRun>> {
    return s.in_read([&]() -> result<std::optional<StoredRun>> {
      StoredRun out;
      std::string where = "run";
      try {
        {
          leash::detail::sqlite::Statement st;
          BOOST_OUTCOME_TRY(s.prepare(st,
                                      "SELECT " +
                                          os::select_list({"run_id", "status", "reason", "optimizer_model", "benchmark",
                                                           "search_space", "objectives", "best_trial_id",
                                                           "frontier_ids", "recipe_path", "created_at", "updated_at"}) +
                                          " FROM optimization_runs WHERE run_id = :run_id",
                                      "cannot read a run"));
          os::bind(st, ":run_id", run_id);
          int rc = st.step();
          if (rc == SQLITE_DONE) return std::optional<StoredRun>();
          if (rc != SQLITE_ROW) return s.sqlite_error(rc, "cannot read run '" + run_id + "'");
          auto row = s.row(st);
          out.run_id = row.text("run_id");
          out.status = row.text("status");
          out.reason = row.text("reason");
          out.optimizer_model = row.text("optimizer_model");
          out.benchmark = row.text("benchmark");
          out.search_space =
              os::space_from_json(os::parse_object(row.text("search_space"), "search_space"), "search_space");
          out.objectives = os::objectives_from_json(os::parse_json(row.text("objectives"), "objectives"), "objectives");
          out.best_trial_id = row.optional_text("best_trial_id");
          out.frontier_ids = os::string_array(os::parse_json(row.text("frontier_ids"), "frontier_ids"), "frontier_ids");
          out.recipe_path = row.optional_text("recipe_path");
          out.created_at = row.real("created_at");
          out.updated_at = row.real("updated_at");
        }
        leash::detail::sqlite::Statement st;
        BOOST_OUTCOME_TRY(s.prepare(
            st,
            "SELECT " +
                os::select_list({"trial_id", "config_trial_id", "params", "reasoning", "accuracy",
                                 "mean_latency_seconds", "total_cost_usd", "total_energy_joules", "total_tokens",
                                 "samples_evaluated", "analysis", "failure_modes", "metrics", "failed", "error",
                                 "feedback", "proposal_kind", "created_at", "updated_at"}) +
                " FROM optimization_trials WHERE run_id = :run_id ORDER BY id",
            "cannot read trials"));
        os::bind(st, ":run_id", run_id);
        int rc;
        while ((rc = st.step()) == SQLITE_ROW) {
          auto row = s.row(st);
          StoredTrial t;
          auto& r = t.result;
          r.trial_id = row.text("trial_id");
          where = "trial '" + r.trial_id + "'";
          r.config.trial_id = row.text("config_trial_id");
          r.config.params = os::parse_object(row.text("params"), "params");
          r.config.reasoning = row.text("reasoning");
          r.accuracy = row.real("accuracy");
          r.mean_latency_seconds = row.real("mean_latency_seconds");
          r.total_cost_usd = row.real("total_cost_usd");
          r.total_energy_joules = row.real("total_energy_joules");
          r.total_tokens = static_cast<std::uint64_t>(row.int64("total_tokens"));
          r.samples_evaluated = static_cast<std::uint64_t>(row.int64("samples_evaluated"));
          r.analysis = row.text("analysis");
          r.failure_modes =
              os::string_array(os::parse_json(row.text("failure_modes"), "failure_modes"), "failure_modes");
          r.metrics = os::parse_object(row.text("metrics"), "metrics");
          r.failed = row.int64("failed") != 0;
          r.error = row.text("error");
          t.feedback = os::parse_object(row.text("feedback"), "feedback");
          t.proposal_kind = row.text("proposal_kind");
          t.created_at = row.real("created_at");
          t.updated_at = row.real("updated_at");
          out.trials.push_back(std::move(t));
        }
        if (rc != SQLITE_DONE) return s.sqlite_error(rc, "cannot read the trials of run '" + run_id + "'");
      } catch (os::Corrupt const& e) {
        return Error{Errc::state_corrupt,
                     "optimization store '" + s.path_text + "', run '" + run_id + "', " + where + ": " + e.what()};
      }
      return std::optional<StoredRun>(std::move(out));
    });
  });
}

inline result<std::vector<StoredRunSummary>> OptimizationStore::list_runs(std::size_t limit) {
  namespace os = detail::opt_store;
  auto& s = *state_;
  return s.guarded([&]() -> result<std::vector<StoredRunSummary>> {
    leash::detail::sqlite::Statement st;
    BOOST_OUTCOME_TRY(s.prepare(
        st,
        "SELECT " +
            os::select_list({"run_id", "status", "reason", "optimizer_model", "benchmark", "best_trial_id",
                             "recipe_path", "created_at", "updated_at"}) +
            ", (SELECT COUNT(*) FROM optimization_trials t WHERE t.run_id = r.run_id) AS trials "
            "FROM optimization_runs r ORDER BY created_at DESC, id DESC LIMIT :limit",
        "cannot list runs"));
    os::bind(st, ":limit",
             static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
    std::vector<StoredRunSummary> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      auto row = s.row(st);
      StoredRunSummary r;
      r.run_id = row.text("run_id");
      r.status = row.text("status");
      r.reason = row.text("reason");
      r.optimizer_model = row.text("optimizer_model");
      r.benchmark = row.text("benchmark");
      r.best_trial_id = row.optional_text("best_trial_id");
      r.recipe_path = row.optional_text("recipe_path");
      r.trials = static_cast<std::uint64_t>(row.int64("trials"));
      r.created_at = row.real("created_at");
      r.updated_at = row.real("updated_at");
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return s.sqlite_error(rc, "cannot list runs");
    return out;
  });
}

// ---------------------------------------------------------------------------
// RecordingRunner

template <TrialRunner Runner>
boost::asio::awaitable<result<TrialResult>> RecordingRunner<Runner>::run_trial(TrialConfig const& config) {
  std::optional<result<TrialResult>> ran;
  std::exception_ptr thrown;
  std::string what;
  try {
    ran.emplace(co_await runner_.run_trial(config));
  } catch (std::exception const& e) {
    thrown = std::current_exception();
    what = e.what();
  } catch (...) {
    thrown = std::current_exception();
    what = "an exception that is not a std::exception";
  }
  TrialResult record;
  if (thrown) {
    record = detail::failed_trial(config, "the trial runner threw: " + what);
  } else if (!*ran) {
    record = detail::failed_trial(config, "the trial runner failed: " + ran->error().what());
  } else {
    record = ran->value();
    if (record.trial_id.empty()) record.trial_id = config.trial_id;
    if (record.config.trial_id.empty()) record.config = config;
  }
  if (!record.trial_id.empty()) {
    auto saved = store_->save_trial(run_id_, record);
    if (!saved) last_save_error_ = saved.error();
  }
  if (thrown) std::rethrow_exception(thrown);
  co_return std::move(*ran);
}

}  // namespace leash::learn::optimize

#endif
