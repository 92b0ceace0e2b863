// example/calc_agent.hpp — the example calculator agent that leash-learn
// improves and leash-optimize tunes: two tools (`calculator`, `lookup`), an
// offline planner that behaves like a model given those tools, and the Loop
// type that puts them together.
#ifndef LEASH_EXAMPLE_CALC_AGENT_HPP
#define LEASH_EXAMPLE_CALC_AGENT_HPP

#include <leash/leash.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace calc_agent {

// ---- The agent's tools ---------------------------------------------------------

struct Expression {
  std::string expression;
};
BOOST_DESCRIBE_STRUCT(Expression, (), (expression))

/// + - * / and parentheses over decimal numbers.
class Arithmetic {
 public:
  explicit Arithmetic(std::string_view text) : s_(text) {}
  std::optional<double> parse() {
    auto v = sum();
    skip();
    if (!v || i_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::optional<double> sum() {
    auto v = product();
    for (skip(); v && i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-'); skip()) {
      char op = s_[i_++];
      auto r = product();
      if (!r) return std::nullopt;
      v = op == '+' ? *v + *r : *v - *r;
    }
    return v;
  }
  std::optional<double> product() {
    auto v = factor();
    for (skip(); v && i_ < s_.size() && (s_[i_] == '*' || s_[i_] == '/' || s_[i_] == 'x'); skip()) {
      char op = s_[i_++];
      auto r = factor();
      if (!r || (op == '/' && *r == 0.0)) return std::nullopt;
      v = op == '/' ? *v / *r : *v * *r;
    }
    return v;
  }
  std::optional<double> factor() {
    skip();
    if (i_ < s_.size() && s_[i_] == '(') {
      ++i_;
      auto v = sum();
      skip();
      if (!v || i_ >= s_.size() || s_[i_] != ')') return std::nullopt;
      ++i_;
      return v;
    }
    if (i_ < s_.size() && s_[i_] == '-') {
      ++i_;
      auto v = factor();
      return v ? std::optional<double>(-*v) : std::nullopt;
    }
    std::size_t start = i_;
    while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
    if (start == i_) return std::nullopt;
    return std::stod(std::string(s_.substr(start, i_ - start)));
  }
  std::string_view s_;
  std::size_t i_ = 0;
};

inline std::string number_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

struct Calculator {
  static constexpr std::string_view name = "calculator";
  static constexpr std::string_view description = "Evaluate an arithmetic expression: + - * / and parentheses.";
  static constexpr bool non_blocking = true;
  using args = Expression;
  leash::result<std::string> operator()(args const& a) const {
    auto v = Arithmetic(a.expression).parse();
    if (!v) return leash::Error{leash::Errc::tool_failed, "cannot evaluate '" + a.expression + "'"};
    return number_text(*v);
  }
};

struct Topic {
  std::string topic;
};
BOOST_DESCRIBE_STRUCT(Topic, (), (topic))

struct Lookup {
  static constexpr std::string_view name = "lookup";
  static constexpr std::string_view description = "Look up a fact: the capital of a country.";
  static constexpr bool non_blocking = true;
  using args = Topic;
  leash::result<std::string> operator()(args const& a) const {
    static std::map<std::string, std::string, std::less<>> const capitals = {
        {"france", "Paris"}, {"japan", "Tokyo"}, {"kenya", "Nairobi"}, {"peru", "Lima"}, {"italy", "Rome"}};
    std::string key;
    for (char c : a.topic) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto const& [country, capital] : capitals)
      if (key.find(country) != std::string::npos) return capital;
    return leash::Error{leash::Errc::tool_failed, "no fact about '" + a.topic + "'"};
  }
};

using Tools = leash::ToolSet<Calculator, Lookup>;

// ---- An offline stand-in for a model -------------------------------------------

/// How the observation shows the last tool's result (the planner looks for it).
constexpr std::string_view result_marker = "tool result = ";

/// Behaves like a model that uses the tools it is offered: an arithmetic
/// question goes to `calculator`, a capital to `lookup`; with the tool's result
/// in its context it answers; without the tool it can only say so.
class OfflinePlanner {
 public:
  explicit OfflinePlanner(std::string question) : question_(std::move(question)) {}

  boost::asio::awaitable<leash::result<leash::Plan>> plan(leash::PlanRequest const& request) {
    auto offered = [&](std::string_view tool) {
      for (auto const& t : request.tools())
        if (t.as_object().at("name").as_string() == tool) return true;
      return false;
    };
    std::string context;
    for (auto const& m : request.messages()) context += m.content + "\n";
    if (auto at = context.rfind(result_marker); at != std::string::npos) {
      at += result_marker.size();
      auto end = context.find('\n', at);
      co_return leash::Plan::text_only("The answer is " + context.substr(at, end - at) + ".", {120, 12});
    }
    std::string lower;
    for (char c : question_) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto at = lower.find("capital of "); at != std::string::npos) {
      if (offered("lookup"))
        co_return leash::Plan::single_call("lookup", {{"topic", question_.substr(at + 11)}}, "Looking it up.", {100, 10});
      co_return leash::Plan::text_only("I do not know that without a way to look it up.", {100, 12});
    }
    auto first = question_.find_first_of("0123456789(");
    if (first != std::string::npos) {
      std::string expression = question_.substr(first);
      while (!expression.empty() && (expression.back() == '?' || expression.back() == '.' ||
                                     std::isspace(static_cast<unsigned char>(expression.back()))))
        expression.pop_back();
      if (offered("calculator"))
        co_return leash::Plan::single_call("calculator", {{"expression", expression}}, "Calculating.", {100, 10});
      co_return leash::Plan::text_only("Without a calculator I can only guess: about 100.", {100, 12});
    }
    co_return leash::Plan::text_only("I cannot answer that.", {100, 8});
  }
  std::string_view model_id() const noexcept { return "offline"; }
  std::string_view provider() const noexcept { return "offline"; }

 private:
  std::string question_;
};

/// What the agent sees each iteration: the last tool's result, after
/// result_marker, which is where OfflinePlanner looks for it.
inline std::string observe(leash::State const& st) {
  if (st.iterations.empty()) return "no tool used yet";
  for (auto const& a : st.iterations.back().actions)
    if (a.status == leash::ActionStatus::ok) return a.tool + " " + std::string(result_marker) + a.result_excerpt;
  return "the last step gave no result";
}

/// The loop succeeds when the planner answers in words, without a tool call.
struct Answered {
  bool operator()(leash::State const& s) const {
    return !s.iterations.empty() && s.iterations.back().actions.empty() && !s.iterations.back().plan_text.empty();
  }
};

using Agent = leash::Loop<leash::AnyPlanner, Tools, leash::DefaultPolicies, leash::ExitList<leash::Success<Answered>>,
                          leash::AnyStore>;

}  // namespace calc_agent

#endif
