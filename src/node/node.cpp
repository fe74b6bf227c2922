#include "node/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

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

asio::ssl::context make_tls(const tls::Identity& identity, tls::Role role) {
  asio::ssl::context context(asio::ssl::context::tls);
  if (auto configured = tls::configure_context(context.native_handle(), identity, role);
      !configured) {
    // Start-up only: a context we cannot configure means no peer can ever connect.
    throw std::runtime_error(configured.error().message);
  }
  return context;
}

std::string source_of(const asio::ip::tcp::socket& socket) {
  std::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

}  // namespace

Node::Node(asio::io_context& io, NodeConfig config, const tls::Identity& identity,
           store::Store& store, const Clock& clock, Random& random, EventSink& events)
    : io_(io),
      config_(std::move(config)),
      identity_(identity),
      store_(store),
      clock_(clock),
      random_(random),
      events_(events),
      server_tls_(make_tls(identity, tls::Role::server)),
      client_tls_(make_tls(identity, tls::Role::client)),
      acceptor_(io) {
  config_.protocol.name = config_.name;
}

Node::~Node() = default;

void Node::report(event::Problem problem) {
  if (problem.warning) {
    spdlog::warn("{}", problem.message);
  } else {
    spdlog::debug("error {}: {}", name(problem.code), problem.message);
  }
  events_.emit(problem);
}

Result<std::uint16_t> Node::listen() {
  using asio::ip::tcp;
  std::error_code ec;
  // Prefer one dual-stack socket; fall back to IPv4 where IPv6 is disabled.
  acceptor_.open(tcp::v6(), ec);
  if (!ec) acceptor_.set_option(asio::ip::v6_only(false), ec);
  tcp::endpoint endpoint(tcp::v6(), config_.port);
  if (ec) {
    std::error_code ignored;
    acceptor_.close(ignored);
    acceptor_.open(tcp::v4(), ec);
    endpoint = tcp::endpoint(tcp::v4(), config_.port);
  }
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string message;
    if (ec == asio::error::address_in_use) {
      message = fmt::format("port {} is already in use; pick another with --port", config_.port);
    } else if (ec == asio::error::access_denied) {
      message =
          fmt::format("no permission to listen on port {}; use a port above 1023", config_.port);
    } else {
      message = fmt::format("cannot listen on port {}: {}", config_.port, ec.message());
    }
    return make_error(ec, std::move(message));
  }
  port_ = acceptor_.local_endpoint().port();
  // Announced in HELLO, so that a peer we dial can dial us back after a disconnect.
  config_.protocol.listen_port = port_;
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return port_;
}

void Node::announce_ready() {
  events_.emit(event::Ready{config_.name, id(), port_});
}

asio::awaitable<void> Node::accept_loop() {
  asio::steady_timer backoff(io_);
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::use_nothrow);
    if (stopping_) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of file descriptors (EMFILE/ENFILE) or similar: pause instead of spinning.
      spdlog::warn("accepting a connection failed: {}; retrying in 100 ms", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(net::use_nothrow);
      continue;
    }
    const std::string source = source_of(socket);
    if (pending_.size() >= config_.max_unauthenticated ||
        pending_per_source_[source] >= config_.max_unauthenticated_per_address) {
      spdlog::warn("dropped a connection from {}: too many unauthenticated connections", source);
      std::error_code ignored;
      socket.close(ignored);
      continue;
    }
    std::error_code endpoint_error;
    const auto remote = socket.remote_endpoint(endpoint_error);
    const std::string address = endpoint_error ? source : net::to_string(remote);
    adopt(std::move(socket), Direction::inbound, address,
          Pending{nullptr, source, {}, {}, false, false});
  }
}

void Node::connect(std::string_view text) {
  auto target = net::parse_dial_target(text);
  if (!target) return report(error_event(Code::bad_address, target.error().message));
  std::optional<tls::PeerId> expected;
  if (!target->expected_id.empty()) {
    auto parsed = tls::PeerId::parse(target->expected_id);
    if (!parsed) return report(error_event(Code::bad_address, parsed.error().message));
    expected = *parsed;
  }
  asio::co_spawn(io_, dial(std::move(target.value()), expected, false), asio::detached);
}

