// The peerchat executable: command-line parsing only; everything else lives in the core library.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/app.hpp"
#include "cli/exit_codes.hpp"
#include "cli/help.hpp"
#include "tls/peer_id.hpp"

namespace {

void add_common(CLI::App& app, peerchat::cli::CommonOptions& common, bool with_timeouts) {
  // Single-valued options may repeat; the last one wins, so wrappers can override defaults.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--name", common.name, "display name (default: the remembered one, else $USER)");
  app.add_option("--data-dir", common.data_dir,
                 "identity, pins, messages and settings (default: $XDG_DATA_HOME/peerchat/NAME)");
  app.add_flag("--json", common.json, "JSON lines on stdout: one object per event");
  app.add_flag("-v,--verbose", common.verbose, "debug logs on stderr");
  app.add_option("--handshake-timeout", common.handshake_timeout_s,
                 "seconds allowed for TCP + TLS + HELLO")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  if (with_timeouts) {
    app.add_option("--keepalive", common.keepalive_s,
                   "seconds between keepalive pings; a peer silent for 3x this is dropped")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--receive-window", common.receive_window,
                   "messages a peer may send us before waiting for credit")
        ->check(CLI::Range(1, 65536))
        ->capture_default_str();
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace peerchat::cli;
  CLI::App app{"peerchat: serverless, end-to-end encrypted peer-to-peer chat", "peerchat"};
  app.set_version_flag("--version", std::string("peerchat ") + PEERCHAT_VERSION);
  app.footer(std::string("\n") + std::string(command_help()) + "\n" + kExitCodeHelp +
             "\nExamples:\n"
             "  peerchat --name alice --port 7001\n"
             "  peerchat --name bob --port 7002 --connect 127.0.0.1:7001\n"
             "  peerchat send --name bot --to 127.0.0.1:7001 \"build finished\"\n"
             "  peerchat send-file --name bot --to 127.0.0.1:7001 build/report.pdf logs/\n");

  PeerOptions peer;
  add_common(app, peer.common, true);
  app.add_option("--port", peer.port, "TCP port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("--connect", peer.connect,
                 "HOST:PORT or ID@HOST:PORT to dial at start (repeatable)")
      ->type_name("HOST:PORT")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--send-queue", peer.send_queue,
                 "messages per peer queued and not yet acknowledged; past that the REPL says "
                 "queue_full, and a script's stdin (--json, pipes) is read no further until "
                 "some are delivered")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();

  app.add_option("--download-dir", peer.download_dir,
                 "where accepted files go unless /accept names a folder (default: "
                 "$XDG_DOWNLOAD_DIR/peerchat, else ~/Downloads/peerchat)")
      ->type_name("DIR");
  app.add_option("--accept-files-from", peer.accept_files_from,
                 "accept files offered by this peer ID into the download dir without asking "
                 "(repeatable; nobody by default)")
      ->type_name("PEER_ID")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check([](const std::string& text) {
        auto id = peerchat::tls::PeerId::parse(text);
        return id ? std::string() : id.error().message;
      });

  SendOptions send;
  std::vector<std::string> words;
  auto* send_command = app.add_subcommand("send", "send one message and wait for its ACK");
  add_common(*send_command, send.common, false);
  send_command->add_option("--to", send.to, "HOST:PORT or ID@HOST:PORT of the peer")->required();
  send_command->add_option("--timeout", send.timeout_s, "seconds to wait for the ACK")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  send_command->add_option("text", words, "the message")->required();

  SendFileOptions send_file;
  auto* send_file_command = app.add_subcommand(
      "send-file", "offer files and folders to a peer and wait until it has verified them all");
  add_common(*send_file_command, send_file.common, false);
  send_file_command->add_option("--to", send_file.to, "HOST:PORT or ID@HOST:PORT of the peer")
      ->required();
  send_file_command
      ->add_option("--timeout", send_file.answer_timeout,
                   "seconds the peer has to accept or decline before the offer is withdrawn "
                   "(exit code 11); 0: wait as long as it takes")
      ->capture_default_str();
  send_file_command->add_option("paths", send_file.paths, "files and folders to send")->required();

  CommonOptions id_options;
  auto* id_command = app.add_subcommand("id", "print this identity's peer ID");
  id_command->add_option("--name", id_options.name, "name whose default data dir to use");
  id_command->add_option("--data-dir", id_options.data_dir, "the data dir");

  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  if (*send_command) {
    for (std::size_t i = 0; i < words.size(); ++i) {
      send.text += (i == 0 ? "" : " ") + words[i];
    }
    return run_send(send);
  }
  if (*send_file_command) return run_send_file(send_file);
  if (*id_command) return run_id(id_options);
  return run_peer(peer);
}
