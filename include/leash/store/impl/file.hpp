#ifndef LEASH_STORE_IMPL_FILE_HPP
#define LEASH_STORE_IMPL_FILE_HPP

// The on-disk format these functions read and write is documented in
// docs/store-file.md; keep the two in step.

#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <sys/stat.h>

namespace leash {

namespace detail::file_store {

/// The record envelope's "v": what this build writes and the newest it reads.
inline constexpr std::int64_t record_version = 1;
inline constexpr std::size_t max_run_id_length = 128;
inline constexpr std::string_view journal_suffix = ".jsonl";
inline constexpr std::string_view snapshot_suffix = ".snapshot.json";
inline constexpr std::string_view events_suffix = ".events.jsonl";

// The head (head_json/apply_head) and the append-only lists must cover every
// State field: a field added to State and not here would be silently lost.
static_assert(boost::mp11::mp_size<boost::describe::describe_members<State, boost::describe::mod_public>>::value == 18,
              "leash::State gained or lost a field: write it in the file store's head or records "
              "(leash/store/impl/file.hpp, docs/store-file.md), then update this count");

/// Why a record or file does not check out; the reader adds where.
struct RecordError : std::runtime_error {
  RecordError(Errc c, std::string const& m) : std::runtime_error(m), code(c) {}
  Errc code;
};

[[noreturn]] inline void corrupt(std::string const& why) { throw RecordError(Errc::state_corrupt, why); }

inline std::string quoted(std::string_view key) { return "\"" + std::string(key) + "\""; }

inline json::value const& field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v) corrupt("no " + quoted(key) + " field");
  return *v;
}

inline json::object const& object_field(json::object const& o, std::string_view key) {
  auto const& v = field(o, key);
  if (!v.is_object()) corrupt(quoted(key) + " is not an object");
  return v.get_object();
}

inline json::array const& array_field(json::object const& o, std::string_view key) {
  auto const& v = field(o, key);
  if (!v.is_array()) corrupt(quoted(key) + " is not an array");
  return v.get_array();
}

inline std::uint64_t uint_field(json::object const& o, std::string_view key) {
  auto const& v = field(o, key);
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  corrupt(quoted(key) + " is not a non-negative integer");
}

inline double number_field(json::object const& o, std::string_view key) {
  auto const& v = field(o, key);
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  corrupt(quoted(key) + " is not a number");
}

/// value_to without exceptions escaping as anything but a RecordError.
template <class T>
T convert(json::value const& v, std::string_view what) {
  auto r = json::try_value_to<T>(v);
  if (!r) corrupt(std::string(what) + " does not have the expected shape (" + r.error().message() + ")");
  return std::move(*r);
}

/// The state layout version a create record, snapshot or head was written
/// with: this build's or an older one (upgraded on read).
inline void check_schema_version(json::object const& o) {
  auto const& v = field(o, "schema_version");
  if (!v.is_int64()) corrupt("\"schema_version\" is not an integer");
  auto version = v.get_int64();
  if (version < 1 || version > state_schema_version)
    throw RecordError(Errc::state_version_unsupported,
                      "state schema version " + std::to_string(version) + "; this build reads versions 1 to " +
                          std::to_string(state_schema_version) +
                          (version > state_schema_version ? " (written by a newer leash)" : ""));
}

/// A whole State as a create record or snapshot holds it, in this build's layout.
inline State state_of(json::object const& o) {
  check_schema_version(o);
  if (o.at("schema_version").get_int64() == state_schema_version) return convert<State>(o, "the state");
  json::object upgraded = o;
  detail::upgrade_state_json(upgraded);
  return convert<State>(upgraded, "the state");
}

/// The parts of State that change in place, with the sizes of the lists
/// that only grow. The file store writes this whole on every step.
inline json::object head_json(State const& s, std::uint64_t iterations, std::uint64_t artifacts,
                              std::uint64_t failed_approaches, double updated_at) {
  json::object h;
  h.reserve(16);
  h["schema_version"] = s.schema_version;
  h["goal"] = s.goal;
  h["config"] = json::value_from(s.config);
  h["tool_schema_hash"] = s.tool_schema_hash;
  h["pinned_facts"] = json::value_from(s.pinned_facts);
  h["metrics"] = json::value_from(s.metrics);
  h["no_progress_streak"] = s.no_progress_streak;
  h["plan_invalid_streak"] = s.plan_invalid_streak;
  h["state_version"] = s.state_version;
  h["pending_approval"] = json::value_from(s.pending_approval);
  h["status"] = json::value_from(s.status);
  h["reason"] = s.reason;
  h["info"] = json::value_from(s.info);
  h["iterations"] = iterations;
  h["artifacts"] = artifacts;
  h["failed_approaches"] = failed_approaches;
  h["updated_at"] = updated_at;
  return h;
}

inline void apply_head(json::object const& h, State& s) {
  check_schema_version(h);
  s.goal = convert<std::string>(field(h, "goal"), "\"goal\"");
  s.config = convert<LoopConfig>(field(h, "config"), "\"config\"");
  s.tool_schema_hash = convert<std::string>(field(h, "tool_schema_hash"), "\"tool_schema_hash\"");
  s.pinned_facts = convert<std::vector<std::string>>(field(h, "pinned_facts"), "\"pinned_facts\"");
  s.metrics = convert<Metrics>(field(h, "metrics"), "\"metrics\"");
  s.no_progress_streak = uint_field(h, "no_progress_streak");
  s.plan_invalid_streak = uint_field(h, "plan_invalid_streak");
  s.state_version = uint_field(h, "state_version");
  // Heads written before RunInfo (layout 1) have none.
  if (auto const* info = h.if_contains("info"))
    s.info = convert<RunInfo>(*info, "\"info\"");
  else
    s.info = RunInfo{};
  s.pending_approval = convert<std::optional<PendingApproval>>(field(h, "pending_approval"), "\"pending_approval\"");
  s.status = convert<std::optional<Status>>(field(h, "status"), "\"status\"");
  s.reason = convert<std::string>(field(h, "reason"), "\"reason\"");
}

