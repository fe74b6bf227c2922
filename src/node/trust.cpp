#include "node/trust.hpp"

#include <fmt/format.h>

namespace peerchat::node {

void Trust::load(const std::vector<store::AddressPin>& pins) {
  for (const auto& pin : pins) pins_.insert_or_assign(pin.address, tls::PeerId(pin.id));
}

std::optional<tls::PeerId> Trust::pinned(const std::string& address) const {
  auto it = pins_.find(address);
  if (it == pins_.end()) return std::nullopt;
  return it->second;
}

Trust::Verdict Trust::check(const tls::PeerId& presented, const std::string& remote_address,
                            const DialIntent* intent, bool* warned,
                            const std::string& expected_name) const {
  Verdict verdict;
  if (presented == self_) {
    verdict.refuse = true;
    verdict.reason = wire::ByeReason::self_connection;
    verdict.bye_message = "connected to itself";
    if (intent != nullptr) {
      event::Problem problem = error_event(
          Code::self_connection,
          fmt::format("{} is this peer itself; connect to another peer's address", remote_address));
      problem.address = remote_address;
      verdict.problem = std::move(problem);
    }
    return verdict;
  }
  if (intent == nullptr || !intent->expected || *intent->expected == presented) return verdict;

  verdict.refuse = true;
  verdict.reason = wire::ByeReason::identity_mismatch;
  verdict.bye_message = "you are not the identity this peer expected at this address";
  // A reconnect warns once; after that the mismatch is refused quietly on every round.
  if (intent->automatic && warned != nullptr) {
    if (*warned) return verdict;
    *warned = true;
  }
  event::Problem problem;
  problem.code = Code::identity_mismatch;
  problem.peer = presented;
  problem.address = intent->address;
  if (intent->explicit_id) {
    problem.message =
        fmt::format("{} answered as {} ({}), not the peer ID you asked for ({}); not connecting",
                    intent->address, presented.to_string(), presented.fingerprint(),
                    intent->expected->fingerprint());
  } else {
    problem.message = fmt::format(
        "WARNING: {} used to be {} ({}) but now presents a different identity ({}). This may be "
        "an attacker, or the peer made a new identity. Not connecting. Check the ID with its "
        "owner (peerchat id), and if you trust it, connect with /connect {}@{}",
        intent->address, expected_name, intent->expected->fingerprint(), presented.fingerprint(),
        presented.compact(), intent->address);
  }
  verdict.problem = std::move(problem);
  return verdict;
}

std::optional<Trust::PinChange> Trust::opened(const DialIntent& intent,
                                              const tls::PeerId& presented) {
  auto it = pins_.find(intent.address);
  if (it != pins_.end() && it->second == presented) return std::nullopt;
  if (it != pins_.end() && !intent.explicit_id) return std::nullopt;  // check() refused already
  const bool replace = it != pins_.end();
  pins_.insert_or_assign(intent.address, presented);
  return PinChange{intent.address, presented, replace};
}

}  // namespace peerchat::node
