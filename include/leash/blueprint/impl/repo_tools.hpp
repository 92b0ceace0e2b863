// Definitions for leash/blueprint/repo_tools.hpp.
#ifndef LEASH_BLUEPRINT_IMPL_REPO_TOOLS_HPP
#define LEASH_BLUEPRINT_IMPL_REPO_TOOLS_HPP

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace leash::blueprint {

namespace fs = std::filesystem;

namespace detail {

inline Error io_error(std::string what, std::error_code ec) {
  return Error{Errc::tool_failed, std::move(what) + ": " + ec.message()};
}

/// Whether `p` (lexically normal, absolute) is `root` or below it.
inline bool is_within(fs::path const& p, fs::path const& root) {
  auto rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

/// A dangling symbolic link is the one thing weakly_canonical leaves in a
/// path; writing through it would create its target wherever it points. So
/// follow such links by hand (bounded, as the kernel bounds loops).
inline result<fs::path> resolve_dangling_links(fs::path p) {
  for (int hops = 0; hops < 40; ++hops) {
    fs::path prefix;
    bool followed = false;
    for (auto it = p.begin(); it != p.end(); ++it) {
      prefix /= *it;
      std::error_code ec;
      if (!fs::is_symlink(fs::symlink_status(prefix, ec))) continue;
      fs::path target = fs::read_symlink(prefix, ec);
      if (ec) return io_error("cannot read the link " + prefix.string(), ec);
      fs::path next = target.is_absolute() ? target : prefix.parent_path() / target;
      for (auto rest = std::next(it); rest != p.end(); ++rest) next /= *rest;
      p = fs::weakly_canonical(next, ec);
      if (ec) return io_error("cannot resolve " + next.string(), ec);
      followed = true;
      break;
    }
    if (!followed) return p;
  }
  return Error{Errc::tool_failed, "too many levels of symbolic links in " + p.string()};
}

inline bool looks_binary(std::string_view head) {
  return head.substr(0, std::min<std::size_t>(head.size(), 8000)).find('\0') != std::string_view::npos;
}

inline result<std::string> read_whole(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return Error{Errc::tool_failed, "cannot open " + p.string() + ": " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error{Errc::tool_failed, "cannot read " + p.string()};
  return std::move(ss).str();
}

/// Removes terminal escape sequences (colours, cursor moves): a model reads
/// them as noise, and they can split a test id.
inline std::string strip_ansi(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\x1b') {
      out += s[i];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '[') {  // CSI: parameters, then a final byte in @..~
      std::size_t j = i + 2;
      while (j < s.size() && !(s[j] >= '@' && s[j] <= '~')) ++j;
      i = j;
    } else {
      ++i;  // a two-character escape
    }
  }
  return out;
}

/// Keeps `budget` bytes of `text`: a quarter from its start and the rest from
/// its end, cut on line boundaries, with a line saying what was left out.
inline std::string middle_cut(std::string text, std::size_t budget) {
  if (text.size() <= budget) return text;
  std::size_t head = budget / 4;
  std::size_t tail = budget - head;
  // On line boundaries where there are any, else on a UTF-8 character boundary.
  auto char_start = [&](std::size_t i) {
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    return i;
  };
  std::size_t head_end = text.rfind('\n', head);
  head_end = head_end == std::string::npos ? char_start(head) : head_end + 1;
  std::size_t tail_start = text.find('\n', text.size() - tail);
  tail_start = tail_start == std::string::npos ? char_start(text.size() - tail) : tail_start + 1;
  if (tail_start <= head_end) return text;
  std::string out = text.substr(0, head_end);
  out += "... [" + std::to_string(tail_start - head_end) + " bytes of output left out] ...\n";
  out.append(text, tail_start, std::string::npos);
  return out;
}

}  // namespace detail

// ---- RepoRoot ------------------------------------------------------------------

inline result<RepoRoot> RepoRoot::open(fs::path const& root) {
  std::error_code ec;
  fs::path canon = fs::canonical(root, ec);
  if (ec) return Error{Errc::invalid_config, "repository root '" + root.string() + "': " + ec.message()};
  if (!fs::is_directory(canon, ec))
    return Error{Errc::invalid_config, "repository root '" + root.string() + "' is not a directory"};
  return RepoRoot(std::move(canon));
}

inline result<fs::path> RepoRoot::resolve(std::string_view path) const {
  if (path.empty()) return Error{Errc::invalid_arguments, "path is empty"};
  if (path.find('\0') != std::string_view::npos) return Error{Errc::invalid_arguments, "path contains a NUL byte"};
  fs::path p(path);
  fs::path candidate = p.is_absolute() ? p : root_ / p;
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(candidate, ec);
  if (ec) return detail::io_error("cannot resolve '" + std::string(path) + "'", ec);
  auto followed = detail::resolve_dangling_links(std::move(resolved));
  if (!followed) return followed.error();
  if (!detail::is_within(followed.value(), root_))
    return Error{Errc::path_escapes_root,
                 "path '" + std::string(path) + "' escapes the repository (it resolves to " +
                     followed.value().string() + ")"};
  return std::move(followed).value();
}

inline std::string RepoRoot::relative(fs::path const& resolved) const {
  return resolved.lexically_relative(root_).generic_string();
}

inline bool RepoRoot::skipped(fs::directory_entry const& entry) {
  std::string name = entry.path().filename().string();
  if (name.empty() || name.front() == '.' || name == "__pycache__" || name == "node_modules") return true;
  std::error_code ec;
  return entry.is_directory(ec) && fs::exists(entry.path() / "CMakeCache.txt", ec);
}

// ---- Running the tests -----------------------------------------------------------

inline std::string format_command_output(CommandResult const& r, std::size_t budget) {
  std::string text = detail::strip_ansi(r.out);
  if (!r.err.empty()) {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += detail::strip_ansi(r.err);
  }
  if (r.out_truncated || r.err_truncated) text += "\n... [output beyond the capture limit dropped]";
  std::string out = detail::middle_cut(std::move(text), budget);
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += "[exit code: " + std::to_string(r.exit_code) + "]";
  if (r.timed_out) out += " [timed out]";
  return out;
}

inline std::string TestRunner::run(std::stop_token stop) const {
  CommandOptions options;
  options.cwd = root_.path();
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_);
  options.stop = std::move(stop);
  options.output_cap = 4u << 20;
  // Stale bytecode could hide an edit made within the same second.
  options.env = {{"PYTHONDONTWRITEBYTECODE", "1"}};
  // The output becomes the observation, which is stored and sent to the
  // model: a test printing its environment must not leak the agent's keys.
  options.unset_env = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"};
  auto r = run_command(Command::shell(command_), options);
  std::string shown, full;
  if (!r) {
    shown = full = "could not run the test command: " + std::string(r.error().what()) + "\n[exit code: 127]";
  } else {
    shown = format_command_output(r.value(), budget_);
    full = format_command_output(r.value(), std::string::npos);
  }
  std::lock_guard lock(last_mutex_);
  last_shown_ = shown;
  last_full_ = std::move(full);
  return shown;
}

