// File: services/gateway/key_fetch.cc
//
// Which description of a key the gateway believes (FetchKey), and what
// every configured node holds of it (DescribeHolders, for GetKey). See
// gateway.h and key_check.h.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/gateway/agreement.h"
#include "services/gateway/gateway.h"
#include "services/gateway/key_check.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"

namespace kagi::gateway {
namespace {

using kagi::v1::KeyInfo;
using KeyReply = NodeReply<KeyInfo>;

bool SameKey(const KeyInfo& a, const KeyInfo& b) {
  return google::protobuf::util::MessageDifferencer::Equals(
      WithoutNodeNames(a), WithoutNodeNames(b));
}

// What the nodes said of one key, sorted. A node left out of a reshare
// keeps its old epoch: the newest is preferred, but only what the key's
// committee certified (key_check.h); a KeyInfo without a certificate
// (activated before certificates) only where as many nodes as its
// threshold report it identically.
struct KeyAnswers {
  const KeyInfo* newest_certified = nullptr;
  std::vector<const KeyInfo*> uncertified;
  std::vector<std::string> uncertified_by;
  // Answers ignored, each "<node>: <why>".
  std::vector<std::string> refused;
  // Failed calls other than NOT_FOUND.
  std::vector<KeyReply> failures;
  bool all_not_found = true;
};

// CheckAnswer: why the successful answer of `node` to GetKey `key_id` is
// not a description of that key (malformed, or of another key), or OK.
absl::Status CheckAnswer(const KeyReply& call, const std::string& node,
                         const std::string& key_id) {
  absl::Status valid = ValidateKeyInfo(call.response, node);
  if (valid.ok() && call.response.key_id() != key_id) {
    valid = absl::InternalError(absl::StrCat(node, " answered GetKey ",
                                             ShortHex(key_id), " with key ",
                                             ShortHex(call.response.key_id())));
  }
  return valid;
}

// SortAnswers sorts `calls` (answers to GetKey `key_id`); `known` are the
// identity keys of the nodes. A malformed answer, or one about another
// key, is that node's lie or fault: it is ignored (and named), the others
// still count.
KeyAnswers SortAnswers(const std::vector<KeyReply>& calls,
                       const std::string& key_id,
                       const std::set<std::string>& known,
                       const std::vector<std::string>& names) {
  KeyAnswers out;
  std::map<std::string, absl::Status> checked;  // by certificate bytes
  for (const KeyReply& call : calls) {
    const std::string& node = names[call.node];
    if (!call.status.ok()) {
      const bool not_found = call.status.code() == absl::StatusCode::kNotFound;
      out.all_not_found &= not_found;
      if (!not_found) out.failures.push_back(call);
      continue;
    }
    if (absl::Status valid = CheckAnswer(call, node, key_id); !valid.ok()) {
      out.refused.push_back(std::string(valid.message()));
      continue;
    }
    const std::string& certificate = call.response.activation_certificate();
    if (certificate.empty()) {
      out.uncertified.push_back(&call.response);
      out.uncertified_by.push_back(node);
      continue;
    }
    auto it = checked.find(certificate);
    if (it == checked.end()) {
      it = checked
               .emplace(certificate, CheckKeyCertificate(call.response, known))
               .first;
    }
    if (!it->second.ok()) {
      out.refused.push_back(absl::StrCat(node, ": ", it->second.message()));
      continue;
    }
    if (out.newest_certified == nullptr ||
        call.response.epoch() > out.newest_certified->epoch()) {
      out.newest_certified = &call.response;
    }
  }
  return out;
}

// AgreedUncertified: the newest of `answers` that at least its threshold
// of them report identically (without per-node fields), or null.
const KeyInfo* AgreedUncertified(const std::vector<const KeyInfo*>& answers) {
  const KeyInfo* best = nullptr;
  for (const KeyInfo* a : answers) {
    uint32_t agreeing = 0;
    for (const KeyInfo* b : answers) {
      agreeing += SameKey(*a, *b) ? 1 : 0;
    }
    if (agreeing >= a->threshold() &&
        (best == nullptr || a->epoch() > best->epoch())) {
      best = a;
    }
  }
  return best;
}

// Believed: the description to return, or null; uncertified answers that
// differ from a certified one are added to `answers->refused`.
const KeyInfo* Believed(KeyAnswers* answers) {
  if (answers->newest_certified == nullptr) {
    return AgreedUncertified(answers->uncertified);
  }
  for (size_t i = 0; i < answers->uncertified.size(); ++i) {
    if (!SameKey(*answers->uncertified[i], *answers->newest_certified)) {
      answers->refused.push_back(
          absl::StrCat(answers->uncertified_by[i], ": epoch ",
                       answers->uncertified[i]->epoch(),
                       " without an activation certificate"));
    }
  }
  return answers->newest_certified;
}

}  // namespace

absl::StatusOr<KeyInfo> Gateway::FetchKey(const std::string& key_id,
                                          const std::vector<Probe>& probes,
                                          absl::Time deadline) {
  absl::StatusOr<std::vector<size_t>> healthy = view_.Healthy(probes);
  if (!healthy.ok()) {
    return healthy.status();
  }
  kagi::v1::GetKeyRequest request;
  request.set_key_id(key_id);
  const std::vector<KeyReply> calls =
      client_->GetKey(*healthy, request, RequestDeadline(deadline));
  std::set<std::string> known;  // identity keys the nodes report
  for (const Probe& probe : probes) {
    if (!probe.identity_key.empty()) known.insert(probe.identity_key);
  }
  KeyAnswers answers = SortAnswers(calls, key_id, known, node_names_);
  if (const KeyInfo* believed = Believed(&answers); believed != nullptr) {
    KeyInfo out = *believed;
    for (const std::string& r : answers.refused) {
      out.add_warnings(
          absl::StrCat("ignored the description of the key by ", r));
    }
    view_.FillNodeNames(&out);
    return out;
  }
  if (answers.refused.empty() && !answers.uncertified.empty()) {
    const std::string unhealthy = view_.UnhealthyList(probes, view_.All());
    return absl::UnavailableError(absl::StrCat(
        "key ", ShortHex(key_id),
        " has no activation certificate (activated before certificates) "
        "and fewer than its threshold of ",
        answers.uncertified[0]->threshold(),
        " reachable nodes report it identically (", answers.uncertified.size(),
        " answered)", unhealthy.empty() ? "" : "; unreachable: ", unhealthy,
        view_.UnidentifiedNodes(probes)));
  }
  if (!answers.refused.empty() || !answers.uncertified.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no certified description of key ", ShortHex(key_id),
        " and no description reported identically by as many nodes as its "
        "threshold",
        answers.refused.empty() ? "" : "; ignored: ",
        absl::StrJoin(answers.refused, "; ")));
  }
  if (!answers.all_not_found) {
    return PickFailure(answers.failures);
  }
  std::vector<std::string> asked;
  for (size_t node : *healthy) asked.push_back(NameOf(node));
  std::string message = absl::StrCat(
      "key ", absl::BytesToHexString(key_id),
      " is not known to any reachable node (asked ", NodeList(asked), ")");
  if (healthy->size() < node_names_.size()) {
    absl::StrAppend(
        &message, "; unreachable: ", view_.UnhealthyList(probes, view_.All()));
  }
  return absl::NotFoundError(message);
}

