#include <leash/learn/trainer.hpp>
#include <boost/test/unit_test.hpp>

#include "error_text.hpp"
#include "http_server.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace test_learn_trainer {

namespace fs = std::filesystem;
namespace json = leash::json;
using leash::Errc;
using leash::learn::CommandTrainer;
using leash::learn::CommandTrainerOptions;
using leash::learn::LoraTrainingConfig;
using leash::learn::OpenAiFineTuneOptions;
using leash::learn::OpenAiFineTuneTrainer;
using leash::learn::TrainingRequest;
using leash::learn::TrainingResult;
using leash::learn::TrainingStatus;
using leash_test::why;
using namespace std::chrono_literals;

static_assert(leash::learn::Trainer<CommandTrainer>);
static_assert(leash::learn::Trainer<OpenAiFineTuneTrainer>);

/// A fresh directory, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() / ("leash-trainer-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(std::string const& name, std::string const& contents) const {
    std::ofstream(path / name, std::ios::binary) << contents;
    return path / name;
  }
};

std::string slurp(fs::path const& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(std::string const& text, std::string_view part) { return text.find(part) != std::string::npos; }

std::string const two_examples =
    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n"
    "\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"2+2\"},{\"role\":\"assistant\",\"content\":\"4\"}]}\n";

/// A request over `dataset` whose output goes under `dir`.
TrainingRequest request_in(TempDir const& dir, fs::path const& dataset) {
  TrainingRequest r;
  r.dataset_path = dataset;
  r.config.output_dir = (dir.path / "out").string();
  return r;
}

/// Options running `/bin/sh <script> args…`.
CommandTrainerOptions script_options(fs::path const& script, std::vector<std::string> args = {}) {
  CommandTrainerOptions o;
  o.argv = {"/bin/sh", script.string()};
  for (auto& a : args) o.argv.push_back(std::move(a));
  o.timeout = 60s;
  o.grace = 200ms;
  return o;
}

TrainingResult train(CommandTrainer& t, TrainingRequest const& r) {
  auto out = leash::learn::train_blocking(t, r);
  BOOST_TEST_REQUIRE(out.has_value(), why(out));
  return std::move(out).value();
}

// ---- the fake OpenAI fine-tuning API ---------------------------------------

/// Implements POST /v1/files, POST /v1/fine_tuning/jobs and GET
/// /v1/fine_tuning/jobs/{id}: the job runs for `running_polls` polls, then
/// ends as `final_status`.
struct FakeOpenAi {
  int running_polls = 2;
  std::string final_status = "succeeded";
  std::string upload_error;  ///< non-empty: the upload is refused with this message
  std::atomic<int> polls{0};

  leash_test::Reply operator()(leash_test::ReceivedRequest const& r) {
    if (r.method == "POST" && r.target == "/v1/files") {
      if (!upload_error.empty())
        return leash_test::Reply::json(
            R"({"error":{"message":")" + upload_error + R"(","type":"invalid_request_error","code":"invalid_file"}})",
            400);
      return leash_test::Reply::json(
          R"({"id":"file-abc","object":"file","bytes":120,"filename":"train.jsonl","purpose":"fine-tune"})");
    }
    if (r.method == "POST" && r.target == "/v1/fine_tuning/jobs")
      return leash_test::Reply::json(job("validating_files"));
    if (r.method == "GET" && r.target == "/v1/fine_tuning/jobs/ftjob-1") {
      int n = ++polls;
      return leash_test::Reply::json(job(n <= running_polls ? "running" : final_status));
    }
    return leash_test::Reply::json(R"({"error":{"message":"no such route"}})", 404);
  }

  std::string job(std::string const& status) const {
    json::object j{{"id", "ftjob-1"},
                   {"object", "fine_tuning.job"},
                   {"model", "gpt-4o-mini-2024-07-18"},
                   {"status", status},
                   {"training_file", "file-abc"},
                   {"hyperparameters", json::object{{"n_epochs", 3}, {"batch_size", 4}, {"learning_rate_multiplier", 0.5}}},
                   {"fine_tuned_model", nullptr},
                   {"error", nullptr}};
    if (status == "succeeded") {
      j["fine_tuned_model"] = "ft:gpt-4o-mini-2024-07-18:leash::abc123";
      j["trained_tokens"] = 5120;
    }
    if (status == "failed")
      j["error"] = json::object{{"code", "invalid_training_file"},
                                {"message", "Training file has 1 example(s), but must have at least 10"},
                                {"param", "training_file"}};
    return json::serialize(j);
  }
};

/// A trainer against `server`, polling fast.
OpenAiFineTuneTrainer openai_trainer(leash_test::HttpServer const& server, std::string key = "sk-test-123") {
  OpenAiFineTuneOptions o;
  o.api_key = std::move(key);
  o.api_key_env = "LEASH_TEST_NO_SUCH_VARIABLE";
  o.base_url = server.url("/v1");
  o.poll_interval = 5ms;
  o.max_wait = 60s;
  o.learning_rate_multiplier = 0.5;
  return OpenAiFineTuneTrainer(std::move(o));
}

TrainingResult train(OpenAiFineTuneTrainer& t, TrainingRequest const& r) {
  auto out = leash_test::drive(t.train(r));
  BOOST_TEST_REQUIRE(out.has_value(), why(out));
  return std::move(out).value();
}

/// Every string a result carries, for "the key is not in it" checks.
std::string all_text(TrainingResult const& r) {
  return r.reason + r.adapter_path + r.job_id + r.model + json::serialize(r.details);
}

}  // namespace test_learn_trainer

