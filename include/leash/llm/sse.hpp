// leash/llm/sse.hpp — an incremental Server-Sent-Events parser.
//
// Streaming providers answer with `text/event-stream`: lines of `field: value`,
// an empty line ending each event. Bytes arrive in arbitrary pieces (a line, a
// field name, even a CR and its LF may be split across reads), so the parser
// keeps the unfinished line between calls and hands out whole events.
//
//   leash::llm::SseParser p;
//   p.feed(chunk, [](leash::llm::SseEvent const& e) { … e.event, e.data … });
//
// Follows the WHATWG HTML "Server-sent events" section (§9.2.6, "Interpreting
// an event stream"): lines end in CRLF, LF or CR; a line starting with ':' is
// a comment; several `data:` lines join with '\n'; one space after the colon
// is dropped; an event with no data is not dispatched.
#ifndef LEASH_LLM_SSE_HPP
#define LEASH_LLM_SSE_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace leash::llm {

/// One dispatched event.
struct SseEvent {
  /// The `event:` field; empty when the stream named none (SSE's "message").
  std::string event;
  /// The `data:` lines, joined with '\n' (no trailing newline).
  std::string data;
  /// The last `id:` seen (SSE keeps it across events).
  std::string id;
};

/// Incremental parser: feed() any number of byte chunks, in order.
class SseParser {
 public:
  /// Parses `chunk`, calling `on_event(SseEvent const&)` for each event it
  /// completes. Whatever is left of an unfinished line is kept for the next call.
  template <class OnEvent>
  void feed(std::string_view chunk, OnEvent&& on_event);

  /// As feed(), returning the completed events.
  std::vector<SseEvent> feed(std::string_view chunk);

  /// The stream ended. An event still missing its closing blank line is
  /// dispatched if it has data (servers often close right after the last
  /// line); returns whether one was.
  template <class OnEvent>
  bool finish(OnEvent&& on_event);

  /// Bytes of an unfinished line or event held between calls (0 at an event boundary).
  std::size_t pending() const noexcept { return line_.size() + data_.size(); }

 private:
  template <class OnEvent>
  void line(std::string_view text, OnEvent& on_event);
  template <class OnEvent>
  void dispatch(OnEvent& on_event);

  std::string line_;       // the current, unfinished line
  std::string event_;      // fields of the event being built
  std::string data_;
  bool has_data_ = false;
  std::string last_id_;
  bool after_cr_ = false;  // the previous chunk ended in CR: a leading LF belongs to it
  bool started_ = false;   // a leading BOM is dropped once
};

}  // namespace leash::llm

#include <leash/llm/impl/sse.hpp>

#endif