/// Whether `v` holds a NaN or an infinity, which JSON cannot represent
/// (Boost.JSON would write a token no parser reads back). `path` gets where.
inline bool find_non_finite(json::value const& v, std::string& path) {
  switch (v.kind()) {
    case json::kind::double_:
      return !std::isfinite(v.get_double());
    case json::kind::object:
      for (auto const& kv : v.get_object())
        if (find_non_finite(kv.value(), path)) {
          path.insert(0, "." + std::string(kv.key()));
          return true;
        }
      return false;
    case json::kind::array: {
      auto const& a = v.get_array();
      for (std::size_t i = 0; i < a.size(); ++i)
        if (find_non_finite(a[i], path)) {
          path.insert(0, "[" + std::to_string(i) + "]");
          return true;
        }
      return false;
    }
    default:
      return false;
  }
}

/// Ok unless `text` (serialised from `v`) carries a non-finite number; the
/// text search keeps the common case to one scan.
inline result<void> check_finite(std::string_view text, json::value const& v, std::string_view what) {
  if (text.find("NaN") == std::string_view::npos && text.find("Infinity") == std::string_view::npos)
    return success();
  std::string path;
  if (!find_non_finite(v, path)) return success();  // the words were inside strings
  return Error{Errc::store_failed, std::string(what) + " holds a NaN or infinite number at " +
                                       (path.empty() ? std::string("its top") : path.substr(path[0] == '.')) +
                                       ", which JSON cannot represent; nothing was written"};
}

/// One record line: {"v":1,"type":…,"data":<canonical data>,"sha256":<of that text>}\n.
inline result<std::string> encode_record(std::string_view type, json::value const& data) {
  std::string canonical = canonical_json(data);
  if (auto finite = check_finite(canonical, data, "the " + std::string(type) + " record"); !finite)
    return finite.error();
  std::string line;
  line.reserve(canonical.size() + type.size() + 110);
  line += "{\"v\":";
  line += std::to_string(record_version);
  line += ",\"type\":\"";
  line += type;
  line += "\",\"data\":";
  line += canonical;
  line += ",\"sha256\":\"";
  line += sha256_hex(canonical);
  line += "\"}\n";
  return line;
}

struct Decoded {
  std::string type;
  json::object data;
};

/// One record line (without its newline), checked: JSON, envelope, version, hash.
inline Decoded decode_record(ExactJsonParser& parser, std::string_view line) {
  if (line.empty()) corrupt("empty line");
  boost::system::error_code ec;
  json::value v = parser.parse(line, ec);
  if (ec) corrupt("not JSON (" + ec.message() + ")");
  auto* o = v.if_object();
  if (!o) corrupt("not a JSON object");
  auto const* version = o->if_contains("v");
  if (!version || !(version->is_int64() || version->is_uint64())) corrupt("no record version \"v\"");
  if (version->is_uint64() || version->get_int64() > record_version)
    throw RecordError(Errc::state_version_unsupported,
                      "record version " + json::serialize(*version) + "; this build reads version " +
                          std::to_string(record_version) + " (written by a newer leash)");
  if (version->get_int64() < 1) corrupt("record version " + json::serialize(*version) + " does not exist");
  auto const* type = o->if_contains("type");
  if (!type || !type->is_string()) corrupt("no record type");
  auto* data = o->if_contains("data");
  if (!data || !data->is_object()) corrupt("no \"data\" object");
  auto const* hash = o->if_contains("sha256");
  if (!hash || !hash->is_string()) corrupt("no \"sha256\"");
  if (sha256_hex(canonical_json(*data)) != hash->get_string())
    corrupt("the sha256 does not match the record's data (the line was altered or damaged)");
  return {std::string(type->get_string()), std::move(data->get_object())};
}

/// Where the last complete line of the first `size` bytes ends (0: none).
inline std::error_code end_of_last_line(int fd, std::uint64_t size, std::uint64_t& end) {
  std::string chunk;
  std::uint64_t pos = size;
  while (pos > 0) {
    auto n = std::min<std::uint64_t>(pos, 64 * 1024);
    pos -= n;
    if (auto ec = file_io::read_at(fd, pos, static_cast<std::size_t>(n), chunk)) return ec;
    auto nl = chunk.rfind('\n');
    if (nl != std::string::npos) {
      end = pos + nl + 1;
      return {};
    }
  }
  end = 0;
  return {};
}

/// Calls visit(line, starts_file) for the complete lines of the first `size`
/// bytes, last first, until it returns true. A torn final line is skipped.
/// Reads from the end in growing chunks: a summary needs only the tail.
template <class Visit>
std::error_code visit_lines_backward(int fd, std::uint64_t size, Visit&& visit) {
  std::uint64_t end = 0;
  if (auto ec = end_of_last_line(fd, size, end)) return ec;
  std::string buffer;  // the file's bytes [pos, end)
  std::uint64_t pos = end;
  std::size_t chunk = 64 * 1024;
  std::string part;
  while (true) {
    // Hand out every line whose start is known.
    while (!buffer.empty()) {
      auto previous = buffer.size() >= 2 ? buffer.rfind('\n', buffer.size() - 2) : std::string::npos;
      if (previous == std::string::npos && pos > 0) break;
      std::size_t start = previous == std::string::npos ? 0 : previous + 1;
      if (visit(std::string_view(buffer).substr(start, buffer.size() - 1 - start), pos == 0 && start == 0))
        return {};
      buffer.resize(start);
    }
    if (pos == 0) return {};
    auto n = std::min<std::uint64_t>(pos, chunk);
    pos -= n;
    if (auto ec = file_io::read_at(fd, pos, static_cast<std::size_t>(n), part)) return ec;
    buffer.insert(0, part);
    chunk = std::min<std::size_t>(chunk * 2, 16 * 1024 * 1024);
  }
}

