// The twin of router_missing_select_model.cpp, corrected.
#include <leash/learn/routed_planner.hpp>

struct PickFirst {
  std::string select_model(leash::learn::RoutingContext const&) const { return "m"; }
};

int main() {
  leash::learn::RoutedPlanner<PickFirst> planner(PickFirst{}, {});
  return planner.calls() == 0 ? 0 : 1;
}
