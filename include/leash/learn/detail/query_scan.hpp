// leash/learn/detail/query_scan.hpp — one pass over a query that finds every
// signal classify_query() and score_complexity() look for. Not for direct use.
//
// The reference states these signals as Python regular expressions (case-
// insensitive, Unicode `\b`, `\s`, `\w`). Compiled, they cost about 40 times
// this scan with Boost.Regex and 1000 times with std::regex (figures in
// docs/learn-routing.md), so the query is split into words once and each
// pattern becomes a word test plus, where it needs one, a look at the
// characters right after the word.
//
// What "word" and "space" mean, as Python's `re` means them on str:
// * space: ASCII \t\n\v\f\r, 0x1c–0x1f, ' ', and the Unicode spaces U+0085,
//   U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000;
// * word: ASCII letters, digits and '_'; a non-ASCII character is a word
//   character unless it is a space or lies in a common punctuation or symbol
//   block (Latin-1 punctuation, General Punctuation, arrows, mathematical
//   operators, box drawing, dingbats, CJK and full-width punctuation, emoji),
//   is a combining diacritic (U+0300–U+036F), or is the sentence punctuation
//   of a few scripts (Greek, Armenian, Hebrew, Arabic, Devanagari, Thai,
//   Ethiopic). Python asks the Unicode database; this approximation differs
//   only for rarer symbols and marks, which it takes for letters.
// * Case folding is ASCII: every keyword is ASCII (Python also folds the long
//   s and the Kelvin sign into `s` and `k`).
// * A byte that is not valid UTF-8 counts as one non-word character.
#ifndef LEASH_LEARN_DETAIL_QUERY_SCAN_HPP
#define LEASH_LEARN_DETAIL_QUERY_SCAN_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace leash::learn::detail {

/// Everything one scan finds. The `classify_*` flags are the narrower patterns
/// classify_query() uses; score_complexity() widens them with the `*_extra` ones.
struct QuerySignals {
  std::size_t code_points = 0;  ///< the length, as Python's len() counts it
  std::size_t n_questions = 0;  ///< '?' characters
  std::size_t n_subtasks = 0;   ///< numbered and bulleted lines
  bool code_fence = false;      ///< ``` or an inline `span`
  bool code_word = false;       ///< def/class/import/function followed by a space
  bool code_extra = false;      ///< const/var/let, if(, ->, =>, {}, for x in, #include, System.out
  bool math_word = false;       ///< solve/integral/equation/calculate/compute
  bool math_extra = false;      ///< proof/derivative/matrix/theorem/sigma/sum/limit/probability
  bool reasoning = false;       ///< explain, analyze, … , step by step, pros and cons, trade-off
  bool multi_step = false;      ///< then…then, first…next, step N, and also, "1. "
  bool creative = false;        ///< create/design/draft/compose; write…essay, generate…code on a line

  bool classify_code() const noexcept { return code_fence || code_word; }
  bool has_code() const noexcept { return code_fence || code_word || code_extra; }
  bool has_math() const noexcept { return math_word || math_extra; }
};

inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

/// One decoded character: its code point and its length in bytes.
struct Char {
  std::uint32_t cp;
  std::size_t len;
};

/// The character at `i` (i < s.size()). An invalid sequence is one byte, cp 0xFFFD.
inline Char decode(std::string_view s, std::size_t i) noexcept {
  auto const b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char const c = b(i);
  if (c < 0x80) return {c, 1};
  std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (len == 0 || c > 0xF4 || i + len > s.size()) return {0xFFFD, 1};
  std::uint32_t cp = c & (0x3F >> (len - 1));
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return {0xFFFD, 1};
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  return {cp, len};
}

