// Definitions for leash/blueprint/test_report.hpp.
#ifndef LEASH_BLUEPRINT_IMPL_TEST_REPORT_HPP
#define LEASH_BLUEPRINT_IMPL_TEST_REPORT_HPP

#include <algorithm>
#include <charconv>
#include <cstddef>

namespace leash::blueprint {

namespace detail {

constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Calls `f(line)` for each line of `text` (without its '\n').
template <class F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Drops leading digits from `s`; false if there were none.
constexpr bool skip_digits(std::string_view& s) noexcept {
  std::size_t n = 0;
  while (n < s.size() && is_digit(s[n])) ++n;
  s.remove_prefix(n);
  return n > 0;
}

/// "  3 - stats.clamp (Failed)" → "stats.clamp"; empty if the line is not one.
inline std::string_view ctest_summary_entry(std::string_view line) {
  line = trim(line);
  if (!skip_digits(line) || !line.starts_with(" - ")) return {};
  line.remove_prefix(3);
  auto open = line.rfind(" (");
  if (open == std::string_view::npos || !line.ends_with(')')) return {};
  return trim(line.substr(0, open));
}

/// "3/4 Test #3: stats.clamp ....***Failed  0.01 sec" → "stats.clamp" when the
/// status is a failure; empty otherwise (passed, skipped, disabled, not a
/// progress line).
inline std::string_view ctest_progress_failure(std::string_view line) {
  line = trim(line);
  if (!skip_digits(line) || !line.starts_with('/')) return {};
  line.remove_prefix(1);
  if (!skip_digits(line) || !line.starts_with(" Test")) return {};
  auto colon = line.find(": ");
  auto stars = line.find("***");
  if (colon == std::string_view::npos || stars == std::string_view::npos || stars < colon) return {};
  std::string_view status = line.substr(stars + 3);
  bool failed = status.starts_with("Failed") || status.starts_with("Timeout") || status.starts_with("Exception") ||
                (status.starts_with("Not Run") && !status.starts_with("Not Run (Disabled)"));
  if (!failed) return {};
  std::string_view name = line.substr(colon + 2, stars - colon - 2);
  // The name is padded with " ....": drop the dots, then the space before them.
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return trim(name);
}

}  // namespace detail

inline TestRunReport CtestParser::parse(std::string_view output) const {
  TestRunReport report;
  std::set<std::string> from_progress;
  bool in_failed_list = false;
  bool have_failed_list = false;
  detail::for_each_line(output, [&](std::string_view line) {
    std::string_view t = detail::trim(line);
    if (t.find("% tests passed, ") != std::string_view::npos || t == "No tests were found!!!")
      report.summary_seen = true;
    if (t == "The following tests FAILED:") {
      in_failed_list = have_failed_list = true;
      return;
    }
    if (in_failed_list) {
      auto name = detail::ctest_summary_entry(line);
      if (!name.empty()) {
        report.failing.emplace(name);
        return;
      }
      in_failed_list = false;
    }
    auto name = detail::ctest_progress_failure(line);
    if (!name.empty()) from_progress.emplace(name);
  });
  // The summary list names tests exactly; progress lines are the fallback for
  // a run cut short before it (their padding makes a name ending in '.' ambiguous).
  if (!have_failed_list) report.failing = std::move(from_progress);
  return report;
}

inline TestRunReport PytestParser::parse(std::string_view output) const {
  TestRunReport report;
  std::string_view ids_from = output;
  if (auto banner = output.rfind("short test summary info"); banner != std::string_view::npos)
    if (auto nl = output.find('\n', banner); nl != std::string_view::npos) ids_from = output.substr(nl + 1);
  detail::for_each_line(output, [&](std::string_view line) {
    bool in_summary = line.data() >= ids_from.data();
    std::string_view t = detail::trim(line);
    for (std::string_view tag : {std::string_view("FAILED "), std::string_view("ERROR ")}) {
      if (!in_summary || !line.starts_with(tag)) continue;
      std::string_view id = line.substr(tag.size());
      if (auto dash = id.find(" - "); dash != std::string_view::npos) id = id.substr(0, dash);
      id = detail::trim(id);
      if (!id.empty()) report.failing.emplace(id);
    }
    // The closing line: "4 failed, 2 passed, 1 error in 0.03s", possibly
    // framed by '=' (without -q), or "no tests ran in 0.01s".
    while (!t.empty() && (t.front() == '=' || t.front() == '!' || t.front() == ' ')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == '=' || t.back() == '!' || t.back() == ' ')) t.remove_suffix(1);
    auto in = t.rfind(" in ");
    if (in != std::string_view::npos && t.ends_with('s') && (detail::is_digit(t.front()) || t.starts_with("no tests ran"))) {
      std::string_view secs = t.substr(in + 4);
      secs.remove_suffix(1);
      if (!secs.empty() && detail::is_digit(secs.front())) report.summary_seen = true;
    }
  });
  return report;
}

