// bench: the machine's own limits, measured in the same run as peerchat's figures: raw TCP
// ping-pong and batched messages, OpenSSL TLS 1.3 bulk, batched messages and handshakes, all on
// loopback with blocking sockets and one thread per side.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <thread>

#include "bench.hpp"
#include "tls/context.hpp"
#include "tls/identity.hpp"

namespace peerchat::bench {
namespace {

using Clock = std::chrono::steady_clock;

int listen_any(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::listen(fd, 1024);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

int dial(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  const int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  return fd;
}

bool read_exact(int fd, char* data, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    const ssize_t got = ::read(fd, data + done, size - done);
    if (got <= 0) return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

bool write_all(int fd, const char* data, std::size_t size) {
  for (std::size_t done = 0; done < size;) {
    const ssize_t wrote = ::write(fd, data + done, size - done);
    if (wrote <= 0) return false;
    done += static_cast<std::size_t>(wrote);
  }
  return true;
}

// Round trips of a 64-byte message; returns microseconds per round trip (all samples).
std::vector<double> tcp_ping_pong(int rounds) {
  int port = 0;
  const int listener = listen_any(&port);
  std::thread echo([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    char buffer[64];
    while (read_exact(fd, buffer, sizeof buffer) && write_all(fd, buffer, sizeof buffer)) {
    }
    ::close(fd);
  });
  const int fd = dial(port);
  char buffer[64] = {};
  std::vector<double> samples;
  for (int i = 0; i < rounds; ++i) {
    const auto start = Clock::now();
    write_all(fd, buffer, sizeof buffer);
    read_exact(fd, buffer, sizeof buffer);
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  ::close(fd);
  echo.join();
  ::close(listener);
  return samples;
}

// 100-byte length-prefixed messages written in 64 KiB batches; messages per second.
double tcp_batched(std::size_t messages) {
  int port = 0;
  const int listener = listen_any(&port);
  std::size_t counted = 0;
  std::thread sink([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    std::vector<char> buffer(1 << 16);
    std::size_t pending = 0;  // bytes of the current message still to skip
    std::size_t header = 0;
    unsigned char length_bytes[4];
    while (counted < messages) {
      const ssize_t got = ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) break;
      // Parse the stream as frames, as a receiver must.
      for (ssize_t i = 0; i < got;) {
        if (pending == 0) {
          length_bytes[header++] =
              static_cast<unsigned char>(buffer[static_cast<std::size_t>(i++)]);
          if (header == 4) {
            pending = (std::size_t{length_bytes[0]} << 24) | (std::size_t{length_bytes[1]} << 16) |
                      (std::size_t{length_bytes[2]} << 8) | length_bytes[3];
            header = 0;
          }
          continue;
        }
        const std::size_t take = std::min(pending, static_cast<std::size_t>(got - i));
        pending -= take;
        i += static_cast<ssize_t>(take);
        if (pending == 0) ++counted;
      }
    }
    ::close(fd);
  });
  const int fd = dial(port);
  std::string batch;
  std::string message(4 + 100, 'm');  // u32 length 100, then the body
  message[0] = message[1] = message[2] = '\0';
  message[3] = 100;
  while (batch.size() + message.size() <= (1 << 16)) batch += message;
  const std::size_t per_batch = batch.size() / message.size();
  const auto start = Clock::now();
  for (std::size_t sent = 0; sent < messages; sent += per_batch) {
    write_all(fd, batch.data(), batch.size());
  }
  sink.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  ::close(listener);
  return static_cast<double>(counted) / seconds;
}

struct TlsPair {
  TempDir dir;
  std::optional<tls::Identity> client_identity;
  std::optional<tls::Identity> server_identity;
  SSL_CTX* client = nullptr;
  SSL_CTX* server = nullptr;
  TlsPair() {
    std::filesystem::create_directories(dir.path() / "c");
    std::filesystem::create_directories(dir.path() / "s");
    client_identity.emplace(std::move(tls::Identity::load_or_create(dir.path() / "c").value()));
    server_identity.emplace(std::move(tls::Identity::load_or_create(dir.path() / "s").value()));
    client = SSL_CTX_new(TLS_method());
    server = SSL_CTX_new(TLS_method());
    (void)tls::configure_context(client, *client_identity, tls::Role::client);
    (void)tls::configure_context(server, *server_identity, tls::Role::server);
  }
  ~TlsPair() {
    SSL_CTX_free(client);
    SSL_CTX_free(server);
  }
};

// Bytes per second of `total` bytes written in `chunk`-sized SSL_writes, read by a thread.
double tls_stream(std::size_t total, std::size_t chunk) {
  TlsPair pair;
  int port = 0;
  const int listener = listen_any(&port);
  std::size_t received = 0;
  std::thread reader([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    SSL* ssl = SSL_new(pair.server);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      std::vector<char> buffer(1 << 16);
      while (received < total) {
        const int got = SSL_read(ssl, buffer.data(), static_cast<int>(buffer.size()));
        if (got <= 0) break;
        received += static_cast<std::size_t>(got);
      }
    }
    SSL_free(ssl);
    ::close(fd);
  });
  const int fd = dial(port);
  SSL* ssl = SSL_new(pair.client);
  SSL_set_fd(ssl, fd);
  SSL_connect(ssl);
  const std::vector<char> data(chunk, 'b');
  const auto start = Clock::now();
  for (std::size_t sent = 0; sent < total; sent += chunk) {
    if (SSL_write(ssl, data.data(), static_cast<int>(chunk)) <= 0) break;
  }
  reader.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  SSL_free(ssl);
  ::close(fd);
  ::close(listener);
  return static_cast<double>(received) / seconds;
}

// Full mutual-auth Ed25519 handshakes per second, one after another.
double tls_handshakes(int count) {
  TlsPair pair;
  int port = 0;
  const int listener = listen_any(&port);
  std::thread server([&] {
    for (int i = 0; i < count; ++i) {
      const int fd = ::accept(listener, nullptr, nullptr);
      SSL* ssl = SSL_new(pair.server);
      SSL_set_fd(ssl, fd);
      SSL_accept(ssl);
      char byte = 0;
      SSL_read(ssl, &byte, 1);  // the client's first byte: its certificate has been verified
      SSL_free(ssl);
      ::close(fd);
    }
  });
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const int fd = dial(port);
    SSL* ssl = SSL_new(pair.client);
    SSL_set_fd(ssl, fd);
    SSL_connect(ssl);
    SSL_write(ssl, "x", 1);
    SSL_free(ssl);
    ::close(fd);
  }
  server.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(listener);
  return count / seconds;
}

// A durable commit's floor: append 4 KiB to a file in a temp dir and fdatasync it, as a SQLite
// WAL commit does; microseconds per sync (all samples).
std::vector<double> file_syncs(int rounds) {
  TempDir dir;
  const auto path = dir.path() / "sync-probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  std::vector<double> samples;
  if (fd < 0) return samples;
  const std::vector<char> page(4096, 's');
  for (int i = 0; i < rounds; ++i) {
    const auto start = Clock::now();
    if (!write_all(fd, page.data(), page.size()) || ::fdatasync(fd) != 0) break;
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  ::close(fd);
  return samples;
}

}  // namespace

Baselines measure_baselines(const Options& options) {
  Baselines b;
  const int rounds = options.quick ? 500 : 20'000;
  std::vector<double> p50s;
  std::vector<double> p99s;
  std::vector<double> tcp_rates;
  std::vector<double> bulk;
  std::vector<double> tls_rates;
  std::vector<double> handshakes;
  std::vector<double> syncs;
  for (int run = 0; run < options.runs; ++run) {
    syncs.push_back(percentile(file_syncs(options.quick ? 20 : 200), 0.5));
    auto samples = tcp_ping_pong(rounds);
    p50s.push_back(percentile(samples, 0.5));
    p99s.push_back(percentile(samples, 0.99));
    tcp_rates.push_back(tcp_batched(options.quick ? 200'000 : 5'000'000));
    bulk.push_back(tls_stream(options.quick ? (64u << 20) : (1u << 30), 1 << 16));
    // 100-byte messages in 16 KiB writes: 163 messages (104 bytes with the prefix) per write.
    tls_rates.push_back(tls_stream(options.quick ? (16u << 20) : (512u << 20), 163 * 104) / 104.0);
    handshakes.push_back(tls_handshakes(options.quick ? 50 : 1'000));
  }
  b.tcp_rtt_p50_us = median(p50s);
  b.tcp_rtt_p99_us = median(p99s);
  b.tcp_batched_msgs = median(tcp_rates);
  b.tls_bulk_bytes = median(bulk);
  b.tls_batched_msgs = median(tls_rates);
  b.tls_handshakes = median(handshakes);
  b.fsync_p50_us = median(syncs);
  return b;
}

std::vector<Figure> baseline_figures(const Baselines& b) {
  return {
      {"baseline_tcp_rtt_p50", b.tcp_rtt_p50_us, "us", "64-byte ping-pong, TCP_NODELAY"},
      {"baseline_tcp_rtt_p99", b.tcp_rtt_p99_us, "us", ""},
      {"baseline_tcp_batched", b.tcp_batched_msgs, "msg/s", "100 B length-prefixed, 64 KiB writes"},
      {"baseline_tls_bulk", b.tls_bulk_bytes / 1e6, "MB/s", "OpenSSL TLS 1.3, 64 KiB writes"},
      {"baseline_tls_batched", b.tls_batched_msgs, "msg/s", "100 B messages, 16 KiB writes"},
      {"baseline_tls_handshakes", b.tls_handshakes, "1/s", "mutual-auth Ed25519, sequential"},
      {"baseline_fsync_p50", b.fsync_p50_us, "us", "4 KiB append + fdatasync in a temp dir"},
  };
}

}  // namespace peerchat::bench
