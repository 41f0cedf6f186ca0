// File: services/gateway/committee.cc
//
// The operations that make a new committee or epoch of a key: CreateKey
// (the DKG), Refresh and Reshare (StartReshare), and the activation that
// ends each of them everywhere. See gateway.h.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/gateway/agreement.h"
#include "services/gateway/gateway.h"
#include "services/gateway/node_errors.h"
#include "services/gateway/request_shape.h"

namespace kagi::gateway {
namespace {

using kagi::v1::KeyInfo;

size_t IndexOf(const std::vector<std::string>& names, const std::string& name) {
  return static_cast<size_t>(std::find(names.begin(), names.end(), name) -
                             names.begin());
}

bool Contains(absl::Span<const size_t> nodes, size_t node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

// DistinctIdentities: FailedPrecondition naming the first two of `nodes`
// (with `names`) that report the same identity key.
absl::Status DistinctIdentities(absl::Span<const size_t> nodes,
                                absl::Span<const std::string> identity_keys,
                                const std::vector<std::string>& names) {
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (identity_keys[j] == identity_keys[i]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "nodes ", names[nodes[j]], " and ", names[nodes[i]],
            " report the same identity key ", ShortHex(identity_keys[i]),
            " (two configured names for one node?)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

// --- CreateKey
// -----------------------------------------------------------------

absl::StatusOr<KeyInfo> Gateway::CreateKey(
    const kagi::v1::CreateKeyRequest& request, absl::string_view initiator,
    absl::Time deadline) {
  absl::StatusOr<std::vector<std::string>> chosen =
      ChooseDkgNodes(request, node_names_);
  if (!chosen.ok()) {
    return chosen.status();
  }
  std::vector<size_t> nodes;
  for (const std::string& name : *chosen) {
    nodes.push_back(IndexOf(node_names_, name));
  }
  const std::vector<Probe> probes = view_.Probe(nodes, deadline);
  const std::string unhealthy = view_.UnhealthyList(probes, nodes);
  if (!unhealthy.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot run the key generation: every chosen node must be reachable: ",
        unhealthy));
  }
  std::vector<std::string> identity_keys;
  for (size_t node : nodes) identity_keys.push_back(probes[node].identity_key);
  if (absl::Status distinct =
          DistinctIdentities(nodes, identity_keys, node_names_);
      !distinct.ok()) {
    return distinct;
  }
  kagi::v1::StartDkgRequest dkg;
  dkg.set_request_id(request.request_id());
  dkg.set_threshold(request.threshold());
  *dkg.mutable_networks() = request.networks();
  for (const std::string& key : identity_keys) dkg.add_party_identity_keys(key);
  dkg.set_initiator_nonce(NewNonce());
  dkg.set_expiry_unix_seconds(ClientExpiry(request.expiry_unix_seconds()));
  *dkg.mutable_approvals() = request.approvals();
  dkg.set_initiator(std::string(initiator));
  const std::vector<KeyReply> calls =
      client_->StartDkg(nodes, dkg, RequestDeadline(deadline));
  return FinishNewCommittee(calls, nodes, {}, identity_keys,
                            request.threshold(), nullptr, "the new key",
                            deadline);
}

absl::StatusOr<KeyInfo> Gateway::FinishNewCommittee(
    const std::vector<KeyReply>& calls, absl::Span<const size_t> members,
    absl::Span<const size_t> departing,
    absl::Span<const std::string> identity_keys, uint32_t threshold,
    const KeyInfo* old_key, absl::string_view what, absl::Time deadline) {
  std::vector<const KeyReply*> succeeded;
  std::vector<std::string> warnings;
  if (absl::Status activated = ActivateEverywhere(
          calls, members, departing, deadline, &succeeded, &warnings);
      !activated.ok()) {
    return activated;
  }
  std::vector<KeyInfo> normalized;
  normalized.reserve(succeeded.size());
  for (const KeyReply* call : succeeded) {
    if (absl::Status valid =
            ValidateKeyInfo(call->response, NameOf(call->node));
        !valid.ok()) {
      return valid;
    }
    normalized.push_back(WithoutNodeNames(call->response));
  }
  std::vector<NodeAnswer> answers;
  for (size_t i = 0; i < succeeded.size(); ++i) {
    answers.push_back(NodeAnswer{NameOf(succeeded[i]->node), &normalized[i]});
  }
  absl::Status checked = CheckAgreement(answers, what);
  if (checked.ok() && succeeded.empty()) {
    checked = absl::InternalError("no member of the new committee answered");
  }
  if (checked.ok()) {
    const std::string& source = NameOf(succeeded[0]->node);
    checked = CheckNewCommittee(succeeded[0]->response, identity_keys,
                                threshold, source);
    if (checked.ok() && old_key != nullptr) {
      checked = CheckReshareResult(*old_key, succeeded[0]->response, source);
    }
  }
  if (!checked.ok()) {
    return checked;
  }
  KeyInfo out = succeeded[0]->response;
  for (const std::string& w : warnings) out.add_warnings(w);
  view_.FillNodeNames(&out);
  return out;
}

// --- activation
// ----------------------------------------------------------------

absl::Status Gateway::ActivateEverywhere(
    const std::vector<KeyReply>& calls, absl::Span<const size_t> members,
    absl::Span<const size_t> departing, absl::Time deadline,
    std::vector<const KeyReply*>* succeeded,
    std::vector<std::string>* warnings) {
  // The certificate: from any participant that finished, a leaving dealer
  // included (it erased its share on it). Every finished participant of one
  // session holds the same one; two different ones mean a participant
  // returned another session's, and none is delivered.
  std::string certificate;
  std::vector<size_t> behind;
  std::map<size_t, const absl::Status*> failures;
  for (const KeyReply& call : calls) {
    if (call.status.ok() && !call.response.activation_certificate().empty()) {
      if (!certificate.empty() &&
          certificate != call.response.activation_certificate()) {
        return absl::InternalError(absl::StrCat(
            NameOf(call.node),
            " returned an activation certificate that differs from another "
            "participant's; none is delivered"));
      }
      certificate = call.response.activation_certificate();
    }
    if (!Contains(members, call.node)) {
      continue;  // a leaving dealer: it erases its share on success
    }
    if (call.status.ok()) {
      succeeded->push_back(&call);
    } else {
      behind.push_back(call.node);
      failures[call.node] = &call.status;
    }
  }
  if (certificate.empty() && !behind.empty()) {
    // No participant finished: the new epoch is nowhere active. Members
    // that got as far as a PENDING share keep it until a certificate
    // activates it (or an operator retires it).
    return PickFailure(calls);
  }
  std::vector<size_t> targets = behind;
  targets.insert(targets.end(), departing.begin(), departing.end());
  if (targets.empty() || certificate.empty()) {
    return absl::OkStatus();
  }
  const std::vector<std::string> still_behind =
      DeliverCertificate(certificate, targets, failures, deadline, warnings);
  if (succeeded->empty()) {
    return absl::UnavailableError(absl::StrCat(
        "no member of the new committee finished its session; the "
        "certificate of a leaving dealer was delivered to them",
        still_behind.empty() ? "" : ": ", absl::StrJoin(still_behind, "; "),
        " (kagictl key show reports the epochs)"));
  }
  if (!still_behind.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "the new epoch is active on ", succeeded->size(),
        " member(s), but these members could not be brought forward (their "
        "PENDING shares wait for the certificate; kagictl key show delivers "
        "it): ",
        absl::StrJoin(still_behind, "; ")));
  }
  return absl::OkStatus();
}

std::vector<std::string> Gateway::DeliverCertificate(
    const std::string& certificate, absl::Span<const size_t> targets,
    const std::map<size_t, const absl::Status*>& failures, absl::Time deadline,
    std::vector<std::string>* warnings) {
  kagi::v1::ActivateRequest request;
  request.set_certificate(certificate);
  std::vector<std::string> still_behind;
  for (const NodeReply<kagi::v1::ActivateResponse>& d :
       client_->Activate(targets, request, RequestDeadline(deadline))) {
    const std::string& name = NameOf(d.node);
    auto failure = failures.find(d.node);
    if (failure != failures.end() && d.status.ok()) {
      warnings->push_back(absl::StrCat(
          name, ": its session ended with ",
          DescribeNodeError(name, *failure->second),
          "; its share was activated by the certificate of the others"));
    } else if (failure != failures.end()) {
      still_behind.push_back(absl::StrCat(
          DescribeNodeError(name, *failure->second),
          "; delivering the certificate: ", DescribeNodeError(name, d.status)));
    } else if (!d.status.ok()) {
      warnings->push_back(
          absl::StrCat(name,
                       " is no longer in the committee but still holds its old "
                       "share (",
                       DescribeNodeError(name, d.status),
                       "); kagictl key show retries the retirement"));
    }
  }
  return still_behind;
}

// --- Refresh and Reshare
// --------------------------------------------------------

template <typename ClientRequest>
kagi::v1::StartReshareRequest Gateway::ReshareSetup(
    const ClientRequest& request, const KeyInfo& key,
    absl::Span<const uint32_t> dealers,
    absl::Span<const std::string> new_identity_keys, uint32_t new_threshold,
    absl::string_view initiator, absl::string_view operation) {
  kagi::v1::StartReshareRequest reshare;
  reshare.set_request_id(request.request_id());
  reshare.set_key_id(key.key_id());
  reshare.set_epoch(key.epoch());
  for (uint32_t id : dealers) {
    reshare.add_dealers(id);
    reshare.add_dealer_identity_keys(
        key.parties(static_cast<int>(id - 1)).identity_key());
  }
  for (const kagi::v1::KeyParty& party : key.parties()) {
    reshare.add_old_party_identity_keys(party.identity_key());
  }
  for (const std::string& identity : new_identity_keys) {
    reshare.add_new_party_identity_keys(identity);
  }
  reshare.set_new_threshold(new_threshold);
  reshare.set_initiator_nonce(NewNonce());
  reshare.set_expiry_unix_seconds(ClientExpiry(request.expiry_unix_seconds()));
  *reshare.mutable_approvals() = request.approvals();
  reshare.set_initiator(std::string(initiator));
  *reshare.mutable_networks() =
      request.networks().empty() ? key.networks() : request.networks();
  reshare.set_operation(std::string(operation));
  return reshare;
}

absl::StatusOr<KeyInfo> Gateway::RunReshare(
    const KeyInfo& old_key, const kagi::v1::StartReshareRequest& request,
    absl::Span<const size_t> participants, absl::Span<const size_t> members,
    absl::Time deadline) {
  const std::vector<KeyReply> calls =
      client_->StartReshare(participants, request, RequestDeadline(deadline));
  // Every old party the new committee leaves out (dealer or not, reachable
  // or not) must erase its share on the certificate.
  std::vector<size_t> departing;
  for (const std::optional<size_t>& node : view_.PartyNodes(old_key)) {
    if (node.has_value() && !Contains(members, *node)) {
      departing.push_back(*node);
    }
  }
  const std::vector<std::string> identity_keys(
      request.new_party_identity_keys().begin(),
      request.new_party_identity_keys().end());
  return FinishNewCommittee(calls, members, departing, identity_keys,
                            request.new_threshold(), &old_key,
                            "the reshared key", deadline);
}

absl::StatusOr<KeyInfo> Gateway::Refresh(
    const kagi::v1::RefreshRequest& request, absl::string_view initiator,
    absl::Time deadline) {
  ForgetRecent();  // the committee or epoch is about to change
  std::vector<Probe> probes;
  absl::StatusOr<KeyInfo> key = ProbeAndFetch(
      ValidateRefreshRequest(request), request.key_id(), deadline, &probes);
  if (!key.ok()) {
    return key.status();
  }
  const std::vector<std::optional<size_t>> party_nodes = view_.PartyNodes(*key);
  std::vector<std::string> missing;
  std::vector<size_t> nodes;
  for (int p = 0; p < key->parties_size(); ++p) {
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (!node.has_value()) {
      missing.push_back(absl::StrCat("party ", key->parties(p).id(),
                                     " is not a node this gateway knows "
                                     "(identity key ",
                                     ShortHex(key->parties(p).identity_key()),
                                     ")"));
    } else if (!probes[*node].healthy) {
      missing.push_back(
          absl::StrCat("party ", key->parties(p).id(), " ",
                       DescribeNodeError(NameOf(*node), probes[*node].status)));
    } else {
      nodes.push_back(*node);
    }
  }
  if (!missing.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "a refresh needs all ", key->parties_size(),
        " parties of the key reachable: ", absl::StrJoin(missing, "; "),
        view_.UnidentifiedNodes(probes)));
  }
  std::vector<uint32_t> dealers;
  if (request.dealers().empty()) {
    for (uint32_t id = 1; id <= key->threshold(); ++id) dealers.push_back(id);
  } else if (absl::Status checked = CheckDealers(request.dealers(), *key);
             !checked.ok()) {
    return checked;
  } else {
    dealers.assign(request.dealers().begin(), request.dealers().end());
  }
  std::vector<std::string> committee;
  for (const kagi::v1::KeyParty& party : key->parties()) {
    committee.push_back(party.identity_key());
  }
  const kagi::v1::StartReshareRequest reshare =
      ReshareSetup(request, *key, dealers, committee, key->threshold(),
                   initiator, "refresh");
  return RunReshare(*key, reshare, nodes, nodes, deadline);
}

