// leash/learn/spec_search/impl/applier.hpp — definitions for applier.hpp:
// the config home, snapshots, the TOML writer, the per-op changes and the
// unified-diff applier.
#ifndef LEASH_LEARN_SPEC_SEARCH_IMPL_APPLIER_HPP
#define LEASH_LEARN_SPEC_SEARCH_IMPL_APPLIER_HPP

#include <leash/json.hpp>
#include <leash/store/detail/file_io.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <system_error>
#include <utility>

namespace leash::learn::spec_search {

namespace detail {

namespace ac = ::leash::learn::detail;  // agent_config's TOML and file helpers

inline constexpr std::array<std::string_view, 3> reserved_agent_names{"models", "routing", "tools"};

inline bool is_reserved_agent_name(std::string_view name) noexcept {
  return std::find(reserved_agent_names.begin(), reserved_agent_names.end(), name) != reserved_agent_names.end();
}

/// `text` quoted for a message: control bytes escaped, cut after `cap` bytes.
inline std::string quote_text(std::string_view text, std::size_t cap = 80) {
  auto keep = leash::utf8_prefix(text, cap);
  return "'" + ac::printable(text.substr(0, keep)) + (keep < text.size() ? "…'" : "'");
}

inline Error edit_error(Edit const& e, std::string_view what) {
  return Error(Errc::invalid_input,
               "edit " + quote_text(e.id) + " (" + std::string(to_string(e.op)) + "): " + std::string(what));
}

inline Error io_failure(std::string_view what, std::filesystem::path const& path, std::error_code ec) {
  return Error(Errc::store_failed, "spec search: cannot " + std::string(what) + " " + path.string() + ": " + ec.message());
}

/// A string field of the payload; check_edit has made sure required ones exist.
inline std::string payload_string(Edit const& e, std::string_view key) { return str_or(e.payload, key); }

inline bool is_agent_op(EditOp op) noexcept {
  switch (op) {
    case EditOp::patch_system_prompt:
    case EditOp::replace_system_prompt:
    case EditOp::set_agent_class:
    case EditOp::set_agent_param:
    case EditOp::edit_few_shot_exemplars:
    case EditOp::add_tool_to_agent:
    case EditOp::remove_tool_from_agent:
      return true;
    default:
      return false;
  }
}

// ---- text as lines -------------------------------------------------------------

/// A text as its lines (without their '\n') and whether the last one ended
/// with '\n'; "" has no lines. join_lines(split_lines(t)) == t for every t.
struct TextLines {
  std::vector<std::string> lines;
  bool final_newline = false;
};

inline TextLines split_lines(std::string_view text) {
  TextLines out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      out.lines.emplace_back(text.substr(start));
      return out;
    }
    out.lines.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  out.final_newline = !text.empty();
  return out;
}

inline std::string join_lines(TextLines const& t) {
  std::string out;
  for (std::size_t i = 0; i < t.lines.size(); ++i) {
    out += t.lines[i];
    if (i + 1 < t.lines.size() || t.final_newline) out += '\n';
  }
  return out;
}

// ---- unified diffs ---------------------------------------------------------------

struct Hunk {
  std::string header;
  std::optional<std::size_t> old_start;  ///< 1-based line the header states; nullopt: no numbers
  std::optional<std::size_t> old_count;  ///< as stated (only used for pure insertions)
  std::vector<std::string> old_lines;    ///< context and removed lines, in order
  std::vector<std::string> new_lines;    ///< context and added lines, in order
  bool old_no_eol = false;               ///< the old side's last line had no '\n'
  bool new_no_eol = false;               ///< the new side's last line has no '\n'
};

/// "-l[,n]" after "@@"; nothing when the header has no numbers.
inline void parse_hunk_header(Hunk& h) {
  std::string_view s(h.header);
  s.remove_prefix(2);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty() || s.front() != '-') return;
  s.remove_prefix(1);
  auto digits = [&](std::size_t& out) {
    std::size_t n = 0, used = 0;
    while (used < s.size() && s[used] >= '0' && s[used] <= '9' && used < 12) n = n * 10 + std::size_t(s[used++] - '0');
    s.remove_prefix(used);
    out = n;
    return used > 0;
  };
  std::size_t start = 0, count = 0;
  if (!digits(start)) return;
  h.old_start = start;
  if (!s.empty() && s.front() == ',' && (s.remove_prefix(1), digits(count))) h.old_count = count;
}

