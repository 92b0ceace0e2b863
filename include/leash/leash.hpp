// leash/leash.hpp — everything: include this, define tools as types, run a Loop.
// Ready agents are included on their own: <leash/blueprint/testfix.hpp>.
#ifndef LEASH_LEASH_HPP
#define LEASH_LEASH_HPP

#include <leash/approval.hpp>
#include <leash/budget.hpp>
#include <leash/context.hpp>
#include <leash/error.hpp>
#include <leash/exec.hpp>
#include <leash/exit.hpp>
#include <leash/explain.hpp>
#include <leash/json.hpp>
#include <leash/llm.hpp>
#include <leash/loop.hpp>
#include <leash/loop_result.hpp>
#include <leash/planner.hpp>
#include <leash/policy.hpp>
#include <leash/pricing.hpp>
#include <leash/progress.hpp>
#include <leash/schema.hpp>
#include <leash/state.hpp>
#include <leash/status.hpp>
#include <leash/store/memory.hpp>
#include <leash/store/open.hpp>
#include <leash/store/store.hpp>
#include <leash/tool.hpp>
#include <leash/toolset.hpp>
#include <leash/trace.hpp>
#include <leash/validate.hpp>

#endif
