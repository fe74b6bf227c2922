// services/messaging: 1:1 chat, the node's first service. Outgoing: committed to the outbox,
// then sent on the peer's primary session as credit allows, marked delivered on ACK.
// Incoming: each read's batch is committed in one transaction, then acknowledged; resends are
// acknowledged again but never stored or shown twice. Every store call goes through the store
// worker, so a commit's fdatasync or a large history query never stalls a session.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/events.hpp"
#include "node/service.hpp"
#include "node/store_access.hpp"
#include "util/failpoints.hpp"
#include "util/outcome.hpp"
#include "util/random.hpp"

namespace peerchat::services {

struct MessagingConfig {
  std::size_t max_queue_per_peer = 10'000;  // messages not yet acknowledged
  Failpoints* failpoints = nullptr;         // durability tests only
};

class MessagingService final : public node::Service, public node::ChatHandler {
 public:
  ~MessagingService() override { *alive_ = false; }
  MessagingService(asio::any_io_executor executor, MessagingConfig config,
                   node::PeerRegistry& registry, node::StoreAccess& store, const Clock& clock,
                   Random& random, node::EventSink& events);

  // Queues a message (committed to the outbox in the next group commit); its ID.
  Outcome<wire::MessageId> submit(const tls::PeerId& to, std::string text);
  // False while `peer`'s queue is full: a submit would fail with queue_full.
  bool queue_has_room(const tls::PeerId& peer) const;
  // The last `count` messages with `peer`, oldest first, read on the store worker.
  void history(const tls::PeerId& peer, std::size_t count,
               std::function<void(Outcome<node::event::History>)> done);

  // Service
  std::string_view name() const override { return "messaging"; }
  Result<void> restore() override;
  void on_session_open(node::PeerEntry& peer, session::Connection& connection) override;
  void on_session_closed(node::PeerEntry& peer, session::Connection& connection,
                         const session::CloseReason& reason) override;

  // ChatHandler
  void on_chats(node::PeerEntry& peer, session::Connection& connection,
                session::InboundBatch&& batch) override;
  void on_ack(node::PeerEntry& peer, session::Connection& connection, std::uint64_t seq) override;
  void on_credit(node::PeerEntry& peer, session::Connection& connection) override;

 private:
  struct Outgoing {
    wire::Chat chat;
    bool sent = false;  // a `sent` event went out (only the first transmission is announced)
  };
  struct Outbox {
    std::deque<Outgoing> unsent;    // committed to the outbox, in seq order
    std::deque<Outgoing> inflight;  // sent on `sending_on`, not yet acknowledged
    std::size_t drafted = 0;        // submitted, not yet committed
    std::uint64_t sending_on = 0;   // the serial of the session `inflight` went out on
    std::uint64_t acked = 0;        // the highest ACK heard
    std::uint64_t marked = 0;       // ... and recorded in the store (or being recorded)
    bool marking = false;
  };

  // A new message ID: send time first, then random bits.
  wire::MessageId new_message_id(std::int64_t now_ms);
  void commit_drafts();
  void mark_delivered(const tls::PeerId& peer);
  void pump(node::PeerEntry& peer);
  void requeue_inflight(Outbox& outbox);
  void report(node::event::Problem problem);

  asio::any_io_executor executor_;
  MessagingConfig config_;
  node::PeerRegistry& registry_;
  node::StoreAccess& store_;
  const Clock& clock_;
  Random& random_;
  node::EventSink& events_;

  std::unordered_map<tls::PeerId, Outbox, tls::PeerIdHash> outboxes_;
  // Messages submitted but not yet committed (group commit; see submit).
  std::vector<store::OutgoingDraft> drafts_;
  bool commit_scheduled_ = false;
  bool committing_ = false;
  // False once the service is gone: a posted group commit checks it first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace peerchat::services
