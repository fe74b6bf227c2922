#include "services/transfer/transfer_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/post.hpp>

#include "node/store_access.hpp"
#include "services/transfer/service_util.hpp"

namespace peerchat::transfer {

TransferService::TransferService(asio::any_io_executor executor, Random& random, const Clock& clock,
                                 node::StoreAccess& store, TransferObserver& observer,
                                 TransferConfig config)
    : executor_(executor),
      random_(random),
      clock_(clock),
      store_(store),
      observer_(observer),
      config_(std::move(config)),
      buffers_(PieceBuffers::make(config_.window_bytes / kPieceSize + 4)),
      disk_(2, [executor](std::function<void()> done) { asio::post(executor, std::move(done)); }) {}

TransferService::~TransferService() {
  *alive_ = false;
}

std::vector<std::uint8_t> TransferService::frame_types() const {
  std::vector<std::uint8_t> types;
  for (auto type = static_cast<std::uint8_t>(FrameType::offer);
       type <= static_cast<std::uint8_t>(FrameType::done); ++type) {
    types.push_back(type);
  }
  return types;
}

TransferView TransferService::view_of(const Transfer& transfer) const {
  TransferView view;
  view.id = transfer.id;
  view.peer = transfer.peer;
  view.direction = transfer.direction;
  view.state = transfer.state;
  view.title = transfer.title;
  view.files = transfer.files;
  view.total_bytes = transfer.total_bytes;
  if (transfer.direction == Direction::in) {
    view.bytes = transfer.held ? transfer.held->verified_bytes() : 0;
  } else {
    view.bytes = std::min(transfer.sent_bytes, transfer.total_bytes);
  }
  if (transfer.state == State::done) view.bytes = transfer.total_bytes;
  view.destination = transfer.destination;
  view.code = transfer.code;
  view.message = transfer.message;
  view.wire_bytes = transfer.wire_bytes;
  view.bad_pieces = transfer.bad_pieces;
  return view;
}

Transfer* TransferService::find_live(const TransferId& id, const tls::PeerId& peer) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.peer != peer || !it->second.live()) return nullptr;
  return &it->second;
}

void TransferService::send(const tls::PeerId& peer, FrameType type,
                           const std::vector<std::uint8_t>& payload) {
  if (const auto connection = session_with(peer)) {
    (void)connection->send_frame(static_cast<std::uint8_t>(type), payload);
  }
}

Outcome<TransferId> TransferService::find(std::string_view query) const {
  std::string wanted;
  for (char c : query) wanted += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (wanted.size() < 4 || wanted.size() > 32 ||
      wanted.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Failure{Code::unknown_transfer,
                   fmt::format("'{}' is not a transfer ID or a prefix of one (at least 4 hex "
                               "digits)",
                               query)};
  }
  std::optional<TransferId> found;
  for (const auto& [id, transfer] : transfers_) {
    if (to_hex(id).starts_with(wanted)) {
      if (found) {
        return Failure{Code::ambiguous_transfer,
                       fmt::format("several transfers start with {}; give more of the ID", wanted)};
      }
      found = id;
    }
  }
  if (!found) {
    return Failure{Code::unknown_transfer,
                   fmt::format("no transfer starts with {}; /transfers lists them", wanted)};
  }
  return *found;
}

std::vector<TransferView> TransferService::list() const {
  std::vector<const Transfer*> all;
  for (const auto& [id, transfer] : transfers_) all.push_back(&transfer);
  std::sort(all.begin(), all.end(), [](const Transfer* a, const Transfer* b) {
    return std::tie(a->created_ms, a->id) < std::tie(b->created_ms, b->id);
  });
  std::vector<TransferView> views;
  for (const Transfer* transfer : all) views.push_back(view_of(*transfer));
  return views;
}

