#ifndef LEASH_IMPL_TRACE_HPP
#define LEASH_IMPL_TRACE_HPP

#include <cerrno>
#include <cstring>

namespace leash {

inline json::object Event::to_json() const {
  json::object o;
  o.reserve(fields.size() + 2);
  o["ts"] = ts;
  o["kind"] = json::string(kind);
  for (auto const& kv : fields) o[kv.key()] = kv.value();
  return o;
}

inline result<std::shared_ptr<JsonlFileSink>> JsonlFileSink::open(std::string const& path) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f)
    return Error{std::error_code(errno, std::generic_category()),
                 "cannot open trace file '" + path + "' for appending: " + std::strerror(errno)};
  return std::shared_ptr<JsonlFileSink>(new JsonlFileSink(f));
}

inline JsonlFileSink::~JsonlFileSink() {
  if (file_) std::fclose(file_);
}

inline void JsonlFileSink::write(Event const& e) noexcept {
  try {
    std::string line = json::serialize(e.to_json());
    line += '\n';
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  } catch (...) {
    // Out of memory while tracing: drop the event, keep the loop alive.
  }
}

inline void CallbackSink::write(Event const& e) noexcept {
  try {
    if (fn_) fn_(e);
  } catch (...) {
  }
}

inline void MemorySink::write(Event const& e) noexcept {
  try {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  } catch (...) {
  }
}

inline std::vector<Event> MemorySink::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

inline std::vector<std::string> MemorySink::kinds() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(events_.size());
  for (auto const& e : events_) out.emplace_back(e.kind);
  return out;
}

inline std::size_t MemorySink::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

inline void MemorySink::clear() {
  std::lock_guard lock(mutex_);
  events_.clear();
}

}  // namespace leash

#endif
