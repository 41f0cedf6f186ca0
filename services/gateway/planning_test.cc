// File: services/gateway/planning_test.cc
//
// The gateway's pure decisions: request validation, signer-set planning,
// retry classification, agreement, merging, BIP32 derivation against BIP32
// test vector 1, signature checks and caller authorization.
#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/abort.h"
#include "libs/base/bytes.h"
#include "libs/base/check.h"
#include "libs/chain/bech32.h"
#include "libs/crypto/bip32.h"
#include "services/gateway/agreement.h"
#include "services/gateway/authorization.h"
#include "services/gateway/key_derivation.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"
#include "services/gateway/signer_sets.h"
#include "services/gateway/testing/test_key.h"
#include "tests/testing/vectors.h"

namespace kagi::gateway {
namespace {

using ::kagi::gateway::testing::TestIdentityKey;
using ::kagi::gateway::testing::TestKey;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Subsets = std::vector<std::vector<uint32_t>>;

std::string Message(const absl::Status& status) {
  return std::string(status.message());
}

// --- validation -------------------------------------------------------------

TEST(ValidateRequestIdTest, AcceptsPrintableAsciiUpTo128) {
  EXPECT_TRUE(ValidateRequestId("a").ok());
  EXPECT_TRUE(ValidateRequestId(std::string(128, '~')).ok());
  EXPECT_TRUE(ValidateRequestId("withdrawal-2024/06/01#17").ok());
}

TEST(ValidateRequestIdTest, RefusesEmptyLongSpacesAndControlCharacters) {
  for (const std::string& bad :
       {std::string(), std::string(129, 'a'), std::string("with space"),
        std::string("tab\there"), std::string("caf\xc3\xa9"),
        std::string("nul\0x", 5)}) {
    SCOPED_TRACE(bad);
    const absl::Status status = ValidateRequestId(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(status), HasSubstr("request_id"));
  }
}

TEST(ValidatePathTest, RefusesHardenedIndicesAndDeepPaths) {
  EXPECT_TRUE(ValidatePath({}, "path").ok());
  EXPECT_TRUE(ValidatePath({0, 1, 0x7fffffff}, "path").ok());
  const absl::Status hardened = ValidatePath({0, 0x80000000u}, "path");
  EXPECT_EQ(hardened.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(hardened), HasSubstr("path[1]"));
  EXPECT_THAT(Message(hardened), HasSubstr("hardened"));
  EXPECT_FALSE(ValidatePath(std::vector<uint32_t>(256, 1), "path").ok());
  EXPECT_TRUE(ValidatePath(std::vector<uint32_t>(255, 1), "path").ok());
}

TEST(ParseNetworkTest, DefaultsToMainnet) {
  EXPECT_EQ(*ParseNetwork(""), chain::Network::kMainnet);
  EXPECT_EQ(*ParseNetwork("mainnet"), chain::Network::kMainnet);
  EXPECT_EQ(*ParseNetwork("testnet"), chain::Network::kTestnet);
  EXPECT_EQ(*ParseNetwork("regtest"), chain::Network::kRegtest);
  const absl::Status bad = ParseNetwork("litecoin").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(bad), HasSubstr("network"));
}

const std::vector<std::string>& Configured() {
  static const auto* nodes =
      new std::vector<std::string>{"alpha", "bravo", "charlie"};
  return *nodes;
}

kagi::v1::CreateKeyRequest CreateKey(uint32_t t,
                                     const std::vector<std::string>& nodes) {
  kagi::v1::CreateKeyRequest request;
  request.set_request_id("create-1");
  request.set_threshold(t);
  for (const std::string& node : nodes) {
    request.add_nodes(node);
  }
  return request;
}

TEST(ChooseDkgNodesTest, DefaultsToEveryConfiguredNodeInOrder) {
  absl::StatusOr<std::vector<std::string>> nodes =
      ChooseDkgNodes(CreateKey(2, {}), Configured());
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_THAT(*nodes, ElementsAre("alpha", "bravo", "charlie"));
}

TEST(ChooseDkgNodesTest, KeepsTheRequestedOrder) {
  absl::StatusOr<std::vector<std::string>> nodes =
      ChooseDkgNodes(CreateKey(2, {"charlie", "alpha"}), Configured());
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  EXPECT_THAT(*nodes, ElementsAre("charlie", "alpha"));
}

TEST(ChooseDkgNodesTest, RefusesBadRequests) {
  struct TestCase {
    kagi::v1::CreateKeyRequest request;
    std::string error;
  };
  kagi::v1::CreateKeyRequest no_id = CreateKey(2, {});
  no_id.clear_request_id();
  const std::vector<TestCase> cases = {
      {no_id, "request_id"},
      {CreateKey(2, {"alpha", "delta"}), "nodes[1]: unknown node \"delta\""},
      {CreateKey(2, {"alpha", "alpha"}),
       "nodes[1]: node alpha is listed twice"},
      {CreateKey(1, {}), "threshold: must be 2..3"},
      {CreateKey(3, {"alpha", "bravo"}), "threshold: must be 2..2"},
      {CreateKey(0, {}), "threshold"},
  };
  for (const TestCase& test : cases) {
    SCOPED_TRACE(test.error);
    const absl::Status status =
        ChooseDkgNodes(test.request, Configured()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(status), HasSubstr(test.error));
  }
}

kagi::v1::SignRequest GoodSignRequest() {
  kagi::v1::SignRequest request;
  request.set_request_id("sign-1");
  request.set_key_id(std::string(32, 'k'));
  request.set_expiry_unix_seconds(2000000000);
  kagi::v1::DigestItem* item =
      request.mutable_payload()->mutable_raw_digest()->add_items();
  item->set_digest(std::string(32, 'd'));
  item->add_path(0);
  item->add_path(7);
  return request;
}

TEST(ValidateSignRequestTest, AcceptsAWellFormedRequest) {
  EXPECT_TRUE(ValidateSignRequest(GoodSignRequest()).ok());
}

TEST(ValidateSignRequestTest, NamesTheFieldAtFault) {
  struct TestCase {
    std::string name;
    void (*mutate)(kagi::v1::SignRequest&);
    std::string error;
  };
  const std::vector<TestCase> cases = {
      {"no id", [](kagi::v1::SignRequest& r) { r.clear_request_id(); },
       "request_id"},
      {"short key id",
       [](kagi::v1::SignRequest& r) { r.set_key_id(std::string(31, 'k')); },
       "key_id: must be 32 bytes, got 31"},
      {"no payload", [](kagi::v1::SignRequest& r) { r.clear_payload(); },
       "payload: missing"},
      {"no kind",
       [](kagi::v1::SignRequest& r) { r.mutable_payload()->Clear(); },
       "payload: no payload kind"},
      {"no items",
       [](kagi::v1::SignRequest& r) {
         r.mutable_payload()->mutable_raw_digest()->clear_items();
       },
       "payload.raw_digest.items: must have 1..64 items, got 0"},
      {"65 items",
       [](kagi::v1::SignRequest& r) {
         for (int i = 0; i < 64; ++i) {
           *r.mutable_payload()->mutable_raw_digest()->add_items() =
               r.payload().raw_digest().items(0);
         }
       },
       "got 65"},
      {"short digest",
       [](kagi::v1::SignRequest& r) {
         r.mutable_payload()
             ->mutable_raw_digest()
             ->mutable_items(0)
             ->set_digest("abc");
       },
       "payload.raw_digest.items[0].digest: must be 32 bytes, got 3"},
      {"hardened path",
       [](kagi::v1::SignRequest& r) {
         r.mutable_payload()->mutable_raw_digest()->mutable_items(0)->add_path(
             0x80000001u);
       },
       "payload.raw_digest.items[0].path[2]"},
  };
  for (const TestCase& test : cases) {
    SCOPED_TRACE(test.name);
    kagi::v1::SignRequest request = GoodSignRequest();
    test.mutate(request);
    const absl::Status status = ValidateSignRequest(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Message(status), HasSubstr(test.error));
  }
}

TEST(ValidateReshareRequestTest, ChecksNodesAndThreshold) {
  kagi::v1::ReshareRequest request;
  request.set_request_id("reshare-1");
  request.set_key_id(std::string(32, 'k'));
  request.set_new_threshold(2);
  request.add_new_nodes("charlie");
  request.add_new_nodes("alpha");
  EXPECT_TRUE(ValidateReshareRequest(request, Configured()).ok());

  kagi::v1::ReshareRequest bad = request;
  bad.set_new_threshold(3);
  EXPECT_THAT(Message(ValidateReshareRequest(bad, Configured())),
              HasSubstr("new_threshold: must be 2..2"));
  bad = request;
  bad.add_new_nodes("zulu");
  EXPECT_THAT(Message(ValidateReshareRequest(bad, Configured())),
              HasSubstr("new_nodes[2]: unknown node"));
  bad = request;
  bad.clear_new_nodes();
  EXPECT_THAT(Message(ValidateReshareRequest(bad, Configured())),
              HasSubstr("new_nodes"));
  bad = request;
  bad.set_key_id("");
  EXPECT_THAT(Message(ValidateReshareRequest(bad, Configured())),
              HasSubstr("key_id"));
}

// --- signer-set planning
// ------------------------------------------------------

TEST(PlanSignerSetsTest, ListsEverySubsetLexicographically) {
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 2, 0),
            (Subsets{{1, 2}, {1, 3}, {2, 3}}));
  EXPECT_EQ(PlanSignerSets({3, 1, 2, 4}, {}, 3, 0),
            (Subsets{{1, 2, 3}, {1, 2, 4}, {1, 3, 4}, {2, 3, 4}}));
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 3, 0), (Subsets{{1, 2, 3}}));
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 1, 0), (Subsets{{1}, {2}, {3}}));
}

