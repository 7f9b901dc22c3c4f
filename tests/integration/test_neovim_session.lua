-- Driver run inside `nvim --headless -u NONE` by test_neovim.py (one scenario per session).
-- It drives the real plugin against the real daemon, records what the editor shows and writes
-- it as JSON to $CT_NVIM_OUT; the .py wrapper holds the expectations. Every wait is bounded;
-- a timeout or a Lua error ends the session with exit code 1 and the reason in the JSON.
local work = assert(os.getenv('CT_NVIM_WORK'))
local bin = assert(os.getenv('CT_BIN'))
local out_path = assert(os.getenv('CT_NVIM_OUT'))
local scenario = assert(os.getenv('CT_NVIM_SCENARIO'))

local R = { scenario = scenario, notes = {}, progress = {}, steps = {} }

vim.notify = function(msg, level)
  table.insert(R.notes, { msg = msg, level = level })
end

local function write_out()
  local f = assert(io.open(out_path, 'w'))
  f:write(vim.json.encode(R))
  f:close()
end

local function wait(ms, cond, what)
  local t0 = vim.loop.hrtime()
  local ok, why = vim.wait(ms, cond, 10)
  if not ok then
    error(string.format('%s after %.0f ms waiting for %s', why == -2 and 'interrupted' or 'timed out',
      (vim.loop.hrtime() - t0) / 1e6, what), 0)
  end
end

local function step(name)
  table.insert(R.steps, name)
end

local function diags(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    local lsp = d.user_data and d.user_data.lsp or {}
    table.insert(list, {
      lnum = d.lnum,
      col = d.col,
      end_lnum = d.end_lnum,
      end_col = d.end_col,
      severity = d.severity,
      message = d.message,
      source = d.source,
      code = d.code or lsp.code,
      data = lsp.data,
      tags = lsp.tags,
      related = #(lsp.relatedInformation or {}),
    })
  end
  table.sort(list, function(a, b)
    return a.lnum < b.lnum
  end)
  return list
end

local function float_lines()
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= '' then
      return vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), w
    end
  end
  return nil
end

local function noted(pattern)
  for _, n in ipairs(R.notes) do
    if n.msg:find(pattern) then
      return n
    end
  end
  return nil
end

local function inspect_text()
  local b = vim.fn.bufnr('codetracer://inspect')
  if b == -1 then
    return nil
  end
  return table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\n'), b
end

local ct, ctlsp

local function setup(opts)
  ct = require('codetracer')
  ctlsp = require('codetracer.lsp')
  vim.api.nvim_create_autocmd('User', {
    pattern = 'CodeTracerProgress',
    callback = function()
      table.insert(R.progress, vim.deepcopy(ctlsp.last_progress))
    end,
  })
  ct.setup(opts)
end

