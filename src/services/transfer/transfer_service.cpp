#include "services/transfer/transfer_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <asio/post.hpp>

#include "node/store_access.hpp"
#include "services/transfer/errors.hpp"
#include "services/transfer/manifest_builder.hpp"
#include "services/transfer/paths.hpp"

namespace peerchat::transfer {
namespace {

// The pool's key for one transfer: its jobs run in order.
std::uint64_t key_of(const TransferId& id) {
  std::uint64_t key = 0;
  for (std::size_t i = 0; i < sizeof key; ++i) key = key << 8 | id[i];
  return key;
}

std::string short_id(const TransferId& id) {
  return fmt::format("{:02x}{:02x}{:02x}{:02x}", id[0], id[1], id[2], id[3]);
}

}  // namespace

TransferService::TransferService(asio::any_io_executor executor, Random& random, const Clock& clock,
                                 node::StoreAccess& store, TransferObserver& observer,
                                 TransferConfig config)
    : executor_(executor),
      random_(random),
      clock_(clock),
      store_(store),
      observer_(observer),
      config_(std::move(config)),
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
          done(Failure{Code::usage, built->error().message});
          return;
        }
        const auto connection = session_with(to);
        if (connection == nullptr || !connection->streams_enabled() ||
            (connection->peer_capabilities() & kCapabilityFiles) == 0) {
          done(Failure{Code::unknown_peer, "the peer is not connected, or does not take files"});
          return;
        }
        Outgoing outgoing{to, std::move((*built)->manifest), {}, std::move((*built)->sources)};
        outgoing.encoded = encode(outgoing.manifest);
        const Offer offer{id, manifest_hash(outgoing.encoded),
                          static_cast<std::uint32_t>(outgoing.encoded.size()),
                          static_cast<std::uint32_t>(outgoing.manifest.file_count()),
                          outgoing.manifest.total_bytes()};
        if (auto sent =
                connection->send_frame(static_cast<std::uint8_t>(FrameType::offer), encode(offer));
            !sent) {
          done(Failure{Code::connect_failed, sent.error().message});
          return;
        }
        auto stream = connection->open_stream(manifest_stream_label(id), outgoing.encoded.size());
        if (!stream) {
          done(Failure{Code::connect_failed, stream.error().message});
          return;
        }
        outgoing.stream = *stream;
        auto& kept = outgoing_.emplace(id, std::move(outgoing)).first->second;
        send_manifest(*connection, kept);
        done(id);
      });
}

void TransferService::send_manifest(session::Connection& connection, Outgoing& outgoing) {
  if (outgoing.stream == 0) return;
  outgoing.sent +=
      connection.write_stream(outgoing.stream, std::span(outgoing.encoded).subspan(outgoing.sent));
  if (outgoing.sent == outgoing.encoded.size()) {
    connection.end_stream(outgoing.stream);
    outgoing.stream = 0;
  }
}

void TransferService::on_stream_writable(node::PeerEntry& peer, session::Connection& connection) {
  for (auto& [id, outgoing] : outgoing_) {
    if (outgoing.peer == peer.id) send_manifest(connection, outgoing);
  }
}

Outcome<bool> TransferService::decline(const TransferId& id) {
  auto it = incoming_.find(id);
  if (it == incoming_.end() || !it->second.complete) {
    return Failure{Code::usage, "no such offer waiting for an answer"};
  }
  if (const auto connection = session_with(it->second.peer)) {
    (void)connection->send_frame(static_cast<std::uint8_t>(FrameType::answer),
                                 encode(Answer{id, false}));
  }
  observer_.transfer_declined(view_of(it->second.peer, id, Direction::in, State::declined));
  incoming_.erase(it);
  return true;
}

void TransferService::on_frame(node::PeerEntry& peer, session::Connection& connection,
                               std::uint8_t type, std::span<const std::uint8_t> payload) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::offer:
      if (auto offer = decode_offer(payload)) {
        on_offer(peer, connection, *offer);
        return;
      }
      break;
    case FrameType::answer:
      if (auto answer = decode_answer(payload)) {
        on_answer(peer, *answer);
        return;
      }
      break;
    case FrameType::cancel:
      if (auto cancel = decode_cancel(payload)) {
        on_cancel(peer, *cancel);
        return;
      }
      break;
    default:
      return;  // requests, status and done belong to the next part
  }
  // A malformed frame from an authenticated peer: dropped and logged, the session goes on.
  spdlog::warn("dropped a malformed file transfer frame (0x{:02x}) from {}", type,
               peer.id.fingerprint());
}

