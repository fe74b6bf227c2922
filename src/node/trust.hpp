// node: who a connection may be. Identity is proved by TLS (the peer ID is the key's hash);
// trust decides whether that identity is the one expected: at an address the user dialed
// before (trust on first use: the first identity met there is pinned), or the one named in
// ID@HOST:PORT. Pins live in the store and, for lookups without a store round trip, here.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "node/events.hpp"
#include "store/store.hpp"

namespace peerchat::node {

// Why the node dialed a connection, kept until its session opens or ends.
struct DialIntent {
  std::optional<tls::PeerId> expected;  // who we meant to reach (named, pinned, or known peer)
  std::string address;                  // the address as the user (or the redial) gave it
  bool explicit_id = false;             // the user named the ID (ID@HOST:PORT)
  bool automatic = false;               // a reconnect, not a user's /connect
  bool report = true;                   // failures go out as error events (the REPL's way)
};

class Trust {
 public:
  explicit Trust(const tls::PeerId& self) : self_(self) {}

  void load(const std::vector<store::AddressPin>& pins);
  // The identity pinned at `address`, if any.
  std::optional<tls::PeerId> pinned(const std::string& address) const;

  struct Verdict {
    bool refuse = false;
    wire::ByeReason reason = wire::ByeReason::identity_mismatch;
    std::string bye_message;
    std::optional<event::Problem> problem;  // to report, refused or not
  };
  // TLS has proved `presented` on a connection we dialed with `intent` (nullptr: inbound).
  // `warned`: a reconnect to this expected peer already warned once about a mismatch (the
  // warning is not repeated every backoff round); updated by the call.
  Verdict check(const tls::PeerId& presented, const std::string& remote_address,
                const DialIntent* intent, bool* warned, const std::string& expected_name) const;

  // A session opened on a connection we dialed: pin its identity at that address if nothing
  // is pinned there, or re-pin when the user vouched for it with ID@HOST:PORT. The pin to
  // write, if it changed (the caller stores it).
  struct PinChange {
    std::string address;
    tls::PeerId id;
    bool replace = false;  // an older pin at that address goes
  };
  std::optional<PinChange> opened(const DialIntent& intent, const tls::PeerId& presented);

 private:
  tls::PeerId self_;
  std::unordered_map<std::string, tls::PeerId> pins_;
};

}  // namespace peerchat::node