void TransferService::persist_state(const Transfer& transfer) {
  store::TransferState state = store::TransferState::accepted;
  switch (transfer.state) {
    case State::preparing:
    case State::offered:
      state = store::TransferState::offered;
      break;
    case State::moving:
      state = store::TransferState::accepted;
      break;
    case State::paused:
      state = store::TransferState::paused;
      break;
    case State::done:
      state = store::TransferState::done;
      break;
    case State::failed:
      state = store::TransferState::failed;
      break;
    case State::cancelled:
      state = store::TransferState::cancelled;
      break;
    case State::declined:
      state = store::TransferState::declined;
      break;
  }
  const TransferId id = transfer.id;
  const std::string message = transfer.message;
  const std::int64_t now = clock_.wall_ms();
  store_.run([id, state, message, now](
                 store::Store& store) { return store.set_transfer_state(id, state, message, now); },
             [id](const Result<void>& saved) {
               if (!saved) {
                 spdlog::warn("transfer {}: its state was not saved: {}", short_hex(id),
                              saved.error().message);
               }
             });
}

void TransferService::finish(Transfer& transfer, State state) {
  transfer.state = state;
  transfer.finished_seq = ++finished_count_;
  persist_state(transfer);
  if (transfer.direction == Direction::in && transfer.disk && state != State::done) {
    // Cancelled, declined or failed: the .part files go (a finished file stays where it is).
    disk_.submit(key_of(transfer.id), [disk = transfer.disk, finished = transfer.finished] {
      disk->remove_parts(finished);
    });
  }
  for (auto it = streams_in_.begin(); it != streams_in_.end();) {
    it = it->second == transfer.id ? streams_in_.erase(it) : std::next(it);
  }
  if (const auto connection = transfer.link_session.lock()) {
    if (transfer.send_stream != 0) connection->cancel_stream(transfer.send_stream, "transfer over");
    for (const auto& [stream, in] : transfer.in_streams) {
      connection->stop_stream(stream, "transfer over");
    }
  }
  if (const auto connection = session_with(transfer.peer);
      connection != nullptr && transfer.offer_stream != 0 &&
      transfer.offered_on == connection.get()) {
    connection->cancel_stream(transfer.offer_stream, "transfer over");
  }
  // What a finished transfer no longer needs; the view fields stay for /transfers.
  transfer.disk.reset();
  transfer.reader.reset();
  transfer.encoded = {};
  transfer.manifest_bytes = {};
  transfer.ready.clear();
  transfer.to_read.clear();
  transfer.to_send.clear();
  transfer.in_streams.clear();
  transfer.in_pool.clear();
  transfer.send_stream = 0;
  transfer.offer_stream = 0;
  ++transfer.epoch;
  const bool receiving = std::any_of(transfers_.begin(), transfers_.end(), [](const auto& item) {
    return item.second.direction == Direction::in && item.second.live();
  });
  if (!receiving) buffers_->trim();
  forget_old();
}

void TransferService::forget_old() {
  std::vector<std::pair<std::uint64_t, TransferId>> ended;
  for (const auto& [id, transfer] : transfers_) {
    if (!transfer.live()) ended.emplace_back(transfer.finished_seq, id);
  }
  if (ended.size() <= config_.recent) return;
  std::sort(ended.begin(), ended.end());
  for (std::size_t i = 0; i + config_.recent < ended.size(); ++i) {
    transfers_.erase(ended[i].second);
  }
}

void TransferService::fail(Transfer& transfer, Code code, std::string message, bool tell_peer) {
  if (!transfer.live()) return;
  spdlog::warn("transfer {} failed: {}", short_hex(transfer.id), message);
  if (tell_peer) {
    send(transfer.peer, FrameType::status,
         encode(Status{transfer.id, StatusCode::failed, coded_message(code, message)}));
  }
  transfer.code = code;
  transfer.message = std::move(message);
  const TransferId id = transfer.id;
  finish(transfer, State::failed);
  observer_.transfer_failed(view_of(transfers_.at(id)));
}

