// leash/learn/agent_config.hpp — agent configurations as TOML files, the
// recommendations traces suggest for them, and a version history with rollback.
//
// A configuration is one TOML file, `<config_dir>/<agent>.toml`:
//
//     [agent]
//     name = "coder"
//     tools = ["read_file", "run_tests"]
//     max_turns = 10
//     temperature = 0.3
//     system_prompt = "You fix failing tests.\nKeep diffs small."
//
// Every write archives the file it replaces as
// `<config_dir>/.history/<agent>.v<N>.toml` (N = 1 + the highest N there) and
// then replaces the current file atomically. Versions are numbered by N, the
// current file taking the next number, and are listed in numeric order.
//
// Semantics follow OpenJarvis's AgentConfigEvolver (reference §2.6), with
// these fixes: the file is written by a TOML serialiser (toml++), so any
// prompt round-trips (§4.6); files are replaced atomically (§4.6); versions
// sort as numbers, so v10 comes after v9, not after v1 (§4.7); the analysis
// can be restricted to one agent and, optionally, to traces with enough
// feedback (§4.8); ties are explicit (first added wins); and archive numbers
// are claimed atomically, so two writers never take the same N.
//
// Needs toml++ (Debian: libtomlplusplus-dev); CMake defines
// LEASH_HAS_TOMLPLUSPLUS when it found it.
#ifndef LEASH_LEARN_AGENT_CONFIG_HPP
#define LEASH_LEARN_AGENT_CONFIG_HPP

#if !__has_include(<toml++/toml.hpp>) && !__has_include(<toml++/toml.h>)
#error "leash/learn/agent_config.hpp needs toml++ (Debian: libtomlplusplus-dev; CMake: find_package(tomlplusplus))"
#endif

#include <leash/error.hpp>
#include <leash/learn/detail/classifier.hpp>
#include <leash/learn/trace.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn {

/// One agent's configuration: the `[agent]` table of its TOML file.
struct AgentConfig {
  std::string name;                ///< also the file name: <name>.toml (see is_safe_agent_name)
  std::vector<std::string> tools;
  int max_turns = 10;              ///< at least 1
  double temperature = 0.3;        ///< finite, at least 0
  std::string system_prompt;

  friend bool operator==(AgentConfig const&, AgentConfig const&) = default;
};

/// Parses the TOML text of an agent configuration. `source` names it in
/// errors (a file name, say). Errc::invalid_config, naming the source and the
/// reason, when the text is not TOML (with line and column), has no [agent]
/// table, lacks `name`, or a key has the wrong type or an impossible value.
/// Keys leash does not know are ignored.
result<AgentConfig> parse_agent_config(std::string_view toml_text, std::string_view source = "agent config");

/// Reads and parses an agent configuration file: Errc::store_failed when it
/// cannot be read, Errc::invalid_config (naming the file) when it is not a
/// valid configuration.
result<AgentConfig> parse_agent_config_file(std::filesystem::path const& file);

/// The TOML text of `config`: an `[agent]` table with name, tools, max_turns,
/// temperature and system_prompt, in that order. Strings are written by
/// toml++ as single-line basic strings (newlines, quotes, backslashes and
/// control characters escaped; other Unicode as is), so any valid UTF-8
/// round-trips through parse_agent_config.
std::string to_toml(AgentConfig const& config);

/// Whether `name` can be an agent's file name: not empty, at most 200 bytes,
/// no '/', '\\' or NUL, no control characters, not starting with '.' (so not
/// "." or ".." and never the .history directory).
bool is_safe_agent_name(std::string_view name) noexcept;

/// What traces suggest for one query class.
struct Recommendation {
  std::string query_class;
  std::vector<std::string> recommended_tools;  ///< best score first; ties: first called
  std::string recommended_agent;               ///< best score; ties: first added
  int recommended_max_turns = 5;
  std::size_t sample_count = 0;                ///< traces of the class analysed
};

/// Which traces the evolver's analysis takes.
struct EvolverOptions {
  /// Only traces of this agent (reference §4.8: the orchestrator's agent_id
  /// never reached the evolver); all agents when empty.
  std::optional<std::string> agent;
  /// When set, only traces with feedback at least this. The reference stores
  /// min_quality = 0.5 and never applies it; leash applies it only when asked,
  /// because dropping low-feedback runs would also drop most failures and
  /// inflate every success rate.
  std::optional<double> min_quality;
  /// How queries are classed; empty: classify_query.
  QueryClassifier classify;
};

