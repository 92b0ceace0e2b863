#ifndef LEASH_IMPL_APPROVAL_HPP
#define LEASH_IMPL_APPROVAL_HPP

#include <openssl/crypto.h>

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <iostream>
#include <stdexcept>

namespace leash {

inline std::string new_approval_token() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    // No entropy means no safe token; an approval must never fall back to a guessable one.
    throw std::runtime_error("leash: OpenSSL RAND_bytes failed; cannot mint an approval token");
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // The prefix makes a token recognisable to secret scanners and means it never
  // starts with '-', which command-line parsers would take for an option.
  std::string out(approval_token_prefix);
  out.reserve(approval_token_prefix.size() + 22);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3F];
  return out;
}

inline std::string action_hash(std::string_view tool, json::object const& args, std::uint64_t state_version) {
  std::string text(tool);
  text += canonical_json(args);
  text += std::to_string(state_version);
  return digest(text);
}

inline boost::asio::awaitable<ApprovalOutcome> AlwaysApprove::decide(ApprovalRequest const&) {
  co_return ApprovalOutcome{ApprovalDecision::approved, "approved by policy"};
}

inline boost::asio::awaitable<ApprovalOutcome> AlwaysDeny::decide(ApprovalRequest const&) {
  co_return ApprovalOutcome{ApprovalDecision::denied, note_};
}

inline boost::asio::awaitable<ApprovalOutcome> CallbackApprovalRunner::decide(ApprovalRequest const& request) {
  // The worker gets its own copy: after a timeout the request may be gone.
  auto work = [fn = fn_, req = request](std::stop_token) -> ApprovalOutcome {
    try {
      return fn(req) ? ApprovalOutcome{ApprovalDecision::approved, "approved via callback"}
                     : ApprovalOutcome{ApprovalDecision::denied, "denied via callback"};
    } catch (...) {
      return {ApprovalDecision::denied,
              "callback raised " + detail::describe_current_exception() + " (deny-on-exception)"};
    }
  };
  auto out = co_await detail::race_on_pool<ApprovalOutcome>(worker_, std::move(work), timeout_, [] {});
  if (out) co_return std::move(*out);
  co_return ApprovalOutcome{ApprovalDecision::denied, "callback timed out after " +
                                                          detail::format_number(timeout_.count()) +
                                                          "s (deny-on-timeout)"};
}

inline bool token_matches(std::string_view token, std::string_view token_sha256) {
  std::string given = sha256_hex(token);
  return given.size() == token_sha256.size() &&
         CRYPTO_memcmp(given.data(), token_sha256.data(), given.size()) == 0;
}

inline CliApprovalRunner::CliApprovalRunner() : in_(&std::cin), out_(&std::cerr) {}

inline boost::asio::awaitable<ApprovalOutcome> CliApprovalRunner::decide(ApprovalRequest const& request) {
  auto work = [in = in_, out = out_, req = request](std::stop_token) -> ApprovalOutcome {
    if (req.preview().empty())
      *out << "[leash] approval required: " << req.tool() << '(' << json::serialize(req.args()) << ")\n";
    else
      *out << "[leash] approval required: " << req.tool() << '\n' << req.preview()
           << (req.preview().ends_with('\n') ? "" : "\n");
    *out << "reason: " << req.reason() << "\napprove? [y/N] " << std::flush;
    std::string line;
    if (!std::getline(*in, line))
      return {ApprovalDecision::denied, "input closed before an answer (deny-on-eof)"};
    auto first = line.find_first_not_of(" \t\r");
    auto last = line.find_last_not_of(" \t\r");
    std::string answer = first == std::string::npos ? "" : line.substr(first, last - first + 1);
    std::transform(answer.begin(), answer.end(), answer.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (answer == "y" || answer == "yes") return {ApprovalDecision::approved, "approved via CLI"};
    return {ApprovalDecision::denied, "denied via CLI"};
  };
  auto out = co_await detail::race_on_pool<ApprovalOutcome>(worker_, std::move(work), std::nullopt, [] {});
  if (out) co_return std::move(*out);
  co_return ApprovalOutcome{ApprovalDecision::denied, "terminal approval was cancelled"};
}

inline boost::asio::awaitable<ApprovalOutcome> HeadlessApprovalRunner::decide(ApprovalRequest const& request) {
  // The note goes into traces; the token (a capability) must not.
  (void)request;
  co_return ApprovalOutcome{ApprovalDecision::pending, "awaiting approval"};
}

}  // namespace leash

#endif
