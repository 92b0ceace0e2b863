#ifndef LEASH_STORE_IMPL_STORE_HPP
#define LEASH_STORE_IMPL_STORE_HPP

#include <openssl/rand.h>

#include <chrono>
#include <ctime>

namespace leash {

inline std::string new_run_id() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  unsigned char bytes[8] = {};
  RAND_bytes(bytes, sizeof bytes);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = std::string(stamp) + "-";
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 0xF];
  }
  return id;
}

}  // namespace leash

#endif
