// A fleet: two `eargate serve` processes on one real PostgreSQL (tests/support/pg_harness.sh)
// share the registry. A key revoked through one node (admin API) or from the command line
// (`eargate people revoke-key`) is refused by the other within a second; a person and key added
// on one are accepted by the other; each node keeps its own decision log, and the admin
// changes are in the log of the node that made them. Bad input: a malformed import file
// changes nothing; an unknown role is refused. A person added (CLI), changed (a citizenship that
// flips the decision) and deleted (admin API on one node) reaches the other node's decisions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import { eargateBin, sourceDir, samplePeople, startGateway, stop, request, tmpDir, keys, ips, waitFor } from './lib.mjs';

const harness = path.join(sourceDir, 'tests/support/pg_harness.sh');
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let pg;  // { url, dir }
const started = [];
let nodeA, nodeB, adminToken;

before(async () => {
  const r = await run(harness, ['start', String(process.pid)]);
  assert.equal(r.code, 0, r.stderr);
  const [url, dir] = r.stdout.trim().split(' ');
  pg = { url, dir };
  const imp = await run(eargateBin, ['people', 'import', '--store', pg.url, samplePeople]);
  assert.equal(imp.code, 0, imp.stderr);
  const tok = await run(eargateBin, ['admin', 'token', 'create', '--store', pg.url, '--name', 'fleet-officer', '--role', 'officer']);
  assert.equal(tok.code, 0, tok.stderr);
  adminToken = tok.stdout.trim();
  assert.match(adminToken, /^egadm-[A-Za-z0-9_-]{43}$/);
  // Two nodes, each with its own decision log; no people file: the registry is the store's.
  const base = tmpDir('eargate-fleet-');
  for (const name of ['a', 'b']) {
    const dir = path.join(base, name);
    fs.mkdirSync(dir);
    const gw = await startGateway({
      people: '', store: { url: pg.url },
      audit: { dir: path.join(dir, 'audit'), node: `node-${name}`, ship_interval_ms: 200 },
    }, dir);
    started.push(gw.child);
    if (name === 'a') nodeA = gw; else nodeB = gw;
  }
});

after(async () => {
  for (const c of started.reverse()) await stop(c);
  if (pg) await run(harness, ['stop', pg.dir]);
});

const authz = (node, key) => request(node.base, '/v1/authz', {
  headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' },
});
const admin = (node, method, pathname, body, token = adminToken) => request(node.base, pathname, {
  method, body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
});

// Polls until `node` answers authz for `key` with (or without) 401; returns the milliseconds.
async function msUntil(node, key, wantRefused, limitMs = 5000) {
  const t0 = performance.now();
  for (;;) {
    const r = await authz(node, key);
    if ((r.status === 401) === wantRefused) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) return Infinity;
    await new Promise((res) => setTimeout(res, 10));
  }
}

test('a key revoked through one node (admin API) is refused by the other within a second', async () => {
  assert.notEqual((await authz(nodeA, keys.us)).status, 401);
  assert.notEqual((await authz(nodeB, keys.us)).status, 401);
  const r = await admin(nodeA, 'DELETE', `/admin/v1/keys/${sha256(keys.us)}`);
  assert.equal(r.status, 200, r.text);
  const ms = await msUntil(nodeB, keys.us, true);
  console.log(`revocation via node A's admin API refused on node B after ${ms.toFixed(0)} ms`);
  assert.ok(ms < 1000, `node B still accepted the revoked key after ${ms} ms`);
  assert.equal((await authz(nodeA, keys.us)).status, 401);
});

test('a key revoked from the command line is refused by both nodes within a second', async () => {
  assert.notEqual((await authz(nodeB, keys.de)).status, 401);
  const r = await run(eargateBin, ['people', 'revoke-key', '--store', pg.url, sha256(keys.de)]);
  assert.equal(r.code, 0, r.stderr);
  const [a, b] = await Promise.all([msUntil(nodeA, keys.de, true), msUntil(nodeB, keys.de, true)]);
  console.log(`revocation via eargate people revoke-key: node A ${a.toFixed(0)} ms, node B ${b.toFixed(0)} ms`);
  assert.ok(a < 1000 && b < 1000, `A ${a} ms, B ${b} ms`);
});

