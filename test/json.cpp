#include <leash/json.hpp>
#include <boost/test/unit_test.hpp>

#include <climits>
#include <string>

namespace bj = leash::json;

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(sha256_known_vectors) {
  BOOST_TEST(leash::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(leash::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(leash::digest("abc") == "ba7816bf8f01cfea");
  BOOST_TEST(leash::digest("abc").size() == 16u);
}

BOOST_AUTO_TEST_CASE(excerpt_under_the_cap_is_unchanged) {
  BOOST_TEST(leash::excerpt("") == "");
  BOOST_TEST(leash::excerpt("hello") == "hello");
  std::string at_cap(leash::inline_cap, 'x');
  BOOST_TEST(leash::excerpt(at_cap) == at_cap);
}

BOOST_AUTO_TEST_CASE(excerpt_over_the_cap_keeps_the_head_and_names_the_rest,
                     *boost::unit_test::description("20000 chars -> 16384 + suffix = 16435, as the reference measured")) {
  std::string text(20000, 'a');
  text[19999] = 'z';  // the tail matters to the digest, not to the kept head
  std::string out = leash::excerpt(text);
  BOOST_TEST(out.size() == 16435u);
  BOOST_TEST(out.substr(0, 16384) == text.substr(0, 16384));
  BOOST_TEST(out.substr(16384) == "\n...[truncated 3616 chars, digest=" + leash::digest(text) + "]");

  std::string other = text;
  other[19999] = 'y';
  BOOST_TEST(leash::excerpt(other) != out);  // same head, different whole: different suffix

  BOOST_TEST(leash::excerpt(std::string(leash::inline_cap + 1, 'b')).find("truncated 1 chars") != std::string::npos);
  BOOST_TEST(leash::excerpt("abcdef", 3) == "abc\n...[truncated 3 chars, digest=" + leash::digest("abcdef") + "]");
}

BOOST_AUTO_TEST_CASE(canonical_json_ignores_key_order) {
  bj::object a;
  a["b"] = 1;
  a["a"] = bj::object{{"d", bj::array{3, 1, 2}}, {"c", nullptr}};
  bj::object b;
  bj::object inner;
  inner["c"] = nullptr;
  inner["d"] = bj::array{3, 1, 2};
  b["a"] = inner;
  b["b"] = 1;
  BOOST_TEST(bj::serialize(a) != bj::serialize(b));  // the plain form depends on insertion order
  BOOST_TEST(leash::canonical_json(a) == leash::canonical_json(b));
  BOOST_TEST(leash::canonical_json(a) == R"({"a":{"c":null,"d":[3,1,2]},"b":1})");
}

BOOST_AUTO_TEST_CASE(canonical_json_sorts_nested_objects_and_keeps_array_order) {
  bj::value v = bj::parse(R"([{"z":1,"y":[{"q":true,"p":"s"}]},2,"x"])");
  BOOST_TEST(leash::canonical_json(v) == R"([{"y":[{"p":"s","q":true}],"z":1},2,"x"])");
  BOOST_TEST(leash::canonical_json(bj::array{1, 2}) != leash::canonical_json(bj::array{2, 1}));
  // Keys and strings are escaped as JSON.
  BOOST_TEST(leash::canonical_json(bj::object{{"a\"b", "c\nd"}}) == R"({"a\"b":"c\nd"})");
}

BOOST_AUTO_TEST_CASE(with_thousands_groups_digits) {
  BOOST_TEST(leash::with_thousands(0) == "0");
  BOOST_TEST(leash::with_thousands(999) == "999");
  BOOST_TEST(leash::with_thousands(1000) == "1,000");
  BOOST_TEST(leash::with_thousands(500000) == "500,000");
  BOOST_TEST(leash::with_thousands(1234567) == "1,234,567");
  BOOST_TEST(leash::with_thousands(-1234567) == "-1,234,567");
  BOOST_TEST(leash::with_thousands(-12) == "-12");
  BOOST_TEST(leash::with_thousands(LLONG_MAX) == "9,223,372,036,854,775,807");
  BOOST_TEST(leash::with_thousands(LLONG_MIN) == "-9,223,372,036,854,775,808");
}

BOOST_AUTO_TEST_CASE(excerpt_never_splits_a_utf8_character) {
  std::string text = "ab";
  for (int i = 0; i < 20; ++i) text += "\xC3\xA9";  // é, two bytes each
  std::string cut = leash::excerpt(text, 5);          // 5 bytes would end inside the 2nd é
  BOOST_TEST(cut.rfind("ab\xC3\xA9\n...[truncated ", 0) == 0u);
  BOOST_TEST(leash::utf8_prefix(text, 5) == 4u);
  BOOST_TEST(leash::utf8_prefix(text, 6) == 6u);
  BOOST_TEST(leash::utf8_prefix("abc", 10) == 3u);
}

BOOST_AUTO_TEST_SUITE_END()
