// The receiver's half of TransferService: accepting, asking for pieces within the transfer's
// own window, verifying, writing and syncing them on workers, storing what is durable, and
// renaming each file into place once whole. Also the disk-full pause and restoring after a
// restart.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "net/timer.hpp"
#include "node/store_access.hpp"
#include "services/transfer/aligned_bytes.hpp"
#include "services/transfer/errors.hpp"
#include "services/transfer/service_util.hpp"
#include "services/transfer/transfer_service.hpp"

namespace peerchat::transfer {
namespace {

// Pieces written and not yet synced, at most: a sync covers this many (8 MiB of big pieces),
// or whatever was written when the pool runs dry.
constexpr std::uint32_t kSyncEvery = 8;
// Pieces per range asked for; a range is one stream.
constexpr std::uint32_t kPiecesPerRange = 16;

bool no_space(const Error& error) {
  return error.code == std::errc::no_space_on_device ||
         error.code == std::make_error_code(std::errc::no_space_on_device);
}

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

}  // namespace

void TransferService::accept(const TransferId& id, std::filesystem::path dir,
                             std::function<void(Outcome<TransferView>)> done) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.direction != Direction::in ||
      it->second.state != State::offered || !it->second.manifest) {
    done(Failure{Code::unknown_transfer, "no such offer waiting for an answer"});
    return;
  }
  if (dir.empty()) dir = config_.download_dir;
  if (dir.empty()) {
    done(
        Failure{Code::usage, "no download folder: give one with /accept ID DIR or --download-dir"});
    return;
  }
  Transfer& transfer = it->second;
  transfer.state = State::preparing;  // answered once: a second accept finds no offer
  struct Opened {
    Result<std::unique_ptr<ReceiveDisk>> disk = make_error(Errc::cancelled, "");
    Code code = Code::write_failed;
  };
  auto opened = std::make_shared<Opened>();
  const std::uint64_t needed = transfer.total_bytes;
  disk_.submit(
      key_of(id),
      [opened, manifest = transfer.manifest, dir, needed] {
        // Room first: nothing is created for an offer that cannot fit.
        auto destination = Destination::open(dir);
        if (!destination) {
          opened->disk = destination.error();
          return;
        }
        if (auto free = destination->free_bytes(); free && *free < needed) {
          opened->code = Code::disk_full;
          opened->disk = make_error(
              std::make_error_code(std::errc::no_space_on_device),
              fmt::format("{} needs {}, and {} has {} free", "the offer", human_bytes(needed),
                          destination->path().string(), human_bytes(*free)));
          return;
        }
        opened->disk = ReceiveDisk::accept(manifest, dir);
        if (!opened->disk && opened->disk.error().code == std::errc::no_space_on_device) {
          opened->code = Code::disk_full;
        }
      },
      [this, alive = alive_, id, opened, done = std::move(done)] {
        if (!*alive) return;
        auto found = transfers_.find(id);
        if (found == transfers_.end() || found->second.state != State::preparing) {
          done(Failure{Code::unknown_transfer, "the offer was cancelled meanwhile"});
          return;
        }
        Transfer& accepted = found->second;
        if (!opened->disk) {
          accepted.state = State::offered;  // still offered: another folder may do
          done(Failure{opened->code, opened->disk.error().message});
          return;
        }
        accepted.disk = std::move(*opened->disk);
        accepted.destination = accepted.disk->folder().string();
        accepted.state = State::moving;
        accepted.held.emplace(*accepted.manifest);
        accepted.asked.emplace(*accepted.manifest);
        accepted.finished.assign(accepted.manifest->entries.size(), false);
        accepted.saved.assign(accepted.manifest->entries.size(), {});
        store::TransferRecord record;
        record.id = id;
        record.peer = accepted.peer.bytes();
        record.outgoing = false;
        record.manifest = accepted.encoded;
        record.state = store::TransferState::accepted;
        record.destination = accepted.destination;
        record.placement = accepted.disk->placement().serialise();
        record.created_ms = accepted.created_ms;
        record.updated_ms = clock_.wall_ms();
        std::vector<store::TransferFile> files;
        for (std::uint32_t entry = 0; entry < accepted.manifest->entries.size(); ++entry) {
          if (accepted.manifest->entries[entry].kind != EntryKind::file) continue;
          files.push_back(store::TransferFile{entry, {}, accepted.held->bitmap(entry), {}});
        }
        // Stored before the sender hears yes: pieces only come after, so a restart always
        // finds the transfer they belong to.
        store_.run(
            [record, files](store::Store& store) { return store.save_transfer(record, files); },
            [this, alive = alive_, id, done](const Result<void>& saved) {
              if (!*alive) return;
              auto now_moving = transfers_.find(id);
              if (now_moving == transfers_.end() || now_moving->second.state != State::moving) {
                done(Failure{Code::unknown_transfer, "the transfer ended meanwhile"});
                return;
              }
              Transfer& moving = now_moving->second;
              if (!saved) {
                fail(moving, Code::store_failed, saved.error().message, /*tell_peer=*/true);
                done(Failure{Code::store_failed, saved.error().message});
                return;
              }
              send(moving.peer, FrameType::answer, encode(Answer{id, true}));
              observer_.transfer_accepted(view_of(moving));
              done(view_of(moving));
              start_receiving(moving);
            });
      });
}

