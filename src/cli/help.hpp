// cli: the command list, shown by /help and at the end of --help. Its own header, so the
// executable's argument parsing does not pull in the node (and Asio) for a text.
#pragma once

#include <string_view>

namespace peerchat::cli {

std::string_view command_help();

}  // namespace peerchat::cli
