// leash/sim/impl/persona.hpp — definitions for sim/persona.hpp.
#ifndef LEASH_SIM_IMPL_PERSONA_HPP
#define LEASH_SIM_IMPL_PERSONA_HPP

#include <leash/store/detail/file_io.hpp>

#include <algorithm>
#include <system_error>

#include <fcntl.h>

namespace leash::sim {

namespace detail::persona_impl {

// A template split once into literal text and keys, so a sheet's rows are
// filled without re-parsing and a syntax error is reported once.
struct Piece {
  std::string text;
  bool is_key = false;
};

inline result<std::vector<Piece>> parse_template(std::string_view tmpl) {
  std::vector<Piece> pieces;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) pieces.push_back(Piece{std::move(literal), false});
    literal.clear();
  };
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    bool doubled = i + 1 < tmpl.size() && tmpl[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      literal += c;
      ++i;
    } else if (c == '}') {
      return Error{Errc::invalid_input,
                   "template: a single '}' at offset " + std::to_string(i) + " (write '}}' for a literal brace)"};
    } else if (c == '{') {
      auto close = tmpl.find_first_of("{}", i + 1);
      if (close == std::string_view::npos || tmpl[close] == '{')
        return Error{Errc::invalid_input, "template: the '{' at offset " + std::to_string(i) +
                                              " is not closed (write '{{' for a literal brace)"};
      auto key = tmpl.substr(i + 1, close - i - 1);
      if (key.empty())
        return Error{Errc::invalid_input, "template: an empty placeholder '{}' at offset " + std::to_string(i)};
      flush();
      pieces.push_back(Piece{std::string(key), true});
      i = close;
    } else {
      literal += c;
    }
  }
  flush();
  return pieces;
}

using Fields = std::vector<std::pair<std::string, std::string>>;

inline std::string const* find_field(Fields const& fields, std::string_view key) {
  for (auto const& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}

// The first key the fields lack, if any.
inline std::optional<std::string> missing_key(std::vector<Piece> const& pieces, Fields const& fields) {
  for (auto const& p : pieces)
    if (p.is_key && !find_field(fields, p.text)) return p.text;
  return std::nullopt;
}

// Every key must be present (check missing_key first).
inline std::string fill(std::vector<Piece> const& pieces, Fields const& fields) {
  std::string out;
  for (auto const& p : pieces) out += p.is_key ? *find_field(fields, p.text) : p.text;
  return out;
}

inline result<std::string> read_text(std::filesystem::path const& path, std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Error{Errc::invalid_input, std::string(what) + " " + path.string() + " does not exist"};
  leash::detail::UniqueFd fd;
  std::string text;
  if (auto oerr = leash::detail::file_io::open_file(path, O_RDONLY, fd))
    return Error{Errc::invalid_input,
                 "cannot read " + std::string(what) + " " + path.string() + ": " + oerr.message()};
  if (auto rerr = leash::detail::file_io::read_all(fd.get(), text))
    return Error{Errc::invalid_input,
                 "cannot read " + std::string(what) + " " + path.string() + ": " + rerr.message()};
  return text;
}

// A tab-separated sheet read one record at a time. Quotes open a field only
// at its start (a quote inside an unquoted field is text, as in most
// spreadsheet exports); text after a closing quote is kept.
class TsvReader {
 public:
  TsvReader(std::string_view text, std::string name) : text_(text), name_(std::move(name)) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // a BOM from spreadsheet exports
  }

  // The next non-blank record (empty at the end); `line` is where it starts.
  result<std::optional<std::vector<std::string>>> next(std::size_t& line) {
    while (pos_ < text_.size()) {
      line = line_;
      auto eol = text_.find('\n', pos_);
      auto raw = text_.substr(pos_, eol == std::string_view::npos ? std::string_view::npos : eol - pos_);
      if (raw.find_first_not_of(" \t\r") == std::string_view::npos) {  // blank
        pos_ = eol == std::string_view::npos ? text_.size() : eol + 1;
        ++line_;
        continue;
      }
      return record(line);
    }
    return std::optional<std::vector<std::string>>{};
  }

 private:
  result<std::optional<std::vector<std::string>>> record(std::size_t line) {
    std::vector<std::string> fields(1);
    bool at_field_start = true;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (at_field_start && c == '"') {
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size())
            return Error{Errc::invalid_input,
                         name_ + ":" + std::to_string(line) + ": a quoted field is not closed"};
          char q = text_[pos_++];
          if (q == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              fields.back() += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (q == '\n') ++line_;
          fields.back() += q;
        }
        at_field_start = false;
        continue;
      }
      ++pos_;
      if (c == '\t') {
        fields.emplace_back();
        at_field_start = true;
      } else if (c == '\n') {
        ++line_;
        break;
      } else if (c == '\r' && (pos_ >= text_.size() || text_[pos_] == '\n')) {
        // the CR of a CRLF line end: dropped
      } else {
        fields.back() += c;
        at_field_start = false;
      }
    }
    return std::optional<std::vector<std::string>>(std::move(fields));
  }

  std::string_view text_;
  std::string name_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

}  // namespace detail::persona_impl