asio::awaitable<void> Node::dial(net::DialTarget target, std::optional<tls::PeerId> expected,
                                 bool automatic) {
  const std::string address = target.address();
  auto fail = [&](Code code, std::string message) {
    if (automatic) {
      // Reconnect attempts fail quietly while a peer is away; the backoff grows.
      spdlog::debug("reconnecting to {} failed: {}", address, message);
      dial_failed(*expected);
      return;
    }
    event::Problem problem = error_event(code, std::move(message));
    problem.address = address;
    report(std::move(problem));
  };

  asio::ip::tcp::resolver resolver(io_);
  auto [resolve_error, endpoints] =
      co_await resolver.async_resolve(target.host, std::to_string(target.port), net::use_nothrow);
  if (resolve_error) {
    fail(Code::resolve_failed, fmt::format("cannot resolve host '{}': {}; check the name",
                                           target.host, resolve_error.message()));
    co_return;
  }

  asio::ip::tcp::socket socket(io_);
  asio::steady_timer deadline(io_);
  bool timed_out = false;
  deadline.expires_after(config_.dial_timeout);
  deadline.async_wait([&](std::error_code ec) {
    if (ec) return;
    timed_out = true;
    std::error_code ignored;
    socket.close(ignored);
  });
  auto [connect_error, endpoint] =
      co_await asio::async_connect(socket, endpoints, net::use_nothrow);
  deadline.cancel();
  if (connect_error) {
    if (timed_out) {
      fail(Code::timeout, fmt::format("no answer from {} within {} s; check the address and that "
                                      "no firewall is in the way",
                                      address, config_.dial_timeout.count()));
    } else if (connect_error == asio::error::connection_refused) {
      fail(Code::connection_refused, fmt::format("nobody is listening at {} (connection refused); "
                                                 "is the peer running on that port?",
                                                 address));
    } else {
      fail(Code::connect_failed,
           fmt::format("cannot connect to {}: {}", address, connect_error.message()));
    }
    co_return;
  }
  (void)endpoint;
  if (stopping_) co_return;
  Pending pending{nullptr, {}, expected, address, expected.has_value() && !automatic, automatic};
  if (!expected) {
    auto pinned = store_.pinned_identity(address);
    if (pinned && pinned.value()) pending.expected = tls::PeerId(**pinned);
  }
  adopt(std::move(socket), Direction::outbound, address, std::move(pending));
}

void Node::adopt(asio::ip::tcp::socket socket, Direction direction, std::string address,
                 Pending pending) {
  const std::uint64_t serial = next_serial_++;
  auto& tls = direction == Direction::inbound ? server_tls_ : client_tls_;
  auto connection = std::make_shared<Connection>(
      serial, net::StreamSocket(std::move(socket)), tls.native_handle(), direction,
      std::move(address), config_.protocol, clock_, random_, observer());
  pending.connection = connection;
  if (!pending.source.empty()) ++pending_per_source_[pending.source];
  pending_.emplace(serial, std::move(pending));
  live_.emplace(serial, connection);
  connection->start();
}

