// leash/sim/detail/time_text.hpp — the time stamps transcripts, logs and
// turn metadata carry.
#ifndef LEASH_SIM_DETAIL_TIME_TEXT_HPP
#define LEASH_SIM_DETAIL_TIME_TEXT_HPP

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
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
  // Every reply's metadata carries one: years 1970-9999 are written by hand
  // (gmtime_r and snprintf took some 4,000 instructions a stamp), anything
  // else as before.
  if (secs >= 0 && secs < 253402300800) {
    using namespace std::chrono;
    auto const day = static_cast<long>(secs / 86400);
    auto const in_day = static_cast<int>(secs % 86400);
    year_month_day const ymd{sys_days{days{day}}};
    char buf[32];
    auto put = [&buf](int at, int value, int width) {
      for (int i = at + width - 1; i >= at; --i, value /= 10) buf[i] = static_cast<char>('0' + value % 10);
    };
    put(0, static_cast<int>(ymd.year()), 4);
    buf[4] = '-';
    put(5, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
    buf[7] = '-';
    put(8, static_cast<int>(static_cast<unsigned>(ymd.day())), 2);
    buf[10] = 'T';
    put(11, in_day / 3600, 2);
    buf[13] = ':';
    put(14, in_day / 60 % 60, 2);
    buf[16] = ':';
    put(17, in_day % 60, 2);
    buf[19] = '.';
    put(20, micros, 6);
    std::memcpy(buf + 26, "+00:00", 6);
    return std::string(buf, sizeof buf);
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