local function open_and_wait(path, n)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local b = vim.api.nvim_get_current_buf()
  local ok, err = pcall(wait, 20000, function()
    return #vim.diagnostic.get(b) >= n
  end, n .. ' diagnostics on ' .. path)
  if not ok then
    local seen = {}
    for _, d in ipairs(diags(b)) do
      table.insert(seen, string.format('step %s %s', d.data and d.data.step_id, tostring(d.code)))
    end
    error(err .. ' (have: ' .. (#seen > 0 and table.concat(seen, ', ') or 'none') .. ')', 0)
  end
  return b
end

local function stop_daemon()
  local done = false
  ctlsp.stop(function()
    done = true
  end)
  wait(10000, function()
    return done and ctlsp.last_exit ~= nil
  end, 'the daemon to exit after shutdown')
  R.exit = ctlsp.last_exit
end

local scenarios = {}

function scenarios.main()
  local fixture = work .. '/greet.traj.json'
  setup({
    cmd = { bin, 'serve' },
    settings = { progressMinBytes = 0, severity = { incorrect = 'error' } },
  })
  step('open')
  local b = open_and_wait(fixture, 3)
  R.attached = vim.lsp.buf_is_attached(b, ctlsp.client_id)
  R.encoding = ctlsp.get_client().offset_encoding
  R.diagnostics = diags(b)
  wait(5000, function()
    return ct.status() ~= 'codetracer: analyzing…'
  end, 'status after diagnostics')
  R.status = ct.status()

  step('highlight')
  R.extmarks = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(b, require('codetracer.view').unuseful_ns, 0, -1, { details = true })) do
    table.insert(R.extmarks, { row = m[2], col = m[3], end_row = m[4].end_row, end_col = m[4].end_col, hl = m[4].hl_group })
  end
  R.hl_link = vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID('CodeTracerUnuseful')), 'name')

  step('codelens')
  wait(5000, function()
    return #vim.lsp.codelens.get(b) > 0
  end, 'code lenses')
  R.lenses = {}
  for _, l in ipairs(vim.lsp.codelens.get(b)) do
    table.insert(R.lenses, { line = l.range.start.line, title = l.command and l.command.title })
  end

  step('codelens run')
  -- 0.7.2 runs a lens's command through the client's commands: the plugin's inspect
  local first = vim.lsp.codelens.get(b)[1]
  R.lens_step = first.command.arguments[1].step_id
  vim.api.nvim_win_set_cursor(0, { first.range.start.line + 1, 0 })
  vim.lsp.codelens.run()
  wait(5000, function()
    local t = inspect_text()
    return t ~= nil and t:find('# Step ' .. R.lens_step .. ' ', 1, true) ~= nil
  end, 'the inspect window from the code lens')
  R.lens_inspect = inspect_text()

  step('hover')
  vim.api.nvim_win_set_cursor(0, { 12, 10 }) -- inside step 3's message object
  vim.lsp.buf.hover()
  wait(5000, function()
    return float_lines() ~= nil
  end, 'the hover window')
  local lines, w = float_lines()
  R.hover = table.concat(lines, '\n')
  vim.api.nvim_win_close(w, true)
  local outside = vim.lsp.buf_request_sync(b, 'textDocument/hover', {
    textDocument = { uri = vim.uri_from_bufnr(b) },
    position = { line = 0, character = 0 },
  }, 5000)
  R.hover_outside = 'none'
  for _, r in pairs(outside or {}) do
    R.hover_outside = r.err and ('error ' .. tostring(r.err.message)) or (r.result == nil and 'null' or vim.json.encode(r.result))
  end

  step('code action')
  vim.api.nvim_win_set_cursor(0, { 14, 8 }) -- step 4
  R.actions = nil
  vim.ui.select = function(items, opts, on_choice)
    R.actions = {}
    local pick
    for _, it in ipairs(items) do
      local title = opts.format_item and opts.format_item(it) or tostring(it)
      table.insert(R.actions, title)
      if title == 'Inspect step 4' then
        pick = it
      end
    end
    on_choice(pick)
  end
  vim.lsp.buf.code_action()
  wait(5000, function()
    local t = inspect_text()
    return t ~= nil and t:find('Step 4', 1, true) ~= nil
  end, 'the inspect window of step 4 (code action)')
  R.inspect_action = inspect_text()
  R.inspect_window = vim.fn.bufwinid('codetracer://inspect') ~= -1
  R.focus_kept = vim.api.nvim_get_current_buf() == b

  step('inspect under cursor')
  vim.api.nvim_win_set_cursor(0, { 12, 10 })
  vim.cmd('CodeTracerInspect')
  wait(5000, function()
    local t = inspect_text()
    return t and t:find('Step 3', 1, true) ~= nil
  end, ':CodeTracerInspect (cursor on step 3)')
  R.inspect_cursor = inspect_text()

  step('inspect N')
  vim.cmd('CodeTracerInspect 5')
  wait(5000, function()
    local t = inspect_text()
    return t and t:find('Step 5', 1, true) ~= nil
  end, ':CodeTracerInspect 5')
  R.inspect_5 = inspect_text()

  step('goto step')
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  vim.cmd('CodeTracerStep 6')
  wait(5000, function()
    return vim.api.nvim_win_get_cursor(0)[1] ~= 1
  end, ':CodeTracerStep 6 to move the cursor')
  R.goto_6 = vim.api.nvim_win_get_cursor(0)
  vim.cmd('CodeTracerStep 99')
  wait(5000, function()
    return noted('no step 99') ~= nil
  end, ':CodeTracerStep 99 to say there is no such step')

  step('analyze')
  local other = work .. '/run/greet.traj.json'
  R.progress_before_analyze = #R.progress
  vim.cmd('CodeTracerAnalyze ' .. vim.fn.fnameescape(work .. '/run'))
  wait(20000, function()
    return ct.last_analysis ~= nil
  end, ':CodeTracerAnalyze result')
  R.analysis = ct.last_analysis
  R.analyze_note = (noted('incorrect, %d+ unuseful') or {}).msg
  local ob = vim.fn.bufnr(other)
  wait(5000, function()
    return ob ~= -1 and #vim.diagnostic.get(ob) == 3
  end, 'diagnostics on the analyzed file')
  R.other_diagnostics = diags(ob)
  R.qflist = {}
  for _, q in ipairs(vim.fn.getqflist()) do
    table.insert(R.qflist, { file = vim.api.nvim_buf_get_name(q.bufnr), lnum = q.lnum })
  end

  step('did change')
  -- delete step 5 and its observation (lines 16-17): steps 6 and 7 become 5 and 6
  local before = R.diagnostics
  vim.api.nvim_buf_set_lines(b, 15, 17, false, {})
  wait(10000, function()
    local st = ct.buffer_state(b)
    return st and st.analyzed and #vim.diagnostic.get(b) == 2
  end, 'diagnostics after the change')
  R.changed = diags(b)
  R.status_changed = ct.status()
  R.before_count = #before

  step('help')
  local okh, errh = pcall(vim.cmd, 'help codetracer')
  R.help = okh and { file = vim.fn.expand('%:t'), line = vim.fn.getline('.') } or { error = tostring(errh) }
  pcall(vim.cmd, 'close')
  local tags = {}
  for _, t in ipairs({ ':CodeTracerAnalyze', ':CodeTracerInspect', ':CodeTracerStep', 'codetracer-setup', 'codetracer.status()' }) do
    local ok = pcall(vim.cmd, 'help ' .. t)
    tags[t] = ok and vim.fn.getline('.'):find('*' .. t .. '*', 1, true) ~= nil
    if ok then
      pcall(vim.cmd, 'close')
    end
  end
  R.help_tags = tags

  step('stop')
  vim.cmd('bwipeout! ' .. b)
  stop_daemon()