Outcome<bool> TransferService::decline(const TransferId& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.direction != Direction::in ||
      it->second.state != State::offered || !it->second.manifest) {
    return Failure{Code::unknown_transfer, "no such offer waiting for an answer"};
  }
  send(it->second.peer, FrameType::answer, encode(Answer{id, false}));
  finish(it->second, State::declined);
  observer_.transfer_declined(view_of(transfers_.at(id)));
  return true;
}

Outcome<bool> TransferService::cancel(const TransferId& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return Failure{Code::unknown_transfer, "no such transfer"};
  Transfer& transfer = it->second;
  if (!transfer.live()) {
    return Failure{Code::unknown_transfer, fmt::format("transfer {} is {} already", short_hex(id),
                                                       state_name(transfer.state))};
  }
  send(transfer.peer, FrameType::cancel, encode(Cancel{id, "cancelled by the peer's user"}));
  transfer.message = "cancelled here";
  finish(transfer, State::cancelled);
  observer_.transfer_cancelled(view_of(transfers_.at(id)), false);
  return true;
}

void TransferService::cancelled_by_peer(Transfer& transfer, const std::string& message) {
  const TransferId id = transfer.id;
  if (message.starts_with("refused: ")) {
    // The receiver refused our offer as a whole (a path, a size): a failure, with its reason.
    transfer.code = Code::transfer_refused;
    transfer.message = message.substr(9);
    finish(transfer, State::failed);
    observer_.transfer_failed(view_of(transfers_.at(id)));
    return;
  }
  transfer.message = message;
  finish(transfer, State::cancelled);
  observer_.transfer_cancelled(view_of(transfers_.at(id)), true);
}

void TransferService::progress(Transfer& transfer, bool force) {
  const auto now = clock_.now();
  const TransferView view = view_of(transfer);
  if (!force && now - transfer.progress_at < config_.progress_interval) return;
  const auto elapsed = std::chrono::duration<double>(now - transfer.progress_at).count();
  const std::uint64_t moved =
      view.bytes > transfer.progress_bytes ? view.bytes - transfer.progress_bytes : 0;
  const auto rate = transfer.progress_at == Clock::TimePoint{} || elapsed <= 0
                        ? std::uint64_t{0}
                        : static_cast<std::uint64_t>(static_cast<double>(moved) / elapsed);
  transfer.progress_at = now;
  transfer.progress_bytes = view.bytes;
  observer_.transfer_progress(view, rate);
}

void TransferService::on_frame(node::PeerEntry& peer, session::Connection& connection,
                               std::uint8_t type, std::span<const std::uint8_t> payload) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::offer:
      if (auto offer = decode_offer(payload)) return on_offer(peer, connection, *offer);
      break;
    case FrameType::answer:
      if (auto answer = decode_answer(payload)) return on_answer(peer, *answer);
      break;
    case FrameType::request:
      if (auto request = decode_request(payload)) return on_request(peer, connection, *request);
      break;
    case FrameType::cancel:
      if (auto cancelled = decode_cancel(payload)) {
        if (Transfer* transfer = find_live(cancelled->id, peer.id)) {
          cancelled_by_peer(*transfer, cancelled->message);
        }
        return;
      }
      break;
    case FrameType::status:
      if (auto status = decode_status(payload)) return on_status(peer, *status);
      break;
    case FrameType::done:
      if (auto done = decode_done(payload)) return on_done(peer, *done);
      break;
  }
  // A malformed frame from an authenticated peer: dropped and logged, the session goes on.
  spdlog::warn("dropped a malformed file transfer frame (0x{:02x}) from {}", type,
               peer.id.fingerprint());
}

void TransferService::on_stream_open(node::PeerEntry& peer, session::Connection& connection,
                                     const wire::StreamOpen& open) {
  auto label = parse_stream_label(open.label);
  if (!label) {
    connection.stop_stream(open.stream, "not a stream this peer asked for");
    return;
  }
  if (label->kind == StreamLabel::Kind::manifest) {
    on_manifest_open(peer, connection, open, label->id);
    return;
  }
  auto it = transfers_.find(label->id);
  if (it == transfers_.end() || it->second.peer != peer.id) {
    connection.stop_stream(open.stream, "no such transfer");
    return;
  }
  on_pieces_open(connection, open, *label);
}