void TransferService::start_receiving(Transfer& transfer) {
  finish_files(transfer);  // empty files (and a resumed transfer's whole ones) need no pieces
  request_more(transfer);
}

void TransferService::request_more(Transfer& transfer) {
  if (transfer.state != State::moving || !transfer.held || !transfer.asked || transfer.recovering) {
    return;
  }
  // Asked on the link while it lasts (a duplicate session opening does not cut what is in
  // flight on it); once it is gone, on the primary session, from scratch.
  auto connection = transfer.link != nullptr ? transfer.link_session.lock() : nullptr;
  if (connection == nullptr) {
    connection = session_with(transfer.peer);
    if (connection == nullptr) return;
    drop_streams(transfer);
    transfer.link = connection.get();
    transfer.link_session = connection;
  }
  const Manifest& manifest = *transfer.manifest;
  if (transfer.window_used + manifest.piece_size > config_.window_bytes &&
      transfer.window_used > 0) {
    return;  // ask again once a piece is written: never one piece at a time
  }
  std::uint64_t budget =
      config_.window_bytes - std::min<std::uint64_t>(config_.window_bytes, transfer.window_used);
  auto ranges = transfer.held->missing(kMaxRangesPerRequest, kPiecesPerRange, &*transfer.asked);
  Request request{transfer.id, {}};
  for (PieceRange range : ranges) {
    if (budget == 0) break;
    std::uint64_t bytes = 0;
    std::uint32_t count = 0;
    while (count < range.count) {
      const std::uint64_t next = piece_bytes(manifest, range.entry, range.first + count);
      if (bytes + next > budget && count > 0) break;
      bytes += next;
      ++count;
      if (bytes >= budget) break;
    }
    range.count = count;
    for (std::uint32_t piece = range.first; piece < range.first + count; ++piece) {
      transfer.asked->set(range.entry, piece);
    }
    transfer.window_used += bytes;
    budget -= std::min(budget, bytes);
    transfer.requested[{range.entry, range.first}] = count;
    request.ranges.push_back(range);
  }
  if (request.ranges.empty()) return;
  (void)connection->send_frame(static_cast<std::uint8_t>(FrameType::request), encode(request));
}

