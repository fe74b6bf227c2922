#include "node/events.hpp"

#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "wire/utf8.hpp"

namespace peerchat::node {
namespace {

using json = nlohmann::ordered_json;

json summary(json object, const PeerSummary& peer) {
  object["peer"] = peer.id.to_string();
  object["name"] = peer.name;
  object["fingerprint"] = peer.id.fingerprint();
  object["address"] = peer.address;
  object["direction"] = peer.direction;
  return object;
}

std::string_view direction_name(transfer::Direction direction) {
  return direction == transfer::Direction::in ? "in" : "out";
}

struct ToJson {
  json operator()(const event::Ready& e) const {
    return {{"event", "ready"},
            {"name", e.name},
            {"id", e.id.to_string()},
            {"fingerprint", e.id.fingerprint()},
            {"port", e.port}};
  }
  json operator()(const event::Connected& e) const {
    return summary({{"event", "connected"}}, e.peer);
  }
  json operator()(const event::Queued& e) const {
    return {{"event", "queued"},
            {"id", wire::to_hex(e.id)},
            {"peer", e.peer.to_string()},
            {"name", e.name}};
  }
  json operator()(const event::Sent& e) const {
    return {{"event", "sent"},
            {"id", wire::to_hex(e.id)},
            {"peer", e.peer.to_string()},
            {"name", e.name}};
  }
  json operator()(const event::History& e) const {
    json list = json::array();
    for (const auto& m : e.messages) {
      list.push_back({{"id", wire::to_hex(m.id)},
                      {"direction", m.outgoing ? "out" : "in"},
                      {"seq", m.seq},
                      {"text", m.text},
                      {"timestamp", m.timestamp_ms},
                      {"state", m.state}});
    }
    return {{"event", "history"},
            {"peer", e.peer.to_string()},
            {"name", e.name},
            {"messages", std::move(list)}};
  }
  json operator()(const event::Message& e) const {
    return {{"event", "message"},
            {"peer", e.peer.to_string()},
            {"name", e.name},
            {"id", wire::to_hex(e.id)},
            {"seq", e.seq},
            {"text", e.text},
            {"timestamp", e.timestamp_ms}};
  }
  json operator()(const event::Delivered& e) const {
    return {{"event", "delivered"},
            {"id", wire::to_hex(e.id)},
            {"peer", e.peer.to_string()},
            {"name", e.name}};
  }
  json operator()(const event::Disconnected& e) const {
    return {{"event", "disconnected"},
            {"peer", e.peer.to_string()},
            {"name", e.name},
            {"reason", name(e.reason)},
            {"message", e.message}};
  }
  json operator()(const event::Peers& e) const {
    json list = json::array();
    for (const auto& peer : e.peers) list.push_back(summary(json::object(), peer));
    return {{"event", "peers"}, {"peers", std::move(list)}};
  }
  json operator()(const event::Problem& e) const {
    json j = {
        {"event", e.warning ? "warning" : "error"}, {"code", name(e.code)}, {"message", e.message}};
    if (e.peer) j["peer"] = e.peer->to_string();
    if (!e.address.empty()) j["address"] = e.address;
    return j;
  }
  json operator()(const event::Result& e) const {
    json j = {{"event", "result"}, {"id", e.request_id}, {"cmd", e.command}, {"ok", e.ok}};
    if (!e.ok) {
      j["code"] = name(e.code);
      j["message"] = e.message;
    } else if (e.data) {
      for (const auto& [key, value] : e.data->items()) j[key] = value;
    }
    return j;
  }
  json operator()(const event::Transfer& e) const {
    using Kind = event::Transfer::Kind;
    const auto& v = e.view;
    json j = {{"event", event_name(Event{e})},
              {"transfer", transfer::to_hex(v.id)},
              {"peer", v.peer.to_string()},
              {"name", e.name},
              {"direction", direction_name(v.direction)}};
    const auto files = [&] {
      json list = json::array();
      for (const auto& file : e.files) {
        json item = {{"path", file.path}, {"size", file.size}};
        if (e.kind == Kind::done) item["sha256"] = transfer::to_hex(file.sha256);
        list.push_back(std::move(item));
      }
      return list;
    };
    switch (e.kind) {
      case Kind::offered:
        j["title"] = v.title;
        j["files"] = files();
        j["total_bytes"] = v.total_bytes;
        if (v.direction == transfer::Direction::in) {
          j["free_bytes"] = e.free_bytes;
          j["download_dir"] = e.download_dir;
        }
        break;
      case Kind::accepted:
        if (!v.destination.empty()) j["destination"] = v.destination;
        j["bytes"] = v.bytes;
        j["total_bytes"] = v.total_bytes;
        break;
      case Kind::progress:
        j["bytes"] = v.bytes;
        j["total_bytes"] = v.total_bytes;
        j["bytes_per_second"] = e.bytes_per_second;
        break;
      case Kind::paused:
      case Kind::failed:
        j["code"] = name(v.code);
        j["message"] = v.message;
        break;
      case Kind::resumed:
        break;
      case Kind::done:
        j["files"] = files();
        j["total_bytes"] = v.total_bytes;
        if (!v.destination.empty()) j["destination"] = v.destination;
        j["wire_bytes"] = v.wire_bytes;
        j["bad_pieces"] = v.bad_pieces;
        break;
      case Kind::cancelled:
        j["by"] = e.by_peer ? "peer" : "local";
        if (!v.message.empty()) j["message"] = v.message;
        break;
      case Kind::declined:
        break;
    }
    return j;
  }
  json operator()(const event::Transfers& e) const {
    json list = json::array();
    for (const auto& transfer : e.transfers) list.push_back(to_json(transfer));
    return {{"event", "transfers"}, {"transfers", std::move(list)}};
  }
};

// True if any of the 8 bytes in `word` must be escaped: below 0x20, '"' or '\\'. The usual
// SWAR tests (a zero byte in word ^ c, a byte below n), 8 bytes at a time: message text is
// almost never escaped, and a byte loop over it showed in profiles.
bool needs_escape(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const auto zero_byte = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t below_space = (word - kOnes * 0x20) & ~word & kHigh;
  return (below_space | zero_byte(word ^ (kOnes * '"')) | zero_byte(word ^ (kOnes * '\\'))) != 0;
}

// A JSON string as nlohmann's dump writes it (ensure_ascii off): quotes, backslashes and
// control characters escaped, everything else (valid UTF-8) as it is.
void append_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t clean = 0;  // start of the run not yet copied
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, sizeof word);
      if (!needs_escape(word)) {
        i += 8;
        continue;
      }
    }
    const auto byte = static_cast<unsigned char>(text[i++]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out.append(text.substr(clean, i - 1 - clean));
    clean = i;
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[byte >> 4];
        out += kHex[byte & 0xF];
    }
  }
  out.append(text.substr(clean));
  out += '"';
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  append_string(out, value);
}