inline result<std::vector<Hunk>> parse_unified_diff(std::string_view diff) {
  std::vector<Hunk> hunks;
  auto raw = split_lines(diff).lines;
  enum class Last { none, context, removed, added } last = Last::none;
  std::size_t trailing_blank = 0;  // blank lines at a hunk's end: spacing, not context
  auto close = [&] {
    if (hunks.empty()) return;
    auto& h = hunks.back();
    h.old_lines.resize(h.old_lines.size() - trailing_blank);
    h.new_lines.resize(h.new_lines.size() - trailing_blank);
    trailing_blank = 0;
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string_view line = raw[i];
    if (line.starts_with("@@")) {
      close();
      hunks.emplace_back().header = std::string(line);
      parse_hunk_header(hunks.back());
      last = Last::none;
      continue;
    }
    if (hunks.empty()) continue;  // headers or prose before the first hunk
    auto& h = hunks.back();
    if (line.empty()) {
      h.old_lines.emplace_back();
      h.new_lines.emplace_back();
      ++trailing_blank;
      last = Last::context;
      continue;
    }
    trailing_blank = 0;
    switch (line.front()) {
      case ' ':
        h.old_lines.emplace_back(line.substr(1));
        h.new_lines.emplace_back(line.substr(1));
        last = Last::context;
        break;
      case '-':
        h.old_lines.emplace_back(line.substr(1));
        last = Last::removed;
        break;
      case '+':
        h.new_lines.emplace_back(line.substr(1));
        last = Last::added;
        break;
      case '\\':  // "\ No newline at end of file": about the line before it
        if (last == Last::removed || last == Last::context) h.old_no_eol = true;
        if (last == Last::added || last == Last::context) h.new_no_eol = true;
        break;
      default:
        return bad("line " + std::to_string(i + 1) + " of the diff (" + quote_text(line) + ") is not part of hunk " +
                   std::to_string(hunks.size()) + ": hunk lines start with ' ', '-', '+' or '\\'");
    }
  }
  close();
  if (hunks.empty()) return bad("the diff has no hunk (no line starting with '@@')");
  return hunks;
}

/// What the text has at `at` compared with the hunk's old side, for an error.
inline std::string first_mismatch(std::vector<std::string> const& text, std::ptrdiff_t at, Hunk const& h) {
  if (at < 0 || std::size_t(at) > text.size()) return "the text has " + std::to_string(text.size()) + " lines";
  for (std::size_t k = 0; k < h.old_lines.size(); ++k) {
    auto pos = std::size_t(at) + k;
    if (pos >= text.size())
      return "the text ends after line " + std::to_string(text.size()) + " where the hunk expects " +
             quote_text(h.old_lines[k]);
    if (text[pos] != h.old_lines[k])
      return "line " + std::to_string(pos + 1) + " is " + quote_text(text[pos]) + " where the hunk expects " +
             quote_text(h.old_lines[k]);
  }
  return "it overlaps the previous hunk there";
}

// ---- TOML writing ------------------------------------------------------------------
// toml++ 3.3's own formatter prints 0.3 as 0.29999999999999999 and may pick
// string forms that do not read back (agent_config.hpp), so documents are
// written here, with toml++ only formatting strings, booleans and dates.

inline bool is_bare_key(std::string_view k) noexcept {
  if (k.empty()) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

inline std::string toml_key(std::string_view k) {
  if (is_bare_key(k)) return std::string(k);
  return ac::toml_value(toml::value<std::string>(std::string(k)));
}

/// An array written as [[name]] sections: a non-empty array of tables that
/// were not all written inline.
inline bool is_section_array(toml::node const& n) {
  auto const* a = n.as_array();
  if (!a || a->empty() || !a->is_array_of_tables()) return false;
  return std::any_of(a->begin(), a->end(), [](toml::node const& e) { return !e.as_table()->is_inline(); });
}

inline bool is_section(toml::node const& n) {
  auto const* t = n.as_table();
  return t && !t->is_inline();
}

inline void write_inline(toml::node const& n, std::string& out) {
  if (auto const* t = n.as_table()) {
    if (t->empty()) {
      out += "{}";
      return;
    }
    out += "{ ";
    bool first = true;
    for (auto&& [k, v] : *t) {
      if (!first) out += ", ";
      first = false;
      out += toml_key(k.str());
      out += " = ";
      write_inline(v, out);
    }
    out += " }";
  } else if (auto const* a = n.as_array()) {
    if (a->empty()) {
      out += "[]";
      return;
    }
    out += "[ ";
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ", ";
      write_inline(*a->get(i), out);
    }
    out += " ]";
  } else if (auto const* i = n.as_integer()) {
    out += std::to_string(i->get());
  } else if (auto const* f = n.as_floating_point()) {
    out += ac::toml_float(f->get());
  } else {
    out += ac::toml_value(n);
  }
}