void TransferService::on_pieces_open(session::Connection& connection, const wire::StreamOpen& open,
                                     const StreamLabel& label) {
  Transfer& transfer = transfers_.at(label.id);
  auto asked = transfer.requested.find({label.entry, label.first});
  if (transfer.direction != Direction::in || transfer.state != State::moving ||
      transfer.link != &connection || asked == transfer.requested.end()) {
    connection.stop_stream(open.stream, "those pieces were not asked for");
    return;
  }
  auto assembler = PieceAssembler::start(*transfer.manifest, label.entry, label.first, buffers_);
  if (!assembler) {
    connection.stop_stream(open.stream, assembler.error().message);
    return;
  }
  transfer.in_streams.emplace(
      open.stream,
      Transfer::InStream{label.entry, label.first + asked->second, std::move(*assembler)});
  transfer.requested.erase(asked);
  streams_in_[{&connection, open.stream}] = transfer.id;
}

void TransferService::on_piece(Transfer& transfer, std::uint32_t entry, std::uint32_t piece,
                               std::shared_ptr<const AlignedBytes> copy) {
  if (transfer.state != State::moving || !transfer.asked->has(entry, piece) ||
      transfer.held->has(entry, piece) || transfer.in_pool.count({entry, piece}) != 0) {
    return;  // not asked for (or paused meanwhile): dropped, and asked again if still missing
  }
  transfer.in_pool.insert({entry, piece});
  const std::size_t size = copy->size();
  transfer.pool_bytes += size;
  ++transfer.writes;
  auto verdict = std::make_shared<Result<PieceVerdict>>(PieceVerdict::unwanted);
  std::function<void()> done = [this, alive = alive_, id = transfer.id, verdict, entry, piece,
                                size] {
    if (!*alive) return;
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    Transfer& receiving = it->second;
    --receiving.writes;
    receiving.pool_bytes -= std::min<std::uint64_t>(receiving.pool_bytes, size);
    receiving.window_used -= std::min<std::uint64_t>(receiving.window_used, size);
    if (!receiving.live() || !receiving.held) return;
    written(receiving, entry, piece, *verdict);
  };
  disk_.submit(
      key_of(transfer.id),
      [disk = transfer.disk, copy, verdict, entry, piece] {
        *verdict = disk->write(entry, piece, copy->bytes());
      },
      std::move(done));
}

void TransferService::written(Transfer& transfer, std::uint32_t entry, std::uint32_t piece,
                              const Result<PieceVerdict>& verdict) {
  auto unask = [&] {
    transfer.in_pool.erase({entry, piece});
    if (!transfer.held->has(entry, piece)) transfer.asked->clear(entry, piece);
  };
  if (!verdict) {
    unask();
    if (no_space(verdict.error())) {
      pause(transfer, Code::disk_full, verdict.error().message);
    } else {
      fail(transfer, Code::write_failed, verdict.error().message, /*tell_peer=*/true);
    }
    return;
  }
  switch (*verdict) {
    case PieceVerdict::written:
      ++transfer.unsynced;
      if (config_.failpoints != nullptr) config_.failpoints->hit("transfer_receiver_after_piece");
      break;
    case PieceVerdict::bad_hash:
      unask();
      ++transfer.bad_pieces;
      spdlog::warn("transfer {}: piece {} of {} did not match its hash; asked again ({} so far)",
                   short_hex(transfer.id), piece, transfer.manifest->entries[entry].path,
                   transfer.bad_pieces);
      if (transfer.bad_pieces > config_.max_bad_pieces) {
        fail(transfer, Code::bad_pieces,
             fmt::format("the sender sent {} pieces that do not match the manifest",
                         transfer.bad_pieces),
             /*tell_peer=*/true);
        return;
      }
      break;
    case PieceVerdict::unwanted:
      unask();
      break;
  }
  maybe_sync(transfer);
  request_more(transfer);
}

