// leash/learn/spec_search/config.hpp — spec search's settings from a TOML
// file: the `[learning.spec_search]` table, read into the session's options
// and the session loop's stop conditions.
//
//   namespace ss = leash::learn::spec_search;
//   auto cfg = ss::load_spec_search_config(home / "config.toml");   // result<SpecSearchConfig>
//   if (!cfg) return cfg.error();             // "…/config.toml: [learning.spec_search].min_trace: …"
//   ss::SpecSearchOptions options = cfg.value().session;   // add sessions_dir, student_tools, …
//   auto stops = ss::stops_from<5>(cfg.value());            // result<StopList<…, Stagnation<5>, CostBudget>>
//   leash::learn::SessionLoop loop(std::move(session), std::move(stops).value());
//
// The table (every key optional; the values shown are the defaults):
//
//   [learning.spec_search]
//   teacher_model = "claude-opus-4-6"
//   autonomy_mode = "tiered"               # auto | tiered | manual
//   min_traces = 20
//   max_cost_per_session_usd = 5.0
//   max_tool_calls_per_diagnosis = 30
//   stagnation_k = 5
//   max_total_cost_usd = 50.0
//   stagnation_eps = 0.001
//   max_regression = 0.01                  # the file's default; BenchmarkGate's is 0.05
//   min_improvement = 0.0
//   benchmark_subsample_size = 50
//   benchmark_version = "personal_v1"
//
// Reference: OpenJarvis's `[learning.spec_search]` config
// (reference/openjarvis-learning.md §1.5) and its orchestrator's
// `from_config`, which keeps the paper's max_regression 0.01 (§3
// "Orchestrator [4]") while the gate's and the orchestrator's constructors
// default to 0.05. Both are kept: a config read from a file (or a
// default-constructed SpecSearchConfig) has 0.01, SpecSearchOptions and
// BenchmarkGate built in code have 0.05. Changed: the reference read the
// table without checks; here every key is type-checked and range-checked, and
// a key that is not one of the twelve is an error that names it (with the
// key it most resembles), so a typo cannot silently leave a default in
// place. The reference's composite-reward weights are not read (leash's
// session has no composite reward); a file that sets them is refused as
// having unknown keys.
//
// Needs toml++ (the file) and SQLite (session.hpp's SessionStore).
#ifndef LEASH_LEARN_SPEC_SEARCH_CONFIG_HPP
#define LEASH_LEARN_SPEC_SEARCH_CONFIG_HPP

#include <leash/error.hpp>
#include <leash/learn/session_loop.hpp>
#include <leash/learn/spec_search/gate.hpp>
#include <leash/learn/spec_search/session.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace leash::learn::spec_search {

/// The paper's max_regression, the default of a config file (the gate's
/// constructor default is 0.05).
inline constexpr double config_max_regression = 0.01;

/// SpecSearchOptions as a config file leaves them: the constructor defaults,
/// except the gate's max_regression, which is config_max_regression.
SpecSearchOptions config_session_defaults();

/// Spec search's settings as a `[learning.spec_search]` table gives them. A
/// default-constructed SpecSearchConfig is what a file without the table (or
/// with an empty one) gives.
struct SpecSearchConfig {
  /// The teacher's model id (what the teacher transport is asked for).
  std::string teacher_model = "claude-opus-4-6";
  /// autonomy_mode, min_traces, max_cost_usd (max_cost_per_session_usd),
  /// max_tool_calls (max_tool_calls_per_diagnosis), benchmark_version,
  /// subsample_size (benchmark_subsample_size), gate.max_regression and
  /// gate.min_improvement come from the file; the other fields keep their
  /// defaults (they are the program's to set).
  SpecSearchOptions session = config_session_defaults();
  /// The session loop's stops (stops_from): stagnation after K sessions
  /// without an improvement above eps, and the total budget in USD.
  int stagnation_k = 5;
  double stagnation_eps = 0.001;
  double max_total_cost_usd = 50.0;
};

/// Reads the `[learning.spec_search]` table of `toml_text` (other tables are
/// ignored; no table: the defaults). `source` names the text in errors.
///
/// Every error is Errc::invalid_config:
///  * a TOML syntax error: "SOURCE: line L, column C: what";
///  * "SOURCE: [learning.spec_search]: must be a table, not …" (and the same
///    for `learning`);
///  * "SOURCE: [learning.spec_search].KEY: what is wrong", for a key that is
///    not one of the table's ("unknown key; did you mean \"min_traces\"?"),
///    a value of the wrong type (an integer is accepted where a float is
///    expected; a float where an integer is expected is an error) or a value
///    out of range: teacher_model and benchmark_version non-empty strings;
///    autonomy_mode "auto", "tiered" or "manual"; min_traces and
///    benchmark_subsample_size >= 0; max_tool_calls_per_diagnosis and
///    stagnation_k >= 1 (and at most INT_MAX for stagnation_k); both costs
///    finite and > 0; stagnation_eps finite and >= 0; max_regression and
///    min_improvement as BenchmarkGate::validate() accepts them (finite, >= 0).
result<SpecSearchConfig> parse_spec_search_config(std::string_view toml_text, std::string_view source = "config");

/// parse_spec_search_config over the file's bytes, `file` naming it in
/// errors. A file that cannot be read: Errc::invalid_config, "FILE: cannot
/// read it: why".
result<SpecSearchConfig> load_spec_search_config(std::filesystem::path const& file);

/// The session loop's stops for `config`, in the reference's precedence: a
/// failed session, then Stagnation<K> with eps = stagnation_eps, then a
/// CostBudget of max_total_cost_usd.
///
/// Why K is a template parameter: Stagnation<K> takes the number of
/// sessions as part of its type (it is checked at compile time, and it is
/// part of the StopList and so of the SessionLoop's type), and a value read
/// from a file at run time cannot pick a type. So the program names K, and
/// stops_from checks that the file agrees: when config.stagnation_k != K the
/// result is Errc::invalid_config saying both numbers, rather than a loop
/// that silently ignores the file. A program that must follow any file can
/// switch over the few K it supports. Also Errc::invalid_config when
/// stagnation_eps or max_total_cost_usd is refused by Stagnation::validate()
/// or CostBudget::make() (a config that was changed after parsing).
template <int K = 5>
result<StopList<SessionFailed, Stagnation<K>, CostBudget>> stops_from(SpecSearchConfig const& config);

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/config.hpp>

#endif