void Node::release_pending(Connection& connection) {
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

std::optional<session::Rejection> Node::on_authenticated(Connection& connection) {
  const tls::PeerId& peer = connection.peer_id();
  if (peer == id()) {
    if (connection.direction() == Direction::outbound) {
      event::Problem problem =
          error_event(Code::self_connection,
                      fmt::format("{} is this peer itself; connect to another peer's address",
                                  connection.remote_address()));
      problem.address = connection.remote_address();
      report(std::move(problem));
    }
    return session::Rejection{wire::ByeReason::self_connection, "connected to itself"};
  }
  auto it = pending_.find(connection.serial());
  if (it == pending_.end() || !it->second.expected || *it->second.expected == peer) {
    return std::nullopt;
  }
  const Pending& pending = it->second;
  if (pending.automatic) {
    auto peer_it = peers_.find(*pending.expected);
    if (peer_it != peers_.end() && peer_it->second.warned_identity) {
      return session::Rejection{wire::ByeReason::identity_mismatch,
                                "you are not the identity this peer expected at this address"};
    }
    if (peer_it != peers_.end()) peer_it->second.warned_identity = true;
  }
  event::Problem problem;
  problem.code = Code::identity_mismatch;
  problem.peer = peer;
  problem.address = pending.dialed_address;
  if (pending.explicit_id) {
    problem.message =
        fmt::format("{} answered as {} ({}), not the peer ID you asked for ({}); not connecting",
                    pending.dialed_address, peer.to_string(), peer.fingerprint(),
                    pending.expected->fingerprint());
  } else {
    const std::string known = display_name(*pending.expected);
    problem.message = fmt::format(
        "WARNING: {} used to be {} ({}) but now presents a different identity ({}). This may be "
        "an attacker, or the peer made a new identity. Not connecting. Check the ID with its "
        "owner (peerchat id), and if you trust it, connect with /connect {}@{}",
        pending.dialed_address, known, pending.expected->fingerprint(), peer.fingerprint(),
        peer.compact(), pending.dialed_address);
  }
  report(std::move(problem));
  return session::Rejection{wire::ByeReason::identity_mismatch,
                            "you are not the identity this peer expected at this address"};
}

void Node::on_open(Connection& connection) {
  const tls::PeerId& peer_id = connection.peer_id();
  auto pending_it = pending_.find(connection.serial());
  // Where this peer can be reached again: the address we dialed, or its IP and listen port.
  std::string dial_address;
  std::string_view address_source = "dialed";
  if (pending_it != pending_.end() && connection.direction() == Direction::outbound) {
    dial_address = pending_it->second.dialed_address;
  } else if (const auto port = connection.peer_hello().listen_port; port != 0) {
    address_source = "announced";
    const std::string& remote = connection.remote_address();
    dial_address = fmt::format("{}:{}", remote.substr(0, remote.rfind(':')), port);
  }
  if (pending_it != pending_.end() && connection.direction() == Direction::outbound) {
    // Trust on first use: the first identity met at an address we dialed is pinned; an
    // explicit ID@HOST:PORT re-pins because the user vouched for it.
    const Pending& pending = pending_it->second;
    const auto key = peer_id.bytes();
    if (pending.explicit_id) {
      if (auto unpinned = store_.unpin_address(pending.dialed_address); !unpinned) {
        spdlog::warn("could not update the pin for {}: {}", pending.dialed_address,
                     unpinned.error().message);
      }
    }
    auto pinned = store_.pinned_identity(pending.dialed_address);
    if (pinned && !pinned.value()) {
      if (auto stored = store_.pin_address(pending.dialed_address, key, clock_.wall_ms());
          !stored) {
        report(warning_event(Code::store_failed, stored.error().message));
      }
    }
  }
  release_pending(connection);

  const std::string& name = connection.peer_hello().name;
  // A new key claiming a known peer's name is never merged with that peer.
  if (auto same_name = store_.find_peers_by_name(name); same_name) {
    for (const auto& other : same_name.value()) {
      if (tls::PeerId(other.id) == peer_id) continue;
      event::Problem problem = warning_event(
          Code::name_conflict,
          fmt::format("a new peer {} calls itself '{}', but it is not the '{}' you know ({}); "
                      "treating them as different peers",
                      peer_id.fingerprint(), name, name, tls::PeerId(other.id).fingerprint()));
      problem.peer = peer_id;
      report(std::move(problem));
      break;
    }
  }
  if (auto stored = store_.remember_peer(store::PeerRecord{peer_id.bytes(), name, clock_.wall_ms(),
                                                           clock_.wall_ms(), dial_address});
      !stored) {
    report(warning_event(Code::store_failed, stored.error().message));
  }

  PeerState& peer = peers_[peer_id];
  peer.id = peer_id;
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
    requeue_inflight(peer);
    std::vector<std::shared_ptr<Connection>> replaced;
    if (id() < peer_id) {
      replaced.swap(peer.connections);
    } else if (peer.connections.size() >= 2) {
      replaced.push_back(peer.connections.front());
      peer.connections.erase(peer.connections.begin());
    }
    for (auto& old : replaced) {
      old->close(wire::ByeReason::duplicate,
                 id() < peer_id ? "replaced by a newer connection" : "too many connections");
    }
  }
  peer.connections.push_back(self);
  if (!peer.announced) {
    peer.announced = true;
    events_.emit(event::Connected{summary(peer)});
  }
  pump(peer);
}

void Node::on_closed(Connection& connection, const session::CloseReason& reason) {
  auto pending_it = pending_.find(connection.serial());
  const bool was_pending = pending_it != pending_.end();
  if (was_pending) {
    const bool outbound = connection.direction() == Direction::outbound;
    // Refusals we decided were reported when we decided; a peer keeping our other
    // connection instead of this one is routine.
    const bool already_reported = !reason.by_peer && (reason.code == Code::self_connection ||
                                                      reason.code == Code::identity_mismatch);
    const bool routine = reason.code == Code::duplicate || stopping_;
    if (pending_it->second.automatic && pending_it->second.expected) {
      dial_failed(*pending_it->second.expected);
    } else if (outbound && !already_reported && !routine) {
      Code code = reason.code;
      if (code == Code::connection_lost) code = Code::connect_failed;
      event::Problem problem =
          error_event(code, fmt::format("could not connect to {}: {}",
                                        pending_it->second.dialed_address, reason.message));
      problem.address = pending_it->second.dialed_address;
      if (connection.authenticated()) problem.peer = connection.peer_id();
      report(std::move(problem));
    } else if (!outbound) {
      spdlog::info("dropped incoming connection from {}: {}", connection.remote_address(),
                   reason.message);
    }
    release_pending(connection);
  } else if (connection.authenticated()) {
    auto it = peers_.find(connection.peer_id());
    if (it != peers_.end()) {
      PeerState& peer = it->second;
      auto& list = peer.connections;
      const bool was_primary = !list.empty() && list.back().get() == &connection;
      std::erase_if(list, [&](const auto& c) { return c.get() == &connection; });
      if (was_primary) requeue_inflight(peer);
      if (list.empty() && peer.announced && reason.code == Code::duplicate && !stopping_) {
        // The peer closed this as a duplicate of a crossed dial: the connection it kept is
        // still finishing its HELLO here. Report a disconnect only if none opens soon.
        asio::co_spawn(io_, confirm_disconnect(peer.id, reason), asio::detached);
      } else if (list.empty() && peer.announced) {
        peer.announced = false;
        peer.next_dial = clock_.now() + config_.redial_initial;
        events_.emit(event::Disconnected{peer.id, peer.name, reason.code, reason.message});
      } else {
        pump(peer);
      }
    }
  }
  // Drop our reference once the connection's own coroutines have let go of it.
  asio::post(io_, [this, serial = connection.serial()] { live_.erase(serial); });
}