void TransferService::maybe_sync(Transfer& transfer) {
  if (transfer.syncing || transfer.unsynced == 0) return;
  if (transfer.writes > 0 && transfer.unsynced < kSyncEvery) return;
  transfer.syncing = true;
  auto held = std::make_shared<Result<std::vector<PieceRef>>>(std::vector<PieceRef>{});
  disk_.submit(
      key_of(transfer.id), [disk = transfer.disk, held] { *held = disk->sync(); },
      [this, alive = alive_, id = transfer.id, held] {
        if (!*alive) return;
        auto it = transfers_.find(id);
        if (it == transfers_.end()) return;
        it->second.syncing = false;
        if (!it->second.live() || !it->second.held) return;
        synced(it->second, *held);
      });
}

void TransferService::synced(Transfer& transfer, const Result<std::vector<PieceRef>>& held) {
  if (!held) {
    // The pieces written since the last sync are not held; everything in the pool is asked
    // again once the disk is back.
    transfer.unsynced = 0;
    for (const auto& [entry, piece] : transfer.in_pool) transfer.asked->clear(entry, piece);
    transfer.in_pool.clear();
    if (no_space(held.error())) {
      pause(transfer, Code::disk_full, held.error().message);
    } else {
      fail(transfer, Code::write_failed, held.error().message, /*tell_peer=*/true);
    }
    return;
  }
  std::set<std::uint32_t> touched;
  for (const PieceRef& ref : *held) {
    transfer.held->set(ref.entry, ref.piece);
    transfer.in_pool.erase({ref.entry, ref.piece});
    touched.insert(ref.entry);
  }
  transfer.unsynced -=
      std::min<std::uint32_t>(transfer.unsynced, static_cast<std::uint32_t>(held->size()));
  if (!touched.empty()) {
    std::vector<store::TransferFile> files;
    for (const auto entry : touched) {
      files.push_back(store::TransferFile{entry, {}, transfer.held->bitmap(entry), {}});
    }
    const TransferId id = transfer.id;
    const std::int64_t now = clock_.wall_ms();
    store_.run([id, files,
                now](store::Store& store) { return store.save_transfer_progress(id, files, now); },
               [this, alive = alive_, id, touched](const Result<void>& saved) {
                 if (!*alive) return;
                 auto it = transfers_.find(id);
                 if (it == transfers_.end() || !it->second.live()) return;
                 if (!saved) {
                   spdlog::warn(
                       "transfer {}: progress not stored ({}); a restart asks for those "
                       "pieces again",
                       short_hex(id), saved.error().message);
                 }
                 // Renamed into place only once the store knows every piece: a restart never finds
                 // a finished file its piece map says is missing pieces.
                 finish_files(it->second);
               });
  }
  progress(transfer);
  maybe_sync(transfer);
}