constexpr bool is_space_cp(std::uint32_t cp) noexcept {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r') || (cp >= 0x1C && cp <= 0x1F);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

constexpr bool is_ascii_word(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

constexpr bool is_word_cp(std::uint32_t cp) noexcept {
  if (cp < 0x80) return is_ascii_word(static_cast<unsigned char>(cp));
  if (cp <= 0xBF)  // Latin-1 punctuation and symbols, but ª ² ³ µ ¹ º ¼ ½ ¾ are alphanumeric
    return cp == 0xAA || cp == 0xB2 || cp == 0xB3 || cp == 0xB5 || cp == 0xB9 || cp == 0xBA ||
           (cp >= 0xBC && cp <= 0xBE);
  if (cp == 0xD7 || cp == 0xF7 || cp == 0xFFFD || cp == 0xFEFF || is_space_cp(cp)) return false;
  if (cp >= 0x0300 && cp <= 0x036F) return false;  // combining diacritical marks
  if (cp < 0x2000)  // sentence punctuation of Greek, Armenian, Hebrew, Arabic, Devanagari, Thai, Ethiopic
    return !(cp == 0x037E || cp == 0x0387 || (cp >= 0x055A && cp <= 0x055F) || cp == 0x0589 || cp == 0x058A ||
             cp == 0x05BE || cp == 0x05C0 || cp == 0x05C3 || cp == 0x05C6 || cp == 0x05F3 || cp == 0x05F4 ||
             cp == 0x060C || cp == 0x061B || cp == 0x061F || (cp >= 0x066A && cp <= 0x066D) || cp == 0x06D4 ||
             cp == 0x0964 || cp == 0x0965 || cp == 0x0E3F || cp == 0x0E4F || cp == 0x0E5A || cp == 0x0E5B ||
             cp == 0x10FB || (cp >= 0x1361 && cp <= 0x1368));
  if (cp <= 0x206F) return false;  // General Punctuation
  if (cp >= 0x20A0 && cp <= 0x20CF) return false;  // currency
  if (cp >= 0x2190 && cp <= 0x23FF) return false;  // arrows, operators, technical
  if (cp >= 0x2500 && cp <= 0x2BFF) return false;  // box drawing … dingbats, symbols
  if (cp >= 0x2E00 && cp <= 0x2E7F) return false;  // supplemental punctuation
  if ((cp >= 0x3000 && cp <= 0x3004) || (cp >= 0x3008 && cp <= 0x3020) || cp == 0x3030 ||
      (cp >= 0x303D && cp <= 0x303F))
    return false;  // CJK punctuation (not its iteration marks and numerals)
  if (cp >= 0xFE10 && cp <= 0xFE6F) return false;  // vertical, compatibility and small forms
  if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0xFF3B && cp <= 0xFF40) ||
      (cp >= 0xFF5B && cp <= 0xFF65))
    return false;  // full-width punctuation
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;  // emoji and pictographs
  return true;
}

/// Bytes of the space character at `i`, 0 if none (or i at the end).
inline std::size_t space_at(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) return 0;
  auto const c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return is_space_cp(c) ? 1 : 0;
  Char const ch = decode(s, i);
  return is_space_cp(ch.cp) ? ch.len : 0;
}

/// Bytes of the word character at `i`, 0 if none.
inline std::size_t word_at(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) return 0;
  auto const c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return is_ascii_word(c) ? 1 : 0;
  Char const ch = decode(s, i);
  return is_word_cp(ch.cp) ? ch.len : 0;
}

inline std::size_t skip_spaces(std::string_view s, std::size_t i) noexcept {
  while (std::size_t n = space_at(s, i)) i += n;
  return i;
}

inline std::size_t skip_word(std::string_view s, std::size_t i) noexcept {
  while (std::size_t n = word_at(s, i)) i += n;
  return i;
}

/// `\b` after position i-1: the end of the text or a non-word character.
inline bool boundary_at(std::string_view s, std::size_t i) noexcept { return word_at(s, i) == 0; }

constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// s[i, i + lit.size()) equals `lit` (lowercase ASCII), ignoring ASCII case.
inline bool iequals_at(std::string_view s, std::size_t i, std::string_view lit) noexcept {
  if (i > s.size() || s.size() - i < lit.size()) return false;
  for (std::size_t k = 0; k < lit.size(); ++k)
    if (lower(s[i + k]) != lit[k]) return false;
  return true;
}

/// The keywords, one enumerator per word the patterns test whole.
enum class Kw : std::uint8_t {
  none,
  // code (classification): followed by a space
  def, class_, import, function,
  // code (complexity only)
  const_, var, let, if_, for_,
  // math (classification and complexity), then complexity only
  solve, integral, equation, calculate, compute,
  proof, derivative, matrix, theorem, sigma, sum, limit, probability,
  // reasoning
  explain, analyze, compare, why, reason, think, evaluate, step, pros, trade, tradeoff, tradeoffs,
  // multi-step
  and_, additionally, furthermore, then, first, next,
  // creative
  create, design, draft, compose, write, generate, essay, story, article, report, poem, code, script, program,
};

