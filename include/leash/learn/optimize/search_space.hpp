// leash/learn/optimize/search_space.hpp — what config optimisation may
// change: the dimensions of a search space, the parameters it keeps fixed,
// the rules it shows the proposer; the checks a proposal must pass; and the
// `[optimize]` TOML a space is loaded from.
//
//   namespace opt = leash::learn::optimize;
//   auto space = opt::default_search_space();        // or load_optimize_config(path)->search_space
//   std::string prompt = space.to_prompt();          // "# Search Space\n\n## Agent\n…"
//
//   json::object proposal = …;                       // params an LLM proposed
//   auto problems = space.check_proposal(proposal);  // [{key, message}, …], each saying what is allowed
//   if (!problems.empty()) {
//     ask_again(opt::format_proposal_errors(problems));  // once; then clamp (or reject, ValidationMode::strict)
//   }
//   auto params = space.validate(proposal, opt::ValidationMode::clamp);  // repaired, `fixed` applied
//
// A proposal's params map dotted names ("intelligence.temperature") to
// values. A name may be left out (the trial then keeps what it had); a name
// that is neither a dimension nor fixed is an error.
//
// Reference: OpenJarvis optimize/types.py, search_space.py and config.py
// (reference/openjarvis-learning.md §1.4, §2.9). Kept: the dimension kinds
// and their names, `primitive` (the text before the first dot), the prompt's
// outline (a block per primitive, sorted, "" shown as "other"; fixed
// parameters sorted; constraints), `fixed` overwriting every proposal, and
// the TOML keys and defaults. Changed: the reference never checks a
// proposal against the space (§4 item 11), so an out-of-range temperature or
// a model that is not an option went straight to a trial; here
// check_proposal() lists every problem in words the proposer can act on, and
// clamp_proposal() repairs what can be repaired and says what it changed.
// A space loaded from TOML is checked as a whole (a continuous dimension
// without a range, low > high, a categorical one without values, an unknown
// type, a repeated name are errors naming the file and the dimension), where
// the reference accepted them and failed later, or never.
//
// The TOML loader needs toml++ (Debian: libtomlplusplus-dev): it is declared
// when LEASH_HAS_TOMLPLUSPLUS is defined, as CMake does when it finds it.
// Everything else needs only Boost.JSON.
#ifndef LEASH_LEARN_OPTIMIZE_SEARCH_SPACE_HPP
#define LEASH_LEARN_OPTIMIZE_SEARCH_SPACE_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/optimize/types.hpp>

#include <boost/describe/enum.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::optimize {

/// The kind of values a dimension takes.
enum class DimensionType {
  categorical,  ///< exactly one of `values`
  continuous,   ///< a number in [low, high]
  integer,      ///< a whole number in [low, high]
  subset,       ///< a JSON array of distinct members of `values` (possibly empty)
  text,         ///< any string (a system prompt, say)
};
BOOST_DESCRIBE_ENUM(DimensionType, categorical, continuous, integer, subset, text)

/// "categorical", "continuous", "integer", "subset", "text".
constexpr std::string_view to_string(DimensionType t) noexcept {
  switch (t) {
    case DimensionType::continuous: return "continuous";
    case DimensionType::integer: return "integer";
    case DimensionType::subset: return "subset";
    case DimensionType::text: return "text";
    default: return "categorical";
  }
}

/// The type named `name` (one of the strings above); nullopt otherwise.
constexpr std::optional<DimensionType> dimension_type_from_string(std::string_view name) noexcept {
  for (auto t : {DimensionType::categorical, DimensionType::continuous, DimensionType::integer, DimensionType::subset,
                 DimensionType::text})
    if (to_string(t) == name) return t;
  return std::nullopt;
}

inline std::ostream& operator<<(std::ostream& os, DimensionType t) { return os << to_string(t); }

/// The part of a dotted parameter name before its first dot: "intelligence"
/// for "intelligence.model"; "" when there is no dot.
std::string primitive_of(std::string_view name);

/// One thing a trial may change.
struct SearchDimension {
  std::string name;  ///< dotted: "<primitive>.<knob>", e.g. "agent.max_turns"
  DimensionType type = DimensionType::categorical;
  std::vector<json::value> values;  ///< the options of categorical and subset dimensions
  /// The range of continuous (both required) and integer (each optional)
  /// dimensions; integer bounds are whole numbers.
  std::optional<double> low, high;
  std::string description;
  /// Groups dimensions in the prompt: primitive_of(name) when loaded from
  /// TOML or made by default_search_space(). When empty, to_prompt() derives
  /// it from the name.
  std::string primitive;
};

/// A problem with one key of a proposal, in words meant for the proposer:
/// what was wrong and what is allowed.
struct ProposalError {
  std::string key;
  std::string message;

  friend bool operator==(ProposalError const&, ProposalError const&) = default;
};

/// One repair clamp_proposal() made.
struct ProposalChange {
  std::string key;
  std::string message;  ///< "clamped 1.5 to 1 (range [0, 1])", "dropped: …"

  friend bool operator==(ProposalChange const&, ProposalChange const&) = default;
};

/// A proposal after clamp_proposal(): its params, valid for the space (fixed
/// parameters not yet applied), and what was changed to make them so.
struct ClampedProposal {
  json::object params;
  std::vector<ProposalChange> changes;  ///< in the proposal's key order; empty: nothing changed
};

/// What validate() does with a proposal that breaks the space.
enum class ValidationMode {
  strict,  ///< reject it: Errc::invalid_input listing every problem
  clamp,   ///< repair it with clamp_proposal()
};