// A message ID as 32 hex digits, written in place (to_hex would allocate a string for each).
void append_id(std::string& out, std::string_view key, const wire::MessageId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char hex[2 * sizeof(wire::MessageId) + 1];
  char* next = hex;
  for (const auto byte : id) {
    *next++ = kDigits[byte >> 4];
    *next++ = kDigits[byte & 0x0F];
  }
  *next = '"';
  out += ",\"";
  out += key;
  out += "\":\"";
  out.append(hex, sizeof hex);
}

void append_number(std::string& out, std::string_view key, std::uint64_t value, bool negative) {
  out += ",\"";
  out += key;
  out += "\":";
  if (negative) out += '-';
  char digits[20];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void append_signed(std::string& out, std::string_view key, std::int64_t value) {
  const bool negative = value < 0;
  const auto magnitude =
      negative ? ~static_cast<std::uint64_t>(value) + 1 : static_cast<std::uint64_t>(value);
  append_number(out, key, magnitude, negative);
}

// A peer's ID as text, remembered for the last peer seen: a burst's events all name the same
// peer, and encoding 32 bytes as base32 for each of them shows up in profiles.
const std::string& peer_text(const tls::PeerId& peer) {
  thread_local std::optional<tls::PeerId> last;
  thread_local std::string text;
  if (!last || !(*last == peer)) {
    last = peer;
    text = peer.to_string();
  }
  return text;
}

// The per-message events, written directly; nullopt for any other event, or for text that
// is not valid UTF-8 (the general path replaces bad bytes; it cannot come from a peer).
std::optional<std::string> fast_line(const Event& event) {
  std::string out;
  out.reserve(256);
  auto start = [&](std::string_view name) {
    out += "{\"event\":\"";
    out += name;
    out += '"';
  };
  if (const auto* e = std::get_if<event::Message>(&event)) {
    if (!wire::is_valid_utf8(e->text) || !wire::is_valid_utf8(e->name)) return std::nullopt;
    start("message");
    append_field(out, "peer", peer_text(e->peer));
    append_field(out, "name", e->name);
    append_id(out, "id", e->id);
    append_number(out, "seq", e->seq, false);
    append_field(out, "text", e->text);
    append_signed(out, "timestamp", e->timestamp_ms);
    return out;
  }
  auto id_peer_name = [&](std::string_view name, const wire::MessageId& id, const tls::PeerId& peer,
                          const std::string& peer_name) -> std::optional<std::string> {
    if (!wire::is_valid_utf8(peer_name)) return std::nullopt;
    start(name);
    append_id(out, "id", id);
    append_field(out, "peer", peer_text(peer));
    append_field(out, "name", peer_name);
    return std::move(out);  // `out` is captured: a plain return would copy it
  };
  if (const auto* e = std::get_if<event::Queued>(&event)) {
    return id_peer_name("queued", e->id, e->peer, e->name);
  }
  if (const auto* e = std::get_if<event::Sent>(&event)) {
    return id_peer_name("sent", e->id, e->peer, e->name);
  }
  if (const auto* e = std::get_if<event::Delivered>(&event)) {
    return id_peer_name("delivered", e->id, e->peer, e->name);
  }
  return std::nullopt;
}

}  // namespace