inline result<std::string> fill_template(std::string_view tmpl,
                                         std::vector<std::pair<std::string, std::string>> const& fields) {
  namespace pi = detail::persona_impl;
  BOOST_OUTCOME_TRY(auto pieces, pi::parse_template(tmpl));
  if (auto key = pi::missing_key(pieces, fields))
    return Error{Errc::invalid_input, "template: no value for the placeholder {" + *key + "}"};
  return pi::fill(pieces, fields);
}

inline result<LoadedPersonas> load_personas(std::filesystem::path const& sheet,
                                            std::filesystem::path const& template_file,
                                            PersonaLoad const& options) {
  namespace pi = detail::persona_impl;
  if (options.max_personas && *options.max_personas <= 0)
    return Error{Errc::invalid_input,
                 "max_personas must be greater than 0, not " + std::to_string(*options.max_personas)};
  BOOST_OUTCOME_TRY(auto sheet_text, pi::read_text(sheet, "persona sheet"));
  BOOST_OUTCOME_TRY(auto template_text, pi::read_text(template_file, "persona template"));
  auto pieces = pi::parse_template(template_text);
  if (!pieces) return Error{Errc::invalid_input, template_file.string() + ": " + pieces.error().message};

  pi::TsvReader reader(sheet_text, sheet.string());
  std::size_t line = 0;
  BOOST_OUTCOME_TRY(auto header_row, reader.next(line));
  if (!header_row) return Error{Errc::invalid_input, "persona sheet " + sheet.string() + " is empty"};
  auto const header = std::move(*header_row);
  auto const name_at = std::find(header.begin(), header.end(), "Name");
  if (name_at == header.end())
    return Error{Errc::invalid_input, "persona sheet " + sheet.string() + " has no \"Name\" column"};
  for (auto it = header.begin(); it != header.end(); ++it)
    if (std::find(header.begin(), it, *it) != it)
      return Error{Errc::invalid_input, sheet.string() + ":" + std::to_string(line) + ": the column \"" + *it +
                                            "\" appears twice in the header"};
  auto const name_column = static_cast<std::size_t>(name_at - header.begin());

  LoadedPersonas out;
  std::vector<bool> found(options.names.size(), false);
  bool stopped_early = false;
  for (;;) {
    if (options.max_personas && static_cast<long>(out.personas.size()) >= *options.max_personas) {
      stopped_early = true;
      break;
    }
    BOOST_OUTCOME_TRY(auto row, reader.next(line));
    if (!row) break;
    if (row->size() != header.size())
      return Error{Errc::invalid_input, sheet.string() + ":" + std::to_string(line) + ": " +
                                            std::to_string(row->size()) + " columns where the header has " +
                                            std::to_string(header.size())};
    auto const& name = (*row)[name_column];
    if (!options.names.empty()) {
      auto hit = std::find(options.names.begin(), options.names.end(), name);
      if (hit == options.names.end()) continue;
      found[static_cast<std::size_t>(hit - options.names.begin())] = true;
    }
    if (name.empty()) {
      out.warnings.push_back(sheet.string() + ":" + std::to_string(line) + ": a row with an empty Name; skipped");
      continue;
    }
    Persona p;
    p.name = name;
    for (std::size_t i = 0; i < header.size(); ++i) p.fields.emplace_back(header[i], std::move((*row)[i]));
    if (auto key = pi::missing_key(pieces.value(), p.fields)) {
      out.warnings.push_back("persona \"" + p.name + "\" (" + sheet.string() + ":" + std::to_string(line) +
                             ") skipped: the template needs {" + *key + "}, which the sheet does not have");
      continue;
    }
    p.prompt = pi::fill(pieces.value(), p.fields);
    out.personas.push_back(std::move(p));
  }
  // Whether a name is absent is only known when the whole sheet was read.
  if (!stopped_early)
    for (std::size_t i = 0; i < options.names.size(); ++i)
      if (!found[i]) out.warnings.push_back("persona \"" + options.names[i] + "\" is not in " + sheet.string());
  return out;
}

}  // namespace leash::sim

#endif