inline std::string TestRunner::full_output_for(std::string_view shown) const {
  std::lock_guard lock(last_mutex_);
  return shown == last_shown_ ? last_full_ : std::string(shown);
}

// ---- File tools ----------------------------------------------------------------

inline result<std::string> ReadFile::operator()(args const& a) const {
  auto p = root.resolve(a.path);
  if (!p) return p.error();
  std::error_code ec;
  auto st = fs::status(p.value(), ec);
  if (ec || !fs::exists(st)) return Error{Errc::tool_failed, "no such file: " + a.path};
  if (fs::is_directory(st)) return Error{Errc::tool_failed, a.path + " is a directory; list it with list_files"};
  if (!fs::is_regular_file(st)) return Error{Errc::tool_failed, a.path + " is not a regular file"};
  bool ranged = a.start_line || a.line_count;
  auto size = fs::file_size(p.value(), ec);
  if (!ec && size > (ranged ? 16 * max_bytes : max_bytes))
    return Error{Errc::tool_failed, a.path + " has " + std::to_string(size) + " bytes" +
                                        (ranged ? "; too large to read" : "; read it in parts with start_line and line_count")};
  auto text = detail::read_whole(p.value());
  if (!text) return text.error();
  if (detail::looks_binary(text.value())) return Error{Errc::tool_failed, a.path + " is a binary file"};
  std::uint64_t first = a.start_line.value_or(1);
  if (first == 0) return Error{Errc::invalid_arguments, "start_line counts from 1"};
  std::uint64_t count = a.line_count.value_or(UINT64_MAX);
  std::string_view all = text.value();
  std::uint64_t line = 1;
  std::size_t pos = 0;
  while (line < first && pos < all.size()) {
    auto nl = all.find('\n', pos);
    if (nl == std::string_view::npos) {
      pos = all.size();
      break;
    }
    pos = nl + 1;
    ++line;
  }
  if (pos >= all.size() && !all.empty()) {
    auto total = static_cast<std::uint64_t>(std::count(all.begin(), all.end(), '\n')) + (all.back() != '\n');
    return Error{Errc::tool_failed, a.path + " has " + std::to_string(total) + " lines; start_line " +
                                        std::to_string(first) + " is past its end"};
  }
  // Whole lines, up to what a tool result may carry (the loop cuts results at
  // 16 KiB); a cut says where to go on, so nothing is silently missing.
  std::size_t end = pos;
  std::uint64_t n = 0;
  for (; n < count && end < all.size(); ++n) {
    auto nl = all.find('\n', end);
    std::size_t next = nl == std::string_view::npos ? all.size() : nl + 1;
    if (next - pos > output_budget && n > 0) break;
    end = next;
  }
  std::string out(all.substr(pos, end - pos));
  if (n < count && end < all.size())
    out += "[... cut after line " + std::to_string(first + n - 1) + "; continue with start_line " +
           std::to_string(first + n) + "]\n";
  return out;
}

