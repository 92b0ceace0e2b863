// leash/learn/impl/evaluator.hpp — bodies for learn/evaluator.hpp.
#ifndef LEASH_LEARN_IMPL_EVALUATOR_HPP
#define LEASH_LEARN_IMPL_EVALUATOR_HPP

#include <leash/detail/workers.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <system_error>

namespace leash::learn {

namespace detail {

inline char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string lower_copy(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

inline bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

/// Position of the last case-insensitive occurrence of `needle` (npos if none).
inline std::size_t ifind_last(std::string_view hay, std::string_view needle) {
  auto h = lower_copy(hay);
  return h.rfind(lower_copy(needle));
}

inline bool eval_is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) noexcept {
  return eval_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/// A number starting at `i` (a digit, or '.' then a digit): its value and end.
/// Digits, thousands groups (",ddd"), a fraction and an exponent.
inline std::optional<std::pair<double, std::size_t>> scan_number_at(std::string_view s, std::size_t i) {
  std::string digits;
  std::size_t j = i;
  while (j < s.size() && eval_is_digit(s[j])) digits += s[j++];
  // Thousands groups: ",ddd" not followed by another digit, only after 1–3 leading digits.
  if (!digits.empty() && digits.size() <= 3) {
    while (j + 3 < s.size() && s[j] == ',' && eval_is_digit(s[j + 1]) && eval_is_digit(s[j + 2]) && eval_is_digit(s[j + 3]) &&
           (j + 4 >= s.size() || !eval_is_digit(s[j + 4]))) {
      digits.append(s.substr(j + 1, 3));
      j += 4;
    }
  }
  if (j + 1 < s.size() && s[j] == '.' && eval_is_digit(s[j + 1])) {
    digits += '.';
    ++j;
    while (j < s.size() && eval_is_digit(s[j])) digits += s[j++];
  }
  if (digits.empty() || digits == ".") return std::nullopt;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    std::size_t k = j + 1;
    if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
    if (k < s.size() && eval_is_digit(s[k])) {
      digits += 'e';
      digits.append(s.substr(j + 1, k - j - 1));
      while (k < s.size() && eval_is_digit(s[k])) digits += s[k++];
      j = k;
    }
  }
  double v = 0.0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return std::pair{v, j};
}

/// Every number in `s`, in order. A '-' right before a number is its sign
/// unless it follows a letter or digit ("3-4" is 3 and 4).
inline std::vector<double> numbers_in(std::string_view s) {
  std::vector<double> out;
  std::size_t i = 0;
  while (i < s.size()) {
    bool starts = eval_is_digit(s[i]) || (s[i] == '.' && i + 1 < s.size() && eval_is_digit(s[i + 1]));
    bool glued = i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.');
    if (!starts || glued) {
      ++i;
      continue;
    }
    auto n = scan_number_at(s, i);
    if (!n) {
      ++i;
      continue;
    }
    bool negative = i > 0 && s[i - 1] == '-' && (i < 2 || !is_alnum(s[i - 2]));
    out.push_back(negative ? -n->first : n->first);
    i = n->second;
  }
  return out;
}

inline bool close_enough(double a, double e, double rel, double abs_tol) noexcept {
  if (a == e) return true;
  if (!std::isfinite(a) || !std::isfinite(e)) return false;
  return std::fabs(a - e) <= std::max(rel * std::max(std::fabs(a), std::fabs(e)), abs_tol);
}

/// Trims spaces and decoration ('*', '"', '`') from both ends and one final '.'.
inline std::string_view strip_decoration(std::string_view s) {
  auto junk = [](char c) { return is_space(c) || c == '*' || c == '"' || c == '`'; };
  while (!s.empty() && junk(s.front())) s.remove_prefix(1);
  while (!s.empty() && junk(s.back())) s.remove_suffix(1);
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  while (!s.empty() && junk(s.back())) s.remove_suffix(1);
  return s;
}

inline std::string shorten(std::string_view s, std::size_t max = 200) {
  if (s.size() <= max) return std::string(s);
  return std::string(s.substr(0, max)) + "…";
}

/// A number as a dataset's text: integers exactly, doubles shortest round-trip.
inline std::string number_text(json::value const& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
  return ec == std::errc() ? std::string(buf, p) : std::string("nan");
}

inline std::string_view kind_name(json::value const& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    default: return "an object";
  }
}

/// What a judge's score looked like: n, an optional denominator, a percent sign.
struct ScoreParts {
  double n = 0.0;
  std::optional<double> denominator;
  bool percent = false;
  bool labelled = false;
  std::string text;
};

inline result<double> interpret_score(ScoreParts const& p) {
  auto refuse = [&](std::string why) -> result<double> {
    return Error{Errc::llm_bad_response, "the judge's score \"" + p.text + "\" " + why};
  };
  if (p.denominator) {
    if (*p.denominator <= 0.0) return refuse("has a zero denominator");
    double v = p.n / *p.denominator;
    if (v > 1.0) return refuse("is above its scale");
    return v;
  }
  if (p.percent) {
    if (p.n > 100.0) return refuse("is above 100%");
    return p.n / 100.0;
  }
  if (p.n <= 1.0) return p.n;
  if (!p.labelled) return refuse("is above 1 and names no scale (write it as n/10)");
  if (p.n <= 10.0) return p.n / 10.0;
  return refuse("is above the 0–1 and 0–10 scales");
}

inline std::optional<ScoreParts> score_parts(std::smatch const& m, std::size_t first, bool labelled) {
  ScoreParts p;
  p.labelled = labelled;
  p.text = m.str(0);
  auto n = parse_number(m.str(first));
  if (!n) return std::nullopt;
  p.n = *n;
  if (m[first + 1].matched) {
    auto d = parse_number(m.str(first + 1));
    if (!d) return std::nullopt;
    p.denominator = *d;
  }
  p.percent = m[first + 2].matched;
  return p;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// Datasets

inline result<std::vector<EvalSample>> parse_dataset(std::string_view text, std::string source) {
  std::vector<EvalSample> out;
  std::map<std::string, std::size_t> seen;  // id → line
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (detail::trim(line).empty()) continue;
    auto fail = [&](std::string why) -> Error {
      return Error{Errc::invalid_input, source + ":" + std::to_string(line_no) + ": " + why};
    };
    std::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec) return fail("not JSON (" + ec.message() + ")");
    if (!v.is_object()) return fail("expected a JSON object, got " + std::string(detail::kind_name(v)));
    auto const& o = v.get_object();
    EvalSample s;
    for (auto const& [key, val] : o) {
      if (key == "query") {
        if (!val.is_string()) return fail("\"query\" must be a string, not " + std::string(detail::kind_name(val)));
        s.query = val.get_string();
      } else if (key == "expected") {
        if (val.is_string())
          s.expected = val.get_string();
        else if (val.is_number())
          s.expected = detail::number_text(val);
        else
          return fail("\"expected\" must be a string or a number, not " + std::string(detail::kind_name(val)));
      } else if (key == "id") {
        if (!val.is_string()) return fail("\"id\" must be a string, not " + std::string(detail::kind_name(val)));
        s.id = val.get_string();
      } else if (key == "metadata") {
        if (!val.is_object()) return fail("\"metadata\" must be an object, not " + std::string(detail::kind_name(val)));
        s.metadata = val.get_object();
      } else {
        return fail("unknown key \"" + std::string(key) + "\" (known: id, query, expected, metadata)");
      }
    }
    if (!o.contains("query")) return fail("missing \"query\"");
    if (!o.contains("expected")) return fail("missing \"expected\"");
    if (s.id.empty()) s.id = "line-" + std::to_string(line_no);
    auto [it, fresh] = seen.emplace(s.id, line_no);
    if (!fresh) return fail("id \"" + s.id + "\" is already used on line " + std::to_string(it->second));
    out.push_back(std::move(s));
  }
  return out;
}

