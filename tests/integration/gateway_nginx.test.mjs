// Test that a real nginx with auth_request to /v1/authz lets allowed requests through to the
// model server and stops denied ones (the configuration configs/nginx/eargate-auth.conf shows).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startUpstream, startGateway, startProcess, stop, request, tmpDir, waitFor, keys, ips } from './lib.mjs';

let upstream, gw, nginx, nginxPort;

function nginxBin() {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(p)) return p;
  return null;
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

before(async () => {
  const bin = nginxBin();
  if (!bin) throw new Error('nginx not installed (scripts/bootstrap installs nginx-light)');
  upstream = await startUpstream();
  gw = await startGateway({ upstream: { url: upstream.url } });
  const dir = tmpDir('eargate-nginx-');
  nginxPort = await freePort();
  const conf = `
${process.getuid && process.getuid() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream eargate { server 127.0.0.1:${gw.port}; keepalive 16; }
  upstream models { server 127.0.0.1:${upstream.port}; keepalive 16; }
  server {
    listen 127.0.0.1:${nginxPort};
    location /models/ {
      auth_request /_eargate_authz;
      auth_request_set $eg_decision $upstream_http_x_eargate_decision;
      auth_request_set $eg_reason $upstream_http_x_eargate_reason;
      auth_request_set $eg_id $upstream_http_x_eargate_decision_id;
      auth_request_set $eg_person $upstream_http_x_eargate_person;
      add_header X-Eargate-Decision $eg_decision always;
      add_header X-Eargate-Reason $eg_reason always;
      add_header X-Eargate-Decision-Id $eg_id always;
      proxy_set_header X-Eargate-Person $eg_person;
      proxy_set_header Authorization "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://models;
    }
    location = /_eargate_authz {
      internal;
      proxy_pass http://eargate/v1/authz;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  execFileSync(bin, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'pipe' });
  ({ child: nginx } = await startProcess(bin, ['-p', dir, '-c', path.join(dir, 'nginx.conf')]));
  await waitFor(async () => {
    try { await request(`http://127.0.0.1:${nginxPort}`, '/'); return true; } catch { return false; }
  });
});

after(async () => {
  await stop(nginx, 'SIGQUIT');
  await stop(gw?.child);
  await stop(upstream?.child);
});

const viaNginx = (p, headers) => request(`http://127.0.0.1:${nginxPort}`, p, { headers });

test('allowed: a US person in the US reaches the model server through nginx', async () => {
  const r = await viaNginx('/models/mythos-5/ping', { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.path, '/models/mythos-5/ping');
  assert.equal(r.json.eargate_seen.person, 'cust-us-1');
  assert.equal(r.json.eargate_seen.authorization, null);  // the gateway key stays at the edge
  assert.equal(r.headers['x-eargate-decision'], 'allow');
});

test('denied: a foreign person in the US gets nginx 403 with the reason', async () => {
  const r = await viaNginx('/models/mythos-5/ping', { Authorization: `Bearer ${keys.de}`, 'X-Forwarded-For': ips.us });
  assert.equal(r.status, 403);
  assert.equal(r.headers['x-eargate-decision'], 'deny');
  assert.match(r.headers['x-eargate-reason'], /deemed export/);
  assert.match(r.headers['x-eargate-decision-id'], /^[0-9a-f-]{36}$/);
});

test('denied: the US person abroad; unknown key is 401', async () => {
  const abroad = await viaNginx('/models/mythos-5/ping', { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.de });
  assert.equal(abroad.status, 403);
  const unknown = await viaNginx('/models/mythos-5/ping', { Authorization: 'Bearer nope' });
  assert.equal(unknown.status, 401);
});

test('an item not subject to the EAR passes for anyone authenticated', async () => {
  const r = await viaNginx('/models/haiku-open/ping', { Authorization: `Bearer ${keys.de}`, 'X-Forwarded-For': ips.de });
  assert.equal(r.status, 200);
});
