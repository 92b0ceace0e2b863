// leash/error.hpp — errors are values: leash::Errc, leash::Error, leash::result<T>.
//
// Every fallible operation in leash returns `result<T>`; nothing throws across
// the loop boundary. An `Error` is a `std::error_code` (for programs that branch
// on the kind) plus a human sentence (for people reading a trace or a report).
#ifndef LEASH_ERROR_HPP
#define LEASH_ERROR_HPP

#include <boost/outcome/std_result.hpp>
#include <boost/outcome/try.hpp>

#include <ostream>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace leash {

/// The kinds of failure leash reports. Zero is success, as for every error enum.
enum class Errc {
  unknown_tool = 1,        ///< the planner named a tool that is not in the ToolSet
  invalid_arguments,       ///< tool arguments failed strict validation
  tool_failed,             ///< a tool threw or returned an error
  tool_timeout,            ///< a tool ran past its timeout and was abandoned
  nested_loop,             ///< a loop was run from inside one of its own tools
  budget_exhausted,        ///< a ceiling (iterations, tokens, wall clock, cost) was hit
  planner_failed,          ///< the planner could not produce a plan
  invalid_config,          ///< options that cannot work together
  pending_approval,        ///< the run waits for an approval and cannot simply continue
  approval_token_mismatch, ///< the approval names another token, or none
  approval_action_mismatch,///< the approved action is not the one stored
  schema_changed,          ///< the tool schemas differ from the stored run's
  artifact_drift,          ///< stored summaries were produced by another summariser
  pricing_stale,           ///< the pricing table is too old and the policy refuses it
  state_corrupt,           ///< a stored state cannot be read or fails its integrity check
  state_version_unsupported,///< a stored state has a schema version this build cannot read
  run_not_found,           ///< the store has no run with that id
  store_failed,            ///< the store could not read or write
  invalid_store_spec,      ///< open_store() was given a spec it cannot parse
  approval_required,       ///< resuming a run with a pending approval needs a decision
  action_uncertain,        ///< an action started before a crash and its outcome is unknown
  invalid_transport_spec,  ///< make_transport() was given a spec it cannot parse
  llm_unreachable,         ///< cannot connect to the model server, or it stopped answering
  llm_timeout,             ///< the model server did not answer within the time limit
  llm_rate_limited,        ///< the provider said 429 and retries ran out
  llm_server_error,        ///< the provider said 5xx (or 408/409) and retries ran out
  llm_auth_failed,         ///< the provider refused the key (401/403)
  llm_request_rejected,    ///< the provider refused the request (400/404/422, quota)
  llm_bad_response,        ///< the response is not what the protocol promises
  llm_response_too_large,  ///< the response passed the configured size cap
  tls_failed,              ///< TLS handshake or certificate verification failed
  command_failed_to_start, ///< a command could not be started (not found, not executable, bad cwd)
  path_escapes_root,       ///< a path resolves outside the directory a file tool is confined to
  invalid_input,           ///< a value outside what the function accepts (a score not in [0, 1], …)
  speaker_failed,          ///< a conversation party (sim::Speaker) threw or gave no reply
};

/// The category of leash::Errc ("leash").
std::error_category const& error_category() noexcept;

/// ADL hook: lets `std::error_code ec = Errc::unknown_tool;` work.
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A failure: what kind (`code`) and what happened, in words (`message`).
///
/// The message is written for a person: it names the tool, field, file or limit
/// concerned. It must never contain secrets (API keys, tokens of other runs).
struct Error {
  std::error_code code;
  std::string message;

  Error() = default;
  Error(std::error_code c, std::string m = {}) : code(c), message(std::move(m)) {}
  Error(Errc e, std::string m = {}) : code(make_error_code(e)), message(std::move(m)) {}

  /// "message" or, when empty, the code's own message.
  std::string what() const { return message.empty() ? code.message() : message; }

  friend bool operator==(Error const& a, Errc b) noexcept { return a.code == make_error_code(b); }
  friend bool operator==(Error const& a, std::error_code const& b) noexcept { return a.code == b; }
  friend std::ostream& operator<<(std::ostream& os, Error const& e) {
    return os << e.code.category().name() << ':' << e.code.value() << ' ' << e.what();
  }
};

/// Outcome's ADL hooks, so `result<T>` treats Error like an error code.
inline std::error_code make_error_code(Error const& e) noexcept { return e.code; }
[[noreturn]] void outcome_throw_as_system_error_with_payload(Error const& e);

/// `result<T>`: a value or an Error. Use `BOOST_OUTCOME_TRY` to propagate and
/// `BOOST_OUTCOME_CO_TRY` inside coroutines.
template <class T>
using result = boost::outcome_v2::std_result<T, Error>;

using boost::outcome_v2::success;

}  // namespace leash

template <>
struct std::is_error_code_enum<leash::Errc> : std::true_type {};

#include <leash/impl/error.hpp>

#endif
