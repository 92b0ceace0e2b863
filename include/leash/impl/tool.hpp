#ifndef LEASH_IMPL_TOOL_HPP
#define LEASH_IMPL_TOOL_HPP

namespace leash {

inline json::value normalize_for_fingerprint(json::value const& v) {
  // Threshold from the reference: a 200-char string is kept, a 201-char one hashed.
  constexpr std::size_t long_string = 200;
  switch (v.kind()) {
    case json::kind::string: {
      auto const& s = v.get_string();
      if (s.size() > long_string) return json::string("sha:" + digest(std::string_view(s)));
      return v;
    }
    case json::kind::array: {
      json::array out;
      out.reserve(v.get_array().size());
      for (auto const& e : v.get_array()) out.push_back(normalize_for_fingerprint(e));
      return out;
    }
    case json::kind::object: {
      json::object out;
      out.reserve(v.get_object().size());
      for (auto const& kv : v.get_object()) out[kv.key()] = normalize_for_fingerprint(kv.value());
      return out;
    }
    default: return v;
  }
}

inline std::string call_fingerprint(std::string_view tool, json::value const& normalized_args) {
  std::string text(tool);
  text += canonical_json(normalized_args);
  return digest(text);
}

}  // namespace leash

#endif
