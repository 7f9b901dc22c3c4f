// Unit tests of src/requests.ts, src/status.ts and src/backoff.ts.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const rq = require('../out/requests.js');
const st = require('../out/status.js');
const { Backoff } = require('../out/backoff.js');

test('request builders: the exact executeCommand params', () => {
  assert.deepEqual(rq.analyzeRequest('/runs/r1'), { command: 'codetracer.analyze', arguments: ['/runs/r1'] });
  assert.deepEqual(rq.analyzeRequest('file:///a.traj.json', 't1'), {
    command: 'codetracer.analyze', arguments: ['file:///a.traj.json'], workDoneToken: 't1',
  });
  assert.deepEqual(rq.inspectRequest('T', 3), { command: 'codetracer.inspect', arguments: [{ traj_id: 'T', step_id: 3 }] });
  assert.deepEqual(rq.clearRequest(), { command: 'codetracer.clear', arguments: [] });
  assert.deepEqual(rq.clearRequest('/a'), { command: 'codetracer.clear', arguments: ['/a'] });
  assert.deepEqual(rq.feedbackRequest('T', 4, 'correct'), {
    command: 'codetracer.feedback', arguments: [{ traj_id: 'T', step_id: 4, label: 'correct' }],
  });
  assert.deepEqual(rq.feedbackRequest('T', 4, 'unuseful', 'dup').arguments[0].note, 'dup');
  const r = { start: { line: 1, character: 2 }, end: { line: 1, character: 2 } };
  assert.deepEqual(rq.codeActionParams('file:///x', r), {
    textDocument: { uri: 'file:///x' }, range: r, context: { diagnostics: [], only: ['quickfix'] },
  });
});

test('stepFromActions: the first Inspect action, Command or CodeAction shape', () => {
  const inspect = { title: 'Inspect step 2', command: 'codetracer.inspect', arguments: [{ traj_id: 'T', step_id: 2, uri: 'u' }] };
  const fb = { title: 'x', command: 'codetracer.feedback', arguments: [{ traj_id: 'T', step_id: 9, label: 'correct' }] };
  assert.deepEqual(rq.stepFromActions([{ title: 'a', kind: 'quickfix', command: fb }, { title: 'b', command: inspect }]), { traj_id: 'T', step_id: 2 });
  assert.deepEqual(rq.stepFromActions([inspect]), { traj_id: 'T', step_id: 2 });
  assert.equal(rq.stepFromActions([fb]), undefined);
  assert.equal(rq.stepFromActions(null), undefined);
  assert.equal(rq.stepFromActions([{ command: { command: 'codetracer.inspect', arguments: [{ traj_id: 'T', step_id: 'x' }] } }]), undefined);
});

test('stepSymbols: steps under stages, trajectories of a multi-trajectory file', () => {
  const R = (l) => ({ start: { line: l, character: 0 }, end: { line: l, character: 5 } });
  const single = [
    { name: 'Stage 1 · orient · steps 1–2', kind: 3, range: R(1), selectionRange: R(1), children: [
      { name: 'Step 1 · explore · ls', detail: 'correct', kind: 24, range: R(1), selectionRange: R(1) },
      { name: 'Step 2 · read · cat a', detail: 'unuseful · repeat-command', kind: 24, range: R(2), selectionRange: R(2) },
    ] },
  ];
  const s = rq.stepSymbols(single);
  assert.deepEqual(s.map((x) => [x.stepId, x.detail, x.selectionRange.start.line, x.trajectory]), [
    [1, 'correct', 1, undefined], [2, 'unuseful · repeat-command', 2, undefined],
  ]);
  const multi = [{ name: 'run-a', kind: 2, range: R(0), children: single }, { name: 'run-b', kind: 2, range: R(9), children: single }];
  assert.deepEqual(rq.stepSymbols(multi).map((x) => x.trajectory), ['run-a', 'run-a', 'run-b', 'run-b']);
  assert.deepEqual(rq.stepSymbols('nope'), []);
  assert.deepEqual(rq.stepSymbols([{ name: 'Stepladder', range: R(0) }]), []);
});

