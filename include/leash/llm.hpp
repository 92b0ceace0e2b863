// leash/llm.hpp — the LLM module in one include: the transport interface and
// make_transport(), the OpenAI and Anthropic protocols and transports, the
// scripted transport, SSE, the HTTP client and retries, and LlmPlanner.
#ifndef LEASH_LLM_HPP
#define LEASH_LLM_HPP

#include <leash/llm/anthropic.hpp>
#include <leash/llm/http.hpp>
#include <leash/llm/llm_planner.hpp>
#include <leash/llm/make_transport.hpp>
#include <leash/llm/openai.hpp>
#include <leash/llm/retry.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/llm/sse.hpp>
#include <leash/llm/transport.hpp>

#endif
