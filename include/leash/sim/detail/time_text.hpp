// leash/sim/detail/time_text.hpp — the time stamps transcripts, logs and
// turn metadata carry.
#ifndef LEASH_SIM_DETAIL_TIME_TEXT_HPP
#define LEASH_SIM_DETAIL_TIME_TEXT_HPP

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>

namespace leash::sim::detail {

inline double now_seconds() noexcept {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// `t` (seconds since the epoch; 0: now) as ISO 8601 UTC with microseconds:
/// "2026-12-07T14:43:50.123456+00:00".
inline std::string iso_utc(double t) {
  if (t <= 0.0) t = now_seconds();
  double whole = std::floor(t);
  auto secs = static_cast<std::time_t>(whole);
  auto micros = static_cast<int>(std::lround((t - whole) * 1e6));
  if (micros >= 1000000) {
    ++secs;
    micros -= 1000000;
  }
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
  return buf;
}

/// `t` as local "YYYY-mm-dd HH:MM:SS" (the session log's time column), or
/// with `compact` "YYYYmmdd_HHMMSS" (run folder names).
inline std::string local_stamp(double t, bool compact = false) {
  if (t <= 0.0) t = now_seconds();
  auto secs = static_cast<std::time_t>(t);
  std::tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%d_%H%M%S" : "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

}  // namespace leash::sim::detail

#endif
