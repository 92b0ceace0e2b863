#include <leash/store/file.hpp>
#include <boost/test/unit_test.hpp>

#include "store_contract.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace test_store_file {
using namespace leash_test::store_contract;
namespace fs = std::filesystem;
static_assert(leash::Store<leash::FileStore>);

/// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    do path_ = fs::temp_directory_path() / ("leash-file-store-" + std::to_string(rd()) + std::to_string(rd()));
    while (fs::exists(path_));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(TempDir const&) = delete;
  TempDir& operator=(TempDir const&) = delete;
  fs::path const& path() const noexcept { return path_; }

 private:
  fs::path path_;
};

inline std::shared_ptr<leash::FileStore> open_store(fs::path const& dir, leash::FileStoreOptions options = {}) {
  auto opened = leash::FileStore::open(dir, options);
  BOOST_REQUIRE_MESSAGE(opened.has_value(), (opened.has_error() ? opened.error().what() : std::string()));
  return std::move(opened).value();
}

/// A FileStore over its own temporary directory; the directory is removed
/// after the store, when the last copy of the AnyStore goes.
inline leash::AnyStore fresh_file_store(leash::FileStoreOptions options = {}) {
  auto dir = std::make_shared<TempDir>();
  auto store = open_store(dir->path(), options);
  // Members are destroyed last to first: the store closes its files, then the directory goes.
  auto owner = std::make_shared<std::pair<std::shared_ptr<TempDir>, std::shared_ptr<leash::FileStore>>>(dir, store);
  return leash::AnyStore(std::shared_ptr<leash::StoreInterface>(owner, store.get()));
}

