#include "transfer_run.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace peerchat::bench {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string failure_of(const json& event) {
  return fmt::format("{} ({})", event.value("message", std::string("no message")),
                     event.value("code", std::string("no code")));
}

}  // namespace

std::uint64_t rss_kib(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

TransferPair::TransferPair(std::string binary, std::filesystem::path dir)
    : binary_(std::move(binary)), dir_(std::move(dir)) {}

std::unique_ptr<CliPeer> TransferPair::start_sender(int port) {
  return std::make_unique<CliPeer>(
      binary_, dir_ / "sender", "sender",
      std::vector<std::string>{"--port", std::to_string(port), "--download-dir",
                               (dir_ / "sender-downloads").string()});
}

std::string TransferPair::start() {
  sender_ = start_sender(0);
  if (!sender_->started() || !sender_->wait_line(
                                 [&](const std::string& line) {
                                   if (!is_event(line, "ready")) return false;
                                   sender_port_ = json::parse(line).value("port", 0);
                                   return true;
                                 },
                                 std::chrono::seconds(15))) {
    return "the sender did not start";
  }
  receiver_ = std::make_unique<CliPeer>(
      binary_, dir_ / "receiver", "receiver",
      std::vector<std::string>{"--download-dir", (dir_ / "receiver-downloads").string()});
  if (!receiver_->started() ||
      !receiver_->wait_line([](const std::string& line) { return is_event(line, "ready"); },
                            std::chrono::seconds(15))) {
    return "the receiver did not start";
  }
  const std::string id = fmt::format("c{}", ++commands_);
  receiver_->write_line(
      json{{"id", id}, {"cmd", "connect"}, {"target", fmt::format("127.0.0.1:{}", sender_port_)}}
          .dump());
  bool connected = false;
  bool sender_knows = false;
  std::string failure;
  // `sendfile` names the receiver, so the sender must have its session too.
  pump(
      [&](const Event& event) {
        if (!event.from_sender && event.kind == "result" && event.body.value("id", "") == id) {
          connected = event.body.value("ok", false);
          if (!connected) failure = "connect failed: " + failure_of(event.body);
        }
        if (event.from_sender && event.kind == "connected") sender_knows = true;
        return !failure.empty() || (connected && sender_knows);
      },
      Clock::now() + std::chrono::seconds(15));
  if (!failure.empty()) return failure;
  if (!connected || !sender_knows) return "the pair did not connect: " + stopped_ + " (15 s)";
  return {};
}

bool TransferPair::pump(const std::function<bool(const Event&)>& handle, Clock::time_point deadline,
                        const std::function<bool()>& tick) {
  while (Clock::now() < deadline) {
    while (!backlog_.empty()) {
      const Event event = std::move(backlog_.front());
      backlog_.pop_front();
      if (handle(event)) return true;
    }
    if (tick && tick()) return true;
    std::vector<pollfd> fds;
    std::vector<CliPeer*> polled;
    for (CliPeer* peer : {sender_.get(), receiver_.get()}) {
      if (peer == nullptr || peer->out() < 0) continue;
      fds.push_back({peer->out(), POLLIN, 0});
      polled.push_back(peer);
    }
    if (::poll(fds.data(), fds.size(), tick ? 2 : 50) < 0) {
      stopped_ = fmt::format("poll failed: {}", std::strerror(errno));
      return false;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const auto at = Clock::now();
      const bool from_sender = polled[i] == sender_.get();
      const bool open = polled[i]->read_lines([&](const std::string& line) {
        Event event{from_sender, "", json::parse(line, nullptr, false), at};
        if (!event.body.is_object()) return;
        event.kind = event.body.value("event", "");
        backlog_.push_back(std::move(event));
      });
      if (!open) {
        stopped_ =
            fmt::format("the {}'s stdout ended: it exited", from_sender ? "sender" : "receiver");
        return false;
      }
    }
  }
  stopped_ = "timed out";
  return false;
}

TransferOutcome TransferPair::run(const TransferPlan& plan) {
  TransferOutcome out;
  std::filesystem::create_directories(plan.destination);
  const auto deadline = Clock::now() + plan.limit;
  out.idle_rss_kib = rss_kib(receiver_->pid());

  // Offer: from the sendfile command to the receiver hearing of it.
  json paths = json::array();
  for (const auto& path : plan.paths) paths.push_back(path.string());
  const std::string offer_id = fmt::format("f{}", ++commands_);
  const auto offered_at = Clock::now();
  sender_->write_line(
      json{{"id", offer_id}, {"cmd", "sendfile"}, {"peer", "receiver"}, {"paths", paths}}.dump());
  std::string transfer;
  std::map<std::string, Clock::time_point> offers;  // transfer -> when the receiver heard it
  const bool offered = pump(
      [&](const Event& event) {
        if (event.from_sender && event.kind == "result" && event.body.value("id", "") == offer_id) {
          if (!event.body.value("ok", false)) {
            out.failure = "sendfile failed: " + failure_of(event.body);
            return true;
          }
          transfer = event.body.value("transfer", "");
        }
        if (!event.from_sender && event.kind == "transfer_offered") {
          offers[event.body.value("transfer", "")] = event.at;
          out.total_bytes = event.body.value("total_bytes", std::uint64_t{0});
        }
        return !transfer.empty() && offers.count(transfer) != 0;
      },
      deadline);
  if (!out.failure.empty()) return out;
  if (!offered) {
    out.failure = "no offer: " + stopped_;
    return out;
  }
  out.prepare_s = seconds_between(offered_at, offers[transfer]);

  // Accept to done, with whatever the plan adds meanwhile.
  const std::string accept_id = fmt::format("a{}", ++commands_);
  const auto accepted_at = Clock::now();
  receiver_->write_line(json{{"id", accept_id},
                             {"cmd", "accept"},
                             {"transfer", transfer},
                             {"dir", plan.destination.string()}}
                            .dump());
  auto next_sample = accepted_at;
  auto next_chat = accepted_at;
  std::map<std::string, std::size_t> chat_of_command;  // command ID -> chat index
  std::map<std::string, std::size_t> chat_of_message;  // message ID -> chat index
  std::vector<Clock::time_point> chat_sent;
  std::vector<std::optional<Clock::time_point>> chat_delivered(plan.chats);
  std::optional<Clock::time_point> done_at;
  const auto tick = [&] {
    const auto now = Clock::now();
    if (done_at) return now - *done_at > std::chrono::seconds(10);  // chats still undelivered
    if (now >= next_sample) {
      out.max_rss_kib = std::max(out.max_rss_kib, rss_kib(receiver_->pid()));
      next_sample = now + std::chrono::milliseconds(50);
    }
    if (chat_sent.size() < plan.chats && now >= next_chat) {
      const std::string id = fmt::format("m{}", ++commands_);
      chat_of_command[id] = chat_sent.size();
      chat_sent.push_back(Clock::now());
      sender_->write_line(json{{"id", id},
                               {"cmd", "send"},
                               {"peer", "receiver"},
                               {"text", fmt::format("chat {} during a transfer", chat_sent.size())}}
                              .dump());
      next_chat += plan.chat_spacing;
    }
    return false;
  };
  const auto handle = [&](const Event& event) {
    const auto& body = event.body;
    if (event.from_sender && event.kind == "result") {
      if (auto it = chat_of_command.find(body.value("id", "")); it != chat_of_command.end()) {
        if (body.value("ok", false)) chat_of_message[body.value("message_id", "")] = it->second;
      }
    }
    if (event.from_sender && event.kind == "delivered") {
      if (auto it = chat_of_message.find(body.value("id", "")); it != chat_of_message.end()) {
        chat_delivered[it->second] = event.at;
      }
    }
    if (!event.from_sender && event.kind == "result" && body.value("id", "") == accept_id &&
        !body.value("ok", false)) {
      out.failure = "accept failed: " + failure_of(body);
      return true;
    }
    if (event.from_sender || body.value("transfer", "") != transfer) return false;
    if (event.kind == "transfer_failed" || event.kind == "transfer_cancelled") {
      out.failure = event.kind + ": " + failure_of(body);
      return true;
    }
    if (event.kind == "transfer_progress" && plan.kill_sender_at_half && out.killed_at_bytes == 0 &&
        2 * body.value("bytes", std::uint64_t{0}) >= out.total_bytes) {
      out.killed_at_bytes = body.value("bytes", std::uint64_t{0});
      sender_->kill_now();
      sender_ = start_sender(sender_port_);  // same data dir and port: the receiver redials
    }
    if (event.kind == "transfer_done") {
      done_at = event.at;
      out.wire_bytes = body.value("wire_bytes", std::uint64_t{0});
      out.bad_pieces = body.value("bad_pieces", std::uint64_t{0});
      for (const auto& file : body.value("files", json::array())) {
        out.sha256.push_back(file.value("sha256", ""));
        out.saved.emplace_back(file.value("path", ""));
      }
    }
    // Done, and every chat sent before that delivered (tick gives up 10 s after done).
    if (!done_at) return false;
    for (std::size_t i = 0; i < chat_sent.size(); ++i) {
      if (!chat_delivered[i]) return false;
    }
    return true;
  };
  pump(handle, deadline, tick);
  if (!out.failure.empty()) return out;
  if (!done_at) {
    out.failure = fmt::format("no transfer_done ({}, limit {} s)", stopped_, plan.limit.count());
    return out;
  }
  if (plan.kill_sender_at_half && out.killed_at_bytes == 0) {
    out.failure = "done before the receiver reported half of it: nothing to resume";
    return out;
  }
  out.move_s = seconds_between(accepted_at, *done_at);
  out.chats_sent = chat_sent.size();
  for (std::size_t i = 0; i < chat_sent.size(); ++i) {
    if (chat_delivered[i]) {
      out.chat_ms.push_back(1e3 * seconds_between(chat_sent[i], *chat_delivered[i]));
    }
  }
  if (out.chat_ms.size() < out.chats_sent) {
    out.failure = fmt::format("only {} of {} chats sent during the transfer were delivered",
                              out.chat_ms.size(), out.chats_sent);
  }
  return out;
}

}  // namespace peerchat::bench