inline result<std::vector<EvalSample>> load_dataset(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return Error{Errc::store_failed,
                 "cannot read dataset " + path.string() + ": " + (err ? std::strerror(err) : "cannot open")};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{Errc::store_failed, "cannot read dataset " + path.string() + ": read error"};
  return parse_dataset(ss.str(), path.string());
}

// ---------------------------------------------------------------------------
// Text helpers

inline std::optional<double> parse_number(std::string_view text) {
  auto t = detail::trim(text);
  bool negative = false;
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) {
    negative = t.front() == '-';
    t.remove_prefix(1);
  }
  if (t.empty() || !(detail::eval_is_digit(t.front()) || t.front() == '.')) return std::nullopt;
  auto n = detail::scan_number_at(t, 0);
  if (!n || n->second != t.size()) return std::nullopt;
  return negative ? -n->first : n->first;
}

inline std::optional<double> last_number(std::string_view text) {
  auto all = detail::numbers_in(text);
  if (all.empty()) return std::nullopt;
  return all.back();
}

inline std::string extract_answer(std::string_view text) {
  auto rest_of_line = [&](std::size_t from) {
    auto end = text.find('\n', from);
    return text.substr(from, end == std::string_view::npos ? std::string_view::npos : end - from);
  };
  auto lower = detail::lower_copy(text);
  std::size_t best = std::string::npos;
  std::size_t skip = 0;
  for (std::string_view marker : {std::string_view("answer:"), std::string_view("answer is")}) {
    auto at = lower.rfind(marker);
    if (at != std::string::npos && (best == std::string::npos || at > best)) {
      best = at;
      skip = marker.size();
    }
  }
  if (best != std::string::npos) return std::string(detail::strip_decoration(rest_of_line(best + skip)));
  // The last line with an '=': what follows its last '='.
  std::vector<std::string_view> lines;
  for (std::size_t p = 0; p <= text.size();) {
    auto nl = text.find('\n', p);
    auto line = text.substr(p, nl == std::string_view::npos ? std::string_view::npos : nl - p);
    if (!detail::trim(line).empty()) lines.push_back(line);
    if (nl == std::string_view::npos) break;
    p = nl + 1;
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto eq = it->rfind('=');
    if (eq != std::string_view::npos) return std::string(detail::strip_decoration(it->substr(eq + 1)));
  }
  if (lines.empty()) return {};
  return std::string(detail::strip_decoration(lines.back()));
}