/// `t`'s plain keys, then its sub-tables as [path.key] and its arrays of
/// tables as [[path.key]] (sections after values, as TOML requires).
inline void write_table(toml::table const& t, std::string const& path, std::string& out) {
  for (auto&& [k, v] : t) {
    if (is_section(v) || is_section_array(v)) continue;
    out += toml_key(k.str());
    out += " = ";
    write_inline(v, out);
    out += '\n';
  }
  for (auto&& [k, v] : t) {
    auto const sub = path.empty() ? toml_key(k.str()) : path + "." + toml_key(k.str());
    if (is_section(v)) {
      auto const& table = *v.as_table();
      // A table holding only sections is created by their headers; its own
      // header is written only when it has values, or nothing at all.
      bool const only_sections = !table.empty() && std::all_of(table.begin(), table.end(), [](auto&& kv) {
        return is_section(kv.second) || is_section_array(kv.second);
      });
      if (!only_sections) {
        if (!out.empty()) out += '\n';
        out += "[" + sub + "]\n";
      }
      write_table(table, sub, out);
    } else if (is_section_array(v)) {
      for (auto const& e : *v.as_array()) {
        if (!out.empty()) out += '\n';
        out += "[[" + sub + "]]\n";
        write_table(*e.as_table(), sub, out);
      }
    }
  }
}

inline std::string write_document(toml::table const& doc) {
  std::string out;
  write_table(doc, "", out);
  return out;
}

/// The TOML form of a JSON value appended to `a`; false for null, objects,
/// non-finite numbers and integers beyond int64.
inline bool push_json(toml::array& a, json::value const& v) {
  switch (v.kind()) {
    case json::kind::string: a.push_back(std::string(v.get_string())); return true;
    case json::kind::bool_: a.push_back(v.get_bool()); return true;
    case json::kind::int64: a.push_back(v.get_int64()); return true;
    case json::kind::uint64:
      if (v.get_uint64() > std::uint64_t(INT64_MAX)) return false;
      a.push_back(std::int64_t(v.get_uint64()));
      return true;
    case json::kind::double_:
      if (!std::isfinite(v.get_double())) return false;
      a.push_back(v.get_double());
      return true;
    case json::kind::array: {
      toml::array inner;
      for (auto const& x : v.get_array())
        if (!push_json(inner, x)) return false;
      a.push_back(std::move(inner));
      return true;
    }
    default:
      return false;
  }
}

/// t[key] = the TOML form of `v` (see push_json); false when it has none.
inline bool assign_json(toml::table& t, std::string_view key, json::value const& v) {
  toml::array one;
  if (!push_json(one, v)) return false;
  t.insert_or_assign(key, std::move(*one.get(0)));
  return true;
}

inline std::string json_text(json::value const& v) {
  auto s = json::serialize(v);
  auto keep = leash::utf8_prefix(s, 60);
  return keep < s.size() ? s.substr(0, keep) + "…" : s;
}

inline std::optional<std::int64_t> json_integer(json::value const& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= std::uint64_t(INT64_MAX)) return std::int64_t(v.get_uint64());
  return std::nullopt;
}

/// The table at keys[0].keys[1]… below `doc`, created when absent; an error
/// naming the key when something other than a table is in the way.
inline result<toml::table*> table_at(toml::table& doc, std::initializer_list<std::string_view> keys, Edit const& e,
                                     std::filesystem::path const& file) {
  toml::table* t = &doc;
  std::string path;
  for (auto key : keys) {
    path += path.empty() ? toml_key(key) : "." + toml_key(key);
    auto* n = t->get(key);
    if (!n) n = &t->insert(key, toml::table{}).first->second;
    auto* sub = n->as_table();
    if (!sub)
      return edit_error(e, "in " + file.string() + ", " + path + " is " + std::string(ac::toml_kind(*n)) +
                               ", not a table");
    t = sub;
  }
  return t;
}

