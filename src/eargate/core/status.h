// Status helpers: absl::Status / absl::StatusOr are the error currency of eargate.
// Debian 12's abseil (20220623) lacks status_macros.h, so the two macros we need live here.
//
// Usage:
//   EG_RETURN_IF_ERROR(LoadThing(path));
//   EG_ASSIGN_OR_RETURN(auto table, ParseTable(text));
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EG_CONCAT_INNER_(a, b) a##b
#define EG_CONCAT_(a, b) EG_CONCAT_INNER_(a, b)

#define EG_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::absl::Status eg_status_ = (expr);           \
    if (!eg_status_.ok()) return eg_status_;      \
  } while (0)

#define EG_ASSIGN_OR_RETURN(lhs, expr) \
  EG_ASSIGN_OR_RETURN_IMPL_(EG_CONCAT_(eg_statusor_, __LINE__), lhs, expr)

#define EG_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) return statusor.status();        \
  lhs = std::move(statusor).value()
