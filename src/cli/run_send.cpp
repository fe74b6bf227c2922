// cli: `peerchat send`: connect, handshake, send one message, wait for its ACK, exit.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "cli/app.hpp"
#include "cli/exit_codes.hpp"
#include "cli/render.hpp"
#include "cli/startup.hpp"
#include "node/node.hpp"

namespace peerchat::cli {
namespace {

int exit_code_for(Code code) {
  return code == Code::invalid_text ? kExitUsage : dial_exit_code(code, kExitNotDelivered);
}

// Watches the node's events and decides when the one-shot send is over.
class SendWatcher final : public node::EventSink {
 public:
  SendWatcher(asio::io_context& io, const SendOptions& options)
      : io_(io), options_(options), json_(stdout) {}

  void bind(node::Node& node) { node_ = &node; }
  int result() const { return result_; }
  bool done() const { return done_; }

  void finish(int code, std::string message) {
    if (done_) return;
    done_ = true;
    result_ = code;
    if (!options_.common.json && !message.empty()) {
      (code == kExitOk ? std::cout : std::cerr) << "peerchat: " << message << std::endl;
    }
    // Posted: this may run inside the node's own event handling.
    asio::post(io_, [this] {
      node_->shutdown(wire::ByeReason::quit, "one-shot send finished", [this] { io_.stop(); });
    });
  }

  void emit(const node::Event& event) override {
    if (options_.common.json) json_.emit(event);
    if (done_) return;
    if (const auto* connected = std::get_if<node::event::Connected>(&event)) {
      peer_ = connected->peer.id;
      name_ = connected->peer.name;
      // Post: the node is still inside its own connect handling.
      asio::post(io_, [this] {
        if (done_) return;
        auto id = node_->send_message(peer_.compact(), options_.text);
        if (!id) return;  // the error event ends the send
        message_id_ = *id;
      });
    } else if (const auto* delivered = std::get_if<node::event::Delivered>(&event)) {
      if (message_id_ && delivered->id == *message_id_) {
        finish(kExitOk, fmt::format("delivered to {} ({})", name_, peer_.fingerprint()));
      }
    } else if (const auto* gone = std::get_if<node::event::Disconnected>(&event)) {
      finish(kExitNotDelivered, fmt::format("{} disconnected before acknowledging the message: {}",
                                            gone->name, gone->message));
    } else if (const auto* problem = std::get_if<node::event::Problem>(&event)) {
      if (!problem->warning) finish(exit_code_for(problem->code), problem->message);
    }
  }

 private:
  asio::io_context& io_;
  const SendOptions& options_;
  JsonSink json_;
  node::Node* node_ = nullptr;
  tls::PeerId peer_;
  std::string name_;
  std::optional<wire::MessageId> message_id_;
  int result_ = kExitNotDelivered;
  bool done_ = false;
};

}  // namespace

int run_send(const SendOptions& options) {
  setup_logging(options.common.verbose, true);
  std::signal(SIGPIPE, SIG_IGN);
  if (auto valid = wire::check_text(options.text); !valid) {
    std::cerr << "peerchat: message not sent: " << valid.error().message << '\n';
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
  SendWatcher watcher(io, options);
  node::Node node(io, config, *profile->identity, *profile->store, clock, random, watcher);
  watcher.bind(node);
  // Older undelivered messages to this peer go out first, in order.
  if (auto restored = node.restore(); !restored) {
    std::cerr << "peerchat: " << restored.error().message << '\n';
    return kExitDataDir;
  }

  asio::steady_timer deadline(io);
  deadline.expires_after(std::chrono::seconds(options.timeout_s));
  deadline.async_wait([&](std::error_code ec) {
    if (!ec) {
      watcher.finish(kExitNotDelivered,
                     fmt::format("no acknowledgement from {} within {} s; the message may not "
                                 "have arrived",
                                 options.to, options.timeout_s));
    }
  });
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) watcher.finish(kExitNotDelivered, "interrupted before the message was acknowledged");
  });

  node.connect(options.to);
  io.run();
  return watcher.result();
}

int run_id(const CommonOptions& options) {
  setup_logging(options.verbose, true);
  const std::string dir_name = options.name.empty() ? fallback_name() : options.name;
  const auto dir = options.data_dir.empty() ? store::default_data_dir(dir_name)
                                            : std::filesystem::path(options.data_dir);
  std::error_code ignored;
  if (std::filesystem::create_directories(dir, ignored)) {
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ignored);
  }
  auto identity = tls::Identity::load_or_create(dir);
  if (!identity) {
    std::cerr << "peerchat: " << identity.error().message << '\n';
    return kExitDataDir;
  }
  std::cout << identity->id().to_string() << std::endl;
  return kExitOk;
}

}  // namespace peerchat::cli
