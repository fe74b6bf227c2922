// bench: many authenticated, idle peers on one node: the node's resident memory per
// connection, and whether it still answers a new peer quickly while holding them all.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench.hpp"
#include "tls/context.hpp"
#include "tls/identity.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

namespace peerchat::bench {
namespace {

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

struct Client {
  int fd = -1;
  SSL* ssl = nullptr;
};

// TCP + TLS + HELLO both ways; the connection then stays open and idle.
bool open_session(SSL_CTX* ctx, int port, const wire::Bytes& hello, Client& client) {
  client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(client.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return false;
  }
  client.ssl = SSL_new(ctx);
  SSL_set_fd(client.ssl, client.fd);
  if (SSL_connect(client.ssl) != 1) return false;
  if (SSL_write(client.ssl, hello.data(), static_cast<int>(hello.size())) <= 0) return false;
  wire::FrameDecoder decoder;
  for (int reads = 0; reads < 10; ++reads) {
    auto room = decoder.prepare(4096);
    const int got = SSL_read(client.ssl, room.data(), static_cast<int>(room.size()));
    if (got <= 0) return false;
    decoder.commit(static_cast<std::size_t>(got));
    for (auto frame = decoder.next(); frame && frame.value(); frame = decoder.next()) {
      if ((*frame)->type == static_cast<std::uint8_t>(wire::FrameType::hello)) return true;
    }
  }
  return false;
}

}  // namespace

std::vector<Figure> run_idle(const Options& options, const Baselines& /*baselines*/) {
  if (options.peerchat_binary.empty()) return {};
  const int wanted = options.quick ? 200 : options.idle_peers;
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);  // the child inherits it too

  TempDir dir;
  const Child child = spawn_peerchat(options.peerchat_binary, dir.path() / "node");
  if (child.pid < 0) return {};
  const pid_t pid = child.pid;
  const int out_fd = child.out;
  // The first line is `ready` with the port; later output is drained by nobody, so keep the
  // node's events small: they are one line per connection, well within the pipe while we count.
  int port = 0;
  for (int lines = 0; lines < 20 && port == 0; ++lines) {  // skip anything before `ready`
    std::string line;
    char byte = 0;
    while (::read(out_fd, &byte, 1) == 1 && byte != '\n') line.push_back(byte);
    const auto ready = nlohmann::json::parse(line, nullptr, false);
    if (ready.is_object() && ready.value("event", "") == "ready") port = ready.value("port", 0);
  }
  if (port == 0) return {};
  // Drain the node's stdout in the background so its event writes never block.
  std::thread drain([out_fd] {
    char buffer[65536];
    while (::read(out_fd, buffer, sizeof buffer) > 0) {
    }
  });

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long before = rss_kib(pid);

  // The node keys sessions by peer ID, so every client needs its own identity.
  wire::Bytes hello;
  wire::encode(hello, wire::Hello{wire::kProtocolVersion, 0, 0, "idle"});
  std::vector<Client> clients(static_cast<std::size_t>(wanted));
  int opened = 0;
  for (auto& client : clients) {
    auto identity = tls::Identity::generate();
    if (!identity) break;
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    (void)tls::configure_context(ctx, *identity, tls::Role::client);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    const bool ok = open_session(ctx, port, hello, client);
    SSL_CTX_free(ctx);  // each SSL keeps its own reference
    if (!ok) break;
    ++opened;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long after = rss_kib(pid);

  // Still responsive: one more peer connects (TCP + TLS + HELLO) while all the others idle.
  double responsive_ms = -1;
  if (auto identity = tls::Identity::generate()) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    (void)tls::configure_context(ctx, *identity, tls::Role::client);
    Client probe;
    const auto start = std::chrono::steady_clock::now();
    if (open_session(ctx, port, hello, probe)) {
      responsive_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
    }
    if (probe.ssl != nullptr) SSL_free(probe.ssl);
    if (probe.fd >= 0) ::close(probe.fd);
    SSL_CTX_free(ctx);
  }

  for (auto& client : clients) {
    if (client.ssl != nullptr) SSL_free(client.ssl);
    if (client.fd >= 0) ::close(client.fd);
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  drain.join();
  ::close(out_fd);
  const double per_connection = opened > 0 ? static_cast<double>(after - before) / opened : 0;
  return {
      {"idle_connections", static_cast<double>(opened), "peers",
       fmt::format("authenticated, idle, on one node ({} wanted)", wanted)},
      {"idle_rss_per_connection", per_connection, "KiB", "node RSS growth / peers; target <= 64"},
      {"idle_new_session_ms", responsive_ms, "ms", "one more peer's TCP + TLS + HELLO meanwhile"},
  };
}

}  // namespace peerchat::bench