inline std::optional<int> exit_code_marker(std::string_view observation) {
  constexpr std::string_view tag = "[exit code: ";
  auto at = observation.rfind(tag);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = observation.substr(at + tag.size());
  int code = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), code);
  if (ec != std::errc{} || end == rest.data() + rest.size() || *end != ']') return std::nullopt;
  return code;
}

namespace detail {

inline std::set<std::string> string_set(json::value const* v) {
  std::set<std::string> out;
  if (v && v->is_array())
    for (auto const& x : v->get_array())
      if (x.is_string()) out.emplace(x.get_string());
  return out;
}

inline json::array to_array(std::set<std::string> const& s) {
  json::array a;
  a.reserve(s.size());
  for (auto const& x : s) a.emplace_back(x);
  return a;
}

}  // namespace detail

template <TestOutputParser Parser>
MetricSnapshot TestFailureMetric<Parser>::measure(std::string_view observation, State const& state) const {
  std::string full = full_output ? full_output(observation) : std::string();
  std::string_view text = full_output ? std::string_view(full) : observation;
  TestRunReport report = parser.parse(text);
  std::optional<int> code = exit_code_marker(text);

  // Earlier measurements of this run: the first gives the baseline, the last
  // the previous failing set.
  json::object const* first = nullptr;
  json::object const* last = nullptr;
  auto named = [](json::object const& d) {
    auto const* f = d.if_contains("failing");
    if (!f || !f->is_array()) return false;
    for (auto const& v : f->get_array())
      if (v.is_string() && v.get_string() == unidentified_failure) return false;
    return true;
  };
  for (auto const& it : state.iterations) {
    if (!it.metric || !it.metric->detail.contains("failing")) continue;
    if (!first && named(it.metric->detail)) first = &it.metric->detail;
    last = &it.metric->detail;
  }
  std::set<std::string> previous = last ? detail::string_set(last->if_contains("failing")) : std::set<std::string>{};

  std::set<std::string> failing = std::move(report.failing);
  bool command_failed = !code || *code != 0;
  if (failing.empty() && command_failed) {
    failing = previous;
    failing.emplace(unidentified_failure);
  }

  std::set<std::string> baseline;
  if (first) {
    auto const* b = first->if_contains("baseline");
    baseline = detail::string_set(b ? b : first->if_contains("failing"));
  } else {
    baseline = failing;
  }

  std::size_t fixed = 0, newly_broken = 0;
  for (auto const& t : baseline) fixed += failing.count(t) == 0;
  for (auto const& t : failing) newly_broken += baseline.count(t) == 0;
  bool failing_anew = last && std::any_of(failing.begin(), failing.end(),
                                           [&](std::string const& t) { return previous.count(t) == 0; });

  MetricSnapshot snap;
  snap.value = static_cast<double>(fixed) - static_cast<double>(newly_broken);
  snap.regression = newly_broken > 0 || failing_anew;
  snap.detail["failing"] = detail::to_array(failing);
  snap.detail["baseline"] = detail::to_array(baseline);
  snap.detail["fixed"] = fixed;
  snap.detail["newly_broken"] = newly_broken;
  if (code)
    snap.detail["exit_code"] = *code;
  else
    snap.detail["exit_code"] = nullptr;
  return snap;
}

template <TestOutputParser Parser>
bool TestFailureMetric<Parser>::is_success(MetricSnapshot const& snapshot) const {
  auto const* failing = snapshot.detail.if_contains("failing");
  auto const* code = snapshot.detail.if_contains("exit_code");
  bool exited_zero = code && ((code->is_int64() && code->get_int64() == 0) ||
                              (code->is_uint64() && code->get_uint64() == 0));
  return failing && failing->is_array() && failing->get_array().empty() && exited_zero;
}

}  // namespace leash::blueprint

#endif
