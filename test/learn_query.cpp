#include <leash/learn/query.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <regex>
#include <string>
#include <vector>

namespace test_learn_query {

using namespace leash::learn;

double signal(ComplexityResult const& r, char const* key) { return r.signals.at(key).to_number<double>(); }
bool flag(ComplexityResult const& r, char const* key) { return r.signals.at(key).as_bool(); }

std::string repeat(std::string_view unit, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += unit;
  return s;
}

/// The reference's patterns (§2.1) as std::regex, for queries where
/// ECMAScript's ASCII \b, \s and \w mean what Python's do.
struct RegexReference {
  using R = std::regex;
  static constexpr auto i = std::regex::ECMAScript | std::regex::icase | std::regex::optimize;
  R classify_code{R"(```|`[^`]+`|\b(def|class|import|function)\s)", i};
  R classify_math{R"(\b(solve|integral|equation|calculate|compute)\b)", i};
  R code{R"(```|`[^`]+`|\b(def|class|import|function|const|var|let)\s|\bif\s*\(|->|=>|\{\s*\}|)"
         R"(\bfor\s+\w+\s+in\s|#include|System\.out)", i};
  R math{R"(\b(solve|integral|equation|proof|derivative|matrix|theorem|calculate|compute|sigma|sum|limit|)"
         R"(probability)\b)", i};
  R reasoning{R"(\b(explain|analyze|compare|why|step[- ]by[- ]step|reason|think|pros\s+and\s+cons|)"
              R"(trade-?\s*offs?|evaluate)\b)", i};
  R multi_step{R"(\bstep\s*\d|\b(and\s+also|additionally|furthermore)\b|\b\d+\.\s|)"
               R"(\bthen\b[\s\S]*\bthen\b|\bfirst\b[\s\S]*\bnext\b)", i};
  R creative{R"(\b(create|design|draft|compose)\b|\bwrite\b[^\n]*\b(essay|story|article|report|poem)\b|)"
             R"(\bgenerate\b[^\n]*\b(code|script|program)\b)", i};

