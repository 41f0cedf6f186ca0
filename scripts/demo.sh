#!/usr/bin/env bash
# The README's main command: a local Kagi cluster on the embedded defaults.
# Installs what is missing, builds, then in a temporary directory: creates a
# PKI, configs, approver keys and each node's policy, starts 3 key-share nodes
# and a gateway on loopback (mTLS everywhere, SQLite stores), creates a 2-of-3
# key by DKG with an admin approval, signs a Bitcoin PSBT (node-3 down) and an
# EIP-1559 transaction (node-1 down), each approved by 2 of treasury + 1 of
# risk, shows a tampered request refused by the nodes, checks every node's
# audit chain, and shuts everything down.
source "$(dirname "$0")/lib/common.sh"

kagi_ensure_packages "${KAGI_BUILD_PACKAGES[@]}"
kagi_build dev kagictl kagi-node kagi-gateway

KAGICTL="$KAGI_ROOT/build/dev/tools/kagictl/kagictl"
DEMO_DIR="$(mktemp -d /tmp/kagi-demo.XXXXXX)"
CLUSTER="$DEMO_DIR/cluster"
PORT="${KAGI_DEMO_PORT:-7100}"

cleanup() {
  "$KAGICTL" cluster down --dir "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$DEMO_DIR"
}
trap cleanup EXIT

step() { printf '\n\033[1m--- %s\033[0m\n' "$*"; }
kctl() { printf '$ kagictl %s\n' "$*"; "$KAGICTL" "$@" --cluster "$CLUSTER"; }

step "1. A CA, certificates, identity keys, sealing keys and configs for 3 nodes and a gateway"
"$KAGICTL" cluster init --dir "$CLUSTER" --nodes 3 --base-port "$PORT"
ls "$CLUSTER" "$CLUSTER/pki" | sed 's/^/    /'

step "2. Start node-1..3 (ports $((PORT + 1))-$((PORT + 3))) and gateway-1 (port $PORT), mTLS on loopback"
"$KAGICTL" cluster up --dir "$CLUSTER"

step "3. Create a 2-of-3 key bound to bitcoin regtest and ethereum chain 1337 (distributed key generation; the policy asks for 1 approval of the security group)"
out="$(kctl key create --threshold 2 --nodes node-1,node-2,node-3 --networks bitcoin:regtest,ethereum:1337 --approve alice="$CLUSTER/approvers/alice.pem")"
echo "$out"
KEY_ID="$(echo "$out" | awk '/^key id/ {print $3}')"

step "4. A deposit address: public BIP32 derivation at m/0/1"
kctl key xpub "$KEY_ID" --path 0/1 --network regtest

DEST="$(grep -o 'bcrt1[0-9a-z]*' "$CLUSTER/node-1/policy.txt" | head -1)"
EXPIRY=$(( $(date +%s) + 600 ))
step "5. A withdrawal: a PSBT paying 250000 sat to the allowlisted $DEST, change back to m/1/0"
kctl demo-psbt --key "$KEY_ID" --to "$DEST" --amount 250000 --out "$DEMO_DIR/w1.psbt"

step "6. alice and bob (treasury) and carol (risk, P-256 key) each review it and approve its digest"
for who in alice bob carol; do
  kctl approve --as "$who" --approver-key "$CLUSTER/approvers/$who.pem" --key "$KEY_ID" \
    --psbt "$DEMO_DIR/w1.psbt" --request-id withdrawal-1 --expiry "$EXPIRY" --out "$DEMO_DIR/w1.approvals" |
    sed 's/^/    /'
done

step "7. The attack: the approved request is altered in transit (amount 250000 -> 900000); each node it reaches refuses"
kctl demo-psbt --key "$KEY_ID" --to "$DEST" --amount 900000 --out "$DEMO_DIR/w1-tampered.psbt" >/dev/null
if kctl sign --key "$KEY_ID" --psbt "$DEMO_DIR/w1-tampered.psbt" --request-id withdrawal-1 \
  --expiry "$EXPIRY" --approvals "$DEMO_DIR/w1.approvals" 2>&1; then
  echo "ERROR: a tampered request was signed" >&2
  exit 1
fi

step "8. The genuine request, node-3 down: node-1 and node-2 decode it, check policy and approvals, sign"
"$KAGICTL" cluster stop-node --dir "$CLUSTER" --node 3
kctl sign --key "$KEY_ID" --psbt "$DEMO_DIR/w1.psbt" --request-id withdrawal-1 \
  --expiry "$EXPIRY" --approvals "$DEMO_DIR/w1.approvals" --out "$DEMO_DIR/w1.signed.psbt"
echo "    signed PSBT (base64, finalize with any PSBT tool): $(cut -c1-60 "$DEMO_DIR/w1.signed.psbt")..."

step "9. An EIP-1559 transaction (chain 1337, 0.1 ETH), node-3 back and node-1 down"
"$KAGICTL" cluster start-node --dir "$CLUSTER" --node 3
"$KAGICTL" cluster stop-node --dir "$CLUSTER" --node 1
TX="$("$KAGICTL" demo-eth-tx --to 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed --value-wei 100000000000000000 --chain-id 1337)"
kctl sign --key "$KEY_ID" --eth-tx "$TX" --path 0/0 \
  --approve alice="$CLUSTER/approvers/alice.pem" --approve bob="$CLUSTER/approvers/bob.pem" \
  --approve carol="$CLUSTER/approvers/carol.pem"
"$KAGICTL" cluster start-node --dir "$CLUSTER" --node 1

step "10. Why the tampered request was refused, from node-2's audit log"
"$KAGICTL" audit show --db "$CLUSTER/node-2/node.db" --request withdrawal-1 | sed 's/^/    /'

step "11. Every node's signed audit log verifies, and so do the heads the others hold of it"
"$KAGICTL" audit verify --cluster "$CLUSTER" | sed 's/^/    /'

step "12. Shut down"
"$KAGICTL" cluster down --dir "$CLUSTER"
echo
echo "Done. Every signature above was produced by two nodes together and"
echo "verified by kagictl with libsecp256k1; no process ever held the key."
