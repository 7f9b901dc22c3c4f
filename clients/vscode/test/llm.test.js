// "Diagnose with LLM": the request builders and settings of src/requests.ts / src/config.ts, then
// the real daemon (`$CT_BIN serve`) driven with them against a scripted OpenAI-compatible server
// (node http on 127.0.0.1, one reply per request, every request recorded). Expectations are
// written by hand from tests/fixtures/clients/greet.traj.json and the script below: the agent
// inspects steps 4, 5 and 1, labels 4 incorrect and 5 unuseful, and finishes; 5 replies of
// 1000 + 100 tokens with gpt-4.1-mini ($0.40 / $1.60 per 1M) cost 5 x $0.00056 = $0.0028.
const test = require('node:test');
const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const rpc = require('vscode-jsonrpc/node');
const rq = require('../out/requests.js');
const cfg = require('../out/config.js');

const SRC = process.env.CT_SOURCE_DIR || path.resolve(__dirname, '..', '..', '..');
const BIN = process.env.CT_BIN || path.join(SRC, 'build', 'bin', 'codetracer');
const FIXTURE = path.join(SRC, 'tests', 'fixtures', 'clients', 'greet.traj.json');
const MODEL = 'gpt-4.1-mini';

test('LLM request builders, offered actions and the summary line', () => {
  assert.deepEqual(rq.llmAnalyzeRequest('file:///a.traj.json', 'llm'), {
    command: 'codetracer.analyze', arguments: [{ uri: 'file:///a.traj.json', analyzer: 'llm' }],
  });
  assert.equal(rq.llmAnalyzeRequest('u', 'hybrid').arguments[0].analyzer, 'hybrid');
  const act = (analyzer) => ({ title: 'Diagnose with LLM', kind: 'quickfix',
    command: { title: 'x', command: 'codetracer.analyze', arguments: [{ uri: 'u', analyzer }] } });
  assert.equal(rq.llmOffered([act('llm')], 'llm'), true);
  assert.equal(rq.llmOffered([act('hybrid')], 'llm'), false);
  assert.equal(rq.llmOffered([{ command: 'codetracer.analyze', arguments: [{ uri: 'u', analyzer: 'hybrid' }] }], 'hybrid'), true);
  assert.equal(rq.llmOffered([{ command: 'codetracer.inspect', arguments: [{ traj_id: 'T', step_id: 1 }] }], 'llm'), false);
  assert.equal(rq.llmOffered(null, 'llm'), false);
  assert.equal(rq.summarizeLlm('a.traj.json', { analyzer: 'llm', model: 'm', incorrect: 1, unuseful: 2, cost_usd: 0.0028 }),
    'a.traj.json: LLM diagnosis (llm, m): 1 incorrect, 2 unuseful · $0.0028');
  assert.equal(rq.summarizeLlm('a', { analyzer: 'llm', model: 'm', incorrect: 1, partial: true, stop_reason: 'cancelled', cost_usd: 0.001 }),
    'a: LLM diagnosis (llm, m): 1 incorrect, 0 unuseful (partial: cancelled) · $0.0010');
  assert.equal(rq.summarizeLlm('a', { analyzer: 'hybrid', model: 'm', cached: 1 }),
    'a: LLM diagnosis (hybrid, m): 0 incorrect, 0 unuseful (from the analysis cache) · $0.0000');
});

test('LLM settings: only the keys set, never a key; daemonSettings adds llm only then', () => {
  const none = cfg.readLlmSettings(() => undefined);
  assert.deepEqual(none, {});
  const s = cfg.readSettings(() => undefined);
  assert.equal(cfg.daemonSettings(s, none).llm, undefined);
  const v = { 'llm.apiBase': 'http://127.0.0.1:1/v1', 'llm.model': MODEL, 'llm.budgetUsd': 0.5, 'llm.apiKey': 'sk-no' };
  const l = cfg.readLlmSettings((k) => v[k]);
  assert.deepEqual(l, { apiBase: 'http://127.0.0.1:1/v1', model: MODEL, budgetUsd: 0.5 });
  assert.deepEqual(cfg.daemonSettings(s, l).llm, l);
  assert.deepEqual(cfg.readLlmSettings((k) => ({ 'llm.apiBase': '', 'llm.model': 7, 'llm.budgetUsd': -1 })[k]), {});
});

