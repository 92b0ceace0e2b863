// A router type whose member is misnamed: RoutedPlanner says what to add.
#include <leash/learn/routed_planner.hpp>

struct PickFirst {
  std::string select(leash::learn::RoutingContext const&) const { return "m"; }
};

int main() {
  leash::learn::RoutedPlanner<PickFirst> planner(PickFirst{}, {});
  return planner.calls() == 0 ? 0 : 1;
}
