// leash/llm/make_transport.hpp — a transport from a spec string, chosen at
// runtime (a command-line flag, a config file):
//
//   openai:MODEL                   OpenAI (key: OPENAI_API_KEY; base: OPENAI_BASE_URL)
//   anthropic:MODEL                Anthropic (key: ANTHROPIC_API_KEY; base: ANTHROPIC_BASE_URL)
//   openai-compatible:URL#MODEL    vLLM, llama.cpp, Ollama's /v1, LM Studio: URL is the
//                                  base (…/v1); a key only from TransportOptions::api_key
//   scripted:FILE[#MODEL]          replies from a JSONL file (llm/scripted.hpp)
//
// TransportOptions::api_key and ::base_url win over the environment.
#ifndef LEASH_LLM_MAKE_TRANSPORT_HPP
#define LEASH_LLM_MAKE_TRANSPORT_HPP

#include <leash/error.hpp>
#include <leash/llm/anthropic.hpp>
#include <leash/llm/openai.hpp>
#include <leash/llm/scripted.hpp>
#include <leash/llm/transport.hpp>

#include <string_view>

namespace leash::llm {

/// The transport `spec` names. An unknown scheme, an empty model, a URL that
/// is not http(s), a hosted provider without a key, or a script that cannot
/// be read or parsed (its file and line named) is Errc::invalid_transport_spec;
/// the message names the spec (with any password in a URL blotted out) and
/// never the key. Nothing is sent over the network here.
///
/// OPENAI_API_KEY is never sent to an `openai-compatible` server: another
/// host must not receive the OpenAI key by accident.
result<AnyTransport> make_transport(std::string_view spec, TransportOptions options = {});

}  // namespace leash::llm

#include <leash/llm/impl/make_transport.hpp>

#endif
