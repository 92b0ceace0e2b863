// A unified diff of two texts, line by line: what a person approving an edit
// reads instead of the whole new file.
#ifndef LEASH_BLUEPRINT_DETAIL_LINE_DIFF_HPP
#define LEASH_BLUEPRINT_DETAIL_LINE_DIFF_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash::blueprint::detail {

/// Lines with their '\n' (the last one may lack it, and then differs from
/// the same text with one, as the file does).
inline std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::size_t len = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(0, len));
    text.remove_prefix(len);
  }
  return lines;
}

/// Appends a line for a terminal: control characters (but tab) shown as
/// `\r`, `\x1b`, … so model-written text cannot hide or rewrite what the
/// approver sees; then a newline, or diff's marker when the line had none.
inline void append_visible(std::string& out, std::string_view line) {
  bool has_newline = line.ends_with('\n');
  if (has_newline) line.remove_suffix(1);
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if (u == '\r') {
      out += "\\r";
    } else if ((u < 0x20 && u != '\t') || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += has_newline ? "\n" : "\n\\ No newline at end of file\n";
}

/// One line of the edit script: ' ' kept, '-' removed, '+' added.
struct DiffLine {
  char op;
  std::string_view text;
};

/// The edit script from `a` to `b`. Common leading and trailing lines are
/// matched first (an edit is usually local); the rest by longest common
/// subsequence when small enough, else as one removal and one addition.
inline std::vector<DiffLine> diff_lines(std::vector<std::string_view> const& a,
                                        std::vector<std::string_view> const& b) {
  std::size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  std::size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;

  std::vector<DiffLine> out;
  out.reserve(a.size() + m);
  for (std::size_t i = 0; i < prefix; ++i) out.push_back({' ', a[i]});
  if (n * m <= 4'000'000) {
    // lcs[i][j]: length of the LCS of a-middle[i..] and b-middle[j..].
    std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        at(i, j) = a[prefix + i] == b[prefix + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        out.push_back({' ', a[prefix + i]});
        ++i, ++j;
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        out.push_back({'-', a[prefix + i++]});  // removals first, as diff(1) shows them
      } else {
        out.push_back({'+', b[prefix + j++]});
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) out.push_back({'-', a[prefix + i]});
    for (std::size_t j = 0; j < m; ++j) out.push_back({'+', b[prefix + j]});
  }
  for (std::size_t i = a.size() - suffix; i < a.size(); ++i) out.push_back({' ', a[i]});
  return out;
}

/// `--- a/NAME`, `+++ b/NAME` and hunks with `context` lines around each
/// change; empty when the texts are equal. At most `max_lines` lines of hunks.
inline std::string unified_diff(std::string_view before, std::string_view after, std::string_view name,
                                std::size_t context = 3, std::size_t max_lines = 400) {
  auto a = split_lines(before);
  auto b = split_lines(after);
  auto script = diff_lines(a, b);
  std::string out;
  std::size_t shown = 0;
  std::size_t k = 0;
  // Line numbers (from 1) in a and b at script position k.
  std::size_t line_a = 1, line_b = 1;
  while (k < script.size()) {
    if (script[k].op == ' ') {
      ++k, ++line_a, ++line_b;
      continue;
    }
    // A hunk: back up `context` kept lines, run until `2 * context` kept lines in a row.
    std::size_t start = k;
    std::size_t back = 0;
    while (start > 0 && back < context && script[start - 1].op == ' ') --start, ++back;
    std::size_t ha = line_a - back, hb = line_b - back;
    std::size_t end = k, kept_run = 0;
    while (end < script.size()) {
      if (script[end].op == ' ') {
        if (++kept_run > 2 * context) break;
      } else {
        kept_run = 0;
      }
      ++end;
    }
    // Keep `context` of the kept lines after the last change (the break left
    // the one that ended the run outside already).
    std::size_t trailing = kept_run > 2 * context ? kept_run - 1 : kept_run;
    if (trailing > context) end -= trailing - context;
    std::size_t ca = 0, cb = 0;
    for (std::size_t x = start; x < end; ++x) {
      ca += script[x].op != '+';
      cb += script[x].op != '-';
    }
    if (out.empty()) {
      out += "--- a/";
      out += name;
      out += "\n+++ b/";
      out += name;
      out += '\n';
    }
    out += "@@ -" + std::to_string(ca ? ha : ha - 1) + ',' + std::to_string(ca) + " +" +
           std::to_string(cb ? hb : hb - 1) + ',' + std::to_string(cb) + " @@\n";
    for (std::size_t x = start; x < end; ++x) {
      if (shown++ == max_lines) {
        // Say what is not shown, so nobody approves a cut diff unknowingly.
        std::size_t removed = 0, added = 0;
        for (std::size_t y = x; y < script.size(); ++y) {
          removed += script[y].op == '-';
          added += script[y].op == '+';
        }
        out += "... diff cut at " + std::to_string(max_lines) + " lines: " + std::to_string(removed) +
               " more removed and " + std::to_string(added) + " more added lines not shown\n";
        return out;
      }
      out += script[x].op;
      append_visible(out, script[x].text);
    }
    for (std::size_t x = k; x < end; ++x) {
      line_a += script[x].op != '+';
      line_b += script[x].op != '-';
    }
    k = end;
  }
  return out;
}

}  // namespace leash::blueprint::detail

#endif