void TransferService::finish_files(Transfer& transfer) {
  const Manifest& manifest = *transfer.manifest;
  std::vector<std::uint32_t> whole;
  for (std::uint32_t entry = 0; entry < manifest.entries.size(); ++entry) {
    if (manifest.entries[entry].kind != EntryKind::file || transfer.finished[entry] ||
        transfer.finishing.count(entry) != 0 || !transfer.held->file_complete(entry)) {
      continue;
    }
    transfer.finishing.insert(entry);
    whole.push_back(entry);
  }
  if (!whole.empty()) {
    // One job for every file that became whole: small files are renamed and synced in batches.
    auto saved = std::make_shared<std::vector<Result<std::filesystem::path>>>();
    disk_.submit(
        key_of(transfer.id), [disk = transfer.disk, saved, whole] { *saved = disk->finish(whole); },
        [this, alive = alive_, id = transfer.id, saved, whole] {
          if (!*alive) return;
          auto it = transfers_.find(id);
          if (it == transfers_.end() || !it->second.live()) return;
          Transfer& receiving = it->second;
          std::vector<store::TransferFile> files;
          for (std::size_t i = 0; i < whole.size(); ++i) {
            const std::uint32_t entry = whole[i];
            receiving.finishing.erase(entry);
            const auto& result = (*saved)[i];
            if (!result) {
              const Code code =
                  result.error().code == Errc::changed ? Code::bad_pieces : Code::write_failed;
              fail(receiving, code, result.error().message, /*tell_peer=*/true);
              return;
            }
            receiving.finished[entry] = true;
            receiving.saved[entry] = result->string();
            files.push_back(store::TransferFile{
                entry, {}, receiving.held->bitmap(entry), receiving.saved[entry]});
          }
          const std::int64_t now = clock_.wall_ms();
          store_.run(
              [id, files, now](store::Store& store) {
                return store.save_transfer_progress(id, files, now);
              },
              [](const Result<void>&) {});
          finish_files(receiving);
        });
    return;
  }
  // Every file in place (or none to send: folders only): done, and the sender is told.
  if (!transfer.finishing.empty()) return;
  for (std::uint32_t entry = 0; entry < manifest.entries.size(); ++entry) {
    if (manifest.entries[entry].kind == EntryKind::file && !transfer.finished[entry]) return;
  }
  std::vector<FileView> files;
  for (std::uint32_t entry = 0; entry < manifest.entries.size(); ++entry) {
    const Entry& file = manifest.entries[entry];
    if (file.kind == EntryKind::file) {
      files.push_back(FileView{transfer.saved[entry], file.size, file.sha256});
    }
  }
  send(transfer.peer, FrameType::done, encode(Done{transfer.id}));
  const TransferId id = transfer.id;
  finish(transfer, State::done);
  observer_.transfer_done(view_of(transfers_.at(id)), files);
}

void TransferService::pause(Transfer& transfer, Code code, std::string message) {
  if (transfer.state == State::paused) return;
  spdlog::warn("transfer {} paused: {}", short_hex(transfer.id), message);
  transfer.state = State::paused;
  transfer.code = code;
  transfer.message = message;
  persist_state(transfer);
  send(transfer.peer, FrameType::status,
       encode(
           Status{transfer.id,
                  code == Code::disk_full ? StatusCode::paused_disk_full : StatusCode::paused_other,
                  coded_message(code, message)}));
  // What is on its way is not wanted now: the sender stops, and it is asked again later.
  if (const auto connection = transfer.link_session.lock()) {
    for (const auto& [stream, in] : transfer.in_streams) connection->stop_stream(stream, "paused");
  }
  drop_streams(transfer);
  observer_.transfer_paused(view_of(transfer));
  retry_later(transfer.id);
}

void TransferService::retry_later(const TransferId& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.retrying) return;
  it->second.retrying = true;
  asio::co_spawn(
      executor_,
      [this, alive = alive_, id]() -> asio::awaitable<void> {
        net::Timer timer(executor_, clock_);
        // Bounded: a paused transfer is retried until there is room, it is cancelled, or the
        // node stops; each round is one statvfs on a worker.
        for (int round = 0; round < 1'000'000; ++round) {
          timer.expires_after(config_.disk_retry);
          if (co_await timer.wait()) co_return;
          if (!*alive) co_return;
          auto found = transfers_.find(id);
          if (found == transfers_.end() || found->second.state != State::paused ||
              !found->second.disk) {
            if (found != transfers_.end()) found->second.retrying = false;
            co_return;
          }
          Transfer& transfer = found->second;
          // Room for a couple of pieces is enough to go on (what the .part files hold already
          // takes no more space); if the disk fills again, the transfer pauses again.
          const std::uint64_t needed =
              std::min<std::uint64_t>(2ull * transfer.manifest->piece_size,
                                      transfer.total_bytes - transfer.held->verified_bytes());
          auto free = std::make_shared<std::uint64_t>(0);
          disk_.submit(
              key_of(id),
              [disk = transfer.disk, free] {
                if (auto bytes = disk->free_bytes()) *free = *bytes;
              },
              [this, alive, id, free, needed] {
                if (!*alive) return;
                auto again = transfers_.find(id);
                if (again == transfers_.end() || again->second.state != State::paused) return;
                if (*free < needed) return;
                Transfer& resumed = again->second;
                resumed.retrying = false;
                resumed.state = State::moving;
                resumed.message.clear();
                persist_state(resumed);
                send(resumed.peer, FrameType::status,
                     encode(Status{id, StatusCode::resumed, "there is room again"}));
                observer_.transfer_resumed(view_of(resumed));
                request_more(resumed);
              });
        }
      },
      asio::detached);
}