inline result<double> parse_judge_score(std::string_view reply) {
  // 1. The last labelled score.
  static std::regex const labelled(
      R"((?:^|[^A-Za-z0-9_])(?:score|rating|quality|grade)[\s*_]*(?:\([^)\n]*\))?[\s*_]*(?:[:=]|is\b)?[\s*_]*(\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*(\d+(?:\.\d+)?)|\s*(%))?)",
      std::regex::icase | std::regex::ECMAScript);
  std::string text(reply);
  std::optional<detail::ScoreParts> found;
  for (std::sregex_iterator it(text.begin(), text.end(), labelled), end; it != end; ++it)
    if (auto p = detail::score_parts(*it, 1, true)) found = std::move(p);
  if (found) return detail::interpret_score(*found);

  // 2–3. A reply, or its last then first line, that is only a score.
  static std::regex const bare(
      R"(^[\s*_`"]*(\d+(?:\.\d+)?|\.\d+)(?:\s*/\s*(\d+(?:\.\d+)?)|\s*(%))?[\s*_`"]*\.?[\s*_`"]*$)");
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!detail::trim(line).empty()) lines.push_back(line);
  std::vector<std::string const*> candidates;
  if (!lines.empty()) candidates.push_back(&lines.back());
  if (lines.size() > 1) candidates.push_back(&lines.front());
  for (auto const* line : candidates) {
    std::smatch m;
    if (std::regex_match(*line, m, bare))
      if (auto p = detail::score_parts(m, 1, false)) return detail::interpret_score(*p);
  }
  return Error{Errc::llm_bad_response,
               "the judge's reply has no score (expected a line such as \"Score: 0.8\"): \"" +
                   detail::shorten(detail::trim(reply)) + "\""};
}

// ---------------------------------------------------------------------------
// Graders

inline boost::asio::awaitable<result<double>> ExactGrader::grade(EvalSample const& sample,
                                                                 std::string_view answer) const {
  co_return detail::iequals(detail::trim(sample.expected), detail::trim(answer)) ? 1.0 : 0.0;
}

inline boost::asio::awaitable<result<double>> ContainsGrader::grade(EvalSample const& sample,
                                                                    std::string_view answer) const {
  auto expected = detail::trim(sample.expected);
  if (expected.empty())
    co_return Error{Errc::invalid_input,
                    "sample '" + sample.id + "': ContainsGrader needs a non-empty expected text"};
  co_return detail::lower_copy(answer).find(detail::lower_copy(expected)) != std::string::npos ? 1.0 : 0.0;
}

inline boost::asio::awaitable<result<double>> NumericGrader::grade(EvalSample const& sample,
                                                                   std::string_view answer) const {
  auto expected = parse_number(sample.expected);
  if (!expected)
    co_return Error{Errc::invalid_input,
                    "sample '" + sample.id + "': expected \"" + detail::shorten(sample.expected) + "\" is not a number"};
  auto got = last_number(answer);
  if (!got) co_return 0.0;
  co_return detail::close_enough(*got, *expected, relative_tolerance, absolute_tolerance) ? 1.0 : 0.0;
}

inline boost::asio::awaitable<result<double>> ReferenceGrader::grade(EvalSample const& sample,
                                                                     std::string_view answer) const {
  auto expected = detail::strip_decoration(sample.expected);
  if (detail::iequals(detail::trim(sample.expected), detail::trim(answer))) co_return 1.0;
  auto extracted = extract_answer(answer);
  if (detail::iequals(extracted, expected)) co_return 1.0;
  if (auto e = parse_number(expected))
    if (auto a = last_number(extracted))
      if (detail::close_enough(*a, *e, relative_tolerance, 0.0)) co_return 1.0;
  co_return 0.0;
}

