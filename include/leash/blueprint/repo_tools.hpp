// leash/blueprint/repo_tools.hpp — tools over one repository: run its tests,
// list, search, read and edit its files, never outside its root.
//
//   auto root = leash::blueprint::RepoRoot::open("path/to/repo");   // result<RepoRoot>
//   auto tests = std::make_shared<leash::blueprint::TestRunner>(*root, "ctest --test-dir build");
//   leash::ToolSet<RunTests, ReadFile, EditFile, ListFiles, SearchText> tools(
//       RunTests{tests}, ReadFile{*root}, EditFile{*root}, ListFiles{*root}, SearchText{*root});
//
// Every path a model passes is resolved against the root with `..` and
// symbolic links followed; one that lands outside is refused
// (Errc::path_escapes_root) before anything is read or written.
#ifndef LEASH_BLUEPRINT_REPO_TOOLS_HPP
#define LEASH_BLUEPRINT_REPO_TOOLS_HPP

#include <leash/blueprint/detail/line_diff.hpp>
#include <leash/error.hpp>
#include <leash/exec.hpp>
#include <leash/store/detail/file_io.hpp>
#include <leash/schema.hpp>

#include <boost/describe/class.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

namespace leash::blueprint {

/// A directory that file tools are confined to.
class RepoRoot {
 public:
  /// `root` must be an existing directory; it is made absolute and canonical
  /// (symbolic links resolved) once, here.
  static result<RepoRoot> open(std::filesystem::path const& root);

  std::filesystem::path const& path() const noexcept { return root_; }

  /// `path` (relative to the root, or absolute) with `.`, `..` and symbolic
  /// links resolved, as far as it exists. Errc::path_escapes_root when that
  /// lands outside the root; Errc::invalid_arguments for an empty path or one
  /// with a NUL byte.
  result<std::filesystem::path> resolve(std::string_view path) const;

  /// `resolved` (a path under the root) relative to the root, '/'-separated;
  /// "." for the root itself.
  std::string relative(std::filesystem::path const& resolved) const;

  /// Entries the listing and search tools skip: hidden ones (`.git`,
  /// `.leash`, …), `__pycache__`, `node_modules`, and build trees (a
  /// directory holding CMakeCache.txt).
  static bool skipped(std::filesystem::directory_entry const& entry);

