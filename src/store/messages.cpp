// store: messages: the outbox, delivery (a per-conversation watermark), received messages with
// de-duplication, and history. Every write is one transaction, committed durably before it
// returns; the in-memory conversations change only once it has.
#include <fmt/format.h>

#include <algorithm>

#include "store/columns.hpp"
#include "store/errors.hpp"
#include "store/message_rows.hpp"
#include "store/store.hpp"

namespace peerchat::store {

Result<void> Store::check_faults() const {
  if (faults_ != nullptr && faults_->disk_full()) {
    return make_error(Errc::disk_full,
                      "cannot write to the database: the disk is full (injected); free some space");
  }
  return {};
}

Result<void> Store::load_conversations() {
  auto rows = load_conversations_.collect([](const Statement& row) {
    return std::pair{to_array<32>(row.blob(1)),
                     Conversation{row.integer(0), static_cast<std::uint64_t>(row.integer(2)),
                                  static_cast<std::uint64_t>(row.integer(3)),
                                  static_cast<std::uint64_t>(row.integer(4))}};
  });
  if (!rows) return rows.error();
  conversations_ = std::map<PeerKey, Conversation>(rows->begin(), rows->end());
  // Arrival numbers go on from the highest in any conversation: one range lookup each.
  for (const auto& [peer, conversation] : conversations_) {
    last_arrival_.bind(1, conversation.key);
    auto row = last_arrival_.step();
    if (row && *row) next_arrival_ = std::max(next_arrival_, last_arrival_.integer(0) + 1);
    last_arrival_.reset();
    if (!row) return row.error();
  }
  return {};
}

Result<Store::Conversation*> Store::conversation_for_write(Pending& pending, const PeerKey& peer) {
  if (auto it = pending.find(peer); it != pending.end()) return &it->second;
  if (auto it = conversations_.find(peer); it != conversations_.end()) {
    return &pending.emplace(peer, it->second).first->second;
  }
  insert_conversation_.bind(1, std::span<const std::uint8_t>(peer));
  if (auto inserted = insert_conversation_.run("cannot start a conversation"); !inserted) {
    return inserted.error();
  }
  Conversation created;
  created.key = sqlite3_last_insert_rowid(db_.handle());
  // local_id holds the key above 40 bits of arrival number, in a signed 64-bit integer.
  if (created.key >= (std::int64_t{1} << 22)) {
    return make_error(Errc::io_error, "cannot start a conversation: too many conversations");
  }
  return &pending.emplace(peer, created).first->second;
}

void Store::apply(Pending& pending) {
  for (auto& [peer, conversation] : pending) conversations_[peer] = conversation;
  pending.clear();
}

Result<std::vector<StoredMessage>> Store::read_messages(Statement& statement, const PeerKey& peer,
                                                        std::uint64_t delivered_seq) {
  return statement.collect([&](const Statement& row) {
    StoredMessage message;
    message.peer = peer;
    message.outgoing = row.integer(0) != 0;
    message.id = to_array<16>(row.blob(1));
    message.seq = static_cast<std::uint64_t>(row.integer(2));
    message.timestamp_ms = row.integer(3);
    message.stored_ms = row.integer(4);
    message.text = row.text(5);
    if (!message.outgoing) {
      message.state = MessageState::received;
    } else {
      message.state = message.seq <= delivered_seq ? MessageState::delivered : MessageState::queued;
    }
    return message;
  });
}

Result<std::vector<StoredMessage>> Store::queue_outgoing(const std::vector<OutgoingDraft>& drafts,
                                                         std::int64_t now_ms) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto transaction = Transaction::begin(db_);
  if (!transaction) return transaction.error();
  std::vector<StoredMessage> stored;
  stored.reserve(drafts.size());
  std::vector<MessageRow> rows;
  rows.reserve(drafts.size());
  Pending pending;
  for (const auto& draft : drafts) {
    auto conversation = conversation_for_write(pending, draft.to);
    if (!conversation) return conversation.error();
    const std::uint64_t seq = (*conversation)->next_send_seq++;
    rows.push_back(MessageRow{next_local_id((*conversation)->key), (*conversation)->key, draft.id,
                              seq, draft.timestamp_ms, draft.text});
    stored.push_back(StoredMessage{draft.to, true, draft.id, seq, draft.timestamp_ms, now_ms,
                                   draft.text, MessageState::queued});
  }
  if (auto inserted = message_rows_.insert(rows, true, now_ms); !inserted) {
    return inserted.error();
  }
  for (const auto& [peer, conversation] : pending) {
    save_send_seq_.bind(1, conversation.key)
        .bind(2, static_cast<std::int64_t>(conversation.next_send_seq));
    if (auto saved = save_send_seq_.run("cannot queue the message"); !saved) return saved.error();
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  apply(pending);
  return stored;
}

Result<StoredMessage> Store::queue_outgoing(const PeerKey& to, const MessageKey& id,
                                            std::int64_t timestamp_ms, std::string_view text,
                                            std::int64_t now_ms) {
  auto stored = queue_outgoing({OutgoingDraft{to, id, timestamp_ms, std::string(text)}}, now_ms);
  if (!stored) return stored.error();
  return std::move(stored->front());
}

Result<std::vector<StoredMessage>> Store::outbox() {
  std::vector<StoredMessage> messages;
  for (const auto& [peer, conversation] : conversations_) {
    if (conversation.delivered_seq + 1 >= conversation.next_send_seq) continue;  // all delivered
    select_outbox_.bind(1, conversation.key)
        .bind(2, static_cast<std::int64_t>(conversation.delivered_seq));
    auto waiting = read_messages(select_outbox_, peer, conversation.delivered_seq);
    if (!waiting) return waiting.error();
    messages.insert(messages.end(), std::make_move_iterator(waiting->begin()),
                    std::make_move_iterator(waiting->end()));
  }
  return messages;
}

Result<std::size_t> Store::outbox_size() {
  std::size_t count = 0;
  for (const auto& [peer, conversation] : conversations_) {
    if (conversation.delivered_seq + 1 >= conversation.next_send_seq) continue;
    count_outbox_.bind(1, conversation.key)
        .bind(2, static_cast<std::int64_t>(conversation.delivered_seq));
    auto row = count_outbox_.step();
    if (row && *row) count += static_cast<std::size_t>(count_outbox_.integer(0));
    count_outbox_.reset();
    if (!row) return row.error();
  }
  return count;
}

Result<void> Store::mark_delivered(const PeerKey& peer, std::uint64_t up_to) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto it = conversations_.find(peer);
  if (it == conversations_.end()) return {};  // nothing was ever sent to `peer`
  Conversation delivered = it->second;
  // An ACK beyond what was sent must not pre-deliver messages not yet queued.
  delivered.delivered_seq = std::min(up_to, delivered.next_send_seq - 1);
  if (delivered.delivered_seq <= it->second.delivered_seq) return {};  // an old ACK
  // A delivery mark lost to a power cut only means one resend, which the receiver drops by
  // sequence number; so this commit skips the disk sync that every other write waits for.
  if (auto relaxed = db_.run_cached("PRAGMA synchronous=NORMAL", "cannot record deliveries");
      !relaxed) {
    return relaxed.error();
  }
  auto saved = [&]() -> Result<void> {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return transaction.error();
    save_delivered_seq_.bind(1, delivered.key)
        .bind(2, static_cast<std::int64_t>(delivered.delivered_seq));
    if (auto run = save_delivered_seq_.run("cannot record deliveries"); !run) return run;
    return transaction->commit();
  }();
  if (saved) it->second = delivered;  // committed, whatever happens next
  if (auto strict = db_.run_cached("PRAGMA synchronous=FULL", "cannot restore durable commits");
      !strict) {
    return strict.error();
  }
  return saved;
}

