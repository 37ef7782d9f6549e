// Helpers for the gateway's black-box tests: start the fake upstream, `eargate serve`, nginx;
// raw HTTP; temp folders. Everything binds 127.0.0.1 on ports the OS picks, and every process
// started here is stopped by the test that started it (see `track`).
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceDir = process.env.EARGATE_SOURCE_DIR || path.resolve(here, '../..');
export const eargateBin = process.env.EARGATE_BIN || path.join(sourceDir, 'build/release/apps/eargate/eargate');
export const geoDb = path.join(sourceDir, 'third_party/geoip/geo-whois-asn-country.mmdb');
export const samplePeople = path.join(sourceDir, 'examples/people/sample.jsonl');
export const policiesDir = path.join(sourceDir, 'examples/policies');

// Demo keys of examples/people/sample.jsonl and addresses the bundled geo database places.
export const keys = {
  us: 'sk-demo-us-person',
  de: 'sk-demo-foreign-person',
  unknown: 'sk-demo-unknown-status',
  gb: 'sk-demo-gb-person',
};
export const ips = { us: '8.8.8.8', de: '193.174.0.1' };

const children = new Set();
process.on('exit', () => { for (const c of children) { try { c.kill('SIGKILL'); } catch {} } });

export function tmpDir(prefix = 'eargate-it-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Starts a process and resolves when a stdout line matches `ready` (returns the match).
export async function startProcess(cmd, args, { ready, env, cwd, timeoutMs = 20000 } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.stderrText = '';
  child.stdoutText = '';
  child.stderr.on('data', (d) => { child.stderrText += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); }));
  if (!ready) return { child };
  const match = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in time; stderr:\n${child.stderrText}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      child.stdoutText += d;
      const m = child.stdoutText.match(ready);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code ?? signal}) before ready; stderr:\n${child.stderrText}`));
    });
  });
  return { child, match };
}

export async function stop(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exited;
  child.kill(signal);
  const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch {} }, 10000);
  const r = await child.exited;
  clearTimeout(timer);
  return r;
}

export async function startUpstream(env = {}) {
  const { child, match } = await startProcess(process.execPath, [path.join(here, 'fake_upstream.mjs'), '0'], { ready: /listening (\d+)/, env });
  return { child, port: Number(match[1]), url: `http://127.0.0.1:${match[1]}` };
}

// Writes a config file and starts `eargate serve --config` on a free port.
// `fileSizeLimit` (bytes): the gateway may write no file beyond it (RLIMIT_FSIZE, with SIGXFSZ
// ignored): its writes then fail as on a full disk.
export async function startGateway(settings = {}, dir = tmpDir(), { fileSizeLimit } = {}) {
  const cfg = {
    listen: '127.0.0.1:0',
    threads: 2,
    policy: path.join(policiesDir, 'letter.yaml'),
    policy_watch_ms: 0,
    people: samplePeople,
    geoip: { db: geoDb },
    trusted_proxies: ['127.0.0.1/32'],
    log_level: 'info',
    ...settings,
  };
  const file = path.join(dir, 'eargate.yaml');
  fs.writeFileSync(file, toYaml(cfg));
  let cmd = eargateBin;
  let args = ['serve', '--config', file];
  if (fileSizeLimit !== undefined) {
    args = ['-c', `trap '' XFSZ; exec prlimit --fsize=${fileSizeLimit} -- "$@"`, 'sh', cmd, ...args];
    cmd = 'sh';
  }
  const { child, match } = await startProcess(cmd, args, { ready: /listening on http:\/\/127\.0\.0\.1:(\d+)/ });
  const port = Number(match[1]);
  return { child, port, base: `http://127.0.0.1:${port}`, configFile: file, dir };
}

// Enough YAML for our config objects (maps, lists of scalars, scalars).
export function toYaml(obj, indent = '') {
  let out = '';
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) out += `${indent}${k}: [${v.map((x) => JSON.stringify(String(x))).join(', ')}]\n`;
    else if (v && typeof v === 'object') out += `${indent}${k}:\n${toYaml(v, indent + '  ')}`;
    else out += `${indent}${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}\n`;
  }
  return out;
}

// One HTTP request with node:http (no keep-alive unless an agent is given).
export function request(base, pathname, { method = 'GET', headers = {}, body, agent } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(pathname, base);
    const req = http.request(url, { method, headers, agent: agent ?? false }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    req.end();
  });
}

// Sends raw bytes on a fresh TCP connection and returns everything the server sent back
// until it closed the connection (or `waitMs` passed).
export async function rawExchange(port, chunks, { waitMs = 15000, pauseMs = 0 } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  let received = '';
  sock.on('data', (d) => { received += d; });
  const closed = new Promise((resolve) => sock.on('close', resolve));
  sock.on('error', () => {});
  for (const c of chunks) {
    if (sock.destroyed) break;
    sock.write(c);
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  const timer = setTimeout(() => sock.destroy(), waitMs);
  await closed;
  clearTimeout(timer);
  return received;
}

export function curl(args) {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err && err.code !== 0 && !stdout) return reject(new Error(`curl ${args.join(' ')}: ${stderr}`));
      resolve(stdout);
    });
  });
}

export async function metric(base, line) {
  const r = await request(base, '/metrics');
  const m = r.text.split('\n').find((l) => l.startsWith(line + ' '));
  return m ? Number(m.slice(line.length + 1)) : 0;
}

export async function waitFor(fn, { timeoutMs = 15000, stepMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

// Copies the example policies (with their includes) into dir; returns the folder.
export function copyPolicies(dir) {
  const dest = path.join(dir, 'policies');
  fs.cpSync(policiesDir, dest, { recursive: true });
  return dest;
}
