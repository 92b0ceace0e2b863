// leash/toolset.hpp — a fixed set of tool types: schemas, validation and
// enforced execution, with dispatch by name generated at compile time.
#ifndef LEASH_TOOLSET_HPP
#define LEASH_TOOLSET_HPP

#include <leash/detail/tool_runner.hpp>
#include <leash/error.hpp>
#include <leash/json.hpp>
#include <leash/schema.hpp>
#include <leash/tool.hpp>
#include <leash/validate.hpp>

#include <boost/asio/awaitable.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

namespace leash {

namespace detail {

constexpr bool valid_tool_name(std::string_view n) noexcept {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  return true;
}

template <std::size_t N>
constexpr bool names_unique(std::array<std::string_view, N> const& names) noexcept {
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = i + 1; j < N; ++j)
      if (names[i] == names[j]) return false;
  return true;
}

}  // namespace detail

/// A tool call the ToolSet accepted: which tool, its typed arguments, and the
/// normalised JSON form (every field, defaults included) used for records,
/// fingerprints and approval hashes.
template <class... Ts>
struct ValidatedCall {
  std::size_t index = 0;
  std::string_view name;
  std::variant<std::monostate, typename Ts::args...> args;
  json::object normalized;
  std::string fingerprint;
};

/// The ToolSet requirement is met by `ToolSet<Ts...>` for any tools `Ts`:
/// it is the loop's only way to reach its tools.
template <class... Ts>
class ToolSet {
  static_assert((check_tool<Ts>() && ... && true));
  static constexpr std::array<std::string_view, sizeof...(Ts)> names_ = {std::string_view(Ts::name)...};
  static_assert(((detail::valid_tool_name(Ts::name)) && ... && true),
                "leash::ToolSet: a tool name must match [A-Za-z0-9_-]{1,64} (providers reject others)");
  static_assert(detail::names_unique(names_), "leash::ToolSet: two tools share a name");

 public:
  using call_type = ValidatedCall<Ts...>;
  static constexpr std::size_t size = sizeof...(Ts);

  ToolSet() requires(std::default_initializable<Ts> && ...) = default;
  explicit ToolSet(Ts... tools) : tools_(std::move(tools)...) {}

  /// Tool names in declaration order.
  static constexpr std::array<std::string_view, sizeof...(Ts)> const& names() noexcept { return names_; }

  /// Index of the tool called `name`; nullopt if none.
  static constexpr std::optional<std::size_t> find(std::string_view name) noexcept;

  /// Whether the tool called `name` declares itself idempotent (false if none).
  static constexpr bool is_idempotent(std::string_view name) noexcept {
    constexpr std::array<bool, sizeof...(Ts)> flags = {tool_is_idempotent<Ts>()...};
    auto index = find(name);
    return index && flags[*index];
  }

  /// `[{"name","description","input_schema"}, …]` in declaration order, built once.
  static json::array const& schemas();

  /// 16 hex of SHA-256 over the canonical JSON of schemas(): changes when any
  /// name, description, field or type changes, not when a tool's body does.
  static std::string const& schema_hash();

  /// Strict validation: an unknown name or invalid arguments is an Error whose
  /// message names the tool and every bad field.
  result<call_type> validate(std::string_view name, json::value const& args) const;

  /// Runs a validated call with its tool's enforcement: blocking tools on the
  /// pool with a timeout (aborted + cleanup), async tools raced against a timer,
  /// non-blocking tools inline. Never throws; every failure is in the outcome.
  boost::asio::awaitable<ToolOutcome> execute(call_type const& call, detail::ToolPool& pool);

  /// execute() without a coroutine when the call's tool runs inline (a
  /// non-blocking sync tool): the same outcome, here and now. Empty for every
  /// other tool: use execute().
  std::optional<ToolOutcome> execute_inline(call_type const& call);

  /// What a person deciding on `call` should read: the tool's `preview(args)`
  /// (a diff, a command line, …), or empty when it has none or it threw.
  std::string preview(call_type const& call) const noexcept;

  /// The tool instance of type T (tools may carry runtime state, e.g. a root path).
  template <class T> T& get() noexcept { return std::get<T>(tools_); }
  template <class T> T const& get() const noexcept { return std::get<T>(tools_); }

 private:
  template <std::size_t I>
  boost::asio::awaitable<ToolOutcome> execute_one(call_type const& call, detail::ToolPool& pool);

  std::tuple<Ts...> tools_;
};

namespace detail {
template <class T> struct is_toolset : std::false_type {};
template <class... Ts> struct is_toolset<ToolSet<Ts...>> : std::true_type {};
}  // namespace detail

/// A type is a ToolSet when it is `leash::ToolSet<...>`.
template <class T>
concept ToolSetType = detail::is_toolset<T>::value;

}  // namespace leash

#include <leash/impl/toolset.hpp>

#endif
