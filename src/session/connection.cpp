#include "session/connection.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <openssl/err.h>

#include <openssl/ssl.h>
#include <array>

#include "tls/context.hpp"

namespace peerchat::session {
namespace {

// A read takes every TLS record already buffered (each up to 16 KiB of plaintext), up to this.
constexpr std::size_t kMaxReadChunk = 64 * 1024;
// Idle connections read into small buffers; the size doubles while reads come back full.
constexpr std::size_t kMinReadChunk = 2 * 1024;
constexpr std::size_t kMaxBatchBytes = 1 << 20;
// After BYE, how long the peer gets to finish the TLS close before the socket is cut.
constexpr auto kCloseGrace = std::chrono::seconds(3);
// At most this much is read and thrown away from a peer after we said BYE.
constexpr std::size_t kMaxLingerBytes = 1 << 20;

std::string describe_read_error(const std::error_code& ec) {
  if (ec == asio::error::eof) return "the peer closed the connection";
  if (ec == asio::ssl::error::stream_truncated) {
    return "the peer closed the connection without ending TLS";
  }
  if (ec == asio::error::connection_reset) return "the connection was reset by the peer";
  if (ec == asio::error::operation_aborted) return "the connection was closed";
  return fmt::format("connection error: {}", ec.message());
}

// The stable event code for a failed TLS handshake: an ALPN refusal means the peer speaks
// another protocol version, which users must handle differently from a broken handshake.
Code handshake_failure_code(const std::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    if (reason == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL ||
        reason == SSL_R_NO_APPLICATION_PROTOCOL) {
      return Code::version_mismatch;
    }
  }
  return Code::tls_failed;
}

}  // namespace

std::string_view to_string(Direction direction) {
  return direction == Direction::inbound ? "in" : "out";
}

Connection::Connection(std::uint64_t serial, net::StreamSocket socket, SSL_CTX* tls,
                       Direction direction, std::string remote_address, ProtocolConfig config,
                       const Clock& clock, Random& random, ConnectionObserver& observer)
    : stream_(std::move(socket), tls),
      direction_(direction),
      remote_address_(std::move(remote_address)),
      config_(std::move(config)),
      clock_(clock),
      observer_(&observer),
      protocol_(config_, clock, random, *this),
      writer_wake_(stream_.get_executor()),
      watchdog_timer_(stream_.get_executor(), clock),
      handshake_deadline_(clock.now() + config_.handshake_timeout),
      serial_(serial) {
  writer_wake_.expires_at(asio::steady_timer::time_point::max());
}

Connection::~Connection() = default;

void Connection::start() {
  auto self = shared_from_this();
  asio::co_spawn(
      stream_.get_executor(), [self] { return self->run(); }, asio::detached);
  asio::co_spawn(
      stream_.get_executor(), [self] { return self->watchdog(); }, asio::detached);
}

void Connection::send_chat(const wire::Chat& chat) {
  protocol_.send_chat(chat);
  wake_writer();
}

bool Connection::acknowledge(const InboundBatch& batch) {
  if (batch.connection() != serial_ || batch.author() != peer_id_) {
    spdlog::error("internal error: a batch read on connection {} acknowledged on {}; ignored",
                  batch.connection(), serial_);
    return false;
  }
  protocol_.acknowledge(batch.highest_seq(), static_cast<std::uint32_t>(batch.size()));
  // Inside a read batch the reader flushes once at its end (one ACK and one CREDIT for many
  // messages); a call from outside a batch flushes here.
  if (!in_read_batch_) {
    protocol_.flush();
    wake_writer();
  }
  return true;
}

void Connection::close(wire::ByeReason reason, std::string message) {
  protocol_.close(reason, std::move(message));
  wake_writer();
}

Result<std::uint32_t> Connection::open_stream(std::string label, std::uint64_t size) {
  auto id = protocol_.open_stream(std::move(label), size);
  wake_writer();
  return id;
}

std::size_t Connection::write_stream(std::uint32_t stream, std::span<const std::uint8_t> data) {
  const std::size_t accepted = protocol_.write_stream(stream, data);
  if (accepted > 0) wake_writer();
  return accepted;
}

void Connection::end_stream(std::uint32_t stream) {
  protocol_.end_stream(stream);
  wake_writer();
}

void Connection::cancel_stream(std::uint32_t stream, std::string message) {
  protocol_.cancel_stream(stream, std::move(message));
  wake_writer();
}

void Connection::stop_stream(std::uint32_t stream, std::string message) {
  protocol_.stop_stream(stream, std::move(message));
  wake_writer();
}

void Connection::consume_stream(std::size_t bytes) {
  protocol_.consume_stream(bytes);
  // Inside a read batch the regrant goes out with the batch's flush.
  if (!in_read_batch_) {
    protocol_.flush();
    wake_writer();
  }
}

void Connection::abort(CloseReason reason) {
  report_closed(reason);
  close_socket();
}

