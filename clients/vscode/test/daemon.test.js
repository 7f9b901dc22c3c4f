// The real daemon (`$CT_BIN serve`) driven through vscode-jsonrpc with the requests the extension
// builds (out/requests.js, out/config.js: the same modules extension.ts uses). Expectations are
// written by hand from tests/fixtures/clients/greet.traj.json (see tests/integration/
// test_neovim.py for the walk through it): step 3 (0-based line 11) unuseful repeat-command,
// step 4 (line 13) incorrect outside-patch, step 5 (line 15) unuseful failed-action; 7 steps.
const test = require('node:test');
const assert = require('node:assert/strict');
const cp = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const rpc = require('vscode-jsonrpc/node');
const rq = require('../out/requests.js');
const cfg = require('../out/config.js');
const { countLabels } = require('../out/status.js');

const SRC = process.env.CT_SOURCE_DIR || path.resolve(__dirname, '..', '..', '..');
const BIN = process.env.CT_BIN || path.join(SRC, 'build', 'bin', 'codetracer');
const FIXTURE = path.join(SRC, 'tests', 'fixtures', 'clients', 'greet.traj.json');
const STEP_LINE = { 1: 7, 2: 9, 3: 11, 4: 13, 5: 15, 6: 17, 7: 19 };

function u16(s) {
  return s.length; // JS strings are UTF-16
}

/** The UTF-16 range of the JSON object written alone on a fixture line. */
function objectRange(text, line) {
  const l = text.split('\n')[line];
  const start = l.length - l.trimStart().length;
  const obj = l.trim().replace(/,$/, '');
  return { start: { line, character: u16(l.slice(0, start)) }, end: { line, character: start + u16(obj) } };
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error('timed out: ' + what)), ms); })])
    .finally(() => clearTimeout(t));
}

