// services/transfer: typed errors of preparing, offering and saving files.
#pragma once

#include <system_error>

namespace peerchat::transfer {

enum class Errc {
  not_found = 1,     // a path the user named does not exist
  unreadable,        // a file or folder could not be opened or read
  changed,           // a file changed while it was hashed or sent
  too_many_entries,  // an offer over kMaxEntries
  path_too_long,     // a relative path over kMaxPathBytes
  file_too_large,    // a file over kMaxFileBytes
  empty_offer,       // nothing to send
  cancelled,
};

const std::error_category& error_category();
std::error_code make_error_code(Errc e);

}  // namespace peerchat::transfer

template <>
struct std::is_error_code_enum<peerchat::transfer::Errc> : std::true_type {};