test('a person and key added on one node are accepted by the other', async () => {
  const person = {
    id: 'fleet-1', kind: 'natural', name: 'Grace Hopper',
    citizenships: [{ country: 'US', source: 'passport-check', verified_at: '2026-05-01T00:00:00Z' }],
    permanent_residencies: [], us_person: true, end_user_categories: [], end_uses: [], organization: null,
  };
  const put = await admin(nodeA, 'PUT', '/admin/v1/people/fleet-1', person);
  assert.equal(put.status, 201, put.text);
  const made = await admin(nodeA, 'POST', '/admin/v1/people/fleet-1/keys', '');
  assert.equal(made.status, 201, made.text);
  const key = made.json.key;
  const ms = await msUntil(nodeB, key, false);
  console.log(`new person + key from node A accepted on node B after ${ms.toFixed(0)} ms`);
  assert.ok(ms < 1000, `node B refused the new key for ${ms} ms`);
  const r = await authz(nodeB, key);
  assert.equal(r.headers['x-eargate-person'], 'fleet-1');
  // Node B reads the same registry.
  const got = await admin(nodeB, 'GET', '/admin/v1/people/fleet-1');
  assert.equal(got.status, 200);
  assert.equal(got.json.name, 'Grace Hopper');
  assert.equal(got.json.citizenships[0].source, 'passport-check');
});

