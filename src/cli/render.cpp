#include "cli/render.hpp"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "cli/transfer_render.hpp"

namespace peerchat::cli {
namespace {

std::string clock_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:02}:{:02}", local.tm_hour, local.tm_min);
}

std::string who(const std::string& name, const tls::PeerId& id) {
  return fmt::format("{} ({})", sanitize_for_terminal(name), id.fingerprint());
}

struct Human {
  std::string operator()(const node::event::Ready& e) const {
    return fmt::format("* {} is ready on port {}; peer ID {}\n* /help lists the commands",
                       sanitize_for_terminal(e.name), e.port, e.id.to_string());
  }
  std::string operator()(const node::event::Connected& e) const {
    return fmt::format("* connected: {} at {} ({})", who(e.peer.name, e.peer.id), e.peer.address,
                       e.peer.direction == "in" ? "they dialed" : "we dialed");
  }
  std::string operator()(const node::event::Queued& e) const {
    return fmt::format("  -> {}: {}  [pending {}]", sanitize_for_terminal(e.name),
                       sanitize_for_terminal(e.text), wire::to_hex(e.id).substr(0, 8));
  }
  std::string operator()(const node::event::Sent& e) const {
    return fmt::format("  ~ sent to {} (message {})", sanitize_for_terminal(e.name),
                       wire::to_hex(e.id).substr(0, 8));
  }
  std::string operator()(const node::event::History& e) const {
    if (e.messages.empty()) return fmt::format("* no messages with {} yet", who(e.name, e.peer));
    std::string text =
        fmt::format("* last {} messages with {}:", e.messages.size(), who(e.name, e.peer));
    for (const auto& m : e.messages) {
      const char* mark = m.state == "delivered" ? "✓" : m.state == "queued" ? "…" : " ";
      text += fmt::format("\n  [{}] {} {}: {}", clock_time(m.timestamp_ms), mark,
                          m.outgoing ? "you" : sanitize_for_terminal(e.name),
                          sanitize_for_terminal(m.text));
    }
    return text;
  }
  std::string operator()(const node::event::Message& e) const {
    return fmt::format("[{}] {}: {}", clock_time(e.timestamp_ms), sanitize_for_terminal(e.name),
                       sanitize_for_terminal(e.text));
  }
  std::string operator()(const node::event::Delivered& e) const {
    return fmt::format("  ✓ delivered to {} (message {})", sanitize_for_terminal(e.name),
                       wire::to_hex(e.id).substr(0, 8));
  }
  std::string operator()(const node::event::Disconnected& e) const {
    return fmt::format("* disconnected: {}: {} ({})", who(e.name, e.peer),
                       sanitize_for_terminal(e.message), name(e.reason));
  }
  std::string operator()(const node::event::Peers& e) const {
    if (e.peers.empty()) return "* nobody is connected; /connect HOST:PORT to reach a peer";
    std::string text = fmt::format("* {} connected:", e.peers.size());
    for (const auto& peer : e.peers) {
      text += fmt::format("\n  {:<16} {}  {}  {}", sanitize_for_terminal(peer.name),
                          peer.id.fingerprint(), peer.address, peer.id.to_string());
    }
    return text;
  }
  std::string operator()(const node::event::Result& e) const {
    if (!e.ok) {
      return fmt::format("! {} (request {}): {} [{}]", sanitize_for_terminal(e.command),
                         sanitize_for_terminal(e.request_id), sanitize_for_terminal(e.message),
                         name(e.code));
    }
    return fmt::format("* {} (request {}): ok", sanitize_for_terminal(e.command),
                       sanitize_for_terminal(e.request_id));
  }
  std::string operator()(const node::event::Transfer& e) const { return render_transfer(e); }
  std::string operator()(const node::event::Transfers& e) const { return render_transfers(e); }
  std::string operator()(const node::event::Problem& e) const {
    return fmt::format("! {}: {}", e.warning ? "warning" : "error",
                       sanitize_for_terminal(e.message));
  }
};

}  // namespace

std::string sanitize_for_terminal(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    // C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8; some terminals obey them.
    if (byte == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      clean += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else if (byte < 0x20 || byte == 0x7F) {
      clean += byte == '\t' ? std::string(" ") : fmt::format("^{}", static_cast<char>(byte ^ 0x40));
    } else {
      clean.push_back(static_cast<char>(byte));
    }
  }
  return clean;
}

std::string render_human(const node::Event& event) {
  return std::visit(Human{}, event);
}

void HumanSink::emit(const node::Event& event) {
  if (const auto* transfer = std::get_if<node::event::Transfer>(&event)) {
    using Kind = node::event::Transfer::Kind;
    const std::string key = transfer::to_hex(transfer->view.id);
    switch (transfer->kind) {
      case Kind::progress:
        // Progress is only for a live line redrawn in place; never a line per update.
        if (live_) live_(key, progress_line(*transfer));
        return;
      case Kind::paused:
        if (live_) live_(key, progress_line(*transfer));
        break;
      case Kind::done:
      case Kind::failed:
      case Kind::cancelled:
      case Kind::declined:
        if (live_) live_(key, {});
        break;
      default:
        break;
    }
  }
  print_(render_human(event));
}

JsonSink::JsonSink(std::FILE* out)
    : owned_(std::make_unique<DirectOutput>(out)), out_(owned_.get()) {}

void JsonSink::on_event(std::uint64_t seq, const node::Event& event) {
  out_->write_line(node::to_json_line(event, seq), node::event_name(event), seq);
}

}  // namespace peerchat::cli