class Session {
  constructor(env) {
    this.proc = cp.spawn(BIN, ['serve'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((res) => this.proc.on('exit', (code, sig) => res({ code, sig })));
    this.conn = rpc.createMessageConnection(new rpc.StreamMessageReader(this.proc.stdout), new rpc.StreamMessageWriter(this.proc.stdin));
    this.diags = new Map(); // uri -> [publish params]
    this.waiters = [];
    this.progress = [];
    this.shown = [];
    this.configRequests = 0;
    this.conn.onNotification('textDocument/publishDiagnostics', (p) => {
      if (!this.diags.has(p.uri)) this.diags.set(p.uri, []);
      this.diags.get(p.uri).push(p);
      this.poke();
    });
    this.conn.onNotification('$/progress', (p) => { this.progress.push(p); this.poke(); });
    this.conn.onNotification('window/logMessage', () => {});
    this.conn.onNotification('window/showMessage', (p) => { this.shown.push(p); });
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.onRequest('window/showDocument', (p) => { this.showDocument = p; this.poke(); return { success: true }; });
    this.conn.onRequest('workspace/configuration', (p) => {
      this.configRequests++;
      return p.items.map(() => this.settings);
    });
    this.conn.listen();
  }

  poke() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  until(cond, what, ms = 15000) {
    return withTimeout(new Promise((res) => {
      const check = () => { const v = cond(); if (v) res(v); else this.waiters.push(check); };
      check();
    }), ms, what);
  }

  last(uri) {
    const l = this.diags.get(uri);
    return l && l[l.length - 1];
  }
}

test('the extension requests against the real daemon', { skip: !fs.existsSync(BIN) && `daemon not built: ${BIN}` }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-vscode-'));
  const work = path.join(tmp, 'work');
  fs.mkdirSync(path.join(work, 'run'), { recursive: true });
  const file = path.join(work, 'greet.traj.json');
  fs.copyFileSync(FIXTURE, file);
  fs.copyFileSync(FIXTURE, path.join(work, 'run', 'greet.traj.json'));
  const text = fs.readFileSync(file, 'utf8');
  const uri = pathToFileURL(file).href;
  const env = { ...process.env, XDG_RUNTIME_DIR: tmp, XDG_DATA_HOME: path.join(tmp, 'data'), CODETRACER_DB: path.join(tmp, 'memory.db') };
  const s = new Session(env);
  // the settings as VS Code would hold them (severity.incorrect changed by the user)
  const settings = cfg.readSettings((k) => ({ 'severity.incorrect': 'error' })[k]);
  s.settings = cfg.daemonSettings(settings);
  try {
    // what vscode-languageclient 9 advertises, as far as the daemon reads it
    const init = await withTimeout(s.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(work).href,
      capabilities: {
        general: { positionEncodings: ['utf-16'] },
        window: { workDoneProgress: true, showDocument: { support: true } },
        workspace: { configuration: true, executeCommand: {} },
        textDocument: { publishDiagnostics: { relatedInformation: true, tagSupport: { valueSet: [1, 2] }, dataSupport: true, codeDescriptionSupport: true, versionSupport: true } },
      },
      initializationOptions: cfg.daemonSettings(settings),
    }), 10000, 'initialize');
    assert.equal(init.capabilities.positionEncoding, 'utf-16');
    for (const c of ['analyze', 'inspect', 'clear']) assert.ok(rq.hasCommand(init, rq.COMMANDS[c]), c);
    s.conn.sendNotification('initialized', {});
    s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'json', version: 1, text } });

    // diagnostics: hand-written ranges (UTF-16), severities from the settings, labels in data
    const pub = await s.until(() => { const p = s.last(uri); return p && p.diagnostics.length === 3 && p; }, 'diagnostics');
    assert.equal(pub.version, 1);
    const d = [...pub.diagnostics].sort((a, b) => a.range.start.line - b.range.start.line);
    const want = [[3, 'unuseful', 'repeat-command', 4], [4, 'incorrect', 'outside-patch', 1], [5, 'unuseful', 'failed-action', 4]];
    want.forEach(([step, label, code, sev], i) => {
      // a step's range: its assistant message through the user message on the next line
      const want = { start: objectRange(text, STEP_LINE[step]).start, end: objectRange(text, STEP_LINE[step] + 1).end };
      assert.deepEqual(d[i].range, want, `range of step ${step}`);
      assert.equal(d[i].severity, sev, `severity of step ${step}`);
      assert.equal(d[i].code, code);
      assert.equal(d[i].source, 'codetracer');
      assert.deepEqual(d[i].data, { traj_id: file, step_id: step, label });
      assert.ok(d[i].message.startsWith(`Step ${step} ${label}: `), d[i].message);
      if (label === 'unuseful') assert.deepEqual(d[i].tags, [1]);
      else assert.equal(d[i].tags, undefined);
    });
    // step 3 ends on its user message (line 12), which holds "café" and an em dash: UTF-16, not bytes
    assert.ok(Buffer.byteLength(text.split('\n')[12]) > text.split('\n')[12].length);
    assert.deepEqual(countLabels(pub.diagnostics), { incorrect: 1, unuseful: 2 });
    assert.ok(s.configRequests >= 1, 'the daemon pulls workspace/configuration');

    // the step under the cursor (step 4's line) through the code actions
    const pos = { line: STEP_LINE[4], character: 10 };
    const actions = await s.conn.sendRequest('textDocument/codeAction', rq.codeActionParams(uri, { start: pos, end: pos }));
    const ref = rq.stepFromActions(actions);
    assert.deepEqual(ref, { traj_id: file, step_id: 4 });

    // Inspect step: Markdown back, and the daemon asks the client to show the file
    const ins = await s.conn.sendRequest('workspace/executeCommand', rq.inspectRequest(ref.traj_id, ref.step_id));
    assert.match(ins.markdown, /Step 4/);
    assert.match(ins.markdown, /sed -i 's\/Bob\/Rob\/' app\/names\.py/);
    await s.until(() => s.showDocument, 'window/showDocument');
    assert.equal(s.showDocument.uri, ins.uri);
    assert.equal(fs.readFileSync(new URL(ins.uri), 'utf8'), ins.markdown);

    // Go to step: the document symbols hold steps 1..7 on their lines
    const syms = rq.stepSymbols(await s.conn.sendRequest('textDocument/documentSymbol', rq.documentSymbolParams(uri)));
    assert.deepEqual(syms.map((x) => x.stepId), [1, 2, 3, 4, 5, 6, 7]);
    for (const x of syms) assert.equal(x.selectionRange.start.line, STEP_LINE[x.stepId], x.name);

    // Analyze a run dir, with a work-done token: summary and $/progress on that token
    const runDir = path.join(work, 'run');
    const sum = await withTimeout(s.conn.sendRequest('workspace/executeCommand', rq.analyzeRequest(runDir, 'tok-analyze')), 15000, 'analyze');
    assert.deepEqual([sum.trajectories, sum.steps, sum.incorrect, sum.unuseful], [1, 7, 1, 2]);
    assert.deepEqual(sum.files, [pathToFileURL(path.join(runDir, 'greet.traj.json')).href]);
    assert.equal(rq.summarize('run', sum), 'run: 1 trajectory, 7 steps, 1 incorrect, 2 unuseful');
    const kinds = s.progress.filter((p) => p.token === 'tok-analyze').map((p) => p.value.kind);
    assert.equal(kinds[0], 'begin');
    assert.equal(kinds[kinds.length - 1], 'end');
    const other = s.last(sum.files[0]);
    assert.equal(other.diagnostics.length, 3);

    // Mark label (codetracer.feedback, what the daemon's "the label is wrong" action runs)
    const before = s.diags.get(uri).length;
    const fb = await s.conn.sendRequest('workspace/executeCommand', rq.feedbackRequest(file, 4, 'correct', 'the names edit was needed'));
    assert.equal(fb.label, 'correct');
    assert.equal(fb.step_id, 4);
    const re = await s.until(() => { const l = s.diags.get(uri); return l.length > before && l[l.length - 1]; }, 'diagnostics after feedback');
    assert.deepEqual(re.diagnostics.map((x) => x.data.step_id).sort(), [3, 5]);

    // clear: everything, diagnostics emptied
    const cl = await s.conn.sendRequest('workspace/executeCommand', rq.clearRequest());
    assert.ok(cl.cleared >= 2, JSON.stringify(cl));
    await s.until(() => s.last(uri).diagnostics.length === 0, 'empty diagnostics after clear');

    await s.conn.sendRequest('shutdown');
    s.conn.sendNotification('exit');
    const ex = await withTimeout(s.exited, 10000, 'exit');
    assert.deepEqual(ex, { code: 0, sig: null }, s.stderr);
    assert.doesNotMatch(s.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
  } finally {
    s.conn.dispose();
    s.proc.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
