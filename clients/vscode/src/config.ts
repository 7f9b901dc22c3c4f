// Settings, daemon command line and paths. No `vscode` import: unit-tested under plain node.
import * as path from 'path';

export const DEFAULT_PATTERNS = [
  '**/*.traj',
  '**/*.traj.json',
  '**/trajectory.json',
  '**/output.jsonl',
  '**/*.cast',
  '**/steps.json',
];

const SEVERITIES = ['error', 'warning', 'information', 'hint'];
const ANALYZERS = ['heuristic', 'llm', 'hybrid'];

export interface Settings {
  daemonPath: string;
  daemonArgs: string[];
  analyzer: string;
  severity: { incorrect: string; unuseful: string };
  autoAnalyze: boolean;
  pathMappings: Record<string, string>;
  filePatterns: string[];
}

function str(v: unknown, dflt: string, allowed?: string[]): string {
  if (typeof v !== 'string' || v === '') return dflt;
  if (allowed && !allowed.includes(v)) return dflt;
  return v;
}

function strList(v: unknown, dflt: string[]): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) return dflt;
  return v as string[];
}

/** Read the `codetracer.*` settings through `get` (WorkspaceConfiguration.get in the extension),
 * replacing values of the wrong type or outside their enum by the defaults. */
export function readSettings(get: (key: string) => unknown): Settings {
  const mappings: Record<string, string> = {};
  const pm = get('pathMappings');
  if (pm && typeof pm === 'object' && !Array.isArray(pm)) {
    for (const [k, v] of Object.entries(pm as Record<string, unknown>)) {
      if (typeof v === 'string' && k !== '') mappings[k] = v;
    }
  }
  const auto = get('autoAnalyze');
  return {
    daemonPath: str(get('daemon.path'), 'codetracer'),
    daemonArgs: strList(get('daemon.args'), ['serve']),
    analyzer: str(get('analyzer'), 'heuristic', ANALYZERS),
    severity: {
      incorrect: str(get('severity.incorrect'), 'warning', SEVERITIES),
      unuseful: str(get('severity.unuseful'), 'hint', SEVERITIES),
    },
    autoAnalyze: typeof auto === 'boolean' ? auto : true,
    pathMappings: mappings,
    filePatterns: strList(get('filePatterns'), DEFAULT_PATTERNS),
  };
}

/** The LLM endpoint of "Diagnose with LLM" (`codetracer.llm.apiBase`, `.model`, `.budgetUsd`):
 * only the keys that are set. Never the API key (environment or SecretStorage only). */
export interface LlmSettings {
  apiBase?: string;
  model?: string;
  budgetUsd?: number;
}

export function readLlmSettings(get: (key: string) => unknown): LlmSettings {
  const o: LlmSettings = {};
  const base = get('llm.apiBase');
  if (typeof base === 'string' && base !== '') o.apiBase = base;
  const model = get('llm.model');
  if (typeof model === 'string' && model !== '') o.model = model;
  const b = get('llm.budgetUsd');
  if (typeof b === 'number' && Number.isFinite(b) && b >= 0) o.budgetUsd = b;
  return o;
}

/** The daemon's settings (docs/protocol.md "Settings"): sent as initializationOptions and with
 * workspace/didChangeConfiguration, and answered to workspace/configuration. No secret is ever
 * part of them. `llm` only when some LLM setting is set. */
export function daemonSettings(s: Settings, llm?: LlmSettings): Record<string, unknown> {
  const o: Record<string, unknown> = {
    analyzer: s.analyzer,
    severity: { incorrect: s.severity.incorrect, unuseful: s.severity.unuseful },
    autoAnalyze: s.autoAnalyze,
  };
  if (llm && Object.keys(llm).length > 0) o.llm = { ...llm };
  return o;
}

/** Find an executable like the shell: a name with a slash is taken as is (relative to cwd),
 * else searched in PATH. undefined when there is none. */
export function findExecutable(
  name: string,
  envPath: string | undefined,
  isExecutable: (p: string) => boolean,
  cwd = process.cwd(),
): string | undefined {
  if (!name) return undefined;
  if (name.includes('/') || name.includes(path.sep)) {
    const p = path.resolve(cwd, expandHome(name));
    return isExecutable(p) ? p : undefined;
  }
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

export function expandHome(p: string, home = process.env.HOME ?? ''): string {
  return p === '~' || p.startsWith('~/') ? home + p.slice(1) : p;
}

/** The daemon's environment: the editor's, plus the API key (from SecretStorage) when one is
 * stored and the environment does not already carry one. */
export function daemonEnv(base: NodeJS.ProcessEnv, apiKey?: string): NodeJS.ProcessEnv {
  const env = { ...base };
  if (apiKey && !env.CODETRACER_API_KEY) env.CODETRACER_API_KEY = apiKey;
  return env;
}

/** A glob (`**`, `*`, `?`) as a RegExp over '/'-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp('^' + re + '$');
}

export function matchesPatterns(filePath: string, patterns: string[]): boolean {
  const p = filePath.split(path.sep).join('/');
  return patterns.some((g) => {
    const r = globToRegExp(g);
    // a pattern without a folder part matches the file name anywhere
    return r.test(p) || (!g.includes('/') && r.test(p.slice(p.lastIndexOf('/') + 1)));
  });
}

/** Map a recorded path through pathMappings (longest matching prefix wins; `${workspaceFolder}`
 * in a target is replaced). The path itself when nothing matches. */
export function mapPath(p: string, mappings: Record<string, string>, workspaceFolder?: string): string {
  let best = '';
  for (const from of Object.keys(mappings)) {
    const f = from.endsWith('/') && from.length > 1 ? from.slice(0, -1) : from;
    if ((p === f || p.startsWith(f + '/')) && f.length > best.length) best = f;
  }
  if (!best) return p;
  let to = mappings[best] ?? mappings[best + '/'];
  if (workspaceFolder !== undefined) to = to.split('${workspaceFolder}').join(workspaceFolder);
  return to + p.slice(best.length);
}
