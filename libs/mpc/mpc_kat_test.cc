// File: libs/mpc/mpc_kat_test.cc
//
// Known-answer tests for the OT stack (PROTOCOL.md §5: "We generate
// deterministic KAT files from a seeded DRBG and pin them in CI"). For each
// seed, InsecureDeterministicRng drives one base OT for the pair (A = 1,
// B = 2) and one RVOLE on top of it, with fixed session ids, and every
// message digest, seed digest and output scalar is compared with the pinned
// file tests/vectors/mpc_kat_seed<seed>.txt. Any change to the wire format,
// a hash input, a domain tag, the bit order or the arithmetic shows up here.
//
// File format: `key = lowercase hex`, one per line; lines starting with `#`
// and blank lines are ignored. Every key the test computes must be present
// exactly once and no other key may appear.
//
// Regeneration (only for a deliberate change of the wire format or math):
//
//   KAGI_REGENERATE_KATS=1 build/dev/libs/mpc/kagi_mpc_mpc_kat_test
//
// rewrites the files in the source tree instead of comparing (the test still
// passes); review the diff and commit it with the change that caused it.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "libs/base/bytes.h"
#include "libs/base/rng.h"
#include "libs/base/secret.h"
#include "libs/crypto/hash.h"
#include "libs/crypto/prefix_hash.h"
#include "libs/crypto/scalar.h"
#include "libs/mpc/base_ot.h"
#include "libs/mpc/params.h"
#include "libs/mpc/rvole.h"
#include "tests/testing/vectors.h"

