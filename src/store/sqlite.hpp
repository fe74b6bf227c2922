// store: thin RAII wrappers over the SQLite C API, mapping failures to store errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace peerchat::store {

// An Error for SQLite result `code`, naming what we were doing and what the user can do.
Error sqlite_error(sqlite3* db, int code, std::string_view doing);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::span<const std::uint8_t> blob);
  Statement& bind(int index, std::int64_t value);
  // Without a copy: `text` or `blob` must stay alive and unchanged until the statement has
  // been stepped and reset (or rebound).
  Statement& bind_borrowed(int index, std::string_view text);
  Statement& bind_borrowed(int index, std::span<const std::uint8_t> blob);

  // Steps once: true when a row is ready, false when done; errors as Error.
  Result<bool> step();
  // Steps to completion (for statements returning no rows) and resets.
  Result<void> run(std::string_view doing);
  void reset();

  // Steps through every row, turning each into a value with `read`, then resets.
  template <class Read>
  auto collect(Read read) -> Result<std::vector<decltype(read(*this))>> {
    std::vector<decltype(read(*this))> rows;
    while (true) {
      auto row = step();
      if (!row) {
        reset();
        return row.error();
      }
      if (!*row) break;
      rows.push_back(read(*this));
    }
    reset();
    return rows;
  }

  std::string text(int column) const;
  std::vector<std::uint8_t> blob(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* statement_ = nullptr;
};

class Database {
 public:
  static Result<Database> open(const std::string& path);
  Database(Database&& other) noexcept
      : db_(std::exchange(other.db_, nullptr)), cached_(std::move(other.cached_)) {}
  Database& operator=(Database&&) = delete;
  ~Database();

  Result<void> exec(std::string_view sql, std::string_view doing);
  // The same for a statement without parameters or rows that runs often (BEGIN, COMMIT, a
  // PRAGMA): compiled once, then reused. exec() compiles every time.
  Result<void> run_cached(std::string_view sql, std::string_view doing);
  Result<Statement> prepare(std::string_view sql);
  // The single text value of a one-row query (e.g. a PRAGMA).
  Result<std::string> query_text(std::string_view sql);
  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
  std::map<std::string, Statement, std::less<>> cached_;
};

// The settings of every connection to a peerchat database: WAL and synchronous=FULL (a commit
// that returned is on disk). `file` names the database in errors.
Result<void> configure_connection(Database& db, std::string_view file);

// BEGIN IMMEDIATE now; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Result<void> commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace peerchat::store
