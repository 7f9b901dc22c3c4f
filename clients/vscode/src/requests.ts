// Every request the extension sends to the daemon is built here (and nowhere else), so the
// protocol test drives the real daemon with exactly these. No `vscode` import.

export const COMMANDS = {
  analyze: 'codetracer.analyze',
  inspect: 'codetracer.inspect',
  clear: 'codetracer.clear',
  feedback: 'codetracer.feedback',
} as const;

export const LABELS = ['correct', 'incorrect', 'unuseful'] as const;
export type Label = (typeof LABELS)[number];

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}

export interface ExecuteCommandParams {
  command: string;
  arguments: unknown[];
  workDoneToken?: string | number;
}

export interface StepRef {
  traj_id: string;
  step_id: number;
}

/** codetracer.analyze on a trajectory file, run dir, job dir or archive (path or file URI). */
export function analyzeRequest(target: string, workDoneToken?: string | number): ExecuteCommandParams {
  const p: ExecuteCommandParams = { command: COMMANDS.analyze, arguments: [target] };
  if (workDoneToken !== undefined) p.workDoneToken = workDoneToken;
  return p;
}

export type LlmMode = 'llm' | 'hybrid';

/** codetracer.analyze of a document with the daemon's LLM agent ("Diagnose with LLM"). */
export function llmAnalyzeRequest(uri: string, analyzer: LlmMode): ExecuteCommandParams {
  return { command: COMMANDS.analyze, arguments: [{ uri, analyzer }] };
}

/** Did the daemon offer "Diagnose with LLM" (a codetracer.analyze action with this analyzer) in a
 * codeAction answer? It does only when an endpoint and a model are configured. */
export function llmOffered(actions: unknown, analyzer: LlmMode): boolean {
  if (!Array.isArray(actions)) return false;
  return actions.some((a) => {
    if (!a || typeof a !== 'object') return false;
    const cmd = typeof (a as any).command === 'object' && (a as any).command ? (a as any).command : a;
    const arg = Array.isArray(cmd.arguments) ? cmd.arguments[0] : undefined;
    return cmd.command === COMMANDS.analyze && !!arg && typeof arg === 'object' && arg.analyzer === analyzer;
  });
}

export interface LlmSummary {
  analyzer?: string;
  model?: string;
  partial?: boolean;
  stop_reason?: string;
  incorrect?: number;
  unuseful?: number;
  cost_usd?: number;
  cached?: number;
  stale?: boolean;
}

/** One line for the answer of an LLM codetracer.analyze. */
export function summarizeLlm(target: string, r: LlmSummary): string {
  let s = `${target}: LLM diagnosis (${r.analyzer ?? 'llm'}, ${r.model ?? '?'}): ${r.incorrect ?? 0} incorrect, ` +
    `${r.unuseful ?? 0} unuseful`;
  if (r.partial) s += ` (partial: ${r.stop_reason ?? 'stopped'})`;
  else if (r.cached) s += ' (from the analysis cache)';
  if (r.stale) s += ' (the document changed meanwhile: not shown)';
  return s + ` · $${(r.cost_usd ?? 0).toFixed(4)}`;
}

export function inspectRequest(trajId: string, stepId: number): ExecuteCommandParams {
  return { command: COMMANDS.inspect, arguments: [{ traj_id: trajId, step_id: stepId }] };
}

/** codetracer.clear of everything, or of one path/URI. */
export function clearRequest(target?: string): ExecuteCommandParams {
  return { command: COMMANDS.clear, arguments: target ? [target] : [] };
}

export function feedbackRequest(trajId: string, stepId: number, label: Label, note?: string): ExecuteCommandParams {
  const arg: Record<string, unknown> = { traj_id: trajId, step_id: stepId, label };
  if (note) arg.note = note;
  return { command: COMMANDS.feedback, arguments: [arg] };
}

export function documentSymbolParams(uri: string) {
  return { textDocument: { uri } };
}

/** textDocument/codeAction at a range; the daemon answers "Inspect step N" for the steps there. */
export function codeActionParams(uri: string, range: Range, diagnostics: unknown[] = []) {
  return { textDocument: { uri }, range, context: { diagnostics, only: ['quickfix'] } };
}

/** The {traj_id, step_id} of the first "Inspect step N" in a codeAction answer. */
export function stepFromActions(actions: unknown): StepRef | undefined {
  if (!Array.isArray(actions)) return undefined;
  for (const a of actions) {
    if (!a || typeof a !== 'object') continue;
    // a CodeAction carries a Command in .command; a bare Command has the id there
    const cmd = typeof (a as any).command === 'object' && (a as any).command ? (a as any).command : a;
    if (cmd.command === COMMANDS.inspect && Array.isArray(cmd.arguments)) {
      const arg = cmd.arguments[0];
      if (arg && typeof arg.traj_id === 'string' && Number.isInteger(arg.step_id)) {
        return { traj_id: arg.traj_id, step_id: arg.step_id };
      }
    }
  }
  return undefined;
}

export interface StepSymbol {
  stepId: number;
  name: string;
  detail: string;
  range: Range;
  selectionRange: Range;
  trajectory?: string; // the Module symbol's name when a file holds several trajectories
}

/** The steps of a textDocument/documentSymbol answer ("Stage k ..." > "Step N · kind · ..."). */
export function stepSymbols(symbols: unknown): StepSymbol[] {
  const out: StepSymbol[] = [];
  const walk = (list: unknown, traj?: string) => {
    if (!Array.isArray(list)) return;
    for (const s of list) {
      if (!s || typeof s !== 'object') continue;
      const name = typeof s.name === 'string' ? s.name : '';
      const m = /^Step (\d+)\b/.exec(name);
      const range = s.range ?? s.location?.range;
      if (m && range) {
        out.push({
          stepId: Number(m[1]),
          name,
          detail: typeof s.detail === 'string' ? s.detail : '',
          range,
          selectionRange: s.selectionRange ?? range,
          trajectory: traj,
        });
      }
      walk(s.children, s.kind === 2 ? name : traj); // 2 = Module: one trajectory
    }
  };
  walk(symbols);
  return out;
}

/** Does the daemon list `command` in executeCommandProvider (initialize result)? */
export function hasCommand(initializeResult: unknown, command: string): boolean {
  const cmds = (initializeResult as any)?.capabilities?.executeCommandProvider?.commands;
  return Array.isArray(cmds) && cmds.includes(command);
}

export interface AnalyzeSummary {
  trajectories?: number;
  steps?: number;
  incorrect?: number;
  unuseful?: number;
  files?: string[];
  unplaced?: number;
  load_ms?: number;
  analyze_ms?: number;
}

/** One line for the result of codetracer.analyze. */
export function summarize(target: string, r: AnalyzeSummary): string {
  const n = r.trajectories ?? 0;
  let s = `${target}: ${n} ${n === 1 ? 'trajectory' : 'trajectories'}, ${r.steps ?? 0} steps, ` +
    `${r.incorrect ?? 0} incorrect, ${r.unuseful ?? 0} unuseful`;
  if (r.unplaced) s += ` (${r.unplaced} steps inside archives have no file to show them on)`;
  return s;
}
