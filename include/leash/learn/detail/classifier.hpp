// leash/learn/detail/classifier.hpp — the query classifier the miner and the
// evolver group traces by: a caller's function, or classify_query by default.
#ifndef LEASH_LEARN_DETAIL_CLASSIFIER_HPP
#define LEASH_LEARN_DETAIL_CLASSIFIER_HPP

#include <leash/learn/query.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace leash::learn {

/// Names the class of a query ("code", "math", "short", "long", "general" for
/// classify_query; any names for a classifier of one's own). An empty
/// QueryClassifier means leash::learn::classify_query.
using QueryClassifier = std::function<std::string(std::string_view)>;

namespace detail {

inline std::string class_of(QueryClassifier const& classify, std::string_view query) {
  if (classify) return classify(query);
  return std::string(to_string(classify_query(query)));
}

}  // namespace detail
}  // namespace leash::learn

#endif
