#ifndef LEASH_IMPL_JSON_HPP
#define LEASH_IMPL_JSON_HPP

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <array>
#include <vector>

namespace leash {

inline std::string sha256_hex(std::string_view data) {
  // Fetched once and a context per thread: OpenSSL 3's one-shot EVP_Digest
  // looks the algorithm up and allocates a context on every call, and this
  // runs for every action's fingerprint.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local context local;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (!sha256 || !local.ctx || EVP_DigestInit_ex(local.ctx, sha256, nullptr) != 1 ||
      EVP_DigestUpdate(local.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(local.ctx, md.data(), &len) != 1)
    EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(std::size_t(len) * 2, '\0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0xF];
  }
  return out;
}

inline std::string digest(std::string_view data) { return sha256_hex(data).substr(0, 16); }

inline std::size_t utf8_prefix(std::string_view text, std::size_t cap) noexcept {
  if (text.size() <= cap) return text.size();
  // Back off over continuation bytes (10xxxxxx) so a cut never splits a character.
  std::size_t n = cap;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

inline std::string excerpt(std::string_view text, std::size_t cap) {
  if (text.size() <= cap) return std::string(text);
  std::string out(text.substr(0, utf8_prefix(text, cap)));
  out += "\n...[truncated ";
  out += std::to_string(text.size() - cap);
  out += " chars, digest=";
  out += digest(text);
  out += "]";
  return out;
}

namespace detail {

inline void canonical_into(json::value const& v, std::string& out) {
  if (v.is_object()) {
    auto const& obj = v.get_object();
    std::vector<json::key_value_pair const*> items;
    items.reserve(obj.size());
    for (auto const& kv : obj) items.push_back(&kv);
    std::sort(items.begin(), items.end(),
              [](auto* a, auto* b) { return a->key() < b->key(); });
    out += '{';
    bool first = true;
    for (auto* kv : items) {
      if (!first) out += ',';
      first = false;
      out += json::serialize(json::string_view(kv->key()));
      out += ':';
      canonical_into(kv->value(), out);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (auto const& e : v.get_array()) {
      if (!first) out += ',';
      first = false;
      canonical_into(e, out);
    }
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace detail

inline std::string canonical_json(json::value const& v) {
  std::string out;
  detail::canonical_into(v, out);
  return out;
}

inline std::string detail::format_number(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

inline std::string with_thousands(long long n) {
  // Magnitude in unsigned arithmetic: -n overflows for the most negative value.
  auto magnitude = static_cast<unsigned long long>(n);
  if (n < 0) magnitude = 0ULL - magnitude;
  std::string digits = std::to_string(magnitude);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count && count % 3 == 0) out += ',';
    out += *it;
    ++count;
  }
  if (n < 0) out += '-';
  return {out.rbegin(), out.rend()};
}

}  // namespace leash

#endif
