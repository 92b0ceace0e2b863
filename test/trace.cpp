#include <leash/trace.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_trace {

namespace bj = leash::json;
namespace fs = std::filesystem;

/// A fresh path in the temp directory, removed at scope exit.
struct TempFile {
  fs::path path;
  TempFile() {
    path = fs::temp_directory_path() / ("leash-trace-" + leash::digest(std::to_string(reinterpret_cast<std::uintptr_t>(this)) +
                                                                       std::to_string(leash::Tracer::now())) +
                                        ".jsonl");
    fs::remove(path);
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

}  // namespace test_trace

using namespace test_trace;

BOOST_AUTO_TEST_SUITE(trace)

BOOST_AUTO_TEST_CASE(no_sink_never_builds_fields,
                     *boost::unit_test::description("a loop with no sink pays one branch per event")) {
  int built = 0;
  auto fields = [&] {
    ++built;
    return bj::object{{"x", 1}};
  };
  leash::Tracer quiet;
  BOOST_TEST(!quiet.enabled());
  quiet.emit(leash::event::loop_start, fields);
  quiet.emit(leash::event::loop_end, fields);
  BOOST_TEST(built == 0);
  quiet.add(nullptr);  // ignored
  BOOST_TEST(!quiet.enabled());

  auto sink = std::make_shared<leash::MemorySink>();
  leash::Tracer loud({sink});
  BOOST_TEST(loud.enabled());
  loud.emit(leash::event::loop_start, fields);
  BOOST_TEST(built == 1);  // once per event, however many sinks
  loud.add(std::make_shared<leash::MemorySink>());
  loud.emit(leash::event::loop_end, fields);
  BOOST_TEST(built == 2);
  BOOST_TEST(sink->size() == 2u);
}

BOOST_AUTO_TEST_CASE(memory_sink_keeps_order_and_fields) {
  auto sink = std::make_shared<leash::MemorySink>();
  leash::Tracer t({sink});
  t.emit(leash::event::loop_start, [] { return bj::object{{"goal", "g"}}; });
  t.emit(leash::event::iteration_start, [] { return bj::object{{"index", 0}}; });
  t.emit(leash::event::loop_end, [] { return bj::object{{"status", "SUCCESS"}}; });
  BOOST_TEST((sink->kinds() == std::vector<std::string>{"loop.start", "iteration.start", "loop.end"}));
  auto events = sink->events();
  BOOST_REQUIRE(events.size() == 3u);
  BOOST_TEST(events[1].fields.at("index").as_int64() == 0);
  BOOST_TEST(events[2].fields.at("status").as_string() == "SUCCESS");
  BOOST_TEST(events[0].ts > 0.0);
  BOOST_TEST(events[0].ts <= events[2].ts);
  sink->clear();
  BOOST_TEST(sink->size() == 0u);
}

BOOST_AUTO_TEST_CASE(callback_sink_swallows_exceptions) {
  int calls = 0;
  auto throwing = std::make_shared<leash::CallbackSink>([&](leash::Event const&) {
    ++calls;
    throw std::runtime_error("observer broke");
  });
  auto after = std::make_shared<leash::MemorySink>();
  leash::Tracer t({throwing, after});
  BOOST_CHECK_NO_THROW(t.emit(leash::event::llm_call, [] { return bj::object{}; }));
  BOOST_CHECK_NO_THROW(t.emit(leash::event::llm_call, [] { return bj::object{}; }));
  BOOST_TEST(calls == 2);
  BOOST_TEST(after->size() == 2u);  // the next sink still hears every event
  leash::CallbackSink empty{nullptr};
  BOOST_CHECK_NO_THROW(empty.write(leash::Event{}));
}

BOOST_AUTO_TEST_CASE(event_to_json_has_ts_kind_and_fields) {
  leash::Event e{12.5, leash::event::action_executed, bj::object{{"tool", "fix"}, {"status", "ok"}}};
  bj::object o = e.to_json();
  BOOST_TEST(o.size() == 4u);
  BOOST_TEST(o.at("ts").as_double() == 12.5);
  BOOST_TEST(o.at("kind").as_string() == "action.executed");
  BOOST_TEST(o.at("tool").as_string() == "fix");
  BOOST_TEST(o.at("status").as_string() == "ok");
}

BOOST_AUTO_TEST_CASE(jsonl_file_sink_appends_flushed_lines, *boost::unit_test::description("reference scenario 25")) {
  TempFile file;
  {
    std::ofstream pre(file.path);
    pre << R"({"kind":"earlier"})" << '\n';
  }
  auto opened = leash::JsonlFileSink::open(file.path.string());
  BOOST_REQUIRE(opened.has_value());
  leash::Tracer t({opened.value()});
  t.emit(leash::event::loop_start, [] { return bj::object{{"goal", "g"}, {"limits", "20 iterations"}}; });
  t.emit(leash::event::iteration_end,
         [] { return bj::object{{"index", 0}, {"accounting", bj::object{{"summary_tokens", 3}}}}; });

  // Read back while the sink is still open: every event is already on disk.
  auto lines = file.lines();
  BOOST_REQUIRE(lines.size() == 3u);
  BOOST_TEST(lines[0] == R"({"kind":"earlier"})");  // appended, not truncated
  auto first = bj::parse(lines[1]).as_object();
  BOOST_TEST(first.at("kind").as_string() == "loop.start");
  BOOST_TEST(first.at("ts").is_double());
  BOOST_TEST(first.at("goal").as_string() == "g");
  BOOST_TEST(first.at("limits").as_string() == "20 iterations");
  auto second = bj::parse(lines[2]).as_object();
  BOOST_TEST(second.at("kind").as_string() == "iteration.end");
  BOOST_TEST(second.at("accounting").as_object().at("summary_tokens").as_int64() == 3);
}

BOOST_AUTO_TEST_CASE(jsonl_open_failure_names_the_path) {
  std::string path = "/nonexistent-leash-dir/sub/trace.jsonl";
  auto r = leash::JsonlFileSink::open(path);
  BOOST_REQUIRE(r.has_error());
  BOOST_TEST(r.error().message.find(path) != std::string::npos);
  BOOST_TEST((r.error().code == std::errc::no_such_file_or_directory));
}

BOOST_AUTO_TEST_CASE(all_has_the_14_reference_kinds_and_action_uncertain) {
  std::vector<std::string> expected = {
      "loop.start",         "policy.stop",          "iteration.start",    "llm.call",
      "plan.invalid",       "budget.preempt",       "action.executed",    "action.uncertain", "approval.requested",
      "approval.decision",  "approval.expired",     "approval.invalidated", "approval.cancelled",
      "iteration.end",      "loop.end"};
  std::vector<std::string> all(std::begin(leash::event::all), std::end(leash::event::all));
  BOOST_TEST(all == expected, boost::test_tools::per_element());
  BOOST_TEST(std::set<std::string>(all.begin(), all.end()).size() == 15u);
}

BOOST_AUTO_TEST_CASE(progress_lines_summarise_each_iteration_from_its_events) {
  namespace bj = boost::json;
  std::ostringstream out;
  leash::ProgressLineSink sink(out);
  auto ev = [&](std::string_view kind, bj::object fields) { sink.write(leash::Event{0.0, kind, std::move(fields)}); };
  ev(leash::event::iteration_start,
     {{"index", 0},
      {"metric", bj::object{{"value", -1.0}, {"regression", true}, {"detail", bj::object{{"failing", bj::array{"a"}}}}}}});
  ev(leash::event::llm_call, {{"input_tokens", 10}, {"output_tokens", 5}, {"cost_usd", 0.001}});
  ev(leash::event::plan_invalid, {{"errors", bj::array{"args.name: expected string, got number"}}});
  ev(leash::event::llm_call, {{"input_tokens", 20}, {"output_tokens", 5}, {"cost_usd", 0.002}});
  ev(leash::event::action_executed, {{"tool", "fix"}, {"status", "ok"}});
  ev(leash::event::action_executed, {{"tool", "edit"}, {"status", "error"}});
  ev(leash::event::iteration_end, {{"index", 0}});
  ev(leash::event::iteration_start, {{"index", 1}, {"metric", nullptr}});
  ev(leash::event::iteration_end, {{"index", 1}});
  BOOST_TEST(out.str() ==
             "  rejected plan, errors fed back to the model:\n    args.name: expected string, got number\n"
             "iteration 0 | metric -1 (1 failing) (REGRESSION) | calls: fix[ok] edit[error] | tokens 40 | cost $0.0030\n"
             "iteration 1 | metric - | calls: none | tokens 40 | cost $0.0030\n");

  std::ostringstream unpriced;
  leash::ProgressLineSink plain(unpriced);
  plain.write(leash::Event{0.0, leash::event::llm_call, {{"input_tokens", 1}, {"output_tokens", 1}, {"cost_usd", nullptr}}});
  plain.write(leash::Event{0.0, leash::event::iteration_end, {{"index", 0}}});
  BOOST_TEST(unpriced.str() == "iteration 0 | metric - | calls: none | tokens 2 | cost $?\n");
}

BOOST_AUTO_TEST_SUITE_END()