absl::Status Gateway::ChooseDealers(const kagi::v1::ReshareRequest& request,
                                    const KeyInfo& key,
                                    const std::vector<Probe>& probes,
                                    std::vector<uint32_t>* dealers,
                                    std::vector<size_t>* dealer_nodes) const {
  // Dealers: the client's choice (bound by the admin digest), else the
  // first t_old old parties that are reachable.
  if (!request.dealers().empty()) {
    if (absl::Status checked = CheckDealers(request.dealers(), key);
        !checked.ok()) {
      return checked;
    }
  }
  auto chosen = [&request](uint32_t id) {
    return request.dealers().empty() ||
           std::find(request.dealers().begin(), request.dealers().end(), id) !=
               request.dealers().end();
  };
  const std::vector<std::optional<size_t>> party_nodes = view_.PartyNodes(key);
  for (int p = 0; p < key.parties_size() && dealers->size() < key.threshold();
       ++p) {
    const std::optional<size_t>& node = party_nodes[static_cast<size_t>(p)];
    if (chosen(key.parties(p).id()) && node.has_value() &&
        probes[*node].healthy) {
      dealers->push_back(key.parties(p).id());
      dealer_nodes->push_back(*node);
    }
  }
  if (dealers->size() < key.threshold()) {
    return absl::UnavailableError(absl::StrCat(
        "a reshare needs ", key.threshold(),
        " reachable parties of the key as dealers, found ", dealers->size(),
        ": ", view_.UnhealthyList(probes, view_.All())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<size_t>> Gateway::NewCommittee(
    absl::Span<const std::string> names, const std::vector<Probe>& probes,
    std::vector<std::string>* identity_keys) const {
  // Every new node reachable, with a distinct identity (a repeated identity
  // is reported before an unreachable node).
  std::vector<size_t> members;
  std::vector<std::string> unreachable;
  for (const std::string& name : names) {
    const size_t node = IndexOf(node_names_, name);
    if (!probes[node].healthy) {
      unreachable.push_back(DescribeNodeError(name, probes[node].status));
      continue;
    }
    members.push_back(node);
    identity_keys->push_back(probes[node].identity_key);
  }
  if (absl::Status distinct =
          DistinctIdentities(members, *identity_keys, node_names_);
      !distinct.ok()) {
    return distinct;
  }
  if (!unreachable.empty()) {
    return absl::UnavailableError(
        absl::StrCat("every new node must be reachable: ",
                     absl::StrJoin(unreachable, "; ")));
  }
  return members;
}

absl::StatusOr<KeyInfo> Gateway::Reshare(
    const kagi::v1::ReshareRequest& request, absl::string_view initiator,
    absl::Time deadline) {
  ForgetRecent();  // the committee or epoch is about to change
  std::vector<Probe> probes;
  absl::StatusOr<KeyInfo> key =
      ProbeAndFetch(ValidateReshareRequest(request, node_names_),
                    request.key_id(), deadline, &probes);
  if (!key.ok()) {
    return key.status();
  }
  std::vector<uint32_t> dealers;
  std::vector<size_t> dealer_nodes;
  if (absl::Status chosen =
          ChooseDealers(request, *key, probes, &dealers, &dealer_nodes);
      !chosen.ok()) {
    return chosen;
  }
  const std::vector<std::string> new_nodes(request.new_nodes().begin(),
                                           request.new_nodes().end());
  std::vector<std::string> identity_keys;
  absl::StatusOr<std::vector<size_t>> members =
      NewCommittee(new_nodes, probes, &identity_keys);
  if (!members.ok()) {
    return members.status();
  }
  std::vector<size_t> participants = *members;
  for (size_t node : dealer_nodes) {
    if (!Contains(participants, node)) participants.push_back(node);
  }
  const kagi::v1::StartReshareRequest reshare =
      ReshareSetup(request, *key, dealers, identity_keys,
                   request.new_threshold(), initiator, "reshare");
  return RunReshare(*key, reshare, participants, *members, deadline);
}

}  // namespace kagi::gateway