// ---- the changes ------------------------------------------------------------------

/// A patch resolved against the prompt: the edit as it will be applied, and
/// the new prompt.
struct ResolvedPatch {
  Edit edit;
  std::string prompt;
};

inline result<ResolvedPatch> resolve_patch(Edit const& patch, std::string_view current, double max_change) {
  auto const* diff = patch.payload.if_contains("diff");
  if (!diff || !diff->is_string()) return edit_error(patch, "payload needs a string 'diff'");
  auto patched = apply_unified_diff(current, diff->get_string());
  if (!patched) return edit_error(patch, "the diff does not apply to the current prompt: " + patched.error().what());
  ResolvedPatch out{patch, std::move(patched).value()};
  if (changed_line_fraction(current, out.prompt) > max_change) {
    // Too large to review as a patch: it becomes the full new prompt.
    out.edit.op = EditOp::replace_system_prompt;
    out.edit.pillar = pillar_of(out.edit.op);
    out.edit.risk_tier = risk_tier_of(out.edit.op);
    json::object payload;
    if (auto const* agent = patch.payload.if_contains("agent")) payload["agent"] = *agent;
    payload["new_content"] = out.prompt;
    out.edit.payload = std::move(payload);
  }
  return out;
}

inline std::string list_names(std::vector<std::string> const& names) {
  if (names.empty()) return "none";
  std::string out;
  for (auto const& n : names) out += (out.empty() ? "" : ", ") + quote_text(n, 40);
  return out;
}

inline result<void> change_tools(toml::table& agent, std::string const& name, Edit const& e,
                                 ApplyOptions const& options) {
  std::vector<std::string> tools;
  if (auto const* node = agent.get("tools")) {
    auto const* array = node->as_array();
    if (!array) return edit_error(e, "[agent].tools of agent " + quote_text(name) + " is not an array");
    for (auto const& t : *array) {
      if (!t.is_string()) return edit_error(e, "[agent].tools of agent " + quote_text(name) + " holds a non-string");
      tools.push_back(t.as_string()->get());
    }
  }
  auto const tool = payload_string(e, "tool_name");
  auto const has = [](std::vector<std::string> const& list, std::string const& x) {
    return std::find(list.begin(), list.end(), x) != list.end();
  };
  auto const& available = options.available_tools;
  if (available && !has(*available, tool))
    return edit_error(e, "tool " + quote_text(tool) + " is not available (the agent's tools are " +
                             list_names(*available) + ")");

  if (e.op == EditOp::add_tool_to_agent) {
    // No list means every tool (apply_agent_config): adding one would
    // restrict the agent to it instead.
    if (tools.empty())
      return edit_error(e, "agent " + quote_text(name) + " has no tools list, so every tool, " + quote_text(tool) +
                               " included, is already enabled");
    if (has(tools, tool)) return edit_error(e, "tool " + quote_text(tool) + " is already enabled for agent " + quote_text(name));
    tools.push_back(tool);
  } else {
    if (tools.empty()) {
      if (!available)
        return edit_error(e, "agent " + quote_text(name) + " has no tools list, so every tool is enabled; removing " +
                                 quote_text(tool) + " needs ApplyOptions::available_tools to list the others");
      for (auto const& t : *available)
        if (t != tool && !has(tools, t)) tools.push_back(t);
    } else {
      if (!has(tools, tool))
        return edit_error(e, "tool " + quote_text(tool) + " is not enabled for agent " + quote_text(name) + " (its tools: " +
                                 list_names(tools) + ")");
      std::erase(tools, tool);
    }
    if (tools.empty())
      return edit_error(e, "removing " + quote_text(tool) + " would leave agent " + quote_text(name) +
                               " an empty tools list, which enables every tool");
  }
  toml::array out;
  for (auto& t : tools) out.push_back(std::move(t));
  agent.insert_or_assign("tools", std::move(out));
  return success();
}

