// PeerHost sandbox bootstrap for JavaScript functions (`export default async function (request, ctx)`).
// Same protocol as the Python bootstrap: one length-prefixed JSON invocation on stdin, framed JSON
// messages on the result fd; console output goes to stderr (the invocation's log).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

const resultFd = Number(process.argv[process.argv.indexOf('--result-fd') + 1]);
const send = (message) => {
  const data = Buffer.from(JSON.stringify(message));
  const header = Buffer.alloc(4);
  header.writeUInt32BE(data.length);
  fs.writeSync(resultFd, Buffer.concat([header, data]));
};
for (const level of ['log', 'info', 'debug']) console[level] = console.error;

function readExact(n) {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    let read = 0;
    try { read = fs.readSync(0, buf, off, n - off, null); } catch (e) { if (e.code === 'EAGAIN') continue; throw e; }
    if (read === 0) throw new Error('host closed stdin');
    off += read;
  }
  return buf;
}

class Request {
  constructor(r) {
    this.method = r.method.toUpperCase();
    this.path = r.path;
    this.queryParams = r.query || [];
    this.query = {};
    for (const [k, v] of this.queryParams) if (!(k in this.query)) this.query[k] = v;
    this.headers = Object.fromEntries(Object.entries(r.headers || {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    this.body = Buffer.from(r.body || '', 'base64');
  }
  text() { return this.body.toString('utf8'); }
  json() { return this.body.length ? JSON.parse(this.text()) : null; }
}

function seededRandom(requestId) {
  let state = crypto.createHash('sha256').update(`peerhost:${requestId}`).digest().readBigUInt64BE(0);
  return () => { // xorshift64*: deterministic per request
    state ^= state >> 12n; state ^= (state << 25n) & 0xffffffffffffffffn; state ^= state >> 27n;
    const out = (state * 0x2545F4914F6CDD1Dn) & 0xffffffffffffffffn;
    return Number(out >> 11n) / 2 ** 53;
  };
}

function toHttp(result) {
  let status = 200, headers = {}, body = result;
  if (result instanceof Response) {
    status = result.status;
    headers = Object.fromEntries([...result.headers.entries()]);
    return result.arrayBuffer().then((b) => [status, headers, Buffer.from(b)]);
  }
  if (result && typeof result === 'object' && 'status' in result && 'body' in result && Object.keys(result).every((k) => ['status', 'headers', 'body'].includes(k))) {
    ({ status, headers = {}, body } = result);
  }
  headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  if (body === undefined || body === null) return [status === 200 ? 204 : status, headers, Buffer.alloc(0)];
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) { headers['content-type'] ??= 'application/octet-stream'; return [status, headers, Buffer.from(body)]; }
  if (typeof body === 'string') { headers['content-type'] ??= 'text/plain; charset=utf-8'; return [status, headers, Buffer.from(body)]; }
  headers['content-type'] ??= 'application/json';
  return [status, headers, Buffer.from(JSON.stringify(body))];
}

async function main() {
  await import('data:text/javascript,export default 1'); // warm the ES module loader before the call
  send({ ready: true });
  const length = readExact(4).readUInt32BE(0);
  const inv = JSON.parse(readExact(length).toString('utf8'));
  for (const [rel, b64] of Object.entries(inv.files)) {
    const target = path.join('/app', rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, Buffer.from(b64, 'base64'));
  }
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, inv.env || {});
  const started = performance.now();
  const request = new Request(inv.request);
  const ctx = {
    requestId: String(inv.ctx.request_id), request_id: String(inv.ctx.request_id),
    timestamp: inv.ctx.timestamp, now: new Date(inv.ctx.timestamp * 1000),
    random: seededRandom(inv.ctx.request_id), env: { ...(inv.env || {}) }, log: (...a) => console.error(...a),
  };
  let result;
  try {
    const mod = await import(pathToFileURL(path.join('/app', inv.entry)).href);
    const handler = mod.default ?? mod.handler;
    if (typeof handler !== 'function') {
      console.error(`${inv.entry} has no default export function`);
      send({ error: 'no_handler' });
      return;
    }
    result = await handler(request, ctx);
  } catch (err) {
    const memory = err instanceof RangeError && /allocation|memory|Array buffer/i.test(String(err.message));
    console.error(err && err.stack ? err.stack : String(err));
    send({ error: memory ? 'memory' : 'exception' });
    return;
  }
  let status, headers, body;
  try {
    [status, headers, body] = await toHttp(result);
  } catch (err) {
    console.error(`bad response: ${err}`);
    send({ error: 'bad_response' });
    return;
  }
  const usage = process.resourceUsage();
  send({ status, headers, body: body.toString('base64'), stats: {
    cpu_ms: (usage.userCPUTime + usage.systemCPUTime) / 1000, peak_memory_kb: usage.maxRSS,
    handler_ms: performance.now() - started } });
}

main().catch((err) => { console.error(String(err && err.stack || err)); }).finally(() => process.exit(0));
