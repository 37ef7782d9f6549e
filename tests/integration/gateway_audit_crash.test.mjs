// Crash test of the decision log (issue 5): `eargate serve` with a sync decision log answers
// /v1/authz under concurrent load and is killed with SIGKILL mid-load. Afterwards
// `eargate audit verify` passes, every decision a client received an answer for (its
// X-Eargate-Decision-Id) is in the log, and a gateway restarted on the same directory continues
// the same chain (verify still passes, sequence numbers go on without a gap).
// A process kill leaves the page cache to the kernel, so this shows that no answer goes out
// before its record is written and that recovery continues the chain; that a sync answer also
// waits for fdatasync (survives power loss) is the log's own contract (store_audit_test).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startGateway, stop, request, waitFor, tmpDir, eargateBin, keys, ips } from './lib.mjs';

const started = [];
after(async () => { for (const c of started.reverse()) await stop(c, 'SIGKILL'); });

// Allowed (a US person in the US) and denied (a foreign person, deemed export) decisions.
const askers = [
  { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' },
  { Authorization: `Bearer ${keys.de}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' },
];

function eargate(args) {
  return new Promise((resolve) => {
    execFile(eargateBin, args, { maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

// Every record of the log, via `eargate audit export`.
async function exportLog(dir) {
  const r = await eargate(['audit', 'export', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// Sends /v1/authz on `connections` keep-alive connections until stopped or the server dies;
// collects the decision id of every answer received.
function load(base, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const answered = [];
  const statuses = {};
  let running = true;
  let failures = 0;
  const loops = Array.from({ length: connections }, async (_, i) => {
    let n = 0;
    while (running) {
      try {
        const r = await request(base, '/v1/authz', { headers: askers[(i + n++) % 2], agent });
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        const id = r.headers['x-eargate-decision-id'];
        if (id) answered.push({ id, status: r.status });
      } catch {
        // The gateway was killed: this request got no answer, so it promises nothing.
        if (++failures > 1000) break;
        await new Promise((res) => setTimeout(res, 5));
      }
    }
  });
  return {
    answered, statuses,
    async stop() { running = false; await Promise.all(loops); agent.destroy(); },
  };
}

test('kill -9 under load in sync mode: verify passes, every answered decision is logged, restart continues the chain', async () => {
  const dir = tmpDir('eargate-audit-crash-');
  const auditDir = path.join(dir, 'audit');
  const settings = { audit: { dir: auditDir, durability: 'sync' }, log_level: 'warn' };
  const gw = await startGateway(settings, dir);
  started.push(gw.child);

  const l = load(gw.base, 32);
  await waitFor(() => l.answered.length >= 3000, { timeoutMs: 60000 });
  // Its threads are named for top -H and ps -L (src/eargate/server/README.md).
  const names = fs.readdirSync(`/proc/${gw.child.pid}/task`)
    .map((t) => fs.readFileSync(`/proc/${gw.child.pid}/task/${t}/comm`, 'utf8').trim());
  for (const n of ['eargate', 'eg-reload', 'eg-log-sync', 'eg-log-writer', 'eg-log-zero']) {
    assert.ok(names.includes(n), `no thread named ${n} in ${names}`);
  }
  gw.child.kill('SIGKILL');
  const exit = await gw.child.exited;
  assert.equal(exit.signal, 'SIGKILL');
  await l.stop();
  assert.ok(l.statuses[200] > 0 && l.statuses[403] > 0, JSON.stringify(l.statuses));

  const v1 = await eargate(['audit', 'verify', '--dir', auditDir]);
  assert.equal(v1.code, 0, `verify after the crash:\n${v1.stdout}${v1.stderr}`);
  assert.match(v1.stdout, /^intact: \d+ records/m);

  const records = await exportLog(auditDir);
  const logged = new Map(records.map((r) => [r.decision_id, r]));
  const missing = l.answered.filter((a) => !logged.has(a.id));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${l.answered.length} answered decisions are not in the log`);
  // The logged outcome is the answered one.
  for (const a of l.answered) {
    assert.equal(logged.get(a.id).outcome, a.status === 200 ? 'allow' : 'deny', a.id);
  }
  // Sequence numbers 1..n without gaps.
  records.forEach((r, i) => assert.equal(r.seq, i + 1));
  const lastSeq = records.length;

  // Restart on the same directory: the chain goes on from the last whole record.
  const gw2 = await startGateway(settings, dir);
  started.push(gw2.child);
  const after2 = [];
  for (let i = 0; i < 20; ++i) {
    const r = await request(gw2.base, '/v1/authz', { headers: askers[i % 2] });
    assert.ok(r.status === 200 || r.status === 403, `status ${r.status}`);
    after2.push(r.headers['x-eargate-decision-id']);
  }
  // /metrics shows the log's own figures: what this process appended, the chain's last
  // sequence number (continuing the first process's), the group commits it made.
  const m = await request(gw2.base, '/metrics');
  assert.equal(m.status, 200);
  const metric = (name) => {
    const line = m.text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} missing from /metrics`);
    return Number(line.slice(name.length + 1));
  };
  assert.match(m.text, /^eargate_audit_info\{durability="sync"\} 1$/m);
  const appended = metric('eargate_audit_records_total');
  assert.ok(appended >= 20, `eargate_audit_records_total ${appended}`);
  assert.equal(metric('eargate_audit_last_seq'), lastSeq + appended);
  assert.ok(metric('eargate_audit_syncs_total') >= 1);
  assert.ok(metric('eargate_audit_sync_seconds_total') > 0);
  await stop(gw2.child, 'SIGTERM');

  const v2 = await eargate(['audit', 'verify', '--dir', auditDir]);
  assert.equal(v2.code, 0, `verify after the restart:\n${v2.stdout}${v2.stderr}`);
  const records2 = await exportLog(auditDir);
  records2.forEach((r, i) => assert.equal(r.seq, i + 1));
  assert.ok(records2.length >= lastSeq + 20);
  assert.deepEqual(records2.slice(0, lastSeq).map((r) => r.hash), records.map((r) => r.hash));
  const ids2 = new Set(records2.slice(lastSeq).map((r) => r.decision_id));
  for (const id of after2) assert.ok(ids2.has(id), `decision ${id} after the restart is not in the log`);
});