void TransferService::on_status(node::PeerEntry& peer, const Status& status) {
  Transfer* transfer = find_live(status.id, peer.id);
  if (transfer == nullptr) {
    if (status.code == StatusCode::resumed) answer_returning_sender(peer.id, status.id);
    return;
  }
  if (transfer->direction == Direction::in) {
    if (status.code == StatusCode::resumed) request_more(*transfer);
    if (status.code != StatusCode::failed) return;
  }
  auto [code, message] = parse_coded(status.message);
  switch (status.code) {
    case StatusCode::paused_disk_full:
    case StatusCode::paused_other:
      if (transfer->direction != Direction::out || transfer->state == State::paused) return;
      transfer->state = State::paused;
      transfer->code = status.code == StatusCode::paused_disk_full ? Code::disk_full : code;
      transfer->message = message;
      observer_.transfer_paused(view_of(*transfer));
      return;
    case StatusCode::resumed:
      if (transfer->direction != Direction::out || transfer->state != State::paused) return;
      transfer->state = State::moving;
      transfer->message.clear();
      observer_.transfer_resumed(view_of(*transfer));
      return;
    case StatusCode::failed:
      fail(*transfer, code, message, /*tell_peer=*/false);
      return;
  }
}

void TransferService::answer_returning_sender(const tls::PeerId& peer, const TransferId& id) {
  // A sender came back with a transfer we no longer run: finished here while it was gone (its
  // DONE was lost), or cancelled. The store knows even after our own restart.
  const auto reply = [this, peer, id](std::optional<State> state) {
    if (state == State::done) {
      send(peer, FrameType::done, encode(Done{id}));
    } else {
      send(peer, FrameType::cancel,
           encode(Cancel{id, state ? fmt::format("it is {} here", state_name(*state))
                                   : std::string("no such transfer here")}));
    }
  };
  if (auto it = transfers_.find(id); it != transfers_.end()) {
    if (it->second.peer == peer) reply(it->second.state);
    return;
  }
  store_.run(
      [id](store::Store& store) { return store.transfer_record(id); },
      [alive = alive_, peer, reply](const Result<std::vector<store::TransferRecord>>& found) {
        if (!*alive || !found) return;
        if (found->empty() || tls::PeerId(found->front().peer) != peer || found->front().outgoing) {
          reply(std::nullopt);
          return;
        }
        const auto stored = found->front().state;
        reply(stored == store::TransferState::done       ? State::done
              : stored == store::TransferState::declined ? State::declined
              : stored == store::TransferState::failed   ? State::failed
                                                         : State::cancelled);
      });
}

Result<void> TransferService::restore() {
  auto records =
      store_.worker().call([](store::Store& store) { return store.unfinished_transfers(); });
  if (!records) return records.error();
  for (const auto& record : *records) {
    auto files =
        store_.worker().call([&](store::Store& store) { return store.transfer_files(record.id); });
    if (!files) return files.error();
    auto restored = restore_one(record, *files);
    if (!restored) {
      spdlog::warn("transfer {} cannot resume: {}", short_hex(record.id),
                   restored.failure().message);
      const TransferId id = record.id;
      const std::string message = restored.failure().message;
      (void)store_.worker().call([&](store::Store& store) {
        return store.set_transfer_state(id, store::TransferState::failed, message,
                                        clock_.wall_ms());
      });
    }
  }
  return {};
}

