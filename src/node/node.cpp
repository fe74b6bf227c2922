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

Failure files_off() {
  return Failure{Code::usage, "file transfer is off in this peer"};
}

// Relative to the working directory now, so that the result does not depend on when the
// service's worker gets to it.
std::filesystem::path absolute_path(const std::filesystem::path& path) {
  if (path.empty() || path.is_absolute()) return path;
  std::error_code ignored;
  auto absolute = std::filesystem::absolute(path, ignored);
  return absolute.empty() ? path : absolute.lexically_normal();
}

// Finds the transfer `query` names, then does `act` to it.
Outcome<transfer::TransferId> on_found(
    transfer::TransferService* service, std::string_view query,
    Outcome<bool> (transfer::TransferService::*act)(const transfer::TransferId&)) {
  if (service == nullptr) return files_off();
  auto id = service->find(query);
  if (!id) return id.failure();
  if (auto done = (service->*act)(*id); !done) return done.failure();
  return *id;
}

}  // namespace

std::string_view command_name(const Command& command) {
  struct Name {
    std::string_view operator()(const command::Send&) const { return "send"; }
    std::string_view operator()(const command::Connect&) const { return "connect"; }
    std::string_view operator()(const command::ListPeers&) const { return "peers"; }
    std::string_view operator()(const command::History&) const { return "history"; }
    std::string_view operator()(const command::SendFile&) const { return "sendfile"; }
    std::string_view operator()(const command::Accept&) const { return "accept"; }
    std::string_view operator()(const command::Decline&) const { return "decline"; }
    std::string_view operator()(const command::Cancel&) const { return "cancel"; }
    std::string_view operator()(const command::ListTransfers&) const { return "transfers"; }
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
      transfer::TransferConfig transfer_config = config.transfer;
      transfer_config.failpoints = config.failpoints;
      transfers = std::make_unique<transfer::TransferService>(context.get_executor(), random, time,
                                                              store_access, *this, transfer_config);
    }
  }

  // TransferObserver: each report becomes a transfer_* event.
  void emit_transfer(event::Transfer::Kind kind, const transfer::TransferView& view,
                     std::vector<transfer::FileView> files = {}) {
    event::Transfer e;
    e.kind = kind;
    e.view = view;
    e.name = registry.display_name(view.peer);
    e.files = std::move(files);
    events.emit(e);
  }
  void transfer_offered(const transfer::TransferView& view,
                        const std::vector<transfer::FileView>& files,
                        std::uint64_t free_bytes) override {
    event::Transfer e;
    e.kind = event::Transfer::Kind::offered;
    e.view = view;
    e.name = registry.display_name(view.peer);
    e.files = files;
    e.free_bytes = free_bytes;
    e.download_dir = config.transfer.download_dir.string();
    events.emit(e);
  }
  void transfer_accepted(const transfer::TransferView& view) override {
    emit_transfer(event::Transfer::Kind::accepted, view);
  }
  void transfer_progress(const transfer::TransferView& view,
                         std::uint64_t bytes_per_second) override {
    event::Transfer e;
    e.kind = event::Transfer::Kind::progress;
    e.view = view;
    e.name = registry.display_name(view.peer);
    e.bytes_per_second = bytes_per_second;
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
    event::Transfer e;
    e.kind = event::Transfer::Kind::cancelled;
    e.view = view;
    e.name = registry.display_name(view.peer);
    e.by_peer = by_peer;
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

void Node::offer_files(std::string_view peer_query, std::vector<std::filesystem::path> paths,
                       std::function<void(Outcome<transfer::TransferId>)> done) {
  auto* service = transfers();
  if (service == nullptr) return done(files_off());
  if (paths.empty()) return done(Failure{Code::usage, "name at least one file or folder to send"});
  auto target = find_peer(peer_query);
  if (!target) return done(target.failure());
  for (auto& path : paths) path = absolute_path(path);
  service->offer(*target, std::move(paths), std::move(done));
}

void Node::accept_transfer(std::string_view transfer_query, std::filesystem::path dir,
                           std::function<void(Outcome<TransferSummary>)> done) {
  auto* service = transfers();
  if (service == nullptr) return done(files_off());
  auto id = service->find(transfer_query);
  if (!id) return done(id.failure());
  service->accept(*id, absolute_path(dir),
                  [this, done = std::move(done)](Outcome<transfer::TransferView> accepted) {
                    if (!accepted) return done(accepted.failure());
                    done(TransferSummary{*accepted, display_name(accepted->peer)});
                  });
}

Outcome<transfer::TransferId> Node::decline_transfer(std::string_view transfer_query) {
  return on_found(transfers(), transfer_query, &transfer::TransferService::decline);
}

Outcome<transfer::TransferId> Node::cancel_transfer(std::string_view transfer_query) {
  return on_found(transfers(), transfer_query, &transfer::TransferService::cancel);
}

Outcome<std::vector<TransferSummary>> Node::list_transfers() const {
  const auto* service = parts_->transfers.get();
  if (service == nullptr) return files_off();
  std::vector<TransferSummary> list;
  for (auto& view : service->list()) {
    std::string name = display_name(view.peer);
    list.push_back(TransferSummary{std::move(view), std::move(name)});
  }
  return list;
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
  if (auto* send_file = std::get_if<command::SendFile>(&command)) {
    auto target = find_peer(send_file->peer);
    if (!target) return answer(target.failure());
    return offer_files(
        send_file->peer, std::move(send_file->paths),
        [answer, peer = *target](Outcome<transfer::TransferId> offered) {
          if (!offered) return answer(offered.failure());
          answer(json{{"transfer", transfer::to_hex(*offered)}, {"peer", peer.to_string()}});
        });
  }
  if (auto* accept = std::get_if<command::Accept>(&command)) {
    return accept_transfer(accept->transfer, std::move(accept->dir),
                           [answer](Outcome<TransferSummary> accepted) {
                             if (!accepted) return answer(accepted.failure());
                             // The transfer as /transfers lists it, its ID as "transfer".
                             json fields = to_json(*accepted);
                             json data = {{"transfer", fields["id"]}};
                             fields.erase("id");
                             for (const auto& [key, value] : fields.items()) data[key] = value;
                             answer(std::move(data));
                           });
  }
  if (auto* decline = std::get_if<command::Decline>(&command)) {
    auto declined = decline_transfer(decline->transfer);
    if (!declined) return answer(declined.failure());
    return answer(json{{"transfer", transfer::to_hex(*declined)}});
  }
  if (auto* cancel = std::get_if<command::Cancel>(&command)) {
    auto cancelled = cancel_transfer(cancel->transfer);
    if (!cancelled) return answer(cancelled.failure());
    return answer(json{{"transfer", transfer::to_hex(*cancelled)}});
  }
  if (std::holds_alternative<command::ListTransfers>(command)) {
    auto list = list_transfers();
    if (!list) return answer(list.failure());
    return answer(json{{"transfers", to_json(event::Transfers{std::move(*list)})["transfers"]}});
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

void Node::send_files(std::string_view peer_query, std::vector<std::filesystem::path> paths) {
  offer_files(peer_query, std::move(paths), [this](Outcome<transfer::TransferId> offered) {
    if (!offered) report_error(offered.failure().code, offered.failure().message);
  });
}

void Node::accept(std::string_view transfer_query, std::filesystem::path dir) {
  accept_transfer(transfer_query, std::move(dir), [this](Outcome<TransferSummary> accepted) {
    if (!accepted) report_error(accepted.failure().code, accepted.failure().message);
  });
}

void Node::decline(std::string_view transfer_query) {
  if (auto declined = decline_transfer(transfer_query); !declined) {
    report_error(declined.failure().code, declined.failure().message);
  }
}

void Node::cancel(std::string_view transfer_query) {
  if (auto cancelled = cancel_transfer(transfer_query); !cancelled) {
    report_error(cancelled.failure().code, cancelled.failure().message);
  }
}

void Node::show_transfers() {
  auto list = list_transfers();
  if (!list) return report_error(list.failure().code, list.failure().message);
  parts_->events.emit(event::Transfers{std::move(*list)});
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
