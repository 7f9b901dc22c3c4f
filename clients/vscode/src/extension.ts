// The VS Code side: a LanguageClient for `codetracer serve`, the commands, the status bar and
// the restart-with-backoff policy. Everything that can live without `vscode` is in config.ts,
// requests.ts, status.ts and backoff.ts (unit-tested under node).
import * as fs from 'fs';
import * as vscode from 'vscode';
import {
  CloseAction,
  CodeActionRequest,
  DocumentSymbolRequest,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { Backoff } from './backoff';
import { daemonEnv, daemonSettings, findExecutable, mapPath, matchesPatterns, readLlmSettings, readSettings, Settings } from './config';
import {
  analyzeRequest,
  codeActionParams,
  COMMANDS,
  documentSymbolParams,
  feedbackRequest,
  hasCommand,
  inspectRequest,
  Label,
  LABELS,
  llmAnalyzeRequest,
  LlmMode,
  llmOffered,
  StepRef,
  stepFromActions,
  stepSymbols,
  summarize,
  summarizeLlm,
} from './requests';
import { countLabels, DaemonState, statusText } from './status';

const SECRET_KEY = 'codetracer.apiKey';

let ctx: vscode.ExtensionContext;
let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let state: DaemonState = 'idle';
let stateDetail: string | undefined;
let restartAt: number | undefined;
let restartTimer: NodeJS.Timeout | undefined;
let stopping = false;
let feedbackProxy: vscode.Disposable | undefined;
const pending = new Set<string>(); // URIs sent to the daemon and not analyzed yet
const backoff = new Backoff();

function settings(): Settings {
  const c = vscode.workspace.getConfiguration('codetracer');
  return readSettings((k) => c.get(k));
}

function llmSettings() {
  const c = vscode.workspace.getConfiguration('codetracer');
  return readLlmSettings((k) => c.get(k));
}

function isTrajectory(doc: vscode.TextDocument, s = settings()): boolean {
  return doc.uri.scheme === 'file' && matchesPatterns(doc.uri.fsPath, s.filePatterns);
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function setState(s: DaemonState, detail?: string) {
  state = s;
  stateDetail = detail;
  updateStatus();
}

function updateStatus() {
  const ed = vscode.window.activeTextEditor;
  let counts: { incorrect: number; unuseful: number } | undefined;
  let progress: { title: string } | undefined;
  if (ed && isTrajectory(ed.document) && state === 'running') {
    const uri = ed.document.uri.toString();
    if (pending.has(uri)) progress = { title: 'codetracer: analyzing' };
    else counts = countLabels(vscode.languages.getDiagnostics(ed.document.uri).filter((d) => d.source === 'codetracer') as any);
  }
  const t = statusText({
    daemon: state,
    counts,
    progress,
    detail: stateDetail,
    restartInMs: restartAt !== undefined ? Math.max(0, restartAt - Date.now()) : undefined,
  });
  statusItem.text = t.text;
  statusItem.tooltip = t.tooltip;
  statusItem.command = state === 'missing' || state === 'crashed' || state === 'stopped' ? 'codetracer.ui.restart' : 'codetracer.ui.inspect';
  if (state === 'idle' && !(ed && isTrajectory(ed.document))) statusItem.hide();
  else statusItem.show();
}

async function missingDaemon(s: Settings) {
  const msg =
    `codetracer: the daemon "${s.daemonPath}" was not found. Install codetracer (it provides ` +
    '`codetracer serve`) or set "codetracer.daemon.path".';
  setState('missing', msg);
  output.appendLine(msg);
  const pick = await vscode.window.showErrorMessage(msg, 'Open Settings');
  if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'codetracer.daemon.path');
}

async function startClient(): Promise<LanguageClient | undefined> {
  if (client) return client;
  const s = settings();
  const exe = findExecutable(s.daemonPath, process.env.PATH, isExecutable);
  if (!exe) {
    await missingDaemon(s);
    return undefined;
  }
  restartAt = undefined;
  const apiKey = (await ctx.secrets.get(SECRET_KEY)) ?? undefined;
  const serverOptions: ServerOptions = {
    command: exe,
    args: s.daemonArgs,
    transport: TransportKind.stdio,
    options: { env: daemonEnv(process.env, apiKey) },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: s.filePatterns.map((pattern) => ({ scheme: 'file', pattern })),
    initializationOptions: daemonSettings(s, llmSettings()),
    synchronize: { configurationSection: 'codetracer' },
    outputChannel: output,
    initializationFailedHandler: (err) => {
      setState('crashed', `codetracer: the daemon did not initialize: ${err}`);
      void vscode.window.showErrorMessage(`codetracer: the daemon (${exe}) did not initialize: ${err}`);
      return false;
    },
    errorHandler: {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        onClosed();
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    },
    middleware: {
      didOpen: (doc, next) => {
        pending.add(doc.uri.toString());
        updateStatus();
        return next(doc);
      },
      didChange: (ev, next) => {
        pending.add(ev.document.uri.toString());
        updateStatus();
        return next(ev);
      },
      handleDiagnostics: (uri, diags, next) => {
        next(uri, diags);
        pending.delete(uri.toString());
        updateStatus();
      },
    },
  };
  // The language client registers the commands the daemon lists; a proxy from an earlier start
  // must not collide with a codetracer.feedback the daemon lists now.
  feedbackProxy?.dispose();
  feedbackProxy = undefined;
  const c = new LanguageClient('codetracer', 'codetracer', serverOptions, clientOptions);
  client = c;
  stopping = false;
  setState('starting');
  try {
    await c.start();
  } catch (e) {
    if (client === c) client = undefined;
    if (state !== 'crashed') setState('crashed', `codetracer: the daemon (${exe}) failed to start: ${e}`);
    void vscode.window.showErrorMessage(`codetracer: the daemon (${exe} ${s.daemonArgs.join(' ')}) failed to start: ${e}`);
    return undefined;
  }
  setState('running');
  const feedback = hasCommand(c.initializeResult, COMMANDS.feedback);
  await vscode.commands.executeCommand('setContext', 'codetracer.feedback', feedback);
  // The daemon's code actions may run codetracer.feedback even when it does not list it (then
  // the language client registers nothing for it): forward it so the action does not fail.
  if (!feedback && !feedbackProxy) {
    feedbackProxy = vscode.commands.registerCommand(COMMANDS.feedback, async (arg: unknown) => {
      const cur = await startClient();
      if (!cur) return;
      await runFeedback(cur, { command: COMMANDS.feedback, arguments: [arg] });
    });
    ctx.subscriptions.push(feedbackProxy);
  }
  return c;
}

function onClosed() {
  const old = client;
  client = undefined;
  pending.clear();
  if (stopping) {
    setState('stopped');
    return;
  }
  void old?.dispose().catch(() => undefined);
  if (state === 'starting') {
    // it died before answering initialize: a broken installation, not a crash to retry
    setState('crashed', 'codetracer: the daemon exited before it initialized (see the codetracer output).');
    return;
  }
  const d = backoff.onCrash();
  if (!d.restart) {
    const msg = `codetracer: the daemon crashed ${d.attempt} times in a few minutes; it is not restarted. Run "codetracer: Restart daemon" after fixing it (see the codetracer output).`;
    restartAt = undefined;
    setState('crashed', msg);
    void vscode.window.showErrorMessage(msg, 'Restart').then((p) => p && vscode.commands.executeCommand('codetracer.ui.restart'));
    return;
  }
  restartAt = Date.now() + d.delayMs;
  const msg = `codetracer: the daemon exited unexpectedly; restarting it in ${Math.round(d.delayMs / 1000)} s (attempt ${d.attempt}).`;
  output.appendLine(msg);
  setState('crashed', msg);
  void vscode.window.showWarningMessage(msg);
  restartTimer = setTimeout(() => {
    restartTimer = undefined;
    void startClient().then((c) => c && vscode.window.setStatusBarMessage('codetracer: daemon restarted', 5000));
  }, d.delayMs);
}

async function stopClient() {
  if (restartTimer) clearTimeout(restartTimer);
  restartTimer = undefined;
  restartAt = undefined;
  const c = client;
  if (!c) return;
  stopping = true;
  client = undefined;
  try {
    await c.stop(5000);
  } catch {
    /* already gone */
  }
  setState('stopped');
}

async function exec(c: LanguageClient, params: { command: string; arguments: unknown[] }) {
  return c.sendRequest(ExecuteCommandRequest.type, params);
}

async function runFeedback(c: LanguageClient, params: { command: string; arguments: unknown[] }) {
  try {
    const r = (await exec(c, params)) as { label?: string; step_id?: number; db?: string } | null;
    vscode.window.setStatusBarMessage(`codetracer: step ${r?.step_id} marked ${r?.label}`, 5000);
  } catch (e: any) {
    void vscode.window.showErrorMessage(`codetracer: feedback failed: ${e?.message ?? e}`);
  }
}

/** The step under the cursor of the active editor (through the daemon's code actions). */
async function stepAtCursor(c: LanguageClient, ed: vscode.TextEditor): Promise<StepRef | undefined> {
  const p = c.code2ProtocolConverter.asPosition(ed.selection.active);
  const params = codeActionParams(ed.document.uri.toString(), { start: p, end: p });
  const actions = await c.sendRequest(CodeActionRequest.type, params as any);
  return stepFromActions(actions);
}

async function cmdAnalyze() {
  const c = await startClient();
  if (!c) return;
  const ed = vscode.window.activeTextEditor;
  const items: (vscode.QuickPickItem & { target?: string })[] = [];
  if (ed && ed.document.uri.scheme === 'file') items.push({ label: '$(file) Current file', description: ed.document.uri.fsPath, target: ed.document.uri.fsPath });
  for (const f of vscode.workspace.workspaceFolders ?? []) items.push({ label: `$(folder) ${f.name}`, description: f.uri.fsPath, target: f.uri.fsPath });
  items.push({ label: '$(folder-opened) Choose a file, run directory or archive…' });
  items.push({ label: '$(edit) Type a path…' });
  const pick = await vscode.window.showQuickPick(items, { placeHolder: 'What should codetracer analyze?' });
  if (!pick) return;
  let target = pick.target;
  if (!target && pick.label.includes('Choose')) {
    const uris = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: 'Analyze' });
    target = uris?.[0]?.fsPath;
  } else if (!target) {
    target = await vscode.window.showInputBox({ prompt: 'Path of a trajectory file, run directory, job directory or archive' });
  }
  if (!target) return;
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  target = mapPath(target, settings().pathMappings, ws);
  try {
    const r = (await exec(c, analyzeRequest(target))) as any;
    void vscode.window.showInformationMessage('codetracer: ' + summarize(vscode.workspace.asRelativePath(target), r ?? {}));
  } catch (e: any) {
    void vscode.window.showErrorMessage(`codetracer: cannot analyze ${target}: ${e?.message ?? e}`);
  }
}