TEST(PlanSignerSetsTest, RotatesTheStartingSubset) {
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 2, 1),
            (Subsets{{1, 3}, {2, 3}, {1, 2}}));
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 2, 2),
            (Subsets{{2, 3}, {1, 2}, {1, 3}}));
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 2, 3),
            PlanSignerSets({1, 2, 3}, {}, 2, 0));
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, {}, 2, UINT64_MAX),
            PlanSignerSets({1, 2, 3}, {}, 2, UINT64_MAX % 3));
}

TEST(PlanSignerSetsTest, PutsSubsetsWithUnhealthyPartiesLast) {
  const absl::flat_hash_set<uint32_t> unhealthy = {2};
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, unhealthy, 2, 0),
            (Subsets{{1, 3}, {1, 2}, {2, 3}}));
  // Each group rotates on its own.
  EXPECT_EQ(PlanSignerSets({1, 2, 3}, unhealthy, 2, 1),
            (Subsets{{1, 3}, {2, 3}, {1, 2}}));
  // Fewer unhealthy members come first.
  const absl::flat_hash_set<uint32_t> two_down = {1, 2};
  EXPECT_EQ(PlanSignerSets({1, 2, 3, 4}, two_down, 2, 0),
            (Subsets{{3, 4}, {1, 3}, {1, 4}, {2, 3}, {2, 4}, {1, 2}}));
}

