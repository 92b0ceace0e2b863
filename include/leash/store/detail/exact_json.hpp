// leash/store/detail/exact_json.hpp — JSON parsing that reads every number
// back exactly as it was written.
//
// Boost.JSON before 1.83 converts some decimal numbers to a double one ulp
// away from the nearest (about one in seven of the shortest round-trip forms
// its own serializer writes). A store that hashes canonical JSON would then
// see a stored record fail its own check, and a resumed run would carry
// slightly different timestamps and costs. This parser hands Boost.JSON's
// tokens to a value_stack, as json::parser does, but converts doubles from
// their text with std::from_chars (correctly rounded).
#ifndef LEASH_STORE_DETAIL_EXACT_JSON_HPP
#define LEASH_STORE_DETAIL_EXACT_JSON_HPP

#include <leash/json.hpp>

#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace leash::detail {

class ExactJsonParser {
 public:
  /// Records nest user JSON (tool arguments, metric details); allow it deep.
  static constexpr std::size_t max_depth = 1024;

  ExactJsonParser() : parser_(options()) {}

  /// The single JSON value `text` holds. Invalid UTF-8 inside strings is
  /// accepted: stores keep tool output byte for byte, whatever it contains.
  json::value parse(std::string_view text, boost::system::error_code& ec) {
    parser_.reset();
    parser_.handler().stack.reset();
    parser_.handler().number.clear();
    auto used = parser_.write_some(false, text.data(), text.size(), ec);
    if (ec) return nullptr;
    if (used != text.size()) {
      ec = json::error::extra_data;
      return nullptr;
    }
    return parser_.handler().stack.release();
  }

 private:
  static json::parse_options options() {
    json::parse_options o;
    o.max_depth = max_depth;
    o.allow_invalid_utf8 = true;
    return o;
  }

  struct Handler {
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack stack;
    std::string number;  ///< a double's text when the input splits it

    using error_code = boost::system::error_code;
    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) { return true; }
    bool on_object_end(std::size_t n, error_code&) {
      stack.push_object(n);
      return true;
    }
    bool on_array_begin(error_code&) { return true; }
    bool on_array_end(std::size_t n, error_code&) {
      stack.push_array(n);
      return true;
    }
    bool on_key_part(json::string_view s, std::size_t, error_code&) {
      stack.push_chars(s);
      return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&) {
      stack.push_key(s);
      return true;
    }
    bool on_string_part(json::string_view s, std::size_t, error_code&) {
      stack.push_chars(s);
      return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&) {
      stack.push_string(s);
      return true;
    }
    bool on_number_part(json::string_view s, error_code&) {
      number.append(s.data(), s.size());
      return true;
    }
    bool on_int64(std::int64_t i, json::string_view, error_code&) {
      number.clear();
      stack.push_int64(i);
      return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, error_code&) {
      number.clear();
      stack.push_uint64(u);
      return true;
    }
    bool on_double(double approximate, json::string_view s, error_code&) {
      std::string_view text(s.data(), s.size());
      if (!number.empty()) {
        number.append(s.data(), s.size());
        text = number;
      }
      double exact = 0.0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), exact);
      // Out of range (1e999): keep what Boost.JSON made of it (infinity or zero).
      stack.push_double(ec == std::errc() && end == text.data() + text.size() ? exact : approximate);
      number.clear();
      return true;
    }
    bool on_bool(bool b, error_code&) {
      stack.push_bool(b);
      return true;
    }
    bool on_null(error_code&) {
      stack.push_null();
      return true;
    }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }
  };

  json::basic_parser<Handler> parser_;
};

}  // namespace leash::detail

#endif
