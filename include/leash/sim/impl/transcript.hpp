// leash/sim/impl/transcript.hpp — definitions for sim/transcript.hpp.
#ifndef LEASH_SIM_IMPL_TRANSCRIPT_HPP
#define LEASH_SIM_IMPL_TRANSCRIPT_HPP

#include <leash/sim/detail/time_text.hpp>
#include <leash/store/detail/file_io.hpp>

#include <cstdio>
#include <system_error>
#include <utility>

#include <fcntl.h>

namespace leash::sim {

inline std::string format_transcript(std::span<Turn const> turns) {
  if (turns.empty()) return "No conversation recorded.";
  std::string out;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    auto const& t = turns[i];
    if (i > 0) out += '\n';
    out += t.speaker == Role::persona ? "user: " : "chatbot: ";
    out += t.response;
    out += '\n';
    if (t.early_termination) {
      out += "[CONVERSATION ENDED - ";
      out += to_string(t.speaker);
      out += " signaled termination]\n";
    }
  }
  return out;
}

namespace detail::transcript_impl {

// "." for a bare file name: the directory sync after the rename needs a
// directory to open.
inline std::filesystem::path with_parent(std::filesystem::path const& path) {
  return path.has_parent_path() ? path : std::filesystem::path(".") / path;
}

inline Error store_error(std::string_view what, std::filesystem::path const& path, std::error_code ec) {
  return Error{Errc::store_failed, std::string(what) + " " + path.string() + ": " + ec.message()};
}

}  // namespace detail::transcript_impl

namespace detail::transcript_impl {

/// save_transcript of a transcript's text, already formatted.
inline result<void> save_text(std::string_view text, std::filesystem::path const& path, bool durable) {
  auto target = with_parent(path);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) return store_error("cannot create the folder of transcript", path, ec);
  // 0644: transcripts are shared results (judges, people), not secrets.
  if (durable) {
    if (auto werr = leash::detail::file_io::replace_atomically(target, text, 0644))
      return store_error("cannot write transcript", path, werr);
    return success();
  }
  // Not synced: a kill still leaves the old file or the whole new one.
  auto tmp = leash::detail::file_io::temporary_beside(target);
  if (auto werr = leash::detail::file_io::write_new_file(tmp, text, false, 0644)) {
    ::unlink(tmp.c_str());
    return store_error("cannot write transcript", path, werr);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    auto rerr = leash::detail::file_io::last_error();
    ::unlink(tmp.c_str());
    return store_error("cannot write transcript", path, rerr);
  }
  return success();
}

}  // namespace detail::transcript_impl

inline result<void> save_transcript(std::span<Turn const> turns, std::filesystem::path const& path, bool durable) {
  return detail::transcript_impl::save_text(format_transcript(turns), path, durable);
}

inline result<SessionLog> SessionLog::open(std::filesystem::path const& path, std::function<double()> clock) {
  namespace io = detail::transcript_impl;
  auto target = io::with_parent(path);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) return io::store_error("cannot create the folder of session log", path, ec);
  SessionLog log;
  if (auto oerr =
          leash::detail::file_io::open_file(target, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, log.fd_, 0644))
    return io::store_error("cannot open session log", path, oerr);
  log.path_ = path;
  log.clock_ = clock ? std::move(clock) : std::function<double()>(detail::now_seconds);
  return log;
}

inline SessionLog SessionLog::to_sink(std::filesystem::path path, std::function<void(std::string)> sink,
                                      std::function<double()> clock) {
  SessionLog log;
  log.path_ = std::move(path);
  log.sink_ = std::move(sink);
  log.clock_ = clock ? std::move(clock) : std::function<double()>(detail::now_seconds);
  return log;
}

inline std::string SessionLog::stamp() const { return detail::local_stamp(clock_ ? clock_() : 0.0); }

inline void SessionLog::line(std::string& block, std::string const& stamp, std::string_view level,
                             std::string_view message) {
  block += stamp;
  block += " - ";
  block += level;
  block += " - ";
  block += message;
  block += '\n';
}

inline void SessionLog::write(std::string block) {
  if (sink_) {
    sink_(std::move(block));
    return;
  }
  if (!fd_ || leash::detail::file_io::write_all(fd_.get(), block)) ok_ = false;
}

