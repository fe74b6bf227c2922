#include "node/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <map>
#include <nlohmann/json.hpp>

#include "net/tcp_transport.hpp"
#include "node/connection_manager.hpp"
#include "node/peer_registry.hpp"
#include "node/service.hpp"
#include "node/store_access.hpp"
#include "node/trust.hpp"
#include "services/messaging/messaging_service.hpp"
#include "services/transfer/transfer_service.hpp"
#include "store/store_worker.hpp"
#include "tls/identity.hpp"

namespace peerchat::node {
namespace {

using json = nlohmann::ordered_json;

ConnectionLimits limits_of(const NodeConfig& config) {
  return ConnectionLimits{
      config.dial_timeout, config.max_unauthenticated, config.max_unauthenticated_per_address,
      config.redial,       config.redial_initial,      config.redial_max};
}

event::Result failed(std::string id, std::string_view command, const Failure& failure) {
  return event::Result{std::move(id), std::string(command), false,
                       failure.code,  failure.message,      nullptr};
}

event::Result succeeded(std::string id, std::string_view command, json data) {
  return event::Result{std::move(id),
                       std::string(command),
                       true,
                       Code::usage,
                       {},
                       std::make_shared<const json>(std::move(data))};
}

}  // namespace

std::string_view command_name(const Command& command) {
  struct Name {
    std::string_view operator()(const command::Send&) const { return "send"; }
    std::string_view operator()(const command::Connect&) const { return "connect"; }
    std::string_view operator()(const command::ListPeers&) const { return "peers"; }
    std::string_view operator()(const command::History&) const { return "history"; }
  };
  return std::visit(Name{}, command);
}

// Everything the node is made of. The router is the manager's SessionListener: it hands each
// authenticated session's callbacks to the services.
struct Node::Parts final : SessionListener, transfer::TransferObserver {
  Parts(asio::io_context& context, NodeConfig node_config, const tls::Identity& own,
        store::Store& store, const Clock& time, Random& random, EventSink& sink,
        net::Transport* given)
      : io(context),
        config(std::move(node_config)),
        identity(own),
        clock(time),
        events(sink),
        own_transport(given == nullptr
                          ? std::make_unique<net::TcpTransport>(context.get_executor(), time)
                          : nullptr),
        transport(given == nullptr ? *own_transport : *given),
        worker(store, config.store_thread ? store::StoreWorker::Mode::own_thread
                                          : store::StoreWorker::Mode::inline_calls),
        store_access(context.get_executor(), worker),
        trust(own.id()),
        messaging(context.get_executor(),
                  services::MessagingConfig{config.max_queue_per_peer, config.failpoints}, registry,
                  store_access, time, random, sink),
        manager(context.get_executor(), transport, own, limits_of(config), protocol_of(config),
                registry, trust, store_access, time, random, sink, *this) {
    if (config.files) {
      transfers = std::make_unique<transfer::TransferService>(context.get_executor(), random, time,
                                                              store_access, *this, config.transfer);
    }
  }

