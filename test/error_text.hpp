// error_text.hpp — the text of a result's error for test messages.
#ifndef LEASH_TEST_ERROR_TEXT_HPP
#define LEASH_TEST_ERROR_TEXT_HPP

#include <string>

namespace leash_test {

/// The error's text, or "" (BOOST_TEST evaluates its message even on success).
template <class R>
std::string why(R const& r) {
  return r.has_error() ? r.error().what() : std::string();
}

}  // namespace leash_test

#endif
