#ifndef LEASH_LEARN_IMPL_TRAINER_HPP
#define LEASH_LEARN_IMPL_TRAINER_HPP

#include <leash/detail/tool_runner.hpp>  // ToolPool, race_on_pool, describe_current_exception
#include <leash/llm/detail/protocol.hpp>  // redact
#include <leash/llm/openai.hpp>           // openai::error_from, default_base_url

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <system_error>
#include <variant>

namespace leash::learn {

namespace detail::training {

inline std::string num(double v) { return leash::detail::format_number(v); }

inline Error bad_config(std::string what) { return Error{Errc::invalid_config, "LoraTrainingConfig: " + what}; }

/// A field's value as a placeholder's text.
inline std::string placeholder_text(int v) { return std::to_string(v); }
inline std::string placeholder_text(double v) { return num(v); }
inline std::string placeholder_text(bool v) { return v ? "true" : "false"; }
inline std::string placeholder_text(std::string const& v) { return v; }
inline std::string placeholder_text(std::vector<std::string> const& v) {
  std::string out;
  for (auto const& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

/// The last `n` bytes of `text`, not starting inside a UTF-8 character.
inline std::string tail(std::string_view text, std::size_t n) {
  if (text.size() <= n) return std::string(text);
  std::size_t start = text.size() - n;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return "…" + std::string(text.substr(start));
}

inline std::string trimmed(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

/// The last line of `out` that parses as a JSON object.
inline std::optional<json::object> last_json_object_line(std::string_view out) {
  while (!out.empty()) {
    std::size_t nl = out.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? out : out.substr(nl + 1);
    out = nl == std::string_view::npos ? std::string_view() : out.substr(0, nl);
    std::string t = trimmed(line);
    if (t.empty() || t.front() != '{') continue;
    boost::system::error_code ec;
    json::value v = json::parse(t, ec);
    if (!ec && v.is_object()) return std::move(v.as_object());
  }
  return std::nullopt;
}

inline std::optional<double> number_field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

inline std::optional<std::string> string_field(json::object const& o, std::string_view key) {
  auto const* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

/// Non-blank lines of a file; empty if it cannot be read.
inline std::optional<std::size_t> count_examples(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    if (!trimmed(line).empty()) ++n;
  return n;
}

inline std::optional<std::string> read_file(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Checks the dataset: a failed result when it is missing (error) or holds no
/// example (skipped); else the number of examples.
inline std::variant<std::size_t, TrainingResult> examples_in(TrainingRequest const& request) {
  std::error_code ec;
  if (request.dataset_path.empty()) return TrainingResult::failed("no dataset_path given");
  if (!std::filesystem::is_regular_file(request.dataset_path, ec))
    return TrainingResult::failed("dataset not found: " + request.dataset_path.string());
  std::size_t n = 0;
  if (request.sample_count) {
    n = *request.sample_count;
  } else {
    auto counted = count_examples(request.dataset_path);
    if (!counted) return TrainingResult::failed("cannot read dataset " + request.dataset_path.string());
    n = *counted;
  }
  if (n == 0) return TrainingResult::skipped("no training samples in " + request.dataset_path.string());
  return n;
}

/// Replaces the placeholders of one argument; an unknown `{name}` is an error.
template <class Lookup>
result<std::string> expand(std::string_view arg, Lookup const& lookup) {
  std::string out;
  for (std::size_t i = 0; i < arg.size();) {
    if (arg[i] != '{') {
      out += arg[i++];
      continue;
    }
    if (i + 1 < arg.size() && arg[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    std::size_t j = i + 1;
    while (j < arg.size() && (std::islower(static_cast<unsigned char>(arg[j])) ||
                              std::isdigit(static_cast<unsigned char>(arg[j])) || arg[j] == '_'))
      ++j;
    if (j == i + 1 || j >= arg.size() || arg[j] != '}') {  // not a placeholder: a literal brace
      out += arg[i++];
      continue;
    }
    std::string_view name = arg.substr(i + 1, j - i - 1);
    std::optional<std::string> value = lookup(name);
    if (!value)
      return Error{Errc::invalid_config, "CommandTrainer: unknown placeholder {" + std::string(name) + "} in argument '" +
                                             std::string(arg) + "' (write {{ for a literal brace)"};
    out += *value;
    i = j + 1;
  }
  return out;
}

/// Everything a command run needs, prepared on the caller's thread.
struct CommandPlan {
  Command command;
  CommandOptions options;
  std::filesystem::path output_dir;
  std::filesystem::path config_file;  // empty: none written
  json::object config_json;
  std::string model;
  int epochs = 0;
  std::size_t stderr_tail = 0;
};

/// Runs a prepared plan (on a worker thread): writes the config file, runs the
/// command, reads its result line.
inline TrainingResult run_plan(CommandPlan const& plan, std::size_t samples) noexcept {
  try {
    std::error_code ec;
    std::filesystem::create_directories(plan.output_dir, ec);
    if (ec) return TrainingResult::failed("cannot create output_dir " + plan.output_dir.string() + ": " + ec.message());
    if (!plan.config_file.empty()) {
      std::ofstream f(plan.config_file, std::ios::binary | std::ios::trunc);
      f << json::serialize(plan.config_json) << '\n';
      if (!f) return TrainingResult::failed("cannot write " + plan.config_file.string());
    }

    auto ran = run_command(plan.command, plan.options);
    if (ran.has_error()) return TrainingResult::skipped("training command unavailable: " + ran.error().what());
    CommandResult const& r = ran.value();
    std::string err_tail = tail(r.err, plan.stderr_tail);
    if (r.timed_out)
      return TrainingResult::failed("training command timed out after " +
                                    num(std::chrono::duration<double>(plan.options.timeout).count()) + " s" +
                                    (err_tail.empty() ? std::string() : ": " + err_tail));
    if (r.exit_code != 0)
      return TrainingResult::failed("training command exited with code " + std::to_string(r.exit_code) +
                                    (err_tail.empty() ? std::string() : ": " + err_tail));
    auto line = last_json_object_line(r.out);
    if (!line) return TrainingResult::failed("training command printed no JSON result line on stdout");

    TrainingResult out;
    out.status = TrainingStatus::completed;
    out.model = plan.model;
    out.training_samples = samples;
    if (auto s = string_field(*line, "status"); s && *s != "completed") {
      out.status = *s == "skipped" ? TrainingStatus::skipped : TrainingStatus::error;
      out.reason = string_field(*line, "reason").value_or("the training command reported status '" + *s + "'");
    }
    out.adapter_path = string_field(*line, "adapter_path").value_or((plan.output_dir / "final").string());
    out.epochs = plan.epochs;
    if (auto e = number_field(*line, "epochs"); e && *e >= 0) out.epochs = static_cast<int>(*e);
    if (auto t = number_field(*line, "total_steps"); t && *t >= 0) out.total_steps = static_cast<std::uint64_t>(*t);
    out.avg_loss = number_field(*line, "avg_loss");
    out.job_id = string_field(*line, "job_id").value_or("");
    out.details = std::move(*line);
    return out;
  } catch (...) {
    return TrainingResult::failed("unexpected exception: " + leash::detail::describe_current_exception());
  }
}

}  // namespace detail::training

// ---- LoraTrainingConfig ------------------------------------------------------

inline result<void> LoraTrainingConfig::validate() const {
  using detail::training::bad_config;
  using detail::training::num;
  auto finite = [](double v) { return std::isfinite(v); };
  if (lora_rank < 1) return bad_config("lora_rank must be >= 1, got " + std::to_string(lora_rank));
  if (lora_alpha < 1) return bad_config("lora_alpha must be >= 1, got " + std::to_string(lora_alpha));
  if (!finite(lora_dropout) || lora_dropout < 0 || lora_dropout >= 1)
    return bad_config("lora_dropout must be in [0, 1), got " + num(lora_dropout));
  if (target_modules.empty()) return bad_config("target_modules must name at least one module");
  for (auto const& m : target_modules)
    if (m.empty()) return bad_config("target_modules holds an empty name");
  if (num_epochs < 1) return bad_config("num_epochs must be >= 1, got " + std::to_string(num_epochs));
  if (batch_size < 1) return bad_config("batch_size must be >= 1, got " + std::to_string(batch_size));
  if (!finite(learning_rate) || learning_rate <= 0)
    return bad_config("learning_rate must be finite and > 0, got " + num(learning_rate));
  if (!finite(weight_decay) || weight_decay < 0)
    return bad_config("weight_decay must be finite and >= 0, got " + num(weight_decay));
  if (!finite(warmup_ratio) || warmup_ratio < 0 || warmup_ratio > 1)
    return bad_config("warmup_ratio must be in [0, 1], got " + num(warmup_ratio));
  if (!finite(max_grad_norm) || max_grad_norm <= 0)
    return bad_config("max_grad_norm must be finite and > 0, got " + num(max_grad_norm));
  if (max_seq_length < 1) return bad_config("max_seq_length must be >= 1, got " + std::to_string(max_seq_length));
  if (output_dir.empty()) return bad_config("output_dir must not be empty");
  // The reference takes `epoch % save_every_n_epochs` unchecked: 0 divides by zero.
  if (save_every_n_epochs < 1)
    return bad_config("save_every_n_epochs must be >= 1, got " + std::to_string(save_every_n_epochs));
  return success();
}

inline json::object to_json(LoraTrainingConfig const& config) {
  json::object out;
  boost::mp11::mp_for_each<boost::describe::describe_members<LoraTrainingConfig, boost::describe::mod_public>>(
      [&](auto d) { out[d.name] = json::value_from(config.*d.pointer); });
  return out;
}

template <class T>
result<TrainingResult> train_blocking(T& trainer, TrainingRequest request) {
  static_assert(check_trainer<T>());
  boost::asio::io_context io;
  std::optional<result<TrainingResult>> out;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        TrainingRequest r = std::move(request);
        out.emplace(co_await trainer.train(std::move(r)));
      },
      [&](std::exception_ptr e) {
        if (e && !out) {
          std::string what;
          try {
            std::rethrow_exception(e);
          } catch (...) {
            what = leash::detail::describe_current_exception();
          }
          out.emplace(TrainingResult::failed("unexpected exception: " + what));
        }
      });
  io.run();
  if (!out) return TrainingResult::failed("training did not complete");
  return std::move(*out);
}

// ---- CommandTrainer ----------------------------------------------------------

inline CommandTrainer::CommandTrainer(CommandTrainerOptions options)
    : options_(std::move(options)),
      stop_(std::make_unique<std::stop_source>()),
      pool_(std::make_unique<leash::detail::ToolPool>(1)) {}

inline CommandTrainer::~CommandTrainer() {
  if (stop_) stop_->request_stop();  // a command still running ends as at its timeout
  pool_.reset();                     // joins the worker
}

inline CommandTrainer::CommandTrainer(CommandTrainer&& other) noexcept = default;

inline CommandTrainer& CommandTrainer::operator=(CommandTrainer&& other) noexcept {
  if (this != &other) {
    if (stop_) stop_->request_stop();
    pool_.reset();
    options_ = std::move(other.options_);
    stop_ = std::move(other.stop_);
    pool_ = std::move(other.pool_);
  }
  return *this;
}

namespace detail::training {

/// The plan for `request`, or why it cannot work.
inline result<CommandPlan> plan_command(CommandTrainerOptions const& o, TrainingRequest const& request,
                                        std::size_t samples) {
  namespace fs = std::filesystem;
  BOOST_OUTCOME_TRY(request.config.validate());
  if (o.argv.empty()) return Error{Errc::invalid_config, "CommandTrainer: argv is empty"};

  CommandPlan plan;
  std::error_code ec;
  fs::path base = o.cwd.empty() ? fs::current_path(ec) : fs::absolute(o.cwd, ec);
  fs::path out_dir(request.config.output_dir);
  plan.output_dir = (out_dir.is_absolute() ? out_dir : base / out_dir).lexically_normal();
  fs::path dataset = fs::absolute(request.dataset_path, ec).lexically_normal();
  plan.model = request.model.empty() ? o.default_model : request.model;
  plan.epochs = request.config.num_epochs;
  plan.stderr_tail = o.stderr_tail;
  if (o.write_config_file) plan.config_file = plan.output_dir / "training_config.json";

  plan.config_json = to_json(request.config);
  plan.config_json["output_dir"] = plan.output_dir.string();
  plan.config_json["dataset"] = dataset.string();
  plan.config_json["model"] = plan.model;
  plan.config_json["sample_count"] = samples;

  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "dataset") return dataset.string();
    if (name == "model") return plan.model;
    if (name == "output_dir") return plan.output_dir.string();
    if (name == "samples") return std::to_string(samples);
    if (name == "epochs") return std::to_string(request.config.num_epochs);
    if (name == "config") {
      if (plan.config_file.empty()) return std::nullopt;
      return plan.config_file.string();
    }
    std::optional<std::string> field;
    boost::mp11::mp_for_each<boost::describe::describe_members<LoraTrainingConfig, boost::describe::mod_public>>(
        [&](auto d) {
          if (!field && name == d.name) field = placeholder_text(request.config.*d.pointer);
        });
    return field;
  };
  std::vector<std::string> argv;
  for (auto const& arg : o.argv) {
    BOOST_OUTCOME_TRY(auto expanded, expand(arg, lookup));
    argv.push_back(std::move(expanded));
  }
  plan.command = Command::exec(std::move(argv));

  plan.options.cwd = o.cwd;
  plan.options.timeout = o.timeout;
  plan.options.grace = o.grace;
  plan.options.output_cap = o.output_cap;
  plan.options.env = {{"LEASH_TRAIN_DATASET", dataset.string()},
                      {"LEASH_TRAIN_MODEL", plan.model},
                      {"LEASH_TRAIN_OUTPUT_DIR", plan.output_dir.string()},
                      {"LEASH_TRAIN_CONFIG", plan.config_file.string()},
                      {"LEASH_TRAIN_SAMPLES", std::to_string(samples)}};
  for (auto const& kv : o.env) plan.options.env.push_back(kv);
  return plan;
}

}  // namespace detail::training

inline result<Command> CommandTrainer::command_for(TrainingRequest const& request) const {
  BOOST_OUTCOME_TRY(auto plan, detail::training::plan_command(options_, request, request.sample_count.value_or(0)));
  return std::move(plan.command);
}

inline boost::asio::awaitable<result<TrainingResult>> CommandTrainer::train(TrainingRequest request) {
  // Problems with the request itself are errors, before anything is looked at.
  if (auto valid = request.config.validate(); valid.has_error()) co_return valid.error();
  auto checked = detail::training::examples_in(request);
  std::size_t samples = 0;
  if (auto const* done = std::get_if<TrainingResult>(&checked)) {
    // Placeholders are still checked, so a typo shows up before there is data.
    auto plan = detail::training::plan_command(options_, request, 0);
    if (plan.has_error()) co_return plan.error();
    TrainingResult r = *done;
    r.model = request.model.empty() ? options_.default_model : request.model;
    co_return r;
  }
  samples = std::get<std::size_t>(checked);
  auto planned = detail::training::plan_command(options_, request, samples);
  if (planned.has_error()) co_return planned.error();
  auto plan = std::make_shared<detail::training::CommandPlan>(std::move(planned).value());
  plan->options.stop = stop_->get_token();

  // Named, then moved: GCC 12 destroys a capturing lambda passed as a
  // temporary into a by-value coroutine parameter twice.
  auto work = [plan, samples](std::stop_token) { return detail::training::run_plan(*plan, samples); };
  auto done = co_await leash::detail::race_on_pool<TrainingResult>(*pool_, std::move(work), std::nullopt, [] {});
  if (!done) co_return TrainingResult::failed("training command was abandoned");
  co_return std::move(*done);
}

// ---- OpenAiFineTuneTrainer ---------------------------------------------------

namespace detail::training {

/// A multipart boundary that does not occur in `content`.
inline std::string boundary_for(std::string_view content) {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  for (;;) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
    std::string b = std::string("leash-boundary-") + buf;
    if (content.find(b) == std::string_view::npos) return b;
  }
}

/// A file name safe inside a quoted Content-Disposition parameter.
inline std::string safe_filename(std::string name) {
  for (char& c : name)
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
  return name.empty() ? std::string("train.jsonl") : name;
}

/// The multipart/form-data body of POST /files.
inline std::string multipart_upload(std::string const& boundary, std::string const& filename,
                                    std::string_view content) {
  std::string body;
  body.reserve(content.size() + 512);
  body += "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"purpose\"\r\n\r\n";
  body += "fine-tune\r\n";
  body += "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\n";
  body += "Content-Type: application/jsonl\r\n\r\n";
  body += content;
  body += "\r\n--" + boundary + "--\r\n";
  return body;
}

/// The server's words for a non-2xx answer, without the key.
inline std::string server_error(std::string_view step, unsigned status, std::string_view body,
                                std::string_view key) {
  std::string m = std::string(step) + ": " + leash::llm::openai::error_from(status, body).what();
  leash::llm::detail::redact(m, key);
  return m;
}

inline std::string transport_error(std::string_view step, Error const& e, std::string_view key) {
  std::string m = std::string(step) + ": " + e.what();
  leash::llm::detail::redact(m, key);
  return m;
}

inline std::optional<json::object> json_object_of(std::string_view body) {
  auto v = leash::llm::detail::parse_json(body);
  if (!v || !v->is_object()) return std::nullopt;
  return std::move(v->as_object());
}

inline bool poll_retryable(unsigned status) { return status == 408 || status == 409 || status == 429 || status >= 500; }

/// What a job object says: terminal or not, and the result if terminal.
inline std::optional<TrainingResult> job_outcome(json::object const& job, std::string_view key) {
  std::string status = string_field(job, "status").value_or("");
  if (status == "succeeded") {
    TrainingResult r;
    r.status = TrainingStatus::completed;
    r.adapter_path = string_field(job, "fine_tuned_model").value_or("");
    return r;
  }
  if (status == "failed") {
    std::string why = "fine-tuning job failed";
    if (auto const* e = job.if_contains("error"); e && e->is_object()) {
      auto code = string_field(e->as_object(), "code");
      auto message = string_field(e->as_object(), "message");
      if (code && !code->empty()) why += " (" + *code + ")";
      if (message && !message->empty()) why += ": " + *message;
    }
    leash::llm::detail::redact(why, key);
    return TrainingResult::failed(std::move(why));
  }
  if (status == "cancelled") return TrainingResult::failed("fine-tuning job was cancelled");
  return std::nullopt;
}

}  // namespace detail::training

inline OpenAiFineTuneTrainer::OpenAiFineTuneTrainer(OpenAiFineTuneOptions options) : options_(std::move(options)) {
  api_key_ = options_.api_key;
  if (api_key_.empty() && !options_.api_key_env.empty())
    if (char const* v = std::getenv(options_.api_key_env.c_str())) api_key_ = v;
  base_url_ = options_.base_url;
  if (base_url_.empty())
    if (char const* v = std::getenv("OPENAI_BASE_URL")) base_url_ = v;
  if (base_url_.empty()) base_url_ = std::string(leash::llm::OpenAiTransport::default_base_url);
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  options_.api_key.clear();  // kept once, in api_key_
  http_ = options_.client ? options_.client : std::make_shared<leash::llm::HttpClient>(options_.http);
}

inline boost::asio::awaitable<result<TrainingResult>> OpenAiFineTuneTrainer::train(TrainingRequest request) {
  namespace asio = boost::asio;
  using leash::llm::HttpRequest;
  using leash::llm::HttpResponse;

  if (auto valid = request.config.validate(); valid.has_error()) co_return valid.error();
  std::string const model = request.model.empty() ? options_.default_model : request.model;
  if (model.empty()) co_return Error{Errc::invalid_config, "OpenAiFineTuneTrainer: no model given"};
  if (options_.learning_rate_multiplier &&
      !(std::isfinite(*options_.learning_rate_multiplier) && *options_.learning_rate_multiplier > 0))
    co_return Error{Errc::invalid_config, "OpenAiFineTuneTrainer: learning_rate_multiplier must be finite and > 0"};

  auto finish = [&](TrainingResult r) {
    r.model = model;
    return r;
  };
  if (api_key_.empty())
    co_return finish(TrainingResult::skipped("no OpenAI API key: set " +
                                             (options_.api_key_env.empty() ? std::string("OpenAiFineTuneOptions::api_key")
                                                                           : options_.api_key_env) +
                                             " or OpenAiFineTuneOptions::api_key"));
  auto checked = detail::training::examples_in(request);
  if (auto const* done = std::get_if<TrainingResult>(&checked)) co_return finish(*done);
  std::size_t const samples = std::get<std::size_t>(checked);
  auto content = detail::training::read_file(request.dataset_path);
  if (!content) co_return finish(TrainingResult::failed("cannot read dataset " + request.dataset_path.string()));

  std::string const auth = "Bearer " + api_key_;
  auto failed = [&](std::string why) {
    TrainingResult r = TrainingResult::failed(std::move(why));
    r.training_samples = samples;
    return finish(std::move(r));
  };

  // 1. Upload the dataset.
  std::string const boundary = detail::training::boundary_for(*content);
  auto upload = std::make_shared<HttpRequest const>(HttpRequest{
      "POST",
      base_url_ + "/files",
      {{"Authorization", auth}, {"Content-Type", "multipart/form-data; boundary=" + boundary}},
      detail::training::multipart_upload(boundary, detail::training::safe_filename(request.dataset_path.filename().string()), *content)});
  content.reset();
  result<HttpResponse> uploaded = co_await http_->request(upload);
  upload.reset();
  if (uploaded.has_error()) co_return failed(detail::training::transport_error("uploading the dataset", uploaded.error(), api_key_));
  if (uploaded.value().status / 100 != 2)
    co_return failed(detail::training::server_error("uploading the dataset", uploaded.value().status, uploaded.value().body, api_key_));
  auto file = detail::training::json_object_of(uploaded.value().body);
  std::string const file_id = file ? detail::training::string_field(*file, "id").value_or("") : std::string();
  if (file_id.empty()) co_return failed("uploading the dataset: the answer names no file id");

  // 2. Create the job.
  json::object hyper;
  hyper["n_epochs"] = request.config.num_epochs;
  hyper["batch_size"] = request.config.batch_size;
  if (options_.learning_rate_multiplier)
    hyper["learning_rate_multiplier"] = *options_.learning_rate_multiplier;
  else
    hyper["learning_rate_multiplier"] = "auto";
  json::object job_body;
  job_body["training_file"] = file_id;
  job_body["model"] = model;
  job_body["hyperparameters"] = std::move(hyper);
  if (!options_.suffix.empty()) job_body["suffix"] = options_.suffix;
  auto create = std::make_shared<HttpRequest const>(HttpRequest{
      "POST", base_url_ + "/fine_tuning/jobs", {{"Authorization", auth}}, json::serialize(job_body)});
  result<HttpResponse> created = co_await http_->request(create);
  if (created.has_error()) co_return failed(detail::training::transport_error("creating the job", created.error(), api_key_));
  if (created.value().status / 100 != 2)
    co_return failed(detail::training::server_error("creating the job", created.value().status, created.value().body, api_key_));
  auto job = detail::training::json_object_of(created.value().body);
  std::string const job_id = job ? detail::training::string_field(*job, "id").value_or("") : std::string();
  if (job_id.empty()) co_return failed("creating the job: the answer names no job id");

  // 3. Poll until the job ends, or max_wait passes.
  auto const deadline = std::chrono::steady_clock::now() + options_.max_wait;
  auto poll = std::make_shared<HttpRequest const>(
      HttpRequest{"GET", base_url_ + "/fine_tuning/jobs/" + job_id, {{"Authorization", auth}}, {}});
  asio::steady_timer timer(co_await asio::this_coro::executor);
  unsigned poll_failures = 0;
  std::string last_status = detail::training::string_field(*job, "status").value_or("unknown");
  std::optional<TrainingResult> outcome = detail::training::job_outcome(*job, api_key_);
  while (!outcome) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      TrainingResult r = failed("fine-tuning job " + job_id + " still " + last_status + " after " +
                                detail::training::num(std::chrono::duration<double>(options_.max_wait).count()) +
                                " s; it goes on at the provider");
      r.job_id = job_id;
      co_return r;
    }
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(options_.poll_interval, deadline - now));
    co_await timer.async_wait(asio::use_awaitable);

