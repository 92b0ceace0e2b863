// leash-simulate: let simulated users (personas) talk to a chatbot (the
// provider), many conversations at once, and keep the transcripts.
//
//   leash-simulate --persona-model scripted:example/sim/persona.jsonl
//                  --provider-model scripted:example/sim/provider.jsonl
//                  --personas example/sim/personas.tsv --persona-template example/sim/persona_template.txt
//                  --runs 2 --turns 6 --output build/sim
//
// Any transport spec works for either side (openai:MODEL, anthropic:MODEL,
// openai-compatible:URL#MODEL, scripted:FILE). Each run gets a folder
// <output>/p_<persona>__a_<provider>__t<turns>__r<runs>__<time>; a killed run
// continues with --resume --output THAT_FOLDER. The flags are the reference
// CLI's (reference/vera-mh-simulator.md §5.9) in long-option form, plus the
// persona files, the store and the provider's prompt.
#include <leash/llm/make_transport.hpp>
#include <leash/sim/llm_speaker.hpp>
#include <leash/sim/runner.hpp>
#include <leash/store/open.hpp>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace sim = leash::sim;
namespace llm = leash::llm;

int fail(int code, std::string const& message) {
  std::cerr << "leash-simulate: " << message << '\n';
  return code;
}

/// `--sessions "intake, coaching"`: stripped, empty items dropped; nothing left is an error.
leash::result<std::vector<std::string>> parse_sessions(std::string const& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto first = item.find_first_not_of(" \t");
    auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty())
    return leash::Error{leash::Errc::invalid_input, "--sessions names no session (give e.g. \"intake,coaching\")"};
  return out;
}

/// The settings `k=v` extra parameters may change on one side.
struct SideSettings {
  std::string spec;
  std::optional<double> temperature;
  std::uint64_t max_tokens = 1024;
  unsigned max_retries = 3;
};