void TransferService::on_stream_data(node::PeerEntry& /*peer*/, session::Connection& connection,
                                     std::uint32_t stream, std::span<const std::uint8_t> data) {
  // Copied out at once (a manifest into its bounded buffer, pieces into the transfer's
  // window): the session's credit comes straight back, and each transfer's own window is
  // what holds its sender back.
  connection.consume_stream(data.size());
  auto found = streams_in_.find({&connection, stream});
  if (found == streams_in_.end()) return;
  auto it = transfers_.find(found->second);
  if (it == transfers_.end()) return;
  Transfer& transfer = it->second;
  if (transfer.manifest_on == &connection && transfer.manifest_stream == stream) {
    if (transfer.manifest_bytes.size() + data.size() > transfer.offer.manifest_bytes) {
      const TransferId id = transfer.id;
      connection.stop_stream(stream, "more manifest than the offer announced");
      refuse(connection, id, "its manifest is longer than it announced");
      streams_in_.erase(found);
      transfers_.erase(id);
      return;
    }
    transfer.manifest_bytes.insert(transfer.manifest_bytes.end(), data.begin(), data.end());
    return;
  }
  auto in = transfer.in_streams.find(stream);
  if (transfer.link != &connection || in == transfer.in_streams.end()) return;
  transfer.wire_bytes += data.size();
  const std::uint32_t entry = in->second.entry;
  auto fed = in->second.assembler.feed(
      data, [&](std::uint32_t piece, std::shared_ptr<const AlignedBytes> bytes) {
        on_piece(transfer, entry, piece, std::move(bytes));
      });
  if (!fed) {
    // More bytes than the file has: a sender bug or worse. Drop the stream; what it did not
    // complete is asked again.
    spdlog::warn("transfer {}: {}", short_hex(transfer.id), fed.error().message);
    connection.stop_stream(stream, fed.error().message);
  }
}

void TransferService::on_stream_end(node::PeerEntry& /*peer*/, session::Connection& connection,
                                    const wire::StreamEnd& end) {
  auto found = streams_in_.find({&connection, end.stream});
  if (found == streams_in_.end()) return;
  const TransferId id = found->second;
  streams_in_.erase(found);
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  Transfer& transfer = it->second;
  if (transfer.manifest_on == &connection && transfer.manifest_stream == end.stream) {
    transfer.manifest_stream = 0;
    if (end.status != wire::StreamStatus::complete) {
      if (!transfer.manifest) transfers_.erase(id);
      return;
    }
    check_offer(connection, transfer);
    return;
  }
  auto in = transfer.in_streams.find(end.stream);
  if (in == transfer.in_streams.end()) return;
  // Whatever the stream did not bring (cut short, a partial piece) is asked for again.
  if (transfer.asked) {
    for (std::uint32_t piece = in->second.assembler.next_piece(); piece < in->second.end; ++piece) {
      if (transfer.in_pool.count({in->second.entry, piece}) != 0 ||
          !transfer.asked->has(in->second.entry, piece)) {
        continue;
      }
      transfer.asked->clear(in->second.entry, piece);
      transfer.window_used -=
          std::min(transfer.window_used, piece_bytes(*transfer.manifest, in->second.entry, piece));
    }
  }
  transfer.in_streams.erase(in);
  if (transfer.state == State::moving) request_more(transfer);
}