inline result<std::string> EditFile::operator()(args const& a) const {
  auto p = root.resolve(a.path);
  if (!p) return p.error();
  fs::path const& target = p.value();
  if (target == root.path()) return Error{Errc::tool_failed, "'" + a.path + "' is the repository root, not a file"};
  // Git's own files (hooks run on the user's next git command, unseen by
  // `git diff`) and leash's run store are not the model's to write.
  std::string first = fs::path(root.relative(target)).begin()->string();
  if (first == ".git" || first == ".leash")
    return Error{Errc::path_escapes_root, "edit_file may not write under " + first + "/"};
  std::error_code ec;
  auto st = fs::status(target, ec);
  if (fs::is_directory(st)) return Error{Errc::tool_failed, a.path + " is a directory"};
  if (fs::exists(st) && !fs::is_regular_file(st)) return Error{Errc::tool_failed, a.path + " is not a regular file"};
  fs::create_directories(target.parent_path(), ec);
  if (ec) return detail::io_error("cannot create the directories of " + a.path, ec);

  // Beside the target, synced, renamed over it, directory synced: readers
  // (and a crash) see the old content or the new one, never a mix.
  bool existed = fs::exists(st);
  auto mode = existed ? static_cast<mode_t>(st.permissions()) & 07777 : mode_t{0666};
  if (auto failed = leash::detail::file_io::replace_atomically(target, a.content, mode))
    return detail::io_error("cannot write " + a.path, failed);
  if (existed) ::chmod(target.c_str(), mode);  // exactly as before, whatever the umask
  // Python may keep running stale bytecode of an edited module.
  if (target.extension() == ".py") {
    std::string prefix = target.stem().string() + ".";
    for (auto const& e : fs::directory_iterator(target.parent_path() / "__pycache__", ec))
      if (auto n = e.path().filename().string(); n.starts_with(prefix) && n.ends_with(".pyc")) fs::remove(e.path(), ec);
  }
  return "wrote " + std::to_string(a.content.size()) + " bytes to " + root.relative(target);
}

