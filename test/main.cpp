// The test runner's entry point; the suites live in one file per header.
#define BOOST_TEST_MODULE leash
#include <boost/test/unit_test.hpp>
