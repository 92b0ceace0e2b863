// store_kinds.hpp — every store leash ships, as fresh empty stores on real
// files in temporary directories, so scenario tests run over each of them.
#ifndef LEASH_TEST_STORE_KINDS_HPP
#define LEASH_TEST_STORE_KINDS_HPP

#include <leash/store/deferred.hpp>
#include <leash/store/memory.hpp>
#if __has_include(<leash/store/file.hpp>)
#include <leash/store/file.hpp>
#define LEASH_TEST_HAS_FILE_STORE 1
#endif
#ifdef LEASH_HAS_SQLITE
#include <leash/store/sqlite.hpp>
#define LEASH_TEST_HAS_SQLITE_STORE 1
#endif

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <functional>
#include "temp_dir.hpp"

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace leash_test {

/// Directories made for stores live until the test program ends.
inline std::vector<std::unique_ptr<TempDir>>& store_dirs() {
  static std::vector<std::unique_ptr<TempDir>> dirs;
  return dirs;
}

inline std::filesystem::path new_store_dir() {
  store_dirs().push_back(std::make_unique<TempDir>("leash-store"));
  return store_dirs().back()->path();
}

struct StoreKind {
  std::string name;
  std::function<leash::AnyStore()> make;  ///< a fresh, empty store
  /// false: writes are held back until the run ends or pauses
  /// (Durability::exit), so a crash mid-run is not survived and scenarios
  /// that simulate one do not apply.
  bool crash_exact = true;
};

inline std::vector<StoreKind> store_kinds() {
  std::vector<StoreKind> kinds;
  kinds.push_back({"memory", [] { return leash::AnyStore(std::make_shared<leash::MemoryStore>()); }});
#ifdef LEASH_TEST_HAS_FILE_STORE
  kinds.push_back({"file", [] {
                     auto s = leash::FileStore::open(new_store_dir());
                     BOOST_REQUIRE_MESSAGE(s.has_value(), (s.has_error() ? s.error().what() : std::string()));
                     return leash::AnyStore(std::move(s).value());
                   }});
#endif
#ifdef LEASH_TEST_HAS_SQLITE_STORE
  kinds.push_back({"sqlite", [] {
                     auto s = leash::SqliteStore::open(new_store_dir() / "runs.db");
                     BOOST_REQUIRE_MESSAGE(s.has_value(), (s.has_error() ? s.error().what() : std::string()));
                     return leash::AnyStore(std::move(s).value());
                   }});
  // Every resume and approval scenario also holds with writes deferred to the run's end.
  kinds.push_back({"sqlite?durability=exit", [] {
                     auto s = leash::SqliteStore::open(new_store_dir() / "runs.db");
                     BOOST_REQUIRE_MESSAGE(s.has_value(), (s.has_error() ? s.error().what() : std::string()));
                     return leash::DeferredStore::wrap(leash::AnyStore(std::move(s).value()));
                   },
                   false});
#endif
  return kinds;
}

}  // namespace leash_test

#endif
