#ifndef LEASH_STORE_IMPL_STORE_HPP
#define LEASH_STORE_IMPL_STORE_HPP

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>

namespace leash {

inline std::string new_run_id() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  unsigned char bytes[8] = {};
  RAND_bytes(bytes, sizeof bytes);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = std::string(stamp) + "-";
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 0xF];
  }
  return id;
}

// Not coroutines: they hand over to the store's own write, one frame less.
inline auto StoreInterface::append_shared_events(std::string run_id, std::vector<SharedEvent> events)
    -> task<void> {
  std::vector<Event> owned = detail::unshare_events(events);
  return append_events(std::move(run_id), std::move(owned));
}

inline auto StoreInterface::append_iteration_with_shared_events(State const& s, std::vector<SharedEvent> events)
    -> task<void> {
  std::vector<Event> owned = detail::unshare_events(events);
  return append_iteration_with_events(s, std::move(owned));
}

namespace detail {

/// The words of `text` for RunQuery::text: runs of ASCII letters and digits
/// (and any non-ASCII bytes, so words in other scripts count), lower-cased.
inline std::vector<std::string> query_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  auto is_word = [](unsigned char c) { return c >= 0x80 || std::isalnum(c); };
  for (unsigned char c : text) {
    if (is_word(c)) {
      word += static_cast<char>(c >= 0x80 ? c : std::tolower(c));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

/// Whether `word` (lower-case) starts a word of `field`, in any case.
inline bool starts_a_word(std::string_view field, std::string_view word) {
  auto is_word = [](unsigned char c) { return c >= 0x80 || std::isalnum(c); };
  for (std::size_t i = 0; i + word.size() <= field.size(); ++i) {
    if (i > 0 && is_word(static_cast<unsigned char>(field[i - 1]))) continue;
    bool same = true;
    for (std::size_t k = 0; k < word.size() && same; ++k) {
      auto c = static_cast<unsigned char>(field[i + k]);
      same = static_cast<char>(c >= 0x80 ? c : std::tolower(c)) == word[k];
    }
    if (same) return true;
  }
  return false;
}

}  // namespace detail

inline bool run_matches(RunQuery const& q, State const& s, double started_at) {
  if (!q.agent.empty() && s.info.agent != q.agent) return false;
  if (!q.model.empty() && s.info.model != q.model) return false;
  if (!q.exclude_agent.empty() && s.info.agent == q.exclude_agent) return false;
  if (q.outcome && outcome_of(s.status) != *q.outcome) return false;
  if (q.since && started_at < *q.since) return false;
  if (q.until && started_at > *q.until) return false;
  for (auto const& word : detail::query_words(q.text))
    if (!detail::starts_a_word(s.goal, word) && !detail::starts_a_word(s.info.result, word) &&
        !detail::starts_a_word(s.info.agent, word))
      return false;
  return true;
}

inline auto StoreInterface::scan_runs(RunQuery query, std::function<bool(State&&)> visit) -> task<void> {
  auto listed = co_await list_runs();
  if (listed.has_error()) co_return listed.error();
  // list_runs is newest first by creation; a run's start is its creation
  // unless the loop recorded one.
  std::uint64_t seen = 0;
  for (auto const& summary : listed.value()) {
    if (query.limit && seen >= *query.limit) break;
    auto loaded = co_await load(summary.run_id);
    if (loaded.has_error()) co_return loaded.error();
    State s = std::move(loaded).value();
    if (s.info.started_at <= 0.0) s.info.started_at = summary.created_at;
    if (!run_matches(query, s, s.info.started_at)) continue;
    ++seen;
    if (!query.with_iterations) s.iterations.clear();
    if (!visit(std::move(s))) break;
  }
  co_return success();
}

inline auto StoreInterface::count_runs(RunQuery query) -> task<std::uint64_t> {
  query.with_iterations = false;
  std::uint64_t n = 0;
  auto scanned = co_await scan_runs(std::move(query), [&](State&&) {
    ++n;
    return true;
  });
  if (scanned.has_error()) co_return scanned.error();
  co_return n;
}

inline auto StoreInterface::set_feedback(std::string run_id, double score, std::string source) -> task<void> {
  if (!std::isfinite(score) || score < 0.0 || score > 1.0)
    co_return Error{Errc::invalid_input, "feedback for run '" + run_id + "' must be a score in [0, 1], not " +
                                             std::to_string(score)};
  auto loaded = co_await load(run_id);
  if (loaded.has_error()) co_return loaded.error();
  State s = std::move(loaded).value();
  if (!s.status)
    co_return Error{Errc::invalid_input, "run '" + run_id +
                                             "' has not ended (it is running, or stopped without a status); "
                                             "feedback is for ended runs: resume it or let it end first"};
  s.info.feedback = score;
  s.info.feedback_source = std::move(source);
  s.info.feedback_at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  co_return co_await save_head(s);
}

}  // namespace leash

#endif