inline result<void> change_agent_param(toml::table& agent, std::string const& name, Edit const& e) {
  auto const param = payload_string(e, "param");
  auto const& value = e.payload.at("value");
  if (param == "name") return edit_error(e, "the agent's name cannot be changed (it is also its file name)");
  if (param == "tools") return edit_error(e, "'tools' is changed by add_tool_to_agent and remove_tool_from_agent");
  // These have ops of their own in the review tier; an auto-tier
  // set_agent_param must not reach them.
  if (param == "system_prompt" || param == "class" || param == "few_shot") {
    auto const* op = param == "system_prompt" ? "patch_system_prompt or replace_system_prompt"
                     : param == "class"       ? "set_agent_class"
                                              : "edit_few_shot_exemplars";
    return edit_error(e, "'" + param + "' is changed by " + op + " (review tier), not by set_agent_param");
  }
  auto wrong = [&](std::string_view wanted) {
    return edit_error(e, "[agent]." + toml_key(param) + " must be " + std::string(wanted) + ", not " + json_text(value));
  };
  if (param == "max_turns") {
    auto n = json_integer(value);
    if (!n || *n < 1 || *n > INT_MAX) return wrong("an integer from 1 to " + std::to_string(INT_MAX));
    agent.insert_or_assign("max_turns", *n);
    return success();
  }
  if (param == "temperature") {
    auto x = number_of(value);
    if (!x || !std::isfinite(*x) || *x < 0) return wrong("a finite number of at least 0");
    agent.insert_or_assign("temperature", *x);
    return success();
  }
  auto const* existing = agent.get(param);
  if (!existing)
    return edit_error(e, "agent " + quote_text(name) + " has no [agent]." + toml_key(param) +
                             "; set_agent_param changes max_turns, temperature or a key the [agent] table already has");
  switch (existing->type()) {
    case toml::node_type::integer: {
      auto n = json_integer(value);
      if (!n) return wrong("an integer, as it is now");
      agent.insert_or_assign(param, *n);
      return success();
    }
    case toml::node_type::floating_point: {
      auto x = number_of(value);
      if (!x || !std::isfinite(*x)) return wrong("a finite number, as it is now");
      agent.insert_or_assign(param, *x);
      return success();
    }
    case toml::node_type::string:
      if (!value.is_string()) return wrong("a string, as it is now");
      break;
    case toml::node_type::boolean:
      if (!value.is_bool()) return wrong("a boolean, as it is now");
      break;
    case toml::node_type::array:
      if (!value.is_array()) return wrong("an array, as it is now");
      break;
    default:
      return edit_error(e, "[agent]." + toml_key(param) + " is " + std::string(ac::toml_kind(*existing)) +
                               ", which set_agent_param does not change");
  }
  if (!assign_json(agent, param, value)) return wrong("a value TOML can hold");
  return success();
}

/// Changes `doc`, the parsed file of an agent op; `effective` is the edit as
/// applied.
inline result<void> change_agent(toml::table& doc, Edit const& e, ApplyOptions const& options, Edit& effective) {
  auto const name = agent_of(e);
  auto* node = doc.get("agent");
  auto* agent = node ? node->as_table() : nullptr;
  if (!agent) return edit_error(e, "the file of agent " + quote_text(name) + " has no [agent] table");
  switch (e.op) {
    case EditOp::replace_system_prompt:
      agent->insert_or_assign("system_prompt", payload_string(e, "new_content"));
      return success();
    case EditOp::patch_system_prompt: {
      std::string current;
      if (auto const* p = agent->get("system_prompt")) {
        if (!p->is_string()) return edit_error(e, "[agent].system_prompt of agent " + quote_text(name) + " is not a string");
        current = p->as_string()->get();
      }
      BOOST_OUTCOME_TRY(auto resolved, resolve_patch(e, current, options.max_patch_change));
      agent->insert_or_assign("system_prompt", std::move(resolved.prompt));
      effective = std::move(resolved.edit);
      return success();
    }
    case EditOp::set_agent_class:
      agent->insert_or_assign("class", payload_string(e, "new_class"));
      return success();
    case EditOp::set_agent_param:
      return change_agent_param(*agent, name, e);
    case EditOp::edit_few_shot_exemplars: {
      toml::array list;
      for (auto const& x : e.payload.at("exemplars").get_array()) {
        toml::table pair;
        pair.is_inline(true);
        pair.insert_or_assign("input", str_or(x.get_object(), "input"));
        pair.insert_or_assign("output", str_or(x.get_object(), "output"));
        list.push_back(std::move(pair));
      }
      agent->insert_or_assign("few_shot", std::move(list));
      return success();
    }
    case EditOp::add_tool_to_agent:
    case EditOp::remove_tool_from_agent:
      return change_tools(*agent, name, e, options);
    default:
      return edit_error(e, "no applier for this op");
  }
}

