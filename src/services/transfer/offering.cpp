// The offer half of TransferService: preparing and sending an offer, and checking one that
// arrives before anyone sees it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

#include "node/store_access.hpp"
#include "services/transfer/errors.hpp"
#include "services/transfer/manifest_builder.hpp"
#include "services/transfer/paths.hpp"
#include "services/transfer/service_util.hpp"
#include "services/transfer/transfer_service.hpp"

namespace peerchat::transfer {

void TransferService::offer(const tls::PeerId& to, std::vector<std::filesystem::path> paths,
                            std::function<void(Outcome<TransferId>)> done) {
  TransferId id{};
  random_.fill(id);
  auto built = std::make_shared<Result<BuiltManifest>>(make_error(Errc::empty_offer, ""));
  disk_.submit(
      key_of(id), [built, paths = std::move(paths)] { *built = build_manifest(paths); },
      [this, alive = alive_, built, id, to, done = std::move(done)] {
        if (!*alive) return;
        if (!*built) {
          const auto& error = built->error();
          const Code code = error.code == Errc::unreadable ? Code::file_unreadable : Code::usage;
          done(Failure{code, error.message});
          return;
        }
        const auto connection = session_with(to);
        if (connection == nullptr || !connection->streams_enabled() ||
            (connection->peer_capabilities() & kCapabilityFiles) == 0) {
          done(Failure{Code::unknown_peer, "the peer is not connected, or does not take files"});
          return;
        }
        Transfer transfer;
        transfer.id = id;
        transfer.peer = to;
        transfer.direction = Direction::out;
        transfer.state = State::offered;
        auto manifest = std::make_shared<Manifest>(std::move((*built)->manifest));
        transfer.encoded = encode(*manifest);
        transfer.title = title_of(*manifest);
        transfer.files = manifest->file_count();
        transfer.total_bytes = manifest->total_bytes();
        transfer.created_ms = clock_.wall_ms();
        transfer.sources = std::move((*built)->sources);
        transfer.reader = std::make_shared<PieceReader>(*manifest, transfer.sources);
        transfer.manifest = std::move(manifest);
        // Stored before it is offered: a receiver may accept and ask for pieces after we restart.
        store::TransferRecord record;
        record.id = id;
        record.peer = to.bytes();
        record.outgoing = true;
        record.manifest = transfer.encoded;
        record.state = store::TransferState::offered;
        record.created_ms = record.updated_ms = transfer.created_ms;
        std::vector<store::TransferFile> files;
        for (std::uint32_t entry = 0; entry < transfer.sources.size(); ++entry) {
          if (transfer.manifest->entries[entry].kind != EntryKind::file) continue;
          files.push_back(store::TransferFile{entry, transfer.sources[entry].string(), {}, {}});
        }
        store_.run(
            [record, files](store::Store& store) { return store.save_transfer(record, files); },
            [id](const Result<void>& saved) {
              if (!saved) {
                spdlog::warn(
                    "transfer {}: not stored, so it cannot resume after a "
                    "restart: {}",
                    short_hex(id), saved.error().message);
              }
            });
        auto& kept = transfers_.emplace(id, std::move(transfer)).first->second;
        send_offer(*connection, kept);
        observer_.transfer_offered(view_of(kept), files_of(*kept.manifest), 0);
        done(id);
      });
}

void TransferService::send_offer(session::Connection& connection, Transfer& transfer) {
  const Offer offer{transfer.id, manifest_hash(transfer.encoded),
                    static_cast<std::uint32_t>(transfer.encoded.size()),
                    static_cast<std::uint32_t>(transfer.files), transfer.total_bytes};
  if (!connection.send_frame(static_cast<std::uint8_t>(FrameType::offer), encode(offer))) return;
  auto stream = connection.open_stream(manifest_stream_label(transfer.id), transfer.encoded.size());
  if (!stream) return;  // too many streams open now: offered again on the next session
  transfer.offered_on = &connection;
  transfer.offer_stream = *stream;
  transfer.offer_sent = 0;
  send_manifest(connection, transfer);
}

void TransferService::send_manifest(session::Connection& connection, Transfer& transfer) {
  if (transfer.offer_stream == 0 || transfer.offered_on != &connection) return;
  transfer.offer_sent += connection.write_stream(
      transfer.offer_stream, std::span(transfer.encoded).subspan(transfer.offer_sent));
  if (transfer.offer_sent == transfer.encoded.size()) {
    connection.end_stream(transfer.offer_stream);
    transfer.offer_stream = 0;
  }
}

void TransferService::refuse(session::Connection& connection, const TransferId& id,
                             const std::string& reason) {
  spdlog::warn("refused file offer {}: {}", short_hex(id), reason);
  (void)connection.send_frame(static_cast<std::uint8_t>(FrameType::cancel),
                              encode(Cancel{id, "refused: " + reason}));
}

void TransferService::on_offer(node::PeerEntry& peer, session::Connection& connection,
                               const Offer& offer) {
  if (auto it = transfers_.find(offer.id); it != transfers_.end()) {
    Transfer& known = it->second;
    if (known.peer != peer.id || known.direction != Direction::in) {
      refuse(connection, offer.id, "a transfer with that ID exists already");
      return;
    }
    // The sender offers again after a reconnect or a restart of its own.
    if (!known.manifest) {
      known.manifest_on = &connection;  // still arriving: start over on this session
      known.manifest_bytes.clear();
      known.offer = offer;
    } else if (known.state == State::moving || known.state == State::paused) {
      send(peer.id, FrameType::answer, encode(Answer{offer.id, true}));
    } else if (!known.live()) {
      send(peer.id, FrameType::cancel,
           encode(Cancel{offer.id, fmt::format("it is {} here", state_name(known.state))}));
    }
    return;
  }
  const auto pending = std::count_if(transfers_.begin(), transfers_.end(), [&](const auto& entry) {
    return entry.second.peer == peer.id && entry.second.direction == Direction::in &&
           entry.second.state == State::offered;
  });
  if (static_cast<std::size_t>(pending) >= config_.max_offers_per_peer) {
    refuse(connection, offer.id,
           fmt::format("{} offers are already waiting for an answer", pending));
    return;
  }
  Transfer transfer;
  transfer.id = offer.id;
  transfer.peer = peer.id;
  transfer.direction = Direction::in;
  transfer.state = State::offered;
  transfer.offer = offer;
  transfer.manifest_on = &connection;
  transfer.created_ms = clock_.wall_ms();
  transfers_.emplace(offer.id, std::move(transfer));
}

void TransferService::on_manifest_open(node::PeerEntry& peer, session::Connection& connection,
                                       const wire::StreamOpen& open, const TransferId& id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end() || it->second.peer != peer.id || it->second.manifest ||
      it->second.manifest_stream != 0 || it->second.manifest_on != &connection) {
    // Unknown, or one we hold already (a repeated offer): the manifest is not needed.
    connection.stop_stream(open.stream, "no offer waits for this manifest");
    return;
  }
  it->second.manifest_stream = open.stream;
  streams_in_[{&connection, open.stream}] = id;
}

