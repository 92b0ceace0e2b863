#ifndef LEASH_IMPL_TRACE_HPP
#define LEASH_IMPL_TRACE_HPP

#include <cerrno>
#include <cstring>
#include <ostream>
#include <sstream>

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
    SharedEvent copy = std::make_shared<Event>(Event{e.ts, e.kind, json::object(e.fields, json::storage_ptr())});
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(copy));
  } catch (...) {
  }
}

inline void MemorySink::write_shared(SharedEvent const& e) noexcept {
  try {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  } catch (...) {
  }
}

inline void ProgressLineSink::write(Event const& e) noexcept {
  try {
    std::lock_guard lock(mutex_);
    auto const& f = e.fields;
    auto number = [](json::value const* v) { return v && v->is_number() ? v->to_number<double>() : 0.0; };
    if (e.kind == event::iteration_start) {
      calls_.clear();
      auto const* m = f.if_contains("metric");
      if (m && m->is_object()) {
        std::ostringstream v;
        v << number(m->get_object().if_contains("value"));
        metric_ = v.str();
        // A metric that names what fails (detail.failing) gets the count beside its value.
        if (auto const* d = m->get_object().if_contains("detail"); d && d->is_object())
          if (auto const* failing = d->get_object().if_contains("failing"); failing && failing->is_array())
            metric_ += " (" + std::to_string(failing->get_array().size()) + " failing)";
        if (auto const* r = m->get_object().if_contains("regression"); r && r->is_bool() && r->get_bool())
          metric_ += " (REGRESSION)";
      } else {
        metric_ = "-";
      }
    } else if (e.kind == event::llm_call) {
      tokens_ += static_cast<std::uint64_t>(number(f.if_contains("input_tokens")) +
                                            number(f.if_contains("output_tokens")));
      if (auto const* c = f.if_contains("cost_usd"); c && c->is_number()) {
        cost_ += c->to_number<double>();
        priced_ = true;
      }
    } else if (e.kind == event::plan_invalid) {
      *out_ << "  rejected plan, errors fed back to the model:";
      if (auto const* errs = f.if_contains("errors"); errs && errs->is_array())
        for (auto const& err : errs->get_array())
          if (err.is_string()) *out_ << "\n    " << std::string_view(err.get_string());
      *out_ << '\n';
    } else if (e.kind == event::action_executed || e.kind == event::action_uncertain) {
      auto const* tool = f.if_contains("tool");
      auto const* status = f.if_contains("status");
      calls_ += ' ';
      calls_ += tool && tool->is_string() ? std::string_view(tool->get_string()) : std::string_view("?");
      calls_ += '[';
      calls_ += status && status->is_string() ? std::string_view(status->get_string())
                                              : std::string_view(e.kind == event::action_uncertain ? "uncertain" : "?");
      calls_ += ']';
    } else if (e.kind == event::iteration_end) {
      char cost[32];
      if (priced_)
        std::snprintf(cost, sizeof cost, "$%.4f", cost_);
      else
        std::snprintf(cost, sizeof cost, "$?");
      *out_ << "iteration " << static_cast<std::uint64_t>(number(f.if_contains("index"))) << " | metric " << metric_
            << " | calls:" << (calls_.empty() ? std::string(" none") : calls_) << " | tokens " << tokens_
            << " | cost " << cost << std::endl;
      calls_.clear();
      metric_ = "-";
    }
  } catch (...) {
    // A broken console must not break the loop.
  }
}

inline std::vector<Event> MemorySink::events() const {
  std::lock_guard lock(mutex_);
  std::vector<Event> out;
  out.reserve(events_.size());
  // In the default storage, not the events' arenas: a copy handed out lives
  // on its own.
  for (auto const& e : events_) out.push_back(Event{e->ts, e->kind, json::object(e->fields, json::storage_ptr())});
  return out;
}

inline std::vector<std::string> MemorySink::kinds() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(events_.size());
  for (auto const& e : events_) out.emplace_back(e->kind);
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
