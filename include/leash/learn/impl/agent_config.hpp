// leash/learn/impl/agent_config.hpp — TOML reading and writing, the
// evolver's analysis, archives and rollback.
#ifndef LEASH_LEARN_IMPL_AGENT_CONFIG_HPP
#define LEASH_LEARN_IMPL_AGENT_CONFIG_HPP

#include <leash/store/detail/file_io.hpp>

#include <leash/learn/detail/toml_parse.hpp>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <sstream>
#include <system_error>
#include <utility>

#include <sys/stat.h>

namespace leash::learn {

namespace detail {

/// `text` for an error message: printable bytes as they are, others as \xNN.
inline std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

inline Error config_error(std::string_view source, std::string_view reason) {
  return Error(Errc::invalid_config, "agent config " + printable(source) + ": " + std::string(reason));
}

inline Error unsafe_name(std::string_view name) {
  return Error(Errc::invalid_config,
               "agent name '" + printable(name) +
                   "' is not a safe file name (it must be 1-200 bytes, not start with '.', and have no '/', "
                   "'\\' or control characters)");
}

inline Error io_error(std::string_view what, std::filesystem::path const& path, std::error_code ec) {
  return Error(Errc::store_failed, "agent configs: cannot " + std::string(what) + " " + path.string() + ": " +
                                       ec.message());
}

inline std::string wrong_type(std::string_view key, std::string_view wanted, toml::node const& got) {
  return "[agent]." + std::string(key) + " must be " + std::string(wanted) + ", not " +
         std::string(toml_kind(got));
}

/// TOML text of a finite double that reads back exactly: the shortest
/// round-trip form, with ".0" added where it would otherwise read as an
/// integer. (toml++ 3.3 prints 0.3 as 0.29999999999999999.)
inline std::string toml_float(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 'n': inf, nan
  return s;
}

/// A TOML value written by toml++. Only single-line basic strings are allowed:
/// toml++ 3.3 picks ''' literals for text containing ''' and drops a leading
/// newline of multi-line strings, so those forms do not always read back
/// (1,739 of 20,018 random strings failed; none with these flags).
template <class Node>
std::string toml_value(Node const& node) {
  std::ostringstream os;
  os << toml::toml_formatter{node, toml::format_flags::allow_unicode_strings};
  return std::move(os).str();
}

inline std::error_code read_whole_file(std::filesystem::path const& path, std::string& out) {
  namespace fio = leash::detail::file_io;
  leash::detail::UniqueFd fd;
  if (auto ec = fio::open_file(path, O_RDONLY, fd)) return ec;
  return fio::read_all(fd.get(), out);
}

/// N when `file_name` is "<agent>.v<N>.toml" (N a positive decimal without
/// leading zeros that fits 64 bits).
inline std::optional<std::uint64_t> archive_number(std::string_view file_name, std::string_view agent) {
  constexpr std::string_view dot_v = ".v", suffix = ".toml";
  if (file_name.size() <= agent.size() + dot_v.size() + suffix.size()) return std::nullopt;
  if (!file_name.starts_with(agent) || !file_name.substr(agent.size()).starts_with(dot_v) ||
      !file_name.ends_with(suffix))
    return std::nullopt;
  auto digits = file_name.substr(agent.size() + dot_v.size());
  digits.remove_suffix(suffix.size());
  if (digits.empty() || digits.front() == '0') return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

inline std::string archive_name(std::string_view agent, std::uint64_t n) {
  return std::string(agent) + ".v" + std::to_string(n) + ".toml";
}

/// Permission bits of `path`, or `otherwise` when it cannot be stat'ed.
inline mode_t mode_of(std::filesystem::path const& path, mode_t otherwise) noexcept {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return otherwise;
  return st.st_mode & 07777;
}

}  // namespace detail

// -- TOML --------------------------------------------------------------------

inline result<AgentConfig> parse_agent_config(std::string_view text, std::string_view source) {
  toml::table doc;
  if (auto syntax = detail::parse_toml(text, source, doc)) return detail::config_error(source, *syntax);

  auto const* agent_node = doc.get("agent");
  if (!agent_node) return detail::config_error(source, "no [agent] table");
  auto const* agent = agent_node->as_table();
  if (!agent)
    return detail::config_error(source, "agent must be a table, not " + std::string(detail::toml_kind(*agent_node)));

  AgentConfig c;
  auto const* name = agent->get("name");
  if (!name) return detail::config_error(source, "[agent].name is missing");
  if (!name->is_string()) return detail::config_error(source, detail::wrong_type("name", "a string", *name));
  c.name = name->as_string()->get();

  if (auto const* tools = agent->get("tools")) {
    auto const* array = tools->as_array();
    if (!array) return detail::config_error(source, detail::wrong_type("tools", "an array of strings", *tools));
    c.tools.reserve(array->size());
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto const& t = *array->get(i);
      if (!t.is_string())
        return detail::config_error(source, detail::wrong_type("tools[" + std::to_string(i) + "]", "a string", t));
      c.tools.push_back(t.as_string()->get());
    }
  }