inline std::string read_text(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_text(fs::path const& p, std::string const& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

inline void append_text(fs::path const& p, std::string const& text) {
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << text;
}

/// The complete lines of a file (each without its newline), and whether it ends with one.
inline std::vector<std::string> lines_of(std::string const& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

inline std::string join_lines(std::vector<std::string> const& lines) {
  std::string out;
  for (auto const& l : lines) out += l + "\n";
  return out;
}

/// A journal line written by hand, in the store's own envelope.
inline std::string record_line(std::string const& type, bj::value const& data, int version = 1) {
  auto canonical = leash::canonical_json(data);
  return "{\"v\":" + std::to_string(version) + ",\"type\":\"" + type + "\",\"data\":" + canonical +
         ",\"sha256\":\"" + leash::sha256_hex(canonical) + "\"}\n";
}

inline std::uint64_t seq_of(std::string const& line) {
  return bj::parse(line).at("data").at("seq").to_number<std::uint64_t>();
}

template <class T>
void expect_error(leash::result<T> const& r, leash::Errc code, std::vector<std::string> const& fragments) {
  BOOST_REQUIRE_MESSAGE(r.has_error(), "expected an error");
  BOOST_TEST_MESSAGE(r.error().message);
  BOOST_TEST((r.error() == code), "error " << r.error());
  for (auto const& f : fragments)
    BOOST_TEST(r.error().message.find(f) != std::string::npos, "'" << f << "' in: " << r.error().message);
}

inline bool any_warning_contains(leash::FileStore const& store, std::string const& fragment) {
  for (auto const& w : store.warnings())
    if (w.find(fragment) != std::string::npos) return true;
  return false;
}

/// A run with three recorded iterations, a journaled call of the fourth in
/// flight and a pending approval: something of every record type.
inline State busy_run(leash::FileStore& store, std::string const& id = "r1") {
  State s = new_run(id, "fix the tests");
  grow(s, 1);
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  grow(s, 2);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  grow(s, 3);
  s.metrics.cost_usd = 0.1 + 0.2;  // not the nearest double to 0.3: must come back exactly
  s.metrics.elapsed_s = 1606472644.3345807;
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  BOOST_REQUIRE(run_sync(store.journal(id, {journaled(3, 0, true), journaled(3, 1, false)})).has_value());
  leash::PendingApproval p;
  p.token_sha256 = leash::sha256_hex("token");
  p.tool = "fix";
  p.args = bj::object{{"name", "b"}};
  p.created_at = leash::Tracer::now();
  s.pending_approval = p;
  s.status = leash::Status::awaiting_approval;
  s.reason = "action 'fix' awaits approval";
  BOOST_REQUIRE(run_sync(store.save_head(s)).has_value());
  return s;
}

inline bj::value stored(leash::FileStore& store, std::string const& id) { return bj::value_from(load(store, id)); }

}  // namespace test_store_file

using namespace test_store_file;

BOOST_AUTO_TEST_SUITE(store_file)

LEASH_STORE_CONTRACT_TESTS(fresh_file_store())

BOOST_AUTO_TEST_SUITE(async_durability)
LEASH_STORE_CONTRACT_TESTS(fresh_file_store({leash::Durability::async, 0}))
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(compacting_every_record)
LEASH_STORE_CONTRACT_TESTS(fresh_file_store({leash::Durability::sync, 1}))
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_run_survives_closing_and_reopening_the_store) {
  TempDir dir;
  State s;
  bj::value before;
  std::vector<leash::Event> events = {{leash::Tracer::now(), leash::event::loop_start, {{"goal", "g"}, {"cost", 0.1 + 0.2}}},
                                      {leash::Tracer::now(), leash::event::loop_end, {{"status", "SUCCESS"}}}};
  {
    auto store = open_store(dir.path());
    s = busy_run(*store);
    before = stored(*store, "r1");
    BOOST_REQUIRE(run_sync(store->append_events("r1", events)).has_value());
  }
  auto store = open_store(dir.path());
  State back = load(*store, "r1");
  BOOST_TEST((bj::value_from(back) == before));
  BOOST_TEST(back.iterations.size() == 3u);
  BOOST_REQUIRE(back.metrics.cost_usd.has_value());
  BOOST_TEST(*back.metrics.cost_usd == 0.1 + 0.2);  // exact, not merely close
  BOOST_TEST(back.metrics.elapsed_s == 1606472644.3345807);
  BOOST_REQUIRE(back.in_flight.size() == 2u);
  BOOST_TEST(back.in_flight[0].result.has_value());
  BOOST_TEST(!back.in_flight[1].result.has_value());
  BOOST_REQUIRE(back.pending_approval.has_value());
  BOOST_TEST(back.pending_approval->created_at == s.pending_approval->created_at);

  auto loaded_events = run_sync(store->load_events("r1"));
  BOOST_REQUIRE(loaded_events.has_value());
  BOOST_REQUIRE(loaded_events.value().size() == 2u);
  BOOST_TEST((loaded_events.value()[0] == bj::value(events[0].to_json())));
  BOOST_TEST((loaded_events.value()[1] == bj::value(events[1].to_json())));

  auto runs = run_sync(store->list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE(runs.value().size() == 1u);
  BOOST_TEST(runs.value()[0].goal == "fix the tests");
  BOOST_TEST(runs.value()[0].iterations == 3u);
  BOOST_TEST((runs.value()[0].status == leash::Status::awaiting_approval));

  // The reopened store appends where the first one stopped.
  grow(s, 4);
  s.pending_approval.reset();
  s.status.reset();
  BOOST_REQUIRE(run_sync(store->append_iteration(s)).has_value());
  State after = load(*open_store(dir.path()), "r1");
  BOOST_TEST(after.iterations.size() == 4u);
  BOOST_TEST(after.in_flight.empty());  // iteration 3 is recorded: its journal is retired
  BOOST_TEST(!after.pending_approval.has_value());
  BOOST_TEST(store->warnings().empty());
}

BOOST_AUTO_TEST_CASE(a_flipped_byte_in_a_middle_line_is_state_corrupt_naming_file_and_line) {
  TempDir dir;
  auto store = open_store(dir.path());
  busy_run(*store);
  auto journal = store->journal_path("r1");
  auto text = read_text(journal);
  auto lines = lines_of(text);
  BOOST_REQUIRE(lines.size() == 5u);  // create, iteration, iteration, journal, head
  auto at = lines[1].find("obs 1");
  BOOST_REQUIRE(at != std::string::npos);
  lines[1][at + 2] = 't';  // still valid JSON: only the hash can tell
  write_text(journal, join_lines(lines));

  for (auto const& reader : {store, open_store(dir.path())})
    expect_error(run_sync(reader->load("r1")), leash::Errc::state_corrupt, {journal.string(), "line 2", "sha256"});
  // Nothing is appended to a journal that does not check out.
  auto fresh = open_store(dir.path());
  State s = new_run("r1");
  grow(s, 5);
  expect_error(run_sync(fresh->append_iteration(s)), leash::Errc::state_corrupt, {"line 2"});
  BOOST_TEST(read_text(journal) == join_lines(lines));
  // Listing reads only the first and last records, so it still summarises
  // the run; when the last one is damaged, it lists the run as unreadable.
  auto runs = run_sync(fresh->list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE(runs.value().size() == 1u);
  BOOST_TEST(runs.value()[0].iterations == 3u);
  auto& last = lines.back();
  last[last.find("awaits approval")] = 'A';
  write_text(journal, join_lines(lines));
  auto damaged = run_sync(open_store(dir.path())->list_runs());
  BOOST_REQUIRE(damaged.has_value());
  BOOST_REQUIRE(damaged.value().size() == 1u);
  BOOST_TEST(damaged.value()[0].run_id == "r1");
  BOOST_TEST(damaged.value()[0].reason.find("unreadable") != std::string::npos);
  BOOST_TEST(damaged.value()[0].reason.find("sha256") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_json_in_the_middle_is_state_corrupt) {
  TempDir dir;
  auto store = open_store(dir.path());
  busy_run(*store);
  auto journal = store->journal_path("r1");
  auto lines = lines_of(read_text(journal));
  lines[2] = lines[2].substr(0, lines[2].size() / 2);  // a torn line that is not the last one
  write_text(journal, join_lines(lines));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt,
               {journal.string(), "line 3", "not JSON"});

  lines[2] = "";
  write_text(journal, join_lines(lines));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt, {"line 3", "empty line"});
}

BOOST_AUTO_TEST_CASE(unknown_record_types_and_missing_records_are_state_corrupt) {
  TempDir dir;
  auto store = open_store(dir.path());
  busy_run(*store);
  auto journal = store->journal_path("r1");
  auto const original = read_text(journal);
  auto lines = lines_of(original);

  // A well-formed, correctly hashed record of a kind this build does not know.
  append_text(journal, record_line("mystery", bj::object{{"seq", lines.size()}}));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt,
               {"line 6", "unknown record type \"mystery\""});

  // A whole line removed: the sequence numbers give it away.
  lines.erase(lines.begin() + 1);
  write_text(journal, join_lines(lines));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt,
               {"line 2", "record number 2 where 1 was expected"});

  // A correctly hashed record whose data has the wrong shape (Boost.JSON's
  // value_to would throw): reported, not thrown.
  lines = lines_of(original);
  lines.resize(3);
  auto bad = bj::object{{"seq", 3},
                        {"from", bj::object{{"iterations", 3}, {"artifacts", 3}, {"failed_approaches", 3}}},
                        {"iterations", bj::array{"not an iteration"}},
                        {"artifacts", bj::array{}},
                        {"failed_approaches", bj::array{}},
                        {"head", bj::object{}}};
  write_text(journal, join_lines(lines) + record_line("iteration", bad));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt,
               {"line 4", "an iteration does not have the expected shape"});
}

