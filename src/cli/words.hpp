// cli: splitting a command line's arguments the way a shell would, so that paths with spaces
// can be typed: "my file.txt", 'it''s', my\ file.txt. The one expansion is a leading ~.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/outcome.hpp"

namespace peerchat::cli {

// Words separated by spaces or tabs. Inside "..." a backslash escapes " and \ only; inside
// '...' nothing is special; outside quotes a backslash escapes the next character. An
// unterminated quote or a trailing backslash is a usage failure. Given `home`, an unquoted ~
// that starts a word and stands alone or before a / is replaced by it (~user is left as is).
Outcome<std::vector<std::string>> split_words(std::string_view line, std::string_view home = {});

}  // namespace peerchat::cli