TEST(PlanSignerSetsTest, RotationSpreadsTheFirstChoiceEvenly) {
  // Over C(5,3) = 10 consecutive requests each party leads 6 times.
  std::map<uint32_t, int> uses;
  for (uint64_t rotation = 0; rotation < 10; ++rotation) {
    const Subsets plan = PlanSignerSets({1, 2, 3, 4, 5}, {}, 3, rotation);
    for (uint32_t id : plan[0]) {
      ++uses[id];
    }
  }
  for (uint32_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(uses[id], 6) << "party " << id;
  }
}

TEST(PlanSignerSetsTest, HandlesSixteenPartiesAndDegenerateThresholds) {
  const std::vector<uint32_t> parties = {1, 2,  3,  4,  5,  6,  7,  8,
                                         9, 10, 11, 12, 13, 14, 15, 16};
  const Subsets all = PlanSignerSets(parties, {}, 8, 12345);
  EXPECT_EQ(all.size(), 12870u);
  const std::set<std::vector<uint32_t>> distinct(all.begin(), all.end());
  EXPECT_EQ(distinct.size(), all.size());
  for (const auto& subset : all) {
    ASSERT_EQ(subset.size(), 8u);
    EXPECT_TRUE(std::is_sorted(subset.begin(), subset.end()));
  }
  EXPECT_TRUE(PlanSignerSets(parties, {}, 0, 0).empty());
  EXPECT_TRUE(PlanSignerSets({1, 2}, {}, 3, 0).empty());
  EXPECT_TRUE(PlanSignerSets({}, {}, 1, 0).empty());
}

// --- retry classification
// -------------------------------------------------------

kagi::v1::ErrorDetails Details(const std::string& abort_class,
                               const std::vector<std::string>& culprits) {
  kagi::v1::ErrorDetails details;
  details.set_abort_class(abort_class);
  for (const std::string& culprit : culprits) {
    details.add_culprit_nodes(culprit);
  }
  return details;
}