  if (auto const* turns = agent->get("max_turns")) {
    if (!turns->is_integer()) return detail::config_error(source, detail::wrong_type("max_turns", "an integer", *turns));
    std::int64_t v = turns->as_integer()->get();
    if (v < 1 || v > INT_MAX)
      return detail::config_error(source, "[agent].max_turns must be between 1 and " + std::to_string(INT_MAX) +
                                              ", not " + std::to_string(v));
    c.max_turns = static_cast<int>(v);
  }

  if (auto const* temp = agent->get("temperature")) {
    double v;
    if (temp->is_floating_point())
      v = temp->as_floating_point()->get();
    else if (temp->is_integer())
      v = static_cast<double>(temp->as_integer()->get());
    else
      return detail::config_error(source, detail::wrong_type("temperature", "a number", *temp));
    if (!std::isfinite(v) || v < 0)
      return detail::config_error(source, "[agent].temperature must be a finite number of at least 0, not " +
                                              detail::toml_float(v));
    c.temperature = v;
  }

  if (auto const* prompt = agent->get("system_prompt")) {
    if (!prompt->is_string())
      return detail::config_error(source, detail::wrong_type("system_prompt", "a string", *prompt));
    c.system_prompt = prompt->as_string()->get();
  }
  return c;
}

inline result<AgentConfig> parse_agent_config_file(std::filesystem::path const& file) {
  std::string text;
  if (auto ec = detail::read_whole_file(file, text)) return detail::io_error("read", file, ec);
  return parse_agent_config(text, file.string());
}

inline std::string to_toml(AgentConfig const& c) {
  toml::array tools;
  tools.reserve(c.tools.size());
  for (auto const& t : c.tools) tools.push_back(t);
  std::string out = "[agent]\n";
  out += "name = " + detail::toml_value(toml::value<std::string>(c.name)) + '\n';
  out += "tools = " + detail::toml_value(tools) + '\n';
  out += "max_turns = " + std::to_string(c.max_turns) + '\n';
  out += "temperature = " + detail::toml_float(c.temperature) + '\n';
  out += "system_prompt = " + detail::toml_value(toml::value<std::string>(c.system_prompt)) + '\n';
  return out;
}

inline bool is_safe_agent_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 200 || name.front() == '.') return false;
  for (unsigned char c : name)
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  return true;
}

// -- analysis ----------------------------------------------------------------

inline result<AgentConfigEvolver> AgentConfigEvolver::open(std::filesystem::path config_dir, EvolverOptions options) {
  std::error_code ec;
  auto history = config_dir / ".history";
  std::filesystem::create_directories(history, ec);
  if (ec) return detail::io_error("create", history, ec);
  return AgentConfigEvolver(std::move(config_dir), std::move(options));
}

