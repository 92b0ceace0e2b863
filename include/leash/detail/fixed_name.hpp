// A string usable as a template argument (`ToolNamed<"fix", "edit">`). Not for direct use.
#ifndef LEASH_DETAIL_FIXED_NAME_HPP
#define LEASH_DETAIL_FIXED_NAME_HPP

#include <cstddef>
#include <string_view>

namespace leash::detail {

template <std::size_t N>
struct fixed_name {
  char chars[N]{};
  constexpr fixed_name(char const (&s)[N]) noexcept {
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  constexpr operator std::string_view() const noexcept { return {chars, N - 1}; }
};

}  // namespace leash::detail

#endif
