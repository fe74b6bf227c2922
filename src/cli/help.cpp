#include "cli/help.hpp"

namespace peerchat::cli {

std::string_view command_help() {
  return "Commands:\n"
         "  /connect HOST:PORT      connect to a peer (IPv6: [ADDR]:PORT; hostnames work)\n"
         "  /connect ID@HOST:PORT   connect only if the peer has that peer ID\n"
         "  /peers                  list connected peers with their fingerprints\n"
         "  /msg PEER TEXT          send TEXT to PEER (display name, peer ID or ID prefix)\n"
         "  /query PEER             send plain lines to PEER from now on (/query alone: stop)\n"
         "  /history PEER [N]       the last N messages with PEER (default 20), with their state\n"
         "  /quit                   say goodbye to every peer and exit\n"
         "  /help                   this text\n"
         "A plain line goes to the /query peer, or to the only connected peer.\n"
         "With --json, stdin also takes JSON commands, one per line, each answered by one\n"
         "\"result\" event with the same id:\n"
         "  {\"id\":\"1\",\"cmd\":\"send\",\"peer\":\"bob\",\"text\":\"hi\"}\n"
         "  {\"id\":\"2\",\"cmd\":\"peers\"}   {\"id\":\"3\",\"cmd\":\"history\",\"peer\":\"bob\","
         "\"count\":20}\n"
         "  {\"id\":\"4\",\"cmd\":\"connect\",\"target\":\"HOST:PORT\"}   {\"id\":\"5\",\"cmd\":"
         "\"help\"}   {\"id\":\"6\",\"cmd\":\"quit\"}\n"
         "  {\"id\":\"7\",\"cmd\":\"query\",\"peer\":\"bob\"}   (like /query: plain lines go to "
         "bob)\n";
}

}  // namespace peerchat::cli
