// Crash-exact stores: a child process runs a 1000-iteration loop on a real
// SQLite database (and on a file store); this test SIGKILLs it at random
// moments (50 kills per store), resumes it each time, and then checks the
// record against the tool's own external side effects. The kill-and-audit
// harness is test/crash/harness.hpp (also the soak bench's, leash-crash-soak).
#include "crash/harness.hpp"

#include <boost/test/unit_test.hpp>

#include "temp_dir.hpp"

namespace {

/// `kind` is "sqlite" or "file". The file store runs with durability=async:
/// a killed process loses nothing the OS already has; fsync guards against
/// power loss, which this test does not simulate.
void crash_and_resume(std::string const& kind) {
  leash_test::TempDir dir("leash-crash");
  leash_crash::Options o;
  o.child = LEASH_CRASH_CHILD_PATH;
  o.store_spec = kind == "sqlite" ? "sqlite:" + (dir / "runs.db").string()
                                  : "file:" + (dir / "runs").string() + "?durability=async";
  o.dir = dir.path();
  o.run_prefix = kind + "-run";
  o.iterations = 1000;
  o.kills = 50;
  auto const r = leash_crash::crash_and_resume(o);
  BOOST_TEST_MESSAGE(kind << ": " << r.kills << " kills over " << r.runs << " run(s): " << r.iterations
                          << " iterations, " << r.ok << " ok ticks, " << r.uncertain << " uncertain, " << r.effects
                          << " side effects (seed " << o.seed << ")");
  for (auto const& v : r.violations) BOOST_ERROR(v << " (seed " << o.seed << ")");
  BOOST_TEST(r.violations.empty());
  BOOST_TEST(r.kills >= o.kills);
  BOOST_TEST(r.iterations == r.runs * 1000u);
  BOOST_TEST(r.effects >= r.ok);
  BOOST_TEST(r.effects <= r.ok + r.uncertain);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_crash)

#ifdef LEASH_HAS_SQLITE
BOOST_AUTO_TEST_CASE(sqlite_store_survives_sigkill_at_random_moments) { crash_and_resume("sqlite"); }
#endif

BOOST_AUTO_TEST_CASE(file_store_survives_sigkill_at_random_moments) { crash_and_resume("file"); }

BOOST_AUTO_TEST_SUITE_END()