inline LlmJudgeGrader::LlmJudgeGrader(llm::AnyTransport transport, JudgeOptions options)
    : transport_(std::move(transport)), options_(std::move(options)) {}

inline llm::CompletionRequest LlmJudgeGrader::request_for(EvalSample const& sample, std::string_view answer) const {
  llm::CompletionRequest r;
  std::string system =
      options_.system_prompt.empty() ? std::string(default_judge_prompt) : options_.system_prompt;
  std::string user = "Question:\n" + sample.query + "\n\nReference answer:\n" + sample.expected +
                     "\n\nCandidate answer:\n" + std::string(answer) +
                     "\n\nEnd with the line `Score: X` (X from 0 to 1).";
  r.messages.push_back(llm::ChatMessage{"system", std::move(system), {}, {}});
  r.messages.push_back(llm::ChatMessage{"user", std::move(user), {}, {}});
  r.max_tokens = options_.max_tokens;
  r.temperature = options_.temperature;
  return r;
}

inline boost::asio::awaitable<result<Grade>> LlmJudgeGrader::grade(EvalSample const& sample,
                                                                   std::string_view answer) {
  if (!transport_) co_return Error{Errc::invalid_config, "LlmJudgeGrader has no transport"};
  auto request = request_for(sample, answer);
  auto done = co_await transport_.complete(request);
  if (!done) co_return Error{done.error().code, "the judge failed: " + done.error().what()};
  auto const& c = done.value();
  Grade g;
  g.tokens = c.usage.input_tokens + c.usage.output_tokens;
  if (!c.model.empty()) g.cost_usd = options_.pricing.estimate_cost(c.usage.input_tokens, c.usage.output_tokens, c.model);
  if (!g.cost_usd)
    g.cost_usd = options_.pricing.estimate_cost(c.usage.input_tokens, c.usage.output_tokens, transport_.model_id());
  g.detail = c.text;
  auto score = parse_judge_score(c.text);
  if (score)
    g.score = score.value();
  else
    g.error = score.error();
  co_return g;
}

// ---------------------------------------------------------------------------
// Reports

namespace detail {
inline json::value optional_number(std::optional<double> const& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
}  // namespace detail

inline json::object SampleResult::to_json() const {
  json::object o;
  o["id"] = id;
  o["correct"] = correct;
  o["score"] = score;
  o["answer"] = answer;
  o["error"] = error;
  o["latency_s"] = latency_s;
  o["tokens"] = tokens;
  o["cost_usd"] = detail::optional_number(cost_usd);
  o["run_id"] = run_id;
  o["grader_tokens"] = grader_tokens;
  o["grader_cost_usd"] = detail::optional_number(grader_cost_usd);
  o["status"] = status ? json::value(to_string(*status)) : json::value(nullptr);
  return o;
}

inline json::object EvalReport::to_json(bool with_samples) const {
  json::object o;
  o["accuracy"] = accuracy;
  o["mean_latency_s"] = mean_latency_s;
  o["total_tokens"] = total_tokens;
  o["total_cost_usd"] = detail::optional_number(total_cost_usd);
  o["samples"] = samples;
  o["errors"] = errors;
  o["grader_tokens"] = grader_tokens;
  o["grader_cost_usd"] = detail::optional_number(grader_cost_usd);
  if (with_samples) {
    json::array a;
    a.reserve(per_sample.size());
    for (auto const& s : per_sample) a.push_back(s.to_json());
    o["per_sample"] = std::move(a);
  }
  return o;
}

// ---------------------------------------------------------------------------
// DatasetEvaluator

template <class Agent, class GraderT>
struct DatasetEvaluator<Agent, GraderT>::Shared {
  std::atomic<std::size_t> next{0};
  std::size_t count = 0;
  std::vector<SampleResult> results;
};

template <class Agent, class GraderT>
DatasetEvaluator<Agent, GraderT>::DatasetEvaluator(std::vector<EvalSample> dataset, Agent agent, GraderT grader,
                                                   EvaluatorOptions options)
    : dataset_(std::move(dataset)), agent_(std::move(agent)), grader_(std::move(grader)), options_(options) {}

template <class Agent, class GraderT>
boost::asio::awaitable<void> DatasetEvaluator<Agent, GraderT>::worker(Shared& shared) {
  for (;;) {
    std::size_t i = shared.next.fetch_add(1);
    if (i >= shared.count) co_return;
    co_await run_sample(dataset_[i], shared.results[i]);
  }
}

template <class Agent, class GraderT>
boost::asio::awaitable<void> DatasetEvaluator<Agent, GraderT>::run_sample(EvalSample const& sample,
                                                                          SampleResult& out) {
  out.id = sample.id;
  auto const start = std::chrono::steady_clock::now();
  std::optional<result<Answer>> got;
  std::string thrown;
  try {
    got.emplace(co_await agent_(sample));
  } catch (std::exception const& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "an unknown exception";
  }
  out.latency_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!got) {
    out.error = "the agent threw: " + thrown;
    co_return;
  }
  if (!*got) {
    out.error = got->error().what();
    if (out.error.empty()) out.error = "the agent failed";
    co_return;
  }
  Answer& a = got->value();
  out.answer = std::move(a.text);
  out.tokens = a.tokens;
  out.cost_usd = a.cost_usd;
  out.run_id = std::move(a.run_id);
  out.status = a.status;

