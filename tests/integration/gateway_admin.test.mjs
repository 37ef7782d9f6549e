// The admin API over HTTP on a gateway backed by a real PostgreSQL store: nothing without a
// token (none, unknown, expired, revoked: 401), a role too low (403), an unknown role (400 from
// the API, exit 2 from the CLI), bad bodies naming the field; admin metrics are counted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import http from 'node:http';
import { eargateBin, sourceDir, samplePeople, startGateway, stop, request, tmpDir, curl, metric, waitFor, keys, ips } from './lib.mjs';

const harness = path.join(sourceDir, 'tests/support/pg_harness.sh');

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let pg, gw, auditDir;
const tokens = {};

async function mint(name, role, extra = []) {
  const r = await run(eargateBin, ['admin', 'token', 'create', '--store', pg.url, '--name', name, '--role', role, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

before(async () => {
  const r = await run(harness, ['start', String(process.pid)]);
  assert.equal(r.code, 0, r.stderr);
  const [url, dir] = r.stdout.trim().split(' ');
  pg = { url, dir };
  assert.equal((await run(eargateBin, ['people', 'import', '--store', pg.url, samplePeople])).code, 0);
  for (const role of ['viewer', 'analyst', 'officer', 'admin']) tokens[role] = await mint(`it-${role}`, role);
  const d = tmpDir('eargate-admin-');
  auditDir = path.join(d, 'audit');
  gw = await startGateway({ people: '', store: { url: pg.url }, audit: { dir: auditDir } }, d);
});

after(async () => {
  if (gw) await stop(gw.child);
  if (pg) await run(harness, ['stop', pg.dir]);
});

const call = (method, pathname, { token, body, auth } = {}) => request(gw.base, pathname, {
  method, body,
  headers: { ...(auth ? { Authorization: auth } : token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
});

test('nothing under /admin/ is reachable without a valid token', async () => {
  for (const p of ['/admin/v1/people', '/admin/v1/tokens', '/admin/v1/no-such-endpoint', '/admin/']) {
    const r = await call('GET', p);
    assert.equal(r.status, 401, `${p}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_admin_token');
  }
  assert.equal((await call('GET', '/admin/v1/people', { auth: 'Basic aXQ6aXQ=' })).status, 401);
  const unknown = await call('GET', '/admin/v1/people', { token: 'egadm-forged' });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.json.error.message, 'admin token: unknown');
  // A gateway API key is no admin token.
  assert.equal((await call('GET', '/admin/v1/people', { token: 'sk-demo-us-person' })).status, 401);
  // curl, as an operator would.
  const out = await curl(['-o', '/dev/null', '-w', '%{http_code}', `${gw.base}/admin/v1/people`]);
  assert.equal(out, '401');
});

test('an expired token gets 401 naming the reason', async () => {
  const token = await mint('it-expiring', 'admin', ['--expires', '2099-01-01T00:00:00Z']);
  assert.equal((await call('GET', '/admin/v1/whoami', { token })).status, 200);
  // Let it expire in the database (as time would).
  const psql = await run('psql', [pg.url, '-v', 'ON_ERROR_STOP=1', '-c', "UPDATE admin_tokens SET expires_at = 1 WHERE name = 'it-expiring'"]);
  assert.equal(psql.code, 0, psql.stderr);
  const r = await call('GET', '/admin/v1/whoami', { token });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.message, 'admin token: expired');
});

test('a revoked token gets 401', async () => {
  const token = await mint('it-revoked', 'viewer');
  const list = await call('GET', '/admin/v1/tokens', { token: tokens.admin });
  const entry = list.json.tokens.find((t) => t.name === 'it-revoked');
  const rv = await call('DELETE', `/admin/v1/tokens/${entry.token_sha256}`, { token: tokens.admin });
  assert.equal(rv.status, 200, rv.text);
  const r = await call('GET', '/admin/v1/whoami', { token });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.message, 'admin token: revoked');
});

test('a role too low gets 403 naming the role needed', async () => {
  const cases = [
    ['viewer', 'POST', '/admin/v1/screening/dispositions', 'analyst'],
    ['analyst', 'PUT', '/admin/v1/people/x', 'officer'],
    ['analyst', 'POST', '/admin/v1/people/cust-1001/keys', 'officer'],
    ['officer', 'GET', '/admin/v1/tokens', 'admin'],
    ['officer', 'POST', '/admin/v1/tokens', 'admin'],
  ];
  for (const [role, method, p, needs] of cases) {
    const r = await call(method, p, { token: tokens[role], body: '{}' });
    assert.equal(r.status, 403, `${role} ${method} ${p}: ${r.text}`);
    assert.match(r.json.error.message, new RegExp(`^role ${role} may not .*; needs ${needs} or above$`));
  }
  assert.equal((await call('GET', '/admin/v1/people', { token: tokens.viewer })).status, 200);
});

test('unknown roles and bad bodies get 400 naming the field; nothing is created', async () => {
  const role = await call('POST', '/admin/v1/tokens', { token: tokens.admin, body: { name: 'x', role: 'superuser' } });
  assert.equal(role.status, 400);
  assert.equal(role.json.error.message, "role: unknown role 'superuser' (viewer, analyst, officer, admin)");
  const field = await call('POST', '/admin/v1/tokens', { token: tokens.admin, body: { name: 'x', role: 'viewer', scope: 'all' } });
  assert.equal(field.status, 400);
  assert.equal(field.json.error.message, 'scope: unknown field (allowed: name, role, expires_at)');
  const bad = await call('PUT', '/admin/v1/people/p-1', { token: tokens.officer, body: '{"id":"p-1","kind":"robot"}' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /^kind: /);
  assert.equal((await call('GET', '/admin/v1/people/p-1', { token: tokens.viewer })).status, 404);
  const list = await call('GET', '/admin/v1/tokens', { token: tokens.admin });
  assert.ok(!list.json.tokens.some((t) => t.name === 'x'));

  const cli = await run(eargateBin, ['admin', 'token', 'create', '--store', pg.url, '--name', 'x', '--role', 'root']);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /--role: unknown role 'root'/);
  const past = await run(eargateBin, ['admin', 'token', 'create', '--store', pg.url, '--name', 'x', '--role', 'viewer', '--expires', '2020-01-01']);
  assert.equal(past.code, 2);
  assert.match(past.stderr, /--expires: in the past/);
  // Admin requests are counted under their own endpoint.
  assert.ok(await metric(gw.base, 'eargate_http_requests_total{endpoint="admin",code="401"}') >= 5);
  assert.ok(await metric(gw.base, 'eargate_http_requests_total{endpoint="admin",code="403"}') >= 5);
});

test('the decision log is verified on request, against its checkpoints in PostgreSQL too, and the copy of its records there; an edit of either is named, and /metrics shows it', async () => {
  // 1,100 decisions: the checkpoint taken at every 1,000th record goes to the file and the store.
  for (let i = 0; i < 1100; i++) {
    const r = await request(gw.base, '/v1/authz', {
      headers: { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' },
    });
    assert.equal(r.status, 200, r.text);
  }
  const stored = async () => Number((await run('psql', [pg.url, '-tAc', 'SELECT count(*) FROM audit_checkpoints'])).stdout.trim());
  assert.ok(await waitFor(async () => (await stored()) > 0), 'no checkpoint reached the store');

  const verified = async (runs) => {
    const started = await call('POST', '/admin/v1/audit/verify', { token: tokens.analyst });
    assert.equal(started.status, 202, started.text);
    return waitFor(async () => {
      const r = await call('GET', '/admin/v1/audit/verify', { token: tokens.viewer });
      assert.equal(r.status, 200, r.text);
      return r.json.runs >= runs && !r.json.running ? r.json : null;
    });
  };
  let v = await verified(1);
  assert.equal(v.last.intact, true, JSON.stringify(v.last));
  assert.equal(v.last.error, null);
  assert.ok(v.last.records >= 1100, JSON.stringify(v.last));
  assert.ok(v.last.checkpoints_checked >= 2, JSON.stringify(v.last));  // the file's and the store's
  assert.equal(await metric(gw.base, 'eargate_audit_verify_last_intact'), 1);
  assert.equal(await metric(gw.base, 'eargate_audit_verify_runs_total'), 1);

  // The copy fleet search reads (shipped every second): compared row by row, then one row
  // edited in PostgreSQL is named while the log stays intact.
  const last = await metric(gw.base, 'eargate_audit_last_seq');
  assert.ok(await waitFor(async () => (await metric(gw.base, 'eargate_audit_shipped_seq')) >= last));
  v = await verified(2);
  assert.equal(v.last.intact, true, JSON.stringify(v.last));
  assert.equal(v.last.store_copy.faithful, true, JSON.stringify(v.last.store_copy));
  assert.ok(v.last.store_copy.rows_checked >= 1100, JSON.stringify(v.last.store_copy));
  const edited = await run('psql', [pg.url, '-v', 'ON_ERROR_STOP=1', '-c', "UPDATE decision_records SET outcome = 'deny' WHERE seq = 500"]);
  assert.equal(edited.code, 0, edited.stderr);
  v = await verified(3);
  assert.equal(v.last.intact, false);
  assert.equal(v.last.problems_total, 0, JSON.stringify(v.last.problems));
  assert.deepEqual(v.last.store_copy.differences, ['seq 500: outcome differs from the log']);
  assert.equal(await metric(gw.base, 'eargate_audit_verify_last_copy_differences'), 1);
  assert.equal(await metric(gw.base, 'eargate_audit_verify_last_intact'), 0);
  // The fleet's view, from the store: this node's last run.
  const fleet = await call('GET', '/admin/v1/audit/verify?scope=fleet', { token: tokens.viewer });
  assert.equal(fleet.status, 200, fleet.text);
  assert.equal(fleet.json.nodes.length, 1, fleet.text);
  assert.equal(fleet.json.nodes[0].intact, false);
  assert.equal(fleet.json.nodes[0].copy_differences, 1);
  assert.deepEqual(fleet.json.nodes[0].findings, ['store copy seq 500: outcome differs from the log']);

  // One byte of a decision in the segment, edited in place.
  const seg = path.join(auditDir, 'audit-0000000000000001.seg');
  const bytes = fs.readFileSync(seg);
  const at = bytes.indexOf('mythos-5');
  assert.ok(at > 0);
  const fd = fs.openSync(seg, 'r+');
  fs.writeSync(fd, Buffer.from('6'), 0, 1, at + 7);
  fs.closeSync(fd);
  v = await verified(4);
  assert.equal(v.last.intact, false);
  assert.equal(v.last.problems_total, 1, JSON.stringify(v.last.problems));
  assert.equal(v.last.problems[0].segment, 'audit-0000000000000001.seg');
  assert.match(v.last.problems[0].message, /record edited/);
  assert.equal(await metric(gw.base, 'eargate_audit_verify_last_intact'), 0);
  assert.equal(await metric(gw.base, 'eargate_audit_verify_last_problems'), 1);
  // The CLI agrees, seq for seq.
  const cli = await run(eargateBin, ['audit', 'verify', '--dir', auditDir]);
  assert.equal(cli.code, 1, cli.stdout + cli.stderr);
  assert.ok(cli.stdout.includes(`TAMPERED ${v.last.problems[0].text}`), cli.stdout);
});

// Last: its gateway is a second node of the store (the test above counts the fleet's nodes).
test('a node search reads only the segments that may match: a time window and a decision id (UUID version 7) by the segments\' time ranges, a person by the indexes the background verification writes', async () => {
  const d = tmpDir('eargate-segments-');
  const dir = path.join(d, 'audit');
  const g = await startGateway({ people: '', store: { url: pg.url }, audit: { dir, segment_mib: 1 } }, d);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const authz = (key) => request(g.base, '/v1/authz', {
      agent, headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' },
    });
    // 6,400 decisions of ~700 bytes, in four seconds apart: several 1-MiB segments of
    // different times; one decision of another person midway.
    let firstId, rareId;
    for (let i = 0; i < 6400; i += 100) {
      if (i > 0 && i % 1600 === 0) await new Promise((r) => setTimeout(r, 1100));
      const batch = await Promise.all(Array.from({ length: 100 }, () => authz(keys.us)));
      for (const r of batch) assert.equal(r.status, 200, r.text);
      if (i === 0) firstId = batch[0].headers['x-eargate-decision-id'];
      if (i === 3200) rareId = (await authz(keys.gb)).headers['x-eargate-decision-id'];  // a 403: no person header
    }
    assert.match(firstId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const segments = fs.readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
    assert.ok(segments >= 4, `${segments} segments`);
    const search = async (query) => {
      const r = await request(g.base, `/admin/v1/decisions?${query}`, { headers: { Authorization: `Bearer ${tokens.viewer}` } });
      assert.equal(r.status, 200, r.text);
      return r.json;
    };

    // By decision id: the segment of its second (and the newest, which has no range yet).
    let found = await search(`decision_id=${firstId}&limit=10`);
    assert.equal(found.records.length, 1, JSON.stringify(found));
    assert.equal(found.records[0].decision_id, firstId);
    assert.ok(found.segments.read <= 3 && found.segments.skipped >= segments - 3, JSON.stringify(found.segments));
    found = await search(`decision_id=${rareId}`);
    assert.equal(found.records.length, 1, JSON.stringify(found));
    const rare = found.records[0].person;
    assert.equal(rare, 'cust-gb-1');
    // A window after every record: only the newest segment is read.
    found = await search('from=2099-01-01T00:00:00Z');
    assert.deepEqual(found.records, []);
    assert.deepEqual(found.segments, { read: 1, skipped: segments - 1 });

    // By person: every segment until the background verification (here on request) writes
    // each closed segment's index; then the rare person's segment and the newest.
    found = await search(`person=${rare}`);
    assert.equal(found.records.length, 1, JSON.stringify(found));
    assert.equal(found.segments.read, segments);
    const started = await request(g.base, '/admin/v1/audit/verify', { method: 'POST', headers: { Authorization: `Bearer ${tokens.analyst}` } });
    assert.equal(started.status, 202, started.text);
    const v = await waitFor(async () => {
      const r = await request(g.base, '/admin/v1/audit/verify', { headers: { Authorization: `Bearer ${tokens.viewer}` } });
      return r.json.runs >= 1 && !r.json.running ? r.json : null;
    });
    assert.equal(v.last.intact, true, JSON.stringify(v.last));
    assert.ok(v.last.indexes_written >= segments - 1, JSON.stringify(v.last));
    found = await search(`person=${rare}`);
    assert.equal(found.records.length, 1, JSON.stringify(found));
    assert.ok(found.segments.read <= 2, JSON.stringify(found.segments));
    found = await search('person=nobody-at-all');
    assert.deepEqual(found.records, []);
    assert.ok(found.segments.read <= 1 + Math.ceil(segments / 10), JSON.stringify(found.segments));  // Bloom: ~1 % false positives
    // The CLI reads the same indexes.
    const cli = await run(eargateBin, ['audit', 'search', '--dir', dir, '--person', rare]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout.trim().split('\n').length, 1, cli.stdout);
  } finally {
    agent.destroy();
    await stop(g.child);
  }
});