using namespace test_learn_trainer;

BOOST_AUTO_TEST_SUITE(learn_trainer)

// ---- LoraTrainingConfig (reference §3 "LoRA [8]": defaults, rank/epochs < 1) --

BOOST_AUTO_TEST_CASE(config_defaults_are_the_reference) {
  LoraTrainingConfig c;
  BOOST_TEST(c.lora_rank == 16);
  BOOST_TEST(c.lora_alpha == 32);
  BOOST_TEST(c.lora_dropout == 0.05);
  BOOST_TEST((c.target_modules == std::vector<std::string>{"q_proj", "v_proj"}));
  BOOST_TEST(c.num_epochs == 3);
  BOOST_TEST(c.batch_size == 4);
  BOOST_TEST(c.learning_rate == 2e-5);
  BOOST_TEST(c.weight_decay == 0.01);
  BOOST_TEST(c.warmup_ratio == 0.1);
  BOOST_TEST(c.max_grad_norm == 1.0);
  BOOST_TEST(c.max_seq_length == 2048);
  BOOST_TEST(!c.use_4bit);
  BOOST_TEST(c.output_dir == "checkpoints/lora");
  BOOST_TEST(c.save_every_n_epochs == 1);
  BOOST_TEST(c.gradient_checkpointing);
  BOOST_TEST(c.validate().has_value());
}

BOOST_AUTO_TEST_CASE(rank_and_epochs_below_one_are_rejected) {
  for (int bad : {0, -1}) {
    LoraTrainingConfig c;
    c.lora_rank = bad;
    auto r = c.validate();
    BOOST_TEST_REQUIRE(r.has_error());
    BOOST_TEST(r.error() == Errc::invalid_config);
    BOOST_TEST(contains(r.error().what(), "lora_rank"));
  }
  LoraTrainingConfig c;
  c.num_epochs = 0;
  auto r = c.validate();
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(contains(r.error().what(), "num_epochs"));
  c.num_epochs = 1;
  c.lora_rank = 1;
  BOOST_TEST(c.validate().has_value());
}

