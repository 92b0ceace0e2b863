// Secrets never reach a store: an API key taken from the environment is sent
// to the provider (the loopback server sees it) and appears in no stored byte
// of a SQLite database (WAL included) or a file store — not even when the
// provider's own error message quotes it back, as real providers do.
#include <leash/llm.hpp>
#include <leash/store/open.hpp>

#include <boost/test/unit_test.hpp>

#include "http_server.hpp"
#include "store_kinds.hpp"
#include "support.hpp"

#include <cstdlib>
#include <fstream>
#include <random>

using namespace leash;
using namespace leash_test;

namespace {

std::string random_key() {
  std::mt19937_64 rng(std::random_device{}());
  char buf[40];
  std::snprintf(buf, sizeof buf, "sk-leash-test-%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

/// Every byte under `dir`, concatenated (database, WAL, journals, snapshots).
std::string all_bytes(std::filesystem::path const& dir) {
  std::string out;
  for (auto const& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

std::string tool_call_reply() {
  return R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
    "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
      "tool_calls":[{"id":"call_1","type":"function","function":{"name":"fix","arguments":"{\"name\":\"t1\"}"}}]}}],
    "usage":{"prompt_tokens":50,"completion_tokens":10,"total_tokens":60}})";
}

/// Sets an environment variable for the scope of one test.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, std::string const& value) : name(std::move(n)) {
    if (char const* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

std::vector<std::string> durable_specs(TempDir const& dir) {
  std::vector<std::string> specs{"file:" + (dir / "files").string()};
#ifdef LEASH_HAS_SQLITE
  specs.push_back("sqlite:" + (dir / "runs.db").string());
#endif
  return specs;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(store_secrets)

BOOST_AUTO_TEST_CASE(api_key_from_the_environment_never_reaches_a_store) {
  std::string key = random_key();
  ScopedEnv env_key("OPENAI_API_KEY", key);
  std::atomic<int> calls{0};
  HttpServer server([&](ReceivedRequest const& r) {
    if (r.header("Authorization") != "Bearer " + key) return Reply::json(R"({"error":{"message":"no key"}})", 401);
    // First a tool call; then the provider refuses the key and quotes it back.
    if (calls++ == 0) return Reply::json(tool_call_reply());
    return Reply::json(R"({"error":{"message":"Incorrect API key provided: )" + key +
                           R"(. You can find your API key at https://example.invalid.","type":"invalid_request_error","code":"invalid_api_key"}})",
                       401);
  });
  ScopedEnv env_url("OPENAI_BASE_URL", server.url("/v1"));

  TempDir dir("leash-secrets");
  for (auto const& spec : durable_specs(dir)) {
    BOOST_TEST_CONTEXT(spec) {
      calls = 0;
      auto store = open_store(spec);
      BOOST_REQUIRE(store.has_value());
      auto transport = llm::make_transport("openai:gpt-4o-mini");
      BOOST_REQUIRE_MESSAGE(transport.has_value(), (transport.has_error() ? transport.error().what() : ""));
      auto fix_env = make_env({"t1", "t2"});
      auto sink = std::make_shared<MemorySink>();
      auto opts = env_options(fix_env, sink);
      Loop<LlmPlanner, FixTools> loop("fix the tests", LlmPlanner(transport.value()), FixTools{Fix{fix_env}}, {}, {},
                                      store.value(), opts);
      auto r = loop.run();
      BOOST_REQUIRE(r.has_value());
      BOOST_TEST(to_string(r.value().status) == "ERROR");  // the second call was refused
      BOOST_TEST(fix_env->fix_calls == 1);                  // after the first call's tool ran
      BOOST_TEST(calls.load() >= 2);
      BOOST_TEST(r.value().reason.find(key) == std::string::npos, r.value().reason);
      for (auto const& e : sink->events()) BOOST_TEST(json::serialize(e.to_json()).find(key) == std::string::npos);
      BOOST_TEST(loop.explain().render().find(key) == std::string::npos);
    }
  }
  // Whatever either store wrote, WAL and journals included, is free of the key.
  std::string bytes = all_bytes(dir.path());
  BOOST_TEST(!bytes.empty());
  BOOST_TEST(bytes.find(key) == std::string::npos);
  BOOST_TEST(bytes.find(key.substr(3)) == std::string::npos);  // nor without its "sk-" prefix
}

BOOST_AUTO_TEST_SUITE_END()