/// What list_runs shows, from a head (or a create record's state).
struct HeadSummary {
  std::string goal;
  std::optional<Status> status;
  std::string reason;
  std::uint64_t iterations = 0;
  double updated_at = 0.0;
};

inline HeadSummary summary_of_head(json::object const& head) {
  check_schema_version(head);
  return {convert<std::string>(field(head, "goal"), "\"goal\""),
          convert<std::optional<Status>>(field(head, "status"), "\"status\""),
          convert<std::string>(field(head, "reason"), "\"reason\""), uint_field(head, "iterations"),
          number_field(head, "updated_at")};
}

/// A run id as it may appear in a message: quoted, escaped, at most 64 characters.
inline std::string shown_id(std::string_view id) {
  auto shown = json::serialize(json::string(id.substr(0, 64)));
  if (id.size() > 64) shown.insert(shown.size() - 1, "...");
  return shown;
}

}  // namespace detail::file_store

// ---------------------------------------------------------------- open, names

inline result<std::shared_ptr<FileStore>> FileStore::open(std::filesystem::path dir, FileStoreOptions options) {
  try {
    if (options.durability == Durability::exit)
      return Error{Errc::invalid_config,
                   "FileStore writes with Durability::sync or ::async; for Durability::exit wrap it in a "
                   "DeferredStore (leash/store/deferred.hpp), as open_store(\"file:DIR?durability=exit\") does"};
    std::error_code ec;
    auto absolute = std::filesystem::absolute(dir, ec);
    if (ec) return Error{Errc::store_failed, "cannot resolve store directory '" + dir.string() + "': " + ec.message()};
    std::filesystem::create_directories(absolute, ec);
    if (ec)
      return Error{Errc::store_failed, "cannot create store directory '" + absolute.string() + "': " + ec.message()};
    if (!std::filesystem::is_directory(absolute, ec))
      return Error{Errc::store_failed, "store path '" + absolute.string() + "' is not a directory"};
    return std::shared_ptr<FileStore>(new FileStore(absolute.lexically_normal(), options));
  } catch (std::exception const& e) {
    return Error{Errc::store_failed, std::string("cannot open file store: ") + e.what()};
  }
}

inline result<void> FileStore::check_run_id(std::string_view id) {
  namespace fs = detail::file_store;
  auto refuse = [&](std::string_view why) -> result<void> {
    return Error{Errc::store_failed,
                 "run id " + fs::shown_id(id) + " cannot name a file in the file store: " + std::string(why)};
  };
  if (id.empty()) return refuse("it is empty");
  if (id.size() > fs::max_run_id_length)
    return refuse("it is longer than " + std::to_string(fs::max_run_id_length) + " characters");
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) return refuse("it holds a control or non-ASCII character");
    if (c == '/' || c == '\\') return refuse("it holds a path separator");
  }
  if (id.front() == '.') return refuse("it starts with '.'");
  if (id.find("..") != std::string_view::npos) return refuse("it holds \"..\"");
  if (id.ends_with(".events")) return refuse("it ends in \".events\", which names the event files");
  return success();
}

inline std::filesystem::path FileStore::journal_path(std::string_view run_id) const {
  return dir_ / (std::string(run_id) + std::string(detail::file_store::journal_suffix));
}
inline std::filesystem::path FileStore::snapshot_path(std::string_view run_id) const {
  return dir_ / (std::string(run_id) + std::string(detail::file_store::snapshot_suffix));
}
inline std::filesystem::path FileStore::events_path(std::string_view run_id) const {
  return dir_ / (std::string(run_id) + std::string(detail::file_store::events_suffix));
}

inline std::vector<std::string> FileStore::warnings() const {
  std::lock_guard lock(mutex_);
  return warnings_;
}

inline void FileStore::warn(std::string message) {
  if (std::find(warnings_.begin(), warnings_.end(), message) == warnings_.end())
    warnings_.push_back(std::move(message));
}

inline Error FileStore::not_found(std::string const& run_id) const {
  return Error{Errc::run_not_found, "no run '" + run_id + "' in the file store at '" + dir_.string() + "'"};
}

namespace detail::file_store {
inline Error io_failure(std::string_view what, std::filesystem::path const& file, std::error_code ec) {
  return Error{Errc::store_failed, std::string(what) + " '" + file.string() + "': " + ec.message()};
}
}  // namespace detail::file_store

// ---------------------------------------------------------------- the members

template <class T, class F>
result<T> FileStore::guarded(std::string_view what, F&& f) {
  auto failed = [&](char const* why) noexcept -> result<T> {
    try {
      return Error{Errc::store_failed,
                   "file store at '" + dir_.string() + "': " + std::string(what) + " failed: " + why};
    } catch (...) {
      return Error{Errc::store_failed};
    }
  };
  try {
    std::lock_guard lock(mutex_);
    return f();
  } catch (std::exception const& e) {
    return failed(e.what());
  } catch (...) {
    return failed("an unknown exception");
  }
}

inline auto FileStore::create_run(State const& s) -> task<void> {
  co_return guarded<void>("create_run", [&] { return create_now(s); });
}

inline auto FileStore::append_iteration(State const& s) -> task<void> {
  co_return guarded<void>("append_iteration", [&] { return record_now(s); });
}

inline auto FileStore::save_head(State const& s) -> task<void> {
  co_return guarded<void>("save_head", [&] { return record_now(s); });
}

inline auto FileStore::journal(std::string run_id, std::vector<JournaledAction> entries) -> task<void> {
  co_return guarded<void>("journal", [&] { return journal_now(run_id, entries); });
}

inline auto FileStore::load(std::string run_id) -> task<State> {
  co_return guarded<State>("load", [&] { return load_now(run_id); });
}

inline auto FileStore::append_events(std::string run_id, std::vector<Event> events) -> task<void> {
  co_return guarded<void>("append_events", [&] { return append_events_now(run_id, events); });
}

inline auto FileStore::load_events(std::string run_id) -> task<json::array> {
  co_return guarded<json::array>("load_events", [&] { return load_events_now(run_id); });
}