std::map<size_t, absl::Status> Gateway::HealLagging(
    const KeyInfo& key, absl::Span<const size_t> lagging, absl::Time deadline) {
  std::map<size_t, absl::Status> healed;
  if (lagging.empty() || key.activation_certificate().empty()) {
    return healed;
  }
  kagi::v1::ActivateRequest request;
  request.set_certificate(key.activation_certificate());
  for (const auto& d :
       client_->Activate(lagging, request, RequestDeadline(deadline))) {
    healed[d.node] = d.status;
  }
  return healed;
}

void Gateway::DescribeHolders(const std::vector<Probe>& probes,
                              absl::Time deadline, KeyInfo* key) {
  std::vector<size_t> asked;
  for (size_t i = 0; i < node_names_.size(); ++i) {
    if (probes[i].healthy) asked.push_back(i);
  }
  kagi::v1::GetKeyRequest get;
  get.set_key_id(key->key_id());
  const std::vector<KeyReply> calls =
      client_->GetKey(asked, get, RequestDeadline(deadline));
  std::set<std::string> committee;
  for (const kagi::v1::KeyParty& p : key->parties()) {
    committee.insert(p.identity_key());
  }
  // Heal: a member behind the newest epoch, or a removed member still
  // holding an old one, gets the newest epoch's certificate.
  std::vector<size_t> lagging;
  for (const KeyReply& call : calls) {
    const bool member = committee.count(probes[call.node].identity_key) != 0;
    const bool behind =
        call.status.ok()
            ? call.response.epoch() < key->epoch()
            : member && call.status.code() == absl::StatusCode::kNotFound;
    if (behind) lagging.push_back(call.node);
  }
  const std::map<size_t, absl::Status> healed =
      HealLagging(*key, lagging, deadline);
  std::map<size_t, const KeyReply*> by_node;
  for (const KeyReply& call : calls) by_node[call.node] = &call;
  for (size_t i = 0; i < node_names_.size(); ++i) {
    kagi::v1::KeyHolder* h = key->add_holders();
    h->set_node(NameOf(i));
    h->set_member(committee.count(probes[i].identity_key) != 0);
    auto it = by_node.find(i);
    auto heal = healed.find(i);
    DescribeHolder(i, probes[i], it == by_node.end() ? nullptr : it->second,
                   heal == healed.end() ? nullptr : &heal->second, key);
  }
}