end

function scenarios.missing()
  setup({ cmd = { work .. '/no/such/codetracer', 'serve' } })
  vim.cmd('edit ' .. vim.fn.fnameescape(work .. '/greet.traj.json'))
  vim.cmd('edit ' .. vim.fn.fnameescape(work .. '/run/greet.traj.json'))
  R.status = ct.status()
  R.client = ctlsp.client_id
end

function scenarios.nostart()
  -- a codetracer that has no `serve` (exit status 2, usage error) stands for a daemon that dies
  -- before it answers initialize
  setup({ cmd = { bin, 'no-such-command' } })
  vim.cmd('edit ' .. vim.fn.fnameescape(work .. '/greet.traj.json'))
  wait(10000, function()
    return noted('failed to start') ~= nil
  end, 'the failed-to-start message')
  R.status = ct.status()
  R.exit = ctlsp.last_exit
end

function scenarios.crash()
  setup({ cmd = { bin, 'serve' } })
  local b = open_and_wait(work .. '/greet.traj.json', 3)
  local c = ctlsp.get_client()
  R.pid = c.rpc.pid
  vim.loop.kill(c.rpc.pid, 'sigkill')
  wait(10000, function()
    return noted('exited unexpectedly') ~= nil
  end, 'the crash message')
  R.status_crashed = ct.status()
  R.exit = ctlsp.last_exit
  vim.cmd('CodeTracerRestart')
  wait(20000, function()
    local st = ct.buffer_state(b)
    return ctlsp.get_client() ~= nil and st and st.analyzed and #vim.diagnostic.get(b) == 3
  end, 'diagnostics after :CodeTracerRestart')
  R.restarted = diags(b)
  R.status_restarted = ct.status()
  stop_daemon()
end