  // TransferObserver: each report becomes a transfer_* event.
  void emit_transfer(event::Transfer::Kind kind, const transfer::TransferView& view,
                     std::vector<transfer::FileView> files = {}) {
    event::Transfer e{kind, view, registry.display_name(view.peer), std::move(files), 0, 0, false};
    events.emit(e);
  }
  void transfer_offered(const transfer::TransferView& view,
                        const std::vector<transfer::FileView>& files,
                        std::uint64_t free_bytes) override {
    event::Transfer e{event::Transfer::Kind::offered,
                      view,
                      registry.display_name(view.peer),
                      files,
                      free_bytes,
                      0,
                      false};
    events.emit(e);
  }
  void transfer_accepted(const transfer::TransferView& view) override {
    emit_transfer(event::Transfer::Kind::accepted, view);
  }
  void transfer_progress(const transfer::TransferView& view,
                         std::uint64_t bytes_per_second) override {
    event::Transfer e{event::Transfer::Kind::progress,
                      view,
                      registry.display_name(view.peer),
                      {},
                      0,
                      bytes_per_second};
    events.emit(e);
  }
  void transfer_paused(const transfer::TransferView& view) override {
    emit_transfer(event::Transfer::Kind::paused, view);
  }
  void transfer_resumed(const transfer::TransferView& view) override {
    emit_transfer(event::Transfer::Kind::resumed, view);
  }
  void transfer_done(const transfer::TransferView& view,
                     const std::vector<transfer::FileView>& files) override {
    emit_transfer(event::Transfer::Kind::done, view, files);
  }
  void transfer_failed(const transfer::TransferView& view) override {
    emit_transfer(event::Transfer::Kind::failed, view);
  }
  void transfer_cancelled(const transfer::TransferView& view, bool by_peer) override {
    event::Transfer e{event::Transfer::Kind::cancelled,
                      view,
                      registry.display_name(view.peer),
                      {},
                      0,
                      0,
                      by_peer};
    events.emit(e);
  }
  void transfer_declined(const transfer::TransferView& view) override {
    emit_transfer(event::Transfer::Kind::declined, view);
  }

  static session::ProtocolConfig protocol_of(const NodeConfig& config) {
    session::ProtocolConfig protocol = config.protocol;
    protocol.name = config.name;
    return protocol;
  }

  void report(event::Problem problem) {
    if (problem.warning) {
      spdlog::warn("{}", problem.message);
    } else {
      spdlog::debug("error {}: {}", name(problem.code), problem.message);
    }
    events.emit(problem);
  }

  // Services that `peer` runs too: those whose capability bits its HELLO offered.
  template <class Call>
  void each_service(const session::Connection& connection, Call call) {
    for (Service* service : services) {
      const std::uint32_t wanted = service->capabilities();
      if ((connection.peer_capabilities() & wanted) == wanted) call(*service);
    }
  }

  // SessionListener
  void session_open(PeerEntry& peer, session::Connection& connection) override {
    each_service(connection, [&](Service& service) { service.on_session_open(peer, connection); });
  }
  void session_closed(PeerEntry& peer, session::Connection& connection,
                      const session::CloseReason& reason) override {
    std::erase_if(incoming_streams,
                  [&](const auto& stream) { return stream.first.first == &connection; });
    each_service(connection,
                 [&](Service& service) { service.on_session_closed(peer, connection, reason); });
  }
  void chats(PeerEntry& peer, session::Connection& connection,
             session::InboundBatch&& batch) override {
    messaging.on_chats(peer, connection, std::move(batch));
  }
  void ack(PeerEntry& peer, session::Connection& connection, std::uint64_t seq) override {
    messaging.on_ack(peer, connection, seq);
  }
  void credit(PeerEntry& peer, session::Connection& connection) override {
    messaging.on_credit(peer, connection);
  }
  void frame(PeerEntry& peer, session::Connection& connection, std::uint8_t type,
             std::span<const std::uint8_t> payload) override {
    Service* owner = frame_owner[type];
    if (owner == nullptr) return;  // the protocol only passes registered types
    batch_touched.push_back(owner);
    owner->on_frame(peer, connection, type, payload);
  }
  // Streams: a peer's stream goes to the service whose prefix its label starts with, and stays
  // with it (by connection and stream ID) until it ends or the session closes.
  void stream_open(PeerEntry& peer, session::Connection& connection,
                   const wire::StreamOpen& open) override {
    for (const auto& [prefix, service] : stream_owners) {
      if (open.label.starts_with(prefix)) {
        incoming_streams[{&connection, open.stream}] = service;
        service->on_stream_open(peer, connection, open);
        return;
      }
    }
    connection.stop_stream(open.stream, "no service here takes this stream");
  }
  void stream_data(PeerEntry& peer, session::Connection& connection, std::uint32_t stream,
                   std::span<const std::uint8_t> data) override {
    auto it = incoming_streams.find({&connection, stream});
    if (it == incoming_streams.end()) {
      connection.consume_stream(data.size());  // a stopped stream's data in flight: discard
      return;
    }
    it->second->on_stream_data(peer, connection, stream, data);
  }
  void stream_end(PeerEntry& peer, session::Connection& connection,
                  const wire::StreamEnd& end) override {
    auto it = incoming_streams.find({&connection, end.stream});
    if (it == incoming_streams.end()) return;
    Service* service = it->second;
    incoming_streams.erase(it);
    service->on_stream_end(peer, connection, end);
  }
  void stream_stopped(PeerEntry& peer, session::Connection& connection,
                      const wire::StreamStop& stop) override {
    for (Service* service : stream_services) service->on_stream_stopped(peer, connection, stop);
  }
  void stream_writable(PeerEntry& peer, session::Connection& connection) override {
    for (Service* service : stream_services) service->on_stream_writable(peer, connection);
  }