void TransferService::on_offer(node::PeerEntry& peer, session::Connection& connection,
                               const Offer& offer) {
  if (incoming_.count(offer.id) != 0 || outgoing_.count(offer.id) != 0) {
    refuse(connection, offer.id, "a transfer with that ID exists already");
    return;
  }
  const auto pending = std::count_if(incoming_.begin(), incoming_.end(), [&](const auto& entry) {
    return entry.second.peer == peer.id;
  });
  if (static_cast<std::size_t>(pending) >= config_.max_offers_per_peer) {
    refuse(connection, offer.id,
           fmt::format("{} offers are already waiting for an answer", pending));
    return;
  }
  incoming_.emplace(offer.id, Incoming{peer.id, offer, &connection, 0, {}, false});
}

void TransferService::on_answer(node::PeerEntry& peer, const Answer& answer) {
  auto it = outgoing_.find(answer.id);
  if (it == outgoing_.end() || it->second.peer != peer.id) return;
  if (!answer.accepted) {
    observer_.transfer_declined(view_of(peer.id, answer.id, Direction::out, State::declined));
    outgoing_.erase(it);
  }
  // Accepted: pieces are the next part.
}

void TransferService::on_cancel(node::PeerEntry& peer, const Cancel& cancel) {
  if (auto it = outgoing_.find(cancel.id); it != outgoing_.end() && it->second.peer == peer.id) {
    observer_.transfer_cancelled(view_of(peer.id, cancel.id, Direction::out, State::cancelled),
                                 true);
    outgoing_.erase(it);
  } else if (auto in = incoming_.find(cancel.id);
             in != incoming_.end() && in->second.peer == peer.id) {
    if (in->second.complete)
      observer_.transfer_cancelled(view_of(peer.id, cancel.id, Direction::in, State::cancelled),
                                   true);
    incoming_.erase(in);
  }
}

void TransferService::refuse(session::Connection& connection, const TransferId& id,
                             const std::string& reason) {
  spdlog::warn("refused file offer {}: {}", short_id(id), reason);
  (void)connection.send_frame(static_cast<std::uint8_t>(FrameType::cancel),
                              encode(Cancel{id, "refused: " + reason}));
}

TransferService::Incoming* TransferService::incoming_on(const session::Connection& connection,
                                                        std::uint32_t stream) {
  for (auto& [id, incoming] : incoming_) {
    if (incoming.connection == &connection && incoming.stream == stream && stream != 0) {
      return &incoming;
    }
  }
  return nullptr;
}

void TransferService::on_stream_open(node::PeerEntry& peer, session::Connection& connection,
                                     const wire::StreamOpen& open) {
  auto label = parse_stream_label(open.label);
  if (!label || label->kind != StreamLabel::Kind::manifest) {
    connection.stop_stream(open.stream, "not a stream this peer asked for");
    return;
  }
  auto it = incoming_.find(label->id);
  if (it == incoming_.end() || it->second.peer != peer.id || it->second.stream != 0 ||
      it->second.connection != &connection) {
    connection.stop_stream(open.stream, "no offer waits for this manifest");
    return;
  }
  it->second.stream = open.stream;
}

void TransferService::on_stream_data(node::PeerEntry& /*peer*/, session::Connection& connection,
                                     std::uint32_t stream, std::span<const std::uint8_t> data) {
  connection.consume_stream(data.size());  // held in the offer's own bounded buffer
  Incoming* incoming = incoming_on(connection, stream);
  if (incoming == nullptr) return;
  if (incoming->manifest.size() + data.size() > incoming->offer.manifest_bytes) {
    const TransferId id = incoming->offer.id;
    connection.stop_stream(stream, "more manifest than the offer announced");
    refuse(connection, id, "its manifest is longer than it announced");
    incoming_.erase(id);
    return;
  }
  incoming->manifest.insert(incoming->manifest.end(), data.begin(), data.end());
}