void Gateway::DescribeHolder(size_t node, const Probe& probe,
                             const KeyReply* call, const absl::Status* heal,
                             KeyInfo* key) const {
  const std::string& name = NameOf(node);
  kagi::v1::KeyHolder* h = key->mutable_holders(key->holders_size() - 1);
  if (call == nullptr) {
    h->set_state("unreachable");
    h->set_note(DescribeNodeError(name, probe.status));
    if (h->member()) {
      key->add_warnings(absl::StrCat(name, " (a member) is unreachable"));
    }
    return;
  }
  if (call->status.ok()) {
    h->set_state("active");
    h->set_epoch(call->response.epoch());
    *h->mutable_pending_epochs() = call->response.pending_epochs();
    if (call->response.legacy_base_ot()) {
      key->add_warnings(absl::StrCat(name,
                                     " holds a share with legacy base-OT "
                                     "material: refresh the key "
                                     "(docs/rotation.md)"));
      key->set_legacy_base_ot(true);
    }
  } else {
    h->set_state(call->status.code() == absl::StatusCode::kNotFound ? "none"
                                                                    : "error");
    if (h->state() == "error") h->set_note(std::string(call->status.message()));
  }
  if (heal != nullptr && heal->ok()) {
    h->set_note(absl::StrCat(h->member() ? "brought forward to epoch "
                                         : "removed member: share erased "
                                           "on the certificate of epoch ",
                             key->epoch()));
    h->set_state(h->member() ? "active" : "none");
    h->set_epoch(h->member() ? key->epoch() : 0);
  } else if (heal != nullptr) {
    const std::string what = absl::StrCat(
        name,
        h->member() ? " is behind the key's epoch "
                    : " was removed from the committee but still holds "
                      "an old share; the key is at epoch ",
        key->epoch(), " and delivering its certificate failed: ",
        DescribeNodeError(name, *heal));
    h->set_note(what);
    key->add_warnings(what);
  } else if (call->status.ok() && call->response.epoch() < key->epoch()) {
    const std::string what =
        absl::StrCat(name, " holds epoch ", call->response.epoch(),
                     "; the key is at epoch ", key->epoch(),
                     key->activation_certificate().empty()
                         ? " (no certificate to bring it forward)"
                         : "");
    h->set_note(what);
    key->add_warnings(what);
  }
}

}  // namespace kagi::gateway
