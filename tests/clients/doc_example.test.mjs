// docs/api.md's "Example: Node.js", run exactly as the page prints it, so
// the page cannot drift from the code: its shell lines (key creation under
// the demo policy, then `node withdraw.mjs`) run in bash, and its
// withdraw.mjs runs with this directory's node_modules. The page's
// `npm install` line is not run; it must pin exactly the versions of
// package.json, which scripts/test-clients.sh installs (npm ci).
// Needs KAGI_CLUSTER_DIR and KAGICTL (scripts/test-clients.sh sets both).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { REPO_ROOT, clusterDir } from './kagi_client.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// exampleBlocks returns the section's fenced blocks by language.
function exampleBlocks() {
  const page = readFileSync(join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  const start = page.indexOf('### Example: Node.js');
  assert.ok(start >= 0, 'docs/api.md has no "### Example: Node.js"');
  const end = page.indexOf('\n### ', start + 1);
  const section = page.slice(start, end < 0 ? undefined : end);
  const blocks = {};
  for (const m of section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)) {
    assert.ok(!(m[1] in blocks), `two ${m[1]} blocks in the example`);
    blocks[m[1]] = m[2];
  }
  assert.ok(blocks.sh && blocks.js, 'the example needs one sh and one js block');
  return blocks;
}

test('the example pins the versions the client tests install', () => {
  const { sh } = exampleBlocks();
  const install = sh.split('\n').filter((l) => l.startsWith('npm install '));
  assert.equal(install.length, 1, 'one npm install line');
  const pinned = Object.fromEntries(install[0].split(/\s+/).slice(2).map((spec) => {
    const at = spec.lastIndexOf('@');
    assert.ok(at > 0, `${spec}: no version pinned`);
    return [spec.slice(0, at), spec.slice(at + 1)];
  }));
  const { dependencies } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
  for (const [name, version] of Object.entries(pinned)) {
    assert.equal(dependencies[name], version, `${name}: the page pins ${version}`);
  }
  const { js } = exampleBlocks();
  for (const m of js.matchAll(/^import .* from '([^']*)';$/gm)) {
    if (m[1].startsWith('node:')) continue;
    const pkg = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
    assert.ok(pkg in pinned, `withdraw.mjs imports ${pkg}, which the npm install line does not pin`);
  }
});

test('the example runs as written: key created, withdrawal signed and every signature verified', () => {
  const { sh, js } = exampleBlocks();
  assert.ok(process.env.KAGICTL, 'KAGICTL is not set: run scripts/test-clients.sh');
  // Inside this directory, so that its node_modules resolve the imports.
  const work = mkdtempSync(join(here, '.doc-example-'));
  try {
    writeFileSync(join(work, 'withdraw.mjs'), js);
    const commands = sh.split('\n').filter((l) => !l.startsWith('npm install ')).join('\n');
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', commands], {
      cwd: work,
      encoding: 'utf8',
      timeout: 180_000,
      env: {
        ...process.env,
        D: clusterDir(),
        KAGI: REPO_ROOT,
        PATH: `${dirname(process.env.KAGICTL)}${delimiter}${process.env.PATH}`,
      },
    });
    assert.equal(run.status, 0, `exit ${run.status}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.match(run.stdout, /^signed by node-\d, node-\d, 1 signature\(s\) verified: [0-9a-f]{64}\n[0-9a-f]+\n$/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
