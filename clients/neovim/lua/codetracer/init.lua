-- codetracer — Neovim client of the codetracer daemon (`codetracer serve`).
-- require('codetracer').setup{} ; see :help codetracer
local lsp = require('codetracer.lsp')
local view = require('codetracer.view')

local M = {}

local levels = vim.log.levels

M.defaults = {
  -- The daemon command (stdio LSP). `codetracerd` is the same server.
  cmd = { 'codetracer', 'serve' },
  cmd_env = nil,
  root_dir = nil, -- default: the current directory when the daemon starts
  -- File name patterns (autocmd patterns: without a '/', the tail of the name is matched).
  patterns = { '*.traj', '*.traj.json', 'trajectory.json', 'output.jsonl', '*.cast', 'steps.json' },
  autostart = true, -- attach to matching buffers when they are read
  settings = {}, -- the daemon's settings (docs/protocol.md "Settings"), e.g. { severity = { incorrect = 'error' } }
  inspect_view = 'split', -- 'split' | 'vsplit' | 'tab' | 'float'
  codelens = true, -- refresh code lenses (stage summaries) after each analysis and on BufEnter
  highlight_unuseful = true, -- highlight unuseful steps with CodeTracerUnuseful
  debounce_text_changes = 150,
  analyze_qflist = true, -- :CodeTracerAnalyze fills the quickfix list (not opened)
}

M.config = nil

local function notify(msg, level)
  lsp.notify(msg, level)
end

local function current_client(bufnr)
  local c = lsp.get_client()
  if not c or not vim.lsp.buf_is_attached(bufnr, c.id) then
    notify('this buffer is not attached to the daemon (open a trajectory file, or :CodeTracerAttach)', levels.WARN)
    return nil
  end
  return c
end

local function whole_range(bufnr)
  local n = vim.api.nvim_buf_line_count(bufnr)
  return { start = { line = 0, character = 0 }, ['end'] = { line = n, character = 0 } }
end

local function first_inspect(actions)
  for _, a in ipairs(actions or {}) do
    local cmd = type(a.command) == 'table' and a.command or a
    if cmd.command == 'codetracer.inspect' and type(cmd.arguments) == 'table' then
      return cmd.arguments[1]
    end
  end
  return nil
end

--- cb({traj_id, step_id}) for the step under the cursor, else (for a buffer with any step) the
--- first step of the buffer with exact=false; cb(nil) when the buffer has no analyzed step.
local function step_at_cursor(client, bufnr, cb)
  local pos = view.cursor_position(0, lsp.encoding(client))
  local uri = vim.uri_from_bufnr(bufnr)
  local function ask(range, k)
    local params = { textDocument = { uri = uri }, range = range, context = { diagnostics = {} } }
    lsp.request(client, 'textDocument/codeAction', params, function(err, res)
      k(not err and first_inspect(res) or nil)
    end, bufnr)
  end
  ask({ start = pos, ['end'] = pos }, function(arg)
    if arg then
      return cb(arg, true)
    end
    ask(whole_range(bufnr), function(any)
      cb(any, false)
    end)
  end)
end

-- ---- public functions (the user commands call these) ----

--- Attach buffer bufnr (default current) to the daemon.
function M.attach(bufnr)
  M.ensure_setup()
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return lsp.attach(bufnr)
end

