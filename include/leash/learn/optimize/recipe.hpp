// leash/learn/optimize/recipe.hpp — the best configuration of an
// optimisation as a recipe TOML file.
//
//   namespace opt = leash::learn::optimize;
//   auto run = co_await engine.run();                         // or store.get_run(id)->to_optimization_run()
//   if (auto ok = opt::export_recipe("recipes/best.toml", *run); !ok) report(ok.error());
//   std::string text = opt::recipe_toml(trial.config, &trial); // the text alone
//
// The file:
//
//     [recipe]
//     name = "optimized-0a1b2c3d4e5f"
//     description = "Configuration of optimisation trial 0a1b2c3d4e5f (accuracy 0.8200)"
//     version = "0.1.0"
//
//     [intelligence]                 # from intelligence.model, .temperature,
//     model = "qwen3:8b"             #   .max_tokens, .top_p, .system_prompt
//     temperature = 0.3
//     max_tokens = 2048
//     top_p = 0.9
//     system_prompt = "You are …\nBe brief."
//
//     [agent]                        # from agent.max_turns, agent.system_prompt,
//     max_turns = 10                 #   tools.tool_set (as `tools`)
//     system_prompt = "…"
//     tools = ["read_file", "run_tests"]
//
// Reference: OpenJarvis export_best_recipe and the recipe layout
// (reference/openjarvis-learning.md §1.4, §2.10). Kept: the table and key
// names, name `optimized-<trial id>`, version "0.1.0", a description with the
// accuracy, parent directories created, no best trial is an error
// (Errc::invalid_input here), other keys dropped, empty tables omitted.
// Changed: only the tables and keys above are written — leash has no
// engine, quantization, agent type or learning policies, so `[engine]`,
// `[learning]`, `intelligence.quantization` and `agent.type` are dropped with
// every other key; a value of the wrong type (a string temperature, a
// fractional max_tokens, a non-finite number, tools that are not all strings)
// is dropped rather than written as is; strings are written by toml++ as
// single-line basic strings (newlines, quotes, backslashes and control
// characters escaped) instead of the reference's naive fallback writer, so
// any prompt reads back exactly; floats are written in their shortest exact
// form; the file is replaced atomically (temporary file, fsync, rename),
// never left half-written.
//
// Needs toml++ (Debian: libtomlplusplus-dev): declared when
// LEASH_HAS_TOMLPLUSPLUS is defined, as CMake does when it finds it.
#ifndef LEASH_LEARN_OPTIMIZE_RECIPE_HPP
#define LEASH_LEARN_OPTIMIZE_RECIPE_HPP

#include <leash/error.hpp>
#include <leash/learn/optimize/engine.hpp>
#include <leash/learn/optimize/types.hpp>

#include <filesystem>
#include <string>

namespace leash::learn::optimize {

#if defined(LEASH_HAS_TOMLPLUSPLUS)

/// The recipe TOML of `config` (see the file comment). `measured` (may be
/// null) gives the accuracy the description quotes; without it the
/// description names only the trial.
std::string recipe_toml(TrialConfig const& config, TrialResult const* measured = nullptr);

/// Writes recipe_toml(trial.config, &trial) to `path`, atomically, creating
/// its parent directories. Errc::invalid_input for a failed trial;
/// Errc::store_failed naming the file when it cannot be written.
result<void> export_recipe(std::filesystem::path const& path, TrialResult const& trial);

/// Writes the recipe of `run`'s best trial. Errc::invalid_input when the run
/// has no best trial.
result<void> export_recipe(std::filesystem::path const& path, OptimizationRun const& run);

#endif

}  // namespace leash::learn::optimize

#include <leash/learn/optimize/impl/recipe.hpp>

#endif
