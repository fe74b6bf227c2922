// node: the message path. Outgoing: committed to the outbox, then sent as credit allows,
// marked delivered on ACK. Incoming: a read batch is committed in one transaction, then
// acknowledged; duplicates are acknowledged again but never stored or shown twice.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "node/node.hpp"

namespace peerchat::node {
namespace {

constexpr std::size_t kMinPrefix = 4;

std::string state_name(store::MessageState state) {
  switch (state) {
    case store::MessageState::queued:
      return "queued";
    case store::MessageState::delivered:
      return "delivered";
    case store::MessageState::received:
      return "received";
  }
  return "unknown";
}

}  // namespace

wire::MessageId Node::new_message_id(std::int64_t now_ms) {
  // Time first, like a UUIDv7: 48 bits of milliseconds, then 80 random bits. Both stores then
  // append to their (peer, message ID) index instead of inserting at random places; the CHAT
  // already carries the timestamp, so the ID reveals nothing more.
  wire::MessageId id;
  const auto ms = static_cast<std::uint64_t>(now_ms);
  for (int i = 0; i < 6; ++i)
    id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  random_.fill(std::span(id).subspan(6));
  return id;
}

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

Outcome<tls::PeerId> Node::find_peer(std::string_view query) const {
  if (query.empty()) return Failure{Code::usage, "no peer given; name one by display name or ID"};
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

std::optional<tls::PeerId> Node::resolve_peer(std::string_view query) {
  auto found = find_peer(query);
  if (!found) {
    report(error_event(found.failure().code, found.failure().message));
    return std::nullopt;
  }
  return *found;
}

bool Node::queue_has_room(const tls::PeerId& peer_id) const {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return true;
  const PeerState& peer = it->second;
  return peer.unsent.size() + peer.inflight.size() + peer.drafted < config_.max_queue_per_peer;
}

std::optional<wire::MessageId> Node::send_message(std::string_view peer_query, std::string text) {
  auto queued = submit_message(peer_query, std::move(text));
  if (!queued) {
    event::Problem problem = error_event(queued.failure().code, queued.failure().message);
    if (queued.failure().code == Code::queue_full) {
      if (auto peer = find_peer(peer_query)) problem.peer = *peer;
    }
    report(std::move(problem));
    return std::nullopt;
  }
  return *queued;
}

Outcome<wire::MessageId> Node::submit_message(std::string_view peer_query, std::string text) {
  if (auto valid = wire::check_text(text); !valid) {
    return Failure{Code::invalid_text, fmt::format("message not sent: {}", valid.error().message)};
  }
  auto target = find_peer(peer_query);
  if (!target) return target.failure();
  PeerState& peer = peers_.at(*target);
  if (peer.unsent.size() + peer.inflight.size() + peer.drafted >= config_.max_queue_per_peer) {
    return Failure{Code::queue_full,
                   fmt::format("message not sent: {} messages to {} are still waiting; try "
                               "again once some are delivered",
                               config_.max_queue_per_peer, peer.name)};
  }
  const std::int64_t now_ms = clock_.wall_ms();
  const wire::MessageId id = new_message_id(now_ms);
  drafts_.push_back(store::OutgoingDraft{peer.id.bytes(), id, now_ms, std::move(text)});
  ++peer.drafted;
  // Group commit: messages submitted together (a script's burst) share one transaction. The
  // commit runs after the commands already waiting on the loop, and before any network write.
  if (!commit_scheduled_) {
    commit_scheduled_ = true;
    asio::post(io_, [this] { commit_drafts(); });
  }
  return id;
}

void Node::commit_drafts() {
  commit_scheduled_ = false;
  std::vector<store::OutgoingDraft> drafts;
  drafts.swap(drafts_);
  if (drafts.empty()) return;
  for (const auto& draft : drafts) peers_.at(tls::PeerId(draft.to)).drafted = 0;
  auto stored = store_.queue_outgoing(drafts, clock_.wall_ms());
  if (!stored) {
    report(error_event(Code::store_failed, fmt::format("{} message(s) not queued: {}",
                                                       drafts.size(), stored.error().message)));
    return;
  }
  std::vector<PeerState*> touched;
  for (auto& message : *stored) {
    PeerState& peer = peers_.at(tls::PeerId(message.peer));
    wire::Chat chat{message.id, message.seq, message.timestamp_ms, std::move(message.text)};
    events_.emit(event::Queued{chat.id, peer.id, peer.name, chat.text});
    peer.unsent.push_back(Outgoing{std::move(chat), false});
    if (std::find(touched.begin(), touched.end(), &peer) == touched.end()) touched.push_back(&peer);
  }
  for (PeerState* peer : touched) {
    if (peer->connections.empty()) {
      event::Problem problem = warning_event(
          Code::not_connected, fmt::format("{} is not connected; messages are queued and go out "
                                           "when {} is back",
                                           peer->name, peer->name));
      problem.peer = peer->id;
      report(std::move(problem));
    }
    pump(*peer);
  }
}

void Node::pump(PeerState& peer) {
  if (peer.connections.empty()) return;
  auto& connection = *peer.connections.back();
  // Bounded by the credit window and the queue length.
  while (!peer.unsent.empty() && connection.can_send_chat()) {
    Outgoing& next = peer.unsent.front();
    connection.send_chat(next.chat);
    if (!next.sent) {
      next.sent = true;
      events_.emit(event::Sent{next.chat.id, peer.id, peer.name});
    }
    peer.inflight.push_back(std::move(next));
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

void Node::on_chats(session::Connection& connection, session::InboundBatch&& batch) {
  // The author is the batch's: the peer this connection authenticated, never a field of the
  // messages and never another connection's peer.
  const tls::PeerId& author = batch.author();
  auto it = peers_.find(author);
  if (it == peers_.end()) return;  // cannot happen: a peer's state outlives its connections
  PeerState& peer = it->second;
  if (config_.failpoints != nullptr) config_.failpoints->hit("receiver_after_read_before_commit");
  auto fresh = store_.store_incoming(author.bytes(), batch.chats(), clock_.wall_ms());
  if (!fresh) {
    // Nothing is acknowledged: the sender keeps the messages and resends them later.
    event::Problem problem = error_event(
        Code::store_failed, fmt::format("cannot store messages from {}: {}; they stay with {} and "
                                        "arrive once they can be stored",
                                        peer.name, fresh.error().message, peer.name));
    problem.peer = author;
    report(std::move(problem));
    connection.close(wire::ByeReason::overloaded,
                     "the receiver cannot store messages right now; try again later");
    return;
  }
  if (config_.failpoints != nullptr) config_.failpoints->hit("receiver_after_commit_before_ack");
  auto chats = batch.chats();
  for (std::size_t i = 0; i < chats.size(); ++i) {
    if (!(*fresh)[i]) continue;  // a resend: acknowledged again, not shown again
    events_.emit(event::Message{author, peer.name, chats[i].id, chats[i].seq, chats[i].timestamp_ms,
                                std::move(chats[i].text)});
  }
  connection.acknowledge(batch);
}

void Node::on_ack(session::Connection& connection, std::uint64_t seq) {
  auto it = peers_.find(connection.peer_id());
  if (it == peers_.end()) return;
  PeerState& peer = it->second;
  if (config_.failpoints != nullptr) config_.failpoints->hit("sender_after_send_before_delivered");
  if (auto marked = store_.mark_delivered(peer.id.bytes(), seq); !marked) {
    // The ACK is cumulative: the next one covers these too.
    spdlog::warn("cannot record deliveries to {}: {}", peer.name, marked.error().message);
    return;
  }
  // An ACK covers everything up to `seq`, wherever it was queued.
  for (auto* queue : {&peer.inflight, &peer.unsent}) {
    while (!queue->empty() && queue->front().chat.seq <= seq) {
      events_.emit(event::Delivered{queue->front().chat.id, peer.id, peer.name});
      queue->pop_front();
    }
  }
}

void Node::on_credit(session::Connection& connection) {
  auto it = peers_.find(connection.peer_id());
  if (it != peers_.end()) pump(it->second);
}

std::vector<PeerSummary> Node::peers() const {
  std::vector<PeerSummary> list;
  for (const auto& [peer_id, peer] : peers_) {
    if (!peer.connections.empty()) list.push_back(summary(peer));
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return list;
}

void Node::list_peers() {
  events_.emit(event::Peers{peers()});
}

Outcome<event::History> Node::history(std::string_view peer_query, std::size_t count) {
  auto target = find_peer(peer_query);
  if (!target) return target.failure();
  auto messages = store_.history(target->bytes(), count);
  if (!messages) {
    return Failure{Code::store_failed,
                   fmt::format("cannot read the history: {}", messages.error().message)};
  }
  event::History history{*target, display_name(*target), {}};
  for (auto& message : *messages) {
    history.messages.push_back(event::HistoryEntry{message.id, message.outgoing, message.seq,
                                                   message.timestamp_ms, std::move(message.text),
                                                   state_name(message.state)});
  }
  return history;
}

void Node::show_history(std::string_view peer_query, std::size_t count) {
  auto found = history(peer_query, count);
  if (!found) return report(error_event(found.failure().code, found.failure().message));
  events_.emit(std::move(*found));
}

Result<void> Node::restore() {
  auto known = store_.list_peers();
  if (!known) return known.error();
  for (const auto& record : *known) {
    const tls::PeerId id(record.id);
    if (id == this->id()) continue;
    PeerState& peer = peers_[id];
    peer.id = id;
    peer.name = record.name;
    peer.address = record.last_address;
    auto addresses = store_.peer_addresses(record.id);
    if (!addresses) return addresses.error();
    for (const auto& known_address : *addresses)
      peer.dial_addresses.push_back(known_address.address);
    if (peer.dial_addresses.empty() && !record.last_address.empty()) {
      peer.dial_addresses.push_back(record.last_address);
    }
  }
  auto outbox = store_.outbox();
  if (!outbox) return outbox.error();
  for (auto& message : *outbox) {
    const tls::PeerId id(message.peer);
    PeerState& peer = peers_[id];
    if (peer.name.empty()) {
      peer.id = id;
      peer.name = id.fingerprint();
    }
    peer.unsent.push_back(Outgoing{
        wire::Chat{message.id, message.seq, message.timestamp_ms, std::move(message.text)}, false});
  }
  if (!outbox->empty()) spdlog::info("{} queued messages wait in the outbox", outbox->size());
  if (config_.redial) asio::co_spawn(io_, redial_loop(), asio::detached);
  return {};
}

}  // namespace peerchat::node