  void frames_end(PeerEntry& peer, session::Connection& connection) override {
    std::vector<Service*> touched;
    touched.swap(batch_touched);
    for (std::size_t i = 0; i < touched.size(); ++i) {
      if (std::find(touched.begin(), touched.begin() + static_cast<std::ptrdiff_t>(i),
                    touched[i]) != touched.begin() + static_cast<std::ptrdiff_t>(i)) {
        continue;  // once per service
      }
      touched[i]->on_batch_end(peer, connection);
    }
  }

  asio::io_context& io;
  NodeConfig config;
  const tls::Identity& identity;
  const Clock& clock;
  EventSink& events;
  std::unique_ptr<net::Transport> own_transport;
  net::Transport& transport;
  store::StoreWorker worker;
  StoreAccess store_access;
  PeerRegistry registry;
  Trust trust;
  services::MessagingService messaging;
  ConnectionManager manager;
  // Last but the maps below: its workers finish before the store worker and registry go.
  std::unique_ptr<transfer::TransferService> transfers;
  std::vector<Service*> services;
  std::array<Service*, 256> frame_owner{};
  std::uint32_t claimed_capabilities = 0;
  std::vector<Service*> batch_touched;  // services that got frames in the current read
  std::vector<std::pair<std::string, Service*>> stream_owners;  // by label prefix
  std::vector<Service*> stream_services;
  std::map<std::pair<const session::Connection*, std::uint32_t>, Service*> incoming_streams;
};

Node::Node(asio::io_context& io, NodeConfig config, const tls::Identity& identity,
           store::Store& store, const Clock& clock, Random& random, EventSink& events)
    : parts_(std::make_unique<Parts>(io, std::move(config), identity, store, clock, random, events,
                                     nullptr)) {
  (void)add_service(parts_->messaging);
  if (parts_->transfers) (void)add_service(*parts_->transfers);
}

Node::Node(asio::io_context& io, NodeConfig config, const tls::Identity& identity,
           store::Store& store, const Clock& clock, Random& random, EventSink& events,
           net::Transport& transport)
    : parts_(std::make_unique<Parts>(io, std::move(config), identity, store, clock, random, events,
                                     &transport)) {
  (void)add_service(parts_->messaging);
  if (parts_->transfers) (void)add_service(*parts_->transfers);
}

Node::~Node() = default;

Outcome<bool> Node::add_service(Service& service) {
  Parts& p = *parts_;
  if ((p.claimed_capabilities & service.capabilities()) != 0) {
    return Failure{Code::usage, fmt::format("service {} claims capability bits another service "
                                            "has",
                                            service.name())};
  }
  for (std::uint8_t type : service.frame_types()) {
    if (type < wire::kFirstOptionalType || p.frame_owner[type] != nullptr) {
      return Failure{
          Code::usage,
          fmt::format("service {} cannot have frame type 0x{:02x}: {}", service.name(), type,
                      type < wire::kFirstOptionalType ? "core frame types are the "
                                                        "session's"
                                                      : "another service has it")};
    }
  }
  const auto prefixes = service.stream_prefixes();
  for (const auto& prefix : prefixes) {
    if (prefix.empty()) {
      return Failure{Code::usage, fmt::format("service {} claims every stream (an empty label "
                                              "prefix)",
                                              service.name())};
    }
    for (const auto& [taken, owner] : p.stream_owners) {
      if (prefix.starts_with(taken) || taken.starts_with(prefix)) {
        return Failure{Code::usage, fmt::format("service {} cannot take streams labelled '{}': "
                                                "service {} takes '{}'",
                                                service.name(), prefix, owner->name(), taken)};
      }
    }
  }
  p.claimed_capabilities |= service.capabilities();
  session::ProtocolConfig& protocol = p.manager.protocol_config();
  for (const auto& prefix : prefixes) p.stream_owners.emplace_back(prefix, &service);
  if (!prefixes.empty()) {
    p.stream_services.push_back(&service);
    protocol.offer_streams = true;
  }
  protocol.capabilities |= service.capabilities();
  for (std::uint8_t type : service.frame_types()) {
    p.frame_owner[type] = &service;
    protocol.service_frames.set(type - wire::kFirstOptionalType);
  }
  p.services.push_back(&service);
  return true;
}

Outcome<std::uint16_t> Node::listen() {
  return parts_->manager.listen(parts_->config.port);
}

Result<void> Node::restore() {
  Parts& p = *parts_;
  // Start-up, before any session: waiting for the worker here stalls nothing.
  auto known = p.worker.call([](store::Store& store) { return store.list_peers(); });
  if (!known) return known.error();
  for (const auto& record : *known) {
    const tls::PeerId id(record.id);
    if (id == this->id()) continue;
    PeerEntry& peer = p.registry.add(id);
    peer.name = record.name;
    peer.address = record.last_address;
    auto addresses =
        p.worker.call([&](store::Store& store) { return store.peer_addresses(record.id); });
    if (!addresses) return addresses.error();
    for (const auto& known_address : *addresses)
      peer.dial_addresses.push_back(known_address.address);
    if (peer.dial_addresses.empty() && !record.last_address.empty()) {
      peer.dial_addresses.push_back(record.last_address);
    }
  }
  auto pins = p.worker.call([](store::Store& store) { return store.address_pins(); });
  if (!pins) return pins.error();
  p.trust.load(*pins);
  for (Service* service : p.services) {
    if (auto restored = service->restore(); !restored) return restored;
  }
  p.manager.start_redialing();
  return {};
}

void Node::announce_ready() {
  parts_->events.emit(event::Ready{parts_->config.name, id(), port()});
}

Outcome<tls::PeerId> Node::find_peer(std::string_view query) const {
  return parts_->registry.lookup(query);
}

Outcome<wire::MessageId> Node::submit_message(std::string_view peer_query, std::string text) {
  // The text is checked once, by messaging (it scans every byte).
  auto target = find_peer(peer_query);
  if (!target) return target.failure();
  return parts_->messaging.submit(*target, std::move(text));
}

std::vector<PeerSummary> Node::peers() const {
  return parts_->registry.connected_summaries();
}

void Node::history(std::string_view peer_query, std::size_t count,
                   std::function<void(Outcome<event::History>)> done) {
  auto target = find_peer(peer_query);
  if (!target) return done(target.failure());
  parts_->messaging.history(*target, count, std::move(done));
}

void Node::connect(std::string_view target, std::function<void(Outcome<PeerSummary>)> done) {
  parts_->manager.connect(target, std::move(done), /*report=*/false);
}

void Node::execute(std::string request_id, Command command,
                   std::function<void(event::Result)> done) {
  const std::string_view name = command_name(command);
  auto answer = [id = std::move(request_id), name, done = std::move(done)](Outcome<json> outcome) {
    done(outcome ? succeeded(id, name, std::move(*outcome)) : failed(id, name, outcome.failure()));
  };
  if (auto* send = std::get_if<command::Send>(&command)) {
    auto target = find_peer(send->peer);
    if (!target) return answer(target.failure());
    auto queued = parts_->messaging.submit(*target, std::move(send->text));
    if (!queued) return answer(queued.failure());
    return answer(json{{"message_id", wire::to_hex(*queued)}, {"peer", target->to_string()}});
  }
  if (auto* dial = std::get_if<command::Connect>(&command)) {
    return connect(dial->target, [answer](Outcome<PeerSummary> reached) {
      if (!reached) return answer(reached.failure());
      json peer = to_json(event::Connected{*reached});
      peer.erase("event");
      answer(json{{"status", "connected"}, {"peer", std::move(peer)}});
    });
  }
  if (std::holds_alternative<command::ListPeers>(command)) {
    return answer(json{{"peers", to_json(event::Peers{peers()})["peers"]}});
  }
  const auto& query = std::get<command::History>(command);
  history(query.peer, query.count, [answer](Outcome<event::History> found) {
    if (!found) return answer(found.failure());
    auto history = to_json(*found);
    answer(json{
        {"peer", history["peer"]}, {"name", history["name"]}, {"messages", history["messages"]}});
  });
}

void Node::connect(std::string_view target) {
  parts_->manager.connect(target, nullptr, /*report=*/true);
}

std::optional<wire::MessageId> Node::send_message(std::string_view peer_query, std::string text) {
  auto queued = submit_message(peer_query, std::move(text));
  if (!queued) {
    event::Problem problem = error_event(queued.failure().code, queued.failure().message);
    if (queued.failure().code == Code::queue_full) {
      if (auto peer = find_peer(peer_query)) problem.peer = *peer;
    }
    parts_->report(std::move(problem));
    return std::nullopt;
  }
  return *queued;
}

std::optional<wire::MessageId> Node::send_message(const tls::PeerId& peer, std::string text) {
  auto queued = parts_->messaging.submit(peer, std::move(text));
  if (!queued) {
    event::Problem problem = error_event(queued.failure().code, queued.failure().message);
    if (queued.failure().code == Code::queue_full) problem.peer = peer;
    parts_->report(std::move(problem));
    return std::nullopt;
  }
  return *queued;
}

void Node::list_peers() {
  parts_->events.emit(event::Peers{peers()});
}

void Node::show_history(std::string_view peer_query, std::size_t count) {
  history(peer_query, count, [this](Outcome<event::History> found) {
    if (!found) return report_error(found.failure().code, found.failure().message);
    parts_->events.emit(std::move(*found));
  });
}

std::optional<tls::PeerId> Node::resolve_peer(std::string_view query) {
  auto found = find_peer(query);
  if (!found) {
    report_error(found.failure().code, found.failure().message);
    return std::nullopt;
  }
  return *found;
}

bool Node::queue_has_room(const tls::PeerId& peer) const {
  return parts_->messaging.queue_has_room(peer);
}

std::vector<tls::PeerId> Node::connected_peers() const {
  return parts_->registry.connected();
}

std::string Node::display_name(const tls::PeerId& peer) const {
  return parts_->registry.display_name(peer);
}

void Node::report_error(Code code, std::string message) {
  parts_->report(error_event(code, std::move(message)));
}

void Node::shutdown(wire::ByeReason reason, std::string message, std::function<void()> done) {
  parts_->manager.shutdown(reason, std::move(message), std::move(done));
}

transfer::TransferService* Node::transfers() {
  return parts_->transfers.get();
}

const tls::PeerId& Node::id() const {
  return parts_->identity.id();
}

std::uint16_t Node::port() const {
  return parts_->manager.port();
}

}  // namespace peerchat::node