/// Up to 8 bytes of a word as one integer, first byte lowest: keywords are
/// compared as integers (a switch), not as strings.
constexpr std::uint64_t pack8(std::string_view w) noexcept {
  std::uint64_t v = 0;
  for (std::size_t k = 0; k < w.size() && k < 8; ++k) v |= std::uint64_t(static_cast<unsigned char>(w[k])) << (8 * k);
  return v;
}

/// The keyword a lowercase ASCII word is, or Kw::none: `lo` packs its first 8
/// bytes, `hi` the rest (a word of at most 8 has hi 0 and zero padding in lo,
/// which no keyword contains, so lo alone tells them apart).
inline Kw keyword(std::uint64_t lo, std::uint64_t hi, std::size_t len) noexcept {
  if (len <= 8) {
    switch (lo) {
      case pack8("def"): return Kw::def;
      case pack8("class"): return Kw::class_;
      case pack8("import"): return Kw::import;
      case pack8("function"): return Kw::function;
      case pack8("const"): return Kw::const_;
      case pack8("var"): return Kw::var;
      case pack8("let"): return Kw::let;
      case pack8("if"): return Kw::if_;
      case pack8("for"): return Kw::for_;
      case pack8("solve"): return Kw::solve;
      case pack8("integral"): return Kw::integral;
      case pack8("equation"): return Kw::equation;
      case pack8("compute"): return Kw::compute;
      case pack8("proof"): return Kw::proof;
      case pack8("matrix"): return Kw::matrix;
      case pack8("theorem"): return Kw::theorem;
      case pack8("sigma"): return Kw::sigma;
      case pack8("sum"): return Kw::sum;
      case pack8("limit"): return Kw::limit;
      case pack8("explain"): return Kw::explain;
      case pack8("analyze"): return Kw::analyze;
      case pack8("compare"): return Kw::compare;
      case pack8("why"): return Kw::why;
      case pack8("reason"): return Kw::reason;
      case pack8("think"): return Kw::think;
      case pack8("evaluate"): return Kw::evaluate;
      case pack8("step"): return Kw::step;
      case pack8("pros"): return Kw::pros;
      case pack8("trade"): return Kw::trade;
      case pack8("tradeoff"): return Kw::tradeoff;
      case pack8("and"): return Kw::and_;
      case pack8("then"): return Kw::then;
      case pack8("first"): return Kw::first;
      case pack8("next"): return Kw::next;
      case pack8("create"): return Kw::create;
      case pack8("design"): return Kw::design;
      case pack8("draft"): return Kw::draft;
      case pack8("compose"): return Kw::compose;
      case pack8("write"): return Kw::write;
      case pack8("generate"): return Kw::generate;
      case pack8("essay"): return Kw::essay;
      case pack8("story"): return Kw::story;
      case pack8("article"): return Kw::article;
      case pack8("report"): return Kw::report;
      case pack8("poem"): return Kw::poem;
      case pack8("code"): return Kw::code;
      case pack8("script"): return Kw::script;
      case pack8("program"): return Kw::program;
      default: return Kw::none;
    }
  }
  switch (lo) {
    case pack8("calculat"): return hi == pack8("e") ? Kw::calculate : Kw::none;
    case pack8("tradeoff"): return hi == pack8("s") ? Kw::tradeoffs : Kw::none;
    case pack8("derivati"): return hi == pack8("ve") ? Kw::derivative : Kw::none;
    case pack8("probabil"): return hi == pack8("ity") ? Kw::probability : Kw::none;
    case pack8("furtherm"): return hi == pack8("ore") ? Kw::furthermore : Kw::none;
    case pack8("addition"): return hi == pack8("ally") ? Kw::additionally : Kw::none;
    default: return Kw::none;
  }
}

inline constexpr std::size_t longest_keyword = 12;

