#include "net/memory_transport.hpp"

#include <fmt/format.h>

#include <deque>
#include <map>

#include "net/failures.hpp"
#include "net/timer.hpp"

namespace peerchat::net {
namespace {

// listen(0) picks from the dynamic range, as the system does; dials come from lower ports, so
// that a source address never looks like a listening one.
constexpr std::uint16_t kFirstListenPort = 49152;
constexpr std::uint16_t kFirstSourcePort = 40001;
// Connections waiting for accept(). Beyond it a dial is refused, as a full SYN queue would.
constexpr std::size_t kMaxBacklog = 4096;
constexpr std::size_t kRelayChunk = 16 * 1024;

std::string join(std::string_view host, std::uint16_t port) {
  if (host.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

// An event to wait for, not a deadline: a steady timer that never expires, cancelled to wake
// every coroutine waiting on it.
asio::steady_timer make_event(const asio::any_io_executor& executor) {
  asio::steady_timer event(executor);
  event.expires_at(asio::steady_timer::time_point::max());
  return event;
}

struct Listener {
  Listener(const asio::any_io_executor& executor, std::string host_, std::uint16_t port_)
      : host(std::move(host_)), port(port_), wake(make_event(executor)) {}
  std::string host;
  std::uint16_t port;
  std::deque<Accepted> backlog;
  asio::steady_timer wake;  // a connection arrived, or listening stopped
  bool open = true;
};

struct Host {
  bool reachable = true;
  std::uint16_t next_source_port = kFirstSourcePort;
  std::map<std::uint16_t, std::shared_ptr<Listener>> listening;
};

}  // namespace

struct MemoryNetwork::State {
  State(asio::any_io_executor executor_, const Clock& clock_)
      : executor(std::move(executor_)), clock(clock_) {}

  Outcome<std::shared_ptr<Listener>> listen(const std::string& host_name, std::uint16_t port) {
    Host& host = hosts[host_name];
    if (port == 0) {
      for (std::uint32_t free = kFirstListenPort; free <= 65535 && port == 0; ++free) {
        if (host.listening.count(static_cast<std::uint16_t>(free)) == 0) {
          port = static_cast<std::uint16_t>(free);
        }
      }
      if (port == 0) return listen_failure(Code::listen_failed, 0, "no free port left on the host");
    } else if (host.listening.count(port) != 0) {
      return listen_failure(Code::port_in_use, port, {});
    }
    auto listener = std::make_shared<Listener>(executor, host_name, port);
    host.listening.emplace(port, listener);
    return listener;
  }

  void stop(Listener& listener) {
    listener.open = false;
    auto& listening = hosts[listener.host].listening;
    if (auto it = listening.find(listener.port);
        it != listening.end() && it->second.get() == &listener) {
      listening.erase(it);
    }
    // Connections nobody accepted: their dialers see the connection drop.
    for (auto& waiting : listener.backlog) {
      std::error_code ignored;
      waiting.socket.close(ignored);
    }
    listener.backlog.clear();
    listener.wake.cancel();
  }

  // The part of a dial that does not wait: host and port are known and reachable.
  Outcome<StreamSocket> connect(const std::string& dialer_host, const DialTarget& target,
                                const std::string& address) {
    const auto found = hosts[target.host].listening.find(target.port);
    if (found == hosts[target.host].listening.end() || !found->second->open ||
        found->second->backlog.size() >= kMaxBacklog) {
      return refused_failure(address);
    }
    Listener& listener = *found->second;
    asio::local::stream_protocol::socket dialer_end(executor), dialer_relay(executor);
    asio::local::stream_protocol::socket listener_end(executor), listener_relay(executor);
    std::error_code error;
    asio::local::connect_pair(dialer_end, dialer_relay, error);
    if (!error) asio::local::connect_pair(listener_end, listener_relay, error);
    if (error) return connect_failure(address, error.message());  // out of descriptors

    Host& dialer = hosts[dialer_host];
    const std::uint16_t source_port = dialer.next_source_port;
    dialer.next_source_port =
        source_port == kFirstListenPort - 1 ? kFirstSourcePort : source_port + 1;
    MemoryLink::Ends ends{dialer_host, join(dialer_host, source_port), target.host,
                          join(target.host, target.port)};
    auto link = std::make_shared<MemoryLink>(StreamSocket(std::move(dialer_relay)),
                                             StreamSocket(std::move(listener_relay)), ends);
    link->start();
    std::erase_if(links, [](const auto& weak) {
      const auto held = weak.lock();
      return !held || !held->open();
    });
    links.push_back(link);

    listener.backlog.push_back(
        Accepted{StreamSocket(std::move(listener_end)), dialer_host, ends.dialer_address});
    listener.wake.cancel();
    return StreamSocket(std::move(dialer_end));
  }

  template <class Match>
  std::vector<std::shared_ptr<MemoryLink>> open_links(Match match) const {
    std::vector<std::shared_ptr<MemoryLink>> found;
    for (const auto& weak : links) {
      if (auto link = weak.lock(); link && link->open() && match(*link)) found.push_back(link);
    }
    return found;
  }

  asio::any_io_executor executor;
  const Clock& clock;
  std::map<std::string, Host, std::less<>> hosts;
  std::vector<std::weak_ptr<MemoryLink>> links;  // held by their relays while open
};

namespace {

class MemoryTransport final : public Transport {
 public:
  MemoryTransport(std::shared_ptr<MemoryNetwork::State> state, std::string host)
      : state_(std::move(state)), host_(std::move(host)) {}
  ~MemoryTransport() override { stop_listening(); }

  Outcome<std::uint16_t> listen(std::uint16_t port) override {
    if (listener_) {
      return listen_failure(
          Code::listen_failed, port,
          fmt::format("this transport already listens on port {}", listener_->port));
    }
    auto listener = state_->listen(host_, port);
    if (!listener) return listener.failure();
    listener_ = *listener;
    return listener_->port;
  }

  asio::awaitable<Outcome<Accepted>> accept() override {
    const auto listener = listener_;  // stop_listening() may drop ours while this waits
    if (!listener) co_return Failure{Code::shutdown, "not listening"};
    // Each pass either returns or waits for the next arrival or the stop; no spinning.
    while (listener->open) {
      if (!listener->backlog.empty()) {
        Accepted accepted = std::move(listener->backlog.front());
        listener->backlog.pop_front();
        co_return accepted;
      }
      co_await listener->wake.async_wait(use_nothrow);
    }
    co_return Failure{Code::shutdown, "stopped listening"};
  }

  void stop_listening() override {
    if (!listener_) return;
    state_->stop(*listener_);
    listener_.reset();
  }

  asio::awaitable<Outcome<StreamSocket>> dial(DialTarget target, Clock::Duration timeout) override {
    const auto state = state_;  // this transport may be destroyed while the dial waits
    const std::string dialer_host = host_;
    const DialTarget& copy = target;
    const std::string address = copy.address();
    const auto host = state->hosts.find(copy.host);
    if (host == state->hosts.end()) {
      co_return resolve_failure(copy.host, "no such host on the in-memory network");
    }
    if (!host->second.reachable) {
      Timer deadline(state->executor, state->clock);
      deadline.expires_after(timeout);
      co_await deadline.wait();
      co_return timeout_failure(address, timeout);
    }
    co_return state->connect(dialer_host, copy, address);
  }

 private:
  std::shared_ptr<MemoryNetwork::State> state_;
  std::string host_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace

MemoryNetwork::MemoryNetwork(asio::any_io_executor executor, const Clock& clock)
    : state_(std::make_shared<State>(std::move(executor), clock)) {}

MemoryNetwork::~MemoryNetwork() {
  for (const auto& link : links()) link->cut();
}

std::unique_ptr<Transport> MemoryNetwork::transport(const std::string& host) {
  state_->hosts[host];  // known from now on: dials to it are refused, not unresolved
  return std::make_unique<MemoryTransport>(state_, host);
}

void MemoryNetwork::set_reachable(const std::string& host, bool reachable) {
  state_->hosts[host].reachable = reachable;
}

std::vector<std::shared_ptr<MemoryLink>> MemoryNetwork::links() const {
  return state_->open_links([](const MemoryLink&) { return true; });
}

std::vector<std::shared_ptr<MemoryLink>> MemoryNetwork::links_between(
    std::string_view host_a, std::string_view host_b) const {
  return state_->open_links([&](const MemoryLink& link) {
    return (link.dialer_host() == host_a && link.listener_host() == host_b) ||
           (link.dialer_host() == host_b && link.listener_host() == host_a);
  });
}

std::size_t MemoryNetwork::stall(std::string_view host_a, std::string_view host_b) {
  const auto affected = links_between(host_a, host_b);
  for (const auto& link : affected) link->stall();
  return affected.size();
}

std::size_t MemoryNetwork::resume(std::string_view host_a, std::string_view host_b) {
  const auto affected = links_between(host_a, host_b);
  for (const auto& link : affected) link->resume();
  return affected.size();
}

std::size_t MemoryNetwork::cut(std::string_view host_a, std::string_view host_b) {
  const auto affected = links_between(host_a, host_b);
  for (const auto& link : affected) link->cut();
  return affected.size();
}

MemoryLink::MemoryLink(StreamSocket dialer_side, StreamSocket listener_side, Ends ends)
    : sides_{std::move(dialer_side), std::move(listener_side)},
      gate_(make_event(sides_[0].get_executor())),
      ends_(std::move(ends)) {}

void MemoryLink::start() {
  relays_running_ = 2;
  for (int direction = 0; direction < 2; ++direction) {
    asio::co_spawn(
        sides_[0].get_executor(),
        [self = shared_from_this(), direction] { return self->relay(direction); }, asio::detached);
  }
}

void MemoryLink::stall() {
  if (open_) stalled_ = true;
}

void MemoryLink::resume() {
  stalled_ = false;
  gate_.cancel();
}

void MemoryLink::cut() {
  if (!open_) return;
  open_ = false;
  stalled_ = false;
  for (auto& side : sides_) {
    std::error_code ignored;
    side.close(ignored);  // ends the relays' waits; the outer ends see eof, or a reset
  }
  gate_.cancel();
}

// direction 0: dialer to listener; 1: back. Ends when either side closes; each pass waits for
// the socket or the gate, so the loop runs only as fast as bytes arrive.
asio::awaitable<void> MemoryLink::relay(int direction) {
  const auto self = shared_from_this();
  auto& from = sides_[direction];
  auto& to = sides_[1 - direction];
  std::vector<std::uint8_t> chunk(kRelayChunk);
  while (open_) {
    auto [read_error, size] = co_await from.async_read_some(asio::buffer(chunk), use_nothrow);
    if (!open_) break;
    std::error_code ignored;
    if (read_error == asio::error::eof) {
      to.shutdown(StreamSocket::shutdown_send, ignored);  // pass the FIN on
      break;
    }
    if (read_error) {  // a reset: the whole connection goes, as with TCP
      cut();
      break;
    }
    while (stalled_ && open_) co_await gate_.async_wait(use_nothrow);  // held, not dropped
    if (!open_) break;
    auto [write_error, written] =
        co_await asio::async_write(to, asio::buffer(chunk.data(), size), use_nothrow);
    if (write_error) {
      // The far end has gone: from now on the near end's writes fail, as after a TCP reset.
      from.shutdown(StreamSocket::shutdown_receive, ignored);
      break;
    }
    relayed_[direction] += written;
  }
  relay_done();
}

void MemoryLink::relay_done() {
  if (--relays_running_ > 0) return;
  open_ = false;
  for (auto& side : sides_) {
    std::error_code ignored;
    side.close(ignored);
  }
}

}  // namespace peerchat::net
