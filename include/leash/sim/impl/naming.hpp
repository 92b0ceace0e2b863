// leash/sim/impl/naming.hpp — definitions for sim/naming.hpp.
#ifndef LEASH_SIM_IMPL_NAMING_HPP
#define LEASH_SIM_IMPL_NAMING_HPP

#include <leash/sim/detail/time_text.hpp>

#include <charconv>
#include <cstdio>
#include <system_error>

namespace leash::sim {

namespace detail::naming_impl {

inline bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// A non-empty run of digits that fits an int, and nothing else.
inline std::optional<int> parse_count(std::string_view s) noexcept {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!is_ascii_digit(c)) return std::nullopt;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// `rest` is "" or "_s<i>_<type>" (type non-empty, without '.' or '/'),
// followed by ".txt": the tail after "_run<N>".
inline bool parse_session_tail(std::string_view rest, TranscriptSuffix& out) {
  constexpr std::string_view ext = ".txt";
  if (rest.size() < ext.size() || rest.substr(rest.size() - ext.size()) != ext) return false;
  rest.remove_suffix(ext.size());
  if (rest.empty()) return true;
  if (!rest.starts_with("_s")) return false;
  rest.remove_prefix(2);
  auto sep = rest.find('_');
  if (sep == std::string_view::npos) return false;
  auto index = parse_count(rest.substr(0, sep));
  auto type = rest.substr(sep + 1);
  if (!index || type.empty() || type.find_first_of("./") != std::string_view::npos) return false;
  out.session_index = *index;
  out.session_type = std::string(type);
  return true;
}

}  // namespace detail::naming_impl

inline std::string sanitize_name_part(std::string_view part) {
  namespace nm = detail::naming_impl;
  std::string out;
  out.reserve(part.size());
  for (char c : part) {
    auto b = static_cast<unsigned char>(c);
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || nm::is_ascii_digit(c) || c == '-' || c == '_' ||
        b >= 0x80)
      out += c;
    else if (c != '.')
      out += '_';
  }
  if (out.empty()) out = "_";
  return out;
}

inline std::string transcript_stem(std::string_view persona, std::string_view persona_model,
                                   std::string_view workflow, int run, int session_index,
                                   std::string_view session_type) {
  std::string stem = sanitize_name_part(persona);
  stem += '_';
  stem += sanitize_name_part(persona_model);
  if (!workflow.empty()) {
    stem += '_';
    stem += sanitize_name_part(workflow);
  }
  stem += "_run" + std::to_string(run);
  if (session_index > 0) {
    stem += "_s" + std::to_string(session_index) + '_';
    stem += sanitize_name_part(session_type);
  }
  return stem;
}

inline std::string new_tag(std::mt19937_64& rng) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06llx", static_cast<unsigned long long>(rng() & 0xFFFFFFu));
  return buf;
}

inline std::optional<TranscriptSuffix> parse_transcript_suffix(std::string_view file_name) {
  namespace nm = detail::naming_impl;
  constexpr std::string_view marker = "_run";
  for (auto at = file_name.find(marker); at != std::string_view::npos; at = file_name.find(marker, at + 1)) {
    auto digits_begin = at + marker.size();
    auto digits_end = digits_begin;
    while (digits_end < file_name.size() && nm::is_ascii_digit(file_name[digits_end])) ++digits_end;
    auto run = nm::parse_count(file_name.substr(digits_begin, digits_end - digits_begin));
    if (!run) continue;
    TranscriptSuffix out;
    out.run = *run;
    if (nm::parse_session_tail(file_name.substr(digits_end), out)) return out;
  }
  return std::nullopt;
}

inline std::string run_folder_token(std::string_view model) {
  std::string dashed(model);
  for (char& c : dashed)
    if (c == '-' || c == '.') c = '_';
  std::string out;
  for (char c : sanitize_name_part(dashed))
    if (!(c == '_' && !out.empty() && out.back() == '_')) out += c;
  return out;
}

inline std::string run_folder_name(std::string_view persona_model, std::string_view provider_model, int turns,
                                   int runs, double when) {
  return "p_" + run_folder_token(persona_model) + "__a_" + run_folder_token(provider_model) + "__t" +
         std::to_string(turns) + "__r" + std::to_string(runs) + "__" + detail::local_stamp(when, true);
}

inline std::optional<RunFolderName> parse_run_folder_name(std::string_view name) {
  namespace nm = detail::naming_impl;
  // Read from the right: the stamp, runs and turns have fixed shapes; what is
  // left is "p_<pm>__a_<am>", and neither token contains "__".
  RunFolderName out;
  auto last = name.rfind("__");
  if (last == std::string_view::npos) return std::nullopt;
  auto stamp = name.substr(last + 2);
  if (stamp.size() != 15 || stamp[8] != '_' || !nm::parse_count(stamp.substr(0, 8)) ||
      !nm::parse_count(stamp.substr(9)))
    return std::nullopt;
  out.stamp = std::string(stamp);
  name = name.substr(0, last);

  auto take_number = [&name](std::string_view prefix) -> std::optional<int> {
    auto at = name.rfind(prefix);
    if (at == std::string_view::npos) return std::nullopt;
    auto n = nm::parse_count(name.substr(at + prefix.size()));
    if (n) name = name.substr(0, at);
    return n;
  };
  auto runs = take_number("__r");
  if (!runs) return std::nullopt;
  auto turns = take_number("__t");
  if (!turns) return std::nullopt;
  out.runs = *runs;
  out.turns = *turns;

  if (!name.starts_with("p_")) return std::nullopt;
  name.remove_prefix(2);
  auto split = name.find("__a_");
  if (split == std::string_view::npos) return std::nullopt;
  out.persona_model = std::string(name.substr(0, split));
  out.provider_model = std::string(name.substr(split + 4));
  if (out.persona_model.empty() || out.provider_model.empty()) return std::nullopt;
  return out;
}

}  // namespace leash::sim

#endif