inline auto FileStore::list_runs() -> task<std::vector<RunSummary>> {
  co_return guarded<std::vector<RunSummary>>("list_runs", [&] { return list_now(); });
}

inline result<void> FileStore::compact(std::string const& run_id) {
  return guarded<void>("compact", [&] { return compact_now(run_id); });
}

// ---------------------------------------------------------------- reading a run

inline auto FileStore::replay(std::string const& run_id) -> result<Replayed> {
  // Another process compacting this run renames the snapshot, then the
  // journal; a reader between the two sees a journal newer than its snapshot
  // and reads both again.
  for (int attempt = 0;; ++attempt) {
    bool retry = false;
    auto r = replay_once(run_id, retry);
    if (r || !retry || attempt == 4) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

inline auto FileStore::replay_once(std::string const& run_id, bool& retry) -> result<Replayed> {
  namespace fio = detail::file_io;
  namespace fs = detail::file_store;
  Replayed r;
  auto const snapshot_file = snapshot_path(run_id);
  auto const journal_file = journal_path(run_id);

  bool have_snapshot = false;
  {
    fio::UniqueFd fd;
    auto ec = fio::open_file(snapshot_file, O_RDONLY, fd);
    if (ec && ec != std::errc::no_such_file_or_directory)
      return fs::io_failure("cannot open snapshot", snapshot_file, ec);
    if (!ec) {
      std::string text;
      if (auto read = fio::read_all(fd.get(), text)) return fs::io_failure("cannot read snapshot", snapshot_file, read);
      try {
        // Written whole and renamed into place: anything short of one complete line is damage.
        if (text.empty() || text.back() != '\n') fs::corrupt("incomplete (no final newline)");
        auto record = fs::decode_record(parser_, std::string_view(text).substr(0, text.size() - 1));
        if (record.type != "snapshot") fs::corrupt("a \"" + record.type + "\" record where a snapshot was expected");
        r.snapshot_generation = fs::uint_field(record.data, "generation");
        if (r.snapshot_generation == 0) fs::corrupt("generation 0");
        r.created_at = fs::number_field(record.data, "created_at");
        r.updated_at = fs::number_field(record.data, "updated_at");
        auto const& state = fs::object_field(record.data, "state");
        r.state = fs::state_of(state);
        if (r.state.run_id != run_id) fs::corrupt("it holds run " + fs::shown_id(r.state.run_id));
        have_snapshot = true;
      } catch (fs::RecordError const& e) {
        return Error{e.code, "snapshot '" + snapshot_file.string() + "': " + e.what()};
      }
    }
  }

  auto ec = fio::open_file(journal_file, O_RDWR | O_APPEND, r.journal);
  r.writable = !ec;
  if (ec == std::errc::permission_denied || ec == std::errc::read_only_file_system)
    ec = fio::open_file(journal_file, O_RDONLY, r.journal);
  if (ec == std::errc::no_such_file_or_directory) return not_found(run_id);
  if (ec) return fs::io_failure("cannot open journal", journal_file, ec);
  std::string text;
  if (auto read = fio::read_all(r.journal.get(), text)) return fs::io_failure("cannot read journal", journal_file, read);

  std::string_view all(text);
  std::size_t pos = 0;
  std::uint64_t line_number = 0;
  auto& pending = r.state.in_flight;  // journal entries not yet retired by a recorded iteration
  auto retire_recorded = [&] {
    std::erase_if(pending, [&](JournaledAction const& j) { return j.iteration < r.state.iterations.size(); });
  };
  auto check_head_counts = [&](json::object const& head) {
    if (fs::uint_field(head, "iterations") != r.state.iterations.size() ||
        fs::uint_field(head, "artifacts") != r.state.artifacts.size() ||
        fs::uint_field(head, "failed_approaches") != r.state.failed_approaches.size())
      fs::corrupt("the head's counts differ from the records before it (a record is missing)");
  };
  try {
    while (pos < all.size()) {
      ++line_number;
      auto newline = all.find('\n', pos);
      if (newline == std::string_view::npos) {
        // One write() per record: a line with no newline is the last write,
        // interrupted. It was never acknowledged, so it is not part of the run.
        r.torn_size = all.size() - pos;
        warn("journal '" + journal_file.string() + "', line " + std::to_string(line_number) +
             ": ignored an incomplete final record (" + std::to_string(r.torn_size) +
             " bytes without a newline) left by an interrupted write; it is cut off before the next append");
        break;
      }
      auto line = all.substr(pos, newline - pos);
      pos = newline + 1;
      auto record = fs::decode_record(parser_, line);
      auto const& data = record.data;
      auto seq = fs::uint_field(data, "seq");
      if (seq != r.next_seq)
        fs::corrupt("record number " + std::to_string(seq) + " where " + std::to_string(r.next_seq) +
                    " was expected (a record is missing, repeated or out of order)");
      ++r.next_seq;

      if (line_number == 1) {
        if (record.type == "create") {
          r.journal_generation = 0;
        } else if (record.type == "base") {
          r.journal_generation = fs::uint_field(data, "generation");
          if (r.journal_generation == 0) fs::corrupt("a base record of generation 0");
        } else {
          fs::corrupt("the journal starts with a \"" + record.type + "\" record instead of create or base");
        }
        if (r.journal_generation > r.snapshot_generation) {
          retry = true;
          fs::corrupt("the journal continues snapshot generation " + std::to_string(r.journal_generation) + " but " +
                      (have_snapshot ? "the snapshot is generation " + std::to_string(r.snapshot_generation)
                                     : std::string("there is no snapshot")));
        }
        if (r.journal_generation < r.snapshot_generation) {
          // A compaction renamed its snapshot and stopped before replacing
          // this journal: the snapshot already holds all of it.
          r.stale_journal = true;
          warn("journal '" + journal_file.string() + "' predates snapshot generation " +
               std::to_string(r.snapshot_generation) +
               " (a compaction was interrupted); the snapshot holds the run and the journal is replaced "
               "before the next append");
          break;
        }
        if (record.type == "create") {
          r.created_at = r.updated_at = fs::number_field(data, "created_at");
          auto const& state = fs::object_field(data, "state");
          r.state = fs::state_of(state);
          if (r.state.run_id != run_id) fs::corrupt("the journal holds run " + fs::shown_id(r.state.run_id));
        }
        continue;  // a base record adds nothing to the snapshot it continues
      }

      if (record.type == "iteration") {
        auto const& from = fs::object_field(data, "from");
        if (fs::uint_field(from, "iterations") != r.state.iterations.size() ||
            fs::uint_field(from, "artifacts") != r.state.artifacts.size() ||
            fs::uint_field(from, "failed_approaches") != r.state.failed_approaches.size())
          fs::corrupt("the record continues from other counts than the records before it (a record is missing)");
        for (auto const& v : fs::array_field(data, "iterations"))
          r.state.iterations.push_back(fs::convert<IterationRecord>(v, "an iteration"));
        for (auto const& v : fs::array_field(data, "artifacts"))
          r.state.artifacts.push_back(fs::convert<ContextArtifact>(v, "an artifact"));
        for (auto const& v : fs::array_field(data, "failed_approaches"))
          r.state.failed_approaches.push_back(fs::convert<std::string>(v, "a failed approach"));
      }
      if (record.type == "iteration" || record.type == "head") {
        auto const& head = fs::object_field(data, "head");
        fs::apply_head(head, r.state);
        check_head_counts(head);
        r.updated_at = fs::number_field(head, "updated_at");
        retire_recorded();
      } else if (record.type == "journal") {
        for (auto const& v : fs::array_field(data, "entries")) {
          auto entry = fs::convert<JournaledAction>(v, "a journal entry");
          auto same = std::find_if(pending.begin(), pending.end(), [&](JournaledAction const& k) {
            return k.iteration == entry.iteration && k.position == entry.position;
          });
          if (same != pending.end())
            *same = std::move(entry);
          else
            pending.push_back(std::move(entry));
        }
      } else if (record.type == "create" || record.type == "base" || record.type == "snapshot") {
        fs::corrupt("a \"" + record.type + "\" record after the first line");
      } else {
        fs::corrupt("unknown record type \"" + record.type + "\"");
      }
    }
  } catch (fs::RecordError const& e) {
    return Error{e.code,
                 "journal '" + journal_file.string() + "', line " + std::to_string(line_number) + ": " + e.what()};
  }
  if (r.next_seq == 0)
    return Error{Errc::state_corrupt, "journal '" + journal_file.string() +
                                          "' holds no complete record (its creation was cut short, or it was emptied)"};
  r.valid_size = pos;
  retire_recorded();
  return r;
}

inline auto FileStore::adopt(std::string const& run_id, Replayed& r) -> OpenRun& {
  OpenRun run;
  run.journal = std::move(r.journal);
  run.writable = r.writable;
  run.size = r.valid_size;
  run.torn_size = r.torn_size;
  run.generation = r.journal_generation;
  run.stale_journal = r.stale_journal;
  run.next_seq = r.next_seq;
  run.counts = {r.state.iterations.size(), r.state.artifacts.size(), r.state.failed_approaches.size()};
  run.summary = RunSummary{run_id, r.state.goal, r.state.status, r.state.reason, r.state.iterations.size(),
                           r.created_at, r.updated_at};
  summaries_.erase(run_id);
  return runs_.insert_or_assign(run_id, std::move(run)).first->second;
}

inline auto FileStore::load_now(std::string const& run_id) -> result<State> {
  BOOST_OUTCOME_TRY(check_run_id(run_id));
  BOOST_OUTCOME_TRY(auto r, replay(run_id));
  adopt(run_id, r);
  State state = std::move(r.state);
  std::stable_sort(state.in_flight.begin(), state.in_flight.end(), [](JournaledAction const& a, JournaledAction const& b) {
    return a.iteration != b.iteration ? a.iteration < b.iteration : a.position < b.position;
  });
  return state;
}

// ---------------------------------------------------------------- writing a run

inline auto FileStore::open_for_append(std::string const& run_id) -> result<OpenRun*> {
  namespace fio = detail::file_io;
  auto it = runs_.find(run_id);
  if (it != runs_.end()) {
    // A journal that grew, shrank or was replaced since this store last
    // touched it was written by someone else: read it again, never append
    // blind to what it holds.
    struct stat st {};
    auto& run = it->second;
    bool unchanged = ::fstat(run.journal.get(), &st) == 0 && st.st_nlink > 0 &&
                     static_cast<std::uint64_t>(st.st_size) == run.size + run.torn_size;
    if (!unchanged) {
      runs_.erase(it);
      it = runs_.end();
    }
  }
  if (it == runs_.end()) {
    BOOST_OUTCOME_TRY(auto r, replay(run_id));
    adopt(run_id, r);
    it = runs_.find(run_id);
  }
  if (it->second.stale_journal) {
    BOOST_OUTCOME_TRY(compact_now(run_id));
    it = runs_.find(run_id);
    if (it == runs_.end())
      return Error{Errc::store_failed, "journal '" + journal_path(run_id).string() + "' could not be reopened"};
  }
  auto& run = it->second;
  if (!run.writable)
    return Error{Errc::store_failed, "journal '" + journal_path(run_id).string() + "' is not writable"};
  if (run.torn_size > 0) {
    if (auto ec = fio::truncate_to(run.journal.get(), run.size))
      return detail::file_store::io_failure("cannot cut the torn final record off journal", journal_path(run_id), ec);
    run.torn_size = 0;
  }
  return &run;
}

inline result<void> FileStore::append_record(std::string const& run_id, OpenRun& run, std::string const& line) {
  namespace fio = detail::file_io;
  int const fd = run.journal.get();
  if (auto ec = fio::write_all(fd, line)) {
    // Never leave part of a record: cut back to the last whole one. The
    // store reads the journal again on its next use of the run.
    (void)fio::truncate_to(fd, run.size);
    runs_.erase(run_id);
    return detail::file_store::io_failure("cannot append to journal", journal_path(run_id), ec);
  }
  if (options_.durability == Durability::sync)
    if (auto ec = fio::sync_data(fd)) {
      runs_.erase(run_id);
      return detail::file_store::io_failure("appended to, but could not sync, journal", journal_path(run_id), ec);
    }
  run.size += line.size();
  ++run.next_seq;
  return success();
}

inline result<void> FileStore::create_now(State const& s) {
  namespace fio = detail::file_io;
  namespace fs = detail::file_store;
  BOOST_OUTCOME_TRY(check_run_id(s.run_id));
  auto exists = [&] {
    return Error{Errc::store_failed, "run '" + s.run_id + "' already exists in the file store at '" + dir_.string() + "'"};
  };
  if (runs_.contains(s.run_id)) return exists();
  // Files left by a removed run of the same id would be read as this run's.
  for (auto const& leftover : {snapshot_path(s.run_id), events_path(s.run_id)}) {
    std::error_code ec;
    if (std::filesystem::exists(leftover, ec) && !std::filesystem::exists(journal_path(s.run_id), ec))
      return Error{Errc::store_failed, "run '" + s.run_id + "' cannot be created: '" + leftover.string() +
                                           "' is left from an earlier run of that id; move it away first"};
  }
  double const now = Tracer::now();
  json::value record(json::object_kind);
  auto& data = record.get_object();
  data["seq"] = 0;
  data["created_at"] = now;
  data["state"] = json::value_from(s);
  auto line = fs::encode_record("create", record);
  if (!line) return Error{Errc::store_failed, "cannot create run '" + s.run_id + "': " + line.error().message};
  bool const sync = options_.durability == Durability::sync;
  auto const file = journal_path(s.run_id);
  if (auto ec = fio::create_atomically(file, line.value(), sync)) {
    if (ec == std::errc::file_exists) return exists();
    return fs::io_failure("cannot create journal", file, ec);
  }
  OpenRun run;
  if (fio::open_file(file, O_RDWR | O_APPEND, run.journal)) return success();  // read again on next use
  run.writable = true;
  run.size = line.value().size();
  run.next_seq = 1;
  run.counts = {s.iterations.size(), s.artifacts.size(), s.failed_approaches.size()};
  run.summary = RunSummary{s.run_id, s.goal, s.status, s.reason, s.iterations.size(), now, now};
  summaries_.erase(s.run_id);
  runs_.insert_or_assign(s.run_id, std::move(run));
  return success();
}

inline result<void> FileStore::record_now(State const& s) {
  namespace fs = detail::file_store;
  BOOST_OUTCOME_TRY(check_run_id(s.run_id));
  BOOST_OUTCOME_TRY(auto* run, open_for_append(s.run_id));
  Counts const from = run->counts;
  Counts const to{std::max<std::uint64_t>(from.iterations, s.iterations.size()),
                  std::max<std::uint64_t>(from.artifacts, s.artifacts.size()),
                  std::max<std::uint64_t>(from.failed_approaches, s.failed_approaches.size())};
  bool const grew = !(to == from);
  double const now = std::max(Tracer::now(), run->summary.updated_at);

  // One record holds everything new and the head: the step is one write().
  json::value record(json::object_kind);
  auto& data = record.get_object();
  data["seq"] = run->next_seq;
  if (grew) {
    data["from"] = json::object{{"iterations", from.iterations},
                                {"artifacts", from.artifacts},
                                {"failed_approaches", from.failed_approaches}};
    auto tail = [](auto const& list, std::uint64_t first) {
      json::array out;
      out.reserve(list.size() - std::min<std::size_t>(list.size(), first));
      for (auto i = first; i < list.size(); ++i) out.push_back(json::value_from(list[i]));
      return out;
    };
    data["iterations"] = tail(s.iterations, from.iterations);
    data["artifacts"] = tail(s.artifacts, from.artifacts);
    data["failed_approaches"] = tail(s.failed_approaches, from.failed_approaches);
  }
  data["head"] = fs::head_json(s, to.iterations, to.artifacts, to.failed_approaches, now);
  auto line = fs::encode_record(grew ? "iteration" : "head", record);
  if (!line) return Error{Errc::store_failed, "cannot store run '" + s.run_id + "': " + line.error().message};
  BOOST_OUTCOME_TRY(append_record(s.run_id, *run, line.value()));

  run->counts = to;
  run->summary.goal = s.goal;
  run->summary.status = s.status;
  run->summary.reason = s.reason;
  run->summary.iterations = to.iterations;
  run->summary.updated_at = now;

  if (options_.compact_every > 0 && run->next_seq >= options_.compact_every)
    if (auto compacted = compact_now(s.run_id); !compacted)
      // The step itself is stored; a failed compaction only leaves a longer journal.
      warn("automatic compaction of run '" + s.run_id + "' failed: " + compacted.error().what());
  return success();
}

inline result<void> FileStore::journal_now(std::string const& run_id, std::vector<JournaledAction>& entries) {
  BOOST_OUTCOME_TRY(check_run_id(run_id));
  BOOST_OUTCOME_TRY(auto* run, open_for_append(run_id));
  if (entries.empty()) return success();
  json::array list;
  list.reserve(entries.size());
  for (auto const& e : entries) list.push_back(json::value_from(e));
  json::value record(json::object_kind);
  auto& data = record.get_object();
  data["seq"] = run->next_seq;
  data["entries"] = std::move(list);
  auto line = detail::file_store::encode_record("journal", record);
  if (!line) return Error{Errc::store_failed, "cannot journal run '" + run_id + "': " + line.error().message};
  return append_record(run_id, *run, line.value());
}

inline result<void> FileStore::compact_now(std::string const& run_id) {
  namespace fio = detail::file_io;
  namespace fs = detail::file_store;
  BOOST_OUTCOME_TRY(check_run_id(run_id));
  BOOST_OUTCOME_TRY(auto r, replay(run_id));
  if (!r.writable) return Error{Errc::store_failed, "journal '" + journal_path(run_id).string() + "' is not writable"};
  r.journal.reset();
  auto const generation = std::max(r.journal_generation, r.snapshot_generation) + 1;
  State& state = r.state;  // in_flight: the pending journal entries, kept in the snapshot

  json::value snapshot_record(json::object_kind);
  auto& snapshot = snapshot_record.get_object();
  snapshot["generation"] = generation;
  snapshot["created_at"] = r.created_at;
  snapshot["updated_at"] = r.updated_at;
  snapshot["state"] = json::value_from(state);
  auto snapshot_line = fs::encode_record("snapshot", snapshot_record);
  if (!snapshot_line) return Error{Errc::store_failed, "cannot compact run '" + run_id + "': " + snapshot_line.error().message};
  json::value base_record(json::object_kind);
  auto& base = base_record.get_object();
  base["seq"] = 0;
  base["generation"] = generation;
  base["created_at"] = r.created_at;
  base["head"] = fs::head_json(state, state.iterations.size(), state.artifacts.size(), state.failed_approaches.size(),
                               r.updated_at);
  auto base_line = fs::encode_record("base", base_record);
  if (!base_line) return Error{Errc::store_failed, "cannot compact run '" + run_id + "': " + base_line.error().message};

  runs_.erase(run_id);  // the files change under any descriptor kept for the run
  auto const snapshot_file = snapshot_path(run_id);
  if (auto ec = fio::replace_atomically(snapshot_file, snapshot_line.value()))
    return fs::io_failure("cannot write snapshot", snapshot_file, ec);
  // From here the snapshot holds the run. Until the rename below, the old
  // journal's generation is older than the snapshot's, so readers skip it.
  auto const journal_file = journal_path(run_id);
  if (auto ec = fio::replace_atomically(journal_file, base_line.value()))
    return fs::io_failure("wrote the snapshot but cannot replace journal", journal_file, ec);

  OpenRun run;
  if (fio::open_file(journal_file, O_RDWR | O_APPEND, run.journal)) return success();  // read again on next use
  run.writable = true;
  run.size = base_line.value().size();
  run.generation = generation;
  run.next_seq = 1;
  run.counts = {state.iterations.size(), state.artifacts.size(), state.failed_approaches.size()};
  run.summary = RunSummary{run_id, state.goal, state.status, state.reason, state.iterations.size(), r.created_at,
                           r.updated_at};
  summaries_.erase(run_id);
  runs_.insert_or_assign(run_id, std::move(run));
  return success();
}

// ---------------------------------------------------------------- events

inline result<void> FileStore::run_exists(std::string const& run_id) {
  if (runs_.contains(run_id)) return success();
  std::error_code ec;
  if (std::filesystem::exists(journal_path(run_id), ec)) return success();
  if (ec && ec != std::errc::no_such_file_or_directory)
    return detail::file_store::io_failure("cannot look for journal", journal_path(run_id), ec);
  return not_found(run_id);
}

inline result<void> FileStore::append_events_now(std::string const& run_id, std::vector<Event>& events) {
  namespace fio = detail::file_io;
  namespace fs = detail::file_store;
  BOOST_OUTCOME_TRY(check_run_id(run_id));
  BOOST_OUTCOME_TRY(run_exists(run_id));
  if (events.empty()) return success();

  std::string batch;
  for (auto const& e : events) {
    json::value const object = e.to_json();
    auto line = json::serialize(object);
    if (auto finite = fs::check_finite(line, object, "event \"" + std::string(e.kind) + "\""); !finite)
      return Error{Errc::store_failed, "cannot store the events of run '" + run_id + "': " + finite.error().message};
    batch += line;
    batch += '\n';
  }

  auto const file = events_path(run_id);
  auto it = events_.find(run_id);
  if (it == events_.end()) {
    fio::UniqueFd fd;
    std::error_code ec;
    bool const existed = std::filesystem::exists(file, ec);
    if (auto opened = fio::open_file(file, O_RDWR | O_APPEND | O_CREAT, fd))
      return fs::io_failure("cannot open events", file, opened);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fs::io_failure("cannot inspect events", file, fio::last_error());
    std::uint64_t end = 0;
    if (auto read = fs::end_of_last_line(fd.get(), static_cast<std::uint64_t>(st.st_size), end))
      return fs::io_failure("cannot read events", file, read);
    if (end < static_cast<std::uint64_t>(st.st_size)) {
      warn("events '" + file.string() + "': cut off an incomplete final line (" +
           std::to_string(static_cast<std::uint64_t>(st.st_size) - end) + " bytes) left by an interrupted write");
      if (auto cut = fio::truncate_to(fd.get(), end)) return fs::io_failure("cannot cut the torn line off events", file, cut);
    }
    if (!existed && options_.durability == Durability::sync)
      if (auto synced = fio::sync_directory(dir_)) return fs::io_failure("cannot sync directory", dir_, synced);
    it = events_.emplace(run_id, std::move(fd)).first;
  }
  int const fd = it->second.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fs::io_failure("cannot inspect events", file, fio::last_error());
  if (auto ec = fio::write_all(fd, batch)) {
    (void)fio::truncate_to(fd, static_cast<std::uint64_t>(st.st_size));
    events_.erase(it);
    return fs::io_failure("cannot append to events", file, ec);
  }
  if (options_.durability == Durability::sync)
    if (auto ec = fio::sync_data(fd)) {
      events_.erase(it);
      return fs::io_failure("appended to, but could not sync, events", file, ec);
    }
  return success();
}

inline result<json::array> FileStore::load_events_now(std::string const& run_id) {
  namespace fio = detail::file_io;
  BOOST_OUTCOME_TRY(check_run_id(run_id));
  BOOST_OUTCOME_TRY(run_exists(run_id));
  auto const file = events_path(run_id);
  fio::UniqueFd fd;
  json::array out;
  if (auto ec = fio::open_file(file, O_RDONLY, fd)) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return detail::file_store::io_failure("cannot open events", file, ec);
  }
  std::string text;
  if (auto ec = fio::read_all(fd.get(), text)) return detail::file_store::io_failure("cannot read events", file, ec);
  std::string_view all(text);
  std::size_t pos = 0;
  std::uint64_t line_number = 0;
  while (pos < all.size()) {
    ++line_number;
    auto newline = all.find('\n', pos);
    if (newline == std::string_view::npos) {
      warn("events '" + file.string() + "', line " + std::to_string(line_number) +
           ": ignored an incomplete final line left by an interrupted write");
      break;
    }
    auto line = all.substr(pos, newline - pos);
    pos = newline + 1;
    auto bad = [&](std::string const& why) {
      return Error{Errc::state_corrupt, "events '" + file.string() + "', line " + std::to_string(line_number) + ": " + why};
    };
    if (line.empty()) return bad("empty line");
    boost::system::error_code ec;
    auto v = parser_.parse(line, ec);
    if (ec) return bad("not JSON (" + ec.message() + ")");
    if (!v.is_object()) return bad("not a JSON object");
    out.push_back(std::move(v));
  }
  return out;
}

// ---------------------------------------------------------------- listing

inline auto FileStore::summarise_from_disk(std::string const& run_id) -> result<RunSummary> {
  namespace fio = detail::file_io;
  namespace fs = detail::file_store;
  auto const file = journal_path(run_id);
  fio::UniqueFd fd;
  if (auto ec = fio::open_file(file, O_RDONLY, fd)) {
    if (ec == std::errc::no_such_file_or_directory) return not_found(run_id);
    return fs::io_failure("cannot open journal", file, ec);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fs::io_failure("cannot inspect journal", file, fio::last_error());
  CachedSummary key;
  key.device = static_cast<std::uint64_t>(st.st_dev);
  key.inode = static_cast<std::uint64_t>(st.st_ino);
  key.size = static_cast<std::uint64_t>(st.st_size);
  key.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (auto cached = summaries_.find(run_id); cached != summaries_.end()) {
    auto const& c = cached->second;
    if (c.device == key.device && c.inode == key.inode && c.size == key.size && c.mtime_ns == key.mtime_ns)
      return c.summary;
  }

  RunSummary summary;
  summary.run_id = run_id;
  try {
    // The first record gives the creation time (and the head, if nothing follows)…
    std::string first;
    std::string chunk;
    for (std::uint64_t offset = 0;;) {
      if (auto ec = fio::read_at(fd.get(), offset, 64 * 1024, chunk)) return fs::io_failure("cannot read journal", file, ec);
      auto newline = chunk.find('\n');
      first.append(chunk, 0, newline == std::string::npos ? chunk.size() : newline);
      if (newline != std::string::npos) break;
      if (chunk.empty()) fs::corrupt("no complete record");
      offset += chunk.size();
    }
    auto apply = [&](fs::HeadSummary const& h) {
      summary.goal = h.goal;
      summary.status = h.status;
      summary.reason = h.reason;
      summary.iterations = h.iterations;
      summary.updated_at = h.updated_at;
    };
    auto record = fs::decode_record(parser_, first);
    summary.created_at = fs::number_field(record.data, "created_at");
    if (record.type == "create") {
      auto const& state = fs::object_field(record.data, "state");
      fs::check_schema_version(state);
      apply({fs::convert<std::string>(fs::field(state, "goal"), "\"goal\""),
             fs::convert<std::optional<Status>>(fs::field(state, "status"), "\"status\""),
             fs::convert<std::string>(fs::field(state, "reason"), "\"reason\""),
             fs::array_field(state, "iterations").size(), summary.created_at});
    } else if (record.type == "base") {
      apply(fs::summary_of_head(fs::object_field(record.data, "head")));
    } else {
      fs::corrupt("the journal starts with a \"" + record.type + "\" record instead of create or base");
    }
    // …and the last record with a head, found from the end, the rest.
    std::optional<fs::RecordError> failure;
    auto ec = fs::visit_lines_backward(fd.get(), key.size, [&](std::string_view line, bool starts_file) {
      if (starts_file) return true;
      try {
        auto r = fs::decode_record(parser_, line);
        if (r.type != "iteration" && r.type != "head") return false;
        apply(fs::summary_of_head(fs::object_field(r.data, "head")));
      } catch (fs::RecordError const& e) {
        failure = e;
      }
      return true;
    });
    if (ec) return fs::io_failure("cannot read journal", file, ec);
    if (failure) throw *failure;
  } catch (fs::RecordError const& e) {
    return Error{e.code, "journal '" + file.string() + "': " + e.what()};
  }
  key.summary = summary;
  summaries_.insert_or_assign(run_id, std::move(key));
  return summary;
}

inline auto FileStore::list_now() -> result<std::vector<RunSummary>> {
  namespace fs = detail::file_store;
  std::vector<std::string> ids;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!name.ends_with(fs::journal_suffix) || name.ends_with(fs::events_suffix)) continue;
    auto id = name.substr(0, name.size() - fs::journal_suffix.size());
    if (check_run_id(id)) ids.push_back(std::move(id));
  }
  if (ec) return fs::io_failure("cannot list store directory", dir_, ec);

  std::vector<RunSummary> out;
  out.reserve(ids.size());
  for (auto const& id : ids) {
    if (auto open = runs_.find(id); open != runs_.end()) {
      out.push_back(open->second.summary);
      continue;
    }
    auto summary = summarise_from_disk(id);
    if (summary) {
      out.push_back(std::move(summary).value());
    } else if (!(summary.error() == Errc::run_not_found)) {  // removed while listing: not a run any more
      // One unreadable run must not hide the others: list it, say why.
      warn(summary.error().message);
      RunSummary unreadable;
      unreadable.run_id = id;
      unreadable.reason = "unreadable: " + summary.error().message;
      out.push_back(std::move(unreadable));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](RunSummary const& a, RunSummary const& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.run_id < b.run_id;
  });
  return out;
}

}  // namespace leash

#endif
