// A P2WPKH PSBT built with bitcoinjs-lib, signed through the gateway of a
// real 3-node cluster, then finalized and extracted with bitcoinjs-lib.
// Needs KAGI_CLUSTER_DIR (scripts/test-clients.sh).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';

import {
  WalletClient, bitcoinDestination, createKey, grpc, hex, signRequest,
} from './kagi_client.mjs';

const network = bitcoin.networks.regtest;
const INPUT_PATH = [0, 1];
const CHANGE_PATH = [1, 0];
// bitcoinjs-lib 7 takes and returns amounts as BigInt.
const INPUT_VALUE = 100000n;
const SEND_VALUE = 60000n;
const CHANGE_VALUE = 39000n; // fee 1000

let client;
let key;
let fingerprint;
let inputKey;
let changeKey;
let destination;

function pathString(path) {
  return `m/${path.join('/')}`;
}

before(async () => {
  client = new WalletClient();
  key = await createKey(client);
  assert.equal(key.key_id.length, 32);
  assert.equal(key.public_key.length, 33);
  assert.equal(key.chain_code.length, 32);
  fingerprint = bitcoin.crypto.hash160(key.public_key).subarray(0, 4);
  inputKey = await client.derivePublicKey({ key_id: key.key_id, path: INPUT_PATH, network: 'regtest' });
  changeKey = await client.derivePublicKey({ key_id: key.key_id, path: CHANGE_PATH, network: 'regtest' });
  destination = bitcoinDestination();
});

after(() => client && client.close());

function p2wpkh(pubkey) {
  return bitcoin.payments.p2wpkh({ pubkey: Buffer.from(pubkey), network });
}

// A transaction paying INPUT_VALUE to the wallet's m/0/1 P2WPKH script, so
// the PSBT carries both the witness UTXO and the full previous transaction.
function fakePreviousTx() {
  const tx = new bitcoin.Transaction();
  tx.version = 2;
  tx.addInput(Buffer.alloc(32, 0x42), 7, 0xfffffffd, Buffer.alloc(0));
  tx.addOutput(p2wpkh(inputKey.public_key).output, INPUT_VALUE);
  return tx;
}

// buildPsbt: every input carries its previous transaction (nonWitnessUtxo),
// which the nodes require; `witnessOnly` leaves it out.
function buildPsbt({ sendValue = SEND_VALUE, witnessOnly = false } = {}) {
  const prev = fakePreviousTx();
  const psbt = new bitcoin.Psbt({ network });
  psbt.addInput({
    hash: prev.getId(),
    index: 0,
    sequence: 0xfffffffd,
    witnessUtxo: { script: p2wpkh(inputKey.public_key).output, value: INPUT_VALUE },
    ...(witnessOnly ? {} : { nonWitnessUtxo: prev.toBuffer() }),
    bip32Derivation: [{
      masterFingerprint: fingerprint,
      path: pathString(INPUT_PATH),
      pubkey: Buffer.from(inputKey.public_key),
    }],
  });
  psbt.addOutput({ address: destination, value: sendValue });
  psbt.addOutput({
    address: p2wpkh(changeKey.public_key).address,
    value: CHANGE_VALUE,
    bip32Derivation: [{
      masterFingerprint: fingerprint,
      path: pathString(CHANGE_PATH),
      pubkey: Buffer.from(changeKey.public_key),
    }],
  });
  return psbt;
}

function payload(psbt) {
  return { bitcoin_psbt: { network: 'regtest', psbt: psbt.toBuffer() } };
}

// bitcoinjs hands the validator the 64-byte compact signature (it strips
// the DER and the sighash byte). The message is the sighash itself, and
// only low-S is valid (strict).
function validator(pubkey, msghash, signature) {
  assert.equal(signature.length, 64);
  return ecc.verify(msghash, pubkey, signature, true);
}

test('the gateway derives the keys bitcoinjs expects', () => {
  assert.equal(inputKey.public_key.length, 33);
  assert.deepEqual(inputKey.path, INPUT_PATH);
  assert.equal(inputKey.p2wpkh_address, p2wpkh(inputKey.public_key).address);
  assert.equal(changeKey.p2wpkh_address, p2wpkh(changeKey.public_key).address);
  assert.match(destination, /^bcrt1/);
});

