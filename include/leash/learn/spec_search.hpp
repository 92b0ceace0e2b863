// leash/learn/spec_search.hpp — spec search: a teacher diagnoses the agent's
// failures, proposes typed edits to its configuration files, and a benchmark
// gate keeps each edit only when it helped (docs/spec-search.md).
//
// Needs toml++ (the configuration files) and SQLite (the session store).
#ifndef LEASH_LEARN_SPEC_SEARCH_HPP
#define LEASH_LEARN_SPEC_SEARCH_HPP

#include <leash/learn/spec_search/applier.hpp>
#include <leash/learn/spec_search/config.hpp>
#include <leash/learn/spec_search/gate.hpp>
#include <leash/learn/spec_search/personal_benchmark.hpp>
#include <leash/learn/spec_search/plan.hpp>
#include <leash/learn/spec_search/session.hpp>
#include <leash/learn/spec_search/store.hpp>
#include <leash/learn/spec_search/teacher.hpp>
#include <leash/learn/spec_search/types.hpp>

#endif