namespace {

// What a detached connection reports to: nothing, and a refusal for a late handshake.
class DetachedObserver final : public ConnectionObserver {
 public:
  std::optional<Rejection> on_authenticated(Connection&) override {
    return Rejection{wire::ByeReason::shutdown, "shutting down"};
  }
  void on_open(Connection&) override {}
  void on_chats(Connection&, InboundBatch&&) override {}
  void on_ack(Connection&, std::uint64_t) override {}
  void on_credit(Connection&) override {}
  void on_closed(Connection&, const CloseReason&) override {}
};

}  // namespace

void Connection::detach() {
  static DetachedObserver detached;
  observer_ = &detached;
  closed_reported_ = true;
  close_socket();
}

void Connection::close_socket() {
  stream_.close();
}

void Connection::wake_writer() {
  writer_wake_.cancel();
}

void Connection::report_closed(const CloseReason& reason) {
  if (closed_reported_) return;
  closed_reported_ = true;
  close_deadline_ = clock_.now() + kCloseGrace;
  watchdog_timer_.cancel();  // recompute: the close grace period is now the deadline
  // Never from inside a call the observer made (close(), abort(), a callback it is in): it may
  // be walking its own list of connections. Posted, so it runs on the I/O thread right after.
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), reason] { self->observer_->on_closed(*self, reason); });
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  if (net::is_tcp(stream_.socket())) {  // not on an in-process socket pair
    // Chat is latency-sensitive; the writer already coalesces frames into large writes.
    std::error_code ignored;
    stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }

  const auto role = direction_ == Direction::outbound ? tls::Role::client : tls::Role::server;
  const auto handshake_error = co_await stream_.handshake(role);
  if (!handshake_error) {
    auto peer = tls::authenticated_peer(stream_.native_handle());
    if (!peer) {
      report_closed(CloseReason{Code::tls_failed, peer.error().message, true});
    } else {
      peer_id_ = *peer;
      authenticated_ = true;
    }
  } else if (!closed_reported_) {
    const bool timed_out = clock_.now() >= handshake_deadline_;
    report_closed(timed_out ? CloseReason{Code::timeout,
                                          "no TLS handshake before the handshake deadline", true}
                            : CloseReason{handshake_failure_code(handshake_error),
                                          tls::explain_handshake_failure(handshake_error), true});
  }
  if (!authenticated_ || closed_reported_) {
    close_socket();
    finished_ = true;
    watchdog_timer_.cancel();
    co_return;
  }

  if (auto rejection = observer_->on_authenticated(*this)) {
    protocol_.close(rejection->reason, std::move(rejection->message));
  } else {
    protocol_.start();
  }
  watchdog_timer_.cancel();  // it slept towards the handshake deadline: recompute
  asio::co_spawn(
      stream_.get_executor(), [self] { return self->writer(); }, asio::detached);

  std::size_t unbatched = 0;  // bytes read since the last batch end
  std::size_t chunk = kMinReadChunk;
  while (protocol_.state() != State::closed) {
    auto room = protocol_.prepare_read(chunk);
    auto [error, size] = co_await stream_.read_some(room);
    if (error) {
      // What was read before the error is complete and authenticated: hand it over as its
      // own batch before the close, never leave it for another connection's batch end.
      end_batch();
      transport_failed_ = error != asio::error::eof;
      protocol_.on_transport_closed(describe_read_error(error));
      break;
    }
    protocol_.commit_read(size);
    unbatched += size;
    chunk = size == chunk ? std::min(chunk * 2, kMaxReadChunk)
                          : std::max(std::min(chunk, 2 * size), kMinReadChunk);
    in_read_batch_ = true;
    protocol_.process();
    in_read_batch_ = false;
    // Group commit: while more bytes are already waiting (in OpenSSL or in the socket), keep
    // collecting, so that one commit and one ACK cover them all. Bounded by kMaxBatchBytes,
    // and in practice by the credit window, which the peer cannot exceed.
    if (!stream_.input_waiting() || unbatched >= kMaxBatchBytes ||
        protocol_.state() == State::closed) {
      end_batch();
      unbatched = 0;
      wake_writer();
    }
  }
  reader_done_ = true;
  wake_writer();
  co_await finish_if_last();
}

asio::awaitable<void> Connection::writer() {
  auto self = shared_from_this();
  wire::Bytes buffer;
  wire::Bytes tail;  // a block of stream data, written as it is after `buffer`
  while (true) {
    if (!protocol_.has_output()) {
      if (protocol_.state() == State::closed || finished_) break;
      co_await writer_wake_.async_wait(net::use_nothrow);
      continue;
    }
    protocol_.take_output(buffer, tail);
    auto error = buffer.empty() ? std::error_code{} : co_await stream_.write_all(buffer);
    if (!error && !tail.empty()) {
      error = co_await stream_.write_all(tail);
      protocol_.recycle(std::move(tail));
      tail = {};
    }
    if (error) {
      transport_failed_ = true;
      protocol_.on_transport_closed(describe_read_error(error));
      close_socket();  // also ends a reader blocked on a dead connection
      break;
    }
  }
  writer_done_ = true;
  co_await finish_if_last();
}

