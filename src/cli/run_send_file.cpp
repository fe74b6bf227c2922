// cli: `peerchat send-file`: connect, offer files and folders, wait until the receiver has
// verified every one (its transfer_done), exit. Declined, cancelled and failed transfers each
// have their own exit code (exit_codes.hpp); SIGINT and SIGTERM cancel the transfer.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <asio/steady_timer.hpp>
#include <csignal>
#include <iostream>

#include "cli/app.hpp"
#include "cli/exit_codes.hpp"
#include "cli/render.hpp"
#include "cli/startup.hpp"
#include "cli/transfer_render.hpp"
#include "node/node.hpp"

namespace peerchat::cli {
namespace {

// A usage failure here is a path that cannot be offered (missing, unreadable).
int exit_code_for(Code code) {
  return code == Code::usage ? kExitUsage : dial_exit_code(code, kExitTransferFailed);
}

// Watches the node's events and decides when the one-shot transfer is over.
class SendFileWatcher final : public node::EventSink {
 public:
  SendFileWatcher(asio::io_context& io, const SendFileOptions& options)
      : io_(io),
        answer_timer_(io),
        options_(options),
        json_(stdout),
        show_progress_(!options.common.json && ::isatty(2) == 1) {}

  void bind(node::Node& node) { node_ = &node; }
  int result() const { return result_; }

  void finish(int code, std::string message) {
    if (done_) return;
    done_ = true;
    result_ = code;
    answer_timer_.cancel();
    clear_progress();
    if (!options_.common.json && !message.empty()) {
      (code == kExitOk ? std::cout : std::cerr) << "peerchat: " << message << std::endl;
    }
    // Posted: this may run inside the node's own event handling. Twice: a CANCEL frame just
    // queued reaches the session's writer before BYE, which would jump ahead of it.
    asio::post(io_, [this] {
      asio::post(io_, [this] {
        node_->shutdown(wire::ByeReason::quit, "one-shot send-file finished",
                        [this] { io_.stop(); });
      });
    });
  }

  // SIGINT, SIGTERM: the receiver hears the cancel, its .part files go.
  void interrupt() {
    if (done_) return;
    if (!transfer_) return finish(kExitCancelled, "interrupted before the files were offered");
    auto cancelled = node_->cancel_transfer(transfer::to_hex(*transfer_));
    finish(kExitCancelled, cancelled
                               ? std::string("interrupted: the transfer was cancelled")
                               : fmt::format("interrupted; the peer may not have heard of it: {}",
                                             cancelled.failure().message));
  }

  void emit(const node::Event& event) override {
    if (options_.common.json) json_.emit(event);
    if (done_) return;
    if (const auto* connected = std::get_if<node::event::Connected>(&event)) {
      if (peer_) return;
      peer_ = connected->peer.id;
      name_ = sanitize_for_terminal(connected->peer.name);
      // Post: the node is still inside its own connect handling.
      asio::post(io_, [this] { offer(); });
    } else if (const auto* transfer = std::get_if<node::event::Transfer>(&event)) {
      if (transfer_ && transfer->view.id == *transfer_) on_transfer(*transfer);
    } else if (const auto* gone = std::get_if<node::event::Disconnected>(&event)) {
      if (peer_ && gone->peer == *peer_) {
        finish(kExitTransferFailed,
               fmt::format("{} disconnected before verifying the files: {} ({}); run send-file "
                           "again",
                           name_, sanitize_for_terminal(gone->message), name(gone->reason)));
      }
    } else if (const auto* problem = std::get_if<node::event::Problem>(&event)) {
      if (!problem->warning) finish(exit_code_for(problem->code), problem->message);
    }
  }

 private:
  void offer() {
    if (done_) return;
    std::vector<std::filesystem::path> paths(options_.paths.begin(), options_.paths.end());
    node_->offer_files(
        peer_->compact(), std::move(paths), [this](Outcome<transfer::TransferId> offered) {
          if (done_) return;
          if (!offered) {
            return finish(exit_code_for(offered.failure().code),
                          fmt::format("files not offered: {}", offered.failure().message));
          }
          transfer_ = *offered;
          note(fmt::format("offered to {} ({}) as {}; waiting for an answer", name_,
                           peer_->fingerprint(), short_transfer_id(*offered)));
          if (options_.answer_timeout != 0) wait_for_answer();
        });
  }