/// Numbered (`^\s*\d+[.)]\s`) or bulleted (`^\s*[-*]\s`) lines, counted as
/// Python's re.findall counts them with MULTILINE: a match may run over blank
/// lines and the next search starts where the last match ended.
inline std::size_t count_items(std::string_view s, bool numbered) noexcept {
  std::size_t count = 0, pos = 0;
  while (pos <= s.size()) {  // pos is a line start
    std::size_t k = skip_spaces(s, pos);
    std::size_t end = npos;
    if (numbered) {
      std::size_t d = k;
      while (d < s.size() && is_digit(s[d])) ++d;
      if (d > k && d < s.size() && (s[d] == '.' || s[d] == ')')) end = d + 1;
    } else if (k < s.size() && (s[k] == '-' || s[k] == '*')) {
      end = k + 1;
    }
    if (end != npos) {
      if (std::size_t sp = space_at(s, end)) {
        ++count;
        pos = end + sp;
        if (s[pos - 1] == '\n') continue;  // the match ended a line: pos starts the next
      }
    }
    auto nl = s.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return count;
}

/// What an ASCII byte is to the scan.
enum class Ascii : std::uint8_t { other, letter, digit, action, high };

inline constexpr auto ascii_class = [] {
  std::array<Ascii, 256> t{};
  for (int c = 0; c < 256; ++c) {
    auto const u = static_cast<unsigned char>(c);
    t[u] = c >= 0x80 ? Ascii::high
           : is_digit(static_cast<char>(c)) ? Ascii::digit
           : is_ascii_word(u) ? Ascii::letter
           : Ascii::other;
  }
  for (char c : {'`', '?', '\n', '-', '=', '{', '#', '.'}) t[static_cast<unsigned char>(c)] = Ascii::action;
  return t;
}();

/// The whole scan: one pass over the bytes; a word is measured with a
/// table lookup per ASCII byte and looked up as packed integers.
inline QuerySignals scan_query(std::string_view s) noexcept {
  QuerySignals r;
  std::size_t const n = s.size();
  std::size_t last_backtick = npos;
  unsigned thens = 0;
  bool seen_first = false;
  bool line_write = false, line_generate = false;  // creative pairs hold within a line
  auto cls = [&](std::size_t k) { return ascii_class[static_cast<unsigned char>(s[k])]; };

  std::size_t i = 0;
  while (i < n) {
    Ascii const kind = cls(i);
    if (kind == Ascii::other) {
      ++r.code_points;
      ++i;
      continue;
    }
    if (kind == Ascii::action) {
      ++r.code_points;
      switch (s[i]) {
        case '`':
          if (iequals_at(s, i, "```")) r.code_fence = true;
          if (last_backtick != npos && i - last_backtick >= 2) r.code_fence = true;  // `[^`]+`
          last_backtick = i;
          break;
        case '?': ++r.n_questions; break;
        case '\n': line_write = line_generate = false; break;
        case '-':
        case '=':
          if (i + 1 < n && s[i + 1] == '>') r.code_extra = true;
          break;
        case '{': {
          std::size_t j = skip_spaces(s, i + 1);
          if (j < n && s[j] == '}') r.code_extra = true;
          break;
        }
        case '#':
          if (iequals_at(s, i + 1, "include")) r.code_extra = true;
          break;
        case '.':
          if (i >= 6 && iequals_at(s, i - 6, "system") && iequals_at(s, i + 1, "out")) r.code_extra = true;
          break;
        default: break;
      }
      ++i;
      continue;
    }
    if (kind == Ascii::high) {
      Char const ch = decode(s, i);
      if (!is_word_cp(ch.cp)) {
        ++r.code_points;
        i += ch.len;
        continue;
      }
    }

    // A word: [start, end). Its ASCII run first, by table; then, rarely,
    // non-ASCII letters, decoded one by one.
    std::size_t const start = i;
    std::size_t end = i;
    bool digits = true;
    for (; end < n; ++end) {
      Ascii const c = cls(end);
      if (c == Ascii::letter)
        digits = false;
      else if (c != Ascii::digit)
        break;
    }
    r.code_points += end - start;
    bool ascii = true;
    if (end < n && cls(end) == Ascii::high) {
      while (std::size_t w = word_at(s, end)) {
        if (w > 1) ascii = false;
        if (w > 1 || !is_digit(s[end])) digits = false;
        end += w;
        ++r.code_points;
      }
    }
    i = end;
    std::size_t const len = end - start;

    if (digits) {  // `\b\d+\.\s`
      if (end < n && s[end] == '.' && space_at(s, end + 1)) r.multi_step = true;
      continue;
    }
    // `\bstep\s*\d` with no space: "step2", whatever follows in the word
    if (len > 4 && is_digit(s[start + 4]) && iequals_at(s, start, "step")) r.multi_step = true;
    if (!ascii || len > longest_keyword) continue;
    std::uint64_t lo = 0, hi = 0;
    for (std::size_t j = 0; j < len; ++j) {
      auto const b = static_cast<std::uint64_t>(static_cast<unsigned char>(lower(s[start + j])));
      if (j < 8)
        lo |= b << (8 * j);
      else
        hi |= b << (8 * (j - 8));
    }
    switch (keyword(lo, hi, len)) {
      case Kw::none: break;
      case Kw::def:
      case Kw::class_:
      case Kw::import:
      case Kw::function:
        if (space_at(s, end)) r.code_word = true;
        break;
      case Kw::const_:
      case Kw::var:
      case Kw::let:
        if (space_at(s, end)) r.code_extra = true;
        break;
      case Kw::if_: {  // `\bif\s*\(`
        std::size_t k = skip_spaces(s, end);
        if (k < n && s[k] == '(') r.code_extra = true;
        break;
      }
      case Kw::for_: {  // `\bfor\s+\w+\s+in\s`
        std::size_t k = skip_spaces(s, end);
        if (k == end || !word_at(s, k)) break;
        std::size_t w = skip_word(s, k);
        std::size_t m = skip_spaces(s, w);
        if (m > w && iequals_at(s, m, "in") && space_at(s, m + 2)) r.code_extra = true;
        break;
      }
      case Kw::solve:
      case Kw::integral:
      case Kw::equation:
      case Kw::calculate:
      case Kw::compute: r.math_word = true; break;
      case Kw::proof:
      case Kw::derivative:
      case Kw::matrix:
      case Kw::theorem:
      case Kw::sigma:
      case Kw::sum:
      case Kw::limit:
      case Kw::probability: r.math_extra = true; break;
      case Kw::explain:
      case Kw::analyze:
      case Kw::compare:
      case Kw::why:
      case Kw::reason:
      case Kw::think:
      case Kw::evaluate:
      case Kw::tradeoff:
      case Kw::tradeoffs: r.reasoning = true; break;
      case Kw::step: {
        // `\bstep[- ]by[- ]step\b`
        auto sep = [&](std::size_t k) { return k < n && (s[k] == '-' || s[k] == ' '); };
        if (sep(end) && iequals_at(s, end + 1, "by") && sep(end + 3) && iequals_at(s, end + 4, "step") &&
            boundary_at(s, end + 8))
          r.reasoning = true;
        // `\bstep\s*\d`
        std::size_t k = skip_spaces(s, end);
        if (k < n && is_digit(s[k])) r.multi_step = true;
        break;
      }
      case Kw::pros: {  // `\bpros\s+and\s+cons\b`
        std::size_t k = skip_spaces(s, end);
        if (k == end || !iequals_at(s, k, "and")) break;
        std::size_t m = skip_spaces(s, k + 3);
        if (m > k + 3 && iequals_at(s, m, "cons") && boundary_at(s, m + 4)) r.reasoning = true;
        break;
      }
      case Kw::trade: {  // `\btrade-?\s*offs?\b` (written apart; "tradeoff" is a word of its own)
        std::size_t k = end;
        if (k < n && s[k] == '-') ++k;
        k = skip_spaces(s, k);
        if (!iequals_at(s, k, "off")) break;
        k += 3;
        if (k < n && lower(s[k]) == 's') ++k;
        if (boundary_at(s, k)) r.reasoning = true;
        break;
      }
      case Kw::and_: {  // `\band\s+also\b`
        std::size_t k = skip_spaces(s, end);
        if (k > end && iequals_at(s, k, "also") && boundary_at(s, k + 4)) r.multi_step = true;
        break;
      }
      case Kw::additionally:
      case Kw::furthermore: r.multi_step = true; break;
      case Kw::then:
        if (++thens >= 2) r.multi_step = true;
        break;
      case Kw::first: seen_first = true; break;
      case Kw::next:
        if (seen_first) r.multi_step = true;
        break;
      case Kw::create:
      case Kw::design:
      case Kw::draft:
      case Kw::compose: r.creative = true; break;
      case Kw::write: line_write = true; break;
      case Kw::generate: line_generate = true; break;
      case Kw::essay:
      case Kw::story:
      case Kw::article:
      case Kw::report:
      case Kw::poem:
        if (line_write) r.creative = true;
        break;
      case Kw::code:
      case Kw::script:
      case Kw::program:
        if (line_generate) r.creative = true;
        break;
    }
  }
  r.n_subtasks = count_items(s, true) + count_items(s, false);
  return r;
}

}  // namespace leash::learn::detail

#endif
