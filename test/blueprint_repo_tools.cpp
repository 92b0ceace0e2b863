// Tests of leash/blueprint/repo_tools.hpp: confinement to the root (`..`,
// absolute paths, symbolic links out of the root, dangling links), the file
// tools on real files, and the test runner's formatting.
#include <leash/blueprint/repo_tools.hpp>

#include "store_kinds.hpp"  // TempDir

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace bp = leash::blueprint;
namespace fs = std::filesystem;
using leash::Errc;
using leash_test::TempDir;

namespace {

void write(fs::path const& p, std::string const& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string slurp(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A repository beside an "outside" directory that no tool may touch.
struct Fixture {
  TempDir dir{"leash-repo-tools"};
  fs::path repo = dir.path() / "repo";
  fs::path outside = dir.path() / "outside";
  bp::RepoRoot root;

  Fixture() : root(make()) {}

  bp::RepoRoot make() {
    write(repo / "src" / "a.txt", "one\ntwo\nthree\n");
    write(repo / "README", "hello\n");
    write(outside / "secret.txt", "do not read\n");
    auto r = bp::RepoRoot::open(repo);
    BOOST_TEST_REQUIRE(r.has_value());
    return r.value();
  }
};

template <class R>
std::string text_of(R const& r) {
  return r.has_value() ? std::string(r.value()) : std::string("error: ") + r.error().what();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(blueprint_repo_tools)

BOOST_AUTO_TEST_CASE(a_root_must_be_an_existing_directory) {
  TempDir dir{"leash-repo-tools"};
  auto missing = bp::RepoRoot::open(dir.path() / "nope");
  BOOST_TEST_REQUIRE(missing.has_error());
  BOOST_TEST(missing.error() == Errc::invalid_config);
  write(dir.path() / "file", "x");
  auto file = bp::RepoRoot::open(dir.path() / "file");
  BOOST_TEST_REQUIRE(file.has_error());
  BOOST_TEST(std::string(file.error().what()).find("not a directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(paths_inside_resolve_and_paths_outside_are_refused) {
  Fixture f;
  auto canon_repo = fs::canonical(f.repo);
  BOOST_TEST(f.root.resolve("src/../src/a.txt").value() == canon_repo / "src" / "a.txt");
  BOOST_TEST(f.root.resolve(".").value() == canon_repo);
  BOOST_TEST(f.root.resolve((canon_repo / "README").string()).value() == canon_repo / "README");
  BOOST_TEST(f.root.resolve("new/dir/file.txt").value() == canon_repo / "new" / "dir" / "file.txt");
  for (std::string bad : std::vector<std::string>{"..", "../outside/secret.txt", "src/../../outside/secret.txt",
                                                  "/etc/passwd", "../repo-evil/x",
                                                  (fs::canonical(f.outside) / "secret.txt").string()}) {
    auto r = f.root.resolve(bad);
    BOOST_TEST_REQUIRE(r.has_error(), bad);
    BOOST_TEST(r.error() == Errc::path_escapes_root, bad);
    BOOST_TEST(std::string(r.error().what()).find("escapes the repository") != std::string::npos);
  }
  BOOST_TEST(f.root.resolve("").error() == Errc::invalid_arguments);
  BOOST_TEST(f.root.resolve(std::string("a\0b", 3)).error() == Errc::invalid_arguments);
}

BOOST_AUTO_TEST_CASE(symbolic_links_are_followed_before_the_check) {
  Fixture f;
  fs::create_directory_symlink(f.outside, f.repo / "out");            // a directory link out of the root
  fs::create_symlink(f.outside / "secret.txt", f.repo / "secret");   // a file link out
  fs::create_symlink(f.outside / "new.txt", f.repo / "dangling");    // dangling, pointing out
  fs::create_symlink("src/a.txt", f.repo / "inside");                 // a link that stays in
  for (std::string bad : {"out/secret.txt", "out", "secret", "dangling", "out/../out/x"}) {
    auto r = f.root.resolve(bad);
    BOOST_TEST_REQUIRE(r.has_error(), bad);
    BOOST_TEST(r.error() == Errc::path_escapes_root, bad);
  }
  BOOST_TEST(f.root.resolve("inside").value() == fs::canonical(f.repo) / "src" / "a.txt");

  // Writing through the dangling link must not create its target outside.
  bp::EditFile edit{f.root};
  auto w = edit({"dangling", "pwned"});
  BOOST_TEST_REQUIRE(w.has_error());
  BOOST_TEST(w.error() == Errc::path_escapes_root);
  BOOST_TEST(!fs::exists(f.outside / "new.txt"));
  bp::ReadFile read{f.root};
  auto r = read({"out/secret.txt", {}, {}});
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(std::string(r.error().what()).find("escapes the repository") != std::string::npos);
}

// Reference scenario 64: read_file("../../etc/passwd") is refused.
BOOST_AUTO_TEST_CASE(read_file_whole_by_lines_and_its_refusals) {
  Fixture f;
  bp::ReadFile read{f.root};
  BOOST_TEST(text_of(read({"src/a.txt", {}, {}})) == "one\ntwo\nthree\n");
  BOOST_TEST(text_of(read({"src/a.txt", 2, {}})) == "two\nthree\n");
  BOOST_TEST(text_of(read({"src/a.txt", 2, 1})) == "two\n");
  BOOST_TEST(text_of(read({"src/a.txt", {}, 1})) == "one\n");
  auto past = read({"src/a.txt", 4, {}});
  BOOST_TEST_REQUIRE(past.has_error());
  BOOST_TEST(std::string(past.error().what()).find("has 3 lines") != std::string::npos);
  BOOST_TEST(read({"src/a.txt", 0, {}}).error() == Errc::invalid_arguments);
  BOOST_TEST(text_of(read({"../../etc/passwd", {}, {}})).find("escapes the repository") != std::string::npos);
  BOOST_TEST(text_of(read({"src", {}, {}})).find("is a directory") != std::string::npos);
  BOOST_TEST(text_of(read({"nope.txt", {}, {}})).find("no such file") != std::string::npos);
  write(f.repo / "blob.bin", std::string("ab\0cd", 5));
  BOOST_TEST(text_of(read({"blob.bin", {}, {}})).find("binary") != std::string::npos);
  // A long read is cut on a line boundary and says where to go on.
  std::string many;
  for (int i = 1; i <= 100; ++i) many += "line " + std::to_string(i) + "\n";
  write(f.repo / "many.txt", many);
  bp::ReadFile narrow{f.root, 4u << 20, 50};
  BOOST_TEST(text_of(narrow({"many.txt", {}, {}})) ==
             "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n[... cut after line 7; continue with start_line 8]\n");
  BOOST_TEST(text_of(narrow({"many.txt", 98, {}})) == "line 98\nline 99\nline 100\n");
  bp::ReadFile small{f.root, 4};
  BOOST_TEST(text_of(small({"src/a.txt", {}, {}})).find("start_line and line_count") != std::string::npos);
  BOOST_TEST(text_of(small({"src/a.txt", 3, {}})) == "three\n");
}

// Reference scenario 64: edit_file("sub/dir/x.txt") creates the directories.
BOOST_AUTO_TEST_CASE(edit_file_creates_directories_keeps_modes_and_leaves_no_temporaries) {
  Fixture f;
  bp::EditFile edit{f.root};
  BOOST_TEST(text_of(edit({"sub/dir/x.txt", "new\n"})) == "wrote 4 bytes to sub/dir/x.txt");
  BOOST_TEST(slurp(f.repo / "sub" / "dir" / "x.txt") == "new\n");

  write(f.repo / "run.sh", "#!/bin/sh\n");
  ::chmod((f.repo / "run.sh").c_str(), 0750);
  BOOST_TEST(edit({"run.sh", "#!/bin/sh\necho hi\n"}).has_value());
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat((f.repo / "run.sh").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0750u);
  BOOST_TEST(slurp(f.repo / "run.sh") == "#!/bin/sh\necho hi\n");

  for (auto const& e : fs::recursive_directory_iterator(f.repo))
    BOOST_TEST(e.path().filename().string().find(".tmp.") == std::string::npos, e.path());

  BOOST_TEST(text_of(edit({"src", "x"})).find("is a directory") != std::string::npos);
  BOOST_TEST(text_of(edit({".", "x"})).find("repository root") != std::string::npos);
  for (std::string git : {".git/hooks/post-checkout", ".leash/runs.db", "src/../.git/config"}) {
    auto refused = edit({git, "x"});
    BOOST_TEST_REQUIRE(refused.has_error(), git);
    BOOST_TEST(refused.error() == Errc::path_escapes_root, git);
  }
  BOOST_TEST(!fs::exists(f.repo / ".git"));
  BOOST_TEST(edit({".github/workflows/ci.yml", "on: push\n"}).has_value());  // other hidden paths are fine
  auto out = edit({"../outside/secret.txt", "overwritten"});
  BOOST_TEST_REQUIRE(out.has_error());
  BOOST_TEST(out.error() == Errc::path_escapes_root);
  BOOST_TEST(slurp(f.outside / "secret.txt") == "do not read\n");
}

BOOST_AUTO_TEST_CASE(editing_a_python_module_drops_its_stale_bytecode) {
  Fixture f;
  write(f.repo / "pkg" / "calc.py", "x = 1\n");
  write(f.repo / "pkg" / "__pycache__" / "calc.cpython-311.pyc", "stale");
  write(f.repo / "pkg" / "__pycache__" / "calcium.cpython-311.pyc", "other module");
  bp::EditFile edit{f.root};
  BOOST_TEST(edit({"pkg/calc.py", "x = 2\n"}).has_value());
  BOOST_TEST(!fs::exists(f.repo / "pkg" / "__pycache__" / "calc.cpython-311.pyc"));
  BOOST_TEST(fs::exists(f.repo / "pkg" / "__pycache__" / "calcium.cpython-311.pyc"));
}

BOOST_AUTO_TEST_CASE(an_edit_previews_as_a_unified_diff_for_the_approver) {
  Fixture f;
  std::string before, one_changed, two_changed;
  for (int i = 1; i <= 20; ++i) {
    std::string l = "l" + std::to_string(i) + "\n";
    before += l;
    one_changed += i == 5 ? "L5\n" : l;
    two_changed += i == 2 ? "L2\n" : i == 18 ? "" : l;
  }
  write(f.repo / "f.txt", before);
  bp::EditFile edit{f.root};
  BOOST_TEST(edit.preview({"f.txt", one_changed}) ==
             "--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n");
  BOOST_TEST(edit.preview({"f.txt", two_changed}) ==
             "--- a/f.txt\n+++ b/f.txt\n@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n l3\n l4\n l5\n"
             "@@ -15,6 +15,5 @@\n l15\n l16\n l17\n-l18\n l19\n l20\n");
  BOOST_TEST(edit.preview({"f.txt", before}) == "no change to f.txt\n");
  BOOST_TEST(edit.preview({"new/x.txt", "a\nb\n"}) ==
             "new file new/x.txt\n--- a/new/x.txt\n+++ b/new/x.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  BOOST_TEST(edit.preview({"../outside/secret.txt", "x"}).find("will fail: path '../outside/secret.txt' escapes") !=
             std::string::npos);
  // Found in review: a dropped final newline is a change, and shown as one.
  write(f.repo / "g.txt", "a\n");
  BOOST_TEST(edit.preview({"g.txt", "a"}) ==
             "--- a/g.txt\n+++ b/g.txt\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n");
  BOOST_TEST(edit.preview({"empty.txt", ""}) == "new file empty.txt\n");
  // Model-written control characters cannot hide a line from the approver.
  BOOST_TEST(edit.preview({"g.txt", "rm -rf ~\r# fix typo\x1b[2K\n"}) ==
             "--- a/g.txt\n+++ b/g.txt\n@@ -1,1 +1,1 @@\n-a\n+rm -rf ~\\r# fix typo\\x1b[2K\n");
  // A diff too long to show says what it leaves out.
  std::string big_before, big_after;
  for (int i = 0; i < 600; ++i) {
    big_before += "old " + std::to_string(i) + "\n";
    big_after += "new " + std::to_string(i) + "\n";
  }
  write(f.repo / "big.txt", big_before);
  auto cut = edit.preview({"big.txt", big_after});
  BOOST_TEST(cut.find("... diff cut at 400 lines: 200 more removed and 600 more added lines not shown\n") !=
             std::string::npos);
  BOOST_TEST(slurp(f.repo / "f.txt") == before);  // previewing writes nothing
  BOOST_TEST(!fs::exists(f.repo / "new"));
}

BOOST_AUTO_TEST_CASE(list_files_skips_hidden_caches_and_build_trees) {
  Fixture f;
  write(f.repo / ".git" / "HEAD", "ref");
  write(f.repo / "build" / "CMakeCache.txt", "");
  write(f.repo / "build" / "junk.o", "");
  write(f.repo / "out" / "CMakeCache.txt", "");  // any name: a build tree is known by its cache
  write(f.repo / "pkg" / "__pycache__" / "m.pyc", "");
  write(f.repo / "pkg" / "m.py", "");
  bp::ListFiles list{f.root};
  BOOST_TEST(text_of(list({{}, {}})) == "README\npkg/\npkg/m.py\nsrc/\nsrc/a.txt\n");
  BOOST_TEST(text_of(list({std::string("src"), {}})) == "src/a.txt\n");
  BOOST_TEST(text_of(list({{}, false})) == "README\npkg/\nsrc/\n");
  BOOST_TEST(text_of(list({std::string("README"), {}})).find("not a directory") != std::string::npos);
  BOOST_TEST(list({std::string("../outside"), {}}).error() == Errc::path_escapes_root);
  bp::ListFiles capped{f.root, 2};
  BOOST_TEST(text_of(capped({{}, {}})) == "README\npkg/\n... and 3 more\n");
}

BOOST_AUTO_TEST_CASE(search_text_finds_exact_text_with_file_and_line) {
  Fixture f;
  write(f.repo / "src" / "b.cpp", "int two = 2;\n// two again\n");
  write(f.repo / "blob.bin", std::string("two\0", 4));
  write(f.repo / ".git" / "config", "two");
  bp::SearchText search{f.root};
  BOOST_TEST(text_of(search({"two", {}}, {})) == "src/a.txt:2: two\nsrc/b.cpp:1: int two = 2;\nsrc/b.cpp:2: // two again\n");
  BOOST_TEST(text_of(search({"two", std::string("src/b.cpp")}, {})) == "src/b.cpp:1: int two = 2;\nsrc/b.cpp:2: // two again\n");
  BOOST_TEST(text_of(search({"Two", {}}, {})) == "no matches\n");
  BOOST_TEST(search({"", {}}, {}).error() == Errc::invalid_arguments);
  BOOST_TEST(search({"x", std::string("../outside")}, {}).error() == Errc::path_escapes_root);
  bp::SearchText capped{f.root, 1};
  BOOST_TEST(text_of(capped({"two", {}}, {})) == "src/a.txt:2: two\n... more matches not shown; narrow the search with path\n");
}

// Found in review: a link committed to a repository may point at a secret.
BOOST_AUTO_TEST_CASE(search_and_list_never_read_through_a_link_out_of_the_root) {
  Fixture f;
  fs::create_symlink(f.outside / "secret.txt", f.repo / "secret");
  fs::create_directory_symlink(f.outside, f.repo / "out");
  fs::create_symlink(f.outside / "gone.txt", f.repo / "dangling");
  bp::SearchText search{f.root};
  BOOST_TEST(text_of(search({"do not read", {}}, {})) == "no matches\n");
  BOOST_TEST(search({"do not read", std::string("secret")}, {}).error() == Errc::path_escapes_root);
  bp::ListFiles list{f.root};
  // Listing shows the links' names (not what they hold), dangling ones too.
  BOOST_TEST(text_of(list({{}, false})) == "README\ndangling\nout/\nsecret\nsrc/\n");
  BOOST_TEST(text_of(list({{}, true})) == "README\ndangling\nout/\nsecret\nsrc/\nsrc/a.txt\n");
}

BOOST_AUTO_TEST_CASE(command_output_keeps_its_end_drops_colours_and_ends_with_the_exit_marker) {
  leash::CommandResult r;
  r.exit_code = 8;
  r.out = "\x1b[31mred\x1b[0m line\n";
  for (int i = 0; i < 2000; ++i) r.out += "noise line " + std::to_string(i) + "\n";
  r.out += "The following tests FAILED:\n\t  1 - a (Failed)\n";
  r.err = "Errors while running CTest\n";
  std::string text = bp::format_command_output(r, 4000);
  BOOST_TEST(text.size() < 4200u);
  BOOST_TEST(text.starts_with("red line\n"));
  BOOST_TEST(text.find("bytes of output left out] ...\n") != std::string::npos);
  BOOST_TEST(text.ends_with("The following tests FAILED:\n\t  1 - a (Failed)\nErrors while running CTest\n[exit code: 8]"));
  BOOST_TEST(text.find('\x1b') == std::string::npos);

  leash::CommandResult slow;
  slow.exit_code = -15;
  slow.timed_out = true;
  BOOST_TEST(bp::format_command_output(slow, 100) == "[exit code: -15] [timed out]");
}

BOOST_AUTO_TEST_CASE(the_test_runner_runs_in_the_root_and_reports_exit_and_timeout) {
  Fixture f;
  bp::TestRunner pwd(f.root, "pwd; echo oops >&2; exit 3");
  BOOST_TEST(pwd.run() == fs::canonical(f.repo).string() + "\noops\n[exit code: 3]");
  bp::TestRunner slow(f.root, "sleep 30", std::chrono::seconds(1));
  std::string out = slow.run();
  BOOST_TEST(out.ends_with("[timed out]"), out);
  // A stop request (the loop's tool timeout) ends it long before its own 60 s.
  bp::TestRunner patient(f.root, "sleep 60", std::chrono::seconds(60));
  std::stop_source stop;
  stop.request_stop();
  auto t0 = std::chrono::steady_clock::now();
  BOOST_TEST(patient.run(stop.get_token()).ends_with("[timed out]"));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)));
}

// The test output is stored and sent to the model: a test that prints its
// environment must not leak the agent's own provider keys.
BOOST_AUTO_TEST_CASE(the_test_command_does_not_see_the_provider_keys) {
  Fixture f;
  ::setenv("OPENAI_API_KEY", "sk-test-must-not-leak", 1);
  ::setenv("ANTHROPIC_API_KEY", "sk-ant-must-not-leak", 1);
  bp::TestRunner env(f.root, "env");
  std::string out = env.run();
  ::unsetenv("OPENAI_API_KEY");
  ::unsetenv("ANTHROPIC_API_KEY");
  BOOST_TEST(out.find("must-not-leak") == std::string::npos);
  BOOST_TEST(out.find("PYTHONDONTWRITEBYTECODE=1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_runner_keeps_the_uncut_output_of_what_it_showed) {
  Fixture f;
  bp::TestRunner noisy(f.root, "for i in $(seq 1 3000); do echo \"FAILED t::test_$i\"; done; exit 1",
                       std::chrono::seconds(60), 2000);
  std::string shown = noisy.run();
  BOOST_TEST(shown.size() < 2200u);
  std::string full = noisy.full_output_for(shown);
  BOOST_TEST(full.find("FAILED t::test_1\n") != std::string::npos);
  BOOST_TEST(full.find("FAILED t::test_3000\n") != std::string::npos);
  BOOST_TEST(noisy.full_output_for("something else") == "something else");
}

BOOST_AUTO_TEST_SUITE_END()
