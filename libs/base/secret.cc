#include "libs/base/secret.h"

#include <openssl/crypto.h>

namespace kagi {

void SecureWipe(void* ptr, size_t len) {
  if (ptr != nullptr && len != 0) {
    OPENSSL_cleanse(ptr, len);
  }
}

bool ConstantTimeEqual(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) {
    return false;
  }
  uint8_t acc = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    acc |= static_cast<uint8_t>(a[i] ^ b[i]);
  }
  return CtIsZeroMask(acc) != 0;
}

}  // namespace kagi