Result<std::uint64_t> Store::last_received_seq(const PeerKey& from) {
  auto it = conversations_.find(from);
  return it == conversations_.end() ? 0 : it->second.received_seq;
}

Result<std::vector<bool>> Store::store_incoming(const PeerKey& from,
                                                std::span<const IncomingMessage> batch,
                                                std::int64_t now_ms) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto transaction = Transaction::begin(db_);
  if (!transaction) return transaction.error();
  std::uint64_t highest = *last_received_seq(from);
  std::vector<bool> fresh;
  fresh.reserve(batch.size());
  std::vector<MessageRow> rows;
  rows.reserve(batch.size());
  Pending pending;
  Conversation* conversation = nullptr;
  for (const auto& message : batch) {
    // Sequence numbers only grow per sender: anything at or below the last stored one is a
    // resend of something we already have.
    fresh.push_back(message.seq > highest);
    if (!fresh.back()) continue;
    if (conversation == nullptr) {
      auto found = conversation_for_write(pending, from);
      if (!found) return found.error();
      conversation = *found;
    }
    rows.push_back(MessageRow{next_local_id(conversation->key), conversation->key, message.id,
                              message.seq, message.timestamp_ms, message.text});
    highest = message.seq;
  }
  if (conversation != nullptr) {
    auto inserted = message_rows_.insert(rows, false, now_ms);
    if (!inserted) return inserted.error();
    // The message ID is unique per author too: a reused one was skipped. Rare, so only then
    // find which: the row stored under the ID has another seq.
    if (*inserted < rows.size()) {
      auto row = rows.begin();
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!fresh[i]) continue;
        find_received_id_.bind(1, row->peer_key).bind(2, row->message_id);
        auto found = find_received_id_.step();
        fresh[i] =
            found && *found && find_received_id_.integer(0) == static_cast<std::int64_t>(row->seq);
        find_received_id_.reset();
        if (!found) return found.error();
        ++row;
      }
    }
    conversation->received_seq = highest;
    save_received_seq_.bind(1, conversation->key).bind(2, static_cast<std::int64_t>(highest));
    if (auto stored = save_received_seq_.run("cannot store a received message"); !stored) {
      return stored.error();
    }
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  apply(pending);
  return fresh;
}

Result<std::vector<StoredMessage>> Store::history(const PeerKey& peer, std::size_t limit) {
  auto it = conversations_.find(peer);
  if (it == conversations_.end()) return std::vector<StoredMessage>{};
  select_history_.bind(1, it->second.key).bind(2, static_cast<std::int64_t>(limit));
  auto messages = read_messages(select_history_, peer, it->second.delivered_seq);
  if (!messages) return messages.error();
  std::reverse(messages->begin(), messages->end());
  return messages;
}

}  // namespace peerchat::store
