// File: libs/policy/compile.h
//
// CompilePolicy validates a parsed policy file and turns it into the plain
// model Policy evaluates (model.h). Every error is InvalidArgument naming
// the field ("rules[1] 'hot-wallet'.max_amount: ..."). Used by
// Policy::FromProto; not part of the library's API.
#ifndef KAGI_LIBS_POLICY_COMPILE_H_
#define KAGI_LIBS_POLICY_COMPILE_H_

#include "absl/status/statusor.h"
#include "kagi/v1/policy.pb.h"
#include "libs/policy/model.h"

namespace kagi::policy {

absl::StatusOr<PolicyModel> CompilePolicy(const v1::Policy& proto);

}  // namespace kagi::policy

#endif  // KAGI_LIBS_POLICY_COMPILE_H_