BOOST_AUTO_TEST_CASE(a_torn_final_line_is_ignored_then_cut_off_before_the_next_append) {
  TempDir dir;
  State s;
  {
    auto store = open_store(dir.path());
    s = busy_run(*store);
  }
  auto journal = dir.path() / "r1.jsonl";
  auto const whole = read_text(journal);
  // What a crash in the middle of the next append leaves: part of a record, no newline.
  grow(s, 4);
  auto torn = record_line("iteration", bj::object{{"seq", 5}, {"padding", std::string(300, 'x')}});
  append_text(journal, torn.substr(0, torn.size() / 2));

  auto store = open_store(dir.path());
  State back = load(*store, "r1");
  BOOST_TEST(back.iterations.size() == 3u);
  BOOST_TEST(back.in_flight.size() == 2u);
  BOOST_TEST(any_warning_contains(*store, journal.string()));
  BOOST_TEST(any_warning_contains(*store, "line 6"));
  BOOST_TEST(any_warning_contains(*store, "incomplete final record"));

  BOOST_REQUIRE(run_sync(store->append_iteration(s)).has_value());
  auto const after = read_text(journal);
  BOOST_TEST(after.substr(0, whole.size()) == whole);  // history untouched
  BOOST_TEST(after.find(std::string(20, 'x')) == std::string::npos);  // the torn bytes are gone
  BOOST_REQUIRE(!after.empty());
  BOOST_TEST(after.back() == '\n');
  for (auto const& line : lines_of(after)) BOOST_TEST(bj::parse(line).is_object());

  auto reader = open_store(dir.path());
  State reloaded = load(*reader, "r1");
  BOOST_TEST(reloaded.iterations.size() == 4u);
  BOOST_TEST(reloaded.iterations[3].observation == "obs 3");
  BOOST_TEST(reader->warnings().empty());
}

