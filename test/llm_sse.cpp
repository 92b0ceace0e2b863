// The SSE parser: events split anywhere, line endings, comments, multi-line data.
#include <leash/llm/sse.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace test_llm_sse {

using leash::llm::SseEvent;
using leash::llm::SseParser;

/// Feeds `stream` in pieces of `step` bytes (the last may be shorter).
std::vector<SseEvent> feed_in_pieces(std::string const& stream, std::size_t step) {
  SseParser p;
  std::vector<SseEvent> out;
  for (std::size_t i = 0; i < stream.size(); i += step)
    p.feed(std::string_view(stream).substr(i, step), [&](SseEvent const& e) { out.push_back(e); });
  p.finish([&](SseEvent const& e) { out.push_back(e); });
  return out;
}

std::string const anthropic_like =
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\"}\r\n"
    "\r\n"
    ": a comment the server sends to keep the connection open\r\n"
    "event: ping\r\n"
    "data: {\"type\": \"ping\"}\r\n"
    "\r\n"
    "event: content_block_delta\r\n"
    "data: {\"a\":\r\n"
    "data: 1}\r\n"
    "\r\n";

}  // namespace test_llm_sse

using namespace test_llm_sse;

BOOST_AUTO_TEST_SUITE(llm_sse)

BOOST_AUTO_TEST_CASE(events_fields_and_comments) {
  SseParser p;
  auto events = p.feed(anthropic_like);
  BOOST_TEST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[0].event == "message_start");
  BOOST_TEST(events[0].data == "{\"type\":\"message_start\"}");
  BOOST_TEST(events[1].event == "ping");
  BOOST_TEST(events[2].event == "content_block_delta");
  BOOST_TEST(events[2].data == "{\"a\":\n1}");  // data lines joined with '\n'
  BOOST_TEST(p.pending() == 0u);
}

BOOST_AUTO_TEST_CASE(every_split_point_gives_the_same_events,
                     *boost::unit_test::description("a chunk boundary may fall anywhere, even inside CRLF")) {
  auto whole = feed_in_pieces(anthropic_like, anthropic_like.size());
  for (std::size_t step = 1; step < 20; ++step) {
    auto pieces = feed_in_pieces(anthropic_like, step);
    BOOST_TEST_REQUIRE(pieces.size() == whole.size(), "step " << step);
    for (std::size_t i = 0; i < whole.size(); ++i) {
      BOOST_TEST(pieces[i].event == whole[i].event);
      BOOST_TEST(pieces[i].data == whole[i].data);
    }
  }
}

BOOST_AUTO_TEST_CASE(lf_cr_and_crlf_line_endings) {
  for (std::string nl : {"\n", "\r", "\r\n"}) {
    SseParser p;
    auto events = p.feed("data: one" + nl + nl + "data: two" + nl + "data: three" + nl + nl);
    BOOST_TEST_REQUIRE(events.size() == 2u);
    BOOST_TEST(events[0].data == "one");
    BOOST_TEST(events[1].data == "two\nthree");
  }
}

BOOST_AUTO_TEST_CASE(openai_data_lines_and_done) {
  SseParser p;
  std::vector<std::string> data;
  p.feed("data: {\"x\":1}\n\ndata: [DONE]\n\n", [&](SseEvent const& e) {
    BOOST_TEST(e.event.empty());  // no event: field, SSE's default type
    data.push_back(e.data);
  });
  BOOST_TEST(data == (std::vector<std::string>{"{\"x\":1}", "[DONE]"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(field_syntax_details) {
  SseParser p;
  // No space after the colon; only one leading space dropped; a field with
  // no colon is a field with an empty value; unknown fields ignored; an
  // event with no data line is not dispatched.
  auto events = p.feed(
      "data:tight\n\n"
      "data:  two spaces\n\n"
      "data\n\n"
      "retry: 100\nfoo: bar\n\n"
      "event: lonely\n\n"
      "id: 7\ndata: x\n\n");
  BOOST_TEST_REQUIRE(events.size() == 4u);
  BOOST_TEST(events[0].data == "tight");
  BOOST_TEST(events[1].data == " two spaces");
  BOOST_TEST(events[2].data == "");
  BOOST_TEST(events[3].data == "x");
  BOOST_TEST(events[3].event.empty());  // the earlier "lonely" event was discarded with its block
  BOOST_TEST(events[3].id == "7");
}

BOOST_AUTO_TEST_CASE(bom_and_unterminated_last_event) {
  SseParser p;
  std::vector<SseEvent> out;
  auto sink = [&](SseEvent const& e) { out.push_back(e); };
  p.feed("\xEF\xBB\xBF" "data: a\n\ndata: b", sink);
  BOOST_TEST(out.size() == 1u);
  BOOST_TEST(p.pending() > 0u);
  BOOST_TEST(p.finish(sink));
  BOOST_TEST_REQUIRE(out.size() == 2u);
  BOOST_TEST(out[0].data == "a");
  BOOST_TEST(out[1].data == "b");
  BOOST_TEST(!p.finish(sink));
}

BOOST_AUTO_TEST_SUITE_END()
