// store: the message tables: outbox, delivery marks, received messages with de-duplication,
// and history. Every write is one transaction, committed durably before it returns.
#include <fmt/format.h>

#include <algorithm>

#include "store/errors.hpp"
#include "store/store.hpp"

namespace peerchat::store {
namespace {

template <std::size_t N>
std::array<std::uint8_t, N> to_array(const std::vector<std::uint8_t>& bytes) {
  std::array<std::uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), N), out.begin());
  return out;
}

}  // namespace

Result<void> Store::check_faults() const {
  if (faults_ != nullptr && faults_->disk_full()) {
    return make_error(Errc::disk_full,
                      "cannot write to the database: the disk is full (injected); free some space");
  }
  return {};
}

Result<std::vector<StoredMessage>> Store::read_messages(Statement& statement) {
  return statement.collect([](const Statement& row) {
    StoredMessage message;
    message.peer = to_array<32>(row.blob(0));
    message.outgoing = row.integer(1) != 0;
    message.id = to_array<16>(row.blob(2));
    message.seq = static_cast<std::uint64_t>(row.integer(3));
    message.timestamp_ms = row.integer(4);
    message.stored_ms = row.integer(5);
    message.text = row.text(6);
    message.state = static_cast<MessageState>(row.integer(7));
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
  // Next sequence number per recipient within this batch.
  std::vector<std::pair<PeerKey, std::uint64_t>> next;
  for (const auto& draft : drafts) {
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const auto& entry) { return entry.first == draft.to; });
    if (it == next.end()) {
      get_sequence_.bind(1, std::span<const std::uint8_t>(draft.to));
      auto row = get_sequence_.step();
      std::uint64_t seq = 1;
      if (row && *row) seq = static_cast<std::uint64_t>(get_sequence_.integer(0));
      get_sequence_.reset();
      if (!row) return row.error();
      next.emplace_back(draft.to, seq);
      it = next.end() - 1;
    }
    const std::uint64_t seq = it->second++;
    insert_message_.bind(1, std::span<const std::uint8_t>(draft.to))
        .bind(2, std::int64_t{1})
        .bind(3, std::span<const std::uint8_t>(draft.id))
        .bind(4, static_cast<std::int64_t>(seq))
        .bind(5, draft.timestamp_ms)
        .bind(6, now_ms)
        .bind(7, draft.text)
        .bind(8, static_cast<std::int64_t>(MessageState::queued));
    if (auto inserted = insert_message_.run("cannot queue the message"); !inserted) {
      return inserted.error();
    }
    stored.push_back(StoredMessage{draft.to, true, draft.id, seq, draft.timestamp_ms, now_ms,
                                   draft.text, MessageState::queued});
  }
  for (const auto& [peer, seq] : next) {
    set_sequence_.bind(1, std::span<const std::uint8_t>(peer))
        .bind(2, static_cast<std::int64_t>(seq));
    if (auto saved = set_sequence_.run("cannot queue the message"); !saved) return saved.error();
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
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
  return read_messages(select_outbox_);
}

Result<std::size_t> Store::outbox_size() {
  auto row = count_outbox_.step();
  std::size_t count = 0;
  if (row && *row) count = static_cast<std::size_t>(count_outbox_.integer(0));
  count_outbox_.reset();
  if (!row) return row.error();
  return count;
}

Result<std::vector<StoredMessage>> Store::mark_delivered(const PeerKey& peer, std::uint64_t up_to) {
  if (auto ok = check_faults(); !ok) return ok.error();
  // A delivery mark lost to a power cut only means one resend, which the receiver drops by
  // sequence number; so this commit skips the disk sync that every other write waits for.
  if (auto relaxed = db_.run_cached("PRAGMA synchronous=NORMAL", "cannot record deliveries");
      !relaxed) {
    return relaxed.error();
  }
  auto changed = [&]() -> Result<std::vector<StoredMessage>> {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return transaction.error();
    mark_delivered_.bind(1, std::span<const std::uint8_t>(peer))
        .bind(2, static_cast<std::int64_t>(up_to));
    auto rows = read_messages(mark_delivered_);
    if (!rows) return rows.error();
    if (auto committed = transaction->commit(); !committed) return committed.error();
    return rows;
  }();
  if (auto strict = db_.run_cached("PRAGMA synchronous=FULL", "cannot restore durable commits");
      !strict) {
    return strict.error();
  }
  if (!changed) return changed.error();
  std::sort(changed->begin(), changed->end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  return changed;
}

Result<std::uint64_t> Store::last_received_seq(const PeerKey& from) {
  get_last_received_.bind(1, std::span<const std::uint8_t>(from));
  auto row = get_last_received_.step();
  std::uint64_t last = 0;
  if (row && *row) last = static_cast<std::uint64_t>(get_last_received_.integer(0));
  get_last_received_.reset();
  if (!row) return row.error();
  return last;
}

Result<std::vector<bool>> Store::store_incoming(const PeerKey& from,
                                                std::span<const IncomingMessage> batch,
                                                std::int64_t now_ms) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto transaction = Transaction::begin(db_);
  if (!transaction) return transaction.error();
  auto last = last_received_seq(from);
  if (!last) return last.error();
  std::uint64_t highest = *last;
  std::vector<bool> fresh;
  fresh.reserve(batch.size());
  for (const auto& message : batch) {
    // Sequence numbers only grow per sender: anything at or below the last stored one is a
    // resend of something we already have.
    if (message.seq <= highest) {
      fresh.push_back(false);
      continue;
    }
    insert_message_.bind(1, std::span<const std::uint8_t>(from))
        .bind(2, std::int64_t{0})
        .bind(3, std::span<const std::uint8_t>(message.id))
        .bind(4, static_cast<std::int64_t>(message.seq))
        .bind(5, message.timestamp_ms)
        .bind(6, now_ms)
        .bind(7, message.text)
        .bind(8, static_cast<std::int64_t>(MessageState::received));
    if (auto stored = insert_message_.run("cannot store a received message"); !stored) {
      return stored.error();
    }
    // The message ID is unique per author too; a reused ID is not stored twice.
    fresh.push_back(sqlite3_changes(db_.handle()) > 0);
    highest = message.seq;
  }
  if (highest != *last) {
    set_last_received_.bind(1, std::span<const std::uint8_t>(from))
        .bind(2, static_cast<std::int64_t>(highest));
    if (auto stored = set_last_received_.run("cannot store a received message"); !stored) {
      return stored.error();
    }
  }
  if (auto committed = transaction->commit(); !committed) return committed.error();
  return fresh;
}

Result<std::vector<StoredMessage>> Store::history(const PeerKey& peer, std::size_t limit) {
  select_history_.bind(1, std::span<const std::uint8_t>(peer))
      .bind(2, static_cast<std::int64_t>(limit));
  auto messages = read_messages(select_history_);
  if (!messages) return messages.error();
  std::reverse(messages->begin(), messages->end());
  return messages;
}

}  // namespace peerchat::store