test('P2WPKH PSBT: signed by the cluster, finalized and extracted by bitcoinjs', async () => {
  const psbt = buildPsbt();
  const { request, digest } = signRequest(key.key_id, payload(psbt), { prefix: 'js-btc' });
  const res = await client.sign(request);

  assert.equal(hex(res.request_digest), hex(digest), 'the nodes computed another request digest');
  assert.equal(res.signatures.length, 1);
  assert.equal(hex(res.signatures[0].public_key), hex(inputKey.public_key));
  assert.deepEqual(res.signatures[0].path, INPUT_PATH);
  assert.ok(res.signer_nodes.length >= 2, `signer_nodes: ${res.signer_nodes}`);
  assert.ok(res.signed_psbt.length > 0, 'no signed_psbt');

  const signed = bitcoin.Psbt.fromBuffer(res.signed_psbt, { network });
  // Nothing but the partial signature was added.
  assert.equal(signed.txInputs.length, 1);
  assert.equal(signed.txOutputs.length, 2);
  assert.equal(signed.txOutputs[0].address, destination);
  assert.equal(signed.txOutputs[0].value, SEND_VALUE);
  assert.equal(signed.txOutputs[1].value, CHANGE_VALUE);
  const partial = signed.data.inputs[0].partialSig;
  assert.equal(partial.length, 1);
  assert.equal(hex(partial[0].pubkey), hex(inputKey.public_key));
  assert.equal(partial[0].signature[partial[0].signature.length - 1], bitcoin.Transaction.SIGHASH_ALL);
  // The signature over the BIP143 sighash matches the one in the response.
  const { signature: compact } = bitcoin.script.signature.decode(partial[0].signature);
  assert.equal(hex(compact), hex(res.signatures[0].signature));

  assert.ok(signed.validateSignaturesOfInput(0, validator), 'signature does not validate');
  assert.ok(signed.validateSignaturesOfInput(0, validator, Buffer.from(inputKey.public_key)));

  signed.finalizeAllInputs();
  const tx = signed.extractTransaction();
  const txHex = tx.toHex();
  assert.match(txHex, /^[0-9a-f]+$/);
  const decoded = bitcoin.Transaction.fromHex(txHex);
  assert.equal(decoded.ins.length, 1);
  const witness = decoded.ins[0].witness;
  assert.equal(witness.length, 2);
  assert.equal(hex(witness[1]), hex(inputKey.public_key));
  assert.equal(hex(witness[0]), hex(partial[0].signature));
  assert.equal(decoded.ins[0].script.length, 0, 'P2WPKH input has an empty scriptSig');
  assert.equal(signed.getFee(), INPUT_VALUE - SEND_VALUE - CHANGE_VALUE);
  const unsigned = bitcoin.Transaction.fromBuffer(psbt.data.getTransaction());
  assert.equal(decoded.getId(), unsigned.getId(),
    'the signed transaction has the txid of the unsigned one');
});

test('a PSBT changed after approval is refused (approvals do not verify)', async () => {
  const original = buildPsbt();
  const { request } = signRequest(key.key_id, payload(original), { prefix: 'js-btc-tamper' });
  // Same request and approvals, but 1000 sat more to the destination.
  request.payload = payload(buildPsbt({ sendValue: SEND_VALUE + 1000n }));
  await assert.rejects(client.sign(request), (err) => {
    assert.equal(err.code, grpc.status.PERMISSION_DENIED,
      `expected PERMISSION_DENIED, got ${err.code}: ${err.details}`);
    assert.match(err.details, /does not verify/);
    return true;
  });
});

test('an input without its previous transaction is refused, naming the input', async () => {
  const { request } = signRequest(key.key_id, payload(buildPsbt({ witnessOnly: true })),
    { prefix: 'js-btc-witness-only' });
  await assert.rejects(client.sign(request), (err) => {
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT,
      `expected INVALID_ARGUMENT, got ${err.code}: ${err.details}`);
    assert.match(err.details, /input 0: non_witness_utxo missing/);
    return true;
  });
});
