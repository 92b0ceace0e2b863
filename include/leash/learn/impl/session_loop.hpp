#ifndef LEASH_LEARN_IMPL_SESSION_LOOP_HPP
#define LEASH_LEARN_IMPL_SESSION_LOOP_HPP

#include <leash/detail/tool_runner.hpp>  // describe_current_exception

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

namespace leash::learn {

namespace detail::sessions {

/// A cost as the loop counts it: NaN or negative is 0 (+inf stays, and ends any budget).
inline double counted_cost(double usd) noexcept { return usd > 0 ? usd : 0.0; }

inline std::string usd_text(double usd) { return "$" + leash::detail::format_number(usd); }

/// One step of the reference's bookkeeping over (best, streak).
inline void step(SessionRecord const& r, double eps, double& best, std::size_t& streak) noexcept {
  double const score = r.score.value_or(0.0);
  if (!r.failed && score > best + eps) {
    best = score;
    streak = 0;
  } else {
    ++streak;
  }
}

}  // namespace detail::sessions

inline void SessionHistory::add(SessionRecord record) {
  record.cost_usd = detail::sessions::counted_cost(record.cost_usd);
  total_cost_ += record.cost_usd;
  detail::sessions::step(record, eps_, best_, streak_);
  records_.push_back(std::move(record));
}

inline std::size_t SessionHistory::streak_for(double eps) const noexcept {
  if (eps == eps_) return streak_;
  double best = 0.0;
  std::size_t streak = 0;
  for (auto const& r : records_) detail::sessions::step(r, eps, best, streak);
  return streak;
}

inline double SessionHistory::best_score_for(double eps) const noexcept {
  if (eps == eps_) return best_;
  double best = 0.0;
  std::size_t streak = 0;
  for (auto const& r : records_) detail::sessions::step(r, eps, best, streak);
  return best;
}

template <int K>
result<void> Stagnation<K>::validate() const {
  if (!std::isfinite(eps) || eps < 0)
    return Error{Errc::invalid_config, "Stagnation: eps must be finite and >= 0, got " +
                                           leash::detail::format_number(eps)};
  return success();
}

template <int K>
std::optional<StopReason> Stagnation<K>::evaluate(SessionHistory const& h) const {
  std::size_t const streak = h.streak_for(eps);
  if (streak < static_cast<std::size_t>(K)) return std::nullopt;
  return StopReason{StopKind::stagnation,
                    "stagnation: " + std::to_string(streak) + " sessions without an improvement above " +
                        leash::detail::format_number(eps) + " (best " +
                        leash::detail::format_number(h.best_score_for(eps)) + ")"};
}

inline result<CostBudget> CostBudget::make(double max_total_usd) {
  if (!(max_total_usd > 0))
    return Error{Errc::invalid_config, "CostBudget: max_total_usd must be > 0, got " +
                                           leash::detail::format_number(max_total_usd)};
  return CostBudget(max_total_usd);
}

inline std::optional<double> CostBudget::remaining_usd(SessionHistory const& h) const noexcept {
  double const left = max_ - h.total_cost_usd();
  return left > 0 ? left : 0.0;
}

inline std::optional<StopReason> CostBudget::evaluate(SessionHistory const& h) const {
  if (h.total_cost_usd() < max_) return std::nullopt;
  return StopReason{StopKind::budget, "budget: spent " + detail::sessions::usd_text(h.total_cost_usd()) + " of " +
                                          detail::sessions::usd_text(max_) + " in " + std::to_string(h.size()) +
                                          " sessions"};
}

inline std::optional<StopReason> SessionFailed::evaluate(SessionHistory const& h) const {
  if (h.empty() || !h.last().failed) return std::nullopt;
  std::string why = h.last().error.empty() ? std::string("no reason given") : h.last().error;
  return StopReason{StopKind::failed, "failed: session " + std::to_string(h.size()) + " failed: " + why};
}

template <class... Cs>
std::optional<StopReason> StopList<Cs...>::evaluate(SessionHistory const& h) {
  std::optional<StopReason> out;
  std::apply([&](auto&... c) { ((out ? void() : void(out = c.evaluate(h))), ...); }, stops_);
  return out;
}

template <class... Cs>
std::optional<double> StopList<Cs...>::remaining_usd(SessionHistory const& h) const {
  std::optional<double> out;
  auto one = [&](auto const& c) {
    if constexpr (detail::stop_has_ceiling<std::remove_cvref_t<decltype(c)>>) {
      std::optional<double> left = c.remaining_usd(h);
      if (left && (!out || *left < *out)) out = *left;
    }
  };
  std::apply([&](auto const&... c) { (one(c), ...); }, stops_);
  return out;
}

template <class... Cs>
result<void> StopList<Cs...>::validate() const {
  result<void> out = success();
  auto one = [&](auto const& c) {
    if constexpr (detail::stop_has_validate<std::remove_cvref_t<decltype(c)>>)
      if (out) out = c.validate();
  };
  std::apply([&](auto const&... c) { (one(c), ...); }, stops_);
  return out;
}

template <class... Cs>
double StopList<Cs...>::improvement_eps() const {
  std::optional<double> out;
  auto one = [&](auto const& c) {
    if constexpr (detail::stop_has_eps<std::remove_cvref_t<decltype(c)>>)
      if (!out) out = static_cast<double>(c.improvement_eps());
  };
  std::apply([&](auto const&... c) { (one(c), ...); }, stops_);
  return out.value_or(SessionHistory::default_eps);
}

template <class Session_, class Stops_>
result<SessionLoopResult> SessionLoop<Session_, Stops_>::run() {
  boost::asio::io_context io;
  std::optional<result<SessionLoopResult>> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await async_run()); },
      [&](std::exception_ptr e) {
        if (e && !out) out.emplace(Error{Errc::invalid_config, "session loop coroutine failed unexpectedly"});
      });
  io.run();
  if (!out) return Error{Errc::invalid_config, "session loop did not complete"};
  return std::move(*out);
}

