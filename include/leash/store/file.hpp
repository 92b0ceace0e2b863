// leash/store/file.hpp — runs kept as plain files in one directory: an
// append-only journal per run, compacted on demand into a snapshot.
//
//   auto store = leash::FileStore::open("runs");        // result<shared_ptr<FileStore>>
//   if (!store) return store.error();
//   Agent agent(goal, planner, {}, {}, {}, leash::AnyStore(store.value()), options);
//
// Files, for a run id R (the format is documented in docs/store-file.md):
//   R.jsonl           the journal: one self-checking JSON record per line
//   R.snapshot.json   the whole run as of its last compaction (absent before)
//   R.events.jsonl    the run's events, one Event::to_json() object per line
//
// Every write the Store contract describes as one step (create_run,
// append_iteration, save_head, journal) is one journal line written with one
// write() call, so after a crash a record is either whole or a torn final line.
// A torn final line was never acknowledged: load() ignores it, warnings()
// says so, and the next append cuts it off first. Anything else that does
// not check out is Errc::state_corrupt, naming the file, the line and why.
//
// One process writes a run at a time (any number may read). A store that
// finds a journal changed behind its back re-reads it before appending.
// Files are created readable by their owner only: runs hold tool output.
#ifndef LEASH_STORE_FILE_HPP
#define LEASH_STORE_FILE_HPP

#include <leash/store/detail/exact_json.hpp>
#include <leash/store/detail/file_io.hpp>
#include <leash/store/durability.hpp>
#include <leash/store/store.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace leash {

/// How a FileStore writes.
struct FileStoreOptions {
  /// sync or async (see leash/store/durability.hpp). Durability::exit is not
  /// a way of writing files but of holding writes back: wrap the store in a
  /// DeferredStore (open_store does for `?durability=exit`); FileStore::open
  /// refuses it.
  Durability durability = Durability::sync;
  /// Compact a run automatically once its journal holds this many records
  /// (checked after append_iteration and save_head). 0: only when compact()
  /// is called. Compaction rewrites the whole run, so this bounds how much a
  /// load replays; it does not make appends cheaper (they already are flat).
  std::size_t compact_every = 0;
};

/// Runs as files in a directory; see the top of this file. Thread-safe.
class FileStore final : public StoreInterface {
 public:
  /// The store over `dir`, created (with its parents) if missing. Nothing is
  /// read until a run is used.
  static result<std::shared_ptr<FileStore>> open(std::filesystem::path dir, FileStoreOptions options = {});

  FileStore(FileStore const&) = delete;
  FileStore& operator=(FileStore const&) = delete;
  ~FileStore() override = default;

  task<void> create_run(State const& s) override;
  task<void> append_iteration(State const& s) override;
  task<void> save_head(State const& s) override;
  task<void> journal(std::string run_id, std::vector<JournaledAction> entries) override;
  task<State> load(std::string run_id) override;
  task<void> append_events(std::string run_id, std::vector<Event> events) override;
  task<json::array> load_events(std::string run_id) override;
  task<std::vector<RunSummary>> list_runs() override;

  /// Rewrites the run as a snapshot and starts an empty journal after it,
  /// atomically at every instant: the snapshot is written under a temporary
  /// name, synced, renamed over the old one and the directory synced; then the
  /// journal is replaced the same way. A crash between the two leaves a journal
  /// the snapshot already contains, which load() recognises by its generation
  /// and skips (and the next append replaces). Always synced, whatever the
  /// durability: a snapshot replaces history. Costs one read and one write of
  /// the whole run.
  result<void> compact(std::string const& run_id);

  /// What the store found and worked around: torn final lines it ignored (and
  /// cut off before appending), automatic compactions that failed. Each
  /// names the file. Kept for the store's lifetime, without duplicates.
  std::vector<std::string> warnings() const;