Outcome<bool> TransferService::restore_one(const store::TransferRecord& record,
                                           const std::vector<store::TransferFile>& files) {
  auto manifest = decode(record.manifest);
  if (!manifest) return Failure{Code::transfer_failed, manifest.error().message};
  Transfer transfer;
  transfer.id = record.id;
  transfer.peer = tls::PeerId(record.peer);
  transfer.direction = record.outgoing ? Direction::out : Direction::in;
  transfer.created_ms = record.created_ms;
  transfer.encoded = record.manifest;
  transfer.manifest = std::make_shared<Manifest>(std::move(*manifest));
  transfer.files = transfer.manifest->file_count();
  transfer.total_bytes = transfer.manifest->total_bytes();
  transfer.title = title_of(*transfer.manifest);
  const std::size_t entries = transfer.manifest->entries.size();
  if (record.outgoing) {
    transfer.sources.assign(entries, {});
    for (const auto& file : files) {
      if (file.entry < entries) transfer.sources[file.entry] = file.source;
    }
    transfer.reader = std::make_shared<PieceReader>(*transfer.manifest, transfer.sources);
    transfer.state = record.state == store::TransferState::offered ? State::offered : State::moving;
    transfers_.emplace(transfer.id, std::move(transfer));
    return true;
  }
  if (record.state == store::TransferState::offered) {
    return Failure{Code::transfer_failed, "an unanswered offer is not kept over a restart"};
  }
  auto placement = Placement::parse(record.placement);
  if (!placement) return Failure{Code::transfer_failed, placement.error().message};
  PieceMap held(*transfer.manifest);
  transfer.finished.assign(entries, false);
  transfer.saved.assign(entries, {});
  for (const auto& file : files) {
    if (file.entry >= entries || !held.restore(file.entry, file.held)) {
      return Failure{Code::transfer_failed, "its stored piece map does not fit its manifest"};
    }
    if (!file.saved_path.empty()) {
      transfer.finished[file.entry] = true;
      transfer.saved[file.entry] = file.saved_path;
    }
  }
  auto disk =
      ReceiveDisk::resume(transfer.manifest, record.destination, std::move(*placement), held);
  if (!disk) return Failure{Code::write_failed, disk.error().message};
  transfer.disk = std::move(*disk);
  transfer.destination = record.destination;
  transfer.held.emplace(std::move(held));
  transfer.asked.emplace(*transfer.manifest);
  transfer.state = State::moving;
  const bool paused = record.state == store::TransferState::paused;
  auto& kept = transfers_.emplace(transfer.id, std::move(transfer)).first->second;
  // Whole files and empty ones are finished now; the rest is asked for once the sender is back,
  // after what the .part files hold beyond the stored map is taken back (ReceiveDisk::recover).
  finish_files(kept);
  kept.recovering = true;
  auto recovered = std::make_shared<Result<std::vector<PieceRef>>>(std::vector<PieceRef>{});
  disk_.submit(
      key_of(kept.id),
      [disk = kept.disk, recovered, finished = kept.finished] {
        *recovered = disk->recover(finished);
      },
      [this, alive = alive_, id = kept.id, recovered] {
        if (!*alive) return;
        auto it = transfers_.find(id);
        if (it == transfers_.end() || !it->second.live()) return;
        Transfer& receiving = it->second;
        receiving.recovering = false;
        if (!*recovered) {
          spdlog::warn(
              "transfer {}: the .part files could not be read back ({}); what they "
              "hold beyond the stored map is asked for again",
              short_hex(id), recovered->error().message);
        } else if (!(*recovered)->empty()) {
          spdlog::info("transfer {}: {} pieces found whole in the .part files after the restart",
                       short_hex(id), (*recovered)->size());
          synced(receiving, *recovered);
        }
        request_more(receiving);
      });
  if (paused) {
    kept.state = State::paused;
    kept.code = Code::disk_full;
    retry_later(kept.id);
  }
  return true;
}

}  // namespace peerchat::transfer
