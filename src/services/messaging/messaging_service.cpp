#include "services/messaging/messaging_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace peerchat::services {
namespace {

using node::error_event;
using node::warning_event;
namespace event = node::event;

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

MessagingService::MessagingService(asio::any_io_executor executor, MessagingConfig config,
                                   node::PeerRegistry& registry, node::StoreAccess& store,
                                   const Clock& clock, Random& random, node::EventSink& events)
    : executor_(std::move(executor)),
      config_(config),
      registry_(registry),
      store_(store),
      clock_(clock),
      random_(random),
      events_(events) {}

void MessagingService::report(event::Problem problem) {
  if (problem.warning) {
    spdlog::warn("{}", problem.message);
  } else {
    spdlog::debug("error {}: {}", peerchat::name(problem.code), problem.message);
  }
  events_.emit(problem);
}

wire::MessageId MessagingService::new_message_id(std::int64_t now_ms) {
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

Result<void> MessagingService::restore() {
  // Start-up, before any session: waiting for the worker here stalls nothing.
  auto outbox = store_.worker().call([](store::Store& store) { return store.outbox(); });
  if (!outbox) return outbox.error();
  for (auto& message : *outbox) {
    const tls::PeerId id(message.peer);
    registry_.add(id);
    outboxes_[id].unsent.push_back(Outgoing{
        wire::Chat{message.id, message.seq, message.timestamp_ms, std::move(message.text)}, false});
  }
  if (!outbox->empty()) spdlog::info("{} queued messages wait in the outbox", outbox->size());
  return {};
}

bool MessagingService::queue_has_room(const tls::PeerId& peer) const {
  auto it = outboxes_.find(peer);
  if (it == outboxes_.end()) return true;
  const Outbox& outbox = it->second;
  return outbox.unsent.size() + outbox.inflight.size() + outbox.drafted <
         config_.max_queue_per_peer;
}

Outcome<wire::MessageId> MessagingService::submit(const tls::PeerId& to, std::string text) {
  if (auto valid = wire::check_text(text); !valid) {
    return Failure{Code::invalid_text, fmt::format("message not sent: {}", valid.error().message)};
  }
  if (registry_.find(to) == nullptr) {
    return Failure{Code::unknown_peer, fmt::format("no peer {}", to.fingerprint())};
  }
  if (!queue_has_room(to)) {
    return Failure{Code::queue_full,
                   fmt::format("message not sent: {} messages to {} are still waiting; try "
                               "again once some are delivered",
                               config_.max_queue_per_peer, registry_.display_name(to))};
  }
  const std::int64_t now_ms = clock_.wall_ms();
  const wire::MessageId id = new_message_id(now_ms);
  drafts_.push_back(store::OutgoingDraft{to.bytes(), id, now_ms, std::move(text)});
  ++outboxes_[to].drafted;
  // Group commit: messages submitted together (a script's burst) share one transaction, and
  // while one commit is on the store worker the next batch gathers.
  if (!commit_scheduled_ && !committing_) {
    commit_scheduled_ = true;
    asio::post(executor_, [this, alive = alive_] {
      if (*alive) commit_drafts();
    });
  }
  return id;
}

void MessagingService::commit_drafts() {
  commit_scheduled_ = false;
  if (committing_ || drafts_.empty()) return;
  committing_ = true;
  auto drafts = std::make_shared<std::vector<store::OutgoingDraft>>();
  drafts->swap(drafts_);
  store_.run(
      [drafts, now = clock_.wall_ms()](store::Store& store) {
        return store.queue_outgoing(*drafts, now);
      },
      [this, drafts](Result<std::vector<store::StoredMessage>> stored) {
        committing_ = false;
        for (const auto& draft : *drafts) --outboxes_[tls::PeerId(draft.to)].drafted;
        if (!stored) {
          report(error_event(
              Code::store_failed,
              fmt::format("{} message(s) not queued: {}", drafts->size(), stored.error().message)));
        } else {
          std::vector<node::PeerEntry*> touched;
          for (auto& message : *stored) {
            node::PeerEntry& peer = registry_.add(tls::PeerId(message.peer));
            wire::Chat chat{message.id, message.seq, message.timestamp_ms, std::move(message.text)};
            events_.emit(event::Queued{chat.id, peer.id, peer.name, chat.text});
            outboxes_[peer.id].unsent.push_back(Outgoing{std::move(chat), false});
            if (std::find(touched.begin(), touched.end(), &peer) == touched.end()) {
              touched.push_back(&peer);
            }
          }
          for (node::PeerEntry* peer : touched) {
            if (!peer->connected()) {
              event::Problem problem = warning_event(
                  Code::not_connected, fmt::format("{} is not connected; messages are queued and "
                                                   "go out when {} is back",
                                                   peer->name, peer->name));
              problem.peer = peer->id;
              report(std::move(problem));
            }
            pump(*peer);
          }
        }
        if (!drafts_.empty()) commit_drafts();
      });
}

void MessagingService::pump(node::PeerEntry& peer) {
  session::Connection* connection = peer.primary();
  if (connection == nullptr) return;
  Outbox& outbox = outboxes_[peer.id];
  if (outbox.sending_on != connection->serial()) {
    // Anything still in flight went out on a session that is no longer the primary.
    requeue_inflight(outbox);
    outbox.sending_on = connection->serial();
  }
  // Bounded by the credit window and the queue length.
  while (!outbox.unsent.empty() && connection->can_send_chat()) {
    Outgoing& next = outbox.unsent.front();
    connection->send_chat(next.chat);
    if (!next.sent) {
      next.sent = true;
      events_.emit(event::Sent{next.chat.id, peer.id, peer.name});
    }
    outbox.inflight.push_back(std::move(next));
    outbox.unsent.pop_front();
  }
}

void MessagingService::requeue_inflight(Outbox& outbox) {
  // Resend from the oldest unacknowledged message: the receiver drops what it already has by
  // sequence number, so nothing is lost and nothing is shown twice.
  outbox.unsent.insert(outbox.unsent.begin(), std::make_move_iterator(outbox.inflight.begin()),
                       std::make_move_iterator(outbox.inflight.end()));
  outbox.inflight.clear();
}

void MessagingService::on_session_open(node::PeerEntry& peer, session::Connection& /*unused*/) {
  pump(peer);
}

void MessagingService::on_session_closed(node::PeerEntry& peer, session::Connection& connection,
                                         const session::CloseReason& /*reason*/) {
  auto it = outboxes_.find(peer.id);
  if (it == outboxes_.end()) return;
  if (it->second.sending_on == connection.serial()) {
    requeue_inflight(it->second);
    it->second.sending_on = 0;
  }
  pump(peer);  // on the surviving session, if there is one
}

void MessagingService::on_chats(node::PeerEntry& peer, session::Connection& connection,
                                session::InboundBatch&& batch) {
  if (config_.failpoints != nullptr) config_.failpoints->hit("receiver_after_read_before_commit");
  auto shared = std::make_shared<session::InboundBatch>(std::move(batch));
  // The author is the batch's: the peer its connection authenticated.
  store_.run(
      [shared, now = clock_.wall_ms()](store::Store& store) {
        return store.store_incoming(shared->author().bytes(), shared->chats(), now);
      },
      [this, shared, connection = connection.shared_from_this()](Result<std::vector<bool>> fresh) {
        const tls::PeerId& author = shared->author();
        const std::string name = registry_.display_name(author);
        if (!fresh) {
          // Nothing is acknowledged: the sender keeps the messages and resends them later.
          event::Problem problem = error_event(
              Code::store_failed, fmt::format("cannot store messages from {}: {}; they stay with "
                                              "{} and arrive once they can be stored",
                                              name, fresh.error().message, name));
          problem.peer = author;
          report(std::move(problem));
          connection->close(wire::ByeReason::overloaded,
                            "the receiver cannot store messages right now; try again later");
          return;
        }
        if (config_.failpoints != nullptr) {
          config_.failpoints->hit("receiver_after_commit_before_ack");
        }
        auto chats = shared->chats();
        for (std::size_t i = 0; i < chats.size(); ++i) {
          if (!(*fresh)[i]) continue;  // a resend: acknowledged again, not shown again
          events_.emit(event::Message{author, name, chats[i].id, chats[i].seq,
                                      chats[i].timestamp_ms, std::move(chats[i].text)});
        }
        connection->acknowledge(*shared);
      });
  (void)peer;
}

void MessagingService::on_ack(node::PeerEntry& peer, session::Connection& /*unused*/,
                              std::uint64_t seq) {
  if (config_.failpoints != nullptr) config_.failpoints->hit("sender_after_send_before_delivered");
  Outbox& outbox = outboxes_[peer.id];
  outbox.acked = std::max(outbox.acked, seq);
  mark_delivered(peer.id);
}

void MessagingService::mark_delivered(const tls::PeerId& peer_id) {
  Outbox& outbox = outboxes_[peer_id];
  // ACKs are cumulative: ACKs that arrive while one is being recorded are recorded together.
  if (outbox.marking || outbox.acked <= outbox.marked) return;
  outbox.marking = true;
  const std::uint64_t up_to = outbox.acked;
  store_.run(
      [key = peer_id.bytes(), up_to](store::Store& store) -> Result<void> {
        auto marked = store.mark_delivered(key, up_to);
        if (!marked) return marked.error();
        return {};
      },
      [this, peer_id, up_to](Result<void> marked) {
        Outbox& state = outboxes_[peer_id];
        state.marking = false;
        const std::string name = registry_.display_name(peer_id);
        if (!marked) {
          // The next ACK covers these too.
          spdlog::warn("cannot record deliveries to {}: {}", name, marked.error().message);
          return;
        }
        state.marked = up_to;
        // An ACK covers everything up to `up_to`, wherever it was queued.
        for (auto* queue : {&state.inflight, &state.unsent}) {
          while (!queue->empty() && queue->front().chat.seq <= up_to) {
            events_.emit(event::Delivered{queue->front().chat.id, peer_id, name});
            queue->pop_front();
          }
        }
        mark_delivered(peer_id);
      });
}

void MessagingService::on_credit(node::PeerEntry& peer, session::Connection& /*unused*/) {
  pump(peer);
}

void MessagingService::history(const tls::PeerId& peer, std::size_t count,
                               std::function<void(Outcome<event::History>)> done) {
  store_.run(
      [key = peer.bytes(), count](store::Store& store) { return store.history(key, count); },
      [this, peer, done = std::move(done)](Result<std::vector<store::StoredMessage>> messages) {
        if (!messages) {
          done(Failure{Code::store_failed,
                       fmt::format("cannot read the history: {}", messages.error().message)});
          return;
        }
        event::History history{peer, registry_.display_name(peer), {}};
        for (auto& message : *messages) {
          history.messages.push_back(
              event::HistoryEntry{message.id, message.outgoing, message.seq, message.timestamp_ms,
                                  std::move(message.text), state_name(message.state)});
        }
        done(std::move(history));
      });
}

}  // namespace peerchat::services