/// One stored version of an agent's configuration.
struct VersionInfo {
  std::uint64_t version = 0;             ///< N of <agent>.v<N>.toml; the current file: highest N + 1
  std::filesystem::path path;
  std::filesystem::file_time_type modified{};
  bool current = false;                  ///< the live <agent>.toml, not an archive
};

/// Analyses traces into recommendations and keeps agent configurations,
/// versioned, in one directory. See the file comment.
class AgentConfigEvolver {
 public:
  /// Uses `config_dir`, creating it and its `.history` directory when absent
  /// (Errc::store_failed when that fails).
  static result<AgentConfigEvolver> open(std::filesystem::path config_dir, EvolverOptions options = {});

  // -- analysis: a streaming accumulator ------------------------------------

  /// Takes one trace into account; true unless the options left it out.
  bool add(Trace const& trace);

  /// One recommendation per query class, classes in lexicographic order; a
  /// class whose traces name no agent is left out. Per class: the agent with
  /// the best 0.6·success_rate + 0.4·mean_feedback; every tool called, by
  /// 0.4·success_rate + 0.4·mean_feedback + 0.2·min(ln(1 + calls)/10, 1);
  /// max_turns = max(turns[min(⌊0.75·n⌋, n − 1)] + 2, 5) over the class's n
  /// traces sorted by tool calls. A trace without feedback counts as 0.
  std::vector<Recommendation> recommendations() const;

  std::size_t traces_seen() const noexcept { return seen_; }
  std::size_t traces_kept() const noexcept { return kept_; }

  // -- configurations and versions ------------------------------------------

  /// Writes `config` to <config_dir>/<name>.toml: archives the current file
  /// first (if any), then replaces it atomically (temporary file, fsync,
  /// rename, directory fsync). Errc::invalid_config for an unsafe name or a
  /// config that would not read back the same (max_turns < 1, a temperature
  /// that is negative or not finite, invalid UTF-8); Errc::store_failed for I/O.
  result<void> write_config(AgentConfig const& config);

  /// The configuration now in use for `agent`.
  result<AgentConfig> load(std::string_view agent) const;

  /// Every version of `agent`'s configuration, archives in numeric order
  /// (v2 before v10), then the current file. Empty when there is none.
  result<std::vector<VersionInfo>> list_versions(std::string_view agent) const;

  /// Makes `version` the current configuration again. The current version: a
  /// no-op. Otherwise the current file is archived and the chosen version is
  /// copied over it, atomically. Errc::invalid_config, listing the versions
  /// there are, for a version that does not exist, or naming the file when the
  /// chosen version does not parse.
  result<void> rollback(std::string_view agent, std::uint64_t version);

  std::filesystem::path const& config_dir() const noexcept { return dir_; }
  std::filesystem::path history_dir() const { return dir_ / ".history"; }
  /// <config_dir>/<agent>.toml (the name is not checked here).
  std::filesystem::path config_path(std::string_view agent) const;

 private:
  AgentConfigEvolver(std::filesystem::path dir, EvolverOptions options)
      : dir_(std::move(dir)), options_(std::move(options)) {}

  struct Rate {
    std::size_t count = 0;
    std::size_t successes = 0;
    double feedback_sum = 0.0;
    std::size_t first_seen = 0;
  };
  struct ClassStats {
    std::size_t traces = 0;
    std::map<std::size_t, std::size_t> turns;  ///< tool calls per trace → how many traces
    std::map<std::string, Rate, std::less<>> tools;
    std::map<std::string, Rate, std::less<>> agents;
  };

  result<void> archive_current(std::string_view agent) const;

  std::filesystem::path dir_;
  EvolverOptions options_;
  std::size_t seen_ = 0;
  std::size_t kept_ = 0;
  std::size_t tool_calls_ = 0;
  std::map<std::string, ClassStats, std::less<>> classes_;
};

}  // namespace leash::learn

#include <leash/learn/impl/agent_config.hpp>

#endif
