#include "store/message_rows.hpp"

#include <fmt/format.h>

namespace peerchat::store {
namespace {

// ?1 stored_ms and ?2 outgoing are shared; each row has six parameters after them.
constexpr int kShared = 2;
constexpr int kPerRow = 6;

std::string insert_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO message_rows (local_id, peer_key, outgoing, message_id, seq, timestamp_ms, "
      "stored_ms, text) VALUES ";
  for (std::size_t row = 0; row < rows; ++row) {
    const std::size_t first = kShared + kPerRow * row + 1;
    sql += fmt::format("{}(?{}, ?{}, ?2, ?{}, ?{}, ?{}, ?1, ?{})", row == 0 ? "" : ", ", first,
                       first + 1, first + 2, first + 3, first + 4, first + 5);
  }
  return sql + " ON CONFLICT DO NOTHING";
}

}  // namespace

Result<void> MessageRowWriter::prepare(Database& db) {
  db_ = &db;
  for (std::size_t i = 0; i < kRowsPerStatement.size(); ++i) {
    auto prepared = db.prepare(insert_sql(kRowsPerStatement[i]));
    if (!prepared) return prepared.error();
    statements_[i] = std::move(prepared.value());
  }
  return {};
}

Result<std::size_t> MessageRowWriter::insert(std::span<const MessageRow> rows, bool outgoing,
                                             std::int64_t stored_ms) {
  std::size_t inserted = 0;
  for (std::size_t i = 0; i < kRowsPerStatement.size(); ++i) {
    const std::size_t per_statement = kRowsPerStatement[i];
    Statement& statement = statements_[i];
    while (rows.size() >= per_statement) {
      statement.bind(1, stored_ms).bind(2, std::int64_t{outgoing ? 1 : 0});
      for (std::size_t row = 0; row < per_statement; ++row) {
        const MessageRow& next = rows[row];
        const int first = kShared + kPerRow * static_cast<int>(row) + 1;
        statement.bind(first, next.local_id)
            .bind(first + 1, next.peer_key)
            .bind_borrowed(first + 2, next.message_id)
            .bind(first + 3, static_cast<std::int64_t>(next.seq))
            .bind(first + 4, next.timestamp_ms)
            .bind_borrowed(first + 5, next.text);
      }
      auto ran = statement.run(outgoing ? "cannot queue the messages" : "cannot store messages");
      statement.reset();  // drops the borrowed bindings
      if (!ran) return ran.error();
      inserted += static_cast<std::size_t>(sqlite3_changes(db_->handle()));
      rows = rows.subspan(per_statement);
    }
  }
  return inserted;
}

}  // namespace peerchat::store