template <class Session_, class Stops_>
boost::asio::awaitable<result<SessionLoopResult>> SessionLoop<Session_, Stops_>::async_run() {
  if (auto valid = stops_.validate(); valid.has_error()) co_return valid.error();
  history_ = SessionHistory(stops_.improvement_eps());

  std::optional<StopReason> stop;
  while (!stop) {
    // Improvement on the reference (§4 item 3): the budget left is handed to
    // the session as its ceiling, so the total cannot overshoot by a session.
    std::optional<double> ceiling = stops_.remaining_usd(history_);
    if (ceiling && !(*ceiling > 0)) {
      stop = StopReason{StopKind::budget, "budget: nothing left for another session after " +
                                              detail::sessions::usd_text(history_.total_cost_usd())};
      break;
    }
    SessionBudget budget(ceiling.value_or(std::numeric_limits<double>::infinity()), history_.size());

    SessionRecord record;
    std::string thrown;
    try {
      result<SessionRecord> r = co_await session_.run(budget);
      if (r.has_value()) {
        record = std::move(r).value();
      } else {
        record.failed = true;
        record.error = r.error().what();
      }
    } catch (...) {
      thrown = leash::detail::describe_current_exception();
    }
    if (!thrown.empty()) {
      record = SessionRecord{};
      record.failed = true;
      record.error = "unexpected exception: " + thrown;
    }
    if (record.failed && record.error.empty()) record.error = "session reported failure";
    // The reference reset a failed session's cost to 0 (§4 item 3); what the
    // session charged counts, whatever happened to it.
    record.cost_usd = std::max(detail::sessions::counted_cost(record.cost_usd), budget.spent_usd());
    history_.add(std::move(record));
    stop = stops_.evaluate(history_);
  }

  SessionLoopResult out;
  out.sessions = history_.records();
  out.stop_reason = std::move(*stop);
  out.total_cost_usd = history_.total_cost_usd();
  out.best_overall_score = history_.best_score();
  co_return out;
}

}  // namespace leash::learn

#endif
