// Fuzz target: what a node reads back from its own database, which an
// attacker with the disk may have changed (libs/protocol/keyshare.h,
// libs/storage/sealed.h, audit.h). Selector byte: 0 key share
// (KeyShare::Deserialize of the unsealed bytes), 1 sealed record (Open under
// the fixture's key-encryption key and share context), 2 audit anchors text,
// 3 velocity reservations text.
// Stored data that does not decode is DataLoss by contract, so that code is
// accepted here besides the input errors. An accepted share serializes back
// to the input; anchors and reservations print back to the input.
#include "libs/protocol/keyshare.h"
#include "libs/storage/audit.h"
#include "libs/storage/sealed.h"
#include "tests/fuzz/fixtures.h"
#include "tests/fuzz/fuzz_util.h"

namespace kagi::fuzz {
namespace {

void ExpectStoredError(const absl::Status& s, const char* what) {
  if (s.code() == absl::StatusCode::kDataLoss) return;
  ExpectOkOrInputError(s, what);
}

void Share(ByteSpan in) {
  absl::StatusOr<protocol::KeyShare> share =
      protocol::KeyShare::Deserialize(in);
  ExpectStoredError(share.status(), "KeyShare::Deserialize");
  if (!share.ok()) return;
  const SecretBytes again = share->Serialize();
  KAGI_CHECK(Bytes(again.secret().begin(), again.secret().end()) ==
             Bytes(in.begin(), in.end()));
}

void Sealed(ByteSpan in) {
  const SecretBytes kek(
      Bytes(SealKeyFixture().begin(), SealKeyFixture().end()));
  const storage::RecordContext ctx = ShareRecordFixture();
  absl::StatusOr<SecretBytes> plain = storage::Open(kek, ctx, in);
  ExpectStoredError(plain.status(), "storage::Open");
  if (plain.ok()) Share(plain->secret());
}

void Anchors(absl::string_view text) {
  absl::StatusOr<std::vector<storage::AuditAnchor>> a =
      storage::ParseAnchors(text);
  ExpectStoredError(a.status(), "ParseAnchors");
  if (a.ok()) KAGI_CHECK(storage::EncodeAnchors(*a) == text);
}

void Reservations(absl::string_view text) {
  absl::StatusOr<std::vector<storage::VelocityReservation>> r =
      storage::ParseReservations(text);
  ExpectStoredError(r.status(), "ParseReservations");
  if (r.ok()) KAGI_CHECK(storage::EncodeReservations(*r) == text);
}

}  // namespace
}  // namespace kagi::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kagi;
  fuzz::FuzzInput in(data, size);
  switch (in.Select(4)) {
    case 0:
      fuzz::Share(in.rest());
      break;
    case 1:
      fuzz::Sealed(in.rest());
      break;
    case 2:
      fuzz::Anchors(in.text());
      break;
    default:
      fuzz::Reservations(in.text());
      break;
  }
  return 0;
}