inline bool AgentConfigEvolver::add(Trace const& trace) {
  ++seen_;
  if (options_.agent && trace.agent != *options_.agent) return false;
  if (options_.min_quality && !(trace.feedback && *trace.feedback >= *options_.min_quality)) return false;
  std::size_t const seq = kept_++;
  double const fb = trace.feedback && std::isfinite(*trace.feedback) ? *trace.feedback : 0.0;
  bool const ok = trace.outcome == Outcome::success;
  auto count = [&](Rate& r) {
    ++r.count;
    r.successes += ok ? 1 : 0;
    r.feedback_sum += fb;
  };

  auto& c = classes_[detail::class_of(options_.classify, trace.query)];
  ++c.traces;
  std::size_t turns = 0;
  for (auto const& step : trace.steps) {
    if (step.type != StepType::tool_call) continue;
    ++turns;
    auto tool = step.tool();
    if (tool.empty()) continue;
    auto t = c.tools.find(tool);
    if (t == c.tools.end()) t = c.tools.emplace(std::string(tool), Rate{0, 0, 0.0, tool_calls_}).first;
    ++tool_calls_;
    count(t->second);
  }
  ++c.turns[turns];
  if (!trace.agent.empty()) {
    auto [a, inserted] = c.agents.try_emplace(trace.agent);
    if (inserted) a->second.first_seen = seq;
    count(a->second);
  }
  return true;
}

inline std::vector<Recommendation> AgentConfigEvolver::recommendations() const {
  auto mean = [](double sum, std::size_t n) { return n ? sum / double(n) : 0.0; };
  std::vector<Recommendation> out;
  for (auto const& [cls, c] : classes_) {  // std::map: classes in lexicographic (byte) order
    if (c.agents.empty()) continue;
    Recommendation r;
    r.query_class = cls;
    r.sample_count = c.traces;

    double best_score = 0.0;
    Rate const* best = nullptr;
    for (auto const& [name, a] : c.agents) {
      double score = 0.6 * mean(double(a.successes), a.count) + 0.4 * mean(a.feedback_sum, a.count);
      if (!best || score > best_score || (score == best_score && a.first_seen < best->first_seen)) {
        best = &a;
        best_score = score;
        r.recommended_agent = name;
      }
    }

    struct Scored {
      std::string_view name;
      double score;
      std::size_t first_seen;
    };
    std::vector<Scored> tools;
    tools.reserve(c.tools.size());
    for (auto const& [name, t] : c.tools) {
      double volume = std::min(std::log1p(double(t.count)) / 10.0, 1.0);
      tools.push_back({name, 0.4 * mean(double(t.successes), t.count) + 0.4 * mean(t.feedback_sum, t.count) + 0.2 * volume,
                       t.first_seen});
    }
    std::sort(tools.begin(), tools.end(), [](Scored const& x, Scored const& y) {
      if (x.score != y.score) return x.score > y.score;
      return x.first_seen < y.first_seen;
    });
    for (auto const& t : tools) r.recommended_tools.emplace_back(t.name);

    // The element at index min(⌊0.75·n⌋, n − 1) of the sorted tool-call counts.
    std::size_t const n = c.traces;
    std::size_t const k = std::min(3 * n / 4, n - 1);
    std::size_t seen = 0, turns = 0;
    for (auto const& [calls, traces] : c.turns) {
      seen += traces;
      if (seen > k) {
        turns = calls;
        break;
      }
    }
    std::size_t const limit = INT_MAX - 2;
    r.recommended_max_turns = std::max(static_cast<int>(std::min(turns, limit)) + 2, 5);
    out.push_back(std::move(r));
  }
  return out;
}

// -- configurations and versions -----------------------------------------------

inline std::filesystem::path AgentConfigEvolver::config_path(std::string_view agent) const {
  return dir_ / (std::string(agent) + ".toml");
}

inline result<void> AgentConfigEvolver::archive_current(std::string_view agent) const {
  namespace fio = leash::detail::file_io;
  auto const current = config_path(agent);
  std::string bytes;
  if (auto ec = detail::read_whole_file(current, bytes)) {
    if (ec == std::errc::no_such_file_or_directory) return success();  // nothing to archive
    return detail::io_error("read", current, ec);
  }
  std::error_code ec;
  auto const modified = std::filesystem::last_write_time(current, ec);
  bool const keep_time = !ec;
  auto const mode = detail::mode_of(current, 0600);

  BOOST_OUTCOME_TRY(auto versions, list_versions(agent));
  std::uint64_t n = 1;
  for (auto const& v : versions)
    if (!v.current) n = std::max(n, v.version + 1);
  // link() refuses an existing name, so a concurrent writer that took N makes
  // this one try N + 1 instead of overwriting its archive.
  auto target = history_dir() / detail::archive_name(agent, n);
  for (;;) {
    auto failed = fio::create_atomically(target, bytes, true);
    if (!failed) break;
    if (failed != std::errc::file_exists) return detail::io_error("archive to", target, failed);
    target = history_dir() / detail::archive_name(agent, ++n);
  }
  // The archive keeps the replaced file's time and permissions, as a copy would.
  std::error_code ignored;
  if (keep_time) std::filesystem::last_write_time(target, modified, ignored);
  std::filesystem::permissions(target, std::filesystem::perms(mode), ignored);
  return success();
}

