// Uses leash through add_subdirectory: headers, OpenSSL (digest) and the
// compiled Boost.JSON (canonical_json) must all come through leash::leash.
#include <leash/error.hpp>
#include <leash/json.hpp>

#include <iostream>
#include <string>
#include <system_error>

int main() {
  std::string const d = leash::digest("abc");
  std::error_code const ec = leash::Errc::tool_timeout;
  std::string const canon = leash::canonical_json(leash::json::parse(R"({"b":1,"a":[true,null]})"));
  leash::result<int> const r = leash::Error{leash::Errc::unknown_tool, "no tool named 'nope'"};

  std::cout << "digest(\"abc\") = " << d << '\n'
            << "Errc::tool_timeout: " << ec.message() << '\n'
            << "canonical_json: " << canon << '\n'
            << "result error: " << r.error().what() << '\n';

  bool const ok = d == "ba7816bf8f01cfea"  // SHA-256("abc")
                  && ec == std::errc::timed_out && canon == R"({"a":[true,null],"b":1})" &&
                  r.error() == leash::Errc::unknown_tool;
  return ok ? 0 : 1;
}
