// services/transfer: the file transfer service, first part: offers. A sender prepares a
// manifest (on a worker, never the I/O thread) and offers it: a TRANSFER_OFFER frame, then the
// manifest on a `manifest <id>` stream. The receiver keeps at most a few offers per peer and
// kMaxManifestBytes of each in memory, checks the manifest's hash, its encoding and every path
// (paths.hpp) before anyone sees the offer, and refuses a bad one as a whole, with the reason,
// to both sides; nothing is written. Accepting (pieces, resume) is the next part; declining
// and cancelling an offer work now.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "node/service.hpp"
#include "services/transfer/frames.hpp"
#include "services/transfer/manifest.hpp"
#include "util/outcome.hpp"
#include "util/random.hpp"
#include "util/worker_pool.hpp"

namespace peerchat::transfer {

struct TransferLimits {
  std::size_t max_offers_per_peer = 4;  // pending, not yet answered: each holds its manifest
};

// What the service reports; the node turns these into events (next part).
class TransferObserver {
 public:
  virtual ~TransferObserver() = default;
  // An offer arrived whole and passed every check.
  virtual void offered(const tls::PeerId& from, const TransferId& id, const Manifest& manifest) = 0;
  // An offer, ours or the peer's, is over: declined, cancelled, or refused (`reason` says why).
  virtual void ended(const tls::PeerId& peer, const TransferId& id, bool outgoing,
                     std::string_view how, const std::string& reason) = 0;
};

class TransferService final : public node::Service {
 public:
  TransferService(asio::any_io_executor executor, Random& random, TransferObserver& observer,
                  TransferLimits limits = {});
  ~TransferService() override;

  // Prepares the manifest of `paths` on a worker and offers it to `to` (connected now);
  // `done` gets the transfer's ID once the offer is sent, or why it could not be.
  void offer(const tls::PeerId& to, std::vector<std::filesystem::path> paths,
             std::function<void(Outcome<TransferId>)> done);
  // The receiver says no; the sender hears it.
  Outcome<bool> decline(const TransferId& id);

  // Service
  std::string_view name() const override { return "transfer"; }
  std::uint32_t capabilities() const override { return kCapabilityFiles; }
  std::vector<std::uint8_t> frame_types() const override;
  std::vector<std::string> stream_prefixes() const override { return {"manifest ", "pieces "}; }
  void on_frame(node::PeerEntry& peer, session::Connection& connection, std::uint8_t type,
                std::span<const std::uint8_t> payload) override;
  void on_stream_open(node::PeerEntry& peer, session::Connection& connection,
                      const wire::StreamOpen& open) override;
  void on_stream_data(node::PeerEntry& peer, session::Connection& connection, std::uint32_t stream,
                      std::span<const std::uint8_t> data) override;
  void on_stream_end(node::PeerEntry& peer, session::Connection& connection,
                     const wire::StreamEnd& end) override;
  void on_stream_writable(node::PeerEntry& peer, session::Connection& connection) override;
  void on_session_open(node::PeerEntry& peer, session::Connection& connection) override;
  void on_session_closed(node::PeerEntry& peer, session::Connection& connection,
                         const session::CloseReason& reason) override;

 private:
  struct Outgoing {
    tls::PeerId peer;
    Manifest manifest;
    std::vector<std::uint8_t> encoded;
    std::vector<std::filesystem::path> sources;
    std::uint32_t stream = 0;  // the manifest's, while it is being sent
    std::size_t sent = 0;      // manifest bytes written to it
  };
  struct Incoming {
    tls::PeerId peer;
    Offer offer;
    const session::Connection* connection = nullptr;  // the session the manifest comes on
    std::uint32_t stream = 0;
    std::vector<std::uint8_t> manifest;
    bool complete = false;  // checked and reported
  };

  // The peer's primary session, if it has one now.
  std::shared_ptr<session::Connection> session_with(const tls::PeerId& peer) const;
  void send_manifest(session::Connection& connection, Outgoing& outgoing);
  void refuse(session::Connection& connection, const TransferId& id, const std::string& reason);
  void check_offer(session::Connection& connection, const TransferId& id);
  Incoming* incoming_on(const session::Connection& connection, std::uint32_t stream);
  void on_offer(node::PeerEntry& peer, session::Connection& connection, const Offer& offer);
  void on_answer(node::PeerEntry& peer, const Answer& answer);
  void on_cancel(node::PeerEntry& peer, const Cancel& cancel);

  asio::any_io_executor executor_;
  Random& random_;
  TransferObserver& observer_;
  TransferLimits limits_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<TransferId, Outgoing> outgoing_;
  std::map<TransferId, Incoming> incoming_;
  std::map<tls::PeerId, std::weak_ptr<session::Connection>> sessions_;
  WorkerPool disk_;  // last: its threads finish before the maps above go
};

}  // namespace peerchat::transfer