namespace detail::transcript_impl {

inline std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

inline std::string or_dash(std::string const& s) { return s.empty() ? "-" : s; }

inline std::string or_dash(std::optional<double> v) { return v ? leash::detail::format_number(*v) : "-"; }

inline std::string or_dash(std::optional<std::uint64_t> v) { return v ? std::to_string(*v) : "-"; }

inline char const* true_false(bool b) noexcept { return b ? "true" : "false"; }

}  // namespace detail::transcript_impl

inline void SessionLog::start(SessionLogStart const& s) {
  namespace io = detail::transcript_impl;
  auto const t = stamp();
  std::string b;
  std::string const rule(60, '=');
  line(b, t, "INFO", rule);
  line(b, t, "INFO", "CONVERSATION STARTED");
  line(b, t, "INFO", "LLM1 (Persona) Model: " + io::or_dash(s.persona.model));
  line(b, t, "INFO", "LLM1 Prompt: " + io::or_dash(s.persona_name));
  line(b, t, "INFO", "LLM1 Temperature: " + io::or_dash(s.persona.temperature));
  line(b, t, "INFO", "LLM1 Max Tokens: " + io::or_dash(s.persona.max_tokens));
  line(b, t, "INFO", "LLM2 (Provider) Name: " + io::or_dash(s.provider.name));
  line(b, t, "INFO", "LLM2 Model: " + io::or_dash(s.provider.model));
  line(b, t, "INFO", "LLM2 Temperature: " + io::or_dash(s.provider.temperature));
  line(b, t, "INFO", "LLM2 Max Tokens: " + io::or_dash(s.provider.max_tokens));
  line(b, t, "INFO", "Max Turns: " + std::to_string(s.max_turns));
  line(b, t, "INFO", std::string("Persona speaks first: ") + io::true_false(s.persona_first));
  line(b, t, "INFO",
       "Session: " + std::to_string(s.session_index) + "/" + std::to_string(s.session_count) + " " +
           io::or_dash(s.session_type));
  line(b, t, "INFO", rule);
  write(std::move(b));
}

inline void SessionLog::turn(Turn const& turn) {
  namespace io = detail::transcript_impl;
  auto const t = stamp();
  auto const who = io::upper(to_string(turn.speaker));
  std::string b;
  line(b, t, "INFO", "TURN " + std::to_string(turn.turn) + " - " + who);
  line(b, t, "INFO", "Input: " + turn.input.value_or("(none)"));
  line(b, t, "INFO", "Response: " + turn.response);
  std::string id = "(none)";
  if (auto const* v = turn.logging.if_contains("response_id")) {
    if (auto const* str = v->if_string())
      id = std::string(*str);
    else if (!v->is_null())
      id = json::serialize(*v);
  }
  line(b, t, "INFO", "response_id: " + id);
  line(b, t, "INFO", "logging: " + json::serialize(turn.logging));
  if (turn.early_termination) line(b, t, "WARNING", "EARLY TERMINATION detected by " + who);
  line(b, t, "INFO", std::string(40, '-'));
  write(std::move(b));
}

inline void SessionLog::error(std::string_view message, json::object const& failure_metadata) {
  auto const t = stamp();
  std::string b;
  line(b, t, "ERROR", message);
  if (!failure_metadata.empty()) line(b, t, "ERROR", "failure metadata: " + json::serialize(failure_metadata));
  write(std::move(b));
}

inline void SessionLog::end(std::size_t total_turns, bool early_termination, double duration_s) {
  namespace io = detail::transcript_impl;
  auto const t = stamp();
  std::string b;
  std::string const rule(60, '=');
  line(b, t, "INFO", rule);
  line(b, t, "INFO", "CONVERSATION COMPLETED");
  line(b, t, "INFO", "Total Turns: " + std::to_string(total_turns));
  line(b, t, "INFO", std::string("Early Termination: ") + io::true_false(early_termination));
  if (duration_s > 0.0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "Duration: %.2f seconds", duration_s);
    line(b, t, "INFO", buf);
  }
  line(b, t, "INFO", rule);
  write(std::move(b));
}

inline void SessionLog::info(std::string_view message) {
  std::string b;
  line(b, stamp(), "INFO", message);
  write(std::move(b));
}

inline void SessionLog::warning(std::string_view message) {
  std::string b;
  line(b, stamp(), "WARNING", message);
  write(std::move(b));
}

}  // namespace leash::sim

#endif
