// leash-crash-soak: the crash test at length. A child process runs 1000-tick
// loops on a durable store; it is SIGKILLed at random moments, resumed each
// time, and every run's record is then audited against the ticks' own side
// effects (test/crash/harness.hpp says what is checked). The test suite does
// 50 kills per store; this does as many as asked.
//
//   leash-crash-soak [--store sqlite|file|all] [--kills N] [--iterations N]
//                    [--max-delay-ms N] [--seed N] [--keep DIR]
//
// One JSON line per store: bench, value (kills survived), unit, status
// (SUCCESS, or VIOLATION with the first violations), and the audit's
// figures. Exit status 0 when every store kept the contract, 1 otherwise,
// 2 on bad options.
#include "crash/harness.hpp"

#include <leash/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <ostream>
#include <iostream>
#include <string>

namespace {

void print_usage(std::ostream& out) {
  out << "usage: leash-crash-soak [--store sqlite|file|all] [--kills N] [--iterations N]\n"
               "                        [--max-delay-ms N] [--seed N] [--keep DIR]\n"
               "  --store         which durable store (default all: sqlite and file?durability=async)\n"
               "  --kills         SIGKILLs that must land per store (default 500)\n"
               "  --iterations    iterations per run (default 1000)\n"
               "  --max-delay-ms  a kill comes 1..N ms after the child starts (default 60)\n"
               "  --seed          seed of the kill delays (default: random, printed)\n"
               "  --keep DIR      put the stores, counters and child log in DIR and keep them\n";
}

int usage(std::string const& why) {
  std::cerr << "leash-crash-soak: " << why << "\n";
  print_usage(std::cerr);
  return 2;
}

bool parse_int(char const* text, long long low, long long& out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < low) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = "all";
  long long kills = 500, iterations = 1000, max_delay = 60;
  long long seed = -1;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      print_usage(std::cout);
      return 0;
    }
    if (i + 1 >= argc) return usage("missing value after " + a);
    char const* v = argv[++i];
    if (a == "--store") which = v;
    else if (a == "--kills") { if (!parse_int(v, 1, kills)) return usage("--kills takes a number >= 1"); }
    else if (a == "--iterations") { if (!parse_int(v, 1, iterations)) return usage("--iterations takes a number >= 1"); }
    else if (a == "--max-delay-ms") { if (!parse_int(v, 1, max_delay)) return usage("--max-delay-ms takes a number >= 1"); }
    else if (a == "--seed") { if (!parse_int(v, 0, seed)) return usage("--seed takes a number >= 0"); }
    else if (a == "--keep") keep = v;
    else return usage("unknown option " + a);
  }
  std::vector<std::string> stores;
#ifdef LEASH_HAS_SQLITE
  if (which == "all" || which == "sqlite") stores.push_back("sqlite");
#else
  if (which == "sqlite") return usage("this build has no SQLite");
#endif
  if (which == "all" || which == "file") stores.push_back("file");
  if (stores.empty()) return usage("--store takes sqlite, file or all");

  bool all_kept = true;
  for (auto const& kind : stores) {
    std::filesystem::path dir;
    if (keep.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "leash-crash-soak-XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) {
        std::cerr << "leash-crash-soak: mkdtemp failed\n";
        return 1;
      }
      dir = tmpl;
    } else {
      dir = std::filesystem::path(keep) / kind;
      std::filesystem::create_directories(dir);
    }
    leash_crash::Options o;
    o.child = LEASH_CRASH_CHILD_PATH;
    o.store_spec = kind == "sqlite" ? "sqlite:" + (dir / "runs.db").string()
                                    : "file:" + (dir / "runs").string() + "?durability=async";
    o.dir = dir;
    o.run_prefix = kind + "-run";
    o.iterations = static_cast<int>(iterations);
    o.kills = static_cast<int>(kills);
    o.max_delay_ms = static_cast<int>(max_delay);
    if (seed >= 0) o.seed = static_cast<std::uint64_t>(seed);
    auto const r = leash_crash::crash_and_resume(o);

    leash::json::object out;
    out["bench"] = "crash_soak_" + kind;
    out["value"] = r.kills;
    out["unit"] = "kills";
    out["status"] = r.violations.empty() ? "SUCCESS" : "VIOLATION";
    out["store"] = o.store_spec;
    out["runs"] = r.runs;
    out["iterations_per_run"] = o.iterations;
    out["iterations"] = r.iterations;
    out["ok_ticks"] = r.ok;
    out["uncertain_ticks"] = r.uncertain;
    out["side_effects"] = r.effects;
    out["violations"] = r.violations.size();
    leash::json::array first;
    for (std::size_t k = 0; k < r.violations.size() && k < 10; ++k) first.emplace_back(r.violations[k]);
    out["first_violations"] = std::move(first);
    out["wall_s"] = r.wall_s;
    out["seed"] = o.seed;
    out["kill_delay_ms"] = leash::json::array{o.min_delay_ms, o.max_delay_ms};
    std::cout << leash::json::serialize(out) << std::endl;
    all_kept = all_kept && r.violations.empty();
    if (keep.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  return all_kept ? 0 : 1;
}
