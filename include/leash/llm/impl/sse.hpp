#ifndef LEASH_LLM_IMPL_SSE_HPP
#define LEASH_LLM_IMPL_SSE_HPP

#include <utility>

namespace leash::llm {

template <class OnEvent>
void SseParser::feed(std::string_view chunk, OnEvent&& on_event) {
  if (!started_ && !chunk.empty()) {
    // A UTF-8 BOM may open the stream; it may also arrive split, but servers
    // that send one send it whole in the first bytes.
    if (chunk.substr(0, 3) == "\xEF\xBB\xBF") chunk.remove_prefix(3);
    started_ = true;
  }
  std::size_t i = 0;
  if (after_cr_ && !chunk.empty()) {
    after_cr_ = false;
    if (chunk[0] == '\n') i = 1;  // the LF of a CRLF split across chunks
  }
  while (i < chunk.size()) {
    std::size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(chunk.substr(i));
      return;
    }
    if (line_.empty()) {
      line(chunk.substr(i, end - i), on_event);
    } else {
      line_.append(chunk.substr(i, end - i));
      std::string whole = std::move(line_);
      line_.clear();
      line(whole, on_event);
    }
    if (chunk[end] == '\r') {
      if (end + 1 < chunk.size()) {
        i = chunk[end + 1] == '\n' ? end + 2 : end + 1;
      } else {
        after_cr_ = true;
        i = end + 1;
      }
    } else {
      i = end + 1;
    }
  }
}

inline std::vector<SseEvent> SseParser::feed(std::string_view chunk) {
  std::vector<SseEvent> out;
  feed(chunk, [&](SseEvent const& e) { out.push_back(e); });
  return out;
}

template <class OnEvent>
bool SseParser::finish(OnEvent&& on_event) {
  if (!line_.empty()) {
    std::string whole = std::move(line_);
    line_.clear();
    line(whole, on_event);
  }
  after_cr_ = false;
  bool had = has_data_;
  dispatch(on_event);
  return had;
}

template <class OnEvent>
void SseParser::line(std::string_view text, OnEvent& on_event) {
  if (text.empty()) {
    dispatch(on_event);
    return;
  }
  if (text[0] == ':') return;  // comment (keep-alive pings are sent this way)
  std::string_view field = text, value;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is not ours to do.
}

template <class OnEvent>
void SseParser::dispatch(OnEvent& on_event) {
  if (has_data_) {
    SseEvent e{std::move(event_), std::move(data_), last_id_};
    on_event(static_cast<SseEvent const&>(e));
  }
  event_.clear();
  data_.clear();
  has_data_ = false;
}

}  // namespace leash::llm

#endif