std::string to_json_line(const Event& event, std::uint64_t seq) {
  if (auto line = fast_line(event)) {
    if (seq != 0) append_number(*line, "event_seq", seq, false);
    *line += '}';
    return std::move(*line);
  }
  auto object = to_json(event);
  if (seq != 0) object["event_seq"] = seq;
  // Invalid UTF-8 cannot come from a peer (the wire layer rejects it), but replace, not throw.
  return object.dump(-1, ' ', false, json::error_handler_t::replace);
}

json to_json(const Event& event) {
  return std::visit(ToJson{}, event);
}

json to_json(const TransferSummary& transfer) {
  const auto& v = transfer.view;
  json j = {{"id", transfer::to_hex(v.id)},
            {"peer", v.peer.to_string()},
            {"name", transfer.name},
            {"direction", direction_name(v.direction)},
            {"state", transfer::state_name(v.state)},
            {"bytes", v.bytes},
            {"total_bytes", v.total_bytes},
            {"files", v.files},
            {"title", v.title},
            {"destination", v.destination},
            {"message", v.message}};
  if (v.state == transfer::State::failed || v.state == transfer::State::paused) {
    j["code"] = name(v.code);
  }
  return j;
}

std::string_view event_name(const Event& event) {
  struct Name {
    std::string_view operator()(const event::Ready&) const { return "ready"; }
    std::string_view operator()(const event::Connected&) const { return "connected"; }
    std::string_view operator()(const event::Queued&) const { return "queued"; }
    std::string_view operator()(const event::Sent&) const { return "sent"; }
    std::string_view operator()(const event::Message&) const { return "message"; }
    std::string_view operator()(const event::Delivered&) const { return "delivered"; }
    std::string_view operator()(const event::Disconnected&) const { return "disconnected"; }
    std::string_view operator()(const event::Peers&) const { return "peers"; }
    std::string_view operator()(const event::History&) const { return "history"; }
    std::string_view operator()(const event::Problem& e) const {
      return e.warning ? "warning" : "error";
    }
    std::string_view operator()(const event::Result&) const { return "result"; }
    std::string_view operator()(const event::Transfers&) const { return "transfers"; }
    std::string_view operator()(const event::Transfer& e) const {
      switch (e.kind) {
        case event::Transfer::Kind::offered:
          return "transfer_offered";
        case event::Transfer::Kind::accepted:
          return "transfer_accepted";
        case event::Transfer::Kind::progress:
          return "transfer_progress";
        case event::Transfer::Kind::paused:
          return "transfer_paused";
        case event::Transfer::Kind::resumed:
          return "transfer_resumed";
        case event::Transfer::Kind::done:
          return "transfer_done";
        case event::Transfer::Kind::failed:
          return "transfer_failed";
        case event::Transfer::Kind::cancelled:
          return "transfer_cancelled";
        case event::Transfer::Kind::declined:
          return "transfer_declined";
      }
      return "transfer_failed";
    }
  };
  return std::visit(Name{}, event);
}

}  // namespace peerchat::node
