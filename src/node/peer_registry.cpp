#include "node/peer_registry.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "session/connection.hpp"

namespace peerchat::node {
namespace {

constexpr std::size_t kMinPrefix = 4;

}  // namespace

PeerEntry& PeerRegistry::add(const tls::PeerId& id) {
  auto [it, inserted] = peers_.try_emplace(id);
  if (inserted) {
    it->second.id = id;
    it->second.name = id.fingerprint();
  }
  return it->second;
}

PeerEntry* PeerRegistry::find(const tls::PeerId& id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

const PeerEntry* PeerRegistry::find(const tls::PeerId& id) const {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

Outcome<tls::PeerId> PeerRegistry::lookup(std::string_view query) const {
  if (query.empty()) return Failure{Code::usage, "no peer given; name one by display name or ID"};
  std::vector<const PeerEntry*> by_name;
  std::vector<const PeerEntry*> by_id;
  for (const auto& [peer_id, peer] : peers_) {
    if (peer.name == query) by_name.push_back(&peer);
  }
  // A name wins over an ID prefix, so IDs (each encoded to compare) are only looked at when
  // no name matched: `/msg bob` runs for every line a script sends.
  if (by_name.empty() && query.size() >= kMinPrefix) {
    for (const auto& [peer_id, peer] : peers_) {
      if (peer_id.matches_prefix(query)) by_id.push_back(&peer);
    }
  }
  // Prefer peers that are connected now when a name is shared.
  if (by_name.size() > 1) {
    std::vector<const PeerEntry*> connected;
    for (const auto* peer : by_name) {
      if (peer->connected()) connected.push_back(peer);
    }
    if (connected.size() == 1) by_name = connected;
  }
  const auto& matches = by_name.empty() ? by_id : by_name;
  if (matches.size() == 1) return matches.front()->id;
  if (matches.empty()) {
    return Failure{Code::unknown_peer,
                   fmt::format("no peer called '{}'; /peers lists who is connected", query)};
  }
  std::string candidates;
  for (const auto* peer : matches) {
    candidates += fmt::format(" {} ({})", peer->name, peer->id.fingerprint());
  }
  return Failure{Code::ambiguous_peer, fmt::format("'{}' matches several peers:{}; use more of "
                                                   "the peer ID",
                                                   query, candidates)};
}

std::string PeerRegistry::display_name(const tls::PeerId& id) const {
  if (const auto* peer = find(id)) return peer->name;
  return id.fingerprint();
}

std::vector<const PeerEntry*> PeerRegistry::others_named(std::string_view name,
                                                         const tls::PeerId& id) const {
  std::vector<const PeerEntry*> found;
  for (const auto& [peer_id, peer] : peers_) {
    if (peer_id != id && peer.name == name) found.push_back(&peer);
  }
  return found;
}

std::vector<tls::PeerId> PeerRegistry::connected() const {
  std::vector<tls::PeerId> result;
  for (const auto& [peer_id, peer] : peers_) {
    if (peer.connected()) result.push_back(peer_id);
  }
  return result;
}

PeerSummary PeerRegistry::summary(const PeerEntry& peer) {
  std::string direction = "out";
  if (const auto* primary = peer.primary()) {
    direction = std::string(session::to_string(primary->direction()));
  }
  return PeerSummary{peer.id, peer.name, peer.address, direction};
}

std::vector<PeerSummary> PeerRegistry::connected_summaries() const {
  std::vector<PeerSummary> list;
  for (const auto& [peer_id, peer] : peers_) {
    if (peer.connected()) list.push_back(summary(peer));
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return list;
}

}  // namespace peerchat::node
