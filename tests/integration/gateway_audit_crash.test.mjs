// Crash test of the decision log (issue 5): `eargate serve` with a sync decision log answers
// /v1/authz under concurrent load and is killed with SIGKILL mid-load. Afterwards
// `eargate audit verify` passes, every decision a client received an answer for (its
// X-Eargate-Decision-Id) is in the log, and a gateway restarted on the same directory continues
// the same chain (verify still passes, sequence numbers go on without a gap).
// A process kill leaves the page cache to the kernel, so this shows that no answer goes out
// before its record is written and that recovery continues the chain; that a sync answer also
// waits for fdatasync (survives power loss) is the log's own contract (store_audit_test).
// Full disk: once a write fails the gateway denies every access (no record, no allow), says so
// on /readyz and /metrics, logs it once rather than per request, and a restart with room cuts
// the partial record and continues the chain.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
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
  // 1-MiB segments: the kill comes after rotations into zero-filled segments, which are
  // written with O_DIRECT (doc/audit_log_format.md §6).
  const settings = { audit: { dir: auditDir, durability: 'sync', segment_mib: 1 }, log_level: 'warn' };
  const gw = await startGateway(settings, dir);
  started.push(gw.child);

  const l = load(gw.base, 32);
  await waitFor(() => l.answered.length >= 6000, { timeoutMs: 60000 });
  {
    const m = await request(gw.base, '/metrics');
    const value = (name) => Number((m.text.match(new RegExp(`^${name} (\\S+)$`, 'm')) || [])[1]);
    assert.ok(value('eargate_audit_segments_preallocated_total') >= 1, 'no zero-filled segment before the kill');
    // The syncs' durations, as a histogram: every sync in it.
    const inf = Number((m.text.match(/^eargate_audit_sync_duration_seconds_bucket\{le="\+Inf"\} (\S+)$/m) || [])[1]);
    assert.ok(value('eargate_audit_syncs_total') > 0, 'no sync before the kill');
    assert.equal(inf, value('eargate_audit_syncs_total'), 'the sync-duration histogram misses syncs');
    assert.equal(value('eargate_audit_sync_duration_seconds_count'), inf);
    const fsType = execFileSync('stat', ['-f', '-c', '%T', auditDir], { encoding: 'utf8' }).trim();
    if (fsType !== 'tmpfs') {
      assert.ok(value('eargate_audit_segments_direct_total') >= 1, `no O_DIRECT segment before the kill (${fsType})`);
    }
  }
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
  // Free space on the log's filesystem, for an alert before a full disk denies everyone.
  assert.ok(metric('eargate_audit_disk_free_bytes') > 0);
  assert.ok(metric('eargate_audit_disk_size_bytes') >= metric('eargate_audit_disk_free_bytes'));
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

test('a full disk stops the sync log: every access is denied, /readyz says why, and a restart with room continues the chain', async () => {
  const dir = tmpDir('eargate-audit-full-');
  const auditDir = path.join(dir, 'audit');
  const settings = { audit: { dir: auditDir, durability: 'sync' }, log_level: 'warn' };
  // Room for a few hundred records in the first segment, then writes fail (EFBIG, as ENOSPC).
  const gw = await startGateway(settings, dir, { fileSizeLimit: 256 << 10 });
  started.push(gw.child);
  assert.equal((await request(gw.base, '/readyz')).status, 200);

  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const allowed = [];
  let refused = null;
  for (let i = 0; i < 5000 && !refused; ++i) {
    const r = await request(gw.base, '/v1/authz', { headers: askers[0], agent });
    if (r.status === 200) allowed.push(r.headers['x-eargate-decision-id']);
    else refused = r;
  }
  assert.ok(refused, 'the log never failed');
  assert.ok(allowed.length > 100, `only ${allowed.length} allowed before the failure`);
  // Fail closed: the US person in the US is denied, with the reason.
  assert.equal(refused.status, 403);
  assert.equal(refused.headers['x-eargate-decision'], 'deny');
  assert.equal(refused.headers['x-eargate-reason'], 'decision log unavailable');
  for (let i = 0; i < 200; ++i) {
    const r = await request(gw.base, '/v1/authz', { headers: askers[i % 2], agent });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-eargate-reason'], 'decision log unavailable');
  }
  // The load balancer learns it; so does monitoring.
  const ready = await request(gw.base, '/readyz');
  assert.equal(ready.status, 503);
  assert.match(ready.text, /^decision log failed: write .*audit-\d+\.seg: File too large$/m);
  const m = await request(gw.base, '/metrics');
  assert.match(m.text, /^eargate_audit_up 0$/m);
  // One error line, not one per denied request.
  const lines = gw.child.stderrText.split('\n').filter((l) => l.includes('decision log:'));
  assert.ok(lines.length >= 1 && lines.length <= 2, lines.join('\n'));
  assert.match(lines[0], /File too large; decisions are not recorded, so none is answered allow/);
  agent.destroy();
  await stop(gw.child, 'SIGTERM');

  // With room again: the part of a record that reached the disk is cut, the chain goes on.
  const gw2 = await startGateway(settings, dir);
  started.push(gw2.child);
  assert.equal((await request(gw2.base, '/readyz')).status, 200);
  const r = await request(gw2.base, '/v1/authz', { headers: askers[0] });
  assert.equal(r.status, 200);
  assert.match((await request(gw2.base, '/metrics')).text, /^eargate_audit_up 1$/m);
  await stop(gw2.child, 'SIGTERM');

  const v = await eargate(['audit', 'verify', '--dir', auditDir]);
  assert.equal(v.code, 0, `verify:\n${v.stdout}${v.stderr}`);
  const logged = new Set((await exportLog(auditDir)).map((rec) => rec.decision_id));
  for (const id of [...allowed, r.headers['x-eargate-decision-id']]) {
    assert.ok(logged.has(id), `allowed decision ${id} is not in the log`);
  }
});
