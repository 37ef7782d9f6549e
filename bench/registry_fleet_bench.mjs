// Registry propagation in a fleet: how long a change committed through node A's admin API takes
// to reach node B's answers, with PEOPLE (default 100000) people in a real PostgreSQL
// (tests/support/pg_harness.sh). Changes: add a person (with a key), add a key, change a person's
// KYC facts (citizenship and US-person status: the decision flips), revoke a key, delete a
// person; REPS (default 5) of each. Time is measured from the admin API's answer (the change is
// committed) to the first authz answer of node B that shows it (node B polled every ~2 ms).
//
// Each binary of BINS (colon-separated; default build/dev's eargate) runs the same script on its
// own fresh database, so "before" and "after" binaries are compared in one run:
//   BINS=/tmp/eargate-before:build/dev/apps/eargate/eargate node bench/registry_fleet_bench.mjs
// SCREEN=1 screens the registry against data/screening (slow start: every person is screened).
// Needs `bash tests/integration/setup.sh` (nothing else from npm). Prints a table per binary.
import path from 'node:path';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { sourceDir, geoDb, policiesDir, startProcess, stop, request, tmpDir, toYaml, ips } from '../tests/integration/lib.mjs';

const PEOPLE = Number(process.env.PEOPLE || 100000);
const REPS = Number(process.env.REPS || 5);
const BINS = (process.env.BINS || path.join(sourceDir, 'build/dev/apps/eargate/eargate')).split(':');
const harness = path.join(sourceDir, 'tests/support/pg_harness.sh');
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const COUNTRIES = ['DE', 'FR', 'GB', 'JP', 'IN', 'BR', 'CA', 'AU', 'US'];
function person(id, { country = 'US', usPerson = true, name } = {}) {
  return {
    id, kind: 'natural', name: name || `Bench Person ${id}`,
    citizenships: [{ country, source: 'bench', verified_at: '2026-05-01T00:00:00Z' }],
    permanent_residencies: [], us_person: usPerson, end_user_categories: [], end_uses: [], organization: null,
  };
}