function completion(text) {
  return JSON.stringify({
    id: 'chatcmpl-fake', object: 'chat.completion', created: 1700000000, model: MODEL,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 },
  });
}

function fakeServer(replies) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ path: req.url, auth: req.headers.authorization, body });
      const r = replies[Math.min(requests.length - 1, replies.length - 1)];
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(r) });
      res.end(r);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, requests, port: server.address().port })));
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error('timed out: ' + what)), ms); })])
    .finally(() => clearTimeout(t));
}

test('Diagnose with LLM against the real daemon', { skip: !fs.existsSync(BIN) && `daemon not built: ${BIN}` }, async () => {
  const labels = { labels: [
    { step_id: 4, label: 'incorrect', reasoning: 'edited app/names.py, not app/greet.py' },
    { step_id: 5, label: 'unuseful', reasoning: 'a shell syntax error' }] };
  const script = [
    completion('Look.\n```bash\ncat steps/4.json\n```'),
    completion('And.\n```bash\ncat steps/5.json\n```'),
    completion('And.\n```bash\ncat steps/1.json\n```'),
    completion("Write.\n```bash\nprintf '%s\\n' '" + JSON.stringify(labels) + "' > labels.json\n```"),
    completion('Done.\n```bash\necho TRACER_FINAL_OUTPUT\n```'),
  ];
  const fake = await fakeServer(script);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-vscode-llm-'));
  const file = path.join(tmp, 'greet.traj.json');
  fs.copyFileSync(FIXTURE, file);
  const text = fs.readFileSync(file, 'utf8');
  const uri = pathToFileURL(file).href;
  const env = { ...process.env, HOME: tmp, TMPDIR: tmp, XDG_RUNTIME_DIR: tmp, XDG_CONFIG_HOME: path.join(tmp, 'config'),
    XDG_DATA_HOME: path.join(tmp, 'data'), CODETRACER_DB: path.join(tmp, 'memory.db') };
  for (const k of Object.keys(env)) if (k.startsWith('OPENAI_') || (k.startsWith('CODETRACER_') && k !== 'CODETRACER_DB')) delete env[k];
  const secret = 'sk-vscode-llm-test';
  Object.assign(env, cfg.daemonEnv(env, secret)); // the key as the extension passes it (SecretStorage)
  const proc = cp.spawn(BIN, ['serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
  const pubs = [];
  const progress = [];
  let poke = () => {};
  conn.onNotification('textDocument/publishDiagnostics', (p) => { if (p.uri === uri) pubs.push(p); poke(); });
  conn.onNotification('$/progress', (p) => { progress.push(p); poke(); });
  const logs = [];
  conn.onNotification('window/logMessage', (p) => { logs.push(p.message); });
  conn.onNotification('window/showMessage', (p) => { logs.push(p.message); });
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('workspace/configuration', (p) => p.items.map(() => ({})));
  conn.listen();
  const until = (cond, what) => withTimeout(new Promise((res) => {
    const check = () => { const v = cond(); if (v) res(v); else poke = check; };
    check();
  }), 60000, what);
  const settings = cfg.readSettings(() => undefined);
  const llm = cfg.readLlmSettings((k) => ({ 'llm.apiBase': `http://127.0.0.1:${fake.port}/v1`, 'llm.model': MODEL })[k]);
  try {
    await withTimeout(conn.sendRequest('initialize', {
      processId: process.pid,
      capabilities: { general: { positionEncodings: ['utf-16'] }, window: { workDoneProgress: true },
        workspace: { configuration: true, executeCommand: {} } },
      initializationOptions: cfg.daemonSettings(settings, llm),
    }), 10000, 'initialize');
    conn.sendNotification('initialized', {});
    conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text } });
    await until(() => pubs.length > 0 && pubs[pubs.length - 1].diagnostics.length === 3, 'heuristic diagnostics');

    // what the command checks first: the daemon offers both LLM actions (configured)
    const p0 = { line: 0, character: 0 };
    const actions = await conn.sendRequest('textDocument/codeAction', rq.codeActionParams(uri, { start: p0, end: p0 }));
    assert.equal(rq.llmOffered(actions, 'llm'), true, JSON.stringify(actions) + '\n' + logs.join('\n'));
    assert.equal(rq.llmOffered(actions, 'hybrid'), true);

    const n0 = pubs.length;
    const r = await withTimeout(conn.sendRequest('workspace/executeCommand', rq.llmAnalyzeRequest(uri, 'llm')), 60000, 'LLM analyze');
    assert.equal(rq.summarizeLlm('greet.traj.json', r), 'greet.traj.json: LLM diagnosis (llm, gpt-4.1-mini): 1 incorrect, 1 unuseful · $0.0028');
    assert.equal(fake.requests.length, 5);
    assert.ok(fake.requests.every((q) => q.auth === 'Bearer ' + secret && q.path === '/v1/chat/completions'));
    const pub = await until(() => pubs.length > n0 && pubs[pubs.length - 1], 'the LLM publish');
    const got = pub.diagnostics.map((d) => [d.data.step_id, d.data.label, d.data.analyzer]).sort();
    assert.deepEqual(got, [[4, 'incorrect', 'llm'], [5, 'unuseful', 'llm']]);
    assert.ok(pub.diagnostics.every((d) => d.message.endsWith('[LLM: gpt-4.1-mini]')), JSON.stringify(pub));
    // the daemon's cancellable progress (what VS Code shows with a Cancel button) ends after the answer
    const end = await until(() => progress.find((p) => p.value.kind === 'end'), 'the progress end');
    assert.ok(end.value.message.startsWith('done · 5 turns'), JSON.stringify(end));
    const begin = progress.find((p) => p.value.kind === 'begin');
    assert.equal(begin.value.cancellable, true);

    await conn.sendRequest('shutdown');
    conn.sendNotification('exit');
    const ex = await withTimeout(exited, 10000, 'exit');
    assert.deepEqual(ex, { code: 0, sig: null }, stderr);
    assert.doesNotMatch(stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
    assert.ok(!stderr.includes(secret));
  } finally {
    conn.dispose();
    proc.kill();
    fake.server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('no LLM configured: the daemon offers no LLM action, so the command does not run it', { skip: !fs.existsSync(BIN) && `daemon not built: ${BIN}` }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-vscode-nollm-'));
  const file = path.join(tmp, 'greet.traj.json');
  fs.copyFileSync(FIXTURE, file);
  const uri = pathToFileURL(file).href;
  const env = { ...process.env, HOME: tmp, XDG_RUNTIME_DIR: tmp, XDG_CONFIG_HOME: path.join(tmp, 'config'),
    XDG_DATA_HOME: path.join(tmp, 'data'), CODETRACER_DB: path.join(tmp, 'memory.db') };
  for (const k of Object.keys(env)) if (k.startsWith('OPENAI_') || (k.startsWith('CODETRACER_') && k !== 'CODETRACER_DB')) delete env[k];
  const proc = cp.spawn(BIN, ['serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((res) => proc.on('exit', (code, sig) => res({ code, sig })));
  const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(proc.stdout), new rpc.StreamMessageWriter(proc.stdin));
  let published = false;
  let poke = () => {};
  conn.onNotification('textDocument/publishDiagnostics', (p) => { if (p.uri === uri && p.diagnostics.length) published = true; poke(); });
  conn.onNotification('window/logMessage', () => {});
  conn.onNotification('$/progress', () => {});
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.onRequest('workspace/configuration', (p) => p.items.map(() => ({})));
  conn.listen();
  try {
    await withTimeout(conn.sendRequest('initialize', { processId: process.pid, capabilities: {},
      initializationOptions: cfg.daemonSettings(cfg.readSettings(() => undefined), cfg.readLlmSettings(() => undefined)) }), 10000, 'initialize');
    conn.sendNotification('initialized', {});
    conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text: fs.readFileSync(file, 'utf8') } });
    await withTimeout(new Promise((res) => { const c = () => (published ? res() : (poke = c)); c(); }), 20000, 'diagnostics');
    const p0 = { line: 0, character: 0 };
    const actions = await conn.sendRequest('textDocument/codeAction', rq.codeActionParams(uri, { start: p0, end: p0 }));
    assert.equal(rq.llmOffered(actions, 'llm'), false, JSON.stringify(actions));
    await conn.sendRequest('shutdown');
    conn.sendNotification('exit');
    assert.deepEqual(await withTimeout(exited, 10000, 'exit'), { code: 0, sig: null });
  } finally {
    conn.dispose();
    proc.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
