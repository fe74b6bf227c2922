#include "store/sqlite.hpp"

#include <fmt/format.h>

#include "store/errors.hpp"

namespace peerchat::store {

Error sqlite_error(sqlite3* db, int code, std::string_view doing) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  switch (code & 0xFF) {
    case SQLITE_FULL:
      return make_error(Errc::disk_full,
                        fmt::format("{}: the disk is full ({}); free some space", doing, detail));
    case SQLITE_IOERR:
      return make_error(Errc::io_error,
                        fmt::format("{}: disk I/O error ({}); check the disk", doing, detail));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return make_error(Errc::corrupt,
                        fmt::format("{}: the database is corrupt ({})", doing, detail));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error(Errc::busy, fmt::format("{}: the database is busy ({})", doing, detail));
    default:
      return make_error(Errc::open_failed, fmt::format("{}: {}", doing, detail));
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), statement_(std::exchange(other.statement_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    db_ = other.db_;
    statement_ = std::exchange(other.statement_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(statement_);
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
  sqlite3_bind_blob(statement_, index, blob.data(), static_cast<int>(blob.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_borrowed(int index, std::string_view text) {
  // A null pointer would bind NULL, not an empty text.
  sqlite3_bind_text(statement_, index, text.empty() ? "" : text.data(),
                    static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind_borrowed(int index, std::span<const std::uint8_t> blob) {
  sqlite3_bind_blob(statement_, index, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(statement_, index, value);
  return *this;
}

Result<bool> Statement::step() {
  const int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW) return true;
  if (code == SQLITE_DONE) return false;
  return sqlite_error(db_, code, "database query failed");
}

Result<void> Statement::run(std::string_view doing) {
  const int code = sqlite3_step(statement_);
  sqlite3_reset(statement_);
  if (code == SQLITE_DONE || code == SQLITE_ROW) return {};
  return sqlite_error(db_, code, doing);
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::vector<std::uint8_t> Statement::blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  const int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr) return {};
  return std::vector<std::uint8_t>(data, data + size);
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(statement_, column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

Result<Database> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int code = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    Error error = sqlite_error(db, code, fmt::format("cannot open database {}", path));
    sqlite3_close(db);
    return error;
  }
  sqlite3_extended_result_codes(db, 1);
  return Database(db);
}

Database::~Database() {
  cached_.clear();  // every statement must be finalized before the close
  sqlite3_close(db_);
}

Result<void> Database::exec(std::string_view sql, std::string_view doing) {
  const std::string statement(sql);
  const int code = sqlite3_exec(db_, statement.c_str(), nullptr, nullptr, nullptr);
  if (code != SQLITE_OK) return sqlite_error(db_, code, doing);
  return {};
}

Result<void> Database::run_cached(std::string_view sql, std::string_view doing) {
  auto it = cached_.find(sql);
  if (it == cached_.end()) {
    auto prepared = prepare(sql);
    if (!prepared) return prepared.error();
    it = cached_.emplace(std::string(sql), std::move(prepared.value())).first;
  }
  return it->second.run(doing);
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* statement = nullptr;
  const int code = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
  if (code != SQLITE_OK) return sqlite_error(db_, code, "cannot prepare a database query");
  return Statement(db_, statement);
}

Result<std::string> Database::query_text(std::string_view sql) {
  auto statement = prepare(sql);
  if (!statement) return statement.error();
  auto row = statement->step();
  if (!row) return row.error();
  if (!*row) return std::string();
  return statement->text(0);
}

Result<void> configure_connection(Database& db, std::string_view file) {
  // WAL lets readers proceed during writes. synchronous=FULL makes every commit durable
  // before it returns (the WAL is fsynced on commit), which the delivery guarantee needs:
  // nothing is acknowledged to a peer unless it survives a power cut.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=2000"}) {
    if (auto set = db.exec(pragma, fmt::format("cannot configure {}", file)); !set) return set;
  }
  return {};
}

Result<Transaction> Transaction::begin(Database& db) {
  if (auto begun = db.run_cached("BEGIN IMMEDIATE", "cannot start a database transaction");
      !begun) {
    return begun.error();
  }
  return Transaction(&db);
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->run_cached("ROLLBACK", "rollback");
}

Result<void> Transaction::commit() {
  auto committed = db_->run_cached("COMMIT", "cannot commit to the database");
  if (committed) db_ = nullptr;
  return committed;
}

}  // namespace peerchat::store
