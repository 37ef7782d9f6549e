// Test that `eargate serve` enforces decisions in front of an OpenAI-compatible model server,
// driven by the real `openai` npm client (non-streaming and streaming) and by curl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startUpstream, startGateway, stop, request, curl, metric, rawExchange, keys, ips } from './lib.mjs';

let upstream, gw;

before(async () => {
  upstream = await startUpstream();
  gw = await startGateway({ upstream: { url: upstream.url } });
});
after(async () => {
  await stop(gw?.child);
  await stop(upstream?.child);
});

function client(key, ip) {
  return new OpenAI({
    apiKey: key,
    baseURL: `${gw.base}/v1`,
    maxRetries: 0,
    defaultHeaders: ip ? { 'X-Forwarded-For': ip } : {},
  });
}

test('a US person in the US gets a completion through the gateway (openai client)', async () => {
  const r = await client(keys.us, ips.us).chat.completions.create({
    model: 'mythos-5', messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(r.choices[0].message.content, 'Hello from the model.');
  // What the upstream saw: the person and decision, the client address, not the client's key.
  assert.equal(r.eargate_seen.person, 'cust-us-1');
  assert.equal(r.eargate_seen.item, 'mythos-5');
  assert.match(r.eargate_seen.decision_id, /^[0-9a-f-]{36}$/);
  assert.equal(r.eargate_seen.forwarded_for, ips.us);
  assert.equal(r.eargate_seen.authorization, null);
});

test('an alias of the item is decided as the item', async () => {
  const r = await client(keys.us, ips.us).chat.completions.create({
    model: 'claude-mythos-5', messages: [{ role: 'user', content: 'hi' }],
  });
  assert.equal(r.eargate_seen.item, 'mythos-5');
});

test('streaming: SSE chunks arrive one by one through the gateway (openai client)', async () => {
  const stream = await client(keys.us, ips.us).chat.completions.create({
    model: 'mythos-5', messages: [{ role: 'user', content: 'hi' }], stream: true,
  });
  let text = '';
  const arrivals = [];
  for await (const chunk of stream) {
    arrivals.push({ sent: chunk.sent_at_ms, got: Date.now() });
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, 'Hello from the model.');
  assert.equal(arrivals.length, 6);
  // Not a timing assertion: the first chunk must have been delivered before the upstream had
  // even produced the last one, which a buffering proxy cannot do.
  assert.ok(arrivals[0].got <= arrivals[arrivals.length - 1].sent,
    `first chunk received at ${arrivals[0].got}, after the last was sent at ${arrivals[arrivals.length - 1].sent}`);
});

test('the same US person abroad is denied with 451 and the SPEC body', async () => {
  await assert.rejects(
    client(keys.us, ips.de).chat.completions.create({ model: 'mythos-5', messages: [] }),
    (err) => {
      assert.equal(err.status, 451);
      assert.equal(err.error.type, 'export_control');
      assert.equal(err.error.code, 'license_required');
      assert.match(err.error.message, /exported to DE/);
      assert.match(err.error.decision_id, /^[0-9a-f-]{36}$/);
      return true;
    });
});

test('a foreign person in the US is denied (deemed export) - curl sees 451 and the headers', async () => {
  const out = await curl(['-i', `${gw.base}/v1/chat/completions`, '-H', `Authorization: Bearer ${keys.de}`,
    '-H', `X-Forwarded-For: ${ips.us}`, '-H', 'Content-Type: application/json', '-d', '{"model":"mythos-5","messages":[]}']);
  assert.match(out, /^HTTP\/1\.1 451 /);
  assert.match(out, /X-Eargate-Decision: deny/i);
  assert.match(out, /X-Eargate-Reason: .*deemed export/i);
  const body = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error.code, 'license_required');
});

test('a customer with unknown US-person status is denied, and told which fact is missing', async () => {
  const r = await request(gw.base, '/v1/chat/completions', {
    method: 'POST', headers: { Authorization: `Bearer ${keys.unknown}`, 'X-Forwarded-For': ips.us },
    body: { model: 'mythos-5', messages: [] },
  });
  assert.equal(r.status, 451);
  assert.match(r.json.error.message, /US-person status/i);
});

test('an unknown or missing key gets 401 (openai client and curl)', async () => {
  await assert.rejects(client('sk-not-registered', ips.us).chat.completions.create({ model: 'mythos-5', messages: [] }),
    (err) => err.status === 401 && err.error.code === 'invalid_api_key');
  const code = await curl(['-o', '/dev/null', '-w', '%{http_code}', `${gw.base}/v1/chat/completions`, '-d', '{"model":"mythos-5"}']);
  assert.equal(code, '401');
});

test('an unknown model gets 404 model_not_found and never reaches the upstream', async () => {
  await assert.rejects(client(keys.us, ips.us).chat.completions.create({ model: 'gpt-nonexistent', messages: [] }),
    (err) => err.status === 404 && err.error.code === 'model_not_found');
});

test('an item not subject to the EAR is served to a foreign person', async () => {
  const r = await client(keys.de, ips.de).chat.completions.create({ model: 'haiku-open', messages: [] });
  assert.equal(r.eargate_seen.person, 'cust-de-1');
});

test('completions, embeddings and responses are proxied too', async () => {
  const c = client(keys.us, ips.us);
  const comp = await c.completions.create({ model: 'mythos-5', prompt: 'hi' });
  assert.equal(comp.choices[0].text, 'Hello.');
  const emb = await c.embeddings.create({ model: 'mythos-5', input: 'hi', encoding_format: 'float' });
  assert.equal(emb.data[0].embedding.length, 3);
  const resp = await c.responses.create({ model: 'mythos-5', input: 'hi' });
  assert.equal(resp.status, 'completed');
  await assert.rejects(client(keys.de, ips.us).embeddings.create({ model: 'mythos-5', input: 'x' }),
    (err) => err.status === 451);
});

test('GET /v1/models lists only what the caller may reach', async () => {
  const home = await client(keys.us, ips.us).models.list();
  const homeIds = home.data.map((m) => m.id);
  assert.ok(homeIds.includes('mythos-5') && homeIds.includes('claude-mythos-5') && homeIds.includes('haiku-open'));
  const foreign = await client(keys.de, ips.us).models.list();
  const foreignIds = foreign.data.map((m) => m.id);
  assert.ok(foreignIds.includes('haiku-open'));
  assert.ok(!foreignIds.includes('mythos-5') && !foreignIds.includes('fable-5'), foreignIds.join(','));
});

test('POST /v1/decide answers SPEC §2 and geolocates location.ip', async () => {
  const r = await request(gw.base, '/v1/decide', {
    method: 'POST',
    body: {
      item: 'mythos-5', layer: 'application', channel: 'api', at: '2026-06-13T12:00:00Z',
      person: { id: 'x', kind: 'natural', citizenships: [{ country: 'US', since: '1980-01-01' }], us_person: true },
      location: { ip: ips.de },
    },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.decision, 'deny');
  assert.equal(r.json.activities[0].type, 'export');
  assert.equal(r.json.activities[0].destination, 'DE');
  assert.match(r.json.policy, /^sha256:[0-9a-f]{64}$/);
  const byId = await request(gw.base, '/v1/decide', {
    method: 'POST', body: { item: 'mythos-5', person: { id: 'cust-us-1' }, location: { country: 'US' } },
  });
  assert.equal(byId.status, 200, byId.text);
  assert.equal(byId.json.decision, 'allow');
});

test('an unreachable upstream is a 502 with a counter, and the gateway stays up', async () => {
  const dead = await startGateway({ upstream: { url: 'http://127.0.0.1:9' } });
  try {
    const r = await request(dead.base, '/v1/chat/completions', {
      method: 'POST', headers: { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us },
      body: { model: 'mythos-5', messages: [] },
    });
    assert.equal(r.status, 502);
    assert.equal(r.json.error.type, 'upstream_error');
    assert.equal(await metric(dead.base, 'eargate_upstream_errors_total{kind="connect"}'), 1);
    assert.equal((await request(dead.base, '/healthz')).status, 200);
  } finally {
    await stop(dead.child);
  }
});

test('metrics count decisions by outcome and item, and requests by endpoint and code', async () => {
  assert.ok(await metric(gw.base, 'eargate_decisions_total{outcome="deny"}') >= 3);
  assert.ok(await metric(gw.base, 'eargate_item_decisions_total{item="mythos-5",outcome="allow"}') >= 2);
  assert.ok(await metric(gw.base, 'eargate_http_requests_total{endpoint="chat_completions",code="451"}') >= 2);
  assert.ok(await metric(gw.base, 'eargate_decision_findings_total{source="notice"}') >= 1);
  const ready = await request(gw.base, '/readyz');
  assert.equal(ready.status, 200);
  assert.match(ready.text, /sha256:/);
});

test('authz in Envoy ext_authz style: original path after /v1/authz, model from the body', async () => {
  const allow = await request(gw.base, '/v1/authz/v1/chat/completions', {
    method: 'POST', headers: { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.us },
    body: { model: 'claude-mythos-5', messages: [] },
  });
  assert.equal(allow.status, 200);
  assert.equal(allow.headers['x-eargate-item'], 'mythos-5');
  assert.equal(allow.headers['x-eargate-person'], 'cust-us-1');
  const deny = await request(gw.base, '/v1/authz/v1/chat/completions', {
    method: 'POST', headers: { Authorization: `Bearer ${keys.us}`, 'X-Forwarded-For': ips.de },
    body: { model: 'mythos-5' },
  });
  assert.equal(deny.status, 403);
  assert.equal(deny.headers['x-eargate-decision'], 'deny');
  // nginx style with the model in the query of the original URI.
  const q = await request(gw.base, '/v1/authz', {
    headers: { Authorization: `Bearer ${keys.de}`, 'X-Forwarded-For': ips.us, 'X-Original-URI': '/generate?model=fable-5' },
  });
  assert.equal(q.status, 403);
  assert.match(q.headers['x-eargate-reason'], /fable-5/);
});

test('API keys never appear in the log', async () => {
  assert.ok(!gw.child.stderrText.includes('sk-demo'), gw.child.stderrText);
});

test('one keep-alive connection: every request is authenticated and located anew', async () => {
  // The gateway remembers the last key lookup and location per connection; a changed key or
  // X-Forwarded-For on the same connection must be decided as itself.
  const ask = (key, ip, last = false) =>
    `GET /v1/authz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Forwarded-For: ${ip}\r\n` +
    `X-Eargate-Item: mythos-5\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
  const raw = await rawExchange(gw.port, [
    ask(keys.us, ips.us), ask(keys.de, ips.us), ask(keys.us, ips.de), ask('sk-nobody', ips.us), ask(keys.us, ips.us, true),
  ]);
  const answers = raw.split(/(?=HTTP\/1\.1 )/);
  assert.equal(answers.length, 5, raw);
  const status = answers.map((a) => Number(a.slice(9, 12)));
  assert.deepEqual(status, [200, 403, 403, 401, 200]);
  assert.match(answers[0], /X-Eargate-Person: cust-us-1\r\n/);
  assert.match(answers[1], /X-Eargate-Decision: deny\r\n/);
  assert.match(answers[2], /X-Eargate-Decision: deny\r\n/);
  assert.match(answers[4], /X-Eargate-Person: cust-us-1\r\n/);
});
