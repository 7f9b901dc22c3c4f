// Unit tests of src/config.ts (compiled to out/config.js): settings, executable lookup,
// patterns, path mappings, daemon environment.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const cfg = require('../out/config.js');

test('readSettings: defaults when nothing is set', () => {
  const s = cfg.readSettings(() => undefined);
  assert.deepEqual(s, {
    daemonPath: 'codetracer',
    daemonArgs: ['serve'],
    analyzer: 'heuristic',
    severity: { incorrect: 'warning', unuseful: 'hint' },
    autoAnalyze: true,
    pathMappings: {},
    filePatterns: cfg.DEFAULT_PATTERNS,
  });
});

test('readSettings: values of the wrong type or outside the enum fall back', () => {
  const v = {
    'daemon.path': 42,
    'daemon.args': ['serve', 7],
    analyzer: 'gpt',
    'severity.incorrect': 'fatal',
    'severity.unuseful': 'information',
    autoAnalyze: 'no',
    pathMappings: { '/testbed': '/home/me/repo', '/bad': 3, '': '/x' },
    filePatterns: '**/*.json',
  };
  const s = cfg.readSettings((k) => v[k]);
  assert.equal(s.daemonPath, 'codetracer');
  assert.deepEqual(s.daemonArgs, ['serve']);
  assert.equal(s.analyzer, 'heuristic');
  assert.deepEqual(s.severity, { incorrect: 'warning', unuseful: 'information' });
  assert.equal(s.autoAnalyze, true);
  assert.deepEqual(s.pathMappings, { '/testbed': '/home/me/repo' });
  assert.deepEqual(s.filePatterns, cfg.DEFAULT_PATTERNS);
});

test('daemonSettings carries the daemon keys only (no paths, no secrets)', () => {
  const s = cfg.readSettings((k) => ({ 'severity.incorrect': 'error', 'daemon.path': '/opt/ct' })[k]);
  assert.deepEqual(cfg.daemonSettings(s), {
    analyzer: 'heuristic',
    severity: { incorrect: 'error', unuseful: 'hint' },
    autoAnalyze: true,
  });
});

test('findExecutable: PATH search, explicit paths, missing', () => {
  const exes = new Set(['/usr/local/bin/codetracer', '/opt/ct/bin/codetracer']);
  const isExe = (p) => exes.has(p);
  assert.equal(cfg.findExecutable('codetracer', '/usr/bin:/usr/local/bin', isExe), '/usr/local/bin/codetracer');
  assert.equal(cfg.findExecutable('codetracer', '/usr/bin::/nope', isExe), undefined);
  assert.equal(cfg.findExecutable('codetracer', undefined, isExe), undefined);
  assert.equal(cfg.findExecutable('/opt/ct/bin/codetracer', '', isExe), '/opt/ct/bin/codetracer');
  assert.equal(cfg.findExecutable('bin/codetracer', '', isExe, '/opt/ct'), '/opt/ct/bin/codetracer');
  assert.equal(cfg.findExecutable('/opt/ct/bin/codetracerd', '/opt/ct/bin', isExe), undefined);
  assert.equal(cfg.findExecutable('', '/usr/local/bin', isExe), undefined);
});

test('daemonEnv: the stored key goes to the environment, an existing one wins', () => {
  const base = { PATH: '/bin' };
  assert.deepEqual(cfg.daemonEnv(base, 'sk-1'), { PATH: '/bin', CODETRACER_API_KEY: 'sk-1' });
  assert.deepEqual(cfg.daemonEnv(base), { PATH: '/bin' });
  assert.equal(base.CODETRACER_API_KEY, undefined); // not modified
  assert.equal(cfg.daemonEnv({ CODETRACER_API_KEY: 'env' }, 'sk-1').CODETRACER_API_KEY, 'env');
});

test('matchesPatterns: the default trajectory patterns', () => {
  const p = cfg.DEFAULT_PATTERNS;
  for (const f of ['/r/a.traj.json', '/r/x/y.traj', '/r/run/trajectory.json', '/r/output.jsonl', '/r/s.cast', '/steps.json', 'rel/a.traj.json']) {
    assert.ok(cfg.matchesPatterns(f, p), f);
  }
  for (const f of ['/r/a.json', '/r/traj.json.bak', '/r/mytrajectory.json', '/r/output.jsonl.gz', '/r/steps.json/x']) {
    assert.ok(!cfg.matchesPatterns(f, p), f);
  }
  assert.ok(cfg.matchesPatterns('/a/b/c.log', ['*.log']));
  assert.ok(cfg.matchesPatterns('/a/b/c.log', ['/a/*/c.?og']));
  assert.ok(!cfg.matchesPatterns('/a/b/d/c.log', ['/a/*/c.log']));
  assert.ok(cfg.globToRegExp('a.b+c').test('a.b+c') && !cfg.globToRegExp('a.b').test('axb'));
});

test('mapPath: longest prefix, ${workspaceFolder}, whole segments only', () => {
  const m = { '/testbed': '${workspaceFolder}', '/testbed/vendor/': '/opt/vendor', '/data': '/mnt/data' };
  assert.equal(cfg.mapPath('/testbed/src/a.py', m, '/home/me/repo'), '/home/me/repo/src/a.py');
  assert.equal(cfg.mapPath('/testbed/vendor/x.c', m, '/w'), '/opt/vendor/x.c');
  assert.equal(cfg.mapPath('/testbed', m, '/w'), '/w');
  assert.equal(cfg.mapPath('/testbedx/a', m, '/w'), '/testbedx/a');
  assert.equal(cfg.mapPath('/other/a', m, '/w'), '/other/a');
  assert.equal(cfg.mapPath(path.join('/data', 'r1'), m), '/mnt/data/r1');
});
