// node: what the node knows about each peer, keyed by authenticated peer ID (never by name or
// address): its name, its open sessions, and where to reach it again. Services keep their own
// per-peer state (an outbox, transfers) keyed by the same ID.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "node/events.hpp"
#include "util/clock.hpp"
#include "util/outcome.hpp"

namespace peerchat::session {
class Connection;
}

namespace peerchat::node {

struct PeerEntry {
  tls::PeerId id;
  std::string name;
  std::string address;  // of the current (or last) session, as seen from here
  // Open sessions, oldest first; back() is the primary, the one services send on.
  std::vector<std::shared_ptr<session::Connection>> connections;
  bool announced = false;  // a `connected` event is out and no `disconnected` yet

  // Reconnecting: every address the peer was reached at or announced, the most recently
  // successful first; each redial tries the next, and backoff grows after a full round.
  std::vector<std::string> dial_addresses;
  std::size_t next_address = 0;
  bool dialing = false;
  int failed_dials = 0;
  Clock::TimePoint next_dial{};
  bool warned_identity = false;

  bool connected() const { return !connections.empty(); }
  session::Connection* primary() const {
    return connections.empty() ? nullptr : connections.back().get();
  }
};

class PeerRegistry {
 public:
  // The entry for `id`, created (named by its fingerprint) if new.
  PeerEntry& add(const tls::PeerId& id);
  PeerEntry* find(const tls::PeerId& id);
  const PeerEntry* find(const tls::PeerId& id) const;

  // By display name, full ID or ID prefix (>= 4 characters); a shared name prefers the one
  // peer connected now. Failures: usage, unknown_peer, ambiguous_peer.
  Outcome<tls::PeerId> lookup(std::string_view query) const;
  // The name to show for `id` (its fingerprint when unknown).
  std::string display_name(const tls::PeerId& id) const;
  // Known peers other than `id` that go by `name`.
  std::vector<const PeerEntry*> others_named(std::string_view name, const tls::PeerId& id) const;

  std::vector<tls::PeerId> connected() const;
  // Connected peers, by name.
  std::vector<PeerSummary> connected_summaries() const;
  static PeerSummary summary(const PeerEntry& peer);

  auto begin() { return peers_.begin(); }
  auto end() { return peers_.end(); }

 private:
  std::unordered_map<tls::PeerId, PeerEntry, tls::PeerIdHash> peers_;
};

}  // namespace peerchat::node