/** "Diagnose with LLM": codetracer.analyze {uri, analyzer} on the active trajectory, run only
 * when the daemon offers it (its code actions hold it once an endpoint and a model are
 * configured). The daemon's own progress notification (cancellable) shows the turns; a cancel
 * keeps the labels found so far. */
async function cmdDiagnose(mode: LlmMode) {
  const c = await startClient();
  if (!c) return;
  const ed = vscode.window.activeTextEditor;
  if (!ed || !isTrajectory(ed.document)) {
    void vscode.window.showWarningMessage('codetracer: open a trajectory file first.');
    return;
  }
  const uri = ed.document.uri.toString();
  const p0 = { line: 0, character: 0 };
  let actions: unknown;
  try {
    actions = await c.sendRequest(CodeActionRequest.type, codeActionParams(uri, { start: p0, end: p0 }) as any);
  } catch {
    actions = undefined;
  }
  if (!llmOffered(actions, mode)) {
    const pick = await vscode.window.showWarningMessage(
      'codetracer: the daemon does not offer an LLM diagnosis of this file: set codetracer.llm.apiBase and ' +
        'codetracer.llm.model (or CODETRACER_API_BASE / CODETRACER_MODEL), and wait for its first analysis.',
      'Open Settings',
    );
    if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'codetracer.llm');
    return;
  }
  const name = vscode.workspace.asRelativePath(ed.document.uri);
  try {
    const r = (await exec(c, llmAnalyzeRequest(uri, mode))) as any;
    void vscode.window.showInformationMessage('codetracer: ' + summarizeLlm(name, r ?? {}));
  } catch (e: any) {
    void vscode.window.showErrorMessage(`codetracer: LLM diagnosis of ${name} failed: ${e?.message ?? e}`);
  }
}