async function runBinary(bin, dir) {
  const pgr = await run(harness, ['start', String(process.pid)]);
  if (pgr.code !== 0) throw new Error(pgr.stderr);
  const [url, pgdir] = pgr.stdout.trim().split(' ');
  const nodes = [];
  try {
    const file = path.join(dir, 'people.jsonl');
    const lines = [];
    for (let i = 0; i < PEOPLE; ++i) {
      const c = COUNTRIES[i % COUNTRIES.length];
      lines.push(JSON.stringify({ ...person(`p${String(i).padStart(7, '0')}`, { country: c, usPerson: c === 'US' }),
        api_key_sha256: sha256(`sk-bench-${i}`) }));
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
    let t0 = performance.now();
    const imp = await run(bin, ['people', 'import', '--store', url, file]);
    if (imp.code !== 0) throw new Error(imp.stderr);
    const importMs = performance.now() - t0;
    const tok = await run(bin, ['admin', 'token', 'create', '--store', url, '--name', 'bench', '--role', 'officer']);
    if (tok.code !== 0) throw new Error(tok.stderr);
    const token = tok.stdout.trim();
    for (const name of ['a', 'b']) {
      const ndir = path.join(dir, name);
      fs.mkdirSync(ndir, { recursive: true });
      const cfg = {
        listen: '127.0.0.1:0', threads: 1, policy: path.join(policiesDir, 'letter.yaml'), policy_watch_ms: 0,
        geoip: { db: geoDb }, trusted_proxies: ['127.0.0.1/32'], log_level: 'info', store: { url },
      };
      if (process.env.SCREEN === '1') cfg.screening = { lists: [path.join(sourceDir, 'data/screening')] };
      fs.writeFileSync(path.join(ndir, 'eargate.yaml'), toYaml(cfg));
      t0 = performance.now();
      const { child, match } = await startProcess(bin, ['serve', '--config', path.join(ndir, 'eargate.yaml')],
        { ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/, timeoutMs: 600000 });
      nodes.push({ child, base: `http://127.0.0.1:${match[1]}`, startMs: performance.now() - t0 });
    }
    const [A, B] = nodes;
    const authz = (key) => request(B.base, '/v1/authz', {
      headers: { Authorization: `Bearer ${key}`, 'X-Forwarded-For': ips.us, 'X-Eargate-Item': 'mythos-5' } });
    const admin = (method, p, body) => request(A.base, p, {
      method, body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
    // ms from now until node B's answer for key satisfies want; Infinity after 30 s.
    const until = async (key, want) => {
      const t = performance.now();
      for (;;) {
        const r = await authz(key);
        if (want(r)) return performance.now() - t;
        if (performance.now() - t > 30000) return Infinity;
        await sleep(2);
      }
    };
    const known = (r) => r.status !== 401;
    const gone = (r) => r.status === 401;
    const results = { 'add person': [], 'add key': [], 'change KYC facts': [], 'revoke key': [], 'delete person': [] };
    for (let rep = 0; rep < REPS; ++rep) {
      const id = `zz-bench-${rep}`;
      let r = await admin('PUT', `/admin/v1/people/${id}`, person(id));
      if (r.status !== 201) throw new Error(`PUT: ${r.status} ${r.text}`);
      // The person's first key (add person = the person and a key usable).
      r = await admin('POST', `/admin/v1/people/${id}/keys`, '');
      if (r.status !== 201) throw new Error(`POST key: ${r.status} ${r.text}`);
      const key1 = r.json.key;
      results['add person'].push(await until(key1, known));
      r = await admin('POST', `/admin/v1/people/${id}/keys`, '');
      const key2 = r.json.key;
      results['add key'].push(await until(key2, known));
      r = await admin('PUT', `/admin/v1/people/${id}`, person(id, { country: 'DE', usPerson: false }));
      if (r.status !== 200) throw new Error(`PUT change: ${r.status} ${r.text}`);
      results['change KYC facts'].push(await until(key1, (x) => x.headers['x-eargate-decision'] === 'deny'));
      r = await admin('DELETE', `/admin/v1/keys/${sha256(key2)}`);
      if (r.status !== 200) throw new Error(`revoke: ${r.status} ${r.text}`);
      results['revoke key'].push(await until(key2, gone));
      r = await admin('DELETE', `/admin/v1/people/${id}`);
      if (r.status !== 200) throw new Error(`delete: ${r.status} ${r.text}`);
      results['delete person'].push(await until(key1, gone));
      await sleep(300);  // let node B finish any rebuild before the next round
    }
    const incremental = (B.child.stderrText.match(/registry updated to change/g) || []).length;
    const rebuilt = (B.child.stderrText.match(/registry rebuilt in/g) || []).length;
    // Node B's own time per update or rebuild (its log), from the wake-up to the swap.
    const applyMs = [...B.child.stderrText.matchAll(/registry (?:updated to change \d+|rebuilt) in (\d+) ms/g)].map((m) => Number(m[1]));
    return { importMs, startMs: B.startMs, results, incremental, rebuilt, applyMs };
  } finally {
    for (const n of nodes) await stop(n.child);
    await run(harness, ['stop', pgdir]);
  }
}

const fmt = (ms) => (ms === Infinity ? 'never' : ms.toFixed(0));
const out = [];
for (const bin of BINS) {
  const dir = tmpDir('eargate-regbench-');
  const r = await runBinary(bin, dir);
  out.push([bin, r]);
  console.log(`\n${bin}\n  ${PEOPLE} people${process.env.SCREEN === '1' ? ', screened' : ''}; import ${fmt(r.importMs)} ms; node B start ${fmt(r.startMs)} ms; node B: ${r.incremental} incremental updates, ${r.rebuilt} rebuilds`);
  const ap = [...r.applyMs].sort((x, y) => x - y);
  if (ap.length) console.log(`  node B apply time per update/rebuild: median ${ap[Math.floor(ap.length / 2)]} ms, max ${ap[ap.length - 1]} ms`);
  console.log('  change              median ms   max ms   (node A admin API answer -> node B authz shows it)');
  for (const [k, v] of Object.entries(r.results)) {
    const s = [...v].sort((a, b) => a - b);
    console.log(`  ${k.padEnd(18)} ${fmt(s[Math.floor(s.length / 2)]).padStart(9)} ${fmt(s[s.length - 1]).padStart(8)}   [${v.map(fmt).join(', ')}]`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
