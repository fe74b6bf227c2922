// cli: file transfers for people: the offer with how to answer it, a progress bar per
// transfer, and one line for each way a transfer ends. Pure formatting; render.cpp calls it,
// and every string a peer controls (names, paths, messages) goes through
// sanitize_for_terminal.
#pragma once

#include <cstdint>
#include <string>

#include "node/events.hpp"

namespace peerchat::cli {

// 0 B, 999 B, 1.0 KiB, 12.4 MiB, 3.00 GiB: three significant digits, binary units.
std::string human_bytes(std::uint64_t bytes);
// 45s, 3m05s, 2h07m; "?" for an unknown time.
std::string human_duration(std::uint64_t seconds);
// The first 8 hex digits of a transfer ID: what /accept, /decline and /cancel take.
std::string short_transfer_id(const transfer::TransferId& id);

// One line: `1a2b3c4d [#########...........]  45%  5.60 MiB/12.4 MiB  3.20 MiB/s  2s left
// <- bob: photos`.
std::string progress_line(const node::event::Transfer& event);
// The lines for every other kind (progress: progress_line).
std::string render_transfer(const node::event::Transfer& event);
// The answer to /transfers.
std::string render_transfers(const node::event::Transfers& event);

}  // namespace peerchat::cli
