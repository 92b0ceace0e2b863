#ifndef LEASH_IMPL_POLICY_HPP
#define LEASH_IMPL_POLICY_HPP

namespace leash {

template <class... Ps>
std::optional<std::pair<std::string, Decision>> PolicyList<Ps...>::before_iteration(State const& s) {
  std::optional<std::pair<std::string, Decision>> out;
  auto visit = [&](auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (detail::has_before_iteration<P>) {
      if (out) return;
      Decision d = p.before_iteration(s);
      if (d.kind == DecisionKind::stop) out.emplace(policy_name<P>(), std::move(d));
    }
  };
  std::apply([&](auto&... p) { (visit(p), ...); }, policies_);
  return out;
}

template <class... Ps>
std::optional<std::pair<std::string, Decision>> PolicyList<Ps...>::before_action(State const& s,
                                                                                 ActionView const& a) {
  std::optional<std::pair<std::string, Decision>> out;
  auto visit = [&](auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    if constexpr (detail::has_before_action<P>) {
      if (out) return;
      Decision d = p.before_action(s, a);
      if (d.kind != DecisionKind::proceed) out.emplace(policy_name<P>(), std::move(d));
    }
  };
  std::apply([&](auto&... p) { (visit(p), ...); }, policies_);
  return out;
}

}  // namespace leash

#endif
