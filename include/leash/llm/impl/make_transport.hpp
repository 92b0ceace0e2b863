#ifndef LEASH_LLM_IMPL_MAKE_TRANSPORT_HPP
#define LEASH_LLM_IMPL_MAKE_TRANSPORT_HPP

#include <leash/llm/detail/http_transport.hpp>

#include <memory>
#include <string>
#include <utility>

namespace leash::llm {

namespace detail {

/// `spec` fit for a message: a URL's user information (user:password@) blotted out.
inline std::string display_spec(std::string_view spec) {
  std::string out(spec);
  auto scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  auto host = scheme + 3;
  auto end = out.find_first_of("/?#", host);
  auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at != std::string::npos && at >= host && (end == std::string::npos || at < end))
    out.replace(host, at - host, "…");
  return out;
}

/// "http://host…" or "https://host…" with a host.
inline bool http_url(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://") rest = url.substr(7);
  else if (url.substr(0, 8) == "https://") rest = url.substr(8);
  else return false;
  return !rest.empty() && rest[0] != '/' && rest.find_first_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace detail

inline result<AnyTransport> make_transport(std::string_view spec, TransportOptions options) {
  auto fail = [&](std::string why) {
    return Error{Errc::invalid_transport_spec,
                 "transport spec '" + detail::display_spec(spec) + "': " + std::move(why)};
  };
  auto colon = spec.find(':');
  if (colon == std::string_view::npos)
    return fail("expected SCHEME:…, one of openai:MODEL, anthropic:MODEL, openai-compatible:URL#MODEL, scripted:FILE");
  std::string_view scheme = spec.substr(0, colon), rest = spec.substr(colon + 1);

  if (scheme == "openai" || scheme == "anthropic") {
    bool const is_openai = scheme == "openai";
    if (rest.empty()) return fail("no model named (e.g. " + std::string(is_openai ? "openai:gpt-4o-mini" : "anthropic:claude-sonnet-4-6") + ")");
    char const* key_var = is_openai ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
    char const* url_var = is_openai ? "OPENAI_BASE_URL" : "ANTHROPIC_BASE_URL";
    std::string key = !options.api_key.empty() ? options.api_key : detail::env_or_empty(key_var);
    if (key.empty()) return fail(std::string("no API key: set ") + key_var + " or TransportOptions::api_key");
    std::string base = !options.base_url.empty() ? options.base_url : detail::env_or_empty(url_var);
    if (base.empty())
      base = std::string(is_openai ? OpenAiTransport::default_base_url : AnthropicTransport::default_base_url);
    if (!detail::http_url(base))
      return fail("the base URL '" + detail::display_spec(base) + "' is not an http:// or https:// URL");
    std::string model(rest);
    if (is_openai)
      return AnyTransport(std::make_shared<OpenAiTransport>(std::move(model), std::move(base), std::move(key),
                                                            std::move(options), "openai"));
    return AnyTransport(
        std::make_shared<AnthropicTransport>(std::move(model), std::move(base), std::move(key), std::move(options)));
  }

  if (scheme == "openai-compatible") {
    auto hash = rest.rfind('#');
    if (hash == std::string_view::npos) return fail("expected openai-compatible:URL#MODEL");
    std::string_view url = rest.substr(0, hash), model = rest.substr(hash + 1);
    if (!detail::http_url(url)) return fail("'" + detail::display_spec(url) + "' is not an http:// or https:// URL");
    if (model.empty()) return fail("no model named after '#'");
    std::string key = options.api_key;  // never OPENAI_API_KEY: see make_transport's documentation
    return AnyTransport(std::make_shared<OpenAiTransport>(std::string(model), std::string(url), std::move(key),
                                                          std::move(options), "openai-compatible"));
  }

  if (scheme == "scripted") {
    std::string_view file = rest, model = "scripted";
    if (auto hash = rest.rfind('#'); hash != std::string_view::npos) {
      file = rest.substr(0, hash);
      model = rest.substr(hash + 1);
      if (model.empty()) return fail("no model named after '#'");
    }
    if (file.empty()) return fail("no file named (scripted:FILE)");
    auto t = ScriptedTransport::from_file(std::string(file), std::string(model));
    if (t.has_error()) return fail(t.error().message);
    return AnyTransport(std::move(t).value());
  }

  return fail("unknown scheme '" + detail::snippet(scheme, 40) +
              "' (known: openai, anthropic, openai-compatible, scripted)");
}

}  // namespace leash::llm

#endif
