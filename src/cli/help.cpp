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
         "  /sendfile PEER PATH...  offer files and folders to PEER (quote paths with spaces)\n"
         "  /accept TRANSFER [DIR]  accept an offer into DIR (default: the download dir)\n"
         "  /decline TRANSFER       refuse an offer\n"
         "  /cancel TRANSFER        stop a transfer, either side, any time\n"
         "  /transfers              current and recent transfers\n"
         "  /quit                   say goodbye to every peer and exit\n"
         "  /help                   this text\n"
         "A plain line goes to the /query peer, or to the only connected peer. TRANSFER is a\n"
         "transfer ID or a unique prefix of it (at least 4 characters; offers show 8).\n"
         "With --json, stdin also takes JSON commands, one per line, each answered by one\n"
         "\"result\" event with the same id:\n"
         "  {\"id\":\"1\",\"cmd\":\"send\",\"peer\":\"bob\",\"text\":\"hi\"}\n"
         "  {\"id\":\"2\",\"cmd\":\"peers\"}   {\"id\":\"3\",\"cmd\":\"history\",\"peer\":\"bob\","
         "\"count\":20}\n"
         "  {\"id\":\"4\",\"cmd\":\"connect\",\"target\":\"HOST:PORT\"}   {\"id\":\"5\",\"cmd\":"
         "\"help\"}   {\"id\":\"6\",\"cmd\":\"quit\"}\n"
         "  {\"id\":\"7\",\"cmd\":\"query\",\"peer\":\"bob\"}   (like /query: plain lines go to "
         "bob)\n"
         "  {\"id\":\"8\",\"cmd\":\"sendfile\",\"peer\":\"bob\",\"paths\":[\"/x/a\"]}   "
         "{\"id\":\"9\",\"cmd\":\"transfers\"}\n"
         "  {\"id\":\"10\",\"cmd\":\"accept\",\"transfer\":\"ab12\",\"dir\":\"/tmp/d\"}   "
         "{\"id\":\"11\",\"cmd\":\"decline\",\"transfer\":\"ab12\"}\n"
         "  {\"id\":\"12\",\"cmd\":\"cancel\",\"transfer\":\"ab12\"}\n";
}

}  // namespace peerchat::cli
