// node: the message path: outbox per peer, credit-paced sending, receiving and ACKs.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/node.hpp"

namespace peerchat::node {
namespace {

// Sequence numbers are reserved from the store in blocks, so they are never reused after a
// restart without a store write per message.
constexpr std::uint64_t kSequenceBlock = 1024;
constexpr std::size_t kMinPrefix = 4;

}  // namespace

std::string Node::display_name(const tls::PeerId& peer) const {
  if (auto it = peers_.find(peer); it != peers_.end()) return it->second.name;
  if (auto record = store_.find_peer(peer.bytes()); record && record.value()) {
    return record.value()->name;
  }
  return peer.fingerprint();
}

std::vector<tls::PeerId> Node::connected_peers() const {
  std::vector<tls::PeerId> result;
  for (const auto& [peer_id, peer] : peers_) {
    if (!peer.connections.empty()) result.push_back(peer_id);
  }
  return result;
}

std::optional<tls::PeerId> Node::resolve_peer(std::string_view query) {
  if (query.empty()) {
    report(error_event("usage", "no peer given; name one by display name or ID"));
    return std::nullopt;
  }
  std::vector<const PeerState*> by_name;
  std::vector<const PeerState*> by_id;
  for (const auto& [peer_id, peer] : peers_) {
    if (peer.name == query) by_name.push_back(&peer);
    if (query.size() >= kMinPrefix && peer_id.matches_prefix(query)) by_id.push_back(&peer);
  }
  // Prefer peers that are connected now when a name is shared.
  if (by_name.size() > 1) {
    std::vector<const PeerState*> connected;
    for (const auto* peer : by_name) {
      if (!peer->connections.empty()) connected.push_back(peer);
    }
    if (connected.size() == 1) by_name = connected;
  }
  const auto& matches = by_name.empty() ? by_id : by_name;
  if (matches.size() == 1) return matches.front()->id;
  if (matches.empty()) {
    report(error_event("unknown_peer",
                       fmt::format("no peer called '{}'; /peers lists who is connected", query)));
    return std::nullopt;
  }
  std::string candidates;
  for (const auto* peer : matches) {
    candidates += fmt::format(" {} ({})", peer->name, peer->id.fingerprint());
  }
  report(error_event(
      "ambiguous_peer",
      fmt::format("'{}' matches several peers:{}; use more of the peer ID", query, candidates)));
  return std::nullopt;
}

std::optional<wire::MessageId> Node::send_message(std::string_view peer_query, std::string text) {
  if (auto valid = wire::check_text(text); !valid) {
    report(error_event("invalid_text", fmt::format("message not sent: {}", valid.error().message)));
    return std::nullopt;
  }
  auto target = resolve_peer(peer_query);
  if (!target) return std::nullopt;
  PeerState& peer = peers_.at(*target);
  if (peer.unsent.size() + peer.inflight.size() >= config_.max_queue_per_peer) {
    event::Problem problem = error_event(
        "queue_full", fmt::format("message not sent: {} messages to {} are still waiting; try "
                                  "again once some are delivered",
                                  config_.max_queue_per_peer, peer.name));
    problem.peer = peer.id;
    report(std::move(problem));
    return std::nullopt;
  }
  if (peer.next_seq == peer.seq_limit) {
    auto first = store_.reserve_sequences(peer.id.bytes(), kSequenceBlock);
    if (!first) {
      report(
          error_event("store_failed", fmt::format("message not sent: {}", first.error().message)));
      return std::nullopt;
    }
    peer.next_seq = *first;
    peer.seq_limit = *first + kSequenceBlock;
  }
  wire::Chat chat;
  random_.fill(chat.id);
  chat.seq = peer.next_seq++;
  chat.timestamp_ms = clock_.wall_ms();
  chat.text = std::move(text);
  events_.emit(event::Queued{chat.id, peer.id, peer.name, chat.text});
  if (peer.connections.empty()) {
    event::Problem problem = warning_event(
        "not_connected", fmt::format("{} is not connected; the message waits until it reconnects "
                                     "(kept in memory only, until this process ends)",
                                     peer.name));
    problem.peer = peer.id;
    report(std::move(problem));
  }
  const wire::MessageId id = chat.id;
  peer.unsent.push_back(std::move(chat));
  pump(peer);
  return id;
}

void Node::pump(PeerState& peer) {
  if (peer.connections.empty()) return;
  auto& connection = *peer.connections.back();
  // Bounded by the credit window and the queue length.
  while (!peer.unsent.empty() && connection.can_send_chat()) {
    connection.send_chat(peer.unsent.front());
    peer.inflight.push_back(std::move(peer.unsent.front()));
    peer.unsent.pop_front();
  }
}

void Node::requeue_inflight(PeerState& peer) {
  // Resend from the oldest unacknowledged message: the receiver drops what it already has by
  // sequence number, so nothing is lost and nothing is shown twice.
  peer.unsent.insert(peer.unsent.begin(), std::make_move_iterator(peer.inflight.begin()),
                     std::make_move_iterator(peer.inflight.end()));
  peer.inflight.clear();
}

void Node::on_chat(session::Connection& connection, wire::Chat&& chat) {
  auto it = peers_.find(connection.peer_id());
  if (it == peers_.end()) return;
  PeerState& peer = it->second;
  if (peer.last_received_seq && chat.seq <= *peer.last_received_seq) {
    // Already delivered: acknowledge again, show nothing.
    connection.acknowledge(*peer.last_received_seq, 1);
    return;
  }
  if (peer.last_received_seq && chat.seq != *peer.last_received_seq + 1) {
    spdlog::debug("sequence from {} jumped from {} to {}", peer.name, *peer.last_received_seq,
                  chat.seq);
  }
  peer.last_received_seq = chat.seq;
  events_.emit(event::Message{peer.id, peer.name, chat.id, chat.seq, chat.timestamp_ms,
                              std::move(chat.text)});
  connection.acknowledge(chat.seq, 1);
}

void Node::on_ack(session::Connection& connection, std::uint64_t seq) {
  auto it = peers_.find(connection.peer_id());
  if (it == peers_.end()) return;
  PeerState& peer = it->second;
  // An ACK covers everything up to `seq`, wherever it was queued.
  for (auto* queue : {&peer.inflight, &peer.unsent}) {
    while (!queue->empty() && queue->front().seq <= seq) {
      events_.emit(event::Delivered{queue->front().id, peer.id, peer.name});
      queue->pop_front();
    }
  }
}

void Node::on_credit(session::Connection& connection) {
  auto it = peers_.find(connection.peer_id());
  if (it != peers_.end()) pump(it->second);
}

void Node::list_peers() {
  event::Peers list;
  for (const auto& [peer_id, peer] : peers_) {
    if (!peer.connections.empty()) list.peers.push_back(summary(peer));
  }
  std::sort(list.peers.begin(), list.peers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  events_.emit(std::move(list));
}

}  // namespace peerchat::node