 private:
  explicit RepoRoot(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

/// Runs a repository's test command and formats what it printed for a model:
/// stdout, then stderr, cut in the middle when longer than `output_budget`
/// (summaries are at the end), terminal colour codes removed, then
/// `[exit code: N]` (and ` [timed out]`). The loop's observation and the
/// `run_tests` tool both use it.
class TestRunner {
 public:
  TestRunner(RepoRoot root, std::string command, std::chrono::seconds timeout = std::chrono::seconds(300),
             std::size_t output_budget = 15000)
      : root_(std::move(root)), command_(std::move(command)), timeout_(timeout), budget_(output_budget) {}

  /// Runs the command in the root (through /bin/sh), without the provider
  /// keys (OPENAI_API_KEY, ANTHROPIC_API_KEY) in its environment. A stop
  /// request ends it like its timeout. A command that cannot start gives its
  /// reason and `[exit code: 127]`, so the metric sees a failure.
  std::string run(std::stop_token stop = {}) const;

  /// The uncut output of the last run if `shown` is what that run returned,
  /// else `shown`: the goal metric parses every failing test, however long
  /// the output the model sees was.
  std::string full_output_for(std::string_view shown) const;

  RepoRoot const& root() const noexcept { return root_; }
  std::string const& command() const noexcept { return command_; }
  std::chrono::seconds timeout() const noexcept { return timeout_; }

 private:
  RepoRoot root_;
  std::string command_;
  std::chrono::seconds timeout_;
  std::size_t budget_;
  mutable std::mutex last_mutex_;  // run_tests (a worker thread) and observe share the runner
  mutable std::string last_shown_, last_full_;
};

/// Output for a model: `out` then `err`, ANSI escapes removed, cut in the
/// middle (on line boundaries) to about `budget` bytes, then the exit marker.
std::string format_command_output(CommandResult const& r, std::size_t budget);

// ---- Arguments -----------------------------------------------------------------

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

struct ReadFileArgs {
  std::string path;
  std::optional<std::uint64_t> start_line;
  std::optional<std::uint64_t> line_count;
  static constexpr std::array field_docs{
      FieldDoc{"path", "file path, relative to the repository root"},
      FieldDoc{"start_line", "first line to return, from 1 (default: 1)"},
      FieldDoc{"line_count", "how many lines to return (default: all)"},
  };
};
BOOST_DESCRIBE_STRUCT(ReadFileArgs, (), (path, start_line, line_count))

struct EditFileArgs {
  std::string path;
  std::string content;
  static constexpr std::array field_docs{
      FieldDoc{"path", "file path, relative to the repository root; missing directories are created"},
      FieldDoc{"content", "the file's complete new content"},
  };
};
BOOST_DESCRIBE_STRUCT(EditFileArgs, (), (path, content))

struct ListFilesArgs {
  std::optional<std::string> path;
  std::optional<bool> recursive;
  static constexpr std::array field_docs{
      FieldDoc{"path", "directory to list, relative to the repository root (default: the root)"},
      FieldDoc{"recursive", "list subdirectories too (default: true)"},
  };
};
BOOST_DESCRIBE_STRUCT(ListFilesArgs, (), (path, recursive))

struct SearchTextArgs {
  std::string text;
  std::optional<std::string> path;
  static constexpr std::array field_docs{
      FieldDoc{"text", "the exact text to find (case-sensitive, not a pattern)"},
      FieldDoc{"path", "file or directory to search, relative to the repository root (default: the root)"},
  };
};
BOOST_DESCRIBE_STRUCT(SearchTextArgs, (), (text, path))

// ---- Tools ---------------------------------------------------------------------

/// Runs the test command again (it also runs before every iteration).
struct RunTests {
  static constexpr std::string_view name = "run_tests";
  static constexpr std::string_view description =
      "Run the repository's test command and return its output and exit code.";
  // The command's own timeout (TestRunner) ends it first, and the stop token
  // ends it at this one; an hour only bounds a runner configured longer.
  static constexpr auto timeout = std::chrono::hours(1);
  using args = NoArgs;
  std::shared_ptr<TestRunner const> runner;
  std::string operator()(args const&, std::stop_token stop) const { return runner->run(stop); }
};

/// Reads a text file (or some of its lines).
struct ReadFile {
  static constexpr std::string_view name = "read_file";
  static constexpr std::string_view description =
      "Read a text file of the repository, whole or a range of its lines.";
  static constexpr auto timeout = std::chrono::seconds(10);
  using args = ReadFileArgs;
  RepoRoot root;
  /// Files over this size must be read by line range (and over 16 times it
  /// not at all).
  std::uintmax_t max_bytes = 4u << 20;
  /// Whole lines up to this many bytes per call; a longer read ends with
  /// where to continue (`start_line`).
  std::size_t output_budget = 15000;
  result<std::string> operator()(args const& a) const;
};

/// Writes a file's complete content, atomically (temporary file, fsync,
/// rename): a crash leaves the old content or the new, never half. Keeps an
/// existing file's mode; a new one gets 0666 less the umask. Never
/// under `.git/` (hooks would run on the user's next git command) or `.leash/`.
struct EditFile {
  static constexpr std::string_view name = "edit_file";
  static constexpr std::string_view description =
      "Replace a file's complete content (or create the file), under the repository root.";
  static constexpr auto timeout = std::chrono::seconds(10);
  using args = EditFileArgs;
  RepoRoot root;
  result<std::string> operator()(args const& a) const;
  /// For a person approving the edit: a unified diff against the file as it
  /// is now (or the new file's lines).
  std::string preview(args const& a) const;
};

/// Lists files, one relative path per line; directories end in '/'.
struct ListFiles {
  static constexpr std::string_view name = "list_files";
  static constexpr std::string_view description =
      "List the files of the repository or of one of its directories (hidden and build directories skipped).";
  static constexpr auto timeout = std::chrono::seconds(10);
  using args = ListFilesArgs;
  RepoRoot root;
  std::size_t max_entries = 2000;
  result<std::string> operator()(args const& a) const;
};

/// Finds lines containing a text: "path:line: text", one per match.
struct SearchText {
  static constexpr std::string_view name = "search_text";
  static constexpr std::string_view description =
      "Find the lines of the repository's text files that contain an exact text.";
  static constexpr auto timeout = std::chrono::seconds(20);
  using args = SearchTextArgs;
  RepoRoot root;
  std::size_t max_matches = 200;
  result<std::string> operator()(args const& a, std::stop_token stop) const;
};

}  // namespace leash::blueprint

#include <leash/blueprint/impl/repo_tools.hpp>

#endif