  /// Success if `run_id` can name files: 1 to 128 printable ASCII characters,
  /// no '/' or '\', no "..", not starting with '.', not ending in ".events".
  /// Otherwise Errc::store_failed saying why (ids are never turned into paths
  /// outside the store's directory).
  static result<void> check_run_id(std::string_view run_id);

  std::filesystem::path const& directory() const noexcept { return dir_; }
  FileStoreOptions const& options() const noexcept { return options_; }
  /// The files of a run (for a valid run id; see check_run_id).
  std::filesystem::path journal_path(std::string_view run_id) const;
  std::filesystem::path snapshot_path(std::string_view run_id) const;
  std::filesystem::path events_path(std::string_view run_id) const;

 private:
  struct Counts {
    std::uint64_t iterations = 0;
    std::uint64_t artifacts = 0;
    std::uint64_t failed_approaches = 0;
    friend bool operator==(Counts const&, Counts const&) = default;
  };

  /// A run as read from its files.
  struct Replayed {
    State state;  ///< in_flight: the journal entries still pending, unsorted
    double created_at = 0.0;
    double updated_at = 0.0;
    std::uint64_t journal_generation = 0;   ///< 0: the journal starts with the create record
    std::uint64_t snapshot_generation = 0;  ///< 0: no snapshot
    bool stale_journal = false;  ///< a compaction stopped before replacing the journal
    std::uint64_t next_seq = 0;
    std::uint64_t valid_size = 0;  ///< bytes of complete records
    std::uint64_t torn_size = 0;   ///< bytes of a torn final line after them
    detail::file_io::UniqueFd journal;
    bool writable = false;
  };

  /// What the store keeps in memory per run it has touched: enough to append
  /// without reading the journal again.
  struct OpenRun {
    detail::file_io::UniqueFd journal;
    bool writable = false;
    std::uint64_t size = 0;       ///< bytes of complete records
    std::uint64_t torn_size = 0;  ///< a torn tail to cut off before the next append
    std::uint64_t generation = 0;
    bool stale_journal = false;
    std::uint64_t next_seq = 0;
    Counts counts;
    RunSummary summary;
  };

  /// list_runs' memory of runs it read from disk, valid while the journal's
  /// identity, size and modification time stay the same.
  struct CachedSummary {
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtime_ns = 0;
    RunSummary summary;
  };

  FileStore(std::filesystem::path dir, FileStoreOptions options)
      : dir_(std::move(dir)), options_(options) {}

  // Each runs with the mutex held and may throw (the public members catch).
  result<void> create_now(State const& s);
  result<void> record_now(State const& s);
  result<void> journal_now(std::string const& run_id, std::vector<JournaledAction>& entries);
  result<State> load_now(std::string const& run_id);
  result<void> append_events_now(std::string const& run_id, std::vector<Event>& events);
  result<json::array> load_events_now(std::string const& run_id);
  result<std::vector<RunSummary>> list_now();
  result<void> compact_now(std::string const& run_id);

  template <class T, class F>
  result<T> guarded(std::string_view what, F&& f);

  result<Replayed> replay(std::string const& run_id);
  result<Replayed> replay_once(std::string const& run_id, bool& retry);
  OpenRun& adopt(std::string const& run_id, Replayed& r);  // takes its descriptor
  result<OpenRun*> open_for_append(std::string const& run_id);
  result<void> append_record(std::string const& run_id, OpenRun& run, std::string const& line);
  result<void> run_exists(std::string const& run_id);
  result<RunSummary> summarise_from_disk(std::string const& run_id);
  void warn(std::string message);
  Error not_found(std::string const& run_id) const;

  std::filesystem::path dir_;
  FileStoreOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, OpenRun, std::less<>> runs_;
  std::map<std::string, detail::file_io::UniqueFd, std::less<>> events_;
  std::map<std::string, CachedSummary, std::less<>> summaries_;
  std::vector<std::string> warnings_;
  detail::ExactJsonParser parser_;  ///< reused, so its buffers stay allocated
};

}  // namespace leash

#include <leash/store/impl/file.hpp>

#endif