  bool has(R const& r, std::string const& q) const { return std::regex_search(q, r); }
};

/// Random ASCII queries from the words and punctuation the patterns care about.
std::vector<std::string> fuzz_queries(std::size_t n) {
  static char const* const words[] = {
      "def", "class", "import", "function", "const", "var", "let", "if", "for", "in", "x", "solve", "integral",
      "equation", "calculate", "compute", "proof", "derivative", "matrix", "theorem", "sigma", "sum", "limit",
      "probability", "explain", "analyze", "compare", "why", "step", "by", "reason", "think", "pros", "and", "cons",
      "trade", "off", "offs", "tradeoff", "evaluate", "also", "additionally", "furthermore", "then", "first",
      "next", "create", "design", "draft", "compose", "write", "essay", "story", "generate", "code", "script",
      "System", "out", "include", "DEF", "Solve", "THEN", "Step", "12", "3", "step2", "steps", "inside", "_"};
  static char const* const punct[] = {" ", " ", "  ", "\n", "\t", "-", ".", ". ", "?", "`", "```", "(", ")",
                                      "{", "}", "{ }", "->", "=>", "#", "*", "- ", "1. ", "2) ", ",", "\r\n"};
  std::mt19937 rng(20260522);
  std::vector<std::string> out;
  for (std::size_t k = 0; k < n; ++k) {
    std::string q;
    auto parts = rng() % 30;
    for (unsigned p = 0; p < parts; ++p)
      q += rng() % 2 ? words[rng() % std::size(words)] : punct[rng() % std::size(punct)];
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace test_learn_query

using namespace test_learn_query;

BOOST_AUTO_TEST_SUITE(learn_query)

BOOST_AUTO_TEST_CASE(classify_catalogue, *boost::unit_test::description("reference §3 Routing: classify")) {
  BOOST_TEST(classify_query("def fibonacci(n): return n") == QueryClass::code);
  BOOST_TEST(classify_query("```python\nprint('hi')\n```") == QueryClass::code);
  BOOST_TEST(classify_query("import numpy as np") == QueryClass::code);
  BOOST_TEST(classify_query("what does `ls -la` print") == QueryClass::code);
  BOOST_TEST(classify_query("Please solve this equation: 2x + 3 = 7") == QueryClass::math);
  BOOST_TEST(classify_query("compute the integral of x^2") == QueryClass::math);
  BOOST_TEST(classify_query("hello") == QueryClass::short_query);
  BOOST_TEST(classify_query(std::string(501, 'a')) == QueryClass::long_query);
  BOOST_TEST(classify_query("Tell me about the history of the Roman empire and how it influenced modern Europe.") ==
             QueryClass::general);
}

BOOST_AUTO_TEST_CASE(classify_needs_whole_words) {
  BOOST_TEST(classify_query("define the word subclass for me please, with examples") == QueryClass::general);
  BOOST_TEST(classify_query("def\tf") == QueryClass::code);           // any space after the word
  BOOST_TEST(classify_query("def") == QueryClass::short_query);        // no space after it
  BOOST_TEST(classify_query("CLASS Foo") == QueryClass::code);         // any case
  BOOST_TEST(classify_query("resolve it") == QueryClass::short_query); // "solve" inside a word
  BOOST_TEST(classify_query("SOLVE: x") == QueryClass::math);
  BOOST_TEST(classify_query("``") == QueryClass::short_query);         // an empty span is not code
  BOOST_TEST(classify_query("proof of the theorem") == QueryClass::short_query);  // complexity-only math words
  // First match wins: code before math.
  BOOST_TEST(classify_query("def solve(x): return x") == QueryClass::code);
}

BOOST_AUTO_TEST_CASE(length_is_code_points) {
  BOOST_TEST(query_length("héllo") == 5u);
  BOOST_TEST(query_length("日本語") == 3u);
  BOOST_TEST(classify_query(repeat("é", 49)) == QueryClass::short_query);  // 98 bytes
  BOOST_TEST(classify_query(repeat("é", 50)) == QueryClass::general);
  BOOST_TEST(classify_query(repeat("é", 500)) == QueryClass::general);
  BOOST_TEST(classify_query(repeat("é", 501)) == QueryClass::long_query);
  BOOST_TEST(build_routing_context(repeat("日", 10)).query_length == 10u);
}

BOOST_AUTO_TEST_CASE(class_names) {
  BOOST_TEST(to_string(QueryClass::short_query) == "short");
  BOOST_TEST(to_string(QueryClass::long_query) == "long");
  for (auto c : {QueryClass::code, QueryClass::math, QueryClass::short_query, QueryClass::long_query,
                 QueryClass::general})
    BOOST_TEST((query_class_from_string(to_string(c)) == c));
  BOOST_TEST(!query_class_from_string("short_query").has_value());
  BOOST_TEST(to_string(ComplexityTier::very_complex) == "very_complex");
}

BOOST_AUTO_TEST_CASE(length_signal_steps) {
  std::vector<std::pair<std::size_t, double>> const steps = {{0, 0.0},   {19, 0.0},  {20, 0.3},  {99, 0.3},
                                                              {100, 0.6}, {299, 0.6}, {300, 0.8}, {799, 0.8},
                                                              {800, 1.0}};
  for (auto [n, part] : steps) {
    auto r = score_complexity(std::string(n, 'a'));
    BOOST_TEST(signal(r, "length") == part);
    BOOST_TEST(r.score == std::round(0.2 * part * 1000) / 1000);
  }
}

BOOST_AUTO_TEST_CASE(every_code_signal_raises_domain) {
  for (char const* q : {"def f", "```x```", "a `b` c", "class A", "import os", "function f", "const x = 1",
                        "var x", "let y", "if (x)", "if(x)", "a -> b", "a => b", "x = { }", "x = {}",
                        "for item in items", "#include <x>", "System.out.println"}) {
    auto r = score_complexity(std::string(q) + " ");
    BOOST_TEST_INFO("query: " << q);
    BOOST_TEST(flag(r, "has_code"));
    BOOST_TEST(signal(r, "domain") == 0.7);
  }
  BOOST_TEST(!flag(score_complexity("the forest has trees"), "has_code"));
  BOOST_TEST(!flag(score_complexity("for x inside"), "has_code"));
  BOOST_TEST(signal(score_complexity("nothing here at all"), "domain") == 0.0);
}

BOOST_AUTO_TEST_CASE(every_math_signal_raises_domain) {
  for (char const* q : {"solve", "integral", "equation", "proof", "derivative", "matrix", "theorem", "calculate",
                        "compute", "sigma", "sum", "limit", "probability", "PROBABILITY"}) {
    auto r = score_complexity(std::string("the ") + q + " here");
    BOOST_TEST_INFO("word: " << q);
    BOOST_TEST(flag(r, "has_math"));
    BOOST_TEST(signal(r, "domain") == 0.8);
  }
  BOOST_TEST(!flag(score_complexity("summary of limits"), "has_math"));
}

BOOST_AUTO_TEST_CASE(code_and_math_is_full_domain) {
  auto r = score_complexity("def integral(f): pass");
  BOOST_TEST(flag(r, "has_code"));
  BOOST_TEST(flag(r, "has_math"));
  BOOST_TEST(signal(r, "domain") == 1.0);
}

BOOST_AUTO_TEST_CASE(every_reasoning_signal_raises_its_part) {
  for (char const* q : {"explain it", "analyze it", "compare them", "why not", "step by step", "step-by-step",
                        "step-by step", "reason about", "think hard", "pros and cons", "pros\n and  cons",
                        "the trade-off", "the trade-offs", "the tradeoff", "tradeoffs", "trade off", "evaluate it", "“explain”"}) {
    auto r = score_complexity(q);
    BOOST_TEST_INFO("query: " << q);
    BOOST_TEST(flag(r, "has_reasoning"));
    BOOST_TEST(!flag(r, "has_multi_step"));
    BOOST_TEST(signal(r, "reasoning") == 0.6);
  }
  for (char const* q : {"explained", "the trade-offset", "stepbystep", "pros or cons", "trade -off", "trade - off"})
    BOOST_TEST(!flag(score_complexity(q), "has_reasoning"), q);
}

BOOST_AUTO_TEST_CASE(every_multi_step_signal_raises_its_part) {
  for (char const* q : {"do this then that then stop", "first this\nand next that", "step 1", "step2", "step  3",
                        "and also", "additionally", "furthermore", "do: 1. this", "2. that"}) {
    auto r = score_complexity(q);
    BOOST_TEST_INFO("query: " << q);
    BOOST_TEST(flag(r, "has_multi_step"));
    BOOST_TEST(signal(r, "reasoning") == 0.8);
  }
  for (char const* q : {"then once", "next, first", "steps 1", "v1.2 ", "and  als"})
    BOOST_TEST(!flag(score_complexity(q), "has_multi_step"), q);
}

BOOST_AUTO_TEST_CASE(reasoning_and_multi_step_is_full_part) {
  auto r = score_complexity("Explain it step by step: first the data, next the model.");
  BOOST_TEST(signal(r, "reasoning") == 1.0);
}

BOOST_AUTO_TEST_CASE(question_and_bullet_counts) {
  auto parts = [](std::string_view q) { return signal(score_complexity(q), "multi_part"); };
  BOOST_TEST(parts("one?") == 0.0);
  BOOST_TEST(parts("one? two?") == 0.5);
  BOOST_TEST(parts("a? b? c?") == 0.5);
  BOOST_TEST(parts("a? b? c? d?") == 1.0);
  auto r = score_complexity("Tasks:\n1. build\n2) test\n  - lint\n* ship\n-no space\n3.x");
  BOOST_TEST(r.signals.at("n_subtasks").to_number<int>() == 4);
  BOOST_TEST(r.signals.at("n_questions").to_number<int>() == 0);
  BOOST_TEST(signal(r, "multi_part") == 1.0);
  // A match may run over blank lines and is counted once, as re.findall does.
  BOOST_TEST(score_complexity("\n\n1. a").signals.at("n_subtasks").to_number<int>() == 1);
  BOOST_TEST(score_complexity("1.\n2. b").signals.at("n_subtasks").to_number<int>() == 2);
}

BOOST_AUTO_TEST_CASE(every_creative_signal_raises_its_part) {
  for (char const* q : {"create a plan", "design it", "draft a note", "compose music", "write an essay",
                        "Write me a short story", "write the article", "write a report", "write a poem",
                        "generate some code", "generate a script", "generate a program"}) {
    auto r = score_complexity(q);
    BOOST_TEST_INFO("query: " << q);
    BOOST_TEST(flag(r, "has_creative"));
    BOOST_TEST(signal(r, "creative") == 0.7);
  }
  // The write…essay pairs hold within a line, and in that order.
  for (char const* q : {"write\nan essay", "essay to write", "generated code", "created"})
    BOOST_TEST(!flag(score_complexity(q), "has_creative"), q);
}

BOOST_AUTO_TEST_CASE(score_is_clamped_and_rounded) {
  // Every signal at once: creative tops out at 0.7, so the sum does at 0.955.
  std::string q = "Explain step by step, then compare and then evaluate: def solve(x) -> the integral?\n"
                  "1. write an essay?\n2. create a design?\n- why?\n" + std::string(900, 'x');
  auto r = score_complexity(q);
  BOOST_TEST(r.score == 0.955);
  BOOST_TEST(r.tier == ComplexityTier::very_complex);
  BOOST_TEST(r.suggested_max_tokens == 16384u);
  for (auto const& s : fuzz_queries(200)) {
    double const score = score_complexity(s).score;
    BOOST_TEST((score >= 0.0 && score <= 1.0));
    BOOST_TEST(std::abs(score * 1000 - std::round(score * 1000)) < 1e-9);
  }
}

BOOST_AUTO_TEST_CASE(tiers_are_monotone_in_the_score) {
  // Queries of rising complexity: the score, the tier and the budget never fall.
  std::vector<std::string> const rising = {
      "hi",
      "What is the capital of France and what is it known for?",
      "calculate 2+2",
      "Explain why the sky is blue and compare it with sunsets, then think about the sea.",
      "Explain step by step, then compare: def solve(x) -> integral? Write an essay? Create a design?",
      "Explain step by step, then compare and then evaluate: def solve(x) -> the integral?\n"
      "1. write an essay?\n2. create a design?\n- why?\n" + std::string(900, 'x'),
  };
  double last_score = -1;
  int last_tier = -1;
  std::uint32_t last_tokens = 0;
  for (auto const& q : rising) {
    auto r = score_complexity(q);
    BOOST_TEST_INFO("query: " << q);
    BOOST_TEST(r.score >= last_score);
    BOOST_TEST(static_cast<int>(r.tier) >= last_tier);
    BOOST_TEST(r.suggested_max_tokens >= last_tokens);
    last_score = r.score;
    last_tier = static_cast<int>(r.tier);
    last_tokens = r.suggested_max_tokens;
  }
  BOOST_TEST(score_complexity("hi").tier == ComplexityTier::trivial);
  BOOST_TEST(last_tier == static_cast<int>(ComplexityTier::very_complex));
  // The thresholds, on the fuzz corpus: each tier covers its score range.
  for (auto const& s : fuzz_queries(300)) {
    auto r = score_complexity(s);
    double const x = r.score;
    auto const expected = x < 0.15 ? ComplexityTier::trivial : x < 0.30 ? ComplexityTier::simple
                          : x < 0.55 ? ComplexityTier::moderate : x < 0.80 ? ComplexityTier::complex
                                                                           : ComplexityTier::very_complex;
    BOOST_TEST((r.tier == expected));
    BOOST_TEST(r.suggested_max_tokens == suggested_max_tokens(r.tier));
  }
}

BOOST_AUTO_TEST_CASE(thinking_models) {
  for (char const* m : {"deepseek-r1", "deepseek-r1:14b", "o1-mini", "o3-mini", "o4-mini", "qwq", "QwQ:32b",
                        "qwen3.5:9b"})
    BOOST_TEST(is_thinking_model(m), m);
  for (char const* m : {"gpt-4", "gpt-4o", "qwen3:8b", "o1", "", "deepseek-v3"})
    BOOST_TEST(!is_thinking_model(m), m);
}

BOOST_AUTO_TEST_CASE(budget_doubles_only_for_thinking_models) {
  std::string const q = "Explain why the sky is blue and compare it with sunsets.";
  auto const plain = build_routing_context(q).suggested_max_tokens;
  BOOST_TEST(plain == score_complexity(q).suggested_max_tokens);
  BOOST_TEST(build_routing_context(q, 0.5, "deepseek-r1:7b").suggested_max_tokens == 2 * plain);
  BOOST_TEST(build_routing_context(q, 0.5, "o3-mini").suggested_max_tokens == 2 * plain);
  BOOST_TEST(build_routing_context(q, 0.5, "gpt-4").suggested_max_tokens == plain);
  BOOST_TEST(build_routing_context(q, 0.5, "").suggested_max_tokens == plain);
}

BOOST_AUTO_TEST_CASE(invalid_urgency_becomes_half) {
  double const nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double u : {nan, inf, -inf, -0.1, 1.5})
    BOOST_TEST(build_routing_context("hi", u).urgency == 0.5);
  BOOST_TEST(build_routing_context("hi", 0.9).urgency == 0.9);
  BOOST_TEST(build_routing_context("hi", 0.0).urgency == 0.0);
  BOOST_TEST(build_routing_context("hi", 1.0).urgency == 1.0);
}

BOOST_AUTO_TEST_CASE(context_fields_and_metadata) {
  auto ctx = build_routing_context("Solve the equation: def f(x) -> why?");
  auto r = score_complexity(ctx.query);
  BOOST_TEST(ctx.query == "Solve the equation: def f(x) -> why?");
  BOOST_TEST(ctx.has_code);
  BOOST_TEST(ctx.has_math);
  BOOST_TEST(ctx.has_reasoning);
  BOOST_TEST(ctx.language == "en");
  BOOST_TEST(ctx.complexity_score == r.score);
  BOOST_TEST(ctx.metadata.at("complexity_tier").as_string() == to_string(r.tier));
  BOOST_TEST(ctx.metadata.at("signals").as_object() == r.signals);
  BOOST_TEST(r.signals.size() == 12u);

  RoutingContext defaults;
  BOOST_TEST(defaults.urgency == 0.5);
  BOOST_TEST(defaults.suggested_max_tokens == 1024u);
  BOOST_TEST(defaults.complexity_score == 0.0);
  BOOST_TEST(defaults.metadata.empty());
}

BOOST_AUTO_TEST_CASE(unicode_words_and_spaces) {
  BOOST_TEST(flag(score_complexity("«explain»"), "has_reasoning"));           // punctuation is no letter
  BOOST_TEST(flag(score_complexity("日本語、explain。"), "has_reasoning"));
  BOOST_TEST(!flag(score_complexity("éexplain"), "has_reasoning"));           // a letter is
  BOOST_TEST(flag(score_complexity("def\u00a0f"), "has_code"));               // a no-break space is a space
  BOOST_TEST(score_complexity("a？b?").signals.at("n_questions").to_number<int>() == 1);  // only '?'
}

BOOST_AUTO_TEST_CASE(repeated_and_long_queries,
                     *boost::unit_test::description("the per-thread cache of the last scan never changes a result")) {
  std::string const code = "def f(x): return x", prose = "hello there";
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(classify_query(code) == QueryClass::code);
    BOOST_TEST(classify_query(code) == QueryClass::code);
    BOOST_TEST(classify_query(prose) == QueryClass::short_query);
    BOOST_TEST(build_routing_context(code).has_code);
  }
  std::string big(5000, 'x');  // over the cache's 4 KiB
  BOOST_TEST(classify_query(big) == QueryClass::long_query);
  big.replace(0, 4, "def ");
  BOOST_TEST(classify_query(big) == QueryClass::code);
  BOOST_TEST(score_complexity(big).signals.at("has_code").as_bool());
}

BOOST_AUTO_TEST_CASE(agrees_with_the_reference_regexes,
                     *boost::unit_test::description("the hand-written scan against std::regex on ASCII text")) {
  RegexReference const re;
  auto queries = fuzz_queries(1500);
  for (auto const& q : {"define the function foo", "for i in range(3): print(i)", "a->b", "{  }",
                        "Step-by-step, pros and cons", "first do x, next y", "2. ", "trade -off"})
    queries.emplace_back(q);
  for (auto const& q : queries) {
    auto r = score_complexity(q);
    BOOST_TEST_INFO("query: " << q);
    bool const code = re.has(re.classify_code, q);
    bool const math = re.has(re.classify_math, q);
    auto const cls = code ? QueryClass::code : math ? QueryClass::math : q.size() < 50 ? QueryClass::short_query
                     : q.size() > 500 ? QueryClass::long_query : QueryClass::general;
    BOOST_TEST((classify_query(q) == cls));
    BOOST_TEST(flag(r, "has_code") == re.has(re.code, q));
    BOOST_TEST(flag(r, "has_math") == re.has(re.math, q));
    BOOST_TEST(flag(r, "has_reasoning") == re.has(re.reasoning, q));
    BOOST_TEST(flag(r, "has_multi_step") == re.has(re.multi_step, q));
    BOOST_TEST(flag(r, "has_creative") == re.has(re.creative, q));
  }
}

BOOST_AUTO_TEST_SUITE_END()
