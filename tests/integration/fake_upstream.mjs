// A small OpenAI-compatible model server for the gateway's integration tests and benchmarks.
// Answers /v1/chat/completions (JSON, or SSE when "stream": true, chunks spaced in time so a
// buffering proxy would be caught), /v1/completions, /v1/embeddings, /v1/responses and
// /v1/models. Echoes what the gateway added (X-Eargate-*, X-Forwarded-For, Authorization) in
// the response so tests can check it. Prints "listening <port>" once bound.
//
//   node fake_upstream.mjs [port]     (port 0 or absent: any free port)
import http from 'node:http';

const port = Number(process.argv[2] || 0);
const chunkDelayMs = Number(process.env.FAKE_UPSTREAM_CHUNK_DELAY_MS || 30);
let requests = 0;

function readBody(req) {
  return new Promise((resolve) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

function seen(req) {
  return {
    person: req.headers['x-eargate-person'] || null,
    item: req.headers['x-eargate-item'] || null,
    decision_id: req.headers['x-eargate-decision-id'] || null,
    forwarded_for: req.headers['x-forwarded-for'] || null,
    authorization: req.headers['authorization'] || null,
    path: req.url,
  };
}

const server = http.createServer(async (req, res) => {
  requests++;
  const body = await readBody(req);
  let json = {};
  try { json = body ? JSON.parse(body) : {}; } catch { json = {}; }
  const model = json.model || 'unknown';
  const created = 1781000000;
  const send = (obj, status = 200) => {
    const text = JSON.stringify(obj);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.url === '/__stats') return send({ requests });
  if (req.url === '/v1/models') return send({ object: 'list', data: [{ id: 'mythos-5', object: 'model', created, owned_by: 'upstream' }] });
  if (req.url === '/v1/chat/completions' && json.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const words = ['Hello', ' from', ' the', ' model', '.'];
    for (let i = 0; i < words.length; i++) {
      const chunk = {
        id: 'chatcmpl-fake', object: 'chat.completion.chunk', created, model,
        choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: words[i] } : { content: words[i] }, finish_reason: null }],
        eargate_seen: i === 0 ? seen(req) : undefined,
        sent_at_ms: Date.now(),
      };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      await new Promise((r) => setTimeout(r, chunkDelayMs));
    }
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], sent_at_ms: Date.now() })}\n\n`);
    res.write('data: [DONE]\n\n');
    return res.end();
  }
  if (req.url === '/v1/chat/completions') {
    return send({
      id: 'chatcmpl-fake', object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the model.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      eargate_seen: seen(req),
    });
  }
  if (req.url === '/v1/completions') {
    return send({ id: 'cmpl-fake', object: 'text_completion', created, model, choices: [{ index: 0, text: 'Hello.', finish_reason: 'stop' }], eargate_seen: seen(req) });
  }
  if (req.url === '/v1/embeddings') {
    return send({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }], model, usage: { prompt_tokens: 1, total_tokens: 1 } });
  }
  if (req.url === '/v1/responses') {
    return send({ id: 'resp-fake', object: 'response', created_at: created, model, status: 'completed', output: [], eargate_seen: seen(req) });
  }
  if (req.url.startsWith('/models/')) return send({ ok: true, path: req.url, eargate_seen: seen(req) });
  send({ error: { message: `no such path ${req.url}` } }, 404);
});
server.keepAliveTimeout = 60000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
