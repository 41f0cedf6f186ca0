// Key administration from a real client: the admin digests of a refresh and
// a reshare computed here, in JavaScript, from docs/policy.md, approved by the
// admin quorum (alice), accepted by every node of a real 3-node cluster; the
// same approval on any other change is refused. Needs KAGI_CLUSTER_DIR
// (scripts/test-clients.sh).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  ADMIN_APPROVERS, WalletClient, approvals, createKey, grpc, nowSeconds,
  refreshDigest, reshareDigest, uniqueId,
} from './kagi_client.mjs';

let client;
let key;
let listed;

before(async () => {
  client = new WalletClient();
  key = await createKey(client);
  listed = await client.listNodes();
});

after(() => client && client.close());

test('a refresh approved over the JS admin digest runs; the same approval as a reshare is refused', async () => {
  const req = {
    request_id: uniqueId('js-refresh'),
    key_id: key.key_id,
    expiry_unix_seconds: String(nowSeconds() + 300),
    dealers: [1, 2],
  };
  req.approvals = approvals(ADMIN_APPROVERS, refreshDigest(req, key, listed));
  const asReshare = {
    request_id: req.request_id, key_id: key.key_id, new_threshold: 2,
    new_nodes: ['node-1', 'node-2'], expiry_unix_seconds: req.expiry_unix_seconds,
    dealers: [1, 2], approvals: req.approvals,
  };
  await assert.rejects(client.reshare(asReshare), (err) => {
    assert.equal(err.code, grpc.status.PERMISSION_DENIED);
    assert.match(err.message, /does not verify over the request digest/);
    return true;
  });
  const refreshed = await client.refresh(req);
  assert.equal(Number(refreshed.epoch), Number(key.epoch) + 1);
  assert.deepEqual(refreshed.public_key, key.public_key);
  key = refreshed;
});

test('a reshare approved over the JS admin digest moves the key to 2-of-2', async () => {
  const req = {
    request_id: uniqueId('js-reshare'),
    key_id: key.key_id,
    new_threshold: 2,
    new_nodes: ['node-1', 'node-2'],
    expiry_unix_seconds: String(nowSeconds() + 300),
    dealers: [1, 2],
  };
  req.approvals = approvals(ADMIN_APPROVERS, reshareDigest(req, key, listed));
  const reshared = await client.reshare(req);
  assert.equal(reshared.parties.length, 2);
  assert.equal(Number(reshared.epoch), Number(key.epoch) + 1);
});
