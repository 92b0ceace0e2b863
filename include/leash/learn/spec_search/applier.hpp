// leash/learn/spec_search/applier.hpp — applying a spec-search edit to the
// configuration files on disk, and undoing it.
//
//   namespace ss = leash::learn::spec_search;
//   ss::ConfigHome home("/srv/agent/config");
//   auto applied = ss::apply_edit(home, edit);        // snapshot, change, atomic replace
//   if (applied && !gate_accepts(...)) ss::rollback(applied.value());  // the old bytes again
//
// Every edit is applied the same way: the file is parsed with toml++, one node
// is changed, the whole document is serialised again and the file is replaced
// atomically. Values are never spliced into lines of text, so a prompt with
// newlines, quotes or backslashes, a model id with dots or a description with
// '#' cannot break the file (reference §4 item 6). The price: comments and the
// original layout of a file are not kept once it is edited (keys are written
// in sorted order, floats in their shortest exact form); rollback restores the
// original bytes, comments included.
//
// Reference: OpenJarvis spec_search/execute (reference/openjarvis-learning.md
// §2.14 "Appliers"). Changed: one directory of TOML files instead of
// config.toml plus prompt and JSON files; rollback really restores the file
// (the reference's rollbacks were empty, §4 item 1); a unified diff has its
// context checked, and one that does not apply is an error rather than the
// new prompt (§4 item 5); agent files must still be valid agent
// configurations after the edit.
//
// Needs toml++ (see agent_config.hpp).
#ifndef LEASH_LEARN_SPEC_SEARCH_APPLIER_HPP
#define LEASH_LEARN_SPEC_SEARCH_APPLIER_HPP

#include <leash/error.hpp>
#include <leash/learn/agent_config.hpp>
#include <leash/learn/spec_search/types.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leash::learn::spec_search {

/// The files spec search edits, all directly under one directory (the config
/// home):
///
/// | file                 | content                                                   |
/// |----------------------|-----------------------------------------------------------|
/// | `<root>/<agent>.toml`| an agent configuration (agent_config.hpp): `[agent]` name, tools, max_turns, temperature, system_prompt, plus `class` and `few_shot` when spec search set them |
/// | `<root>/models.toml` | `[models."<model id>"]` param = value                     |
/// | `<root>/routing.toml`| `[routing.policy_map]` <query_class> = "<model>"          |
/// | `<root>/tools.toml`  | `[tools.<tool name>]` description = "…"                   |
///
/// "models", "routing" and "tools" are therefore not usable as agent names.
class ConfigHome {
 public:
  /// `root` is never created here: under a missing root every edit fails;
  /// an empty path means the current directory.
  explicit ConfigHome(std::filesystem::path root);

  std::filesystem::path const& root() const noexcept { return root_; }

  /// `<root>/<agent>.toml`; the name is not checked here (file_of checks it).
  std::filesystem::path agent_file(std::string_view agent) const;
  std::filesystem::path models_file() const;
  std::filesystem::path routing_file() const;
  std::filesystem::path tools_file() const;

  /// The file `edit` writes. Errc::invalid_input when the edit's agent
  /// (agent_of) is not a safe file name (is_safe_agent_name) or is one of the
  /// reserved names "models", "routing", "tools", and for an op without an
  /// applier (lora_finetune).
  result<std::filesystem::path> file_of(Edit const& edit) const;

  /// Names of the agents with a configuration file here, sorted: every
  /// regular `*.toml` file directly in root whose stem is a safe agent name
  /// and not a reserved one.
  std::vector<std::string> agents() const;

  /// The configuration's checkpoint fingerprint: lowercase hex SHA-256 over
  /// the name, size and bytes of every regular `*.toml` file directly in root,
  /// in byte order of their names. Equal files give an equal fingerprint on
  /// every machine; an empty or missing directory gives the SHA-256 of
  /// nothing. A file that cannot be read contributes its name and a marker.
  std::string fingerprint() const;

 private:
  std::filesystem::path root_;
};

/// A file's bytes before an edit (`bytes` nullopt: it did not exist).
struct FileSnapshot {
  std::filesystem::path file;
  std::optional<std::string> bytes;
};

/// Reads `file` whole. A missing file is a snapshot without bytes;
/// Errc::store_failed when it exists but cannot be read (a directory, no
/// permission).
result<FileSnapshot> take_snapshot(std::filesystem::path const& file);

/// Puts the file back as the snapshot saw it: its bytes written by atomic
/// replacement (temporary file, fsync, rename, directory fsync), or the file
/// removed when it did not exist (already absent is fine). Errc::store_failed
/// when the file system refuses.
result<void> restore(FileSnapshot const& snapshot);

/// How apply_edit treats edits that depend on the deployment.
struct ApplyOptions {
  /// The tools the agent's ToolSet has. When set, add_tool_to_agent refuses a
  /// tool not in it, and remove_tool_from_agent on an agent whose tools list
  /// is empty (meaning every tool) writes this list less the removed tool.
  std::optional<std::vector<std::string>> available_tools;
  /// patch_system_prompt: a patch changing more than this fraction of the
  /// prompt's lines is applied as a replace_system_prompt (the reference's 50%
  /// rule; see resolve_prompt_patch).
  double max_patch_change = 0.5;
};