// Polls `node` until `done(answer)` holds for `key`; returns the last answer. A generous bound
// that only keeps a broken build from hanging: this asserts what is answered, not how fast.
async function answerWhen(node, key, done, limitMs = 30000) {
  const t0 = Date.now();
  for (;;) {
    const r = await authz(node, key);
    if (done(r) || Date.now() - t0 > limitMs) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
}

test('a person added, changed and deleted elsewhere reaches the other node with its decision', async () => {
  const key = `sk-fleet-2-${crypto.randomBytes(8).toString('hex')}`;
  const us = {
    id: 'fleet-2', kind: 'natural', name: 'Katherine Johnson',
    citizenships: [{ country: 'US', source: 'passport-check', verified_at: '2026-05-01T00:00:00Z' }],
    permanent_residencies: [], us_person: true, end_user_categories: [], end_uses: [], organization: null,
  };
  // Added from the command line: both nodes allow the US person in the US.
  const file = path.join(tmpDir('eargate-fleet-add-'), 'people.jsonl');
  fs.writeFileSync(file, JSON.stringify({ ...us, api_key_sha256: sha256(key) }) + '\n');
  const imp = await run(eargateBin, ['people', 'import', '--store', pg.url, file]);
  assert.equal(imp.code, 0, imp.stderr);
  for (const node of [nodeB, nodeA]) {
    const r = await answerWhen(node, key, (x) => x.status !== 401);
    assert.equal(r.headers['x-eargate-decision'], 'allow', `${node.base}: ${r.status} ${r.text}`);
    assert.equal(r.headers['x-eargate-person'], 'fleet-2');
  }
  // Changed on node A (now a German citizen, no US person): node B denies the same key.
  const de = { ...us, citizenships: [{ country: 'DE', source: 'passport-check', verified_at: '2026-06-01T00:00:00Z' }], us_person: false };
  const put = await admin(nodeA, 'PUT', '/admin/v1/people/fleet-2', de);
  assert.equal(put.status, 200, put.text);
  const denied = await answerWhen(nodeB, key, (x) => x.headers['x-eargate-decision'] === 'deny');
  assert.equal(denied.status, 403, denied.text);
  assert.equal(denied.headers['x-eargate-decision'], 'deny');
  // The people nobody changed answer as before.
  assert.notEqual((await authz(nodeB, keys.gb)).status, 401);
  // Deleted on node A: node B no longer knows the key.
  const del = await admin(nodeA, 'DELETE', '/admin/v1/people/fleet-2');
  assert.equal(del.status, 200, del.text);
  const gone = await answerWhen(nodeB, key, (x) => x.status === 401);
  assert.equal(gone.status, 401, gone.text);
  assert.notEqual((await authz(nodeB, keys.gb)).status, 401);
});

test('each node keeps its own log: the admin changes are in the log of the node that made them', async () => {
  const a = await admin(nodeA, 'GET', '/admin/v1/decisions?kind=admin_change&order=oldest');
  const b = await admin(nodeB, 'GET', '/admin/v1/decisions?kind=admin_change');
  assert.equal(a.status, 200, a.text);
  const whats = a.json.records.map((r) => r.record.what);
  assert.deepEqual(whats, ['api_key.revoke', 'person.create', 'api_key.create', 'person.update', 'person.delete']);
  for (const r of a.json.records) assert.equal(r.record.who.name, 'fleet-officer');
  assert.deepEqual(b.json.records, []);
  // The newest first by default.
  const newest = await admin(nodeA, 'GET', '/admin/v1/decisions?kind=admin_change&limit=1');
  assert.deepEqual(newest.json.records.map((r) => r.record.what), ['person.delete']);
  assert.equal(newest.json.truncated, true);
  // Decisions: node B decided requests too, in its own chain.
  const d = await admin(nodeB, 'GET', '/admin/v1/decisions?kind=decision&limit=1');
  assert.equal(d.json.records.length, 1);
});

test('each node ships its records to the store: one search finds the decisions of both', async () => {
  // Fresh decisions on each node, then poll the store until both nodes' records are there.
  for (const node of [nodeA, nodeB]) assert.notEqual((await authz(node, keys.unknown)).status, 401);
  let nodes = new Set();
  const t0 = Date.now();
  while (Date.now() - t0 < 10000) {
    const r = await run(eargateBin, ['audit', 'search', '--store', pg.url]);
    assert.equal(r.code, 0, r.stderr);
    nodes = new Set(r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).node));
    if (nodes.has('node-a') && nodes.has('node-b')) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.deepEqual([...nodes].sort(), ['node-a', 'node-b']);
  // Each node's /metrics shows how far its shipping got: all of its log, once it is idle.
  for (const node of [nodeA, nodeB]) {
    let lag;
    const t1 = Date.now();
    while (Date.now() - t1 < 10000) {
      const m = (await request(node.base, '/metrics')).text;
      const value = (name) => Number((m.match(new RegExp(`^${name} (\\S+)$`, 'm')) || [])[1]);
      lag = value('eargate_audit_last_seq') - value('eargate_audit_shipped_seq');
      if (lag === 0) {
        assert.ok(value('eargate_audit_shipped_records_total') >= value('eargate_audit_last_seq'));
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(lag, 0, 'shipping lag on /metrics');
    // The shipping thread gives way to serving: SCHED_IDLE (5, field 41 of its stat) and nice
    // 19 (field 19).
    const tasks = fs.readdirSync(`/proc/${node.child.pid}/task`);
    const ship = tasks.filter((t) => fs.readFileSync(`/proc/${node.child.pid}/task/${t}/comm`, 'utf8').trim() === 'eg-ship');
    assert.equal(ship.length, 1);
    const stat = fs.readFileSync(`/proc/${node.child.pid}/task/${ship[0]}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');  // fields[0] is field 3
    assert.equal(fields[16], '19');
    assert.equal(fields[38], '5');
  }
  // The admin changes of node A are shipped with its decisions.
  const changes = await run(eargateBin, ['audit', 'search', '--store', pg.url, '--node', 'node-a']);
  assert.equal(changes.code, 0, changes.stderr);
  assert.ok(changes.stdout.includes('api_key.revoke'), changes.stdout);
  // Node B's admin API searches the fleet: node A's admin changes, and both nodes' decisions;
  // one decision by the id its answer carried, whichever node made it.
  const fleet = await admin(nodeB, 'GET', '/admin/v1/decisions?scope=fleet&kind=admin_change&node=node-a&order=oldest');
  assert.equal(fleet.status, 200, fleet.text);
  assert.deepEqual(fleet.json.records.map((r) => r.record.what),
    ['api_key.revoke', 'person.create', 'api_key.create', 'person.update', 'person.delete']);
  const decisions = await admin(nodeB, 'GET', '/admin/v1/decisions?scope=fleet&limit=10000');
  assert.deepEqual([...new Set(decisions.json.records.map((r) => r.node))].sort(), ['node-a', 'node-b']);
  const answered = await authz(nodeA, keys.unknown);
  const id = answered.headers['x-eargate-decision-id'];
  assert.ok(id, 'decision id header');
  let found = [];
  for (const t0 = Date.now(); found.length === 0 && Date.now() - t0 < 10000;) {
    found = (await admin(nodeB, 'GET', `/admin/v1/decisions?scope=fleet&decision_id=${id}`)).json.records;
    if (found.length === 0) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(found.length, 1);
  assert.equal(found[0].node, 'node-a');
  assert.equal(found[0].decision_id, id);
});

test('a change through the admin API does not wait behind a decision search', async () => {
  // A fleet search held up in the store: another session locks decision_records.
  const locker = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', pg.url], { stdio: ['pipe', 'pipe', 'pipe'] });
  let said = '';
  locker.stdout.on('data', (d) => { said += d; });
  locker.stderr.on('data', (d) => { said += d; });
  locker.stdin.write('BEGIN;\nLOCK TABLE decision_records IN ACCESS EXCLUSIVE MODE;\n\\echo locked\n');
  try {
    await waitFor(() => said.includes('locked'));
    let searchDone = false;
    const search = admin(nodeA, 'GET', '/admin/v1/decisions?scope=fleet&person=nobody-at-all')
      .then((r) => { searchDone = true; return r; });
    // Until the search waits for the lock in PostgreSQL.
    await waitFor(async () => {
      const q = await run('psql', ['-X', '-At', pg.url, '-c',
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%ORDER BY time DESC%'"]);
      return q.stdout.trim() === '1';
    });
    // A person created meanwhile: answered while the search still waits.
    // (Behind the search it would wait for the lock: failed after 10 s rather than hung.)
    const put = await Promise.race([
      admin(nodeA, 'PUT', '/admin/v1/people/while-searching', {
        id: 'while-searching', kind: 'natural', name: 'Ada Lovelace',
        citizenships: [{ country: 'GB' }], permanent_residencies: [], us_person: false,
        end_user_categories: [], end_uses: [], organization: null,
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the change waited behind the search')), 10000)),
    ]);
    assert.equal(put.status, 201, put.text);
    assert.equal(searchDone, false, 'the search finished before the lock was released');
    // The search's thread yields to serving: nice 10.
    const tasks = fs.readdirSync(`/proc/${nodeA.child.pid}/task`);
    const comm = (t) => fs.readFileSync(`/proc/${nodeA.child.pid}/task/${t}/comm`, 'utf8').trim();
    const find = tasks.filter((t) => comm(t) === 'eg-admin-find');
    assert.equal(find.length, 1);
    const stat = fs.readFileSync(`/proc/${nodeA.child.pid}/task/${find[0]}/stat`, 'utf8');
    assert.equal(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16], '10');
    locker.stdin.end('COMMIT;\n');
    const r = await search;
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.records, []);
  } finally {
    locker.stdin.end();
    if (locker.exitCode === null) await new Promise((res) => locker.on('exit', res));
  }
});

test('a malformed import file changes nothing; an unknown role is refused', async () => {
  const dir = tmpDir('eargate-fleet-bad-');
  const file = path.join(dir, 'people.jsonl');
  fs.writeFileSync(file, [
    JSON.stringify({ id: 'ok-1', kind: 'natural', name: 'Fine Person', api_key_sha256: sha256('sk-new-1') }),
    '{"id": "broken", "citizenships": [{"country": "Atlantis"}]}',
    '{not json',
  ].join('\n') + '\n');
  const r = await run(eargateBin, ['people', 'import', '--store', pg.url, file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /people\.jsonl:2: citizenships\[0\]\.country: /);
  assert.match(r.stderr, /people\.jsonl:3: /);
  assert.match(r.stderr, /nothing imported/);
  assert.equal((await admin(nodeB, 'GET', '/admin/v1/people/ok-1')).status, 404);
  assert.equal((await authz(nodeB, 'sk-new-1')).status, 401);

  const role = await run(eargateBin, ['admin', 'token', 'create', '--store', pg.url, '--name', 'x', '--role', 'root']);
  assert.equal(role.code, 2);
  assert.match(role.stderr, /--role: unknown role 'root' \(viewer, analyst, officer, admin\)/);
});
