// The sender's half of TransferService once an offer is accepted: it sends exactly the piece
// ranges the receiver asks for, each on a stream of its own, read and re-checked against the
// manifest on a worker a few pieces ahead of the socket.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "node/store_access.hpp"
#include "services/transfer/errors.hpp"
#include "services/transfer/service_util.hpp"
#include "services/transfer/transfer_service.hpp"

namespace peerchat::transfer {
namespace {

// Read ahead of the socket: enough to cover a worker's latency, little enough to keep memory
// flat (a few MiB per transfer).
constexpr std::size_t kReadAhead = 4;
// Pieces a receiver may have asked for and not yet got; a receiver keeps far fewer in flight
// (its window), so this only bounds a hostile one.
constexpr std::uint64_t kMaxQueuedPieces = 1u << 16;

}  // namespace

void TransferService::on_answer(node::PeerEntry& peer, const Answer& answer) {
  Transfer* transfer = find_live(answer.id, peer.id);
  if (transfer == nullptr || transfer->direction != Direction::out) return;
  if (!answer.accepted) {
    const TransferId id = transfer->id;
    finish(*transfer, State::declined);
    observer_.transfer_declined(view_of(transfers_.at(id)));
    return;
  }
  if (transfer->state != State::offered) return;
  transfer->state = State::moving;
  persist_state(*transfer);
  observer_.transfer_accepted(view_of(*transfer));
}

void TransferService::on_request(node::PeerEntry& peer, session::Connection& connection,
                                 const Request& request) {
  Transfer* transfer = find_live(request.id, peer.id);
  if (transfer == nullptr || transfer->direction != Direction::out) {
    auto known = transfers_.find(request.id);
    const std::string why = known == transfers_.end() || known->second.peer != peer.id
                                ? "no such transfer here"
                                : fmt::format("it is {} here", state_name(known->second.state));
    (void)connection.send_frame(static_cast<std::uint8_t>(FrameType::cancel),
                                encode(Cancel{request.id, why}));
    return;
  }
  if (transfer->link != &connection) {
    drop_streams(*transfer);  // what was asked on another session is asked again on this one
    transfer->link = &connection;
    transfer->link_session = connection.weak_from_this();
  }
  if (transfer->state == State::offered) {
    // Asked for pieces before we heard the answer (it was lost with a session): accepted.
    on_answer(peer, Answer{request.id, true});
  }
  const Manifest& manifest = *transfer->manifest;
  for (const PieceRange& range : request.ranges) {
    if (range.entry >= manifest.entries.size() ||
        manifest.entries[range.entry].kind != EntryKind::file ||
        range.first >= manifest.entries[range.entry].pieces.size() ||
        range.count > manifest.entries[range.entry].pieces.size() - range.first) {
      spdlog::warn("transfer {}: the receiver asked for pieces it does not have; ignored",
                   short_hex(transfer->id));
      continue;
    }
    if (transfer->queued_pieces + range.count > kMaxQueuedPieces) break;
    transfer->queued_pieces += range.count;
    transfer->to_read.push_back(range);
    transfer->to_send.push_back(range);
  }
  read_ahead(*transfer);
}

void TransferService::read_ahead(Transfer& transfer) {
  while (transfer.live() && !transfer.to_read.empty() &&
         transfer.reads + transfer.ready.size() < kReadAhead) {
    PieceRange& range = transfer.to_read.front();
    const std::uint32_t entry = range.entry;
    const std::uint32_t piece = range.first;
    if (--range.count == 0) {
      transfer.to_read.pop_front();
    } else {
      ++range.first;
    }
    ++transfer.reads;
    auto read = std::make_shared<Result<std::vector<std::uint8_t>>>(std::vector<std::uint8_t>{});
    disk_.submit(
        key_of(transfer.id),
        [reader = transfer.reader, read, entry, piece] {
          auto bytes = reader->read(entry, piece);
          if (!bytes) {
            *read = bytes.error();
          } else {
            (*read)->assign(bytes->begin(), bytes->end());
          }
        },
        [this, alive = alive_, id = transfer.id, epoch = transfer.epoch, read, entry, piece] {
          if (!*alive) return;
          auto it = transfers_.find(id);
          if (it == transfers_.end()) return;
          Transfer& sending = it->second;
          --sending.reads;
          if (!sending.live()) return;
          if (sending.epoch != epoch) {
            read_ahead(sending);  // a read for requests that are gone: make room for new ones
            return;
          }
          if (!*read) {
            const auto& error = read->error();
            fail(sending, error.code == Errc::changed ? Code::file_changed : Code::file_unreadable,
                 error.message, /*tell_peer=*/true);
            return;
          }
          sending.ready.push_back(Transfer::Ready{
              entry, piece, std::make_shared<std::vector<std::uint8_t>>(std::move(**read))});
          send_pieces(sending);
        });
  }
}

void TransferService::send_pieces(Transfer& transfer) {
  // Pieces go on the session they were asked on.
  const auto connection = transfer.link != nullptr ? transfer.link_session.lock() : nullptr;
  if (connection == nullptr || !transfer.live()) return;
  while (!transfer.to_send.empty()) {
    const PieceRange& range = transfer.to_send.front();
    // Pieces read for a range that was stopped meanwhile are not wanted.
    while (!transfer.ready.empty() && transfer.ready_offset == 0 &&
           (transfer.ready.front().entry != range.entry ||
            transfer.ready.front().piece <
                (transfer.send_stream == 0 ? range.first : transfer.send_next))) {
      transfer.ready.pop_front();
    }
    if (transfer.ready.empty()) break;
    if (transfer.send_stream == 0) {
      std::uint64_t bytes = 0;
      for (std::uint32_t piece = range.first; piece < range.first + range.count; ++piece) {
        bytes += piece_bytes(*transfer.manifest, range.entry, piece);
      }
      auto stream = connection->open_stream(
          pieces_stream_label(transfer.id, range.entry, range.first), bytes);
      if (!stream) break;  // the session's streams are all open: on_stream_writable comes back
      transfer.send_stream = *stream;
      transfer.send_next = range.first;
    }
    Transfer::Ready& next = transfer.ready.front();
    const std::span<const std::uint8_t> rest =
        std::span<const std::uint8_t>(*next.bytes).subspan(transfer.ready_offset);
    const std::size_t wrote = connection->write_stream(transfer.send_stream, rest);
    transfer.ready_offset += wrote;
    transfer.wire_bytes += wrote;
    transfer.sent_bytes += wrote;
    if (wrote < rest.size()) break;  // the stream's buffer is full: on_stream_writable
    transfer.ready.pop_front();
    transfer.ready_offset = 0;
    ++transfer.send_next;
    if (config_.failpoints != nullptr) config_.failpoints->hit("transfer_sender_after_piece");
    if (transfer.send_next == range.first + range.count) {
      connection->end_stream(transfer.send_stream);
      transfer.send_stream = 0;
      transfer.queued_pieces -= std::min<std::uint64_t>(transfer.queued_pieces, range.count);
      transfer.to_send.pop_front();
    }
  }
  progress(transfer);
  read_ahead(transfer);
}

void TransferService::on_done(node::PeerEntry& peer, const Done& done) {
  Transfer* transfer = find_live(done.id, peer.id);
  if (transfer == nullptr || transfer->direction != Direction::out) return;
  const std::vector<FileView> files = files_of(*transfer->manifest);
  const TransferId id = transfer->id;
  finish(*transfer, State::done);
  observer_.transfer_done(view_of(transfers_.at(id)), files);
}

void TransferService::drop_streams(Transfer& transfer) {
  if (transfer.direction == Direction::out) {
    transfer.to_read.clear();
    transfer.to_send.clear();
    transfer.ready.clear();
    transfer.ready_offset = 0;
    transfer.send_stream = 0;
    transfer.queued_pieces = 0;
    transfer.link = nullptr;
    transfer.link_session.reset();
    ++transfer.epoch;  // reads in flight are dropped when they come back
    return;
  }
  for (auto it = streams_in_.begin(); it != streams_in_.end();) {
    const bool ours = it->second == transfer.id && !(it->first.first == transfer.manifest_on &&
                                                     it->first.second == transfer.manifest_stream);
    it = ours ? streams_in_.erase(it) : std::next(it);
  }
  transfer.in_streams.clear();
  transfer.link = nullptr;
  transfer.link_session.reset();
  transfer.requested.clear();
  if (transfer.asked && transfer.manifest) {
    // Only what already arrived (in the pool) stays asked; the rest is asked again.
    transfer.asked.emplace(*transfer.manifest);
    for (const auto& [entry, piece] : transfer.in_pool) transfer.asked->set(entry, piece);
    transfer.window_used = transfer.pool_bytes;
  }
}

}  // namespace peerchat::transfer
