// leash/learn/trainer.hpp — fine-tuning a model on mined training data: the
// LoRA configuration, the Trainer requirement, and two trainers that hand the
// work to whoever does it well — an external command (a PEFT/TRL script, on
// this machine or on a GPU box via ssh) or OpenAI's fine-tuning API.
//
//   leash::learn::CommandTrainerOptions o;
//   o.argv = {"python3", "train_lora.py", "--data", "{dataset}", "--out", "{output_dir}",
//             "--epochs", "{epochs}", "--config", "{config}"};
//   leash::learn::CommandTrainer trainer(std::move(o));
//   leash::learn::TrainingRequest req;
//   req.dataset_path = "sft.jsonl";
//   auto r = leash::learn::train_blocking(trainer, req);   // or co_await trainer.train(req)
//   if (r && r->status == leash::learn::TrainingStatus::completed) use(r->adapter_path);
//
// A model of Trainer has
//   asio::awaitable<result<TrainingResult>> train(TrainingRequest);
// `result` fails only on a request that cannot work (an invalid config, an
// unknown placeholder): Errc::invalid_config. Whatever happens once training
// is attempted is a TrainingResult: `completed`, `skipped` (the trainer is not
// available here, or there is nothing to train on) or `error`, with a reason.
//
// Reference: OpenJarvis LoRATrainingConfig and LoRATrainer
// (reference/openjarvis-learning.md §1.3, §2.8). Kept: every field name and
// default of the config, the result's fields and status names, `skipped` for
// an empty dataset and for a trainer that cannot run here (the reference's
// "no torch"). Changed: the reference trains in-process with torch; leash
// never links a training framework and delegates instead. `warmup_ratio` is
// unused in the reference (§4 item 12); here it is passed to the command and
// validated like the other fields. The reference divides by
// save_every_n_epochs unchecked; here it must be >= 1.
#ifndef LEASH_LEARN_TRAINER_HPP
#define LEASH_LEARN_TRAINER_HPP

#include <leash/error.hpp>
#include <leash/exec.hpp>
#include <leash/json.hpp>
#include <leash/llm/http.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leash::detail {
class ToolPool;
}

namespace leash::learn {

// ---- configuration ----------------------------------------------------------

/// LoRA fine-tuning parameters, with the reference's names and defaults.
struct LoraTrainingConfig {
  int lora_rank = 16;
  int lora_alpha = 32;
  double lora_dropout = 0.05;
  std::vector<std::string> target_modules{"q_proj", "v_proj"};
  int num_epochs = 3;
  int batch_size = 4;
  double learning_rate = 2e-5;
  double weight_decay = 0.01;
  double warmup_ratio = 0.1;  ///< unused in the reference (§4 item 12); passed on here
  double max_grad_norm = 1.0;
  int max_seq_length = 2048;
  bool use_4bit = false;
  std::string output_dir = "checkpoints/lora";
  int save_every_n_epochs = 1;
  bool gradient_checkpointing = true;

  /// Errc::invalid_config naming the first field that cannot work:
  /// lora_rank >= 1, lora_alpha >= 1, lora_dropout in [0, 1), a non-empty
  /// target_modules without empty names, num_epochs >= 1, batch_size >= 1,
  /// learning_rate > 0, weight_decay >= 0, warmup_ratio in [0, 1],
  /// max_grad_norm > 0, max_seq_length >= 1, a non-empty output_dir,
  /// save_every_n_epochs >= 1; every real finite.
  result<void> validate() const;
};
BOOST_DESCRIBE_STRUCT(LoraTrainingConfig, (),
                      (lora_rank, lora_alpha, lora_dropout, target_modules, num_epochs, batch_size,
                       learning_rate, weight_decay, warmup_ratio, max_grad_norm, max_seq_length, use_4bit,
                       output_dir, save_every_n_epochs, gradient_checkpointing))

/// The config as a JSON object, one member per field.
json::object to_json(LoraTrainingConfig const& config);

// ---- request and result -----------------------------------------------------

/// What to train on.
struct TrainingRequest {
  /// JSONL, one example per line, in the format the trainer expects
  /// (OpenAI: {"messages": [...]} chat examples).
  std::filesystem::path dataset_path;
  /// How many examples the file holds; empty: its non-blank lines are counted.
  std::optional<std::size_t> sample_count;
  LoraTrainingConfig config;
  std::string model;  ///< the base model; empty: the trainer's default
};

enum class TrainingStatus { completed, skipped, error };
BOOST_DESCRIBE_ENUM(TrainingStatus, completed, skipped, error)

/// "completed", "skipped", "error".
constexpr std::string_view to_string(TrainingStatus s) noexcept {
  switch (s) {
    case TrainingStatus::completed: return "completed";
    case TrainingStatus::skipped: return "skipped";
    default: return "error";
  }
}

/// How training went: the reference's result map, typed.
struct TrainingResult {
  TrainingStatus status = TrainingStatus::error;
  std::string reason;              ///< why it was skipped or failed; empty when completed
  int epochs = 0;
  std::uint64_t total_steps = 0;
  std::optional<double> avg_loss;  ///< empty when the trainer does not report it
  /// Where the result is: a directory of adapter weights (CommandTrainer),
  /// or the fine-tuned model's name (OpenAiFineTuneTrainer).
  std::string adapter_path;
  std::size_t training_samples = 0;
  std::string job_id;              ///< a remote job's id (OpenAI), so it can be looked up later
  std::string model;               ///< the base model trained
  json::object details;            ///< what else the trainer reported (the command's JSON, the job's fields)