asio::awaitable<void> Connection::finish_if_last() {
  if (!reader_done_ || !writer_done_ || finished_) co_return;
  auto self = shared_from_this();
  if (!transport_failed_ && graceful_close_) {
    // close_notify both ways; the watchdog cuts this short after the grace period.
    if (!co_await stream_.shutdown()) {
      // Wait for the peer's close_notify (eof), throwing away anything it still sends.
      std::array<std::uint8_t, 4096> discard;
      for (std::size_t drained = 0; drained < kMaxLingerBytes;) {
        auto [error, size] = co_await stream_.read_some(discard);
        if (error) break;
        drained += size;
      }
    }
  }
  // Lingering close: send FIN, then read and discard what the peer still sends. Closing with
  // unread data would send a reset, which can destroy our BYE before the peer reads it.
  auto& socket = stream_.socket();
  std::error_code ignored;
  socket.shutdown(net::StreamSocket::shutdown_send, ignored);
  std::array<char, 4096> discard;
  for (std::size_t drained = 0; drained < kMaxLingerBytes && socket.is_open();) {
    auto [error, size] = co_await socket.async_read_some(asio::buffer(discard), net::use_nothrow);
    if (error) break;
    drained += size;
  }
  close_socket();
  finished_ = true;
  watchdog_timer_.cancel();
}

asio::awaitable<void> Connection::watchdog() {
  auto self = shared_from_this();
  while (!finished_) {
    const auto now = clock_.now();
    Clock::TimePoint deadline;
    if (closed_reported_ || protocol_.state() == State::closed) {
      deadline = close_deadline_;
      if (now >= deadline) {
        close_socket();
        deadline = now + kCloseGrace;  // keep waiting for the coroutines to notice
      }
    } else if (!authenticated_) {
      deadline = handshake_deadline_;
      if (now >= deadline) close_socket();  // the handshake reports the timeout
    } else {
      deadline = protocol_.on_timer();  // may queue a PING or close a dead session
      if (protocol_.state() == State::awaiting_hello) {
        deadline = std::min(deadline, handshake_deadline_);
        if (now >= handshake_deadline_) {
          protocol_.close(wire::ByeReason::timeout, "no HELLO before the handshake deadline");
        }
      }
      wake_writer();
    }
    watchdog_timer_.expires_at(std::max(deadline, now + std::chrono::milliseconds(1)));
    co_await watchdog_timer_.wait();  // a cancel() means: recompute the deadline
  }
}

void Connection::on_hello(const wire::Hello& /*hello*/) {
  watchdog_timer_.cancel();  // open: from now on keepalive sets the watchdog's pace
  observer_->on_open(*this);
}

void Connection::on_chat(wire::Chat&& chat) {
  if (!batch_) batch_ = InboundBatch(serial_, peer_id_);
  batch_->add(std::move(chat));
}

void Connection::end_batch() {
  if (batch_) {
    InboundBatch batch = std::move(*batch_);
    batch_.reset();
    if (!batch.empty()) observer_->on_chats(*this, std::move(batch));
  }
  if (frames_in_batch_) {
    frames_in_batch_ = false;
    observer_->on_frames_end(*this);
  }
}

void Connection::on_service_frame(std::uint8_t type, std::span<const std::uint8_t> payload) {
  frames_in_batch_ = true;
  observer_->on_frame(*this, type, payload);
}

Result<void> Connection::send_frame(std::uint8_t type, std::span<const std::uint8_t> payload) {
  auto sent = protocol_.send_frame(type, payload);
  if (sent) wake_writer();
  return sent;
}

void Connection::on_ack(std::uint64_t seq) {
  observer_->on_ack(*this, seq);
}

void Connection::on_credit() {
  observer_->on_credit(*this);
}

void Connection::on_close(const CloseReason& reason) {
  // A peer that broke the protocol or went silent gets our BYE but no wait for its TLS close.
  graceful_close_ =
      reason.by_peer || (reason.code != Code::protocol_error && reason.code != Code::timeout);
  report_closed(reason);
  wake_writer();
}

void Connection::on_stream_open(const wire::StreamOpen& open) {
  observer_->on_stream_open(*this, open);
}

void Connection::on_stream_data(std::uint32_t stream, std::span<const std::uint8_t> data) {
  observer_->on_stream_data(*this, stream, data);
}

void Connection::on_stream_end(const wire::StreamEnd& end) {
  observer_->on_stream_end(*this, end);
}

void Connection::on_stream_stopped(const wire::StreamStop& stop) {
  observer_->on_stream_stopped(*this, stop);
}

void Connection::on_stream_writable() {
  observer_->on_stream_writable(*this);
}

}  // namespace peerchat::session