  std::optional<double> score;
  try {
    if constexpr (detail::grades_detailed<GraderT>) {
      auto g = co_await grader_.grade(sample, std::string_view(out.answer));
      if (!g) {
        out.error = "grading failed: " + g.error().what();
      } else {
        out.grader_tokens = g.value().tokens;
        out.grader_cost_usd = g.value().cost_usd;
        if (g.value().error)
          out.error = "grading failed: " + g.value().error->what();
        else
          score = g.value().score;
      }
    } else {
      auto s = co_await grader_.grade(sample, std::string_view(out.answer));
      if (!s)
        out.error = "grading failed: " + s.error().what();
      else
        score = s.value();
    }
  } catch (std::exception const& e) {
    out.error = std::string("grading failed: the grader threw: ") + e.what();
  } catch (...) {
    out.error = "grading failed: the grader threw an unknown exception";
  }
  if (!score) co_return;
  if (std::isnan(*score)) {
    out.error = "grading failed: the grader's score is NaN";
    co_return;
  }
  out.score = std::clamp(*score, 0.0, 1.0);
  out.correct = out.score >= pass_score;
}

template <class Agent, class GraderT>
boost::asio::awaitable<result<EvalReport>> DatasetEvaluator<Agent, GraderT>::evaluate() {
  std::size_t n = dataset_.size();
  if (options_.max_samples != 0) n = std::min(n, options_.max_samples);
  if (n == 0) co_return Error{Errc::invalid_input, "DatasetEvaluator: the dataset is empty"};
  std::size_t workers = options_.max_concurrent == 0 ? n : std::min(n, options_.max_concurrent);

  Shared shared;
  shared.count = n;
  shared.results.resize(n);

  auto make_worker = [&] { return worker(shared); };
  co_await leash::detail::run_workers(workers, std::move(make_worker));

  EvalReport rep;
  rep.samples = n;
  std::size_t correct = 0;
  double latency = 0.0;
  double cost = 0.0, grader_cost = 0.0;
  bool cost_known = false, grader_cost_known = false;
  for (auto const& r : shared.results) {
    if (r.correct) ++correct;
    if (!r.error.empty()) ++rep.errors;
    latency += r.latency_s;
    rep.total_tokens += r.tokens + r.grader_tokens;
    rep.grader_tokens += r.grader_tokens;
    if (r.cost_usd) {
      cost += *r.cost_usd;
      cost_known = true;
    }
    if (r.grader_cost_usd) {
      grader_cost += *r.grader_cost_usd;
      grader_cost_known = true;
    }
  }
  rep.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  rep.mean_latency_s = latency / static_cast<double>(n);
  if (cost_known || grader_cost_known) rep.total_cost_usd = cost + grader_cost;
  if (grader_cost_known) rep.grader_cost_usd = grader_cost;
  rep.per_sample = std::move(shared.results);
  co_return rep;
}

template <class Factory>
boost::asio::awaitable<result<Answer>> LoopAgent<Factory>::operator()(EvalSample const& sample) {
  auto loop = factory_(sample);
  if (!loop)
    co_return Error{Errc::invalid_config, "loop_agent: the factory made no loop for sample '" + sample.id + "'"};
  auto run = co_await loop->async_run();
  if (!run)
    co_return Error{run.error().code, "sample '" + sample.id + "': the loop could not run: " + run.error().what()};
  Answer a;
  auto const& state = loop->state();
  a.text = state.info.result;
  a.tokens = state.metrics.total_tokens();
  a.cost_usd = state.metrics.cost_usd;
  a.run_id = run.value().run_id;
  a.status = run.value().status;
  co_return a;
}

}  // namespace leash::learn

#endif
