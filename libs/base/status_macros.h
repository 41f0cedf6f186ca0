// File: libs/base/status_macros.h
//
// KAGI_RETURN_IF_ERROR and KAGI_ASSIGN_OR_RETURN: the two status-propagation
// macros Debian 12's Abseil (20220623) does not ship. They behave like the
// ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN of later Abseil releases.
#ifndef KAGI_LIBS_BASE_STATUS_MACROS_H_
#define KAGI_LIBS_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// KAGI_RETURN_IF_ERROR(expr) evaluates `expr` (an absl::Status or an
// absl::StatusOr<T>) once and returns its status from the enclosing function
// if it is not OK.
#define KAGI_RETURN_IF_ERROR(expr)                                         \
  do {                                                                     \
    ::absl::Status kagi_status_ = ::kagi::base_internal::AsStatus((expr)); \
    if (!kagi_status_.ok()) {                                              \
      return kagi_status_;                                                 \
    }                                                                      \
  } while (false)

// KAGI_ASSIGN_OR_RETURN(lhs, expr) evaluates `expr` (an absl::StatusOr<T>),
// returns its status if not OK, else move-assigns the value to `lhs`. `lhs`
// may be a declaration (`auto x`, `const Foo& y` is not allowed).
#define KAGI_ASSIGN_OR_RETURN(lhs, expr)                                     \
  KAGI_ASSIGN_OR_RETURN_IMPL_(KAGI_STATUS_CONCAT_(kagi_statusor_, __LINE__), \
                              lhs, expr)

#define KAGI_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                \
  if (!statusor.ok()) {                                  \
    return std::move(statusor).status();                 \
  }                                                      \
  lhs = *std::move(statusor)

#define KAGI_STATUS_CONCAT_INNER_(a, b) a##b
#define KAGI_STATUS_CONCAT_(a, b) KAGI_STATUS_CONCAT_INNER_(a, b)

namespace kagi::base_internal {

inline const absl::Status& AsStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace kagi::base_internal

#endif  // KAGI_LIBS_BASE_STATUS_MACROS_H_