namespace kagi::mpc {
namespace {

using crypto::Scalar;

constexpr uint32_t kSender = 1;    // A
constexpr uint32_t kReceiver = 2;  // B

using KatEntries = std::vector<std::pair<std::string, std::string>>;

std::string KatFileName(uint64_t seed) {
  return absl::StrCat("mpc_kat_seed", seed, ".txt");
}

// Fixed session ids: bytes 0x00..0x1f for the base OT, 0x20..0x3f for the
// RVOLE.
std::array<uint8_t, 32> FixedSid(uint8_t first) {
  std::array<uint8_t, 32> sid{};
  for (size_t i = 0; i < sid.size(); ++i) {
    sid[i] = static_cast<uint8_t>(first + i);
  }
  return sid;
}

std::string Sha256Hex(ByteSpan data) { return HexEncode(crypto::Sha256(data)); }

std::string ScalarHex(const Scalar& s) { return HexEncode(s.ToBytes()); }

// ComputeKat runs the deterministic flow for `seed`. The order in which the
// flow draws from the rng is part of the pinned answers: BaseOtReceiver::
// Start, BaseOtSenderRespond, a_0 and a_1 (Scalar::Random),
// RvoleReceiver::Start, RvoleSenderRespond.
void ComputeKat(uint64_t seed, KatEntries* out) {
  InsecureDeterministicRng rng(seed);
  KatEntries& kat = *out;
  uint8_t seed_be[8];
  StoreBigEndian64(seed, seed_be);
  kat.emplace_back("seed", HexEncode(ByteSpan(seed_be, 8)));

  // Base OT for (A, B).
  BaseOtSession ot;
  ot.sid = FixedSid(0x00);
  ot.cote_sender = kSender;
  ot.cote_receiver = kReceiver;
  Bytes ot_msg1;
  BaseOtReceiver ot_receiver = BaseOtReceiver::Start(ot, rng, &ot_msg1);
  absl::StatusOr<BaseOtSenderResult> ot_sent =
      BaseOtSenderRespond(ot, ot_msg1, rng);
  ASSERT_TRUE(ot_sent.ok()) << ot_sent.status();
  absl::StatusOr<CoteSenderSeeds> a_seeds =
      std::move(ot_receiver).Finish(ot_sent->msg2);
  ASSERT_TRUE(a_seeds.ok()) << a_seeds.status();
  const CoteReceiverSeeds& b_seeds = ot_sent->seeds;
  kat.emplace_back("baseot_sid", HexEncode(ot.sid));
  kat.emplace_back("baseot_sid_ot", HexEncode(BaseOtSessionId(ot)));
  kat.emplace_back("baseot_msg1_sha256", Sha256Hex(ot_msg1));
  kat.emplace_back("baseot_msg2_sha256", Sha256Hex(ot_sent->msg2));
  kat.emplace_back("baseot_delta_sha256", Sha256Hex(a_seeds->delta.secret()));
  kat.emplace_back("baseot_sender_keys_sha256",
                   Sha256Hex(a_seeds->keys.secret()));
  kat.emplace_back("baseot_receiver_keys0_sha256",
                   Sha256Hex(b_seeds.keys0.secret()));
  kat.emplace_back("baseot_receiver_keys1_sha256",
                   Sha256Hex(b_seeds.keys1.secret()));

  // One RVOLE for (A, B).
  RvoleSession rs;
  rs.sid = FixedSid(0x20);
  rs.sender = kSender;
  rs.receiver = kReceiver;
  const std::array<uint8_t, 32> sid_p = RvoleSessionId(rs);
  Bytes gadget;
  for (const Scalar& g : Gadget(sid_p)) {
    const auto b = g.ToBytes();
    gadget.insert(gadget.end(), b.begin(), b.end());
  }
  const std::array<Scalar, kRvoleInputs> a = {Scalar::Random(rng),
                                              Scalar::Random(rng)};
  Bytes rv_msg1;
  RvoleReceiver rv_receiver = RvoleReceiver::Start(b_seeds, rs, rng, &rv_msg1);
  const Scalar chi = rv_receiver.chi();
  absl::StatusOr<RvoleSenderOutput> rv_sent =
      RvoleSenderRespond(*a_seeds, rs, a, rv_msg1, rng);
  ASSERT_TRUE(rv_sent.ok()) << rv_sent.status();
  absl::StatusOr<std::array<Scalar, kRvoleInputs>> d =
      std::move(rv_receiver).Finish(rv_sent->msg2);
  ASSERT_TRUE(d.ok()) << d.status();
  for (size_t i = 0; i < kRvoleInputs; ++i) {
    ASSERT_EQ(rv_sent->c[i] + (*d)[i], a[i] * chi)
        << "seed " << seed << " i " << i;
  }
  kat.emplace_back("rvole_sid", HexEncode(rs.sid));
  kat.emplace_back("rvole_sid_p", HexEncode(sid_p));
  kat.emplace_back("rvole_gadget_sha256", Sha256Hex(gadget));
  kat.emplace_back("rvole_a0", ScalarHex(a[0]));
  kat.emplace_back("rvole_a1", ScalarHex(a[1]));
  kat.emplace_back("rvole_msg1_sha256", Sha256Hex(rv_msg1));
  kat.emplace_back("rvole_msg2_sha256", Sha256Hex(rv_sent->msg2));
  kat.emplace_back("rvole_chi", ScalarHex(chi));
  kat.emplace_back("rvole_c0", ScalarHex(rv_sent->c[0]));
  kat.emplace_back("rvole_c1", ScalarHex(rv_sent->c[1]));
  kat.emplace_back("rvole_d0", ScalarHex((*d)[0]));
  kat.emplace_back("rvole_d1", ScalarHex((*d)[1]));
}

std::string RenderKatFile(uint64_t seed, const KatEntries& kat) {
  std::string text = absl::StrCat(
      "# Kagi MPC known answers, seed ", seed,
      ": one base OT for (A = 1, B = 2) with\n"
      "# sid = 00..1f, then one RVOLE for (A, B) with sid = 20..3f, all\n"
      "# randomness from InsecureDeterministicRng(seed).\n"
      "#\n"
      "# Generated and checked by libs/mpc/mpc_kat_test.cc "
      "(MpcKatTest.MatchesPinnedFile);\n"
      "# do not edit by hand. To regenerate after a deliberate change of "
      "the wire\n"
      "# format or the math, run\n"
      "#   KAGI_REGENERATE_KATS=1 build/dev/libs/mpc/kagi_mpc_mpc_kat_test\n"
      "# which rewrites these files instead of comparing, and review the "
      "diff.\n"
      "#\n"
      "# Format: `key = lowercase hex`, one per line; `#` lines and blank "
      "lines are\n"
      "# ignored. *_sha256 is SHA-256 of the named bytes (messages as sent; "
      "keys and\n"
      "# delta as 256 x 32 and 32 bytes; the gadget as 512 scalars). "
      "Scalars are\n"
      "# 32 bytes big-endian. c_i + d_i = a_i * chi holds for i = 0, 1.\n\n");
  for (const auto& [key, value] : kat) {
    absl::StrAppend(&text, key, " = ", value, "\n");
  }
  return text;
}

// ParseKatFile reads `key = hex` lines, refusing malformed lines, non-hex
// values and duplicate keys.
absl::StatusOr<std::map<std::string, std::string>> ParseKatFile(
    absl::string_view text) {
  std::map<std::string, std::string> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": expected `key = hex`"));
    }
    const std::string key(absl::StripAsciiWhitespace(parts[0]));
    const std::string value(absl::StripAsciiWhitespace(parts[1]));
    if (key.empty() || !HexDecode(value).ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": bad key or hex value"));
    }
    if (!out.emplace(key, value).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": duplicate key ", key));
    }
  }
  return out;
}