function scenarios.bad()
  setup({ cmd = { bin, 'serve' } })
  vim.cmd('edit ' .. vim.fn.fnameescape(work .. '/truncated.traj.json'))
  wait(10000, function()
    return noted('cannot analyze') ~= nil
  end, 'the cannot-analyze message')
  R.status = ct.status()
  R.diagnostics = diags(vim.api.nvim_get_current_buf())
  stop_daemon()
end

function scenarios.feedback()
  -- codetracer.feedback (memory): mark step 4 correct, the daemon re-analyzes with it
  setup({ cmd = { bin, 'serve' } })
  local b = open_and_wait(work .. '/greet.traj.json', 3)
  vim.api.nvim_win_set_cursor(0, { 14, 8 })
  vim.cmd('CodeTracerMark correct')
  wait(10000, function()
    return noted('marked') ~= nil
  end, 'the feedback confirmation')
  R.feedback_note = noted('marked').msg
  wait(10000, function()
    return #vim.diagnostic.get(b) == 2
  end, 'diagnostics without step 4')
  R.after = diags(b)
  R.status = ct.status()
  stop_daemon()
end

function scenarios.diagnose()
  -- :CodeTracerDiagnose against the fake LLM server test_neovim.py runs (CT_NVIM_LLM_BASE)
  local base = assert(os.getenv('CT_NVIM_LLM_BASE'))
  setup({ cmd = { bin, 'serve' }, settings = { llm = { apiBase = base, model = 'gpt-4.1-mini' } } })
  local b = open_and_wait(work .. '/greet.traj.json', 3)
  R.command = vim.fn.exists(':CodeTracerDiagnose') == 2
  R.complete = vim.fn.getcompletion('CodeTracerDiagnose ', 'cmdline')
  vim.cmd('CodeTracerDiagnose bogus')
  R.usage_note = (noted('usage: :CodeTracerDiagnose') or {}).msg
  local done = false
  vim.api.nvim_create_autocmd('User', {
    pattern = 'CodeTracerDiagnosed',
    callback = function()
      done = true
    end,
  })
  vim.cmd('CodeTracerDiagnose')
  wait(60000, function()
    return done
  end, 'the LLM diagnosis')
  R.diagnosis = ct.last_diagnosis
  R.diagnose_note = (noted('LLM diagnosis %(llm, ') or {}).msg
  wait(10000, function()
    local d = diags(b)
    return #d == 2 and d[1].message:find('[LLM', 1, true) ~= nil
  end, 'the LLM diagnostics')
  R.after = diags(b)
  local okh = pcall(vim.cmd, 'help :CodeTracerDiagnose')
  R.help_diagnose = okh and vim.fn.getline('.'):find('*:CodeTracerDiagnose*', 1, true) ~= nil
  if okh then
    pcall(vim.cmd, 'close')
  end
  stop_daemon()
end

function scenarios.plugin()
  -- run with --clean: plugin/codetracer.lua is sourced, so the commands exist before setup()
  R.command_before_setup = vim.fn.exists(':CodeTracerAnalyze') == 2
  R.default_on_path = vim.fn.executable('codetracer') == 1
  if not R.default_on_path then
    vim.cmd('CodeTracerAnalyze ' .. vim.fn.fnameescape(work .. '/greet.traj.json')) -- default cmd
    R.default_note = (noted('was not found') or {}).msg
  end
  setup({ cmd = { bin, 'serve' }, inspect_view = 'float' })
  local b = open_and_wait(work .. '/greet.traj.json', 3)
  vim.cmd('CodeTracerInspect 4')
  wait(5000, function()
    local l = float_lines()
    return l and table.concat(l, '\n'):find('Step 4', 1, true) ~= nil
  end, 'the inspect float')
  R.float = table.concat(float_lines(), '\n')
  vim.cmd('CodeTracerClear')
  wait(5000, function()
    return #vim.diagnostic.get(b) == 0 and noted('cleared') ~= nil
  end, 'diagnostics cleared')
  R.cleared_note = noted('cleared').msg
  vim.cmd('checkhealth codetracer')
  R.health = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  stop_daemon()
end

local ok, err = xpcall(scenarios[scenario], debug.traceback)
if not ok then
  R.error = tostring(err)
end
write_out()
vim.cmd(ok and 'qall!' or 'cquit! 1')
