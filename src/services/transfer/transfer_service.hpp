// services/transfer: the file transfer service (docs/protocol.md 3.2). A sender prepares a
// manifest (on a worker, never the I/O thread) and offers it: a TRANSFER_OFFER frame, then the
// manifest on a `manifest <id>` stream. The receiver keeps at most a few offers per peer and
// kMaxManifestBytes of each in memory, checks the manifest's hash, its encoding and every path
// (paths.hpp) before anyone sees the offer, and refuses a bad one as a whole, with the reason,
// to both sides; nothing is written before an accept.
//
// Once accepted the receiver drives: it asks for piece ranges (REQUEST) within its own window
// of bytes not yet written, so a slow disk holds back only its own transfer; the sender reads,
// re-checks and streams exactly those. Pieces are verified, written and synced on workers,
// and what is durable is stored, so after any cut or restart the receiver asks again for only
// what it lacks. The code is split by role: offering.cpp, sending.cpp, receiving.cpp.
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
#include "services/transfer/aligned_bytes.hpp"
#include "services/transfer/frames.hpp"
#include "services/transfer/manifest.hpp"
#include "services/transfer/transfer_state.hpp"
#include "services/transfer/view.hpp"
#include "store/transfers.hpp"
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
  void on_stream_stopped(node::PeerEntry& peer, session::Connection& connection,
                         const wire::StreamStop& stop) override;
  void on_stream_writable(node::PeerEntry& peer, session::Connection& connection) override;
  void on_session_open(node::PeerEntry& peer, session::Connection& connection) override;
  void on_session_closed(node::PeerEntry& peer, session::Connection& connection,
                         const session::CloseReason& reason) override;

 private:
  // The peer's primary session, if it has one now.
  std::shared_ptr<session::Connection> session_with(const tls::PeerId& peer) const;
  Transfer* find_live(const TransferId& id, const tls::PeerId& peer);
  TransferView view_of(const Transfer& transfer) const;
  void send(const tls::PeerId& peer, FrameType type, const std::vector<std::uint8_t>& payload);
  void persist_state(const Transfer& transfer);
  // The end of a transfer, one of done, failed, cancelled, declined: state stored, disk and
  // memory released, .part files removed (in), reported; kept a while for /transfers.
  void finish(Transfer& transfer, State state);
  void fail(Transfer& transfer, Code code, std::string message, bool tell_peer);
  void cancelled_by_peer(Transfer& transfer, const std::string& message);
  void progress(Transfer& transfer, bool force = false);
  void forget_old();

  // offering.cpp: the offer and its manifest, both sides.
  void send_offer(session::Connection& connection, Transfer& transfer);
  void send_manifest(session::Connection& connection, Transfer& transfer);
  void refuse(session::Connection& connection, const TransferId& id, const std::string& reason);
  void check_offer(session::Connection& connection, Transfer& transfer);
  void on_offer(node::PeerEntry& peer, session::Connection& connection, const Offer& offer);
  void on_manifest_open(node::PeerEntry& peer, session::Connection& connection,
                        const wire::StreamOpen& open, const TransferId& id);

  // sending.cpp: pieces, as asked.
  void on_answer(node::PeerEntry& peer, const Answer& answer);
  void on_request(node::PeerEntry& peer, session::Connection& connection, const Request& request);
  void read_ahead(Transfer& transfer);
  void send_pieces(Transfer& transfer);
  void on_done(node::PeerEntry& peer, const Done& done);

  // receiving.cpp: accepted transfers.
  void start_receiving(Transfer& transfer);
  void request_more(Transfer& transfer);
  void on_pieces_open(session::Connection& connection, const wire::StreamOpen& open,
                      const StreamLabel& label);
  void on_piece(Transfer& transfer, std::uint32_t entry, std::uint32_t piece,
                std::shared_ptr<const AlignedBytes> copy);
  void written(Transfer& transfer, std::uint32_t entry, std::uint32_t piece,
               const Result<PieceVerdict>& verdict);
  void maybe_sync(Transfer& transfer);
  void synced(Transfer& transfer, const Result<std::vector<PieceRef>>& held);
  void finish_files(Transfer& transfer);
  void pause(Transfer& transfer, Code code, std::string message);
  void retry_later(const TransferId& id);
  void drop_streams(Transfer& transfer);
  void on_status(node::PeerEntry& peer, const Status& status);
  void answer_returning_sender(const tls::PeerId& peer, const TransferId& id);
  Outcome<bool> restore_one(const store::TransferRecord& record,
                            const std::vector<store::TransferFile>& files);

  asio::any_io_executor executor_;
  Random& random_;
  const Clock& clock_;
  node::StoreAccess& store_;
  TransferObserver& observer_;
  TransferConfig config_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<TransferId, Transfer> transfers_;
  std::map<std::pair<const session::Connection*, std::uint32_t>, TransferId> streams_in_;
  std::map<tls::PeerId, std::weak_ptr<session::Connection>> sessions_;
  std::uint64_t finished_count_ = 0;
  // Received pieces on their way to the disk: a window's worth, and a few more, are recycled.
  std::shared_ptr<PieceBuffers> buffers_;
  WorkerPool disk_;  // last: its threads finish before the maps above go
};

}  // namespace peerchat::transfer
