#include "tools/kagictl/bench.h"

#include <grpcpp/client_context.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/base/rng.h"
#include "libs/base/status_macros.h"
#include "libs/crypto/ecdsa.h"
#include "libs/crypto/point.h"
#include "libs/transport/tls.h"
#include "tools/kagictl/cluster.h"

namespace kagi::kagictl {
namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i =
      std::min(v.size() - 1,
               static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

absl::Status VerifyResponse(const v1::SignResponse& resp) {
  if (resp.signatures_size() != 1) return absl::InternalError("no signature");
  const v1::SignatureResult& s = resp.signatures(0);
  KAGI_ASSIGN_OR_RETURN(crypto::Point pub,
                        crypto::Point::FromCompressed(AsBytes(s.public_key())));
  if (s.digest().size() != 32 || s.signature().size() != 64) {
    return absl::InternalError("bad signature shape");
  }
  crypto::Digest32 d;
  std::copy(s.digest().begin(), s.digest().end(), d.begin());
  crypto::CompactSignature sig;
  std::copy(s.signature().begin(), s.signature().end(), sig.begin());
  return crypto::EcdsaVerify(pub, d, sig);
}

// SignOnce signs a fresh random digest at path 0/i and verifies the result.
absl::Status SignOnce(v1::Wallet::Stub& wallet, const std::string& key_id,
                      const std::string& request_id, uint32_t index) {
  OsRng rng;
  std::array<uint8_t, 32> digest;
  rng.Fill(absl::MakeSpan(digest));
  v1::SignRequest req;
  req.set_request_id(request_id);
  req.set_key_id(key_id);
  req.set_expiry_unix_seconds(
      static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()) + 300));
  v1::DigestItem* item =
      req.mutable_payload()->mutable_raw_digest()->add_items();
  item->set_digest(std::string(digest.begin(), digest.end()));
  item->add_path(0);
  item->add_path(index);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  v1::SignResponse resp;
  grpc::Status st = wallet.Sign(&ctx, req, &resp);
  if (!st.ok()) return transport::FromGrpcStatus(st);
  return VerifyResponse(resp);
}

// CpuSeconds returns a process's user + system CPU time (from /proc).
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name (which may contain spaces) start at ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  if (f.size() < 13) return 0;
  double ticks = 0;
  for (int i : {11, 12}) {  // utime, stime (fields 14 and 15 of stat)
    double v = 0;
    if (absl::SimpleAtod(f[static_cast<size_t>(i)], &v)) ticks += v;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::string MiB(long kib) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(kib) / 1024.0);
}

// The processes of a local cluster, for CPU and memory figures.
struct ClusterProcesses {
  std::vector<pid_t> nodes;
  pid_t gateway = 0;

  double NodesCpu() const {
    double sum = 0;
    for (pid_t p : nodes) sum += CpuSeconds(p);
    return sum;
  }
  long MaxNodeRss() const {
    long m = 0;
    for (pid_t p : nodes) m = std::max(m, RssKib(p).value_or(0));
    return m;
  }
};

absl::StatusOr<ClusterProcesses> ReadProcesses(const std::string& dir) {
  ClusterProcesses out;
  for (int i = 1; i <= 3; ++i) {
    KAGI_ASSIGN_OR_RETURN(pid_t pid,
                          ReadPid(absl::StrCat(NodeDir(dir, i), "/node.pid")));
    out.nodes.push_back(pid);
  }
  KAGI_ASSIGN_OR_RETURN(out.gateway,
                        ReadPid(absl::StrCat(GatewayDir(dir), "/gateway.pid")));
  return out;
}

// TimeDkgs creates `count` 2-of-3 keys; returns each latency and the last
// key's id.
absl::StatusOr<std::vector<double>> TimeDkgs(v1::Wallet::Stub& wallet,
                                             int count, std::string* key_id) {
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    v1::CreateKeyRequest req;
    req.set_request_id(absl::StrCat("bench-dkg-", i));
    req.set_threshold(2);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::KeyInfo key;
    const absl::Time t0 = absl::Now();
    grpc::Status st = wallet.CreateKey(&ctx, req, &key);
    if (!st.ok()) return transport::FromGrpcStatus(st);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    *key_id = key.key_id();
  }
  return ms;
}