void TransferService::on_stream_stopped(node::PeerEntry& peer, session::Connection& /*connection*/,
                                        const wire::StreamStop& stop) {
  for (auto& [id, transfer] : transfers_) {
    if (transfer.peer != peer.id || transfer.direction != Direction::out) continue;
    if (transfer.offer_stream == stop.stream) transfer.offer_stream = 0;
    if (transfer.send_stream != stop.stream || transfer.to_send.empty()) continue;
    // The receiver does not want this range now (paused, or it gave up on it): the rest of it
    // is not read or sent; it asks again for what it still lacks.
    const PieceRange range = transfer.to_send.front();
    transfer.to_send.pop_front();
    transfer.queued_pieces -= std::min<std::uint64_t>(transfer.queued_pieces, range.count);
    transfer.send_stream = 0;
    transfer.ready_offset = 0;
    std::erase_if(transfer.to_read, [&](const PieceRange& unread) {
      return unread.entry == range.entry && unread.first >= range.first &&
             unread.first < range.first + range.count;
    });
    send_pieces(transfer);
    return;
  }
}

void TransferService::on_stream_writable(node::PeerEntry& peer, session::Connection& connection) {
  for (auto& [id, transfer] : transfers_) {
    if (transfer.peer != peer.id || transfer.direction != Direction::out || !transfer.live()) {
      continue;
    }
    if (transfer.offer_stream != 0) send_manifest(connection, transfer);
    send_pieces(transfer);
  }
}

std::shared_ptr<session::Connection> TransferService::session_with(const tls::PeerId& peer) const {
  auto it = sessions_.find(peer);
  return it == sessions_.end() ? nullptr : it->second.lock();
}

void TransferService::on_session_open(node::PeerEntry& peer, session::Connection& connection) {
  sessions_[peer.id] = connection.weak_from_this();
  for (auto& [id, transfer] : transfers_) {
    if (transfer.peer != peer.id || !transfer.live()) continue;
    // Pieces keep moving on their link while it lasts; a new session takes over when it ends
    // (on_session_closed), and the receiver then asks again for what it still lacks.
    if (transfer.direction == Direction::out) {
      if (transfer.state == State::offered && transfer.offered_on != &connection) {
        send_offer(connection, transfer);
      } else if (transfer.state != State::offered) {
        // Back (after a restart or a cut) with a transfer under way: the receiver asks for what
        // it lacks, or, if it finished while we were gone, says DONE again.
        (void)connection.send_frame(
            static_cast<std::uint8_t>(FrameType::status),
            encode(Status{transfer.id, StatusCode::resumed, "the sender is back"}));
      }
    } else if (transfer.state == State::moving) {
      request_more(transfer);
    }
  }
}

void TransferService::on_session_closed(node::PeerEntry& peer, session::Connection& connection,
                                        const session::CloseReason& /*reason*/) {
  if (session::Connection* survivor = peer.primary()) {
    sessions_[peer.id] = survivor->weak_from_this();
  } else {
    sessions_.erase(peer.id);
  }
  std::erase_if(streams_in_, [&](const auto& entry) { return entry.first.first == &connection; });
  std::vector<TransferId> gone;
  for (auto& [id, transfer] : transfers_) {
    if (transfer.peer != peer.id) continue;
    // An offer whose manifest was still arriving on this session is gone with it; the sender
    // offers again. Whole offers wait for their answer.
    if (transfer.direction == Direction::in && transfer.state == State::offered &&
        !transfer.manifest && transfer.manifest_on == &connection) {
      gone.push_back(id);
      continue;
    }
    if (transfer.manifest_on == &connection) transfer.manifest_on = nullptr;
    if (transfer.offered_on == &connection) {
      transfer.offered_on = nullptr;
      transfer.offer_stream = 0;
    }
    if (transfer.link == &connection) drop_streams(transfer);
  }
  for (const auto& id : gone) transfers_.erase(id);
  // The survivor may be the session pieces were asked on: carry on there.
  for (auto& [id, transfer] : transfers_) {
    if (transfer.peer != peer.id || !transfer.live()) continue;
    if (transfer.direction == Direction::out) {
      send_pieces(transfer);
    } else {
      request_more(transfer);  // what was asked on the closed session, asked on the survivor
    }
  }
}

}  // namespace peerchat::transfer
