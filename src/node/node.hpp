// node: the peer engine's small core. It owns the peer registry, trust, the connection
// manager and the services (messaging first), routes session callbacks to services, and
// offers front ends the typed command API and an event stream. Everything runs on the one
// I/O thread; store work runs on the store worker.
//
// This header stays free of Asio and OpenSSL: front ends include it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/commands.hpp"
#include "node/events.hpp"
#include "services/transfer/view.hpp"
#include "session/protocol.hpp"
#include "util/clock.hpp"
#include "util/failpoints.hpp"
#include "util/outcome.hpp"
#include "util/random.hpp"
#include "util/result.hpp"

namespace asio {
class io_context;
}

namespace peerchat::tls {
class Identity;
}
namespace peerchat::store {
class Store;
}
namespace peerchat::net {
class Transport;
}
namespace peerchat::transfer {
class TransferService;
}

namespace peerchat::node {

class Service;

struct NodeConfig {
  std::string name;
  bool listen = true;
  std::uint16_t port = 7001;  // 0: any free port
  session::ProtocolConfig protocol;
  std::chrono::seconds dial_timeout{10};
  std::size_t max_unauthenticated = 256;             // connections still in TLS/HELLO, in total
  std::size_t max_unauthenticated_per_address = 16;  // ... and from one source address
  std::size_t max_queue_per_peer = 10'000;           // messages not yet acknowledged
  bool redial = true;  // keep reconnecting to known peers at the addresses they were reached at
  std::chrono::milliseconds redial_initial{1000};
  std::chrono::milliseconds redial_max{60'000};
  // Store work on a thread of its own (the default), or inline on the I/O thread:
  // deterministic single-threaded tests of many nodes in one process.
  bool store_thread = true;
  Failpoints* failpoints = nullptr;  // durability tests only
  // The file transfer service (services/transfer); off only in tests that put a scripted
  // sender in its place.
  bool files = true;
  transfer::TransferConfig transfer;
};

class Node final {
 public:
  // Over TCP.
  Node(asio::io_context& io, NodeConfig config, const tls::Identity& identity, store::Store& store,
       const Clock& clock, Random& random, EventSink& events);
  // Over any transport (tests: net::MemoryNetwork). The transport outlives the node.
  Node(asio::io_context& io, NodeConfig config, const tls::Identity& identity, store::Store& store,
       const Clock& clock, Random& random, EventSink& events, net::Transport& transport);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Adds a service before restore() and listen(). Its capability bits and frame types must
  // not be claimed by another service (usage failure otherwise). The service outlives the node.
  Outcome<bool> add_service(Service& service);

  // Binds the listening socket. Failures: port_in_use, port_forbidden, listen_failed.
  Outcome<std::uint16_t> listen();
  // Loads known peers, pins and every service's state from the store, and starts
  // reconnecting to known peers.
  Result<void> restore();
  // Emits `ready`; call once the node is listening.
  void announce_ready();

  // The typed command API: `done` runs exactly once, with a `result` carrying `request_id`.
  void execute(std::string request_id, Command command, std::function<void(event::Result)> done);

  // The same commands as direct calls: a value or a typed failure, and no event for a failure.
  Outcome<tls::PeerId> find_peer(std::string_view query) const;
  Outcome<wire::MessageId> submit_message(std::string_view peer_query, std::string text);
  std::vector<PeerSummary> peers() const;
  void history(std::string_view peer_query, std::size_t count,
               std::function<void(Outcome<event::History>)> done);
  void connect(std::string_view target, std::function<void(Outcome<PeerSummary>)> done);
  // File transfer (each fails with usage when NodeConfig::files is off). `transfer` queries are
  // a transfer ID or a unique prefix of it: unknown_transfer, ambiguous_transfer. Relative
  // paths are taken from the process's working directory.
  void offer_files(std::string_view peer_query, std::vector<std::filesystem::path> paths,
                   std::function<void(Outcome<transfer::TransferId>)> done);
  void accept_transfer(std::string_view transfer_query, std::filesystem::path dir,
                       std::function<void(Outcome<TransferSummary>)> done);
  Outcome<transfer::TransferId> decline_transfer(std::string_view transfer_query);
  Outcome<transfer::TransferId> cancel_transfer(std::string_view transfer_query);
  Outcome<std::vector<TransferSummary>> list_transfers() const;

  // For the REPL: results as events, failures as error events.
  void connect(std::string_view target);
  std::optional<wire::MessageId> send_message(std::string_view peer_query, std::string text);
  std::optional<wire::MessageId> send_message(const tls::PeerId& peer, std::string text);
  void list_peers();
  void show_history(std::string_view peer_query, std::size_t count);
  std::optional<tls::PeerId> resolve_peer(std::string_view query);
  // The transfer's own events (transfer_offered, _accepted, _declined, _cancelled) show
  // success; these report failures as error events, and show_transfers emits `transfers`.
  void send_files(std::string_view peer_query, std::vector<std::filesystem::path> paths);
  void accept(std::string_view transfer_query, std::filesystem::path dir);
  void decline(std::string_view transfer_query);
  void cancel(std::string_view transfer_query);
  void show_transfers();

  // False while `peer`'s queue (messages not yet acknowledged) is full: a send would fail with
  // queue_full. Front ends that can wait (a script's stdin) hold their input until it is not.
  bool queue_has_room(const tls::PeerId& peer) const;
  // Peers with an open session, for front ends deciding where a plain line goes.
  std::vector<tls::PeerId> connected_peers() const;
  std::string display_name(const tls::PeerId& peer) const;

  // Reports a front end's own error (bad command, usage) through the same event stream.
  void report_error(Code code, std::string message);

  // Says BYE to everyone, stops listening, and calls `done` once every connection has ended
  // (or after a short grace period).
  void shutdown(wire::ByeReason reason, std::string message, std::function<void()> done);

  // The file transfer service, or null when NodeConfig::files is off.
  transfer::TransferService* transfers();

  const tls::PeerId& id() const;
  std::uint16_t port() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace peerchat::node