test('hasCommand and summarize', () => {
  const init = { capabilities: { executeCommandProvider: { commands: ['codetracer.analyze', 'codetracer.inspect'] } } };
  assert.equal(rq.hasCommand(init, 'codetracer.inspect'), true);
  assert.equal(rq.hasCommand(init, 'codetracer.feedback'), false);
  assert.equal(rq.hasCommand(undefined, 'codetracer.inspect'), false);
  assert.equal(rq.summarize('r', { trajectories: 1, steps: 7, incorrect: 1, unuseful: 2 }), 'r: 1 trajectory, 7 steps, 1 incorrect, 2 unuseful');
  assert.equal(rq.summarize('j', { trajectories: 3, steps: 9, incorrect: 0, unuseful: 1, unplaced: 4 }),
    'j: 3 trajectories, 9 steps, 0 incorrect, 1 unuseful (4 steps inside archives have no file to show them on)');
});

test('status: counts by data.label, texts per state', () => {
  const c = st.countLabels([{ data: { label: 'incorrect' } }, { data: { label: 'unuseful' } }, { data: { label: 'unuseful' } }, {}, { data: null }, { data: { label: 'correct' } }]);
  assert.deepEqual(c, { incorrect: 1, unuseful: 2 });
  assert.equal(st.statusText({ daemon: 'running', counts: c }).text, 'codetracer: $(warning) 1 $(circle-slash) 2');
  assert.match(st.statusText({ daemon: 'running', counts: c }).tooltip, /1 incorrect, 2 unuseful/);
  assert.equal(st.statusText({ daemon: 'running', progress: { title: 'codetracer: analyzing a.json', message: 'loading', percentage: 40 } }).text,
    '$(sync~spin) codetracer: analyzing a.json · loading 40%');
  assert.equal(st.statusText({ daemon: 'missing', detail: 'not found' }).text, '$(error) codetracer: daemon missing');
  assert.equal(st.statusText({ daemon: 'missing', detail: 'not found' }).tooltip, 'not found');
  assert.match(st.statusText({ daemon: 'crashed', restartInMs: 1500 }).tooltip, /Restarting in 2 s/);
  assert.match(st.statusText({ daemon: 'crashed' }).tooltip, /Not restarted/);
  assert.equal(st.statusText({ daemon: 'starting' }).text, '$(sync~spin) codetracer: starting');
  assert.equal(st.statusText({ daemon: 'running' }).text, 'codetracer');
});

test('backoff: doubling delays, capped, gives up after maxCrashes in the window', () => {
  let now = 0;
  const b = new Backoff({ baseMs: 1000, maxMs: 5000, maxCrashes: 4, windowMs: 60000 }, () => now);
  const ds = [];
  for (let i = 0; i < 5; i++) { ds.push(b.onCrash()); now += 1000; }
  assert.deepEqual(ds.map((d) => [d.restart, d.delayMs, d.attempt]), [
    [true, 1000, 1], [true, 2000, 2], [true, 4000, 3], [true, 5000, 4], [false, 0, 5],
  ]);
  now += 60000; // the old crashes leave the window
  assert.deepEqual(b.onCrash(), { restart: true, delayMs: 1000, attempt: 1 });
  b.onCrash();
  b.reset();
  assert.equal(b.onCrash().attempt, 1);
});

test('only extension.ts imports vscode, and it uses the request module', () => {
  const out = path.join(__dirname, '..', 'out');
  for (const f of ['config.js', 'requests.js', 'status.js', 'backoff.js']) {
    assert.doesNotMatch(fs.readFileSync(path.join(out, f), 'utf8'), /require\("vscode"\)/, f);
  }
  const ext = fs.readFileSync(path.join(out, 'extension.js'), 'utf8');
  assert.match(ext, /require\("vscode"\)/);
  assert.match(ext, /require\("\.\/requests"\)/);
});