/// Changes `doc`, the parsed models.toml, routing.toml or tools.toml.
inline result<void> change_shared(toml::table& doc, Edit const& e, std::filesystem::path const& file) {
  switch (e.op) {
    case EditOp::set_model_param: {
      BOOST_OUTCOME_TRY(auto* t, table_at(doc, {"models", payload_string(e, "model")}, e, file));
      if (!assign_json(*t, payload_string(e, "param"), e.payload.at("value")))
        return edit_error(e, "the value " + json_text(e.payload.at("value")) + " cannot be written to TOML");
      return success();
    }
    case EditOp::set_model_for_query_class: {
      BOOST_OUTCOME_TRY(auto* t, table_at(doc, {"routing", "policy_map"}, e, file));
      t->insert_or_assign(payload_string(e, "query_class"), payload_string(e, "model"));
      return success();
    }
    case EditOp::edit_tool_description: {
      BOOST_OUTCOME_TRY(auto* t, table_at(doc, {"tools", payload_string(e, "tool_name")}, e, file));
      t->insert_or_assign("description", payload_string(e, "new_description"));
      return success();
    }
    default:
      return edit_error(e, "no applier for this op");
  }
}

}  // namespace detail

// ---- ConfigHome -------------------------------------------------------------------

inline ConfigHome::ConfigHome(std::filesystem::path root)
    // "" would make files without a parent directory to sync.
    : root_(root.empty() ? std::filesystem::path(".") : std::move(root)) {}

inline std::filesystem::path ConfigHome::agent_file(std::string_view agent) const {
  return root_ / (std::string(agent) + ".toml");
}
inline std::filesystem::path ConfigHome::models_file() const { return root_ / "models.toml"; }
inline std::filesystem::path ConfigHome::routing_file() const { return root_ / "routing.toml"; }
inline std::filesystem::path ConfigHome::tools_file() const { return root_ / "tools.toml"; }

inline result<std::filesystem::path> ConfigHome::file_of(Edit const& edit) const {
  switch (edit.op) {
    case EditOp::set_model_param:
      return models_file();
    case EditOp::set_model_for_query_class:
      return routing_file();
    case EditOp::edit_tool_description:
      return tools_file();
    case EditOp::lora_finetune:
      return detail::edit_error(edit, "no applier: LoRA fine-tuning is never applied automatically");
    default:
      break;
  }
  if (!detail::is_agent_op(edit.op)) return detail::edit_error(edit, "no applier for this op");
  auto const agent = agent_of(edit);
  if (!is_safe_agent_name(agent))
    return detail::edit_error(edit, "agent name " + detail::quote_text(agent) +
                                        " is not a safe file name (1-200 bytes, not starting with '.', no '/', '\\' "
                                        "or control characters)");
  if (detail::is_reserved_agent_name(agent))
    return detail::edit_error(edit, "agent name " + detail::quote_text(agent) + " is reserved for " + agent +
                                        ".toml of the config home");
  return agent_file(agent);
}

inline std::vector<std::string> ConfigHome::agents() const {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    auto const& p = it->path();
    std::error_code ignored;
    if (p.extension() != ".toml" || !it->is_regular_file(ignored)) continue;
    auto stem = p.stem().string();
    if (is_safe_agent_name(stem) && !detail::is_reserved_agent_name(stem)) out.push_back(std::move(stem));
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string ConfigHome::fingerprint() const {
  namespace fs = std::filesystem;
  std::vector<std::pair<std::string, fs::path>> files;
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    std::error_code ignored;
    if (it->path().extension() == ".toml" && it->is_regular_file(ignored))
      files.emplace_back(it->path().filename().string(), it->path());
  }
  std::sort(files.begin(), files.end());
  // name NUL size NUL bytes per file: no two sets of files give the same stream.
  std::string stream;
  for (auto const& [name, path] : files) {
    std::string bytes;
    stream += name;
    stream += '\0';
    if (::leash::learn::detail::read_whole_file(path, bytes)) {
      stream += "unreadable";
      stream += '\0';
      continue;
    }
    stream += std::to_string(bytes.size());
    stream += '\0';
    stream += bytes;
  }
  return leash::sha256_hex(stream);
}