--- Analyze a trajectory file, run dir, job dir or archive (default: the current file).
function M.analyze(path)
  M.ensure_setup()
  if not path or path == '' then
    path = vim.api.nvim_buf_get_name(0)
  end
  if path == '' then
    notify('nothing to analyze: give a path (:CodeTracerAnalyze PATH)', levels.WARN)
    return
  end
  path = vim.fn.fnamemodify(vim.fn.expand(path), ':p')
  if path:sub(-1) == '/' and #path > 1 then
    path = path:sub(1, -2)
  end
  lsp.with_client(function(client)
    notify('analyzing ' .. path)
    lsp.execute(client, 'codetracer.analyze', { path }, function(r)
      if type(r) ~= 'table' then
        return
      end
      notify(
        string.format(
          '%s: %d %s, %d steps, %d incorrect, %d unuseful%s (load %d ms, analysis %d ms)',
          vim.fn.fnamemodify(path, ':~:.'),
          r.trajectories or 0,
          r.trajectories == 1 and 'trajectory' or 'trajectories',
          r.steps or 0,
          r.incorrect or 0,
          r.unuseful or 0,
          (r.unplaced or 0) > 0 and string.format(', %d steps inside archives not shown', r.unplaced) or '',
          r.load_ms or 0,
          r.analyze_ms or 0
        )
      )
      M.last_analysis = r
      if M.config.analyze_qflist then
        local ns = vim.lsp.diagnostic.get_namespace(client.id)
        pcall(vim.diagnostic.setqflist, { namespace = ns, open = false, title = 'codetracer' })
      end
      lsp.fire('CodeTracerAnalyzed')
    end)
  end)
end

--- Diagnose the current trajectory buffer with the daemon's LLM agent: mode 'llm' (default) or
--- 'hybrid' (the agent confirms or rejects the heuristic's findings). Needs an endpoint and a
--- model in the daemon's configuration (settings.llm = { apiBase = ..., model = ... }, or
--- CODETRACER_API_BASE / CODETRACER_MODEL in its environment); the key only ever comes from the
--- daemon's environment or config file. Progress (turn, tokens, cost) shows in status();
--- :CodeTracerCancel stops it, keeping the labels found so far (marked partial).
function M.diagnose(mode)
  M.ensure_setup()
  if mode == nil or mode == '' then
    mode = 'llm'
  end
  if mode ~= 'llm' and mode ~= 'hybrid' then
    notify('usage: :CodeTracerDiagnose [llm|hybrid]', levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = current_client(bufnr)
  if not client then
    return
  end
  local uri = vim.uri_from_bufnr(bufnr)
  notify(string.format('LLM diagnosis (%s) of %s started', mode, vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':t')))
  local ok, id = lsp.execute(client, 'codetracer.analyze', { { uri = uri, analyzer = mode } }, function(r)
    M.diagnose_request = nil
    if type(r) ~= 'table' then
      return
    end
    local how = ''
    if r.partial then
      how = string.format(' (partial: %s)', r.stop_reason or 'stopped')
    elseif (r.cached or 0) > 0 then
      how = ' (from the analysis cache)'
    end
    notify(
      string.format(
        'LLM diagnosis (%s, %s): %d incorrect, %d unuseful%s · $%.4f',
        r.analyzer or mode,
        r.model or '?',
        r.incorrect or 0,
        r.unuseful or 0,
        how,
        r.cost_usd or 0
      )
    )
    M.last_diagnosis = r
    lsp.fire('CodeTracerDiagnosed')
  end, bufnr)
  if ok then
    M.diagnose_request = { client = client, id = id }
  end
end

--- Cancel a running :CodeTracerDiagnose (the daemon answers with what was found so far).
function M.cancel()
  local r = M.diagnose_request
  if not r then
    notify('no LLM diagnosis is running', levels.WARN)
    return
  end
  lsp.client_notify(r.client, '$/cancelRequest', { id = r.id })
end

--- Show step n (default: the step under the cursor) of the buffer's trajectory.
function M.inspect(n)
  M.ensure_setup()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = current_client(bufnr)
  if not client then
    return
  end
  step_at_cursor(client, bufnr, function(arg, exact)
    if not arg or (not n and not exact) then
      notify(n and 'no analyzed trajectory in this buffer yet' or 'no step under the cursor', levels.WARN)
      return
    end
    local a = { traj_id = arg.traj_id, step_id = n or arg.step_id }
    lsp.inspect(client, { a }, bufnr)
  end)
end

