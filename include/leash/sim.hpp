// leash/sim.hpp — the simulation layer: speakers (the Speaker requirement,
// LlmSpeaker, ScriptedSpeaker), one conversation, the runner of many, and
// the files they write (transcripts, logs, names, persona sheets).
#ifndef LEASH_SIM_HPP
#define LEASH_SIM_HPP

#include <leash/sim/conversation.hpp>
#include <leash/sim/llm_speaker.hpp>
#include <leash/sim/naming.hpp>
#include <leash/sim/persona.hpp>
#include <leash/sim/retry.hpp>
#include <leash/sim/runner.hpp>
#include <leash/sim/scripted_speaker.hpp>
#include <leash/sim/speaker.hpp>
#include <leash/sim/transcript.hpp>

#endif