BOOST_AUTO_TEST_CASE(other_fields_are_validated) {
  double const nan = std::numeric_limits<double>::quiet_NaN();
  double const inf = std::numeric_limits<double>::infinity();
  struct Case {
    char const* field;
    void (*set)(LoraTrainingConfig&, double);
    std::vector<double> bad, good;
  };
  std::vector<Case> cases = {
      {"batch_size", [](LoraTrainingConfig& c, double v) { c.batch_size = static_cast<int>(v); }, {0, -4}, {1, 64}},
      {"learning_rate", [](LoraTrainingConfig& c, double v) { c.learning_rate = v; }, {0, -1e-5, nan, inf}, {1e-6, 0.1}},
      {"lora_dropout", [](LoraTrainingConfig& c, double v) { c.lora_dropout = v; }, {1.0, -0.1, nan}, {0.0, 0.99}},
      {"warmup_ratio", [](LoraTrainingConfig& c, double v) { c.warmup_ratio = v; }, {-0.1, 1.5, nan}, {0.0, 1.0}},
      {"weight_decay", [](LoraTrainingConfig& c, double v) { c.weight_decay = v; }, {-0.01, inf}, {0.0}},
      {"max_grad_norm", [](LoraTrainingConfig& c, double v) { c.max_grad_norm = v; }, {0.0, nan}, {0.5}},
      {"max_seq_length", [](LoraTrainingConfig& c, double v) { c.max_seq_length = static_cast<int>(v); }, {0}, {1}},
      {"lora_alpha", [](LoraTrainingConfig& c, double v) { c.lora_alpha = static_cast<int>(v); }, {0}, {1}},
      {"save_every_n_epochs", [](LoraTrainingConfig& c, double v) { c.save_every_n_epochs = static_cast<int>(v); },
       {0}, {2}},
  };
  for (auto const& k : cases) {
    for (double v : k.bad) {
      LoraTrainingConfig c;
      k.set(c, v);
      auto r = c.validate();
      BOOST_TEST(r.has_error(), k.field << " = " << v << " should be refused");
      if (r.has_error()) BOOST_TEST(contains(r.error().what(), k.field), r.error().what());
    }
    for (double v : k.good) {
      LoraTrainingConfig c;
      k.set(c, v);
      BOOST_TEST(c.validate().has_value(), k.field << " = " << v << " should be accepted");
    }
  }
  LoraTrainingConfig c;
  c.target_modules.clear();
  BOOST_TEST(c.validate().has_error());
  c.target_modules = {"q_proj", ""};
  BOOST_TEST(c.validate().has_error());
  c = LoraTrainingConfig{};
  c.output_dir.clear();
  BOOST_TEST(c.validate().has_error());
}

BOOST_AUTO_TEST_CASE(config_as_json_names_every_field) {
  auto j = leash::learn::to_json(LoraTrainingConfig{});
  BOOST_TEST(j.size() == 15u);
  BOOST_TEST(j.at("warmup_ratio").as_double() == 0.1);
  BOOST_TEST(j.at("lora_rank").as_int64() == 16);
  BOOST_TEST(j.at("target_modules").as_array().size() == 2u);
  BOOST_TEST(j.at("gradient_checkpointing").as_bool());
}

BOOST_AUTO_TEST_CASE(status_names) {
  BOOST_TEST(leash::learn::to_string(TrainingStatus::completed) == "completed");
  BOOST_TEST(leash::learn::to_string(TrainingStatus::skipped) == "skipped");
  BOOST_TEST(leash::learn::to_string(TrainingStatus::error) == "error");
}

// ---- CommandTrainer ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(command_success_reads_the_last_json_line) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  auto script = dir.write("train.sh",
                          "printf '%s\\n' \"$@\" > \"$LEASH_TRAIN_OUTPUT_DIR/args.txt\"\n"
                          "echo 'loading model'\n"
                          "echo '{\"progress\": 0.5}'\n"
                          "echo 'epoch 3/3 loss=0.42'\n"
                          "printf '{\"adapter_path\": \"%s/final\", \"epochs\": 3, \"avg_loss\": 0.42, "
                          "\"total_steps\": 12}\\n' \"$LEASH_TRAIN_OUTPUT_DIR\"\n"
                          "echo 'done'\n");
  CommandTrainer trainer(script_options(
      script, {"{dataset}", "{model}", "{epochs}", "{learning_rate}", "{warmup_ratio}", "{target_modules}",
               "{samples}", "{use_4bit}", "{config}", "--extra={{literal}", "{\"json\":1}"}));
  auto req = request_in(dir, dataset);
  auto r = train(trainer, req);

  BOOST_TEST((r.status == TrainingStatus::completed), r.reason);
  fs::path const out = dir.path / "out";
  BOOST_TEST(r.adapter_path == (out / "final").string());
  BOOST_TEST(r.epochs == 3);
  BOOST_TEST(r.total_steps == 12u);
  BOOST_TEST_REQUIRE(r.avg_loss.has_value());
  BOOST_TEST(*r.avg_loss == 0.42);
  BOOST_TEST(r.training_samples == 2u);  // the blank line is no example
  BOOST_TEST(r.model == "Qwen/Qwen3-0.6B");
  BOOST_TEST(r.reason.empty());

  std::string const args = slurp(out / "args.txt");
  std::string const expected = dataset.string() + "\nQwen/Qwen3-0.6B\n3\n2e-05\n0.1\nq_proj,v_proj\n2\nfalse\n" +
                               (out / "training_config.json").string() + "\n--extra={literal}\n{\"json\":1}\n";
  BOOST_TEST(args == expected);

  auto config = json::parse(slurp(out / "training_config.json")).as_object();
  BOOST_TEST(config.at("warmup_ratio").as_double() == 0.1);
  BOOST_TEST(config.at("dataset").as_string() == dataset.string());
  BOOST_TEST(config.at("output_dir").as_string() == out.string());
  BOOST_TEST(config.at("sample_count").to_number<int>() == 2);
  BOOST_TEST(config.at("model").as_string() == "Qwen/Qwen3-0.6B");
}