TEST(ClassifyNodeErrorTest, RetriesOnlyTransientFailures) {
  using Code = grpc::StatusCode;
  struct TestCase {
    Code code;
    std::optional<kagi::v1::ErrorDetails> details;
    NodeErrorKind kind;
  };
  const std::vector<TestCase> cases = {
      {Code::UNAVAILABLE, std::nullopt, NodeErrorKind::kRetryable},
      {Code::DEADLINE_EXCEEDED, std::nullopt, NodeErrorKind::kRetryable},
      {Code::ABORTED, Details("A", {}), NodeErrorKind::kRetryable},
      {Code::DEADLINE_EXCEEDED, Details("A", {}), NodeErrorKind::kRetryable},
      {Code::ABORTED, Details("B", {"bravo"}), NodeErrorKind::kBlamed},
      {Code::ABORTED, Details("C", {"bravo"}), NodeErrorKind::kBlamed},
      {Code::ABORTED, Details("D", {}), NodeErrorKind::kBlamed},
      // A blame wins over a transient-looking code.
      {Code::UNAVAILABLE, Details("B", {"bravo"}), NodeErrorKind::kBlamed},
      {Code::INTERNAL, Details("", {"bravo"}), NodeErrorKind::kBlamed},
      {Code::INVALID_ARGUMENT, std::nullopt, NodeErrorKind::kRequestError},
      {Code::PERMISSION_DENIED, Details("", {}), NodeErrorKind::kRequestError},
      {Code::ALREADY_EXISTS, std::nullopt, NodeErrorKind::kRequestError},
      {Code::NOT_FOUND, std::nullopt, NodeErrorKind::kRequestError},
      {Code::FAILED_PRECONDITION, std::nullopt, NodeErrorKind::kRequestError},
      {Code::INTERNAL, std::nullopt, NodeErrorKind::kNodeFault},
      {Code::UNKNOWN, std::nullopt, NodeErrorKind::kNodeFault},
      {Code::RESOURCE_EXHAUSTED, std::nullopt, NodeErrorKind::kNodeFault},
      {Code::ABORTED, std::nullopt, NodeErrorKind::kNodeFault},
      {Code::UNIMPLEMENTED, std::nullopt, NodeErrorKind::kNodeFault},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ClassifyNodeError(static_cast<absl::StatusCode>(cases[i].code),
                                cases[i].details),
              cases[i].kind);
  }
}

