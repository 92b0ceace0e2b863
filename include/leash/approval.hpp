// leash/approval.hpp — asking a person (or a program) before a gated action.
//
// A policy's PAUSE makes the loop build an ApprovalRequest and ask the
// ApprovalRunner of its options. Runners are chosen at runtime: a callback,
// the terminal, headless (pending with a token, decided later), or the fixed
// approve/deny pair for tests.
#ifndef LEASH_APPROVAL_HPP
#define LEASH_APPROVAL_HPP

#include <leash/detail/tool_runner.hpp>
#include <leash/json.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

namespace leash {

enum class ApprovalDecision { approved, denied, pending };

constexpr std::string_view to_string(ApprovalDecision d) noexcept {
  switch (d) {
    case ApprovalDecision::approved: return "APPROVED";
    case ApprovalDecision::denied: return "DENIED";
    case ApprovalDecision::pending: return "PENDING";
  }
  return "DENIED";
}

/// What is asked. Immutable: a runner cannot change the action it approves.
class ApprovalRequest {
 public:
  ApprovalRequest(std::string token, std::string tool, json::object args, std::string reason,
                  std::string action_hash, std::uint64_t state_version, double created_at, double ttl_s,
                  std::string preview = {})
      : token_(std::move(token)), tool_(std::move(tool)), args_(std::move(args)),
        reason_(std::move(reason)), action_hash_(std::move(action_hash)), preview_(std::move(preview)),
        state_version_(state_version), created_at_(created_at), ttl_s_(ttl_s) {}

  std::string const& token() const noexcept { return token_; }
  std::string const& tool() const noexcept { return tool_; }
  json::object const& args() const noexcept { return args_; }
  std::string const& reason() const noexcept { return reason_; }
  std::string const& action_hash() const noexcept { return action_hash_; }
  /// The tool's own rendering of the call for a person (a diff for an edit);
  /// empty when the tool has none.
  std::string const& preview() const noexcept { return preview_; }
  std::uint64_t state_version() const noexcept { return state_version_; }
  double created_at() const noexcept { return created_at_; }
  double ttl_s() const noexcept { return ttl_s_; }

 private:
  std::string token_, tool_;
  json::object args_;
  std::string reason_, action_hash_, preview_;
  std::uint64_t state_version_;
  double created_at_, ttl_s_;
};

struct ApprovalOutcome {
  ApprovalDecision decision = ApprovalDecision::denied;
  std::string note;
};

/// A runtime-chosen way of deciding. `decide` must not throw.
class ApprovalRunner {
 public:
  virtual ~ApprovalRunner() = default;
  virtual boost::asio::awaitable<ApprovalOutcome> decide(ApprovalRequest const& request) = 0;
  /// Time to live of a pending approval, when the runner sets its own.
  virtual std::optional<double> ttl_s() const { return std::nullopt; }
};

/// What every approval token starts with.
inline constexpr std::string_view approval_token_prefix = "lat_";

/// A fresh approval token: `lat_` and 128 bits from OpenSSL's CSPRNG in
/// base64url (22 chars), 26 chars in all.
std::string new_approval_token();

/// Whether `token` is the one whose SHA-256 (hex) a pending approval stored;
/// compared in constant time, so a guess learns nothing from the timing.
bool token_matches(std::string_view token, std::string_view token_sha256);

/// digest(tool + canonical args + state version): binds an approval to one action.
std::string action_hash(std::string_view tool, json::object const& args, std::uint64_t state_version);

/// Approves everything (tests; trusted tools).
class AlwaysApprove final : public ApprovalRunner {
 public:
  boost::asio::awaitable<ApprovalOutcome> decide(ApprovalRequest const&) override;
};

/// Denies everything (tests; dry runs).
class AlwaysDeny final : public ApprovalRunner {
 public:
  explicit AlwaysDeny(std::string note = "denied by policy") : note_(std::move(note)) {}
  boost::asio::awaitable<ApprovalOutcome> decide(ApprovalRequest const&) override;

 private:
  std::string note_;
};

/// Asks `bool fn(ApprovalRequest const&)` on a worker thread. Denies when it
/// does not answer within the timeout (deny-on-timeout) or throws
/// (deny-on-exception). The worker is joined when the runner is destroyed.
class CallbackApprovalRunner final : public ApprovalRunner {
 public:
  explicit CallbackApprovalRunner(std::function<bool(ApprovalRequest const&)> fn,
                                  std::chrono::duration<double> timeout = std::chrono::seconds(60))
      : fn_(std::move(fn)), timeout_(timeout) {}
  boost::asio::awaitable<ApprovalOutcome> decide(ApprovalRequest const& request) override;

 private:
  std::function<bool(ApprovalRequest const&)> fn_;
  std::chrono::duration<double> timeout_;
  detail::ToolPool worker_{1};
};

/// Asks on a terminal: prints the action and reads a line; "y"/"yes" approves.
/// End of input (closed stdin) denies with a reason instead of failing.
class CliApprovalRunner final : public ApprovalRunner {
 public:
  CliApprovalRunner();  ///< std::cin / std::cerr
  CliApprovalRunner(std::istream& in, std::ostream& out) : in_(&in), out_(&out) {}
  boost::asio::awaitable<ApprovalOutcome> decide(ApprovalRequest const& request) override;

 private:
  std::istream* in_;
  std::ostream* out_;
  detail::ToolPool worker_{1};
};

/// Never decides now: the loop ends AWAITING_APPROVAL with a token, and a later
/// Loop::resume with that token decides.
class HeadlessApprovalRunner final : public ApprovalRunner {
 public:
  explicit HeadlessApprovalRunner(double ttl_s = 3600.0) : ttl_(ttl_s) {}
  boost::asio::awaitable<ApprovalOutcome> decide(ApprovalRequest const& request) override;
  std::optional<double> ttl_s() const override { return ttl_; }

 private:
  double ttl_;
};

}  // namespace leash

#include <leash/impl/approval.hpp>

#endif
