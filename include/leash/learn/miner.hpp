// leash/learn/miner.hpp — training data mined from good runs: SFT pairs,
// the best model per query class, the best agent and tools per query class,
// and the JSONL files fine-tuning services read.
//
// The miner is a streaming accumulator: feed it traces one at a time (as a
// store lists them) with add(), then read the three analyses. It keeps the
// SFT pairs (they are the output) and small per-class tallies, never the
// traces, so mining 100,000 runs costs what their unique (query, result)
// pairs cost, not 100,000 traces at once (reference §4 "Scale and robustness").
//
// Semantics follow OpenJarvis's TrainingDataMiner (reference §2.5): a trace
// counts when it has feedback, the feedback is at least min_quality and the
// run succeeded. Ties are explicit here (the reference leaves them to
// iteration order): among equally good groups, the one whose first trace was
// added first wins. Stores list newest first, so fed from a listing this is
// the reference's "newest wins".
#ifndef LEASH_LEARN_MINER_HPP
#define LEASH_LEARN_MINER_HPP

#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/learn/detail/classifier.hpp>
#include <leash/learn/trace.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace leash::learn {

/// What the miner keeps and how it groups.
struct MinerOptions {
  /// Lowest feedback a trace may have to count (inclusive). Traces without
  /// feedback never count.
  double min_quality = 0.7;
  /// A class with fewer counted traces is left out of routing_pairs() and
  /// agent_config_pairs() (not of sft_pairs()).
  std::size_t min_samples_per_class = 1;
  /// Only traces of this agent (Trace::agent, compared exactly); all when empty.
  std::optional<std::string> agent;
  /// How queries are classed; empty: classify_query.
  QueryClassifier classify;
};

/// One supervised fine-tuning example.
struct SftPair {
  std::string input;        ///< the query, exactly as given
  std::string output;       ///< the result
  std::string query_class;
  std::string model;
  double feedback = 0.0;
};

/// A model's record within one query class.
struct ModelFeedback {
  double avg_feedback = 0.0;
  std::size_t count = 0;
};

/// The best model for one query class.
struct RoutingPair {
  std::string best_model;        ///< highest mean feedback; ties: first added
  double avg_feedback = 0.0;     ///< mean over the whole class, every model
  std::size_t sample_count = 0;  ///< counted traces in the class
  std::map<std::string, ModelFeedback, std::less<>> all_models;
};

/// The best agent, and the tools it used, for one query class.
struct AgentConfigPair {
  std::string best_agent;               ///< highest mean feedback; ties: first added ("" is an agent)
  std::vector<std::string> best_tools;  ///< best_agent's tool calls in the class, most frequent first; ties: first called
  double avg_feedback = 0.0;            ///< mean over the whole class, every agent
  std::size_t sample_count = 0;
};

/// Mines traces one at a time; see the file comment.
class TrainingDataMiner {
 public:
  explicit TrainingDataMiner(MinerOptions options = {});

  /// Takes one trace into account; true when it passed the filters (agent,
  /// feedback present and >= min_quality, outcome success). Order matters
  /// only for ties and for the order of sft_pairs().
  bool add(Trace const& trace);

  /// Each counted trace as an SFT pair, in the order added, an exact
  /// (query, result) duplicate of an earlier pair left out. Empty queries and
  /// results are kept, as the reference does.
  std::vector<SftPair> const& sft_pairs() const noexcept { return sft_; }

  /// Per query class (a class below min_samples_per_class is left out).
  std::map<std::string, RoutingPair, std::less<>> routing_pairs() const;

  /// Per query class (a class below min_samples_per_class is left out).
  std::map<std::string, AgentConfigPair, std::less<>> agent_config_pairs() const;

  std::size_t traces_seen() const noexcept { return seen_; }  ///< every add()
  std::size_t traces_kept() const noexcept { return kept_; }  ///< add() that returned true
  MinerOptions const& options() const noexcept { return options_; }

 private:
  struct Tally {
    double feedback_sum = 0.0;
    std::size_t count = 0;
    std::size_t first_seen = 0;  ///< sequence number of the group's first trace
  };
  struct ToolTally {
    std::size_t count = 0;
    std::size_t first_seen = 0;
  };
  struct AgentTally : Tally {
    std::map<std::string, ToolTally, std::less<>> tools;
  };
  struct ClassTally {
    double feedback_sum = 0.0;
    std::size_t count = 0;
    std::map<std::string, Tally, std::less<>> models;
    std::map<std::string, AgentTally, std::less<>> agents;
  };

  MinerOptions options_;
  std::size_t seen_ = 0;
  std::size_t kept_ = 0;
  std::size_t tool_calls_ = 0;  ///< sequence numbers for tool first-seen order
  std::vector<SftPair> sft_;
  /// Hash of (input, output) to the index of a pair in sft_: the pairs are
  /// stored once, the index holds only numbers.
  std::unordered_multimap<std::size_t, std::size_t> sft_index_;
  std::map<std::string, ClassTally, std::less<>> classes_;
};

/// Writes `pairs` as OpenAI's chat fine-tuning JSONL, one line per pair:
/// {"messages":[{"role":"system","content":…},{"role":"user","content":input},
/// {"role":"assistant","content":output}]}; the system message only when
/// `system_prompt` is given. Returns the number of lines, or Errc::store_failed
/// when the stream fails.
result<std::size_t> write_sft_jsonl_chat(std::span<SftPair const> pairs, std::ostream& out,
                                         std::optional<std::string_view> system_prompt = std::nullopt);

/// Writes `pairs` as {"input":…,"output":…} lines. Returns the number of lines,
/// or Errc::store_failed when the stream fails.
result<std::size_t> write_sft_jsonl_plain(std::span<SftPair const> pairs, std::ostream& out);

}  // namespace leash::learn

#include <leash/learn/impl/miner.hpp>

#endif