async function cmdInspect(arg?: StepRef) {
  const c = await startClient();
  if (!c) return;
  let ref = arg && typeof arg.traj_id === 'string' ? arg : undefined;
  const ed = vscode.window.activeTextEditor;
  if (!ref && ed) ref = await stepAtCursor(c, ed);
  if (!ref) {
    void vscode.window.showWarningMessage('codetracer: no analyzed step under the cursor.');
    return;
  }
  try {
    const r = (await exec(c, inspectRequest(ref.traj_id, ref.step_id))) as { markdown?: string; uri?: string } | null;
    // The daemon opens r.uri through window/showDocument (the client supports it); without a
    // file, show the Markdown in an untitled document.
    if (r && !r.uri && r.markdown) {
      const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: r.markdown });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
    }
  } catch (e: any) {
    void vscode.window.showErrorMessage(`codetracer: inspect failed: ${e?.message ?? e}`);
  }
}

async function cmdGotoStep() {
  const c = await startClient();
  const ed = vscode.window.activeTextEditor;
  if (!c || !ed) return;
  const syms = await c.sendRequest(DocumentSymbolRequest.type, documentSymbolParams(ed.document.uri.toString()));
  const steps = stepSymbols(syms);
  if (!steps.length) {
    void vscode.window.showWarningMessage('codetracer: no steps in this file (not analyzed yet?).');
    return;
  }
  const pick = await vscode.window.showQuickPick(
    steps.map((s) => ({ label: s.name, description: s.detail, detail: s.trajectory, step: s })),
    { placeHolder: 'Go to step', matchOnDescription: true },
  );
  if (!pick) return;
  const r = c.protocol2CodeConverter.asRange(pick.step.selectionRange);
  ed.selection = new vscode.Selection(r.start, r.start);
  ed.revealRange(r, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}

async function cmdMarkLabel() {
  const c = await startClient();
  const ed = vscode.window.activeTextEditor;
  if (!c || !ed) return;
  if (!hasCommand(c.initializeResult, COMMANDS.feedback)) {
    void vscode.window.showWarningMessage('codetracer: this daemon does not keep feedback (no codetracer.feedback).');
    return;
  }
  const ref = await stepAtCursor(c, ed);
  if (!ref) {
    void vscode.window.showWarningMessage('codetracer: no analyzed step under the cursor.');
    return;
  }
  const label = (await vscode.window.showQuickPick([...LABELS], { placeHolder: `The right label of step ${ref.step_id}` })) as Label | undefined;
  if (!label) return;
  const note = await vscode.window.showInputBox({ prompt: 'Why (optional)' });
  await runFeedback(c, feedbackRequest(ref.traj_id, ref.step_id, label, note || undefined));
}

async function cmdRestart() {
  backoff.reset();
  await stopClient();
  const c = await startClient();
  if (c) vscode.window.setStatusBarMessage('codetracer: daemon restarted', 5000);
}

async function cmdSetApiKey() {
  const key = await vscode.window.showInputBox({ prompt: 'API key for the LLM analyzer (kept in VS Code SecretStorage, passed to the daemon as CODETRACER_API_KEY)', password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  if (key === '') await ctx.secrets.delete(SECRET_KEY);
  else await ctx.secrets.store(SECRET_KEY, key);
  if (client) await cmdRestart();
}

export async function activate(context: vscode.ExtensionContext) {
  ctx = context;
  output = vscode.window.createOutputChannel('codetracer');
  statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  context.subscriptions.push(output, statusItem);
  const reg = (id: string, fn: (...a: any[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  reg('codetracer.ui.analyze', cmdAnalyze);
  reg('codetracer.ui.inspect', cmdInspect);
  reg('codetracer.ui.gotoStep', cmdGotoStep);
  reg('codetracer.ui.markLabel', cmdMarkLabel);
  reg('codetracer.ui.restart', cmdRestart);
  reg('codetracer.ui.diagnoseLlm', () => cmdDiagnose('llm'));
  reg('codetracer.ui.diagnoseHybrid', () => cmdDiagnose('hybrid'));
  reg('codetracer.ui.setApiKey', cmdSetApiKey);
  void vscode.commands.executeCommand('setContext', 'codetracer.feedback', false);
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor(updateStatus),
    vscode.languages.onDidChangeDiagnostics(updateStatus),
    vscode.workspace.onDidOpenTextDocument((d) => {
      if (!client && state !== 'missing' && isTrajectory(d)) void startClient();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('codetracer.daemon') || e.affectsConfiguration('codetracer.filePatterns')) {
        if (client || state === 'missing') void cmdRestart();
      }
    }),
  );
  if (vscode.workspace.textDocuments.some((d) => isTrajectory(d))) await startClient();
  updateStatus();
}

export async function deactivate() {
  await stopClient();
}