void TransferService::check_offer(session::Connection& connection, Transfer& transfer) {
  const TransferId id = transfer.id;
  auto fail_offer = [&](const std::string& reason) {
    refuse(connection, id, reason);
    transfer.code = Code::transfer_refused;
    transfer.message = reason;
    const TransferView view = view_of(transfer);
    transfers_.erase(id);  // nothing of a refused offer is kept, not even for /transfers
    TransferView failed = view;
    failed.state = State::failed;
    observer_.transfer_failed(failed);
  };
  if (transfer.manifest_bytes.size() != transfer.offer.manifest_bytes ||
      manifest_hash(transfer.manifest_bytes) != transfer.offer.manifest_hash) {
    fail_offer("its manifest does not match the hash it was offered under");
    return;
  }
  auto manifest = decode(transfer.manifest_bytes);
  if (!manifest) {
    fail_offer(manifest.error().message);
    return;
  }
  if (auto refusal = check_paths(*manifest)) {
    fail_offer(refusal->message);
    return;
  }
  if (manifest->file_count() != transfer.offer.files ||
      manifest->total_bytes() != transfer.offer.total_bytes) {
    fail_offer("its manifest does not list what the offer announced");
    return;
  }
  transfer.encoded = std::move(transfer.manifest_bytes);
  transfer.manifest_bytes = {};
  transfer.manifest = std::make_shared<Manifest>(std::move(*manifest));
  transfer.title = title_of(*transfer.manifest);
  transfer.files = transfer.manifest->file_count();
  transfer.total_bytes = transfer.manifest->total_bytes();
  const bool trusted = std::find(config_.accept_from.begin(), config_.accept_from.end(),
                                 transfer.peer) != config_.accept_from.end();
  // The free space is measured where the files would go; statvfs is quick, but a download dir
  // on a network mount need not be, so it is measured on a worker.
  auto free = std::make_shared<std::uint64_t>(0);
  disk_.submit(
      key_of(id),
      [free, dir = config_.download_dir] {
        std::error_code error;
        auto space = std::filesystem::space(dir, error);
        for (auto parent = dir;
             error && parent.has_parent_path() && parent != parent.parent_path();) {
          parent = parent.parent_path();  // the download dir may not exist yet
          space = std::filesystem::space(parent, error);
        }
        if (!error) *free = space.available;
      },
      [this, alive = alive_, free, id, trusted] {
        if (!*alive) return;
        auto it = transfers_.find(id);
        if (it == transfers_.end() || it->second.state != State::offered) return;
        observer_.transfer_offered(view_of(it->second), files_of(*it->second.manifest), *free);
        if (!trusted) return;
        accept(id, {}, [this, alive = alive_, id](Outcome<TransferView> accepted) {
          if (!*alive || accepted) return;
          // Offers from a trusted peer that cannot be taken (no room, no folder) are refused.
          auto still = transfers_.find(id);
          if (still == transfers_.end() || still->second.state != State::offered) return;
          if (const auto session = session_with(still->second.peer)) {
            refuse(*session, id, accepted.failure().message);
          }
          still->second.code = accepted.failure().code;
          still->second.message = accepted.failure().message;
          finish(still->second, State::failed);
          observer_.transfer_failed(view_of(transfers_.at(id)));
        });
      });
}

}  // namespace peerchat::transfer
