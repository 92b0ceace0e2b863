// leash/learn/apply_config.hpp — an agent configuration (learn/agent_config.hpp)
// put into a loop's options: tools enabled, max turns, system prompt, and the
// planner's temperature.
//
//   using Tools = leash::ToolSet<ReadFile, RunTests, EditFile>;
//   auto config = evolver.load("coder");            // or parse_agent_config_file(path)
//   if (!config) return fail(config.error());
//   leash::LoopOptions options;                     // observe, store, … as usual
//   leash::LlmPlannerOptions planner_options;
//   if (auto applied = leash::learn::apply_agent_config<Tools>(*config, options, planner_options);
//       applied.has_error())
//     return fail(applied.error());                 // e.g. a tool Tools does not have
//   leash::Loop<leash::LlmPlanner, Tools> agent(goal, leash::LlmPlanner(transport, planner_options),
//                                               Tools{}, {}, {}, store, options);
//
// LlmPlanner takes its options when it is constructed, so apply the
// configuration before constructing the planner. The tools a configuration
// may name are fixed at compile time by the ToolSet; a configuration only
// chooses among them, and naming one the ToolSet lacks is an error here,
// before any loop exists (the Loop would refuse it too, from run()).
//
// Needs toml++, as learn/agent_config.hpp does.
#ifndef LEASH_LEARN_APPLY_CONFIG_HPP
#define LEASH_LEARN_APPLY_CONFIG_HPP

#include <leash/error.hpp>
#include <leash/learn/agent_config.hpp>
#include <leash/llm/llm_planner.hpp>
#include <leash/loop.hpp>
#include <leash/toolset.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace leash::learn {

/// Puts `config` into `options`:
///
/// | AgentConfig      | LoopOptions                                             |
/// |------------------|---------------------------------------------------------|
/// | `name`           | `agent_name` (runs are then traced as this agent's)     |
/// | `tools`          | `enabled_tools`; an empty list: every tool (`nullopt`)  |
/// | `max_turns`      | `limits.max_iterations`                                 |
/// | `system_prompt`  | `system_prompt`                                         |
///
/// `temperature` is not a loop setting; the overload below takes it.
/// Errc::invalid_config, with `options` left as it was, when `max_turns` is
/// below 1 or `tools` names a tool `ToolSetT` does not have (the message names
/// each such tool and lists the ToolSet's).
template <class ToolSetT>
result<void> apply_agent_config(AgentConfig const& config, LoopOptions& options);

/// The same, and `config.temperature` into `planner.temperature`; a negative
/// or non-finite temperature is Errc::invalid_config too. Nothing is changed
/// on an error.
template <class ToolSetT>
result<void> apply_agent_config(AgentConfig const& config, LoopOptions& options, LlmPlannerOptions& planner);

// ---------------------------------------------------------------------------

template <class ToolSetT>
result<void> apply_agent_config(AgentConfig const& config, LoopOptions& options) {
  static_assert(ToolSetType<ToolSetT>,
                "leash::learn::apply_agent_config<ToolSetT>: ToolSetT must be leash::ToolSet<...>, "
                "the loop's ToolSet");
  std::string const source = "agent config '" + config.name + "'";
  if (config.max_turns < 1)
    return Error{Errc::invalid_config,
                 source + ": max_turns must be at least 1, not " + std::to_string(config.max_turns)};
  if (auto checked = check_tool_names<ToolSetT>(config.tools, source); checked.has_error()) return checked.error();

  options.agent_name = config.name;
  if (config.tools.empty())
    options.enabled_tools.reset();
  else
    options.enabled_tools = config.tools;
  options.limits.max_iterations = static_cast<std::uint64_t>(config.max_turns);
  options.system_prompt = config.system_prompt;
  return success();
}

template <class ToolSetT>
result<void> apply_agent_config(AgentConfig const& config, LoopOptions& options, LlmPlannerOptions& planner) {
  if (!std::isfinite(config.temperature) || config.temperature < 0.0)
    return Error{Errc::invalid_config, "agent config '" + config.name +
                                           "': temperature must be finite and at least 0"};
  if (auto applied = apply_agent_config<ToolSetT>(config, options); applied.has_error()) return applied.error();
  planner.temperature = config.temperature;
  return success();
}

}  // namespace leash::learn

#endif