BOOST_AUTO_TEST_CASE(command_without_adapter_path_uses_output_dir_final) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  auto script = dir.write("train.sh", "echo '{\"avg_loss\": 1}'\n");
  CommandTrainer trainer(script_options(script));
  auto req = request_in(dir, dataset);
  req.config.num_epochs = 2;
  req.model = "my/model";
  auto r = train(trainer, req);
  BOOST_TEST((r.status == TrainingStatus::completed), r.reason);
  BOOST_TEST(r.adapter_path == (dir.path / "out" / "final").string());
  BOOST_TEST(r.epochs == 2);
  BOOST_TEST(r.model == "my/model");
}

BOOST_AUTO_TEST_CASE(command_nonzero_exit_is_an_error_with_stderr) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  auto script = dir.write("train.sh",
                          "echo '{\"adapter_path\": \"x\"}'\n"
                          "echo 'RuntimeError: CUDA out of memory' >&2\n"
                          "exit 3\n");
  CommandTrainer trainer(script_options(script));
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "code 3"), r.reason);
  BOOST_TEST(contains(r.reason, "CUDA out of memory"), r.reason);
}

BOOST_AUTO_TEST_CASE(command_not_found_is_skipped) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  CommandTrainerOptions o;
  o.argv = {"leash-no-such-trainer-program", "{dataset}"};
  CommandTrainer trainer(std::move(o));
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::skipped));
  BOOST_TEST(contains(r.reason, "leash-no-such-trainer-program"), r.reason);
  BOOST_TEST(contains(r.reason, "not found"), r.reason);
}

BOOST_AUTO_TEST_CASE(command_timeout_is_an_error) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  auto script = dir.write("train.sh", "echo 'starting' >&2\nsleep 30\necho '{}'\n");
  auto o = script_options(script);
  o.timeout = 200ms;
  o.grace = 100ms;
  CommandTrainer trainer(std::move(o));
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "timed out"), r.reason);
}

BOOST_AUTO_TEST_CASE(command_without_result_line_is_an_error) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  auto script = dir.write("train.sh", "echo 'trained, I think'\necho '[1, 2]'\n");
  CommandTrainer trainer(script_options(script));
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "no JSON result line"), r.reason);
}

BOOST_AUTO_TEST_CASE(command_may_report_skipped) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  auto script = dir.write("train.sh", "echo '{\"status\": \"skipped\", \"reason\": \"torch not installed\"}'\n");
  CommandTrainer trainer(script_options(script));
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::skipped));
  BOOST_TEST(r.reason == "torch not installed");
}

BOOST_AUTO_TEST_CASE(empty_dataset_is_skipped_and_missing_one_is_an_error) {
  TempDir dir;
  auto script = dir.write("train.sh", "touch \"$LEASH_TRAIN_OUTPUT_DIR/ran\"\necho '{}'\n");
  CommandTrainer trainer(script_options(script));

  auto empty = dir.write("empty.jsonl", "\n  \n");
  auto r = train(trainer, request_in(dir, empty));
  BOOST_TEST((r.status == TrainingStatus::skipped));
  BOOST_TEST(contains(r.reason, "no training samples"), r.reason);

  auto req = request_in(dir, dir.path / "missing.jsonl");
  r = train(trainer, req);
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "not found"), r.reason);

  auto counted = request_in(dir, dir.write("data.jsonl", two_examples));
  counted.sample_count = 0;  // the caller says there is nothing: nothing runs
  r = train(trainer, counted);
  BOOST_TEST((r.status == TrainingStatus::skipped));
  BOOST_TEST(!fs::exists(dir.path / "out" / "ran"));
}