void TransferService::on_stream_end(node::PeerEntry& /*peer*/, session::Connection& connection,
                                    const wire::StreamEnd& end) {
  Incoming* incoming = incoming_on(connection, end.stream);
  if (incoming == nullptr) return;
  incoming->stream = 0;
  const TransferId id = incoming->offer.id;
  if (end.status != wire::StreamStatus::complete) {
    incoming_.erase(id);
    return;
  }
  check_offer(connection, id);
}

void TransferService::check_offer(session::Connection& connection, const TransferId& id) {
  Incoming& incoming = incoming_.at(id);
  auto fail = [&](const std::string& reason) {
    refuse(connection, id, reason);
    {
      TransferView view = view_of(incoming.peer, id, Direction::in, State::failed);
      view.code = Code::transfer_refused;
      view.message = reason;
      observer_.transfer_failed(view);
    }
    incoming_.erase(id);
  };
  if (incoming.manifest.size() != incoming.offer.manifest_bytes ||
      manifest_hash(incoming.manifest) != incoming.offer.manifest_hash) {
    fail("its manifest does not match the hash it was offered under");
    return;
  }
  auto manifest = decode(incoming.manifest);
  if (!manifest) {
    fail(manifest.error().message);
    return;
  }
  if (auto refusal = check_paths(*manifest)) {
    fail(refusal->message);
    return;
  }
  if (manifest->file_count() != incoming.offer.files ||
      manifest->total_bytes() != incoming.offer.total_bytes) {
    fail("its manifest does not list what the offer announced");
    return;
  }
  incoming.complete = true;
  std::vector<FileView> files;
  for (const auto& entry : manifest->entries) {
    if (entry.kind == EntryKind::file)
      files.push_back(FileView{entry.path, entry.size, entry.sha256});
  }
  TransferView view = view_of(incoming.peer, id, Direction::in, State::offered);
  view.files = files.size();
  view.total_bytes = manifest->total_bytes();
  observer_.transfer_offered(view, files, 0);
}

// Stubs of the accept half, filled in next.
TransferView TransferService::view_of(const tls::PeerId& peer, const TransferId& id,
                                      Direction direction, State state) const {
  TransferView view;
  view.id = id;
  view.peer = peer;
  view.direction = direction;
  view.state = state;
  return view;
}

void TransferService::accept(const TransferId& /*id*/, std::filesystem::path /*dir*/,
                             std::function<void(Outcome<TransferView>)> done) {
  done(Failure{Code::unknown_transfer, "accepting is not built yet"});
}

Outcome<bool> TransferService::cancel(const TransferId& /*id*/) {
  return Failure{Code::unknown_transfer, "cancelling is not built yet"};
}

Outcome<TransferId> TransferService::find(std::string_view /*query*/) const {
  return Failure{Code::unknown_transfer, "finding is not built yet"};
}

std::vector<TransferView> TransferService::list() const {
  return {};
}

Result<void> TransferService::restore() {
  return {};
}

std::shared_ptr<session::Connection> TransferService::session_with(const tls::PeerId& peer) const {
  auto it = sessions_.find(peer);
  return it == sessions_.end() ? nullptr : it->second.lock();
}

void TransferService::on_session_open(node::PeerEntry& peer, session::Connection& connection) {
  sessions_[peer.id] = connection.weak_from_this();
}

void TransferService::on_session_closed(node::PeerEntry& peer, session::Connection& connection,
                                        const session::CloseReason& /*reason*/) {
  if (session::Connection* survivor = peer.primary()) {
    sessions_[peer.id] = survivor->weak_from_this();
  } else {
    sessions_.erase(peer.id);
  }
  // An offer whose manifest was still arriving on this session is gone with it; the sender
  // offers again. Whole offers wait for their answer.
  std::erase_if(incoming_, [&](const auto& entry) {
    return entry.second.peer == peer.id && entry.second.connection == &connection &&
           !entry.second.complete;
  });
  for (auto& [id, outgoing] : outgoing_) {
    if (outgoing.peer == peer.id) outgoing.stream = 0;
  }
}

}  // namespace peerchat::transfer
