// File: libs/crypto/openssl_ptr.h
//
// Owning pointers for every OpenSSL 3.0 object Kagi handles, written once:
// libs/crypto (keys, MACs, KDFs, ciphers), libs/policy (approver keys) and
// libs/transport (PKI and TLS) all use these.
//
//   crypto::EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(...));
//   if (key == nullptr) ...;  // freed with EVP_PKEY_free on every path
#ifndef KAGI_LIBS_CRYPTO_OPENSSL_PTR_H_
#define KAGI_LIBS_CRYPTO_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace kagi::crypto {

// OpenSslFree calls `Free` on a non-null pointer (unique_ptr skips null).
template <typename T, void (*Free)(T*)>
struct OpenSslFree {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<T, Free>>;

using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpMacCtxPtr = OpenSslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using EvpKdfCtxPtr = OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using EvpCipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralNamePtr = OpenSslPtr<GENERAL_NAME, GENERAL_NAME_free>;

}  // namespace kagi::crypto

#endif  // KAGI_LIBS_CRYPTO_OPENSSL_PTR_H_
