// store: the database schema as the list of migrations that build it, oldest first.
#pragma once

#include <span>
#include <string_view>

namespace peerchat::store {

// Entry N moves a database from schema version N to N+1, in one transaction; a new database
// runs them all. The schema version is their count.
std::span<const std::string_view> schema_migrations();

}  // namespace peerchat::store