/// The dimensions an optimisation explores, the parameters it never changes,
/// and rules for the proposer.
struct SearchSpace {
  std::vector<SearchDimension> dimensions;
  /// Set in every proposal, overwriting what it proposed (dotted names).
  json::object fixed;
  /// Shown to the proposer in the prompt; not enforced.
  std::vector<std::string> constraints;

  /// The dimension named `name`, or nullptr.
  SearchDimension const* find(std::string_view name) const noexcept;

  /// Markdown for the proposer's prompt: "# Search Space", then a
  /// "## <Primitive>" block per primitive in sorted order ("" as "Other"),
  /// each dimension in declaration order with its type and description and
  /// its options, range or "free-form text"; then "## Fixed Parameters"
  /// (sorted) and "## Constraints" when there are any. Values are written as
  /// JSON, as the proposer must write them.
  std::string to_prompt() const;

  /// Checks the space itself: every dimension has a non-empty name that no
  /// other has; categorical and subset dimensions have values; continuous
  /// ones have both low and high; bounds are finite and low ≤ high; integer
  /// bounds are whole numbers of at most 2^53 in magnitude. Errc::invalid_config
  /// naming the first dimension at fault (by name and 1-based position).
  result<void> check() const;

  /// Every problem of `params` (one ProposalError per key at fault, in the
  /// proposal's order): a key that is neither a dimension nor fixed;
  /// categorical: not one of the values; continuous: not a finite number,
  /// or outside [low, high]; integer: not a whole number, or outside the
  /// range; subset: not an array, a member that is not an option, a member
  /// listed twice; text: not a string. Numbers compare by value (2 and 2.0
  /// are the same option). Keys in `fixed` are not checked (they are
  /// overwritten). Empty: the proposal is valid.
  std::vector<ProposalError> check_proposal(json::object const& params) const;

  /// `params` made valid: numbers clamped into range, integers rounded to
  /// the nearest whole number (then clamped), a subset's members that are not
  /// options or are repeated removed (a lone option given without its array
  /// wrapped in one), and keys that are unknown or whose value cannot be
  /// repaired (a categorical value that is no option, a string for a number,
  /// a number for text) dropped. Valid values are kept in their canonical
  /// form (2.0 for an integer becomes 2; an option as the space writes it).
  /// Keys in `fixed` are kept as they are. `changes` says what was done.
  ClampedProposal clamp_proposal(json::object const& params) const;

  /// `params` with every `fixed` entry set, overwriting the proposal's.
  json::object apply_fixed(json::object params) const;

  /// The params a trial should run: strict — Errc::invalid_input listing
  /// every problem of check_proposal() when there is one, else the params in
  /// canonical form; clamp — clamp_proposal()'s params (never an error). In
  /// both modes `fixed` is applied last.
  result<json::object> validate(json::object const& params, ValidationMode mode) const;
};

/// `errors` as a Markdown list, one "- `key`: message" line each, to send
/// back to the proposer.
std::string format_proposal_errors(std::span<ProposalError const> errors);

/// leash's knobs, in the spirit of the reference's DEFAULT_SEARCH_SPACE:
/// intelligence.model (categorical: a few transport specs),
/// intelligence.temperature [0, 1], intelligence.max_tokens [256, 8192]
/// (integer), intelligence.system_prompt (text), agent.max_turns [1, 30]
/// (integer), tools.tool_set (subset of leash's file and test tools); two
/// constraints. Replace the model and tool lists with your own.
SearchSpace default_search_space();

/// An `[optimize]` configuration: the space, what to optimise, on what.
struct OptimizeConfig {
  SearchSpace search_space;
  /// `objectives`; default_objectives() when the file lists none.
  std::vector<ObjectiveSpec> objectives = default_objectives();
  /// `benchmarks`, or the single `benchmark` (max_samples 50); empty when
  /// the file names none.
  std::vector<BenchmarkSpec> benchmarks;
};

#if defined(LEASH_HAS_TOMLPLUSPLUS)

/// Parses the `[optimize]` table of a TOML text:
///
///     [optimize]
///     benchmark = "supergpqa"      # or [[optimize.benchmarks]] name|benchmark, max_samples = 200, weight = 1
///     max_samples = 50             # with `benchmark` only
///
///     [[optimize.search]]
///     name = "intelligence.temperature"
///     type = "continuous"          # default categorical
///     low = 0.0
///     high = 1.0
///     description = "Sampling temperature"   # `values = [...]` for categorical and subset
///
///     [optimize.fixed]
///     "intelligence.max_tokens" = 2048       # nested tables become dotted names
///
///     [optimize.constraints]
///     rules = ["Keep the prompt short"]
///
///     [[optimize.objectives]]
///     metric = "accuracy"          # direction = "maximize" (or "minimize"), weight = 1
///
/// `benchmarks` wins over `benchmark`. Keys leash does not know are ignored.
/// Errc::invalid_config naming `source`, the entry (e.g. "[[optimize.search]]
/// #2 \"intelligence.temperature\"") and the problem: a TOML syntax error
/// (line and column), no [optimize] table, a key of the wrong type, a
/// dimension without a name or of an unknown type, a space that fails
/// SearchSpace::check(), an unknown direction, a negative or non-finite
/// weight, max_samples below 1. Each dimension's primitive is primitive_of(name).
result<OptimizeConfig> optimize_config_from_toml_string(std::string_view toml_text,
                                                        std::string_view source = "optimize config");

/// Reads and parses an `[optimize]` TOML file; Errc::invalid_config naming
/// the file when it cannot be read or is not a valid configuration.
result<OptimizeConfig> load_optimize_config(std::filesystem::path const& file);

#endif

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/search_space.hpp>

#endif
