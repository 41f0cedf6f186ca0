// An EIP-1559 transaction built with ethers, signed through the gateway of
// a real 3-node cluster; ethers must recover the wallet's address as the
// sender. Needs KAGI_CLUSTER_DIR (scripts/test-clients.sh).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ethers } from 'ethers';

import {
  ETH_DESTINATION, WalletClient, createKey, grpc, hex, signRequest,
} from './kagi_client.mjs';

const PATH = [0, 0];
const CHAIN_ID = 1337n;

let client;
let key;
let derived;
let expectedFrom;

before(async () => {
  client = new WalletClient();
  key = await createKey(client);
  derived = await client.derivePublicKey({ key_id: key.key_id, path: PATH, network: 'mainnet' });
  expectedFrom = ethers.computeAddress(ethers.hexlify(derived.public_key));
});

after(() => client && client.close());

function unsignedTx(overrides = {}) {
  return ethers.Transaction.from({
    type: 2,
    chainId: CHAIN_ID,
    nonce: 0,
    maxPriorityFeePerGas: ethers.parseUnits('1', 'gwei'),
    maxFeePerGas: ethers.parseUnits('2', 'gwei'),
    gasLimit: 21000n,
    to: ETH_DESTINATION,
    value: ethers.parseEther('0.1'),
    data: '0x',
    ...overrides,
  });
}

function payload(tx) {
  return { ethereum_tx: { unsigned_tx: Buffer.from(ethers.getBytes(tx.unsignedSerialized)), path: PATH } };
}

test('the root xpub (read by ethers) derives the key the gateway derives', () => {
  const root = ethers.HDNodeWallet.fromExtendedKey(key.xpub);
  assert.equal(root.depth, 0);
  assert.equal(root.publicKey, ethers.hexlify(key.public_key));
  assert.equal(root.chainCode, ethers.hexlify(key.chain_code));
  let node = root;
  for (const i of PATH) node = node.deriveChild(i);
  assert.equal(node.publicKey, ethers.hexlify(derived.public_key));
  assert.equal(node.address, expectedFrom);
});

test('EIP-1559: signed by the cluster, ethers recovers the wallet as sender', async () => {
  const tx = unsignedTx();
  assert.equal(tx.type, 2);
  const { request, digest } = signRequest(key.key_id, payload(tx), { prefix: 'js-eth' });
  const res = await client.sign(request);

  assert.equal(hex(res.request_digest), hex(digest), 'the nodes computed another request digest');
  assert.ok(res.ethereum, 'no ethereum result');
  assert.equal(res.ethereum.from, expectedFrom);
  assert.ok(res.ethereum.y_parity === 0 || res.ethereum.y_parity === 1,
    `y_parity ${res.ethereum.y_parity}`);

  // The signed transaction as ethers parses it.
  const signedHex = ethers.hexlify(res.ethereum.signed_tx);
  const parsed = ethers.Transaction.from(signedHex);
  assert.equal(parsed.from, expectedFrom, 'ethers recovers another sender');
  assert.equal(parsed.type, 2);
  assert.equal(parsed.chainId, CHAIN_ID);
  assert.equal(parsed.nonce, 0);
  assert.equal(parsed.to, ETH_DESTINATION);
  assert.equal(parsed.value, ethers.parseEther('0.1'));
  assert.equal(parsed.gasLimit, 21000n);
  assert.equal(parsed.maxFeePerGas, ethers.parseUnits('2', 'gwei'));
  assert.equal(parsed.maxPriorityFeePerGas, ethers.parseUnits('1', 'gwei'));
  assert.equal(parsed.unsignedHash, tx.unsignedHash);
  assert.equal(parsed.signature.yParity, res.ethereum.y_parity);

  // The raw signature of the response, put on the unsigned transaction by
  // ethers, gives the same sender and the same encoding.
  assert.equal(res.signatures.length, 1);
  const sig = res.signatures[0];
  assert.equal(hex(sig.digest), tx.unsignedHash.slice(2), 'digest is not keccak256(unsigned tx)');
  assert.deepEqual(sig.path, PATH);
  assert.equal(hex(sig.public_key), hex(derived.public_key));
  assert.equal(sig.signature.length, 64);
  assert.equal(sig.recovery_id & 1, res.ethereum.y_parity);
  tx.signature = ethers.Signature.from({
    r: ethers.hexlify(sig.signature.subarray(0, 32)),
    s: ethers.hexlify(sig.signature.subarray(32, 64)),
    yParity: res.ethereum.y_parity,
  });
  assert.equal(tx.from, expectedFrom);
  assert.equal(tx.serialized, signedHex);
  assert.equal(ethers.recoverAddress(tx.unsignedHash, tx.signature), expectedFrom);
});

test('a transaction changed after approval is refused (approvals do not verify)', async () => {
  const { request } = signRequest(key.key_id, payload(unsignedTx()), { prefix: 'js-eth-tamper' });
  request.payload = payload(unsignedTx({ value: ethers.parseEther('0.2') }));
  await assert.rejects(client.sign(request), (err) => {
    assert.equal(err.code, grpc.status.PERMISSION_DENIED,
      `expected PERMISSION_DENIED, got ${err.code}: ${err.details}`);
    assert.match(err.details, /does not verify/);
    return true;
  });
});

test('without the risk approval the policy refuses the transaction', async () => {
  const { request } = signRequest(key.key_id, payload(unsignedTx()), {
    prefix: 'js-eth-quorum', approvers: ['alice', 'bob'],
  });
  await assert.rejects(client.sign(request), (err) => {
    assert.equal(err.code, grpc.status.PERMISSION_DENIED,
      `expected PERMISSION_DENIED, got ${err.code}: ${err.details}`);
    assert.match(err.details, /denied/);
    assert.match(err.details, /risk/);
    return true;
  });
});