// ---- snapshots -------------------------------------------------------------------

inline result<FileSnapshot> take_snapshot(std::filesystem::path const& file) {
  FileSnapshot snap{file, std::nullopt};
  std::string bytes;
  if (auto ec = ::leash::learn::detail::read_whole_file(file, bytes)) {
    if (ec == std::errc::no_such_file_or_directory) return snap;
    return detail::io_failure("read", file, ec);
  }
  snap.bytes = std::move(bytes);
  return snap;
}

inline result<void> restore(FileSnapshot const& snapshot) {
  namespace fio = leash::detail::file_io;
  auto const& file = snapshot.file;
  if (snapshot.bytes) {
    if (auto ec = fio::replace_atomically(file, *snapshot.bytes, ::leash::learn::detail::mode_of(file, 0666)))
      return detail::io_failure("restore", file, ec);
    return success();
  }
  std::error_code ec;
  if (!std::filesystem::remove(file, ec)) {
    if (ec) return detail::io_failure("remove", file, ec);
    return success();  // already absent
  }
  if (auto synced = fio::sync_directory(file.parent_path())) return detail::io_failure("sync the directory of", file, synced);
  return success();
}

// ---- applying ---------------------------------------------------------------------

inline result<AppliedEdit> apply_edit(ConfigHome const& home, Edit const& edit, ApplyOptions const& options) {
  namespace ac = ::leash::learn::detail;
  BOOST_OUTCOME_TRY(check_edit(edit));
  BOOST_OUTCOME_TRY(auto file, home.file_of(edit));
  BOOST_OUTCOME_TRY(auto before, take_snapshot(file));
  bool const agent_op = detail::is_agent_op(edit.op);
  if (agent_op && !before.bytes)
    return detail::edit_error(edit, "agent " + detail::quote_text(agent_of(edit)) + " has no configuration file " +
                                        file.string());

  toml::table doc;
  if (before.bytes)
    if (auto syntax = ac::parse_toml(*before.bytes, file.string(), doc))
      return detail::edit_error(edit, file.string() + " is not valid TOML (" + *syntax + ")");

  Edit effective = edit;
  if (agent_op) {
    BOOST_OUTCOME_TRY(detail::change_agent(doc, edit, options, effective));
  } else {
    BOOST_OUTCOME_TRY(detail::change_shared(doc, edit, file));
  }

  auto text = detail::write_document(doc);
  // What is written must read back as the same document (catches invalid
  // UTF-8 in a payload, which toml++ refuses to read).
  toml::table back;
  if (ac::parse_toml(text, file.string(), back) || detail::write_document(back) != text)
    return detail::edit_error(edit, "the new " + file.string() + " would not read back the same (invalid UTF-8?)");
  if (agent_op)
    if (auto parsed = parse_agent_config(text, file.string()); !parsed)
      return detail::edit_error(edit, "the agent's configuration would no longer be valid: " + parsed.error().what());

  namespace fio = leash::detail::file_io;
  if (auto ec = fio::replace_atomically(file, text, ac::mode_of(file, 0666))) {
    (void)restore(before);  // the rename may have happened before the failing directory sync
    return detail::io_failure("write", file, ec);
  }
  if (agent_op)
    if (auto reread = parse_agent_config_file(file); !reread) {
      (void)restore(before);
      if (reread.error() == Errc::store_failed) return std::move(reread).error();
      return detail::edit_error(edit, "the agent's configuration does not read back: " + reread.error().what());
    }
  return AppliedEdit{std::move(before), std::move(effective)};
}

inline result<void> rollback(AppliedEdit const& applied) { return restore(applied.before); }

// ---- diffs and prompts ------------------------------------------------------------