asio::awaitable<void> Node::confirm_disconnect(tls::PeerId id, session::CloseReason reason) {
  asio::steady_timer timer(io_);
  timer.expires_after(kDuplicateGrace);
  co_await timer.async_wait(net::use_nothrow);
  auto it = peers_.find(id);
  if (it == peers_.end() || !it->second.connections.empty() || !it->second.announced) co_return;
  it->second.announced = false;
  events_.emit(event::Disconnected{id, it->second.name, reason.code, reason.message});
}

void Node::reached_at(PeerState& peer, const std::string& address, std::string_view source) {
  auto& list = peer.dial_addresses;
  std::erase(list, address);
  list.insert(list.begin(), address);
  if (list.size() > kMaxAddressesPerPeer) list.resize(kMaxAddressesPerPeer);
  peer.next_address = 0;
  if (auto stored = store_.remember_address(peer.id.bytes(), address, source, clock_.wall_ms());
      !stored) {
    report(warning_event(Code::store_failed, stored.error().message));
  }
}

void Node::dial_failed(const tls::PeerId& id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  PeerState& peer = it->second;
  peer.dialing = false;
  // The next address is tried at once; only a round in which none answered backs off.
  if (++peer.next_address % std::max<std::size_t>(peer.dial_addresses.size(), 1) != 0) {
    peer.next_dial = clock_.now();
    return;
  }
  peer.failed_dials = std::min(peer.failed_dials + 1, 30);
  // Exponential backoff, capped, with +-20% jitter so that peers do not redial in lockstep.
  const double base =
      static_cast<double>(config_.redial_initial.count()) * std::pow(2.0, peer.failed_dials - 1);
  const double capped = std::min(base, static_cast<double>(config_.redial_max.count()));
  std::uint8_t noise = 0;
  random_.fill({&noise, 1});
  const double jitter = 0.8 + 0.4 * (noise / 255.0);
  peer.next_dial =
      clock_.now() + std::chrono::milliseconds(static_cast<std::int64_t>(capped * jitter));
}

asio::awaitable<void> Node::redial_loop() {
  asio::steady_timer tick(io_);
  while (!stopping_) {
    const auto now = clock_.now();
    for (auto& [id, peer] : peers_) {
      if (!peer.connections.empty() || peer.dialing || peer.dial_addresses.empty() ||
          now < peer.next_dial) {
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
      asio::co_spawn(io_, dial(std::move(target.value()), id, true), asio::detached);
    }
    tick.expires_after(std::chrono::milliseconds(250));
    co_await tick.async_wait(net::use_nothrow);
  }
}

PeerSummary Node::summary(const PeerState& peer) const {
  std::string direction = "out";
  if (!peer.connections.empty()) {
    direction = std::string(session::to_string(peer.connections.back()->direction()));
  }
  return PeerSummary{peer.id, peer.name, peer.address, direction};
}

void Node::shutdown(wire::ByeReason reason, std::string message, std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
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
  asio::co_spawn(io_, drain(std::move(closing), std::move(done)), asio::detached);
}

asio::awaitable<void> Node::drain(std::vector<std::shared_ptr<Connection>> closing,
                                  std::function<void()> done) {
  const auto give_up = clock_.now() + kShutdownGrace;
  asio::steady_timer timer(io_);
  // Bounded by the grace period.
  while (clock_.now() < give_up &&
         !std::all_of(closing.begin(), closing.end(),
                      [](const auto& connection) { return connection->finished(); })) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(net::use_nothrow);
  }
  done();
}

}  // namespace peerchat::node
