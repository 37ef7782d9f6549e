// Test that bad input gets a clear 4xx and the gateway stays up: malformed JSON, bad UTF-8,
// missing fields, oversized bodies and headers, garbage HTTP, slow clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startUpstream, startGateway, stop, request, rawExchange, metric, keys, ips } from './lib.mjs';

let upstream, gw;
const auth = { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us, 'Content-Type': 'application/json' };

before(async () => {
  upstream = await startUpstream();
  gw = await startGateway({
    upstream: { url: upstream.url },
    limits: { max_header_bytes: 4096, max_body_bytes: 8192, header_timeout_ms: 300, body_timeout_ms: 300 },
  });
});
after(async () => {
  await stop(gw?.child);
  await stop(upstream?.child);
});

async function stillUp() {
  const r = await request(gw.base, '/healthz');
  assert.equal(r.status, 200);
}

test('malformed JSON: 400 naming the problem (decide and proxy)', async () => {
  const d = await request(gw.base, '/v1/decide', { method: 'POST', body: '{"item": "mythos-5",' });
  assert.equal(d.status, 400);
  assert.equal(d.json.error.type, 'invalid_request_error');
  assert.match(d.json.error.message, /JSON/i);
  const p = await request(gw.base, '/v1/chat/completions', { method: 'POST', headers: auth, body: '{"model":' });
  assert.equal(p.status, 400);
  assert.match(p.json.error.message, /not valid JSON/);
  await stillUp();
});

test('bad UTF-8: 400', async () => {
  const bad = Buffer.concat([Buffer.from('{"item": "mythos-5", "person": {"id": "x", "name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]);
  const d = await request(gw.base, '/v1/decide', { method: 'POST', body: bad });
  assert.equal(d.status, 400);
  assert.match(d.json.error.message, /UTF-8/i);
  const p = await request(gw.base, '/v1/chat/completions', { method: 'POST', headers: auth,
    body: Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) });
  assert.equal(p.status, 400);
  await stillUp();
});

test('missing or wrong fields: 400 that names the field', async () => {
  const noModel = await request(gw.base, '/v1/chat/completions', { method: 'POST', headers: auth, body: { messages: [] } });
  assert.equal(noModel.status, 400);
  assert.match(noModel.json.error.message, /model: required/);
  const numModel = await request(gw.base, '/v1/chat/completions', { method: 'POST', headers: auth, body: { model: 5 } });
  assert.equal(numModel.status, 400);
  assert.match(numModel.json.error.message, /model: must be a string/);
  const badLayer = await request(gw.base, '/v1/decide', { method: 'POST', body: { item: 'mythos-5', layer: 'weight' } });
  assert.equal(badLayer.status, 400);
  assert.match(badLayer.json.error.message, /layer/);
  const badCountry = await request(gw.base, '/v1/chat/completions', { method: 'POST',
    headers: { ...auth, 'X-Eargate-Country': 'Germany' }, body: { model: 'mythos-5' } });
  assert.equal(badCountry.status, 400);
  assert.match(badCountry.json.error.message, /X-Eargate-Country/);
  await stillUp();
});

test('wrong method and unknown path: 405 and 404', async () => {
  const m = await request(gw.base, '/v1/chat/completions', { headers: auth });
  assert.equal(m.status, 405);
  assert.equal(m.headers.allow, 'POST');
  const n = await request(gw.base, '/v2/nothing');
  assert.equal(n.status, 404);
});

test('an oversized body: 413', async () => {
  const big = JSON.stringify({ model: 'mythos-5', messages: [{ role: 'user', content: 'x'.repeat(20000) }] });
  const r = await request(gw.base, '/v1/chat/completions', { method: 'POST', headers: auth, body: big });
  assert.equal(r.status, 413);
  // Chunked, so the size is only known while reading.
  const raw = await rawExchange(gw.port, [
    'POST /v1/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    `2710\r\n${'a'.repeat(10000)}\r\n0\r\n\r\n`,
  ]);
  assert.match(raw, /^HTTP\/1\.1 413 /);
  assert.ok(await metric(gw.base, 'eargate_failures_total{kind="body_too_large"}') >= 2);
  await stillUp();
});

test('oversized headers: 431', async () => {
  const r = await request(gw.base, '/v1/authz', { headers: { 'X-Padding': 'p'.repeat(8000) } });
  assert.equal(r.status, 431);
  await stillUp();
});

test('garbage instead of HTTP: 400 and the connection closes', async () => {
  const raw = await rawExchange(gw.port, ['HELLO THERE\r\n\r\n']);
  assert.match(raw, /^HTTP\/1\.1 400 /);
  await stillUp();
});

test('a slow client that never finishes its header gets 408; others are served meanwhile', async () => {
  const slow = rawExchange(gw.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'], { pauseMs: 100 });
  await stillUp();
  const raw = await slow;
  assert.match(raw, /^HTTP\/1\.1 408 /);
  const bodySlow = await rawExchange(gw.port, ['POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"item"']);
  assert.match(bodySlow, /^HTTP\/1\.1 408 /);
  assert.ok(await metric(gw.base, 'eargate_failures_total{kind="client_timeout"}') >= 2);
  await stillUp();
});

test('Expect: 100-continue is honoured', async () => {
  const raw = await rawExchange(gw.port, [
    'POST /v1/decide HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n',
    '{}',
  ], { pauseMs: 50 });
  assert.match(raw, /^HTTP\/1\.1 100 Continue/);
  assert.match(raw, /HTTP\/1\.1 (200|400) /);
});