inline result<std::string> apply_unified_diff(std::string_view text, std::string_view diff) {
  BOOST_OUTCOME_TRY(auto hunks, detail::parse_unified_diff(diff));
  auto doc = detail::split_lines(text);
  auto& lines = doc.lines;
  bool const was_empty = lines.empty();
  std::ptrdiff_t delta = 0;        // lines added minus removed by earlier hunks
  std::ptrdiff_t last_offset = 0;  // how far the previous hunk was from where it said
  std::size_t min_pos = 0;         // hunks apply in order, without overlapping
  for (std::size_t k = 0; k < hunks.size(); ++k) {
    auto const& h = hunks[k];
    auto const name = "hunk " + std::to_string(k + 1) + " (" + detail::quote_text(h.header) + ")";
    auto const olen = h.old_lines.size();
    std::ptrdiff_t stated;
    if (h.old_start) {
      // "-l,0" inserts after line l; otherwise the block starts at line l.
      auto base = std::ptrdiff_t(*h.old_start);
      if (olen > 0 || h.old_count.value_or(1) != 0) base = std::max<std::ptrdiff_t>(base - 1, 0);
      stated = base + delta + last_offset;
    } else {
      stated = std::ptrdiff_t(min_pos);
    }

    std::optional<std::size_t> found;
    auto fits = [&](std::ptrdiff_t p) {
      return p >= std::ptrdiff_t(min_pos) && std::size_t(p) + olen <= lines.size();
    };
    auto matches = [&](std::ptrdiff_t p) {
      return std::equal(h.old_lines.begin(), h.old_lines.end(), lines.begin() + p);
    };
    if (olen == 0) {
      if (!h.old_start)
        return detail::bad(name + " only adds lines and its header has no line number to add them at");
      if (!fits(stated))
        return detail::bad(name + " adds lines after line " + std::to_string(stated) + ", outside the text's " +
                   std::to_string(lines.size()) + " lines (or before the previous hunk)");
      found = std::size_t(stated);
    } else if (lines.size() >= olen && lines.size() - olen >= min_pos) {
      // Nearest first: the stated line, then one line off either way, and so
      // on. Starting from the stated line clamped into the valid range gives
      // the same order and keeps a wild line number from costing anything.
      auto const lo = std::ptrdiff_t(min_pos), hi = std::ptrdiff_t(lines.size() - olen);
      auto const from = std::clamp(stated, lo, hi);
      for (std::ptrdiff_t d = 0; !found && (from - d >= lo || from + d <= hi); ++d) {
        for (auto p : {from - d, from + d}) {
          if (p >= lo && p <= hi && matches(p)) {
            found = std::size_t(p);
            break;
          }
          if (d == 0) break;
        }
      }
    }
    if (!found)
      return detail::bad(name + " does not apply: " + detail::first_mismatch(lines, stated, h) +
                 ", and its context and removed lines match nowhere else" +
                 (k > 0 ? " after the previous hunk" : ""));

    auto const pos = *found;
    bool const reaches_end = pos + olen == lines.size();
    lines.erase(lines.begin() + std::ptrdiff_t(pos), lines.begin() + std::ptrdiff_t(pos + olen));
    lines.insert(lines.begin() + std::ptrdiff_t(pos), h.new_lines.begin(), h.new_lines.end());
    if (reaches_end) {
      if (h.new_no_eol)
        doc.final_newline = false;
      else if (h.old_no_eol || was_empty)
        doc.final_newline = true;
    }
    last_offset = std::ptrdiff_t(pos) - stated;
    delta += std::ptrdiff_t(h.new_lines.size()) - std::ptrdiff_t(olen);
    min_pos = pos + h.new_lines.size();
  }
  return detail::join_lines(doc);
}

inline double changed_line_fraction(std::string_view before, std::string_view after) {
  auto const a = detail::split_lines(before).lines;
  auto const b = detail::split_lines(after).lines;
  auto const n = std::max(a.size(), b.size());
  if (n == 0) return 0.0;
  std::size_t changed = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (i >= a.size() || i >= b.size() || a[i] != b[i]) ++changed;
  return double(changed) / double(n);
}

inline result<Edit> resolve_prompt_patch(Edit const& patch, std::string_view current_prompt, double max_change) {
  if (patch.op != EditOp::patch_system_prompt) return patch;
  BOOST_OUTCOME_TRY(auto resolved, detail::resolve_patch(patch, current_prompt, max_change));
  return std::move(resolved.edit);
}

}  // namespace leash::learn::spec_search

#endif