BOOST_AUTO_TEST_CASE(bad_request_is_an_error_value) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  CommandTrainerOptions o;
  o.argv = {"/bin/true", "--epochs={epoch}"};  // a typo
  CommandTrainer trainer(std::move(o));
  auto req = request_in(dir, dataset);
  auto r = leash::learn::train_blocking(trainer, req);
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_config);
  BOOST_TEST(contains(r.error().what(), "{epoch}"), r.error().what());

  CommandTrainerOptions good;
  good.argv = {"/bin/true", "{output_dir}"};
  CommandTrainer ok(std::move(good));
  req.config.lora_rank = 0;
  r = leash::learn::train_blocking(ok, req);
  BOOST_TEST_REQUIRE(r.has_error());
  BOOST_TEST(r.error() == Errc::invalid_config);

  CommandTrainer none{CommandTrainerOptions{}};
  req.config.lora_rank = 8;
  BOOST_TEST(leash::learn::train_blocking(none, req).has_error());
}

BOOST_AUTO_TEST_CASE(command_for_shows_the_expansion) {
  CommandTrainerOptions o;
  o.argv = {"trainer", "--rank={lora_rank}", "--modules={target_modules}", "--4bit={use_4bit}", "--lr={learning_rate}"};
  o.write_config_file = false;
  CommandTrainer trainer(std::move(o));
  TrainingRequest req;
  req.dataset_path = "data.jsonl";
  req.config.lora_rank = 8;
  req.config.target_modules = {"q_proj", "k_proj", "v_proj"};
  auto c = trainer.command_for(req);
  BOOST_TEST_REQUIRE(c.has_value(), why(c));
  BOOST_TEST((c.value().argv == std::vector<std::string>{"trainer", "--rank=8", "--modules=q_proj,k_proj,v_proj",
                                                   "--4bit=false", "--lr=2e-05"}));
  // No config file, so {config} has nothing to name.
  CommandTrainerOptions p;
  p.argv = {"trainer", "{config}"};
  p.write_config_file = false;
  BOOST_TEST(CommandTrainer(std::move(p)).command_for(req).has_error());
}

// ---- OpenAiFineTuneTrainer, against a fake API on 127.0.0.1 ------------------

BOOST_AUTO_TEST_CASE(openai_uploads_creates_and_polls_until_success) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  FakeOpenAi api;
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  auto trainer = openai_trainer(server);
  auto r = train(trainer, request_in(dir, dataset));

  BOOST_TEST((r.status == TrainingStatus::completed), r.reason);
  BOOST_TEST(r.adapter_path == "ft:gpt-4o-mini-2024-07-18:leash::abc123");
  BOOST_TEST(r.job_id == "ftjob-1");
  BOOST_TEST(r.epochs == 3);
  BOOST_TEST(r.training_samples == 2u);
  BOOST_TEST(r.model == "gpt-4o-mini-2024-07-18");
  BOOST_TEST(r.details.at("training_file").as_string() == "file-abc");
  BOOST_TEST(r.details.at("trained_tokens").to_number<int>() == 5120);
  BOOST_TEST(!contains(all_text(r), "sk-test-123"));

  auto got = server.requests();
  BOOST_TEST_REQUIRE(got.size() == 5u);  // upload, create, three polls (running, running, succeeded)
  for (auto const& q : got) BOOST_TEST(q.header("Authorization").value_or("") == "Bearer sk-test-123");

  auto const& upload = got[0];
  BOOST_TEST(upload.method == "POST");
  BOOST_TEST(upload.target == "/v1/files");
  std::string const type = upload.header("Content-Type").value_or("");
  BOOST_TEST(type.rfind("multipart/form-data; boundary=", 0) == 0u, type);
  std::string const boundary = type.substr(type.find('=') + 1);
  BOOST_TEST(contains(upload.body, "--" + boundary + "\r\n"));
  BOOST_TEST(contains(upload.body, "--" + boundary + "--\r\n"));
  BOOST_TEST(contains(upload.body, "name=\"purpose\"\r\n\r\nfine-tune\r\n"));
  BOOST_TEST(contains(upload.body, "name=\"file\"; filename=\"sft.jsonl\""));
  BOOST_TEST(contains(upload.body, two_examples));

  auto const& create = got[1];
  BOOST_TEST(create.target == "/v1/fine_tuning/jobs");
  auto body = json::parse(create.body).as_object();
  BOOST_TEST(body.at("training_file").as_string() == "file-abc");
  BOOST_TEST(body.at("model").as_string() == "gpt-4o-mini-2024-07-18");
  auto const& hyper = body.at("hyperparameters").as_object();
  BOOST_TEST(hyper.at("n_epochs").to_number<int>() == 3);
  BOOST_TEST(hyper.at("batch_size").to_number<int>() == 4);
  BOOST_TEST(hyper.at("learning_rate_multiplier").as_double() == 0.5);

  for (std::size_t i = 2; i < got.size(); ++i) {
    BOOST_TEST(got[i].method == "GET");
    BOOST_TEST(got[i].target == "/v1/fine_tuning/jobs/ftjob-1");
  }
}

