#include <leash/store/memory.hpp>
#include <boost/test/unit_test.hpp>

#include "store_contract.hpp"

#include <memory>
#include <string>

namespace test_store_memory {
using namespace leash_test::store_contract;
static_assert(leash::Store<leash::MemoryStore>);
static_assert(leash::Store<leash::AnyStore>);
static_assert(!leash::Store<int>);
}  // namespace test_store_memory

using namespace test_store_memory;

BOOST_AUTO_TEST_SUITE(store_memory)

LEASH_STORE_CONTRACT_TESTS(leash::AnyStore(std::make_shared<leash::MemoryStore>()))

BOOST_AUTO_TEST_CASE(any_store_defaults_to_a_working_memory_store) {
  leash::AnyStore store;
  BOOST_TEST(dynamic_cast<leash::MemoryStore*>(&store.get()) != nullptr);
  State s = new_run("r1");
  grow(s, 2);
  BOOST_REQUIRE(run_sync(store.create_run(s)).has_value());
  grow(s, 3);
  BOOST_REQUIRE(run_sync(store.append_iteration(s)).has_value());
  BOOST_TEST(load(store, "r1").iterations.size() == 3u);
  BOOST_REQUIRE(run_sync(store.append_events("r1", {{1.0, leash::event::loop_end, {}}})).has_value());
  BOOST_TEST(run_sync(store.load_events("r1")).value().size() == 1u);
  BOOST_TEST(run_sync(store.list_runs()).value().size() == 1u);
  expect_not_found(run_sync(store.load("other")), "other");

  // Copies share one store; separate default stores do not.
  leash::AnyStore copy = store;
  BOOST_TEST(load(copy, "r1").iterations.size() == 3u);
  leash::AnyStore fresh;
  expect_not_found(run_sync(fresh.load("r1")), "r1");
}

BOOST_AUTO_TEST_CASE(new_run_ids_are_timestamped_and_distinct) {
  auto a = leash::new_run_id();
  auto b = leash::new_run_id();
  BOOST_TEST(a != b);
  BOOST_REQUIRE(a.size() == 33u);  // "20261123T101500Z-" + 16 hex
  BOOST_TEST(a[8] == 'T');
  BOOST_TEST(a[15] == 'Z');
  BOOST_TEST(a[16] == '-');
  BOOST_TEST(a.substr(0, 8).find_first_not_of("0123456789") == std::string::npos);
  BOOST_TEST(a.substr(17).find_first_not_of("0123456789abcdef") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