  static TrainingResult skipped(std::string reason) {
    TrainingResult r;
    r.status = TrainingStatus::skipped;
    r.reason = std::move(reason);
    return r;
  }
  static TrainingResult failed(std::string reason) {
    TrainingResult r;
    r.status = TrainingStatus::error;
    r.reason = std::move(reason);
    return r;
  }
};

// ---- the Trainer requirement ------------------------------------------------

namespace detail {
template <class T> concept trainer_has_train = requires(T& t, TrainingRequest r) {
  { t.train(r) } -> std::same_as<boost::asio::awaitable<result<TrainingResult>>>;
};
}  // namespace detail

template <class T>
concept Trainer = detail::trainer_has_train<T>;

template <class T>
consteval bool check_trainer() {
  static_assert(Trainer<T>,
                "leash::learn::Trainer: add `boost::asio::awaitable<leash::result<leash::learn::TrainingResult>> "
                "train(leash::learn::TrainingRequest)`");
  return true;
}

/// Runs `trainer.train(request)` to completion on an io_context of its own.
template <class T>
result<TrainingResult> train_blocking(T& trainer, TrainingRequest request);

// ---- CommandTrainer ---------------------------------------------------------

/// How CommandTrainer runs the user's training command.
///
/// Each argument of `argv` may hold placeholders, replaced before the run:
/// {dataset} (absolute path), {model}, {output_dir} (absolute; created
/// before the run), {config} (the JSON config file, see below), {samples},
/// {epochs} (= num_epochs), and every field of LoraTrainingConfig by name
/// ({lora_rank}, {learning_rate}, {warmup_ratio}, {target_modules} as a comma
/// list, {use_4bit} as true/false, …). `{{` is a literal `{`. Any other
/// `{name}` is refused (Errc::invalid_config), so a typo cannot reach the
/// command. No shell parses `argv`: values need no quoting. A script run as
/// {"sh", "-c", "..."} should read the environment instead of placeholders.
///
/// The environment gets LEASH_TRAIN_DATASET, LEASH_TRAIN_MODEL,
/// LEASH_TRAIN_OUTPUT_DIR, LEASH_TRAIN_CONFIG and LEASH_TRAIN_SAMPLES, then
/// `env`. With `write_config_file`, `<output_dir>/training_config.json` holds
/// every config field plus dataset, model, output_dir and sample_count.
///
/// The command reports on stdout: the LAST line that parses as a JSON object
/// is its result, {"adapter_path", "epochs", "avg_loss", "total_steps"} (all
/// optional; adapter_path defaults to `<output_dir>/final` as in the
/// reference, epochs to num_epochs). It may say {"status": "skipped" or
/// "error", "reason": …} instead (a script that finds no GPU). Other lines
/// (progress, logs) are ignored.
struct CommandTrainerOptions {
  std::vector<std::string> argv;
  std::string default_model = "Qwen/Qwen3-0.6B";  ///< the reference's default
  std::filesystem::path cwd;                       ///< empty: this process's; relative output_dir is under it
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds timeout = std::chrono::hours(6);
  std::chrono::milliseconds grace{10'000};  ///< SIGTERM → SIGKILL, to let a trainer save a checkpoint
  std::size_t output_cap = std::size_t{1} << 20;
  std::size_t stderr_tail = 2000;  ///< bytes of stderr quoted in an error's reason
  bool write_config_file = true;
};

/// Trains by running an external command (run_command: its own process
/// group, killed whole at the timeout). Outcomes: the command cannot start
/// (not found, not executable) → `skipped` with the reason, as the reference
/// skips without torch; no dataset file → `error`; no examples → `skipped`;
/// timeout → `error`; non-zero exit → `error` with the tail of stderr; exit 0
/// without a JSON result line → `error`.
///
/// The command runs on a worker thread of the trainer's own; the calling
/// coroutine waits without blocking its io_context. Destroying the trainer
/// stops a command still running (as a timeout would) and waits for it.
class CommandTrainer {
 public:
  explicit CommandTrainer(CommandTrainerOptions options);
  ~CommandTrainer();
  CommandTrainer(CommandTrainer&&) noexcept;
  CommandTrainer& operator=(CommandTrainer&&) noexcept;

