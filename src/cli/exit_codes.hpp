// cli: the process exit codes, a public contract (documented in --help and the README).
#pragma once

namespace peerchat::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitRuntime = 1,          // unexpected failure at run time
  kExitUsage = 2,            // bad command line
  kExitDataDir = 3,          // data dir in use by another process, or unusable (identity, store)
  kExitListen = 4,           // cannot listen (port in use, permission)
  kExitConnect = 5,          // send, send-file: cannot reach the peer (refused, timeout, ...)
  kExitAuthentication = 6,   // send, send-file: TLS failed or the peer is not who was expected
  kExitNotDelivered = 7,     // send: connected, but the message was not acknowledged
  kExitDeclined = 8,         // send-file: the peer declined the files
  kExitCancelled = 9,        // send-file: cancelled, by the peer or by SIGINT/SIGTERM here
  kExitTransferFailed = 10,  // send-file: the transfer failed (the message gives the code)
  kExitNoAnswer = 11,        // send-file: no answer to the offer within --timeout; withdrawn
};

inline constexpr const char* kExitCodeHelp =
    "Exit codes:\n"
    "  0  success (send: the peer acknowledged the message; send-file: the peer verified\n"
    "     every file)\n"
    "  1  unexpected run-time failure\n"
    "  2  bad command line\n"
    "  3  data dir in use by another peerchat process, or unusable\n"
    "  4  cannot listen on the port (in use, or no permission)\n"
    "  5  send, send-file: cannot reach the peer (connection refused, timeout, unknown host)\n"
    "  6  send, send-file: TLS handshake failed, or the peer's identity is not the expected one\n"
    "  7  send: connected, but the message was not acknowledged\n"
    "  8  send-file: the peer declined the files\n"
    "  9  send-file: the transfer was cancelled (by the peer, or by SIGINT/SIGTERM here)\n"
    "  10 send-file: the transfer failed, or the peer went away before it was done\n"
    "  11 send-file: the peer did not accept or decline within --timeout; the offer was\n"
    "     withdrawn\n";

}  // namespace peerchat::cli
