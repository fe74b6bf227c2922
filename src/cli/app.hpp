// cli: what the peerchat executable does: run a peer, send one message, send files, print an
// ID.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace peerchat::cli {

struct CommonOptions {
  std::string name;      // empty: the stored name, else $USER
  std::string data_dir;  // empty: the default for the name
  bool json = false;
  bool verbose = false;
  int handshake_timeout_s = 10;
  int keepalive_s = 30;
  std::uint32_t receive_window = 2048;
};

struct PeerOptions {
  CommonOptions common;
  std::uint16_t port = 7001;
  std::vector<std::string> connect;
  std::size_t send_queue = 10'000;             // per peer, messages not yet acknowledged
  std::string download_dir;                    // empty: default_download_dir()
  std::vector<std::string> accept_files_from;  // full peer IDs
};

struct SendOptions {
  CommonOptions common;
  std::string to;
  std::string text;
  int timeout_s = 30;
};

struct SendFileOptions {
  CommonOptions common;
  std::string to;
  std::vector<std::string> paths;
  unsigned answer_timeout = 0;  // seconds the receiver has to accept or decline; 0: no limit
};

int run_peer(const PeerOptions& options);
int run_send_file(const SendFileOptions& options);
int run_send(const SendOptions& options);
int run_id(const CommonOptions& options);

}  // namespace peerchat::cli
