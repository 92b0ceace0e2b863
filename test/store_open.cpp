#include <leash/store/open.hpp>
#include <boost/test/unit_test.hpp>

#include "store_kinds.hpp"
#include "support.hpp"

#include <string>

using leash_test::run_sync;
using leash_test::TempDir;

namespace {

leash::State new_run(std::string id) {
  leash::State s;
  s.run_id = std::move(id);
  s.goal = "g";
  return s;
}

void expect_bad_spec(std::string const& spec, std::string const& says) {
  BOOST_TEST_CONTEXT(spec) {
    auto r = leash::open_store(spec);
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST((r.error() == leash::Errc::invalid_store_spec));
    BOOST_TEST(r.error().message.find("'" + spec + "'") != std::string::npos);
    BOOST_TEST(r.error().message.find(says) != std::string::npos, r.error().message);
  }
}

/// The store works: a run goes in and comes back.
void round_trip(leash::AnyStore store) {
  BOOST_REQUIRE(run_sync(store.create_run(new_run("r1"))).has_value());
  auto back = run_sync(store.load("r1"));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back.value().goal == "g");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_open)

BOOST_AUTO_TEST_CASE(memory_specs) {
  for (std::string spec : {"memory:", "memory"}) {
    auto r = leash::open_store(spec);
    BOOST_REQUIRE(r.has_value());
    BOOST_TEST(dynamic_cast<leash::MemoryStore*>(&r.value().get()) != nullptr);
    round_trip(r.value());
  }
  // Each opening is a store of its own.
  auto a = leash::open_store("memory:").value();
  auto b = leash::open_store("memory:").value();
  BOOST_REQUIRE(run_sync(a.create_run(new_run("only-in-a"))).has_value());
  BOOST_TEST(run_sync(b.load("only-in-a")).has_error());
}

BOOST_AUTO_TEST_CASE(file_specs_open_a_directory_that_persists) {
  TempDir dir;
  std::string spec = "file:" + (dir / "runs").string();
  {
    auto r = leash::open_store(spec);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
    BOOST_TEST(dynamic_cast<leash::FileStore*>(&r.value().get()) != nullptr);
    round_trip(r.value());
  }
  auto again = leash::open_store(spec + "?durability=async");
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(run_sync(again.value().load("r1")).has_value());
}

#ifdef LEASH_HAS_SQLITE
BOOST_AUTO_TEST_CASE(sqlite_specs_open_one_database) {
  TempDir dir;
  std::string spec = "sqlite:" + (dir / "sub" / "runs.db").string();
  {
    auto r = leash::open_store(spec);
    BOOST_REQUIRE_MESSAGE(r.has_value(), (r.has_error() ? r.error().what() : std::string()));
    BOOST_TEST(dynamic_cast<leash::SqliteStore*>(&r.value().get()) != nullptr);
    round_trip(r.value());
  }
  BOOST_TEST(std::filesystem::exists(dir / "sub" / "runs.db"));
  auto full = leash::open_store(spec + "?sync=full");
  BOOST_REQUIRE(full.has_value());
  BOOST_TEST(run_sync(full.value().load("r1")).has_value());
}
#endif

BOOST_AUTO_TEST_CASE(malformed_specs_name_the_spec_and_the_problem) {
  expect_bad_spec("", "no scheme");
  expect_bad_spec("runs.db", "no scheme");
  expect_bad_spec("redis:localhost", "unknown scheme 'redis'");
  expect_bad_spec("file:", "needs a path");
  expect_bad_spec("sqlite:", "needs a path");
  expect_bad_spec("memory:somewhere", "takes no path");
  expect_bad_spec("file:/tmp/x?durability=later", "unknown option 'durability=later'");
  expect_bad_spec("sqlite:/tmp/x.db?bogus=1", "unknown option 'bogus=1'");
  expect_bad_spec("sqlite:/tmp/x.db?novalue", "not key=value");
}

BOOST_AUTO_TEST_SUITE_END()
