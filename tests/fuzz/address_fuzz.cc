// Fuzz target: the text encodings a node or kagictl reads from requests,
// policies and configs. Selector byte: 0 bech32/bech32m string, 1 segwit
// address, 2 Base58, 3 Base58Check, 4 extended public key (xpub/tpub), 5 any
// extended key (xpub/xprv/tpub/tprv), 6 BIP32 path text, 7 the policy's
// address normalisation (bitcoin), 8 the same (ethereum).
// Accepted values must encode back to the input (lower-cased where the
// format is case-insensitive).
#include "absl/strings/ascii.h"
#include "libs/chain/bech32.h"
#include "libs/crypto/base58.h"
#include "libs/crypto/bip32.h"
#include "libs/policy/policy.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

void Bech32(absl::string_view text) {
  absl::StatusOr<chain::Bech32Data> d = chain::Bech32Decode(text);
  ExpectOkOrInputError(d.status(), "Bech32Decode");
  if (!d.ok()) return;
  absl::StatusOr<std::string> back =
      chain::Bech32Encode(d->hrp, d->values, d->encoding);
  KAGI_CHECK(back.ok() && *back == absl::AsciiStrToLower(text));
}

void Segwit(absl::string_view text) {
  absl::StatusOr<chain::SegwitProgram> p = chain::DecodeSegwitAddress(text);
  ExpectOkOrInputError(p.status(), "DecodeSegwitAddress");
  if (!p.ok()) return;
  absl::StatusOr<std::string> back =
      chain::EncodeSegwitAddress(p->network, p->version, p->program);
  KAGI_CHECK(back.ok() && *back == absl::AsciiStrToLower(text));
  (void)chain::SegwitScriptPubKey(*p);
}

void Base58(absl::string_view text, bool check) {
  absl::StatusOr<Bytes> b =
      check ? crypto::Base58CheckDecode(text) : crypto::Base58Decode(text);
  ExpectOkOrInputError(b.status(), "Base58Decode");
  if (!b.ok()) return;
  KAGI_CHECK((check ? crypto::Base58CheckEncode(*b)
                    : crypto::Base58Encode(*b)) == text);
}

void Xpub(absl::string_view text) {
  absl::StatusOr<crypto::ExtendedPublicKey> k =
      crypto::ExtendedPublicKey::Decode(text);
  ExpectOkOrInputError(k.status(), "ExtendedPublicKey::Decode");
  if (!k.ok()) return;
  KAGI_CHECK(k->Encode() == text);
  (void)crypto::DerivePath(*k, {0, 1});
}

void AnyKey(absl::string_view text) {
  absl::StatusOr<crypto::ExtendedKey> k = crypto::DecodeExtendedKey(text);
  ExpectOkOrInputError(k.status(), "DecodeExtendedKey");
}

void Path(absl::string_view text) {
  absl::StatusOr<std::vector<uint32_t>> p = crypto::ParsePath(text);
  ExpectOkOrInputError(p.status(), "ParsePath");
}

void Normalize(absl::string_view chain, absl::string_view text) {
  absl::StatusOr<std::string> n = policy::NormalizeAddress(chain, text);
  ExpectOkOrInputError(n.status(), "NormalizeAddress");
  if (!n.ok()) return;
  absl::StatusOr<std::string> again = policy::NormalizeAddress(chain, *n);
  KAGI_CHECK(again.ok() && *again == *n);
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  switch (in.Select(9)) {
    case 0:
      fuzz::Bech32(in.text());
      break;
    case 1:
      fuzz::Segwit(in.text());
      break;
    case 2:
      fuzz::Base58(in.text(), false);
      break;
    case 3:
      fuzz::Base58(in.text(), true);
      break;
    case 4:
      fuzz::Xpub(in.text());
      break;
    case 5:
      fuzz::AnyKey(in.text());
      break;
    case 6:
      fuzz::Path(in.text());
      break;
    case 7:
      fuzz::Normalize("bitcoin", in.text());
      break;
    default:
      fuzz::Normalize("ethereum", in.text());
      break;
  }
  return 0;
}
