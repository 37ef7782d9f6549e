// Test that the policy is swapped without a restart while requests keep flowing (file change
// and SIGHUP), that a broken policy is refused with the old one kept, and that SIGTERM lets a
// request in flight (a stream) finish before the process exits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startUpstream, startGateway, stop, request, metric, waitFor, tmpDir, copyPolicies, keys, ips } from './lib.mjs';

const started = [];
after(async () => { for (const c of started.reverse()) await stop(c); });

// A foreign person in the US: denied under the letter (deemed export), allowed under the
// advisory-opinions reading (no export) - so each answer shows which policy decided it.
const asker = { Authorization: `Bearer ${keys.de}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' };

async function version(base) {
  const r = await request(base, '/readyz');
  return r.text.trim().split(' ')[1];
}

// Sends authz requests on `connections` keep-alive connections until stopped; records every
// status and any transport error.
function load(base, connections = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const statuses = {};
  const errors = [];
  let running = true;
  const loops = Array.from({ length: connections }, async () => {
    while (running) {
      try {
        const r = await request(base, '/v1/authz', { headers: asker, agent });
        statuses[r.status] = (statuses[r.status] || 0) + 1;
      } catch (e) {
        errors.push(String(e));
      }
    }
  });
  return {
    statuses, errors,
    async stop() { running = false; await Promise.all(loops); agent.destroy(); },
  };
}

test('a changed policy file is reloaded under load; a broken one is refused and the old kept', async () => {
  const dir = tmpDir();
  const policies = copyPolicies(dir);
  const policy = path.join(policies, 'live.yaml');
  fs.copyFileSync(path.join(policies, 'letter.yaml'), policy);
  const gw = await startGateway({ policy, policy_watch_ms: 50 }, dir);
  started.push(gw.child);
  const v1 = await version(gw.base);
  const l = load(gw.base);
  await waitFor(() => l.statuses[403] >= 20);

  // Swap in the advisory-opinions reading (write + rename: readers never see half a file).
  fs.writeFileSync(policy + '.tmp', fs.readFileSync(path.join(policies, 'advisory-opinions.yaml')));
  fs.renameSync(policy + '.tmp', policy);
  await waitFor(async () => (await version(gw.base)) !== v1);
  const v2 = await version(gw.base);
  await waitFor(() => (l.statuses[200] || 0) >= 20);

  // A broken policy: refused, logged with its position, and v2 keeps serving.
  fs.writeFileSync(policy + '.tmp', 'version: 1\nremote_access: sometimes\nitems: [\n');
  fs.renameSync(policy + '.tmp', policy);
  await waitFor(async () => (await metric(gw.base, 'eargate_policy_reloads_total{result="refused"}')) >= 1);
  const before = l.statuses[200];
  await waitFor(() => l.statuses[200] >= before + 20);
  await l.stop();

  assert.equal(await version(gw.base), v2);
  assert.deepEqual(l.errors, []);
  assert.deepEqual(Object.keys(l.statuses).sort(), ['200', '403'], JSON.stringify(l.statuses));
  assert.equal(await metric(gw.base, 'eargate_policy_reloads_total{result="ok"}'), 1);
  assert.match(gw.child.stderrText, /reload refused, still serving policy sha256:/);
  assert.match(gw.child.stderrText, /live\.yaml:\d+:\d+: /);
});

test('SIGHUP reloads the policy when file watching is off', async () => {
  const dir = tmpDir();
  const policies = copyPolicies(dir);
  const policy = path.join(policies, 'live.yaml');
  fs.copyFileSync(path.join(policies, 'letter.yaml'), policy);
  const gw = await startGateway({ policy, policy_watch_ms: 0 }, dir);
  started.push(gw.child);
  assert.equal((await request(gw.base, '/v1/authz', { headers: asker })).status, 403);
  fs.copyFileSync(path.join(policies, 'advisory-opinions.yaml'), policy);
  gw.child.kill('SIGHUP');
  await waitFor(async () => (await request(gw.base, '/v1/authz', { headers: asker })).status === 200);
  assert.equal(await metric(gw.base, 'eargate_policy_reloads_total{result="ok"}'), 1);
});

test('a new edition of a screening list is loaded while running: the registry is re-screened, a broken list is refused', async () => {
  const dir = tmpDir();
  const list = path.join(dir, 'sdn.csv');
  const bank = '306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n';
  const write = (text) => { fs.writeFileSync(list + '.tmp', text); fs.renameSync(list + '.tmp', list); };
  write(bank);
  const gw = await startGateway({ policy_watch_ms: 50, screening: { lists: [list] } }, dir);
  started.push(gw.child);
  const us = { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' };
  assert.equal((await request(gw.base, '/v1/authz', { headers: us })).status, 200);

  // The next edition names a registered customer (Ada Smith of the sample people file).
  write(bank + '99001,"SMITH, Ada","individual","SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n');
  await waitFor(async () => (await request(gw.base, '/v1/authz', { headers: us })).status === 403);
  assert.equal(await metric(gw.base, 'eargate_screening_hits{list="us_ofac_sdn",band="confirmed"}'), 1);
  assert.equal(await metric(gw.base, 'eargate_screening_hit_changes_total{change="new"}'), 1);
  assert.match(gw.child.stderrText, /screening hit \{"change": "new", "party": "cust-us-1", "list": "us_ofac_sdn", "entry_id": "99001"/);

  // A broken file: refused with its position; the customer stays denied.
  write('not a list\n');
  await waitFor(async () => (await metric(gw.base, 'eargate_screening_reloads_total{result="refused"}')) >= 1);
  assert.match(gw.child.stderrText, /screening lists refused, still screening with the 2 entries loaded before:\n.*sdn\.csv:1: unrecognised list format/);
  assert.equal((await request(gw.base, '/v1/authz', { headers: us })).status, 403);
});

test('SIGTERM: a stream in flight finishes, then the process exits 0', async () => {
  const upstream = await startUpstream({ FAKE_UPSTREAM_CHUNK_DELAY_MS: '150' });
  started.push(upstream.child);
  const gw = await startGateway({ upstream: { url: upstream.url } });
  started.push(gw.child);
  const body = await new Promise((resolve, reject) => {
    const req = http.request(`${gw.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us, 'Content-Type': 'application/json' },
    }, (res) => {
      let text = '';
      res.on('data', (d) => {
        if (!text) gw.child.kill('SIGTERM');  // first chunk received: now stop the gateway
        text += d;
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'mythos-5', messages: [], stream: true }));
  });
  assert.match(body, /data: \[DONE\]/);
  const { code } = await gw.child.exited;
  assert.equal(code, 0);
  assert.match(gw.child.stderrText, /shutting down/);
});