  boost::asio::awaitable<result<TrainingResult>> train(TrainingRequest request);

  /// The command train() would run for `request` (placeholders replaced).
  result<Command> command_for(TrainingRequest const& request) const;

  CommandTrainerOptions const& options() const noexcept { return options_; }

 private:
  CommandTrainerOptions options_;
  std::unique_ptr<std::stop_source> stop_;
  std::unique_ptr<leash::detail::ToolPool> pool_;
};

// ---- OpenAiFineTuneTrainer --------------------------------------------------

/// How OpenAiFineTuneTrainer reaches the API and how long it waits.
struct OpenAiFineTuneOptions {
  std::string api_key;                         ///< empty: the variable named by api_key_env
  std::string api_key_env = "OPENAI_API_KEY";
  std::string base_url;                        ///< empty: $OPENAI_BASE_URL, else https://api.openai.com/v1
  std::string default_model = "gpt-4o-mini-2024-07-18";
  /// hyperparameters.learning_rate_multiplier; empty: "auto". OpenAI scales
  /// its own base rate, so LoraTrainingConfig::learning_rate does not map onto it.
  std::optional<double> learning_rate_multiplier;
  std::string suffix;  ///< up to 64 characters in the fine-tuned model's name; empty: none
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
  /// From the job's creation; then the result is `error` with the job id (the
  /// job goes on at OpenAI; it is not cancelled).
  std::chrono::milliseconds max_wait{std::chrono::hours(24)};
  /// Polls in a row that may fail (network, 429, 5xx) before giving up.
  unsigned max_poll_failures = 5;
  leash::llm::HttpOptions http;
  std::shared_ptr<leash::llm::HttpClient> client;  ///< share connections; empty: one of its own from `http`
};

/// Fine-tunes through OpenAI's API: uploads the dataset (POST /files,
/// multipart, purpose "fine-tune"), creates a job (POST /fine_tuning/jobs with
/// {training_file, model, hyperparameters{n_epochs, batch_size,
/// learning_rate_multiplier}}, suffix when set), and polls GET
/// /fine_tuning/jobs/{id} until it succeeds, fails or is cancelled.
///
/// `succeeded` → `completed`, adapter_path = fine_tuned_model, job_id,
/// epochs (the job's n_epochs), details {training_file, trained_tokens, status};
/// `failed` → `error` with the job's error message; `cancelled` → `error`.
/// No API key → `skipped` (the trainer is not available here). A refused
/// upload or job creation → `error` with the server's message. Sent with the
/// top-level `hyperparameters` object the API still accepts (it prefers
/// `method.supervised.hyperparameters` now).
///
/// The key goes into the Authorization header only; it is blotted out of
/// every reason and never copied into a result.
class OpenAiFineTuneTrainer {
 public:
  explicit OpenAiFineTuneTrainer(OpenAiFineTuneOptions options = {});

  boost::asio::awaitable<result<TrainingResult>> train(TrainingRequest request);

  OpenAiFineTuneOptions const& options() const noexcept { return options_; }
  /// The base URL requests go to ("https://api.openai.com/v1").
  std::string const& base_url() const noexcept { return base_url_; }

 private:
  OpenAiFineTuneOptions options_;
  std::string api_key_, base_url_;
  std::shared_ptr<leash::llm::HttpClient> http_;
};

}  // namespace leash::learn

#include <leash/learn/impl/trainer.hpp>

#endif
