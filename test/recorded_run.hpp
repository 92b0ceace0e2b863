// recorded_run.hpp — a run as a store holds it, built in one call, for the
// suites that fill a store with runs to read back as traces.
#ifndef LEASH_TEST_RECORDED_RUN_HPP
#define LEASH_TEST_RECORDED_RUN_HPP

#include <leash/state.hpp>
#include <leash/status.hpp>

#include <optional>
#include <string>

namespace leash_test {

/// What differs between the runs a test needs; the rest is fixed.
struct RecordedRun {
  std::string id;
  std::string goal;
  std::string agent;
  std::string model = "gpt-4o";
  /// None: still running (ended_at 0).
  std::optional<leash::Status> status = leash::Status::success;
  double started_at = 1000.0;
  std::string result = "done";
  std::optional<double> feedback;
  std::string plan_text = "look first";
};

/// The run: 100 input and 20 output tokens, 2 s long when it ended, one
/// iteration that planned `plan_text` and called `search` (found).
inline leash::State recorded_run(RecordedRun r) {
  leash::State s;
  s.run_id = std::move(r.id);
  s.goal = std::move(r.goal);
  s.info.agent = std::move(r.agent);
  s.info.model = std::move(r.model);
  s.info.engine = "scripted";
  s.info.started_at = r.started_at;
  s.info.ended_at = r.status ? r.started_at + 2.0 : 0.0;
  s.info.result = std::move(r.result);
  s.info.feedback = r.feedback;
  if (r.feedback) s.info.feedback_source = "cli";
  s.status = r.status;
  s.metrics.input_tokens = 100;
  s.metrics.output_tokens = 20;
  s.metrics.elapsed_s = 2.0;
  leash::IterationRecord it;
  it.index = 0;
  it.plan_text = std::move(r.plan_text);
  it.input_tokens = 100;
  it.output_tokens = 20;
  leash::ActionRecord a;
  a.tool = "search";
  a.args_excerpt = R"({"q":"x"})";
  a.result_excerpt = "found";
  it.actions.push_back(a);
  s.iterations.push_back(it);
  return s;
}

}  // namespace leash_test

#endif