inline std::string EditFile::preview(args const& a) const {
  auto p = root.resolve(a.path);
  if (!p) return "edit_file " + a.path + " (will fail: " + p.error().what() + ")\n";
  std::error_code ec;
  bool exists = fs::is_regular_file(p.value(), ec);
  std::string before;
  if (exists) {
    auto text = detail::read_whole(p.value());
    if (text) before = std::move(text).value();
  }
  std::string rel = root.relative(p.value());
  if (!exists) return "new file " + rel + "\n" + detail::unified_diff("", a.content, rel);
  if (before == a.content) return "no change to " + rel + "\n";
  return detail::unified_diff(before, a.content, rel);
}

inline result<std::string> ListFiles::operator()(args const& a) const {
  auto p = root.resolve(a.path.value_or("."));
  if (!p) return p.error();
  std::error_code ec;
  if (!fs::is_directory(p.value(), ec))
    return Error{Errc::tool_failed, a.path.value_or(".") + " is not a directory"};
  std::vector<std::string> entries;
  bool recursive = a.recursive.value_or(true);
  auto add = [&](fs::directory_entry const& e) {
    std::error_code ignored;  // a dangling link is listed, not an error
    std::string rel = root.relative(e.path());
    if (e.is_directory(ignored)) rel += '/';
    entries.push_back(std::move(rel));
  };
  if (recursive) {
    fs::recursive_directory_iterator it(p.value(), fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      if (RepoRoot::skipped(*it)) {
        std::error_code ignored;
        if (it->is_directory(ignored)) it.disable_recursion_pending();
        continue;
      }
      add(*it);
    }
  } else {
    fs::directory_iterator it(p.value(), fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec))
      if (!RepoRoot::skipped(*it)) add(*it);
  }
  if (ec) return detail::io_error("cannot list " + a.path.value_or("."), ec);
  std::sort(entries.begin(), entries.end());
  std::string out;
  std::size_t shown = std::min(entries.size(), max_entries);
  for (std::size_t i = 0; i < shown; ++i) (out += entries[i]) += '\n';
  if (entries.size() > shown) out += "... and " + std::to_string(entries.size() - shown) + " more\n";
  if (entries.empty()) out = "(empty)\n";
  return out;
}

inline result<std::string> SearchText::operator()(args const& a, std::stop_token stop) const {
  if (a.text.empty()) return Error{Errc::invalid_arguments, "text is empty"};
  auto p = root.resolve(a.path.value_or("."));
  if (!p) return p.error();
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(p.value(), ec)) {
    files.push_back(p.value());
  } else if (fs::is_directory(p.value(), ec)) {
    fs::recursive_directory_iterator it(p.value(), fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code ignored;
      if (RepoRoot::skipped(*it)) {
        if (it->is_directory(ignored)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ignored)) files.push_back(it->path());
    }
  } else {
    return Error{Errc::tool_failed, "no such file or directory: " + a.path.value_or(".")};
  }
  std::sort(files.begin(), files.end());

  std::string out;
  std::size_t matches = 0;
  bool more = false;
  for (auto const& listed : files) {
    if (stop.stop_requested()) return Error{Errc::tool_timeout, "search stopped"};
    // A link inside the tree may point anywhere: read only what resolves inside.
    auto inside = root.resolve(listed.string());
    if (!inside) continue;
    fs::path const& f = inside.value();
    if (fs::file_size(f, ec) > (4u << 20) || ec) continue;
    auto text = detail::read_whole(f);
    if (!text || detail::looks_binary(text.value())) continue;
    std::string_view all = text.value();
    std::size_t line_no = 1, pos = 0;
    while (pos <= all.size()) {
      auto nl = all.find('\n', pos);
      std::string_view line = all.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      if (line.find(a.text) != std::string_view::npos) {
        if (matches == max_matches) {
          more = true;
          break;
        }
        ++matches;
        std::string shown(line.substr(0, utf8_prefix(line, 300)));
        if (line.size() > 300) shown += "…";
        out += root.relative(listed) + ':' + std::to_string(line_no) + ": " + shown + '\n';
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
      ++line_no;
    }
    if (more) break;
  }
  if (more) out += "... more matches not shown; narrow the search with path\n";
  if (matches == 0) out = "no matches\n";
  return out;
}

}  // namespace leash::blueprint

#endif