  // --timeout: an offer nobody answers is withdrawn (the receiver sees it cancelled).
  void wait_for_answer() {
    answer_timer_.expires_after(std::chrono::seconds(options_.answer_timeout));
    answer_timer_.async_wait([this](std::error_code ec) {
      if (ec || done_ || answered_ || !transfer_) return;
      // Finished first: the cancel's own event must not make it an exit 9. The shutdown that
      // finish() posts still comes after the CANCEL frame queued here.
      finish(kExitNoAnswer, fmt::format("{} did not answer within {} s; the offer was withdrawn",
                                        name_, options_.answer_timeout));
      (void)node_->cancel_transfer(transfer::to_hex(*transfer_));
    });
  }

  void on_transfer(const node::event::Transfer& e) {
    using Kind = node::event::Transfer::Kind;
    const std::string code = fmt::format("[{}]", name(e.view.code));
    switch (e.kind) {
      case Kind::accepted:
        answered_ = true;
        answer_timer_.cancel();
        note(fmt::format("{} accepted; sending", name_));
        break;
      case Kind::progress:
        if (show_progress_) {
          std::cerr << "\r\x1b[K" << progress_line(e) << std::flush;
          progress_shown_ = true;
        }
        break;
      case Kind::paused:
        note(fmt::format("paused: {} {}", sanitize_for_terminal(e.view.message), code));
        break;
      case Kind::resumed:
        note("resumed");
        break;
      case Kind::done:
        if (e.view.direction == transfer::Direction::out) {
          const std::size_t files = e.files.empty() ? e.view.files : e.files.size();
          finish(kExitOk, fmt::format("{} verified {} file{} ({})", name_, files,
                                      files == 1 ? "" : "s", human_bytes(e.view.total_bytes)));
        }
        break;
      case Kind::declined:
        finish(kExitDeclined, fmt::format("{} declined the files", name_));
        break;
      case Kind::cancelled:
        finish(kExitCancelled, e.by_peer ? fmt::format("{} cancelled the transfer", name_)
                                         : std::string("the transfer was cancelled"));
        break;
      case Kind::failed:
        finish(kExitTransferFailed, fmt::format("the transfer failed: {} {}",
                                                sanitize_for_terminal(e.view.message), code));
        break;
      case Kind::offered:
        break;
    }
  }

  // A line for people on stderr, unless --json (the events say it all).
  void note(const std::string& text) {
    if (options_.common.json) return;
    clear_progress();
    std::cerr << "peerchat: " << text << std::endl;
  }
  void clear_progress() {
    if (!progress_shown_) return;
    std::cerr << "\r\x1b[K" << std::flush;
    progress_shown_ = false;
  }

  asio::io_context& io_;
  asio::steady_timer answer_timer_;
  bool answered_ = false;
  const SendFileOptions& options_;
  JsonSink json_;
  const bool show_progress_;
  bool progress_shown_ = false;
  node::Node* node_ = nullptr;
  std::optional<tls::PeerId> peer_;
  std::string name_;
  std::optional<transfer::TransferId> transfer_;
  int result_ = kExitTransferFailed;
  bool done_ = false;
};

}  // namespace

int run_send_file(const SendFileOptions& options) {
  setup_logging(options.common.verbose, true);
  std::signal(SIGPIPE, SIG_IGN);
  if (options.paths.empty()) {
    std::cerr << "peerchat: send-file needs at least one file or folder\n";
    return kExitUsage;
  }
  int exit_code = kExitOk;
  auto profile = open_profile(options.common, &exit_code);
  if (!profile) {
    std::cerr << "peerchat: " << profile.error().message << '\n';
    return exit_code;
  }

  asio::io_context io(1);
  SystemClock clock;
  SystemRandom random;
  const node::NodeConfig config = one_shot_config(*profile, options.common);
  SendFileWatcher watcher(io, options);
  node::Node node(io, config, *profile->identity, *profile->store, clock, random, watcher);
  watcher.bind(node);
  if (auto restored = node.restore(); !restored) {
    std::cerr << "peerchat: " << restored.error().message << '\n';
    return kExitDataDir;
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) watcher.interrupt();
  });

  node.connect(options.to);
  io.run();
  return watcher.result();
}

}  // namespace peerchat::cli