leash::result<void> apply_extra(std::vector<std::string> const& pairs, SideSettings& side, std::string const& flag) {
  for (auto const& kv : pairs) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return leash::Error{leash::Errc::invalid_input, flag + ": \"" + kv + "\" is not key=value"};
    auto key = kv.substr(0, eq);
    auto value = kv.substr(eq + 1);
    try {
      std::size_t used = 0;
      if (key == "temperature") {
        side.temperature = std::stod(value, &used);
      } else if (key == "max_tokens") {
        side.max_tokens = std::stoull(value, &used);
      } else if (key == "max_retries") {
        side.max_retries = static_cast<unsigned>(std::stoul(value, &used));
      } else {
        return leash::Error{leash::Errc::invalid_input,
                            flag + ": unknown key \"" + key + "\" (known: temperature, max_tokens, max_retries)"};
      }
      if (used != value.size()) throw std::invalid_argument(value);
    } catch (std::exception const&) {
      return leash::Error{leash::Errc::invalid_input, flag + ": \"" + value + "\" is not a valid " + key};
    }
  }
  return leash::success();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"leash-simulate: simulated users (personas) talk to a chatbot (the provider); transcripts, logs and "
               "the run store keep every turn",
               "leash-simulate"};
  app.footer(
      "MODEL specs: openai:MODEL, anthropic:MODEL, openai-compatible:URL#MODEL, scripted:FILE[#MODEL].\n"
      "Files: <run>/conversations/<tag>_<persona>_<model>_run<N>[_s<i>_<session>].txt, logs in "
      "<run>/conversations/logs, settings in <run>/simulation.json, every session a run in --store.\n"
      "--turns and --max-total-words apply per session; turns are raised by one when needed so the provider "
      "speaks last.\n"
      "Exit codes: 0 done; 1 every conversation was skipped (failed or already done); 2 bad input or settings; "
      "3 a file, folder or store could not be used.");

  // A flag given twice takes its last value, so a script's defaults can be
  // overridden by arguments appended after them.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  SideSettings persona_side, provider_side;
  int runs = 0, turns = 0, max_concurrent = 0;
  std::optional<std::size_t> max_words;
  std::optional<long> max_personas;
  std::string run_id, output = "output", sessions_text, persona_names;
  std::string personas_file = "example/sim/personas.tsv", template_file = "example/sim/persona_template.txt";
  std::string provider_name = "Provider", provider_prompt = "You are a helpful AI assistant.", provider_prompt_file;
  std::optional<std::string> provider_first, user_first;
  std::string provider_start{sim::default_start_prompt}, user_start{sim::default_start_prompt};
  std::string reminder{sim::default_persona_reminder};
  std::vector<std::string> persona_extra, provider_extra;
  std::string store_spec;
  std::optional<std::uint64_t> seed;
  bool resume = false, provider_first_flag = false, quiet = false, debug = false, sync_files = false;

  app.add_option("-u,--user-agent,--persona-model", persona_side.spec, "The persona's model (a transport spec)")
      ->required();
  app.add_option("-p,--provider-agent,--provider-model", provider_side.spec,
                 "The provider's model: the chatbot under test (a transport spec)")
      ->required();
  app.add_option("-r,--runs", runs, "Conversations per persona")->required()->check(CLI::PositiveNumber);
  app.add_option("-t,--turns", turns, "Most turns per session")->required()->check(CLI::PositiveNumber);
  app.add_option("-w,--max-total-words", max_words, "Stop a session after a provider turn once this many words were said");
  app.add_option("--user-agent-extra-params,--persona-params", persona_extra,
                 "Persona settings as key=value: temperature, max_tokens, max_retries")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--provider-agent-extra-params,--provider-params", provider_extra,
                 "Provider settings as key=value: temperature, max_tokens, max_retries")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("-i,--run-id", run_id,
                 "Name of the run folder under --output (default: p_<persona>__a_<provider>__t<turns>__r<runs>__<time>); "
                 "with --resume it must equal the folder's name");
  app.add_option("-o,--output", output, "Parent folder of the run folder; with --resume, the run folder itself")
      ->capture_default_str();
  app.add_flag("--resume", resume, "Continue the run in --output: finished conversations and sessions are skipped");
  app.add_option("-c,--max-concurrent", max_concurrent, "Conversations in flight at once (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--max-personas", max_personas, "Use only the first N personas (after --persona-names)")
      ->check(CLI::PositiveNumber);
  app.add_option("--persona-names", persona_names, "Only these personas (comma-separated, exact names)");
  app.add_option("--personas", personas_file, "The persona sheet (tab-separated, a Name column)")
      ->capture_default_str();
  app.add_option("--persona-template", template_file, "The persona prompt template ({Column} placeholders)")
      ->capture_default_str();
  app.add_option("--persona-reminder", reminder, "Text put before the provider's last message to the persona");
  app.add_flag("--provider-speaks-first", provider_first_flag,
               "The provider opens each session (unless the provider says otherwise)");
  app.add_option("--provider-first-message", provider_first, "A fixed first message for the provider");
  app.add_option("--provider-start-prompt", provider_start, "What the provider is asked to open with")
      ->capture_default_str();
  app.add_option("--user-first-message,--persona-first-message", user_first, "A fixed first message for the persona");
  app.add_option("--user-start-prompt,--persona-start-prompt", user_start, "What the persona is asked to open with")
      ->capture_default_str();
  app.add_option("--provider-name", provider_name, "The provider's name in logs")->capture_default_str();
  app.add_option("--provider-system-prompt", provider_prompt, "The provider's system prompt")->capture_default_str();
  app.add_option("--provider-system-prompt-file", provider_prompt_file, "Read the provider's system prompt from a file");
  app.add_option("--sessions", sessions_text,
                 "Session types in order, comma-separated (e.g. intake,coaching); each persona run has them all");
  app.add_option("--store", store_spec,
                 "Where every session is recorded as a run: sqlite:PATH, file:DIR, or none "
                 "(default: sqlite:<run folder>/runs.db)");
  app.add_option("--seed", seed, "Seed of the file-name tags (for reproducible names)");
  app.add_flag("--sync-files", sync_files,
               "Sync every transcript to disk (survives a power loss; a killed process never leaves half a "
               "transcript either way)");
  app.add_flag("-q,--quiet", quiet, "No progress lines");
  app.add_flag("-d,--debug", debug, "Print the settings first and every result as JSON at the end");

  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::vector<std::string> sessions;
  if (app.count("--sessions")) {
    auto parsed = parse_sessions(sessions_text);
    if (!parsed) return fail(2, parsed.error().what());
    sessions = parsed.value();
  }
  if (auto r = apply_extra(persona_extra, persona_side, "--user-agent-extra-params"); !r) return fail(2, r.error().what());
  if (auto r = apply_extra(provider_extra, provider_side, "--provider-agent-extra-params"); !r)
    return fail(2, r.error().what());
  if (!provider_prompt_file.empty()) {
    std::ifstream in(provider_prompt_file, std::ios::binary);
    if (!in) return fail(3, "cannot read --provider-system-prompt-file " + provider_prompt_file);
    provider_prompt.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // Both sides' specs are checked once, before anything runs: a typo fails
  // here, not in every job.
  llm::TransportOptions transport_options;
  transport_options.retry.max_attempts = 1;  // the speakers retry (full jitter, no-retry phrases)
  // File names, the run folder and the resume check use the model ids (a
  // scripted file's #MODEL, an endpoint's #MODEL), not whole specs.
  std::string persona_model, provider_model;
  for (auto [side, model] : {std::pair{&persona_side, &persona_model}, std::pair{&provider_side, &provider_model}}) {
    auto t = llm::make_transport(side->spec, transport_options);
    if (!t) return fail(2, t.error().what());
    *model = std::string(t.value().model_id());
  }

  sim::PersonaLoad load;
  if (!persona_names.empty()) {
    auto names = parse_sessions(persona_names);
    if (!names) return fail(2, "--persona-names names no persona");
    load.names = names.value();
  }
  load.max_personas = max_personas;
  auto personas = sim::load_personas(personas_file, template_file, load);
  if (!personas) return fail(2, personas.error().what());
  for (auto const& w : personas.value().warnings) std::cerr << "leash-simulate: warning: " << w << '\n';

  std::filesystem::path folder;
  if (resume) {
    // "out/p_…/" (as a shell completes it) is the folder "out/p_…".
    folder = std::filesystem::path(output).lexically_normal();
    if (folder.has_parent_path() && folder.filename().empty()) folder = folder.parent_path();
    if (!run_id.empty() && folder.filename().string() != run_id)
      return fail(2, "--run-id " + run_id + " is not the name of the --output folder " + folder.string());
  } else if (!run_id.empty()) {
    folder = std::filesystem::path(output) / run_id;
  } else {
    folder = std::filesystem::path(output) /
             sim::run_folder_name(persona_model, provider_model, turns, runs, sim::detail::now_seconds());
  }

  sim::RunnerOptions options;
  options.folder = folder;
  options.persona_model = persona_model;
  options.provider_model = provider_model;
  options.max_turns = turns;
  options.runs_per_persona = runs;
  options.max_total_words = max_words;
  options.persona_first = !provider_first_flag;
  options.session_types = sessions;
  options.resume = resume;
  options.max_concurrent = max_concurrent;
  options.quiet = quiet;
  options.seed = seed;
  options.sync_files = sync_files;
  // Before anything is created: resuming a folder that is not there (or was
  // run with other settings) must not start a fresh run in its place.
  if (resume)
    if (auto checked = sim::check_resume(folder, options); !checked) return fail(2, checked.error().what());
  if (store_spec.empty()) store_spec = "sqlite:" + (folder / "runs.db").string();
  if (store_spec != "none") {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    auto store = leash::open_store(store_spec);
    if (!store) return fail(3, store.error().what());
    options.store = store.value();
  }
  if (debug) {
    std::cerr << "leash-simulate: folder " << folder.string() << ", " << personas.value().personas.size()
              << " personas × " << runs << " runs, " << (sessions.empty() ? 1 : sessions.size())
              << " session(s) each, store " << store_spec << '\n';
  }

  // A speaker of one side: its own transport (a scripted file replays from
  // its start for every job), the side's settings, and `o`'s prompts.
  auto speaker_of = [&](SideSettings const& side, sim::LlmSpeakerOptions o) -> leash::result<sim::LlmSpeaker> {
    auto t = llm::make_transport(side.spec, transport_options);
    if (!t) return t.error();
    o.temperature = side.temperature;
    o.max_tokens = side.max_tokens;
    o.retry.max_retries = side.max_retries;
    return sim::LlmSpeaker(std::move(t).value(), std::move(o));
  };
  auto make_persona = [&](sim::JobContext const& job) {
    sim::LlmSpeakerOptions o;
    o.name = persona_model + " " + job.persona->name;
    o.role = sim::Role::persona;
    o.system_prompt = job.persona->prompt;
    o.first_message = user_first;
    o.start_prompt = user_start;
    o.reminder = reminder;
    return speaker_of(persona_side, std::move(o));
  };
  auto make_provider = [&](sim::JobContext const&) {
    sim::LlmSpeakerOptions o;
    o.name = provider_name;
    o.role = sim::Role::provider;
    o.system_prompt = provider_prompt;
    o.first_message = provider_first;
    o.start_prompt = provider_start;
    return speaker_of(provider_side, std::move(o));
  };

  sim::Runner runner(options, make_persona, make_provider);
  leash::result<sim::BatchResult> batch = leash::Error{leash::Errc::invalid_config, "not run"};
  try {
    batch = runner.run(std::move(personas).value().personas);
  } catch (std::exception const& e) {  // the runner keeps jobs' exceptions; this is bad_alloc and the like
    return fail(3, std::string("the run stopped: ") + e.what());
  }
  if (!batch) {
    auto code = batch.error() == leash::Errc::store_failed || batch.error() == leash::Errc::state_corrupt ? 3 : 2;
    return fail(code, batch.error().what());
  }
  if (debug) {
    for (auto const& job : batch.value().jobs) std::cout << leash::json::serialize(job.to_json()) << '\n';
  }
  if (!quiet) std::cerr << "leash-simulate: transcripts in " << (folder / "conversations").string() << '\n';
  return batch.value().all_skipped() ? 1 : 0;
}
