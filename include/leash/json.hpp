// leash/json.hpp — the JSON vocabulary (Boost.JSON) and the hashing helpers
// every record uses: canonical serialisation, SHA-256 digests, excerpts.
#ifndef LEASH_JSON_HPP
#define LEASH_JSON_HPP

#include <boost/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace leash {

namespace json = boost::json;

/// Largest observation, tool output or error text kept inline (characters).
inline constexpr std::size_t inline_cap = 16384;

/// Lowercase hex SHA-256 of `data` (64 characters).
std::string sha256_hex(std::string_view data);

/// The short digest used for fingerprints, action hashes and truncation
/// suffixes: the first 16 hex characters of SHA-256.
std::string digest(std::string_view data);

/// The longest prefix of `text` of at most `cap` bytes that does not split a
/// UTF-8 character.
std::size_t utf8_prefix(std::string_view text, std::size_t cap) noexcept;

/// `text` cut to `cap` characters, with a suffix naming how much was cut and
/// the digest of the whole, so two different long outputs never look alike.
std::string excerpt(std::string_view text, std::size_t cap = inline_cap);

/// Serialise with object keys sorted at every depth: equal values give equal
/// bytes, whatever order their keys were inserted in. Hashes are taken over this.
std::string canonical_json(json::value const& v);

namespace detail {
/// Shortest round-trip text of a number: "0.2", "-3", "1800".
std::string format_number(double v);
}  // namespace detail

/// "1,234,567": thousands separators, as limits are printed for people.
std::string with_thousands(long long n);

}  // namespace leash

#include <leash/impl/json.hpp>

#endif