absl::StatusOr<std::vector<double>> TimeSequentialSigns(
    v1::Wallet::Stub& wallet, const std::string& key_id, int count) {
  std::vector<double> ms;
  for (int i = 0; i < count; ++i) {
    const absl::Time t0 = absl::Now();
    KAGI_RETURN_IF_ERROR(SignOnce(wallet, key_id, absl::StrCat("bench-seq-", i),
                                  static_cast<uint32_t>(i)));
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  return ms;
}

// RunConcurrentSigns signs `signs` digests from `concurrency` threads and
// returns the wall time in seconds; fails naming the first failure.
absl::StatusOr<double> RunConcurrentSigns(v1::Wallet::Stub& wallet,
                                          const std::string& key_id, int signs,
                                          int concurrency) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  absl::Status first_error;
  absl::Mutex err_mu;
  const absl::Time t0 = absl::Now();
  std::vector<std::thread> threads;
  for (int w = 0; w < concurrency; ++w) {
    threads.emplace_back([&]() {
      while (true) {
        const int i = next.fetch_add(1);
        if (i >= signs) return;
        absl::Status st =
            SignOnce(wallet, key_id, absl::StrCat("bench-par-", i),
                     static_cast<uint32_t>(i));
        if (!st.ok()) {
          failures.fetch_add(1);
          absl::MutexLock lock(&err_mu);
          if (first_error.ok()) first_error = st;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  if (failures.load() > 0) {
    return absl::InternalError(absl::StrCat(
        failures.load(), " signatures failed; first: ", first_error.message()));
  }
  return seconds;
}

// The figures RunBench prints.
struct BenchFigures {
  std::vector<double> dkg_ms;
  std::vector<double> seq_ms;
  double load_seconds = 0;
  double nodes_cpu_ms = 0;    // per signature under load, sum of 3
  double gateway_cpu_ms = 0;  // per signature under load
  long idle_rss = 0;
  long loaded_rss = 0;
};

void PrintFigures(const BenchOptions& o, const BenchFigures& f) {
  std::cout
      << "\n| measure | value | goal |\n|---|---|---|\n"
      << absl::StrFormat(
             "| DKG 2-of-3 latency, median of %d | %.0f ms | <= 400 ms |\n",
             o.dkgs, Percentile(f.dkg_ms, 50))
      << absl::StrFormat(
             "| sign latency p50, concurrency 1 (%d signs) | %.1f ms | <= 10 ms |\n",
             o.sequential_signs, Percentile(f.seq_ms, 50))
      << absl::StrFormat(
             "| sign latency p99, concurrency 1 | %.1f ms | <= 25 ms |\n",
             Percentile(f.seq_ms, 99))
      << absl::StrFormat(
             "| sustained signatures/s, concurrency %d (%d signs) | %.0f /s | >= 200 /s |\n",
             o.concurrency, o.signs,
             static_cast<double>(o.signs) / f.load_seconds)
      << absl::StrFormat(
             "| CPU per signature under load: nodes (sum of 3) | %.1f ms | |\n",
             f.nodes_cpu_ms)
      << absl::StrFormat(
             "| CPU per signature under load: gateway | %.1f ms | |\n",
             f.gateway_cpu_ms)
      << "| node RSS idle (largest of 3) | " << MiB(f.idle_rss)
      << " | <= 64 MiB |\n"
      << "| node RSS after the load (largest of 3) | " << MiB(f.loaded_rss)
      << " | |\n";
}

// Measure runs the benchmark against the cluster in `dir`.
absl::Status Measure(const BenchOptions& o, const std::string& dir) {
  KAGI_ASSIGN_OR_RETURN(const ClusterProcesses procs, ReadProcesses(dir));
  BenchFigures f;
  f.idle_rss = procs.MaxNodeRss();
  KAGI_ASSIGN_OR_RETURN(auto wallet, WalletClient(ClientConfigPath(dir)));
  std::string key_id;
  KAGI_ASSIGN_OR_RETURN(f.dkg_ms, TimeDkgs(*wallet, o.dkgs, &key_id));
  KAGI_ASSIGN_OR_RETURN(
      f.seq_ms, TimeSequentialSigns(*wallet, key_id, o.sequential_signs));
  const double nodes_cpu0 = procs.NodesCpu();
  const double gateway_cpu0 = CpuSeconds(procs.gateway);
  KAGI_ASSIGN_OR_RETURN(
      f.load_seconds,
      RunConcurrentSigns(*wallet, key_id, o.signs, o.concurrency));
  const double signs = static_cast<double>(o.signs);
  f.nodes_cpu_ms = (procs.NodesCpu() - nodes_cpu0) * 1000.0 / signs;
  f.gateway_cpu_ms =
      (CpuSeconds(procs.gateway) - gateway_cpu0) * 1000.0 / signs;
  f.loaded_rss = procs.MaxNodeRss();
  PrintFigures(o, f);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunBench(const BenchOptions& o) {
  std::string dir = o.dir;
  if (dir.empty()) {
    char tmpl[] = "/tmp/kagi-bench.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp");
    dir = absl::StrCat(tmpl, "/cluster");
  }
  ClusterOptions co;
  co.dir = dir;
  co.base_port = o.base_port;
  co.allow_raw_digest = true;
  std::cout << "starting a 3-node cluster and a gateway in " << dir << "\n";
  absl::Status up = ClusterUp(co);
  if (!up.ok()) {
    ClusterDown(dir).IgnoreError();
    return up;
  }
  absl::Status st = Measure(o, dir);
  absl::Status down = ClusterDown(dir);
  if (!st.ok()) return st;
  return down;
}

}  // namespace kagi::kagictl