TEST(ClassifyNodeErrorTest, ReadsTheDetailsNodesAttach) {
  const auto party_name = [](uint32_t party) {
    return absl::StrCat("node-", party);
  };
  EXPECT_EQ(ClassifyNodeError(NodeStatus(transport::ToGrpcStatus(
                BlameError(2, "bad proof"), "node-1", party_name))),
            NodeErrorKind::kBlamed);
  EXPECT_EQ(ClassifyNodeError(NodeStatus(transport::ToGrpcStatus(
                AbortError(AbortClass::kTimeout, {}, "round 2 timed out"),
                "node-1", party_name))),
            NodeErrorKind::kRetryable);
  EXPECT_EQ(ClassifyNodeError(NodeStatus(transport::ToGrpcStatus(
                absl::FailedPreconditionError("expired"), "node-1"))),
            NodeErrorKind::kRequestError);
  EXPECT_EQ(ClassifyNodeError(NodeStatus(
                grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed"))),
            NodeErrorKind::kRetryable);
  EXPECT_TRUE(IsTransportFailure(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsTransportFailure(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(IsTransportFailure(absl::StatusCode::kAborted));
  EXPECT_GT(NodeErrorRank(NodeErrorKind::kBlamed),
            NodeErrorRank(NodeErrorKind::kRequestError));
  EXPECT_GT(NodeErrorRank(NodeErrorKind::kRequestError),
            NodeErrorRank(NodeErrorKind::kNodeFault));
  EXPECT_GT(NodeErrorRank(NodeErrorKind::kNodeFault),
            NodeErrorRank(NodeErrorKind::kRetryable));
}

TEST(ClassifyNodeErrorTest, ASignerThatDoesNotKnowTheKeyIsAtFault) {
  EXPECT_EQ(ClassifySignerError(NodeStatus(transport::ToGrpcStatus(
                absl::NotFoundError("key_id: unknown key"), "node-3"))),
            NodeErrorKind::kNodeFault);
  // Everything else as ClassifyNodeError.
  EXPECT_EQ(ClassifySignerError(NodeStatus(transport::ToGrpcStatus(
                absl::PermissionDeniedError("policy"), "node-3"))),
            NodeErrorKind::kRequestError);
  EXPECT_EQ(ClassifySignerError(NodeStatus(transport::ToGrpcStatus(
                BlameError(2, "bad proof"), "node-1",
                [](uint32_t p) { return absl::StrCat("node-", p); }))),
            NodeErrorKind::kBlamed);
  EXPECT_EQ(ClassifySignerError(NodeStatus(
                grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed"))),
            NodeErrorKind::kRetryable);
}

TEST(DescribeNodeErrorTest, IncludesCodeMessageAndAbortClass) {
  EXPECT_EQ(DescribeNodeError(
                "bravo", NodeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                 "connection refused"))),
            "bravo: UNAVAILABLE: connection refused");
  const std::string blamed = DescribeNodeError(
      "alpha", NodeStatus(transport::ToGrpcStatus(
                   BlameError(2, "bad proof"), "alpha",
                   [](uint32_t) { return std::string("bravo"); })));
  EXPECT_THAT(blamed, HasSubstr("alpha: ABORTED"));
  EXPECT_THAT(blamed, HasSubstr("(abort class B, culprits bravo)"));
}

// --- agreement and merging
// ---------------------------------------------------------

TEST(CheckAgreementTest, AcceptsEqualAnswers) {
  kagi::v1::KeyInfo a;
  a.set_epoch(3);
  const kagi::v1::KeyInfo b = a;
  EXPECT_TRUE(CheckAgreement({}, "x").ok());
  EXPECT_TRUE(CheckAgreement({{"alpha", &a}}, "x").ok());
  EXPECT_TRUE(CheckAgreement({{"alpha", &a}, {"bravo", &b}}, "x").ok());
}

TEST(CheckAgreementTest, NamesTheGroupsThatDisagree) {
  kagi::v1::StartSignResponse one;
  one.add_signatures()->set_signature(std::string(64, '1'));
  kagi::v1::StartSignResponse two;
  two.add_signatures()->set_signature(std::string(64, '2'));
  const absl::Status status = CheckAgreement(
      {{"alpha", &two}, {"bravo", &one}, {"charlie", &one}}, "the signatures");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Message(status),
            "nodes disagree on the signatures: [bravo, charlie] vs [alpha]");
}

TEST(CheckAgreementTest, KeyInfosAreComparedWithoutNodeNames) {
  const TestKey key = TestKey::Make(
      1, 2, {TestIdentityKey(0), TestIdentityKey(1), TestIdentityKey(2)});
  kagi::v1::KeyInfo as_alpha_sees_it = key.info;
  as_alpha_sees_it.mutable_parties(1)->set_node("bravo");
  kagi::v1::KeyInfo as_bravo_sees_it = key.info;
  as_bravo_sees_it.mutable_parties(1)->set_node("self");
  const kagi::v1::KeyInfo a = WithoutNodeNames(as_alpha_sees_it);
  const kagi::v1::KeyInfo b = WithoutNodeNames(as_bravo_sees_it);
  EXPECT_TRUE(CheckAgreement({{"alpha", &a}, {"bravo", &b}}, "k").ok());
  kagi::v1::KeyInfo c = b;
  c.set_epoch(1);
  EXPECT_THAT(
      Message(CheckAgreement({{"alpha", &a}, {"bravo", &b}, {"charlie", &c}},
                             "the new key")),
      HasSubstr("nodes disagree on the new key: [alpha, bravo] vs [charlie]"));
}

TEST(MergeKeyListsTest, MergesByKeyIdPreferringTheHighestEpoch) {
  kagi::v1::KeyInfo k1;
  k1.set_key_id(std::string(32, '\x01'));
  kagi::v1::KeyInfo k2;
  k2.set_key_id(std::string(32, '\x02'));
  kagi::v1::KeyInfo k2_next = k2;
  k2_next.set_epoch(1);
  kagi::v1::ListKeysResponse alpha;
  *alpha.add_keys() = k2;
  kagi::v1::ListKeysResponse bravo;
  *bravo.add_keys() = k2_next;
  *bravo.add_keys() = k1;
  kagi::v1::ListKeysResponse charlie;
  *charlie.add_keys() = k2;
  const kagi::v1::ListKeysResponse merged =
      MergeKeyLists({alpha, bravo, charlie});
  ASSERT_EQ(merged.keys_size(), 2);
  EXPECT_EQ(merged.keys(0).key_id(), k1.key_id());
  EXPECT_EQ(merged.keys(1).key_id(), k2.key_id());
  EXPECT_EQ(merged.keys(1).epoch(), 1u);
  EXPECT_EQ(MergeKeyLists({}).keys_size(), 0);
}

TEST(MostAdvancedStatusTest, SucceededBeatsInProgressBeatsFailedBeatsUnknown) {
  auto status = [](const std::string& state) {
    kagi::v1::RequestStatus s;
    s.set_state(state);
    return s;
  };
  EXPECT_EQ(MostAdvancedStatus({}), std::nullopt);
  EXPECT_EQ(MostAdvancedStatus({status("unknown"), status("failed"),
                                status("succeeded"), status("in_progress")}),
            2u);
  EXPECT_EQ(MostAdvancedStatus({status("in_progress"), status("signed")}), 1u);
  EXPECT_EQ(MostAdvancedStatus({status("in_progress"), status("failed")}), 0u);
  EXPECT_EQ(MostAdvancedStatus({status("unknown"), status("failed")}), 1u);
  EXPECT_EQ(MostAdvancedStatus({status("bogus"), status("unknown")}), 1u);
  EXPECT_EQ(MostAdvancedStatus({status("unknown"), status("unknown")}), 0u);
  EXPECT_EQ(RequestStateRank("succeeded"), 3);
  EXPECT_EQ(RequestStateRank("signed"), 3);
  EXPECT_EQ(RequestStateRank("nonsense"), -1);
}

// --- KeyInfo checks
// -------------------------------------------------------------------

TEST(ValidateKeyInfoTest, AcceptsAGoodKeyAndNamesTheSource) {
  const TestKey key = TestKey::Make(
      2, 2, {TestIdentityKey(0), TestIdentityKey(1), TestIdentityKey(2)});
  EXPECT_TRUE(ValidateKeyInfo(key.info, "alpha").ok());

  kagi::v1::KeyInfo bad = key.info;
  bad.mutable_parties(1)->set_id(3);
  absl::Status status = ValidateKeyInfo(bad, "alpha");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(status), HasSubstr("alpha returned a malformed KeyInfo"));
  EXPECT_THAT(Message(status), HasSubstr("parties[1] has id 3"));

  bad = key.info;
  bad.mutable_parties(2)->set_identity_key(TestIdentityKey(0));
  EXPECT_THAT(Message(ValidateKeyInfo(bad, "alpha")), HasSubstr("repeats"));
  bad = key.info;
  bad.set_threshold(4);
  EXPECT_THAT(Message(ValidateKeyInfo(bad, "alpha")), HasSubstr("threshold"));
  bad = key.info;
  bad.set_public_key(std::string(33, '\x05'));
  EXPECT_FALSE(ValidateKeyInfo(bad, "alpha").ok());
  bad = key.info;
  bad.set_chain_code("short");
  EXPECT_THAT(Message(ValidateKeyInfo(bad, "alpha")), HasSubstr("chain_code"));
}

TEST(CheckNewCommitteeTest, ComparesCommitteeThresholdAndEpoch) {
  const std::vector<std::string> committee = {TestIdentityKey(0),
                                              TestIdentityKey(1)};
  const TestKey key = TestKey::Make(3, 2, committee);
  EXPECT_TRUE(CheckNewCommittee(key.info, committee, 2, "alpha").ok());
  EXPECT_THAT(Message(CheckNewCommittee(key.info, committee, 1, "alpha")),
              HasSubstr("threshold 2, asked for 1"));
  EXPECT_THAT(
      Message(CheckNewCommittee(
          key.info, {TestIdentityKey(1), TestIdentityKey(0)}, 2, "alpha")),
      HasSubstr("party 1 is not the node asked for"));

  kagi::v1::KeyInfo next = key.info;
  next.set_epoch(1);
  EXPECT_TRUE(CheckReshareResult(key.info, next, "alpha").ok());
  EXPECT_THAT(Message(CheckReshareResult(key.info, key.info, "alpha")),
              HasSubstr("epoch 0, expected 1"));
  next.set_public_key(TestKey::Make(4, 2, committee).info.public_key());
  EXPECT_THAT(Message(CheckReshareResult(key.info, next, "alpha")),
              HasSubstr("different key"));
}

// --- derivation
// ---------------------------------------------------------------------

// BIP32 test vector 1 (tests/vectors/bip32_test_vectors.json): chain i's
// extended public key.
std::string Vector1Xpub(int chain) {
  absl::StatusOr<google::protobuf::Value> json =
      kagi::testing::LoadJsonVector("bip32_test_vectors.json");
  KAGI_CHECK(json.ok());
  const auto& vector1 =
      kagi::testing::GetField(*json, "vectors").list_value().values(0);
  return kagi::testing::GetString(
      kagi::testing::GetField(vector1, "chains").list_value().values(chain),
      "ext_pub");
}

TEST(DeriveChildTest, ReproducesTheNonHardenedStepsOfBip32Vector1) {
  // Chains: 0 m, 1 m/0H, 2 m/0H/1, 3 m/0H/1/2H, 4 m/0H/1/2H/2,
  // 5 m/0H/1/2H/2/1000000000.
  absl::StatusOr<crypto::ExtendedPublicKey> m0h =
      crypto::ExtendedPublicKey::Decode(Vector1Xpub(1));
  ASSERT_TRUE(m0h.ok()) << m0h.status();
  absl::StatusOr<kagi::v1::DerivedKey> m0h1 =
      DeriveChild(*m0h, {1}, chain::Network::kMainnet);
  ASSERT_TRUE(m0h1.ok()) << m0h1.status();
  EXPECT_EQ(m0h1->xpub(), Vector1Xpub(2));
  EXPECT_THAT(m0h1->path(), ElementsAre(1u));

  // The public key and address are those of the vector's key.
  absl::StatusOr<crypto::ExtendedPublicKey> expected =
      crypto::ExtendedPublicKey::Decode(Vector1Xpub(2));
  ASSERT_TRUE(expected.ok());
  const auto expected_key = expected->key().ToCompressed();
  EXPECT_EQ(m0h1->public_key(),
            std::string(expected_key.begin(), expected_key.end()));
  EXPECT_EQ(m0h1->p2wpkh_address(),
            *chain::P2wpkhAddress(expected_key, chain::Network::kMainnet));

  absl::StatusOr<crypto::ExtendedPublicKey> m0h12h =
      crypto::ExtendedPublicKey::Decode(Vector1Xpub(3));
  ASSERT_TRUE(m0h12h.ok());
  absl::StatusOr<kagi::v1::DerivedKey> two_steps =
      DeriveChild(*m0h12h, {2, 1000000000}, chain::Network::kMainnet);
  ASSERT_TRUE(two_steps.ok()) << two_steps.status();
  EXPECT_EQ(two_steps->xpub(), Vector1Xpub(5));
  EXPECT_EQ(DeriveChild(*m0h12h, {2}, chain::Network::kMainnet)->xpub(),
            Vector1Xpub(4));
}

TEST(DeriveFromKeyInfoTest, StartsAtTheRootAndRefusesHardenedSteps) {
  // The vector's master key as a Kagi KeyInfo (depth 0).
  const std::string master_xpub = Vector1Xpub(0);
  EXPECT_EQ(master_xpub,
            "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESF"
            "jqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8");
  absl::StatusOr<crypto::ExtendedPublicKey> m =
      crypto::ExtendedPublicKey::Decode(master_xpub);
  ASSERT_TRUE(m.ok());
  kagi::v1::KeyInfo key;
  const auto pub = m->key().ToCompressed();
  key.set_public_key(std::string(pub.begin(), pub.end()));
  key.set_chain_code(
      std::string(m->chain_code().begin(), m->chain_code().end()));

  absl::StatusOr<kagi::v1::DerivedKey> root =
      DeriveFromKeyInfo(key, {}, chain::Network::kMainnet);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->xpub(), master_xpub);

  absl::StatusOr<kagi::v1::DerivedKey> child =
      DeriveFromKeyInfo(key, {0, 5}, chain::Network::kMainnet);
  ASSERT_TRUE(child.ok());
  absl::StatusOr<crypto::ExtendedPublicKey> decoded =
      crypto::ExtendedPublicKey::Decode(child->xpub());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->depth(), 2);
  EXPECT_EQ(decoded->child_number(), 5u);
  EXPECT_EQ(*m->Ckdpub(0)->Ckdpub(5), *decoded);

  absl::StatusOr<kagi::v1::DerivedKey> testnet =
      DeriveFromKeyInfo(key, {0}, chain::Network::kTestnet);
  ASSERT_TRUE(testnet.ok());
  EXPECT_EQ(testnet->xpub().substr(0, 4), "tpub");
  EXPECT_EQ(testnet->p2wpkh_address().substr(0, 3), "tb1");
  EXPECT_EQ(
      testnet->public_key(),
      DeriveFromKeyInfo(key, {0}, chain::Network::kMainnet)->public_key());
  EXPECT_EQ(DeriveFromKeyInfo(key, {0}, chain::Network::kRegtest)
                ->p2wpkh_address()
                .substr(0, 5),
            "bcrt1");

  const absl::Status hardened =
      DeriveFromKeyInfo(key, {0x80000000u}, chain::Network::kMainnet).status();
  EXPECT_EQ(hardened.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(hardened), HasSubstr("hardened"));
}

TEST(DeriveFromKeyInfoTest, GivesTheBip173AddressForTheGenerator) {
  kagi::v1::KeyInfo key;
  const Bytes generator = *HexDecode(
      "0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798");
  key.set_public_key(std::string(generator.begin(), generator.end()));
  key.set_chain_code(std::string(32, '\0'));
  absl::StatusOr<kagi::v1::DerivedKey> root =
      DeriveFromKeyInfo(key, {}, chain::Network::kMainnet);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->p2wpkh_address(),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
}

// --- signatures
// ----------------------------------------------------------------------

kagi::v1::SignRequest TwoItemRequest(const TestKey& key) {
  kagi::v1::SignRequest request;
  request.set_request_id("sign-2");
  request.set_key_id(key.info.key_id());
  auto* items = request.mutable_payload()->mutable_raw_digest();
  kagi::v1::DigestItem* first = items->add_items();
  first->set_digest(std::string(32, '\x11'));
  kagi::v1::DigestItem* second = items->add_items();
  second->set_digest(std::string(32, '\x22'));
  second->add_path(0);
  second->add_path(42);
  return request;
}

TEST(VerifySignResponseTest, AcceptsHonestSignatures) {
  const TestKey key =
      TestKey::Make(5, 2, {TestIdentityKey(0), TestIdentityKey(1)});
  const kagi::v1::SignRequest request = TwoItemRequest(key);
  EXPECT_TRUE(VerifySignResponse(key.info, request, key.Sign(request)).ok());
  EXPECT_TRUE(VerifySignResponse(key.info, request, key.Sign(request, 7)).ok());
}

TEST(VerifySignResponseTest, RefusesAnythingElse) {
  const TestKey key =
      TestKey::Make(6, 2, {TestIdentityKey(0), TestIdentityKey(1)});
  const kagi::v1::SignRequest request = TwoItemRequest(key);
  const kagi::v1::StartSignResponse good = key.Sign(request);
  struct TestCase {
    std::string name;
    void (*mutate)(kagi::v1::StartSignResponse&);
    std::string error;
  };
  const std::vector<TestCase> cases = {
      {"missing item",
       [](kagi::v1::StartSignResponse& r) {
         r.mutable_signatures()->RemoveLast();
       },
       "returned 1 signatures for 2 items"},
      {"swapped items",
       [](kagi::v1::StartSignResponse& r) {
         r.mutable_signatures()->SwapElements(0, 1);
       },
       "signature 0 (path m): is over a different digest"},
      {"other path",
       [](kagi::v1::StartSignResponse& r) {
         r.mutable_signatures(1)->set_path(1, 43);
       },
       "signature 1 (path m/0/42): is for path m/0/43 instead"},
      {"root key instead of derived",
       [](kagi::v1::StartSignResponse& r) {
         r.mutable_signatures(1)->set_public_key(r.signatures(0).public_key());
       },
       "is not the BIP32 derivation"},
      {"bad signature",
       [](kagi::v1::StartSignResponse& r) {
         std::string sig = r.signatures(0).signature();
         sig[5] = static_cast<char>(sig[5] ^ 1);
         r.mutable_signatures(0)->set_signature(sig);
       },
       "signature 0 (path m): does not verify"},
      {"short signature",
       [](kagi::v1::StartSignResponse& r) {
         r.mutable_signatures(0)->set_signature("short");
       },
       "does not verify"},
      {"recovery id",
       [](kagi::v1::StartSignResponse& r) {
         r.mutable_signatures(0)->set_recovery_id(4);
       },
       "recovery id 4"},
  };
  for (const TestCase& test : cases) {
    SCOPED_TRACE(test.name);
    kagi::v1::StartSignResponse response = good;
    test.mutate(response);
    const absl::Status status = VerifySignResponse(key.info, request, response);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(Message(status), HasSubstr(test.error));
  }
  // A signature by another key over the same digests.
  const TestKey other =
      TestKey::Make(7, 2, {TestIdentityKey(0), TestIdentityKey(1)});
  EXPECT_FALSE(VerifySignResponse(key.info, request, other.Sign(request)).ok());
}

// --- callers
// ---------------------------------------------------------------------------

TEST(AuthorizeClientTest, RequiresAClientCertificateListedWhenListsAreSet) {
  const transport::CertIdentity ops{transport::Role::kClient, "ops-1"};
  const transport::CertIdentity node{transport::Role::kNode, "alpha"};
  const std::vector<std::string> none;
  const std::vector<std::string> listed = {"ops-1", "risk"};

  EXPECT_TRUE(AuthorizeClient(ops, none, "gw").ok());
  EXPECT_TRUE(AuthorizeClient(ops, listed, "gw").ok());

  absl::Status status = AuthorizeClient(
      absl::UnauthenticatedError("no peer certificate"), none, "gw");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Message(status), HasSubstr("no peer certificate"));

  status = AuthorizeClient(node, none, "gw");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(status), HasSubstr("node/alpha"));
  EXPECT_THAT(Message(status), HasSubstr("role client"));

  status = AuthorizeClient(
      transport::CertIdentity{transport::Role::kClient, "intruder"}, listed,
      "gw");
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(status), HasSubstr("client/intruder"));
}

}  // namespace
}  // namespace kagi::gateway