local function find_step(symbols, n, cursor_line)
  local best, fallback
  local function walk(list, inside)
    for _, s in ipairs(list or {}) do
      local id = tonumber((s.name or ''):match('^Step (%d+)'))
      local r = s.range or (s.location and s.location.range)
      local here = inside
      if s.kind == 2 and r then -- a Module: one trajectory of a multi-trajectory file
        here = r.start.line <= cursor_line and cursor_line <= r['end'].line
      end
      if id == n then
        fallback = fallback or s
        if here ~= false then
          best = best or s
        end
      end
      walk(s.children, here)
    end
  end
  walk(symbols, nil)
  return best or fallback
end

--- Move the cursor to step n of the buffer's trajectory (the one under the cursor when the file
--- holds several).
function M.goto_step(n)
  M.ensure_setup()
  n = tonumber(n)
  if not n then
    notify('usage: :CodeTracerStep N', levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = current_client(bufnr)
  if not client then
    return
  end
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
  local cursor_line = vim.api.nvim_win_get_cursor(0)[1] - 1
  lsp.request(client, 'textDocument/documentSymbol', params, function(err, res)
    if err then
      notify('documentSymbol failed: ' .. tostring(err.message), levels.ERROR)
      return
    end
    local s = find_step(res, n, cursor_line)
    if not s then
      notify(string.format('no step %d in this buffer', n), levels.WARN)
      return
    end
    local r = s.selectionRange or s.range or s.location.range
    if vim.api.nvim_get_current_buf() == bufnr then
      view.jump_to(bufnr, r.start, lsp.encoding(client))
    end
    lsp.fire('CodeTracerStep')
  end, bufnr)
end

--- Forget analyses (all, or one path/URI) and their diagnostics.
function M.clear(target)
  M.ensure_setup()
  local c = lsp.get_client()
  if not c then
    return
  end
  local args = {}
  if target and target ~= '' then
    args = { vim.fn.fnamemodify(vim.fn.expand(target), ':p') }
  end
  lsp.execute(c, 'codetracer.clear', args, function(r)
    notify(string.format('cleared %d', r and r.cleared or 0))
  end)
end

--- Tell the daemon a step's label is wrong / right (kept in its memory; needs codetracer.feedback).
function M.mark(label, n)
  M.ensure_setup()
  if label ~= 'correct' and label ~= 'incorrect' and label ~= 'unuseful' then
    notify('usage: :CodeTracerMark correct|incorrect|unuseful [N]', levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = current_client(bufnr)
  if not client then
    return
  end
  step_at_cursor(client, bufnr, function(arg, exact)
    if not arg or (not n and not exact) then
      notify('no step under the cursor', levels.WARN)
      return
    end
    lsp.feedback(client, { { traj_id = arg.traj_id, step_id = n or arg.step_id, label = label } }, bufnr)
  end)
end

--- Stop the daemon and start it again, re-attaching the trajectory buffers.
function M.restart()
  M.ensure_setup()
  local bufs = {}
  for b in pairs(lsp.bufs) do
    if vim.api.nvim_buf_is_loaded(b) then
      table.insert(bufs, b)
    end
  end
  lsp.stop(function()
    for _, b in ipairs(bufs) do
      lsp.attach(b)
    end
    if #bufs == 0 then
      lsp.start(nil)
    end
    notify('daemon restarted')
  end)
end

--- A short statusline string: running progress, else the buffer's counts. '' when the buffer
--- is not a trajectory. Use in 'statusline' as %{v:lua.require'codetracer'.status()}.
function M.status(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  for _, p in pairs(lsp.progress) do
    local s = 'codetracer: ' .. (p.title or 'working')
    if p.message and p.message ~= '' then
      s = s .. ' · ' .. p.message
    end
    if p.percentage then
      s = s .. string.format(' (%d%%)', p.percentage)
    end
    return s
  end
  local st = lsp.bufs[bufnr]
  if not st then
    return ''
  end
  if not lsp.get_client() then
    return 'codetracer: daemon not running'
  end
  if st.failed then
    return 'codetracer: cannot analyze (see :messages)'
  end
  if not st.analyzed then
    return 'codetracer: analyzing…'
  end
  return string.format('codetracer: %d incorrect · %d unuseful', st.incorrect, st.unuseful)
end

--- Counts of the buffer's latest analysis: { analyzed, incorrect, unuseful } or nil.
function M.buffer_state(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return lsp.bufs[bufnr]
end

-- ---- setup ----

local function define_highlights()
  -- 0.7.2 ignores the Unnecessary tag of unuseful steps; the plugin highlights them itself.
  vim.cmd('highlight default link CodeTracerUnuseful Comment')
end

--- The user commands (plugin/codetracer.lua defines them at startup, setup() again).
function M.define_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd('CodeTracerAnalyze', function(o)
    M.analyze(o.args)
  end, { nargs = '?', complete = 'file', desc = 'codetracer: analyze a trajectory, run dir or archive' })
  cmd('CodeTracerInspect', function(o)
    M.inspect(tonumber(o.args))
  end, { nargs = '?', desc = 'codetracer: show step N (default: under the cursor)' })
  cmd('CodeTracerStep', function(o)
    M.goto_step(o.args)
  end, { nargs = 1, desc = 'codetracer: jump to step N' })
  cmd('CodeTracerClear', function(o)
    M.clear(o.args)
  end, { nargs = '?', complete = 'file', desc = 'codetracer: clear analyses and diagnostics' })
  cmd('CodeTracerMark', function(o)
    local label, n = unpack(vim.split(o.args, '%s+', { trimempty = true }))
    M.mark(label, tonumber(n))
  end, {
    nargs = '+',
    complete = function()
      return { 'correct', 'incorrect', 'unuseful' }
    end,
    desc = 'codetracer: mark the label of a step (feedback)',
  })
  cmd('CodeTracerDiagnose', function(o)
    M.diagnose(o.args)
  end, {
    nargs = '?',
    complete = function()
      return { 'llm', 'hybrid' }
    end,
    desc = 'codetracer: diagnose this trajectory with the LLM agent (llm or hybrid)',
  })
  cmd('CodeTracerCancel', function()
    M.cancel()
  end, { nargs = 0, desc = 'codetracer: cancel the running LLM diagnosis (keeps what was found)' })
  cmd('CodeTracerRestart', function()
    M.restart()
  end, { nargs = 0, desc = 'codetracer: restart the daemon' })
  cmd('CodeTracerAttach', function()
    M.attach(0)
  end, { nargs = 0, desc = 'codetracer: attach this buffer to the daemon' })
end

local function autocommands()
  local group = vim.api.nvim_create_augroup('codetracer', { clear = true })
  if M.config.autostart and #M.config.patterns > 0 then
    vim.api.nvim_create_autocmd({ 'BufReadPost', 'BufNewFile' }, {
      group = group,
      pattern = M.config.patterns,
      callback = function(ev)
        lsp.attach(ev.buf)
      end,
    })
  end
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = define_highlights })
end

--- Configure the plugin. Safe to call again (the new options replace the old ones).
function M.setup(opts)
  local cfg = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  if opts and opts.patterns then
    cfg.patterns = opts.patterns -- a list replaces, it does not merge
  end
  if type(cfg.cmd) == 'string' then
    cfg.cmd = { cfg.cmd, 'serve' }
  end
  vim.validate({
    cmd = { cfg.cmd, 'table' },
    patterns = { cfg.patterns, 'table' },
    settings = { cfg.settings, 'table' },
    inspect_view = { cfg.inspect_view, 'string' },
  })
  M.config = cfg
  lsp.config = cfg
  define_highlights()
  M.define_commands()
  autocommands()
  -- buffers already loaded before setup()
  if cfg.autostart then
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      local name = vim.api.nvim_buf_get_name(b)
      if name ~= '' and vim.api.nvim_buf_is_loaded(b) then
        for _, p in ipairs(cfg.patterns) do
          if vim.fn.match(vim.fn.fnamemodify(name, ':t'), vim.fn.glob2regpat(p)) >= 0 then
            lsp.attach(b)
            break
          end
        end
      end
    end
  end
  return M
end

function M.ensure_setup()
  if not M.config then
    M.setup({})
  end
end

return M
