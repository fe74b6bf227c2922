// store: file transfer state (schema 6). Not on any hot path (a write per batch of synced
// pieces, a few a second per transfer), so statements are prepared per call.
#include <algorithm>

#include "store/columns.hpp"
#include "store/store.hpp"

namespace peerchat::store {
namespace {

constexpr char kColumns[] =
    "transfer_id, peer_id, outgoing, manifest, state, destination, placement, message, "
    "created_ms, updated_ms";

TransferRecord read_record(const Statement& row) {
  TransferRecord record;
  record.id = to_array<16>(row.blob(0));
  record.peer = to_array<32>(row.blob(1));
  record.outgoing = row.integer(2) != 0;
  record.manifest = row.blob(3);
  record.state = static_cast<TransferState>(row.integer(4));
  record.destination = row.text(5);
  record.placement = row.text(6);
  record.message = row.text(7);
  record.created_ms = row.integer(8);
  record.updated_ms = row.integer(9);
  return record;
}

// An empty vector's data() may be null, which SQLite binds as NULL: an empty bitmap must be an
// empty blob.
std::span<const std::uint8_t> blob_of(const std::vector<std::uint8_t>& bytes) {
  static const std::uint8_t kNothing = 0;
  return bytes.empty() ? std::span<const std::uint8_t>(&kNothing, 0) : std::span(bytes);
}

}  // namespace

Result<void> Store::save_transfer(const TransferRecord& record,
                                  const std::vector<TransferFile>& files) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto transaction = Transaction::begin(db_);
  if (!transaction) return transaction.error();
  auto insert = db_.prepare(std::string("INSERT OR REPLACE INTO transfers (") + kColumns +
                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!insert) return insert.error();
  insert->bind(1, std::span<const std::uint8_t>(record.id))
      .bind(2, std::span<const std::uint8_t>(record.peer))
      .bind(3, std::int64_t{record.outgoing ? 1 : 0})
      .bind(4, blob_of(record.manifest))
      .bind(5, static_cast<std::int64_t>(record.state))
      .bind(6, record.destination)
      .bind(7, record.placement)
      .bind(8, record.message)
      .bind(9, record.created_ms)
      .bind(10, record.updated_ms);
  if (auto ran = insert->run("cannot save the transfer"); !ran) return ran;
  // INSERT OR REPLACE deletes the old row, and ON DELETE CASCADE its files, only with
  // recursive triggers; say it plainly instead.
  auto clear = db_.prepare("DELETE FROM transfer_files WHERE transfer_id = ?1");
  if (!clear) return clear.error();
  clear->bind(1, std::span<const std::uint8_t>(record.id));
  if (auto ran = clear->run("cannot save the transfer"); !ran) return ran;
  auto file = db_.prepare(
      "INSERT INTO transfer_files (transfer_id, entry, source, held, saved_path) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!file) return file.error();
  for (const auto& entry : files) {
    file->bind(1, std::span<const std::uint8_t>(record.id))
        .bind(2, std::int64_t{entry.entry})
        .bind(3, entry.source)
        .bind(4, blob_of(entry.held))
        .bind(5, entry.saved_path);
    if (auto ran = file->run("cannot save the transfer's files"); !ran) return ran;
  }
  return transaction->commit();
}

Result<void> Store::set_transfer_state(const TransferKey& id, TransferState state,
                                       std::string_view message, std::int64_t now_ms) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto update = db_.prepare(
      "UPDATE transfers SET state = ?2, message = ?3, updated_ms = ?4 WHERE transfer_id = ?1");
  if (!update) return update.error();
  update->bind(1, std::span<const std::uint8_t>(id))
      .bind(2, static_cast<std::int64_t>(state))
      .bind(3, message)
      .bind(4, now_ms);
  return update->run("cannot record the transfer's state");
}

Result<void> Store::set_transfer_placement(const TransferKey& id, std::string_view destination,
                                           std::string_view placement, std::int64_t now_ms) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto update = db_.prepare(
      "UPDATE transfers SET destination = ?2, placement = ?3, updated_ms = ?4 "
      "WHERE transfer_id = ?1");
  if (!update) return update.error();
  update->bind(1, std::span<const std::uint8_t>(id))
      .bind(2, destination)
      .bind(3, placement)
      .bind(4, now_ms);
  return update->run("cannot record where the transfer is saved");
}

Result<void> Store::save_transfer_progress(const TransferKey& id,
                                           const std::vector<TransferFile>& files,
                                           std::int64_t now_ms) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto transaction = Transaction::begin(db_);
  if (!transaction) return transaction.error();
  auto update = db_.prepare(
      "UPDATE transfer_files SET held = ?3, saved_path = ?4 WHERE transfer_id = ?1 AND entry = ?2");
  if (!update) return update.error();
  for (const auto& file : files) {
    update->bind(1, std::span<const std::uint8_t>(id))
        .bind(2, std::int64_t{file.entry})
        .bind(3, blob_of(file.held))
        .bind(4, file.saved_path);
    if (auto ran = update->run("cannot record the pieces received"); !ran) return ran;
  }
  auto touch = db_.prepare("UPDATE transfers SET updated_ms = ?2 WHERE transfer_id = ?1");
  if (!touch) return touch.error();
  touch->bind(1, std::span<const std::uint8_t>(id)).bind(2, now_ms);
  if (auto ran = touch->run("cannot record the pieces received"); !ran) return ran;
  return transaction->commit();
}

Result<std::vector<TransferRecord>> Store::unfinished_transfers() {
  auto select = db_.prepare(std::string("SELECT ") + kColumns +
                            " FROM transfers WHERE state IN (0, 1, 2) ORDER BY created_ms");
  if (!select) return select.error();
  return select->collect(read_record);
}

Result<std::vector<TransferRecord>> Store::transfer_record(const TransferKey& id) {
  auto select =
      db_.prepare(std::string("SELECT ") + kColumns + " FROM transfers WHERE transfer_id = ?1");
  if (!select) return select.error();
  select->bind(1, std::span<const std::uint8_t>(id));
  return select->collect(read_record);
}

Result<std::vector<TransferFile>> Store::transfer_files(const TransferKey& id) {
  auto select = db_.prepare(
      "SELECT entry, source, held, saved_path FROM transfer_files WHERE transfer_id = ?1 "
      "ORDER BY entry");
  if (!select) return select.error();
  select->bind(1, std::span<const std::uint8_t>(id));
  return select->collect([](const Statement& row) {
    return TransferFile{static_cast<std::uint32_t>(row.integer(0)), row.text(1), row.blob(2),
                        row.text(3)};
  });
}

Result<void> Store::forget_transfer(const TransferKey& id) {
  if (auto ok = check_faults(); !ok) return ok.error();
  auto transaction = Transaction::begin(db_);
  if (!transaction) return transaction.error();
  for (const char* sql : {"DELETE FROM transfer_files WHERE transfer_id = ?1",
                          "DELETE FROM transfers WHERE transfer_id = ?1"}) {
    auto remove = db_.prepare(sql);
    if (!remove) return remove.error();
    remove->bind(1, std::span<const std::uint8_t>(id));
    if (auto ran = remove->run("cannot forget the transfer"); !ran) return ran;
  }
  return transaction->commit();
}

}  // namespace peerchat::store