/// What apply_edit did: the snapshot that undoes it, and the edit as applied
/// (a patch may have become a replace_system_prompt whose new_content is the
/// patched prompt).
struct AppliedEdit {
  FileSnapshot before;
  Edit effective;
};

/// Applies `edit` to the files of `home`: check_edit, then the file of the
/// edit (file_of) is parsed, one node changed, the document serialised and
/// the file replaced atomically. On any error nothing has changed on disk.
///
/// | op                        | change                                                          |
/// |---------------------------|-----------------------------------------------------------------|
/// | patch_system_prompt       | `[agent].system_prompt` patched (resolve_prompt_patch)          |
/// | replace_system_prompt     | `[agent].system_prompt = new_content`                           |
/// | set_agent_class           | `[agent].class = new_class`                                     |
/// | set_agent_param           | `[agent].<param> = value` (see below)                           |
/// | edit_few_shot_exemplars   | `[agent].few_shot` = array of inline tables {input, output}, replacing the old list |
/// | add_tool_to_agent         | tool appended to `[agent].tools`                                |
/// | remove_tool_from_agent    | tool removed from `[agent].tools`, the others in order          |
/// | set_model_param           | `models.toml`: `[models."<model>"].<param> = value`             |
/// | set_model_for_query_class | `routing.toml`: `[routing.policy_map].<query_class> = model`    |
/// | edit_tool_description     | `tools.toml`: `[tools.<tool_name>].description = new_description` |
///
/// models.toml, routing.toml and tools.toml, and the tables in them, are
/// created when absent; an agent's file must exist. Every other key and table
/// of the file is kept (comments are not: see the file comment).
///
/// set_agent_param sets max_turns (an integer from 1 to INT_MAX), temperature
/// (a finite number of at least 0, written as a float), or a key the `[agent]`
/// table already has, with a value of the same kind (an integer stays an
/// integer; a float takes any number; strings, booleans and arrays stay
/// what they are). It refuses `name` and `tools` (add/remove_tool_to_agent),
/// and `system_prompt`, `class` and `few_shot`, whose own ops are in the
/// review tier: an auto-tier edit must not change them.
///
/// An empty or absent tools list means every tool (apply_agent_config), so
/// adding to it is refused as already enabled, and removing the last tool is
/// refused rather than silently enabling them all.
///
/// Errors: Errc::invalid_input, naming the edit id and op and what is wrong
/// (check_edit's errors, an unsafe agent name, the agent's file missing, a
/// file that is not valid TOML or an agent file that would not parse with
/// parse_agent_config, a tool already enabled / not enabled / not available,
/// the last tool, an unknown or refused agent param, a value of the wrong
/// type, a patch that does not apply, an op without applier);
/// Errc::store_failed when a file cannot be read or written.
result<AppliedEdit> apply_edit(ConfigHome const& home, Edit const& edit, ApplyOptions const& options = {});

/// Undoes apply_edit: restore(applied.before).
result<void> rollback(AppliedEdit const& applied);

/// Applies a unified diff to `text`.
///
/// Anything before the first `@@` line is ignored (`---`/`+++` headers are
/// optional). A hunk is a header `@@ -l[,n] +l[,n] @@` followed by lines
/// starting with ' ' (context), '-' (removed) or '+' (added); an empty line
/// counts as an empty context line, except at the end of a hunk, where blank
/// lines are taken as spacing; `\ No newline at end of file` is honoured for
/// the end of the text. The line counts of a header are not trusted (a
/// hunk runs to the next `@@` line); a header without numbers is searched for
/// from the end of the previous hunk.
///
/// Context and removed lines must match the text exactly. A hunk is looked
/// for at its stated line, shifted by what earlier hunks added, removed and
/// were found off by, and then ever farther from it (nearest first, like
/// patch(1)'s offset, with no fuzz); hunks must apply in order without
/// overlapping. Errc::invalid_input, naming the hunk (its number and header)
/// and what was expected at the stated line, when one does not apply, or
/// when the diff has no hunk or a line that is not part of one.
result<std::string> apply_unified_diff(std::string_view text, std::string_view diff);

/// Fraction of lines that differ between two texts, by positional line
/// comparison as the reference does: line i of one against line i of the
/// other, over the larger line count (a final newline does not start another
/// line); 0 for two empty texts.
double changed_line_fraction(std::string_view before, std::string_view after);

/// The reference's patch→replace rule with its bug fixed (§4 item 5): a diff
/// that does not apply is Errc::invalid_input, naming the edit (never the diff
/// text as the new prompt); a diff that applies but changes more than
/// `max_change` of the lines becomes a replace_system_prompt whose
/// new_content is the *patched text* (same id, target, agent, rationale,
/// expected improvement and references; tier and pillar of the new op);
/// otherwise the edit is returned unchanged. An edit that is not a
/// patch_system_prompt is returned unchanged.
result<Edit> resolve_prompt_patch(Edit const& patch, std::string_view current_prompt, double max_change = 0.5);

}  // namespace leash::learn::spec_search

#include <leash/learn/spec_search/impl/applier.hpp>

#endif