BOOST_AUTO_TEST_CASE(a_torn_final_event_line_is_ignored_then_cut_off) {
  TempDir dir;
  auto store = open_store(dir.path());
  BOOST_REQUIRE(run_sync(store->create_run(new_run("r1"))).has_value());
  BOOST_REQUIRE(run_sync(store->append_events("r1", {{1.0, leash::event::loop_start, {}}})).has_value());
  auto events = store->events_path("r1");
  append_text(events, "{\"ts\":2.0,\"kind\":\"iter");

  auto reader = open_store(dir.path());
  auto loaded = run_sync(reader->load_events("r1"));
  BOOST_REQUIRE(loaded.has_value());
  BOOST_TEST(loaded.value().size() == 1u);
  BOOST_TEST(any_warning_contains(*reader, events.string()));

  BOOST_REQUIRE(run_sync(reader->append_events("r1", {{3.0, leash::event::loop_end, {}}})).has_value());
  auto again = run_sync(open_store(dir.path())->load_events("r1"));
  BOOST_REQUIRE(again.has_value());
  BOOST_REQUIRE(again.value().size() == 2u);
  BOOST_TEST(again.value()[1].at("kind").as_string() == "loop.end");
  BOOST_TEST(read_text(events).find("iter") == std::string::npos);

  // In the middle, the same damage is corruption.
  append_text(events, "{\"ts\":\n");
  append_text(events, "{\"ts\":4.0,\"kind\":\"loop.end\"}\n");
  expect_error(run_sync(open_store(dir.path())->load_events("r1")), leash::Errc::state_corrupt,
               {events.string(), "line 3", "not JSON"});
}

BOOST_AUTO_TEST_CASE(newer_versions_are_unsupported) {
  TempDir dir;
  auto store = open_store(dir.path());
  busy_run(*store);
  auto journal = store->journal_path("r1");
  auto const original = read_text(journal);

  append_text(journal, record_line("head", bj::object{{"seq", 5}, {"something", "new"}}, 2));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_version_unsupported,
               {journal.string(), "line 6", "record version 2", "newer"});

  // A state layout from a newer build, in an otherwise valid record.
  write_text(journal, original);
  State s = new_run("future");
  s.schema_version = leash::state_schema_version + 1;
  BOOST_REQUIRE(run_sync(store->create_run(s)).has_value());
  expect_error(run_sync(open_store(dir.path())->load("future")), leash::Errc::state_version_unsupported,
               {"future.jsonl", "line 1", "state schema version " + std::to_string(leash::state_schema_version + 1)});

  // A snapshot from a newer build.
  BOOST_REQUIRE(store->compact("r1").has_value());
  auto snapshot = store->snapshot_path("r1");
  auto snapshot_data = bj::parse(read_text(snapshot)).at("data");
  write_text(snapshot, record_line("snapshot", snapshot_data, 3));
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_version_unsupported,
               {snapshot.string(), "record version 3"});
}