    result<HttpResponse> polled = co_await http_->request(poll);
    std::string problem;
    if (polled.has_error()) {
      problem = detail::training::transport_error("polling the job", polled.error(), api_key_);
    } else if (polled.value().status / 100 != 2) {
      problem = detail::training::server_error("polling the job", polled.value().status, polled.value().body, api_key_);
      if (!detail::training::poll_retryable(polled.value().status)) poll_failures = options_.max_poll_failures;
    } else if (auto doc = detail::training::json_object_of(polled.value().body); !doc) {
      problem = "polling the job: the answer is not a JSON object";
    } else {
      job = std::move(doc);
      poll_failures = 0;
      last_status = detail::training::string_field(*job, "status").value_or("unknown");
      outcome = detail::training::job_outcome(*job, api_key_);
      continue;
    }
    if (++poll_failures > options_.max_poll_failures) {
      TrainingResult r = failed(problem);
      r.job_id = job_id;
      co_return r;
    }
  }

  TrainingResult r = std::move(*outcome);
  r.job_id = job_id;
  r.training_samples = samples;
  r.model = model;
  r.epochs = request.config.num_epochs;
  if (auto const* h = job->if_contains("hyperparameters"); h && h->is_object())
    if (auto n = detail::training::number_field(h->as_object(), "n_epochs"); n && *n >= 0) r.epochs = static_cast<int>(*n);
  r.details["training_file"] = file_id;
  r.details["status"] = last_status;
  if (auto const* t = job->if_contains("trained_tokens"); t && t->is_number()) r.details["trained_tokens"] = *t;
  if (auto const* rf = job->if_contains("result_files"); rf && rf->is_array()) r.details["result_files"] = *rf;
  co_return r;
}

}  // namespace leash::learn

#endif
