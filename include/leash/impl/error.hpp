#ifndef LEASH_IMPL_ERROR_HPP
#define LEASH_IMPL_ERROR_HPP

#include <system_error>

namespace leash {
namespace detail {

class error_category_impl final : public std::error_category {
 public:
  char const* name() const noexcept override { return "leash"; }

  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::unknown_tool: return "unknown tool";
      case Errc::invalid_arguments: return "invalid tool arguments";
      case Errc::tool_failed: return "tool failed";
      case Errc::tool_timeout: return "tool timed out";
      case Errc::nested_loop: return "a loop cannot run from inside one of its tools";
      case Errc::budget_exhausted: return "budget exhausted";
      case Errc::planner_failed: return "planner failed";
      case Errc::invalid_config: return "invalid loop configuration";
      case Errc::pending_approval: return "the run has a pending approval";
      case Errc::approval_token_mismatch: return "approval token does not match the pending request";
      case Errc::approval_action_mismatch: return "approved action does not match the pending request";
      case Errc::schema_changed: return "tool schemas changed since the run was stored";
      case Errc::artifact_drift: return "stored summaries were produced by another summariser";
      case Errc::pricing_stale: return "pricing table is stale";
      case Errc::state_corrupt: return "stored state is corrupt";
      case Errc::state_version_unsupported: return "stored state has an unsupported schema version";
      case Errc::run_not_found: return "run not found";
      case Errc::store_failed: return "store failed";
      case Errc::invalid_store_spec: return "invalid store spec";
      case Errc::approval_required: return "the run waits for an approval decision";
      case Errc::action_uncertain: return "an action's outcome is unknown after a crash";
      case Errc::invalid_transport_spec: return "invalid transport spec";
      case Errc::llm_unreachable: return "model server unreachable";
      case Errc::llm_timeout: return "model server timed out";
      case Errc::llm_rate_limited: return "model provider rate limit";
      case Errc::llm_server_error: return "model provider server error";
      case Errc::llm_auth_failed: return "model provider refused the credentials";
      case Errc::llm_request_rejected: return "model provider rejected the request";
      case Errc::llm_bad_response: return "malformed response from the model provider";
      case Errc::llm_response_too_large: return "model provider response too large";
      case Errc::tls_failed: return "TLS handshake or certificate verification failed";
      case Errc::command_failed_to_start: return "command could not be started";
      case Errc::path_escapes_root: return "path escapes the root directory";
      case Errc::invalid_input: return "invalid input";
      case Errc::speaker_failed: return "a conversation party failed to reply";
    }
    return "unknown leash error";
  }

  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<Errc>(ev)) {
      case Errc::tool_timeout:
      case Errc::llm_timeout: return std::errc::timed_out;
      case Errc::llm_unreachable: return std::errc::connection_refused;
      case Errc::llm_auth_failed: return std::errc::permission_denied;
      case Errc::invalid_transport_spec:
      case Errc::invalid_arguments:
      case Errc::invalid_config:
      case Errc::invalid_store_spec: return std::errc::invalid_argument;
      case Errc::run_not_found: return std::errc::no_such_file_or_directory;
      default: return {ev, *this};
    }
  }
};

}  // namespace detail

inline std::error_category const& error_category() noexcept {
  static detail::error_category_impl const instance;
  return instance;
}

[[noreturn]] inline void outcome_throw_as_system_error_with_payload(Error const& e) {
  throw std::system_error(e.code, e.message);
}

}  // namespace leash

#endif