inline result<void> AgentConfigEvolver::write_config(AgentConfig const& config) {
  if (!is_safe_agent_name(config.name)) return detail::unsafe_name(config.name);
  auto const path = config_path(config.name);
  auto text = to_toml(config);
  // Refuse to write what would not read back the same.
  auto back = parse_agent_config(text, path.string());
  if (!back)
    return Error(Errc::invalid_config,
                 "agent config " + path.string() + " not written: " + back.error().what());
  if (back.value() != config)
    return Error(Errc::invalid_config, "agent config " + path.string() +
                                           " not written: it would not read back the same (invalid UTF-8?)");
  BOOST_OUTCOME_TRY(archive_current(config.name));
  if (auto ec = leash::detail::file_io::replace_atomically(path, text, detail::mode_of(path, 0666)))
    return detail::io_error("write", path, ec);
  return success();
}

inline result<AgentConfig> AgentConfigEvolver::load(std::string_view agent) const {
  if (!is_safe_agent_name(agent)) return detail::unsafe_name(agent);
  return parse_agent_config_file(config_path(agent));
}

inline result<std::vector<VersionInfo>> AgentConfigEvolver::list_versions(std::string_view agent) const {
  namespace fs = std::filesystem;
  if (!is_safe_agent_name(agent)) return detail::unsafe_name(agent);
  std::vector<VersionInfo> out;
  std::error_code ec;
  fs::directory_iterator it(history_dir(), ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return detail::io_error("list", history_dir(), ec);
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    auto n = detail::archive_number(it->path().filename().native(), agent);
    if (!n) continue;
    std::error_code ignored;
    if (!it->is_regular_file(ignored)) continue;
    out.push_back(VersionInfo{*n, it->path(), it->last_write_time(ignored), false});
  }
  if (ec) return detail::io_error("list", history_dir(), ec);
  // By number: v2 before v10 (the reference sorted the names as strings, §4.7).
  std::sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.version < b.version; });

  auto current = config_path(agent);
  auto status = fs::status(current, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return detail::io_error("stat", current, ec);
  if (fs::is_regular_file(status)) {
    std::error_code ignored;
    out.push_back(VersionInfo{out.empty() ? 1 : out.back().version + 1, current,
                              fs::last_write_time(current, ignored), true});
  }
  return out;
}

inline result<void> AgentConfigEvolver::rollback(std::string_view agent, std::uint64_t version) {
  BOOST_OUTCOME_TRY(auto versions, list_versions(agent));
  auto target = std::find_if(versions.begin(), versions.end(), [&](auto const& v) { return v.version == version; });
  if (target == versions.end()) {
    std::string known;
    for (auto const& v : versions) {
      if (!known.empty()) known += ", ";
      known += std::to_string(v.version);
      if (v.current) known += " (current)";
    }
    return Error(Errc::invalid_config, "agent '" + std::string(agent) + "' has no version " + std::to_string(version) +
                                           (known.empty() ? "; it has no versions" : "; versions: " + known));
  }
  if (target->current) return success();

  std::string bytes;
  if (auto ec = detail::read_whole_file(target->path, bytes)) return detail::io_error("read", target->path, ec);
  // A version that no longer parses is not made current.
  if (auto parsed = parse_agent_config(bytes, target->path.string()); !parsed) return std::move(parsed).error();

  BOOST_OUTCOME_TRY(archive_current(agent));
  auto const path = config_path(agent);
  if (auto ec = leash::detail::file_io::replace_atomically(path, bytes, detail::mode_of(path, 0666)))
    return detail::io_error("write", path, ec);
  return success();
}

}  // namespace leash::learn

#endif