BOOST_AUTO_TEST_CASE(compaction_keeps_the_state_and_appends_continue_after_it) {
  TempDir dir;
  auto store = open_store(dir.path());
  State s = busy_run(*store);
  BOOST_REQUIRE(run_sync(store->append_events("r1", {{1.0, leash::event::loop_start, {}}})).has_value());
  auto const before = stored(*store, "r1");

  BOOST_REQUIRE(store->compact("r1").has_value());
  BOOST_TEST(fs::exists(store->snapshot_path("r1")));
  auto journal_lines = lines_of(read_text(store->journal_path("r1")));
  BOOST_REQUIRE(journal_lines.size() == 1u);  // history moved into the snapshot
  BOOST_TEST(bj::parse(journal_lines[0]).at("type").as_string() == "base");
  BOOST_TEST((stored(*store, "r1") == before));
  BOOST_TEST((stored(*open_store(dir.path()), "r1") == before));

  // Appends after compaction land in the new journal and load on top of the snapshot.
  grow(s, 4);
  s.pending_approval.reset();
  s.status = leash::Status::success;
  BOOST_REQUIRE(run_sync(store->append_iteration(s)).has_value());
  BOOST_REQUIRE(run_sync(store->journal("r1", {journaled(4, 0, false)})).has_value());
  auto reader = open_store(dir.path());
  State back = load(*reader, "r1");
  BOOST_TEST(back.iterations.size() == 4u);
  BOOST_TEST(back.iterations[3].observation == "obs 3");
  BOOST_TEST((back.status == leash::Status::success));
  BOOST_REQUIRE(back.in_flight.size() == 1u);
  BOOST_TEST(back.in_flight[0].iteration == 4u);
  auto runs = run_sync(reader->list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE(runs.value().size() == 1u);
  BOOST_TEST(runs.value()[0].iterations == 4u);
  BOOST_TEST((runs.value()[0].status == leash::Status::success));
  BOOST_TEST(runs.value()[0].goal == "fix the tests");
  BOOST_TEST(run_sync(reader->load_events("r1")).value().size() == 1u);  // events are not compacted away

  // A second compaction continues the generations.
  auto const twice = stored(*store, "r1");
  BOOST_REQUIRE(store->compact("r1").has_value());
  BOOST_TEST((stored(*open_store(dir.path()), "r1") == twice));
  BOOST_TEST(bj::parse(read_text(store->snapshot_path("r1"))).at("data").at("generation").as_int64() == 2);
  BOOST_TEST(store->warnings().empty());
}

BOOST_AUTO_TEST_CASE(an_interrupted_compaction_reads_as_the_old_or_the_new_state) {
  TempDir dir;
  auto store = open_store(dir.path());
  State s = busy_run(*store);
  auto const before = stored(*store, "r1");
  auto const journal = store->journal_path("r1");
  auto const old_journal = read_text(journal);

  // Killed while writing the snapshot's temporary file: the old state.
  write_text(fs::path(store->snapshot_path("r1")) += ".tmp.12345", "{\"v\":1,\"type\":\"snap");
  BOOST_TEST((stored(*open_store(dir.path()), "r1") == before));

  // Killed after the snapshot was renamed into place, before the journal was
  // replaced: the snapshot already holds everything the old journal says.
  BOOST_REQUIRE(store->compact("r1").has_value());
  write_text(journal, old_journal);
  auto reader = open_store(dir.path());
  BOOST_TEST((stored(*reader, "r1") == before));
  BOOST_TEST(any_warning_contains(*reader, "compaction was interrupted"));
  auto runs = run_sync(reader->list_runs());
  BOOST_REQUIRE(runs.has_value());
  BOOST_REQUIRE(runs.value().size() == 1u);  // temporary files are not runs
  BOOST_TEST(runs.value()[0].iterations == 3u);

  // The next append finishes the job: no record lost, none counted twice.
  grow(s, 4);
  BOOST_REQUIRE(run_sync(reader->append_iteration(s)).has_value());
  State back = load(*open_store(dir.path()), "r1");
  BOOST_TEST(back.iterations.size() == 4u);
  BOOST_TEST(back.artifacts.size() == 4u);
  BOOST_TEST(back.iterations[3].observation == "obs 3");
  BOOST_TEST(bj::parse(lines_of(read_text(journal))[0]).at("type").as_string() == "base");

  // The same after an earlier compaction: a journal of generation 2 with
  // records after its base, left beside the snapshot of generation 3 that
  // already holds them. Replaying them on top would count them twice.
  auto writer = open_store(dir.path());
  grow(s, 5);
  BOOST_REQUIRE(run_sync(writer->append_iteration(s)).has_value());
  BOOST_REQUIRE(run_sync(writer->journal("r1", {journaled(5, 0, false)})).has_value());
  auto const generation_2 = read_text(journal);
  BOOST_TEST(lines_of(generation_2).size() == 4u);  // base, two iteration records, one journal record
  auto const with_five = stored(*writer, "r1");
  BOOST_REQUIRE(writer->compact("r1").has_value());
  write_text(journal, generation_2);
  auto late = open_store(dir.path());
  BOOST_TEST((stored(*late, "r1") == with_five));
  BOOST_TEST(load(*late, "r1").in_flight.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_damaged_snapshot_is_state_corrupt_naming_it) {
  TempDir dir;
  auto store = open_store(dir.path());
  busy_run(*store);
  BOOST_REQUIRE(store->compact("r1").has_value());
  auto snapshot = store->snapshot_path("r1");
  auto text = read_text(snapshot);
  auto at = text.find("fix the tests");
  BOOST_REQUIRE(at != std::string::npos);
  text[at] = 'F';
  write_text(snapshot, text);
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt, {snapshot.string(), "sha256"});

  fs::remove(snapshot);  // the journal continues a snapshot that is gone
  expect_error(run_sync(open_store(dir.path())->load("r1")), leash::Errc::state_corrupt,
               {store->journal_path("r1").string(), "line 1", "there is no snapshot"});
}

BOOST_AUTO_TEST_CASE(automatic_compaction_keeps_the_journal_short) {
  TempDir dir;
  auto store = open_store(dir.path(), {leash::Durability::sync, 4});
  State s = new_run("r1");
  BOOST_REQUIRE(run_sync(store->create_run(s)).has_value());
  for (std::size_t n = 1; n <= 10; ++n) {
    BOOST_REQUIRE(run_sync(store->journal("r1", {journaled(n - 1, 0, true)})).has_value());
    grow(s, n);
    BOOST_REQUIRE(run_sync(store->append_iteration(s)).has_value());
  }
  BOOST_TEST(fs::exists(store->snapshot_path("r1")));
  BOOST_TEST(lines_of(read_text(store->journal_path("r1"))).size() < 4u);
  State back = load(*open_store(dir.path()), "r1");
  BOOST_TEST((bj::value_from(back) == bj::value_from(s)));
  BOOST_TEST(store->warnings().empty());
}

BOOST_AUTO_TEST_CASE(run_ids_that_could_escape_the_directory_are_refused) {
  TempDir outer;
  auto inside = outer.path() / "store";
  auto store = open_store(inside);
  std::vector<std::string> const refused = {"../escape", "..", ".", "a/b", "/etc/passwd", "..\\x", "", ".hidden",
                                            "tab\there", "new\nline", "x.events", std::string(129, 'a'),
                                            std::string("nul\0byte", 8)};
  for (auto const& id : refused) {
    BOOST_TEST_CONTEXT("run id " << bj::serialize(bj::string(id))) {
      expect_error(run_sync(store->create_run(new_run(id))), leash::Errc::store_failed, {"cannot name a file"});
      expect_error(run_sync(store->load(id)), leash::Errc::store_failed, {"cannot name a file"});
      expect_error(run_sync(store->append_iteration(new_run(id))), leash::Errc::store_failed, {"cannot name a file"});
      expect_error(run_sync(store->journal(id, {journaled(0, 0, false)})), leash::Errc::store_failed,
                   {"cannot name a file"});
      expect_error(run_sync(store->append_events(id, {{1.0, leash::event::loop_start, {}}})),
                   leash::Errc::store_failed, {"cannot name a file"});
      expect_error(run_sync(store->load_events(id)), leash::Errc::store_failed, {"cannot name a file"});
      expect_error(store->compact(id), leash::Errc::store_failed, {"cannot name a file"});
    }
  }
  // Nothing was written anywhere: not beside the store, not in it.
  std::vector<fs::path> outside(fs::directory_iterator(outer.path()), fs::directory_iterator{});
  BOOST_REQUIRE(outside.size() == 1u);
  BOOST_TEST(outside[0] == inside);
  BOOST_TEST(fs::is_empty(inside));
  // Ids a run may have: as new_run_id makes them, and other printable names.
  for (std::string id : {leash::new_run_id(), std::string("my run v1.2"), std::string(128, 'a')})
    BOOST_TEST(leash::FileStore::check_run_id(id).has_value());
}

BOOST_AUTO_TEST_CASE(bytes_appended_per_iteration_do_not_grow_with_the_run) {
  TempDir dir;
  auto store = open_store(dir.path(), {leash::Durability::async, 0});
  auto const journal = store->journal_path("r1");
  State s = new_run("r1");
  BOOST_REQUIRE(run_sync(store->create_run(s)).has_value());
  auto appended_bytes = [&](std::size_t n) {
    auto size_before = fs::file_size(journal);
    grow(s, n);
    BOOST_REQUIRE(run_sync(store->append_iteration(s)).has_value());
    return fs::file_size(journal) - size_before;
  };
  std::uintmax_t at_10 = 0, at_1000 = 0;
  for (std::size_t n = 1; n <= 1000; ++n) {
    auto bytes = appended_bytes(n);
    if (n == 10) at_10 = bytes;
    if (n == 1000) at_1000 = bytes;
  }
  // What the new records themselves grew by ("obs 999" is longer than "obs 9").
  auto new_records_size = [](std::size_t index) {
    State one = new_run("r1");
    grow(one, index + 1);
    return bj::serialize(bj::value_from(one.iterations[index])).size() +
           bj::serialize(bj::value_from(one.artifacts[index])).size() +
           bj::serialize(bj::value_from(one.failed_approaches[index])).size();
  };
  auto record_growth = static_cast<double>(new_records_size(999)) - static_cast<double>(new_records_size(9));
  // Beyond that, only a few counters in the envelope and head gain digits
  // (seq, three "from" counts, three head counts, state_version) and the time
  // stamp's length varies. A store that rewrote or re-appended history would
  // be tens of kilobytes off.
  auto unexplained = static_cast<double>(at_1000) - static_cast<double>(at_10) - record_growth;
  BOOST_TEST_MESSAGE("bytes at iteration 10: " << at_10 << ", at 1000: " << at_1000);
  BOOST_TEST(std::abs(unexplained) <= 40.0, "unexplained growth " << unexplained);
  BOOST_TEST(fs::file_size(journal) > 200 * at_1000);  // the run is large; its appends are not
  BOOST_TEST(load(*open_store(dir.path()), "r1").iterations.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_are_refused_before_anything_is_written) {
  TempDir dir;
  auto store = open_store(dir.path());
  State s = new_run("r1");
  BOOST_REQUIRE(run_sync(store->create_run(s)).has_value());
  auto const size = fs::file_size(store->journal_path("r1"));
  grow(s, 1);
  s.iterations[0].metric = leash::MetricSnapshot{std::numeric_limits<double>::quiet_NaN(), false, {}};
  expect_error(run_sync(store->append_iteration(s)), leash::Errc::store_failed,
               {"'r1'", "iterations[0].metric.value", "NaN or infinite"});
  BOOST_TEST(fs::file_size(store->journal_path("r1")) == size);
  expect_error(run_sync(store->append_events(
                   "r1", {{1.0, leash::event::llm_call, {{"cost", std::numeric_limits<double>::infinity()}}}})),
               leash::Errc::store_failed, {"llm.call", "cost"});
  // The words alone are fine.
  s.iterations[0].metric.reset();
  s.iterations[0].observation = "NaN Infinity";
  BOOST_REQUIRE(run_sync(store->append_iteration(s)).has_value());
  BOOST_TEST(load(*store, "r1").iterations[0].observation == "NaN Infinity");
}

BOOST_AUTO_TEST_CASE(list_runs_reads_runs_another_store_wrote) {
  TempDir dir;
  auto writer = open_store(dir.path());
  State a = new_run("a", "goal a");
  BOOST_REQUIRE(run_sync(writer->create_run(a)).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  State b = busy_run(*writer, "b");
  auto reader = open_store(dir.path());
  auto first = run_sync(reader->list_runs());
  BOOST_REQUIRE(first.has_value());
  BOOST_REQUIRE(first.value().size() == 2u);
  BOOST_TEST(first.value()[0].run_id == "b");  // newest first
  BOOST_TEST(first.value()[0].iterations == 3u);
  BOOST_TEST((first.value()[0].status == leash::Status::awaiting_approval));
  BOOST_TEST(first.value()[1].goal == "goal a");
  BOOST_TEST(!first.value()[1].status.has_value());

  // The writer goes on; the reader's list follows.
  grow(a, 2);
  a.status = leash::Status::budget_exhausted;
  a.reason = "max_iterations (2) reached";
  BOOST_REQUIRE(run_sync(writer->append_iteration(a)).has_value());
  BOOST_REQUIRE(run_sync(writer->journal("a", {journaled(2, 0, false)})).has_value());
  auto second = run_sync(reader->list_runs());
  BOOST_REQUIRE(second.has_value());
  auto const& ra = second.value()[1];
  BOOST_TEST(ra.run_id == "a");
  BOOST_TEST(ra.iterations == 2u);
  BOOST_TEST((ra.status == leash::Status::budget_exhausted));
  BOOST_TEST(ra.reason == "max_iterations (2) reached");
  BOOST_TEST(ra.updated_at >= ra.created_at);
}

BOOST_AUTO_TEST_CASE(a_journal_another_store_appended_to_is_read_again_before_appending) {
  TempDir dir;
  auto first = open_store(dir.path());
  auto second = open_store(dir.path());
  State s = new_run("r1");
  grow(s, 1);
  BOOST_REQUIRE(run_sync(first->create_run(s)).has_value());
  grow(s, 2);
  BOOST_REQUIRE(run_sync(second->append_iteration(s)).has_value());  // e.g. `leash approve`, then exit
  grow(s, 3);
  BOOST_REQUIRE(run_sync(first->append_iteration(s)).has_value());
  State back = load(*open_store(dir.path()), "r1");
  BOOST_TEST(back.iterations.size() == 3u);
  BOOST_TEST(back.iterations[1].observation == "obs 1");
  BOOST_TEST(back.iterations[2].observation == "obs 2");
}

BOOST_AUTO_TEST_CASE(threads_share_one_store) {
  TempDir dir;
  auto store = open_store(dir.path(), {leash::Durability::async, 0});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&store, t] {
      auto id = "run" + std::to_string(t);
      State s = new_run(id);
      if (!run_sync(store->create_run(s))) return;
      for (std::size_t n = 1; n <= 25; ++n) {
        grow(s, n);
        if (!run_sync(store->append_iteration(s))) return;
        if (!run_sync(store->append_events(id, {{1.0, leash::event::iteration_end, {{"n", n}}}}))) return;
      }
    });
  for (auto& t : threads) t.join();
  auto reader = open_store(dir.path());
  for (int t = 0; t < 4; ++t) {
    auto id = "run" + std::to_string(t);
    BOOST_TEST(load(*reader, id).iterations.size() == 25u);
    BOOST_TEST(run_sync(reader->load_events(id)).value().size() == 25u);
  }
}

BOOST_AUTO_TEST_CASE(creating_over_leftovers_of_a_removed_run_is_refused) {
  TempDir dir;
  auto store = open_store(dir.path());
  busy_run(*store);
  BOOST_REQUIRE(store->compact("r1").has_value());
  store.reset();
  fs::remove(dir.path() / "r1.jsonl");
  auto again = open_store(dir.path());
  expect_not_found(run_sync(again->load("r1")), "r1");
  expect_error(run_sync(again->create_run(new_run("r1"))), leash::Errc::store_failed, {"r1.snapshot.json", "left"});
}

BOOST_AUTO_TEST_CASE(open_makes_the_directory_and_refuses_a_file) {
  TempDir dir;
  auto nested = dir.path() / "a" / "b";
  auto store = open_store(nested);
  BOOST_TEST(fs::is_directory(nested));
  BOOST_TEST(store->directory().is_absolute());
  write_text(dir.path() / "plain", "x");
  auto refused = leash::FileStore::open(dir.path() / "plain");
  BOOST_REQUIRE(refused.has_error());
  BOOST_TEST((refused.error() == leash::Errc::store_failed));
  BOOST_TEST(refused.error().message.find("plain") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
