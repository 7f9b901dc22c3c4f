// The status bar item's text, from the daemon state, progress and the active file's diagnostics.
// No `vscode` import.

export type DaemonState = 'idle' | 'starting' | 'running' | 'missing' | 'crashed' | 'stopped';

export interface Progress {
  title: string;
  message?: string;
  percentage?: number;
}

export interface StatusInput {
  daemon: DaemonState;
  progress?: Progress;
  counts?: { incorrect: number; unuseful: number }; // the active trajectory file's, when it is one
  restartInMs?: number; // a restart is scheduled after a crash
  detail?: string; // why it is missing/crashed
}

/** Count codetracer diagnostics by their `data.label` (never by severity: that is a setting). */
export function countLabels(diags: ReadonlyArray<{ data?: unknown; source?: string }>) {
  let incorrect = 0;
  let unuseful = 0;
  for (const d of diags) {
    const label = d && typeof d.data === 'object' && d.data ? (d.data as { label?: unknown }).label : undefined;
    if (label === 'incorrect') incorrect++;
    else if (label === 'unuseful') unuseful++;
  }
  return { incorrect, unuseful };
}

export function statusText(s: StatusInput): { text: string; tooltip: string } {
  switch (s.daemon) {
    case 'missing':
      return { text: '$(error) codetracer: daemon missing', tooltip: s.detail ?? 'The codetracer daemon was not found.' };
    case 'crashed':
      return {
        text: '$(warning) codetracer: daemon crashed',
        tooltip:
          (s.detail ?? 'The codetracer daemon exited.') +
          (s.restartInMs !== undefined ? ` Restarting in ${Math.ceil(s.restartInMs / 1000)} s.` : ' Not restarted.'),
      };
    case 'stopped':
      return { text: '$(circle-slash) codetracer: stopped', tooltip: s.detail ?? 'The codetracer daemon is stopped.' };
    case 'starting':
      return { text: '$(sync~spin) codetracer: starting', tooltip: 'Starting the codetracer daemon' };
    default:
      break;
  }
  if (s.progress) {
    const pct = s.progress.percentage !== undefined ? ` ${s.progress.percentage}%` : '';
    const msg = s.progress.message ? ` · ${s.progress.message}` : '';
    return { text: `$(sync~spin) ${s.progress.title}${msg}${pct}`, tooltip: 'codetracer is analyzing' };
  }
  if (s.counts) {
    return {
      text: `codetracer: $(warning) ${s.counts.incorrect} $(circle-slash) ${s.counts.unuseful}`,
      tooltip: `${s.counts.incorrect} incorrect, ${s.counts.unuseful} unuseful steps in this trajectory`,
    };
  }
  return { text: 'codetracer', tooltip: s.daemon === 'running' ? 'codetracer daemon running' : 'codetracer' };
}
