// leash/store/open.hpp — a store chosen at runtime from a spec string.
//
//   auto store = leash::open_store("sqlite:.leash/runs.db");   // result<AnyStore>
//
// Specs:
//   memory:                        a fresh in-memory store (lost at exit)
//   file:DIR[?durability=sync|async|exit]
//                                  one journal file per run in DIR (store/file.hpp)
//   sqlite:PATH[?sync=normal|full][&durability=sync|exit]
//                                  one SQLite database for every run (store/sqlite.hpp);
//                                  `normal` survives a killed process, `full` also a
//                                  power loss
// durability=exit holds a run's writes back until it ends (store/deferred.hpp,
// store/durability.hpp).
// Anything else is Errc::invalid_store_spec, naming the spec and what was wrong.
#ifndef LEASH_STORE_OPEN_HPP
#define LEASH_STORE_OPEN_HPP

#include <leash/error.hpp>
#include <leash/store/deferred.hpp>
#include <leash/store/file.hpp>
#include <leash/store/memory.hpp>
#include <leash/store/store.hpp>
// The build defines LEASH_HAS_SQLITE when it links SQLite (CMake does when
// it finds it); without it, `sqlite:` specs say the build has no SQLite.
#ifdef LEASH_HAS_SQLITE
#include <leash/store/sqlite.hpp>
#endif

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash {

/// A store from a spec (see the top of this file).
result<AnyStore> open_store(std::string_view spec);

namespace detail {

struct StoreSpec {
  std::string scheme;
  std::string path;
  std::vector<std::pair<std::string, std::string>> options;
};

/// "scheme:path?k=v&k=v" split up; the path is taken verbatim (no URL
/// decoding: file names may contain '%').
inline result<StoreSpec> parse_store_spec(std::string_view spec) {
  auto bad = [&](std::string why) {
    return Error{Errc::invalid_store_spec, "store spec '" + std::string(spec) + "': " + why +
                                               " (expected memory:, file:DIR or sqlite:PATH)"};
  };
  auto colon = spec.find(':');
  if (colon == std::string_view::npos) {
    if (spec == "memory") return StoreSpec{"memory", {}, {}};
    return bad("no scheme");
  }
  StoreSpec out;
  out.scheme = std::string(spec.substr(0, colon));
  std::string_view rest = spec.substr(colon + 1);
  auto query = rest.find('?');
  out.path = std::string(rest.substr(0, query));
  if (query != std::string_view::npos) {
    std::string_view q = rest.substr(query + 1);
    while (!q.empty()) {
      auto amp = q.find('&');
      std::string_view item = q.substr(0, amp);
      auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) return bad("option '" + std::string(item) + "' is not key=value");
      out.options.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    }
  }
  return out;
}

}  // namespace detail

inline result<AnyStore> open_store(std::string_view spec) {
  auto parsed = detail::parse_store_spec(spec);
  if (parsed.has_error()) return parsed.error();
  auto& s = parsed.value();
  auto bad = [&](std::string why) {
    return Error{Errc::invalid_store_spec, "store spec '" + std::string(spec) + "': " + why};
  };
  if (s.scheme == "memory") {
    if (!s.path.empty() || !s.options.empty()) return bad("memory: takes no path or options");
    return AnyStore(std::make_shared<MemoryStore>());
  }
  if (s.path.empty()) return bad("the " + s.scheme + " store needs a path after '" + s.scheme + ":'");
  if (s.scheme == "file") {
    FileStoreOptions options;
    bool deferred = false;
    for (auto const& [key, value] : s.options) {
      if (key == "durability" && value == "sync")
        options.durability = Durability::sync;
      else if (key == "durability" && value == "async")
        options.durability = Durability::async;
      else if (key == "durability" && value == "exit")
        deferred = true;  // the final write is synced
      else
        return bad("unknown option '" + key + "=" + value + "' (file: takes durability=sync|async|exit)");
    }
    auto store = FileStore::open(s.path, options);
    if (store.has_error()) return store.error();
    AnyStore opened(std::move(store).value());
    return deferred ? DeferredStore::wrap(std::move(opened)) : opened;
  }
  if (s.scheme == "sqlite") {
#ifdef LEASH_HAS_SQLITE
    SqliteOptions options;
    bool deferred = false;
    for (auto const& [key, value] : s.options) {
      if (key == "sync" && value == "normal")
        options.full_sync = false;
      else if (key == "sync" && value == "full")
        options.full_sync = true;
      else if (key == "durability" && value == "sync")
        deferred = false;
      else if (key == "durability" && value == "exit")
        deferred = true;
      else
        return bad("unknown option '" + key + "=" + value +
                   "' (sqlite: takes sync=normal|full and durability=sync|exit)");
    }
    auto store = SqliteStore::open(s.path, options);
    if (store.has_error()) return store.error();
    AnyStore opened(std::move(store).value());
    return deferred ? DeferredStore::wrap(std::move(opened)) : opened;
#else
    return bad("this build has no SQLite (install libsqlite3-dev and reconfigure)");
#endif
  }
  return bad("unknown scheme '" + s.scheme + "'");
}

}  // namespace leash

#endif
