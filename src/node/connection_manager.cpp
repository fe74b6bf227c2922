#include "node/connection_manager.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "net/timer.hpp"
#include "tls/context.hpp"

namespace peerchat::node {
namespace {

using session::Connection;
using session::Direction;

// How long shutdown waits for peers to acknowledge BYE before giving up on them.
constexpr auto kShutdownGrace = std::chrono::seconds(3);
// How long a peer that closed our connection as a duplicate has to open the one it kept.
constexpr auto kDuplicateGrace = std::chrono::seconds(3);
// Addresses kept per peer for redialing (the most recently successful ones).
constexpr std::size_t kMaxAddressesPerPeer = 8;
// How often the redial loop looks for peers due a reconnect.
constexpr auto kRedialTick = std::chrono::milliseconds(250);
// A transient accept failure (out of file descriptors): pause instead of spinning.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

SSL_CTX* make_tls(const tls::Identity& identity, tls::Role role) {
  SSL_CTX* context = SSL_CTX_new(TLS_method());
  if (context == nullptr) throw std::runtime_error("cannot create a TLS context");
  if (auto configured = tls::configure_context(context, identity, role); !configured) {
    SSL_CTX_free(context);
    // Start-up only: a context we cannot configure means no peer can ever connect.
    throw std::runtime_error(configured.error().message);
  }
  return context;
}

}  // namespace

ConnectionManager::ConnectionManager(asio::any_io_executor executor, net::Transport& transport,
                                     const tls::Identity& identity, ConnectionLimits limits,
                                     session::ProtocolConfig protocol, PeerRegistry& registry,
                                     Trust& trust, StoreAccess& store, const Clock& clock,
                                     Random& random, EventSink& events, SessionListener& listener)
    : executor_(std::move(executor)),
      transport_(transport),
      identity_(identity),
      limits_(limits),
      protocol_(std::move(protocol)),
      registry_(registry),
      trust_(trust),
      store_(store),
      clock_(clock),
      random_(random),
      events_(events),
      listener_(listener),
      server_tls_(make_tls(identity, tls::Role::server)),
      client_tls_(make_tls(identity, tls::Role::client)) {}

ConnectionManager::~ConnectionManager() {
  *alive_ = false;  // coroutines still suspended end at their next step
  // The loop may run on after the node is gone (a test, a restart in one process): nothing a
  // connection posts may reach us any more.
  for (auto& [serial, connection] : live_) connection->detach();
  // Connections still alive hold raw pointers to the contexts through their SSL objects,
  // which keep their own reference: freeing ours here is safe.
  SSL_CTX_free(server_tls_);
  SSL_CTX_free(client_tls_);
}

void ConnectionManager::report(event::Problem problem) {
  if (problem.warning) {
    spdlog::warn("{}", problem.message);
  } else {
    spdlog::debug("error {}: {}", name(problem.code), problem.message);
  }
  events_.emit(problem);
}

void ConnectionManager::store_write(std::function<Result<void>(store::Store&)> write) {
  store_.run(std::move(write), [this](Result<void> written) {
    if (!written) report(warning_event(Code::store_failed, written.error().message));
  });
}

Outcome<std::uint16_t> ConnectionManager::listen(std::uint16_t port) {
  auto bound = transport_.listen(port);
  if (!bound) return bound.failure();
  port_ = *bound;
  listening_ = true;
  // Announced in HELLO, so that a peer we dial can dial us back after a disconnect.
  protocol_.listen_port = port_;
  asio::co_spawn(executor_, accept_loop(), asio::detached);
  return port_;
}

void ConnectionManager::start_redialing() {
  if (limits_.redial) asio::co_spawn(executor_, redial_loop(), asio::detached);
}

asio::awaitable<void> ConnectionManager::accept_loop() {
  const auto alive = alive_;
  net::Timer backoff(executor_, clock_);
  while (!stopping_) {
    auto accepted = co_await transport_.accept();
    if (!*alive || stopping_) break;
    if (!accepted) {
      if (accepted.failure().code == Code::shutdown) break;
      spdlog::warn("accepting a connection failed: {}; retrying shortly",
                   accepted.failure().message);
      backoff.expires_after(kAcceptBackoff);
      co_await backoff.wait();
      if (!*alive) break;
      continue;
    }
    net::Accepted& incoming = *accepted;
    if (pending_.size() >= limits_.max_unauthenticated ||
        pending_per_source_[incoming.source] >= limits_.max_unauthenticated_per_address) {
      spdlog::warn("dropped a connection from {}: too many unauthenticated connections",
                   incoming.source);
      std::error_code ignored;
      incoming.socket.close(ignored);
      continue;
    }
    adopt(std::move(incoming.socket), Direction::inbound, incoming.address,
          Pending{nullptr, incoming.source, std::nullopt, nullptr});
  }
}

void ConnectionManager::connect(std::string_view text, ConnectDone done, bool report_failures) {
  auto fail = [&](Code code, std::string message) {
    if (report_failures) report(error_event(code, message));
    if (done) done(Failure{code, std::move(message)});
  };
  if (stopping_) return fail(Code::shutdown, "the peer is shutting down");
  auto target = net::parse_dial_target(text);
  if (!target) return fail(Code::bad_address, target.error().message);
  DialIntent intent;
  intent.address = target->address();
  if (!target->expected_id.empty()) {
    auto parsed = tls::PeerId::parse(target->expected_id);
    if (!parsed) return fail(Code::bad_address, parsed.error().message);
    intent.expected = *parsed;
    intent.explicit_id = true;
  }
  intent.report = report_failures;
  asio::co_spawn(executor_, dial(std::move(target.value()), std::move(intent), std::move(done)),
                 asio::detached);
}

asio::awaitable<void> ConnectionManager::dial(net::DialTarget target, DialIntent intent,
                                              ConnectDone done) {
  const auto alive = alive_;
  auto socket = co_await transport_.dial(target, limits_.dial_timeout);
  if (!*alive) co_return;
  if (!socket) {
    if (intent.automatic) {
      // Reconnect attempts fail quietly while a peer is away; the backoff grows.
      spdlog::debug("reconnecting to {} failed: {}", intent.address, socket.failure().message);
      dial_failed(*intent.expected);
    } else {
      if (intent.report) {
        event::Problem problem = error_event(socket.failure().code, socket.failure().message);
        problem.address = intent.address;
        report(std::move(problem));
      }
      if (done) done(socket.failure());
    }
    co_return;
  }
  if (stopping_) {
    if (done) done(Failure{Code::shutdown, "the peer is shutting down"});
    co_return;
  }
  if (!intent.expected) intent.expected = trust_.pinned(intent.address);
  const std::string address = intent.address;
  adopt(std::move(*socket), Direction::outbound, address,
        Pending{nullptr, {}, std::move(intent), std::move(done)});
}

void ConnectionManager::adopt(net::StreamSocket socket, Direction direction, std::string address,
                              Pending pending) {
  const std::uint64_t serial = next_serial_++;
  SSL_CTX* tls = direction == Direction::inbound ? server_tls_ : client_tls_;
  auto connection =
      std::make_shared<Connection>(serial, std::move(socket), tls, direction, std::move(address),
                                   protocol_, clock_, random_, observer());
  pending.connection = connection;
  if (!pending.source.empty()) ++pending_per_source_[pending.source];
  pending_.emplace(serial, std::move(pending));
  live_.emplace(serial, connection);
  connection->start();
}

void ConnectionManager::release_pending(Connection& connection) {
  auto it = pending_.find(connection.serial());
  if (it == pending_.end()) return;
  if (!it->second.source.empty()) {
    auto count = pending_per_source_.find(it->second.source);
    if (count != pending_per_source_.end() && --count->second == 0) {
      pending_per_source_.erase(count);
    }
  }
  pending_.erase(it);
}

PeerEntry* ConnectionManager::peer_of(Connection& connection) {
  if (!connection.authenticated()) return nullptr;
  return registry_.find(connection.peer_id());
}

std::optional<session::Rejection> ConnectionManager::on_authenticated(Connection& connection) {
  auto it = pending_.find(connection.serial());
  Pending* pending = it == pending_.end() ? nullptr : &it->second;
  const DialIntent* intent = pending != nullptr && pending->intent ? &*pending->intent : nullptr;
  bool* warned = nullptr;
  std::string expected_name;
  if (intent != nullptr && intent->expected) {
    if (PeerEntry* expected = registry_.find(*intent->expected)) {
      warned = &expected->warned_identity;
    }
    expected_name = registry_.display_name(*intent->expected);
  }
  auto verdict =
      trust_.check(connection.peer_id(), connection.remote_address(), intent,
                   intent != nullptr && intent->automatic ? warned : nullptr, expected_name);
  if (verdict.problem) {
    const Failure failure{verdict.problem->code, verdict.problem->message};
    // A caller of the command API hears it in its result alone; the REPL as an event.
    if (intent == nullptr || intent->report) report(std::move(*verdict.problem));
    if (pending != nullptr && pending->done) {
      auto done = std::move(pending->done);
      pending->done = nullptr;
      done(failure);
    }
  }
  if (!verdict.refuse) return std::nullopt;
  return session::Rejection{verdict.reason, verdict.bye_message};
}

void ConnectionManager::reached_at(PeerEntry& peer, const std::string& address,
                                   std::string_view source) {
  auto& list = peer.dial_addresses;
  std::erase(list, address);
  list.insert(list.begin(), address);
  if (list.size() > kMaxAddressesPerPeer) list.resize(kMaxAddressesPerPeer);
  peer.next_address = 0;
  store_write([id = peer.id.bytes(), address, source = std::string(source),
               now = clock_.wall_ms()](store::Store& store) {
    return store.remember_address(id, address, source, now);
  });
}

void ConnectionManager::on_open(Connection& connection) {
  const tls::PeerId& peer_id = connection.peer_id();
  auto pending_it = pending_.find(connection.serial());
  ConnectDone done;
  std::optional<DialIntent> intent;
  if (pending_it != pending_.end()) {
    done = std::move(pending_it->second.done);
    intent = std::move(pending_it->second.intent);
  }
  release_pending(connection);

  // Where this peer can be reached again: the address we dialed, or its IP and listen port.
  std::string dial_address;
  std::string_view address_source = "dialed";
  if (intent) {
    dial_address = intent->address;
    // Trust on first use: the first identity met at an address we dialed is pinned; an
    // explicit ID@HOST:PORT re-pins because the user vouched for it.
    if (auto change = trust_.opened(*intent, peer_id)) {
      store_write([change = *change, now = clock_.wall_ms()](store::Store& store) -> Result<void> {
        if (change.replace) {
          if (auto unpinned = store.unpin_address(change.address); !unpinned) return unpinned;
        }
        return store.pin_address(change.address, change.id.bytes(), now);
      });
    }
  } else if (const auto port = connection.peer_hello().listen_port; port != 0) {
    address_source = "announced";
    const std::string& remote = connection.remote_address();
    dial_address = fmt::format("{}:{}", remote.substr(0, remote.rfind(':')), port);
  }

  const std::string& name = connection.peer_hello().name;
  // A new key claiming a known peer's name is never merged with that peer.
  if (auto same_name = registry_.others_named(name, peer_id); !same_name.empty()) {
    event::Problem problem = warning_event(
        Code::name_conflict,
        fmt::format("a new peer {} calls itself '{}', but it is not the '{}' you know ({}); "
                    "treating them as different peers",
                    peer_id.fingerprint(), name, name, same_name.front()->id.fingerprint()));
    problem.peer = peer_id;
    report(std::move(problem));
  }
  store_write([record = store::PeerRecord{peer_id.bytes(), name, clock_.wall_ms(), clock_.wall_ms(),
                                          dial_address}](store::Store& store) {
    return store.remember_peer(record);
  });

  PeerEntry& peer = registry_.add(peer_id);
  peer.name = name;
  peer.address = connection.remote_address();
  peer.dialing = false;
  peer.failed_dials = 0;
  peer.warned_identity = false;
  if (!dial_address.empty()) reached_at(peer, dial_address, address_source);
  auto self = live_.at(connection.serial());
  if (!peer.connections.empty()) {
    // Two sessions with one peer (crossed dials, or a reconnect the old session has not noticed).
    // Only the peer with the smaller ID decides, so both sides agree: it keeps the newest.
    // Connections leave the list before they are closed, so nothing that closing them sets off
    // can see (or edit) a list in the middle of a change.
    std::vector<std::shared_ptr<Connection>> replaced;
    if (identity_.id() < peer_id) {
      replaced.swap(peer.connections);
    } else if (peer.connections.size() >= 2) {
      replaced.push_back(peer.connections.front());
      peer.connections.erase(peer.connections.begin());
    }
    for (auto& old : replaced) {
      old->close(wire::ByeReason::duplicate, identity_.id() < peer_id
                                                 ? "replaced by a newer connection"
                                                 : "too many connections");
    }
  }
  peer.connections.push_back(self);
  if (!peer.announced) {
    peer.announced = true;
    events_.emit(event::Connected{PeerRegistry::summary(peer)});
  }
  listener_.session_open(peer, connection);
  if (done) done(PeerRegistry::summary(peer));
}

void ConnectionManager::on_chats(Connection& connection, session::InboundBatch&& batch) {
  // The author is the batch's: the peer this connection authenticated, never a field of the
  // messages and never another connection's peer.
  if (PeerEntry* peer = registry_.find(batch.author())) {
    listener_.chats(*peer, connection, std::move(batch));
  }
}

void ConnectionManager::on_ack(Connection& connection, std::uint64_t seq) {
  if (PeerEntry* peer = peer_of(connection)) listener_.ack(*peer, connection, seq);
}

void ConnectionManager::on_credit(Connection& connection) {
  if (PeerEntry* peer = peer_of(connection)) listener_.credit(*peer, connection);
}

void ConnectionManager::on_frame(Connection& connection, std::uint8_t type,
                                 std::span<const std::uint8_t> payload) {
  if (PeerEntry* peer = peer_of(connection)) listener_.frame(*peer, connection, type, payload);
}

void ConnectionManager::on_frames_end(Connection& connection) {
  if (PeerEntry* peer = peer_of(connection)) listener_.frames_end(*peer, connection);
}

void ConnectionManager::on_stream_open(Connection& connection, const wire::StreamOpen& open) {
  if (PeerEntry* peer = peer_of(connection)) listener_.stream_open(*peer, connection, open);
}

void ConnectionManager::on_stream_data(Connection& connection, std::uint32_t stream,
                                       std::span<const std::uint8_t> data) {
  if (PeerEntry* peer = peer_of(connection)) listener_.stream_data(*peer, connection, stream, data);
}

void ConnectionManager::on_stream_end(Connection& connection, const wire::StreamEnd& end) {
  if (PeerEntry* peer = peer_of(connection)) listener_.stream_end(*peer, connection, end);
}

void ConnectionManager::on_stream_stopped(Connection& connection, const wire::StreamStop& stop) {
  if (PeerEntry* peer = peer_of(connection)) listener_.stream_stopped(*peer, connection, stop);
}

void ConnectionManager::on_stream_writable(Connection& connection) {
  if (PeerEntry* peer = peer_of(connection)) listener_.stream_writable(*peer, connection);
}

void ConnectionManager::on_closed(Connection& connection, const session::CloseReason& reason) {
  auto pending_it = pending_.find(connection.serial());
  if (pending_it != pending_.end()) {
    Pending& pending = pending_it->second;
    const bool outbound = connection.direction() == Direction::outbound;
    // Refusals we decided were reported when we decided; a peer keeping our other
    // connection instead of this one is routine.
    const bool already_reported = !reason.by_peer && (reason.code == Code::self_connection ||
                                                      reason.code == Code::identity_mismatch);
    const bool duplicate = reason.code == Code::duplicate;
    ConnectDone done = std::move(pending.done);
    if (pending.intent && pending.intent->automatic && pending.intent->expected) {
      dial_failed(*pending.intent->expected);
    } else if (outbound && !already_reported && !duplicate && !stopping_) {
      const Code code = reason.code == Code::connection_lost ? Code::connect_failed : reason.code;
      const std::string& address =
          pending.intent ? pending.intent->address : connection.remote_address();
      event::Problem problem =
          error_event(code, fmt::format("could not connect to {}: {}", address, reason.message));
      problem.address = address;
      if (connection.authenticated()) problem.peer = connection.peer_id();
      if (done) done(Failure{problem.code, problem.message});
      if (!pending.intent || pending.intent->report) report(std::move(problem));
    } else if (done && duplicate && connection.authenticated()) {
      // The peer kept the crossed dial's session instead: we are connected all the same.
      done(PeerRegistry::summary(registry_.add(connection.peer_id())));
    } else if (done) {
      done(Failure{stopping_ ? Code::shutdown : reason.code,
                   fmt::format("could not connect: {}", reason.message)});
    } else if (!outbound) {
      spdlog::info("dropped incoming connection from {}: {}", connection.remote_address(),
                   reason.message);
    }
    release_pending(connection);
  } else if (PeerEntry* peer = peer_of(connection)) {
    auto& list = peer->connections;
    std::erase_if(list, [&](const auto& c) { return c.get() == &connection; });
    listener_.session_closed(*peer, connection, reason);
    if (list.empty() && peer->announced && reason.code == Code::duplicate && !stopping_) {
      // The peer closed this as a duplicate of a crossed dial: the connection it kept is
      // still finishing its HELLO here. Report a disconnect only if none opens soon.
      asio::co_spawn(executor_, confirm_disconnect(peer->id, reason), asio::detached);
    } else if (list.empty() && peer->announced) {
      peer->announced = false;
      peer->next_dial = clock_.now() + limits_.redial_initial;
      events_.emit(event::Disconnected{peer->id, peer->name, reason.code, reason.message});
    }
  }
  // Drop our reference once the connection's own coroutines have let go of it.
  asio::post(executor_, [this, alive = alive_, serial = connection.serial()] {
    if (*alive) live_.erase(serial);
  });
}

asio::awaitable<void> ConnectionManager::confirm_disconnect(tls::PeerId id,
                                                            session::CloseReason reason) {
  const auto alive = alive_;
  net::Timer timer(executor_, clock_);
  timer.expires_after(kDuplicateGrace);
  co_await timer.wait();
  if (!*alive) co_return;
  PeerEntry* peer = registry_.find(id);
  if (peer == nullptr || peer->connected() || !peer->announced) co_return;
  peer->announced = false;
  events_.emit(event::Disconnected{id, peer->name, reason.code, reason.message});
}

void ConnectionManager::dial_failed(const tls::PeerId& id) {
  PeerEntry* peer = registry_.find(id);
  if (peer == nullptr) return;
  peer->dialing = false;
  // The next address is tried at once; only a round in which none answered backs off.
  if (++peer->next_address % std::max<std::size_t>(peer->dial_addresses.size(), 1) != 0) {
    peer->next_dial = clock_.now();
    return;
  }
  peer->failed_dials = std::min(peer->failed_dials + 1, 30);
  // Exponential backoff, capped, with +-20% jitter so that peers do not redial in lockstep.
  const double base =
      static_cast<double>(limits_.redial_initial.count()) * std::pow(2.0, peer->failed_dials - 1);
  const double capped = std::min(base, static_cast<double>(limits_.redial_max.count()));
  std::uint8_t noise = 0;
  random_.fill({&noise, 1});
  const double jitter = 0.8 + 0.4 * (noise / 255.0);
  peer->next_dial =
      clock_.now() + std::chrono::milliseconds(static_cast<std::int64_t>(capped * jitter));
}

asio::awaitable<void> ConnectionManager::redial_loop() {
  const auto alive = alive_;
  net::Timer tick(executor_, clock_);
  while (!stopping_) {
    const auto now = clock_.now();
    for (auto& [id, peer] : registry_) {
      if (peer.connected() || peer.dialing || peer.dial_addresses.empty() || now < peer.next_dial) {
        continue;
      }
      const std::size_t index = peer.next_address % peer.dial_addresses.size();
      auto target = net::parse_dial_target(peer.dial_addresses[index]);
      if (!target) {
        // Nothing we could ever dial.
        peer.dial_addresses.erase(peer.dial_addresses.begin() + static_cast<std::ptrdiff_t>(index));
        continue;
      }
      peer.dialing = true;
      DialIntent intent{id, target->address(), false, true};
      asio::co_spawn(executor_, dial(std::move(target.value()), std::move(intent), nullptr),
                     asio::detached);
    }
    tick.expires_after(kRedialTick);
    co_await tick.wait();
    if (!*alive) co_return;
  }
}

void ConnectionManager::shutdown(wire::ByeReason reason, std::string message,
                                 std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  if (listening_) transport_.stop_listening();
  for (auto& [serial, connection] : live_) {
    if (connection->authenticated()) {
      connection->close(reason, message);
    } else {
      connection->abort(session::CloseReason{Code::shutdown, "shutting down", false});
    }
  }
  // Wait for the connections themselves to finish (BYE written, TLS closed), not just for
  // their close to be reported.
  std::vector<std::shared_ptr<Connection>> closing;
  for (auto& [serial, connection] : live_) closing.push_back(connection);
  asio::co_spawn(executor_, drain(std::move(closing), std::move(done)), asio::detached);
}

asio::awaitable<void> ConnectionManager::drain(std::vector<std::shared_ptr<Connection>> closing,
                                               std::function<void()> done) {
  const auto alive = alive_;
  const auto give_up = clock_.now() + kShutdownGrace;
  net::Timer timer(executor_, clock_);
  // Bounded by the grace period.
  while (clock_.now() < give_up &&
         !std::all_of(closing.begin(), closing.end(),
                      [](const auto& connection) { return connection->finished(); })) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.wait();
    if (!*alive) co_return;  // `done` belonged to the node
  }
  done();
}

}  // namespace peerchat::node
