// Shared helpers of the JavaScript client tests: loads the kagi.v1 protos,
// connects to the gateway of a cluster made by `kagictl cluster init` over
// mutual TLS, computes request digests independently of the C++ code, signs
// approvals with the demo approver keys and creates a wallet key.
//
// The cluster directory comes from KAGI_CLUSTER_DIR (scripts/test-clients.sh
// sets it). Compatible with Node.js 18 (ES modules, no TypeScript).

import { createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
export const PROTO_DIR = join(REPO_ROOT, 'proto');

// Per-RPC deadline: a DKG or a signing session takes well under this.
export const RPC_TIMEOUT_MS = 60_000;

export const ETH_DESTINATION = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

export { grpc };

// ---------------------------------------------------------------------------
// Cluster directory and client configuration.

export function clusterDir() {
  const d = process.env.KAGI_CLUSTER_DIR;
  if (!d) {
    throw new Error(
      'KAGI_CLUSTER_DIR is not set: run scripts/test-clients.sh, or set it to ' +
        'a directory made by `kagictl cluster init` whose cluster is up');
  }
  return resolve(d);
}

// Parses the few fields of D/client.conf (kagi.v1.ClientConfig, protobuf
// text format) that a client needs.
export function readClientConfig(dir = clusterDir()) {
  const path = join(dir, 'client.conf');
  const text = readFileSync(path, 'utf8');
  const field = (name) => {
    const m = text.match(new RegExp(`\\b${name}\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`));
    if (!m) throw new Error(`${path}: no ${name}`);
    return m[1];
  };
  // Relative file names are relative to where kagictl ran; the driver passes
  // an absolute directory, so they are normally absolute already.
  const file = (name) => {
    const p = field(name);
    return isAbsolute(p) ? p : resolve(p);
  };
  return {
    gatewayAddress: field('gateway_address'),
    gatewayName: field('gateway_name'),
    certFile: file('cert_file'),
    keyFile: file('key_file'),
    caFile: file('ca_file'),
  };
}

// ---------------------------------------------------------------------------
// gRPC.

let packageDefinition;
function walletService() {
  if (!packageDefinition) {
    packageDefinition = protoLoader.loadSync(['kagi/v1/wallet.proto'], {
      includeDirs: [PROTO_DIR],
      keepCase: true,
      longs: String,
      enums: String,
      bytes: Buffer,
      defaults: true,
      oneofs: true,
    });
  }
  return grpc.loadPackageDefinition(packageDefinition).kagi.v1.Wallet;
}

// A promise-returning wrapper of the kagi.v1.Wallet client.
export class WalletClient {
  constructor(config = readClientConfig()) {
    const creds = grpc.credentials.createSsl(
      readFileSync(config.caFile),
      readFileSync(config.keyFile),
      readFileSync(config.certFile));
    const Wallet = walletService();
    this.config = config;
    this.stub = new Wallet(config.gatewayAddress, creds, {
      'grpc.ssl_target_name_override': config.gatewayName,
      'grpc.default_authority': config.gatewayName,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
  }

  call(method, request, timeoutMs = RPC_TIMEOUT_MS) {
    return new Promise((resolvePromise, reject) => {
      const deadline = new Date(Date.now() + timeoutMs);
      this.stub[method](request, { deadline }, (err, response) => {
        if (err) {
          err.message = `${method}: ${err.message}`;
          reject(err);
        } else {
          resolvePromise(response);
        }
      });
    });
  }

  createKey(req) { return this.call('CreateKey', req); }
  listNodes() { return this.call('ListNodes', {}); }
  refresh(req) { return this.call('Refresh', req); }
  reshare(req) { return this.call('Reshare', req); }
  getKey(req) { return this.call('GetKey', req); }
  derivePublicKey(req) { return this.call('DerivePublicKey', req); }
  sign(req) { return this.call('Sign', req); }

  close() { this.stub.close(); }
}

// ---------------------------------------------------------------------------
// Request digests (docs/policy.md), written from the description: every
// field is a 4-byte big-endian length followed by the bytes.

function u32be(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function u64be(v) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}

function toBytes(x) {
  if (typeof x === 'string') return Buffer.from(x, 'utf8');
  return Buffer.from(x);
}

class Encoder {
  constructor() {
    this.parts = [];
    this.field('kagi/v1');
    this.field(Buffer.concat([Buffer.from('request', 'utf8'), Buffer.from([0x01])]));
  }
  field(x) {
    const b = toBytes(x);
    this.parts.push(u32be(b.length), b);
    return this;
  }
  u32(v) { return this.field(u32be(v)); }
  u64(v) { return this.field(u64be(v)); }
  digest() {
    return createHash('sha256').update(Buffer.concat(this.parts)).digest();
  }
}

// The digest of a kagi.v1.SignRequest (as the protoLoader object passed to
// WalletClient.sign; approvals are not covered).
export function signRequestDigest(req) {
  const e = new Encoder();
  e.field('sign').field(req.request_id).field(req.key_id);
  const p = req.payload || {};
  if (p.bitcoin_psbt) {
    e.field('bitcoin_psbt').field(p.bitcoin_psbt.network).field(p.bitcoin_psbt.psbt);
  } else if (p.ethereum_tx) {
    const path = p.ethereum_tx.path || [];
    e.field('ethereum_tx').field(p.ethereum_tx.unsigned_tx).u32(path.length);
    for (const i of path) e.u32(i);
  } else if (p.raw_digest) {
    const items = p.raw_digest.items || [];
    e.field('raw_digest').u32(items.length);
    for (const item of items) {
      const path = item.path || [];
      e.field(item.digest).u32(path.length);
      for (const i of path) e.u32(i);
    }
  } else {
    throw new Error('signRequestDigest: payload has no known kind');
  }
  e.u64(req.expiry_unix_seconds);
  return e.digest();
}

// The admin digest (docs/policy.md "Admin digests"): operation 1 =
// create_key, 2 = refresh, 3 = reshare; committees are [{ node,
// identity_key }] in party-id order; dealers are old party ids; networks the
// key's network binding after the change, sorted and without duplicates as
// every node reads them.
export function adminDigest({ operation, request_id, key_id = Buffer.alloc(0), epoch = 0,
  old_threshold = 0, old_committee = [], new_threshold, new_committee, dealers = [],
  networks = [], expiry_unix_seconds }) {
  const e = new Encoder();
  e.field('admin').u32(operation).field(request_id).field(key_id).u64(epoch).u32(old_threshold);
  const committee = (members) => {
    e.u32(members.length);
    for (const m of members) e.field(m.node).field(m.identity_key);
  };
  committee(old_committee);
  e.u32(new_threshold);
  committee(new_committee);
  e.u32(dealers.length);
  for (const d of dealers) e.u32(d);
  const bound = [...new Set(networks)].sort();  // ASCII names: code-unit order is byte order
  e.u32(bound.length);
  for (const n of bound) e.field(n);
  e.u64(expiry_unix_seconds);
  return e.digest();
}

// The create_key digest of `req`, with the identity keys the gateway's
// ListNodes reports for its nodes (an approver compares them with the
// cluster's published keys).
export function createKeyDigest(req, listed) {
  const byName = new Map(listed.nodes.map((n) => [n.name, n]));
  const new_committee = req.nodes.map((name) => {
    const n = byName.get(name);
    if (!n || !n.identity_key || n.identity_key.length !== 32) {
      throw new Error(`createKeyDigest: no identity key for ${name}`);
    }
    return { node: name, identity_key: n.identity_key };
  });
  return adminDigest({
    operation: 1, request_id: req.request_id, new_threshold: req.threshold,
    new_committee, networks: req.networks, expiry_unix_seconds: req.expiry_unix_seconds,
  });
}

// ---------------------------------------------------------------------------
// Approvals.

const approverKeys = new Map();
function approverKey(name, dir) {
  const path = join(dir, 'approvers', `${name}.pem`);
  if (!approverKeys.has(path)) {
    if (!existsSync(path)) {
      throw new Error(`no approver key ${path} (kagictl cluster init writes ` +
        'the demo approvers alice, bob and carol under D/approvers)');
    }
    approverKeys.set(path, createPrivateKey(readFileSync(path)));
  }
  return approverKeys.get(path);
}

// One kagi.v1.Approval: Ed25519 over the 32 digest bytes, or ECDSA P-256
// with SHA-256 over them (DER).
export function approve(name, digest, dir = clusterDir()) {
  const key = approverKey(name, dir);
  let signature;
  if (key.asymmetricKeyType === 'ed25519') {
    signature = cryptoSign(null, digest, key);
  } else if (key.asymmetricKeyType === 'ec') {
    signature = cryptoSign('sha256', digest, key);
  } else {
    throw new Error(`approver ${name}: unsupported key type ${key.asymmetricKeyType}`);
  }
  return { approver: name, signature };
}

export function approvals(names, digest, dir = clusterDir()) {
  return names.map((n) => approve(n, digest, dir));
}

// The demo policy: 2 of treasury + 1 of risk for signing, 1 of security for
// key creation.
export const SIGN_APPROVERS = ['alice', 'bob', 'carol'];
export const ADMIN_APPROVERS = ['alice'];

// ---------------------------------------------------------------------------
// Keys and requests.

export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

let counter = 0;
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}-${Date.now()}-${process.pid}-${counter}`;
}

// The networks the client tests' keys sign for: the demo policy's (docs/
// policy.md "Keys bound to networks").
export const DEMO_NETWORKS = ['bitcoin:regtest', 'ethereum:1337'];

export async function createKey(client, {
  threshold = 2, nodes = ['node-1', 'node-2', 'node-3'], networks = DEMO_NETWORKS,
} = {}) {
  const req = {
    request_id: uniqueId('js-key'),
    threshold,
    nodes,
    networks,
    expiry_unix_seconds: String(nowSeconds() + 300),
  };
  req.approvals = approvals(ADMIN_APPROVERS, createKeyDigest(req, await client.listNodes()));
  return client.createKey(req);
}

// committeeOf: a key's parties as [{ node, identity_key }] in party order,
// named as ListNodes names their identity keys.
function committeeOf(key, listed) {
  return key.parties.map((p) => {
    const n = listed.nodes.find((e) => Buffer.compare(e.identity_key, p.identity_key) === 0);
    if (!n) throw new Error('committeeOf: a party is not a listed node');
    return { node: n.name, identity_key: p.identity_key };
  });
}

// A refresh or reshare carries the key's networks unless it names others
// (to bind a key made before bindings).
function carried(req, key) {
  return req.networks && req.networks.length > 0 ? req.networks : key.networks;
}

// The admin digest of a refresh of `key` with dealers 1..t (docs/policy.md).
export function refreshDigest(req, key, listed) {
  const committee = committeeOf(key, listed);
  return adminDigest({
    operation: 2, request_id: req.request_id, key_id: key.key_id, epoch: key.epoch,
    old_threshold: key.threshold, old_committee: committee,
    new_threshold: key.threshold, new_committee: committee, dealers: req.dealers,
    networks: carried(req, key), expiry_unix_seconds: req.expiry_unix_seconds,
  });
}

// The admin digest of a reshare of `key` to `req.new_nodes` (new party order).
export function reshareDigest(req, key, listed) {
  const byName = new Map(listed.nodes.map((n) => [n.name, n]));
  return adminDigest({
    operation: 3, request_id: req.request_id, key_id: key.key_id, epoch: key.epoch,
    old_threshold: key.threshold, old_committee: committeeOf(key, listed),
    new_threshold: req.new_threshold,
    new_committee: req.new_nodes.map((name) => ({ node: name, identity_key: byName.get(name).identity_key })),
    dealers: req.dealers, networks: carried(req, key),
    expiry_unix_seconds: req.expiry_unix_seconds,
  });
}

// A SignRequest for `payload` with the approvals of `approvers` over its
// digest; returns { request, digest }.
export function signRequest(keyId, payload, { prefix = 'js-sign', approvers = SIGN_APPROVERS } = {}) {
  const request = {
    request_id: uniqueId(prefix),
    key_id: keyId,
    payload,
    expiry_unix_seconds: String(nowSeconds() + 300),
  };
  const digest = signRequestDigest(request);
  request.approvals = approvals(approvers, digest);
  return { request, digest };
}

// ---------------------------------------------------------------------------
// Policy destinations: the first address of the given shape in the policy
// of node-1 (node.conf's policy_file), else in the other files of the
// cluster directory that may hold it.

export function findPolicyAddress(pattern, dir = clusterDir()) {
  const candidates = [];
  const nodeConf = join(dir, 'node-1', 'node.conf');
  if (existsSync(nodeConf)) {
    const m = readFileSync(nodeConf, 'utf8').match(/\bpolicy_file\s*:\s*"([^"]*)"/);
    if (m) candidates.push(isAbsolute(m[1]) ? m[1] : resolve(m[1]));
  }
  candidates.push(join(dir, 'node-1', 'policy.txt'), join(dir, 'policy-destinations.txt'));
  for (const sub of [dir, join(dir, 'node-1')]) {
    if (!existsSync(sub)) continue;
    for (const f of readdirSync(sub)) {
      if (/polic/i.test(f)) candidates.push(join(sub, f));
    }
  }
  for (const f of candidates) {
    if (!existsSync(f)) continue;
    let text;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const m = text.match(pattern);
    if (m) return m[0];
  }
  throw new Error(`no address matching ${pattern} in ${candidates.join(', ')}`);
}

export function bitcoinDestination(dir = clusterDir()) {
  return process.env.KAGI_BTC_DESTINATION || findPolicyAddress(/bcrt1[02-9ac-hj-np-z]+/, dir);
}

export function hex(b) {
  return Buffer.from(b).toString('hex');
}
