// store: writes message rows many per INSERT statement. One statement per row costs about
// twice as much CPU per row (cursor set-up and tear-down, statement journal); a batch of
// messages is committed together anyway.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "store/sqlite.hpp"
#include "util/result.hpp"

namespace peerchat::store {

// One row of `message_rows`, borrowing its ID and text: they must outlive insert().
struct MessageRow {
  std::int64_t local_id = 0;  // the conversation's range and the arrival number (schema 5)
  std::int64_t peer_key = 0;
  std::span<const std::uint8_t, 16> message_id;
  std::uint64_t seq = 0;
  std::int64_t timestamp_ms = 0;
  std::string_view text;
};

class MessageRowWriter {
 public:
  Result<void> prepare(Database& db);
  // Inserts `rows` in one direction, all stored at `stored_ms`, in order, inside the caller's
  // transaction. A received message whose ID its author already used is skipped. Returns how
  // many rows were inserted.
  Result<std::size_t> insert(std::span<const MessageRow> rows, bool outgoing,
                             std::int64_t stored_ms);

 private:
  static constexpr std::array<std::size_t, 3> kRowsPerStatement = {64, 8, 1};
  std::array<Statement, kRowsPerStatement.size()> statements_;
  Database* db_ = nullptr;
};

}  // namespace peerchat::store