BOOST_AUTO_TEST_CASE(openai_failed_job_is_an_error_with_the_servers_message) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  FakeOpenAi api;
  api.running_polls = 1;
  api.final_status = "failed";
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  auto trainer = openai_trainer(server);
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "must have at least 10"), r.reason);
  BOOST_TEST(contains(r.reason, "invalid_training_file"), r.reason);
  BOOST_TEST(r.job_id == "ftjob-1");
}

BOOST_AUTO_TEST_CASE(openai_cancelled_job_is_an_error) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  FakeOpenAi api;
  api.running_polls = 0;
  api.final_status = "cancelled";
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  auto trainer = openai_trainer(server);
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "cancelled"), r.reason);
}

BOOST_AUTO_TEST_CASE(openai_refused_upload_is_an_error_without_the_key) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  FakeOpenAi api;
  api.upload_error = "File is not valid JSONL (key sk-test-123 was used)";
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  auto trainer = openai_trainer(server);
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "not valid JSONL"), r.reason);
  BOOST_TEST(!contains(all_text(r), "sk-test-123"), r.reason);
  BOOST_TEST(server.request_count() == 1u);  // no job was created
}

BOOST_AUTO_TEST_CASE(openai_without_key_is_skipped) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  FakeOpenAi api;
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  auto trainer = openai_trainer(server, "");
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::skipped));
  BOOST_TEST(contains(r.reason, "API key"), r.reason);
  BOOST_TEST(server.request_count() == 0u);
}

BOOST_AUTO_TEST_CASE(openai_gives_up_after_max_wait_with_the_job_id) {
  TempDir dir;
  auto dataset = dir.write("sft.jsonl", two_examples);
  FakeOpenAi api;
  api.running_polls = 1 << 30;  // never ends
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  OpenAiFineTuneOptions o;
  o.api_key = "sk-test-123";
  o.base_url = server.url("/v1");
  o.poll_interval = 5ms;
  o.max_wait = 50ms;
  OpenAiFineTuneTrainer trainer(std::move(o));
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::error));
  BOOST_TEST(contains(r.reason, "still running"), r.reason);
  BOOST_TEST(r.job_id == "ftjob-1");
  BOOST_TEST(trainer.options().api_key.empty());  // the key is kept once, out of sight
}

BOOST_AUTO_TEST_CASE(openai_empty_dataset_is_skipped_without_a_request) {
  TempDir dir;
  auto dataset = dir.write("empty.jsonl", "");
  FakeOpenAi api;
  leash_test::HttpServer server([&](leash_test::ReceivedRequest const& r) { return api(r); });
  auto trainer = openai_trainer(server);
  auto r = train(trainer, request_in(dir, dataset));
  BOOST_TEST((r.status == TrainingStatus::skipped));
  BOOST_TEST(server.request_count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