bool RegenerateRequested() {
  // Read once per test from the single test thread.
  const char* v =
      std::getenv("KAGI_REGENERATE_KATS");  // NOLINT(concurrency-mt-unsafe)
  return v != nullptr && std::string(v) == "1";
}

class MpcKatTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(MpcKatTest, MatchesPinnedFile) {
  const uint64_t seed = GetParam();
  KatEntries kat;
  ASSERT_NO_FATAL_FAILURE(ComputeKat(seed, &kat));
  const std::string path = kagi::testing::VectorPath(KatFileName(seed));

  if (RegenerateRequested()) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    ASSERT_TRUE(file.good()) << "cannot write " << path;
    file << RenderKatFile(seed, kat);
    file.close();
    ASSERT_TRUE(file.good()) << "write failed: " << path;
    std::cout << "[ REGEN    ] wrote " << path << "\n";
  }

  absl::StatusOr<std::string> text = kagi::testing::ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status()
                         << " (set KAGI_REGENERATE_KATS=1 to create it)";
  absl::StatusOr<std::map<std::string, std::string>> pinned =
      ParseKatFile(*text);
  ASSERT_TRUE(pinned.ok()) << path << ": " << pinned.status();
  for (const auto& [key, value] : kat) {
    auto it = pinned->find(key);
    if (it == pinned->end()) {
      ADD_FAILURE() << path << ": missing key " << key;
      continue;
    }
    EXPECT_EQ(it->second, value) << path << ": key " << key;
  }
  EXPECT_EQ(pinned->size(), kat.size())
      << path << " has keys the test does not compute";
}

INSTANTIATE_TEST_SUITE_P(Seeds, MpcKatTest, ::testing::Values(1, 2, 3));

// The same pinned answers without the SHA-NI fast path: PrefixHasher then
// goes through OpenSSL's SHA-256, and every byte must come out the same.
TEST(MpcKatPortableTest, OpenSslPathGivesThePinnedAnswers) {
  const bool previous =
      crypto::PrefixHasher::SetShaExtensionsEnabledForTesting(false);
  ASSERT_FALSE(crypto::PrefixHasher::ShaExtensionsInUse());
  for (uint64_t seed : {1, 2}) {
    KatEntries kat;
    ComputeKat(seed, &kat);
    absl::StatusOr<std::string> text =
        kagi::testing::ReadFile(kagi::testing::VectorPath(KatFileName(seed)));
    ASSERT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::map<std::string, std::string>> pinned =
        ParseKatFile(*text);
    ASSERT_TRUE(pinned.ok());
    for (const auto& [key, value] : kat) {
      EXPECT_EQ((*pinned)[key], value) << "seed " << seed << " key " << key;
    }
  }
  crypto::PrefixHasher::SetShaExtensionsEnabledForTesting(previous);
}

TEST(MpcKatFlowTest, RunIsReproducibleAndSeedDependent) {
  // The pinned files are only meaningful if the flow is a pure function of
  // the seed: no hidden draw from the OS.
  KatEntries first;
  KatEntries again;
  KatEntries other;
  ASSERT_NO_FATAL_FAILURE(ComputeKat(7, &first));
  ASSERT_NO_FATAL_FAILURE(ComputeKat(7, &again));
  ASSERT_NO_FATAL_FAILURE(ComputeKat(8, &other));
  EXPECT_EQ(first, again);
  ASSERT_EQ(first.size(), other.size());
  for (size_t i = 0; i < first.size(); ++i) {
    const std::string& key = first[i].first;
    if (key == "baseot_sid" || key == "baseot_sid_ot" || key == "rvole_sid" ||
        key == "rvole_sid_p" || key == "rvole_gadget_sha256") {
      EXPECT_EQ(first[i].second, other[i].second) << key;  // seed-independent
    } else {
      EXPECT_NE(first[i].second, other[i].second) << key;
    }
  }
}

TEST(MpcKatFileTest, ParserRejectsMalformedFiles) {
  EXPECT_TRUE(ParseKatFile("# comment\n\nkey = 00ff\n").ok());
  EXPECT_FALSE(ParseKatFile("key 00ff\n").ok());
  EXPECT_FALSE(ParseKatFile("key = 0g\n").ok());
  EXPECT_FALSE(ParseKatFile("key = 001\n").ok());
  EXPECT_FALSE(ParseKatFile(" = 00\n").ok());
  EXPECT_FALSE(ParseKatFile("key = 00\nkey = 00\n").ok());
}

}  // namespace
}  // namespace kagi::mpc
