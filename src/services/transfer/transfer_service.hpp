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
#include "services/transfer/view.hpp"
#include "util/clock.hpp"
#include "util/outcome.hpp"
#include "util/random.hpp"
#include "util/worker_pool.hpp"

namespace peerchat::node {
class StoreAccess;
}

namespace peerchat::transfer {

class TransferService final : public node::Service {
 public:
  TransferService(asio::any_io_executor executor, Random& random, const Clock& clock,
                  node::StoreAccess& store, TransferObserver& observer, TransferConfig config);
  ~TransferService() override;

  // Prepares the manifest of `paths` on a worker and offers it to `to` (connected now);
  // `done` gets the transfer's ID once the offer is sent, or why it could not be.
  void offer(const tls::PeerId& to, std::vector<std::filesystem::path> paths,
             std::function<void(Outcome<TransferId>)> done);
  // Accepts an offer into `dir` (empty: the download dir): checks the free space, places and
  // creates what needs creating on a worker, stores the transfer, then answers the sender and
  // starts asking for pieces. disk_full, write_failed, unknown_transfer.
  void accept(const TransferId& id, std::filesystem::path dir,
              std::function<void(Outcome<TransferView>)> done);
  // The receiver says no; the sender hears it.
  Outcome<bool> decline(const TransferId& id);
  // Either side, any time before it is done: the other side hears it, .part files go.
  Outcome<bool> cancel(const TransferId& id);
  // A transfer by its ID or a unique prefix of at least 4 hex digits of it:
  // unknown_transfer, ambiguous_transfer.
  Outcome<TransferId> find(std::string_view query) const;
  // Current transfers and the most recent finished ones, oldest first.
  std::vector<TransferView> list() const;
  const TransferConfig& config() const { return config_; }

  // Service
  Result<void> restore() override;
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

  TransferView view_of(const tls::PeerId& peer, const TransferId& id, Direction direction,
                       State state) const;
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
  const Clock& clock_;
  node::StoreAccess& store_;
  TransferObserver& observer_;
  TransferConfig config_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<TransferId, Outgoing> outgoing_;
  std::map<TransferId, Incoming> incoming_;
  std::map<tls::PeerId, std::weak_ptr<session::Connection>> sessions_;
  WorkerPool disk_;  // last: its threads finish before the maps above go
};

}  // namespace peerchat::transfer
