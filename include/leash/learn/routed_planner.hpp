// leash/learn/routed_planner.hpp — a planner that picks the model for every
// call with a Router, and tells the router how each call went.
//
//   leash::learn::HeuristicRouter router(registry);
//   leash::learn::RoutedPlanner planner(router, {small_transport, large_transport});
//   leash::Loop<decltype(planner), Tools> agent(goal, planner, …);
//
// Per call: the routing context is built from the query (the loop's goal when
// given in the options, else the first user message), the router names a
// model, and the call goes to the transport serving that model (a name no
// transport serves falls back to the first transport; the plan says which
// model answered, and the run records it). When the router learns online (it
// has `update(RoutingContext const&, std::string_view model, double reward)`,
// as BanditRouter does), the Reward scores the call from its latency, cost and
// tokens and the router is updated; a failed call is credited 0.
#ifndef LEASH_LEARN_ROUTED_PLANNER_HPP
#define LEASH_LEARN_ROUTED_PLANNER_HPP

#include <leash/learn/query.hpp>
#include <leash/learn/reward.hpp>
#include <leash/learn/router.hpp>
#include <leash/llm/llm_planner.hpp>
#include <leash/pricing.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace leash::learn {

struct RoutedPlannerOptions {
  /// Options of every underlying LlmPlanner.
  LlmPlannerOptions planner;
  /// What routing classifies; empty: the first user message of each request.
  std::string query;
  /// RoutingContext::urgency (above 0.8 the heuristic router picks the smallest model).
  double urgency = 0.5;
  /// Prices for the reward's cost part (a model without a price counts as free).
  Pricing pricing = default_pricing();
};

namespace detail {
template <class R> concept learns_online = requires(R& r, RoutingContext const& ctx, std::string_view m, double v) {
  r.update(ctx, m, v);
};
}  // namespace detail

template <class RouterT, class RewardT = HeuristicReward>
class RoutedPlanner {
  static_assert(check_router<RouterT>());
  static_assert(check_reward<RewardT>());

 public:
  /// `transports`: one per model the router may name (keyed by model_id()).
  RoutedPlanner(RouterT router, std::vector<llm::AnyTransport> transports, RoutedPlannerOptions options = {},
                RewardT reward = {})
      : router_(std::move(router)), options_(std::move(options)), reward_(std::move(reward)) {
    for (auto& t : transports) planners_.emplace_back(std::move(t), options_.planner);
  }

  boost::asio::awaitable<result<Plan>> plan(PlanRequest const& request) {
    if (planners_.empty()) co_return Error{Errc::invalid_config, "RoutedPlanner: no transports to route to"};
    std::string query = options_.query;
    if (query.empty())
      for (auto const& m : request.messages())
        if (m.role == "user") {
          query = m.content;
          break;
        }
    RoutingContext ctx = build_routing_context(query, options_.urgency);
    std::string chosen = router_.select_model(ctx);
    std::size_t index = 0;
    for (std::size_t i = 0; i < planners_.size(); ++i)
      if (planners_[i].model_id() == chosen) index = i;
    auto& planner = planners_[index];
    last_index_ = index;
    std::string const model(planner.model_id());
    ++calls_;

    auto const start = std::chrono::steady_clock::now();
    auto reply = co_await planner.plan(request);
    double const latency = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if constexpr (detail::learns_online<RouterT>) {
      double reward = 0.0;  // a failed call is the worst outcome
      if (reply.has_value()) {
        RewardInput in;
        in.latency_s = latency;
        in.prompt_tokens = reply.value().usage.input_tokens;
        in.completion_tokens = reply.value().usage.output_tokens;
        in.cost_usd = options_.pricing.estimate_cost(in.prompt_tokens, in.completion_tokens, model).value_or(0.0);
        in.model = model;
        in.query = query;
        in.response = reply.value().text;
        reward = reward_.compute(in);
      }
      // A router that refuses the model or the reward keeps what it knew.
      (void)router_.update(ctx, model, reward);
    }
    co_return reply;
  }

  /// The model of the last call (before any call: the first transport's).
  std::string_view model_id() const noexcept {
    return planners_.empty() ? std::string_view("none") : planners_[last_index_].model_id();
  }
  std::string_view provider() const noexcept {
    return planners_.empty() ? std::string_view() : planners_[last_index_].provider();
  }

  RouterT& router() noexcept { return router_; }
  RouterT const& router() const noexcept { return router_; }
  std::size_t calls() const noexcept { return calls_; }

 private:
  RouterT router_;
  RoutedPlannerOptions options_;
  RewardT reward_;
  std::vector<LlmPlanner> planners_;
  std::size_t last_index_ = 0;
  std::size_t calls_ = 0;
};

}  // namespace leash::learn

#endif
