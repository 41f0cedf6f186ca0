// File: libs/base/ctime.h
//
// Annotations for the constant-time check (tests/ctime, docs/robustness.md
// "Constant-time"): the test marks secrets as undefined memory and runs the
// code under Valgrind's memcheck, which then reports every conditional
// branch and every memory index that depends on a secret (the method of
// libsecp256k1's ctime_tests and BoringSSL's CONSTTIME_SECRET).
//
//   * `CtSecret` marks memory as secret (the test's inputs).
//   * `CtDeclassify` / `CtDeclassifyValue` mark a value as public BY DESIGN:
//     a check's outcome that aborts the session, a value that is about to be
//     sent, a rejection that has negligible probability. Every call says in
//     a comment why the value is public; a declassification that hides a
//     secret is a bug in its own right.
//
// In builds with KAGI_CTIME_VALIDATION (the dev build when Valgrind's
// headers are installed, never a sanitizer or release build) these are
// Valgrind client requests: a few instructions that do nothing when the
// program does not run under Valgrind. Otherwise they compile to nothing.
#ifndef KAGI_LIBS_BASE_CTIME_H_
#define KAGI_LIBS_BASE_CTIME_H_

#include <cstddef>

#if defined(KAGI_CTIME_VALIDATION)
#include <valgrind/memcheck.h>
#endif

namespace kagi {

// kCtValidation tells whether the annotations below are live in this build.
#if defined(KAGI_CTIME_VALIDATION)
inline constexpr bool kCtValidation = true;
#else
inline constexpr bool kCtValidation = false;
#endif

// CtSecret marks `len` bytes at `ptr` as secret for the constant-time check.
inline void CtSecret(const void* ptr, size_t len) {
#if defined(KAGI_CTIME_VALIDATION)
  (void)VALGRIND_MAKE_MEM_UNDEFINED(ptr, len);
#else
  (void)ptr;
  (void)len;
#endif
}

// CtDeclassify marks `len` bytes at `ptr` as public by design.
inline void CtDeclassify(const void* ptr, size_t len) {
#if defined(KAGI_CTIME_VALIDATION)
  (void)VALGRIND_MAKE_MEM_DEFINED(ptr, len);
#else
  (void)ptr;
  (void)len;
#endif
}

// CtSecretObject / CtDeclassifyObject: the same for a whole object.
template <typename T>
inline void CtSecretObject(const T& obj) {
  CtSecret(&obj, sizeof(obj));
}
template <typename T>
inline void CtDeclassifyObject(const T& obj) {
  CtDeclassify(&obj, sizeof(obj));
}

// CtDeclassifyValue returns `v` marked public by design, for the branch that
// follows (`if (!CtDeclassifyValue(check_ok)) return Abort(...)`).
template <typename T>
inline T CtDeclassifyValue(T v) {
  CtDeclassify(&v, sizeof(v));
  return v;
}

}  // namespace kagi

#endif  // KAGI_LIBS_BASE_CTIME_H_
