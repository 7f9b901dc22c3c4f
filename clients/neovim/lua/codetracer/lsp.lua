-- codetracer.lsp — the one client of `codetracer serve`: start/attach (Neovim 0.7.2 and current
-- releases), handlers (diagnostics, progress, messages), client-side commands.
local view = require('codetracer.view')

local M = {}

M.name = 'codetracer'
M.config = nil -- set by require('codetracer').setup()
M.client_id = nil -- the running client, if any
M.ready = {} -- client_id -> true once `initialize` was answered
M.stopping = {} -- client_id -> true when the plugin asked it to stop
M.bufs = {} -- bufnr -> { analyzed, incorrect, unuseful, version }
M.progress = {} -- "client:token" -> { title, message, percentage }
M.last_progress = nil -- the latest $/progress value (for User CodeTracerProgress listeners)
M.reported = {} -- messages already shown once (missing daemon)
M.last_exit = nil -- { code, signal, client_id } of the last daemon that exited

local function has(v)
  return vim.fn.has(v) == 1
end

local levels = vim.log.levels

--- vim.notify with the plugin's prefix; safe from libuv callbacks.
function M.notify(msg, level)
  local function go()
    vim.notify('codetracer: ' .. msg, level or levels.INFO)
  end
  if vim.in_fast_event() then
    vim.schedule(go)
  else
    go()
  end
end

function M.fire(pattern)
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = pattern, modeline = false })
end

-- ---- compatibility: method vs function call style changed in 0.11 ----

local function call(client, method, ...)
  if has('nvim-0.11') then
    return client[method](client, ...)
  end
  return client[method](...)
end

function M.is_stopped(client)
  return call(client, 'is_stopped')
end

function M.request(client, method, params, handler, bufnr)
  return call(client, 'request', method, params, handler, bufnr)
end

function M.client_notify(client, method, params)
  return call(client, 'notify', method, params)
end

--- The running client, or nil.
function M.get_client()
  if not M.client_id then
    return nil
  end
  local c = vim.lsp.get_client_by_id(M.client_id)
  if not c or M.is_stopped(c) then
    return nil
  end
  return c
end

function M.encoding(client)
  return (client and client.offset_encoding) or 'utf-16'
end

-- ---- handlers ----

local function count_labels(diags)
  local inc, unu = 0, 0
  for _, d in ipairs(diags or {}) do
    local label = type(d.data) == 'table' and d.data.label or nil
    if label == 'incorrect' then
      inc = inc + 1
    elseif label == 'unuseful' then
      unu = unu + 1
    end
  end
  return inc, unu
end

function M.refresh_codelens(bufnr)
  if not (M.config and M.config.codelens) then
    return
  end
  if not vim.api.nvim_buf_is_loaded(bufnr) or not M.bufs[bufnr] then
    return
  end
  local c = M.get_client()
  -- before initialize is answered, 0.7.2 refuses the request and then never refreshes again
  if not c or not M.ready[c.id] or not vim.lsp.buf_is_attached(bufnr, c.id) then
    return
  end
  if has('nvim-0.10') then
    pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
  else
    -- 0.7.2: refresh() works on the current buffer and nothing calls it on its own.
    vim.api.nvim_buf_call(bufnr, function()
      pcall(vim.lsp.codelens.refresh)
    end)
  end
end

local function on_publish_diagnostics(err, result, ctx, config)
  local ret = vim.lsp.handlers['textDocument/publishDiagnostics'](err, result, ctx, config)
  if err or type(result) ~= 'table' or not result.uri then
    return ret
  end
  local bufnr = vim.uri_to_bufnr(result.uri)
  local inc, unu = count_labels(result.diagnostics)
  local st = M.bufs[bufnr] or {}
  st.analyzed, st.incorrect, st.unuseful, st.version = true, inc, unu, result.version
  st.failed = nil
  M.bufs[bufnr] = st
  if M.config.highlight_unuseful then
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    view.highlight_unuseful(bufnr, result.diagnostics, M.encoding(client), 'CodeTracerUnuseful')
  end
  M.refresh_codelens(bufnr)
  M.fire('CodeTracerDiagnostics')
  pcall(vim.cmd, 'redrawstatus')
  return ret
end

local function on_progress(err, result, ctx, config)
  local default = vim.lsp.handlers['$/progress']
  local ret
  if default then
    -- 0.7.2's handler indexes a token it has not seen without checking; never let it throw here
    local ok, r = pcall(default, err, result, ctx, config)
    ret = ok and r or nil
  end
  local v = type(result) == 'table' and result.value or nil
  if type(v) ~= 'table' or not v.kind then
    return ret
  end
  local key = tostring(ctx.client_id) .. ':' .. tostring(result.token)
  local p = M.progress[key] or {}
  if v.kind == 'begin' then
    p = { title = v.title, message = v.message, percentage = v.percentage }
  else
    p.message = v.message or p.message
    p.percentage = v.percentage or p.percentage
  end
  M.progress[key] = v.kind ~= 'end' and p or nil
  M.last_progress = { kind = v.kind, title = p.title, message = v.message, percentage = v.percentage }
  M.fire('CodeTracerProgress')
  pcall(vim.cmd, 'redrawstatus')
  return ret
end

local message_levels = { levels.ERROR, levels.WARN, levels.INFO, levels.DEBUG }

local function on_show_message(err, result, ctx, config)
  if err or type(result) ~= 'table' then
    return vim.lsp.handlers['window/showMessage'](err, result, ctx, config)
  end
  local msg = tostring(result.message)
  if result.type == 1 then
    -- "cannot analyze FILE:LINE (byte N): why" comes right after the empty diagnostics of a
    -- document that failed: remember it for status()
    for bufnr, st in pairs(M.bufs) do
      local name = vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_buf_get_name(bufnr) or ''
      if name ~= '' and msg:find(name, 1, true) then
        st.failed = msg
      end
    end
  end
  M.notify(msg, message_levels[result.type] or levels.INFO)
  pcall(vim.cmd, 'redrawstatus')
  return vim.NIL
end

M.handlers = {
  ['textDocument/publishDiagnostics'] = on_publish_diagnostics,
  ['$/progress'] = on_progress,
  ['window/showMessage'] = on_show_message,
}

-- ---- commands the daemon's code actions and code lenses run ----

--- workspace/executeCommand on the daemon; cb(result) on success, errors are shown.
function M.execute(client, command, arguments, cb, bufnr)
  local params = { command = command, arguments = arguments }
  return M.request(client, 'workspace/executeCommand', params, function(err, result)
    if err then
      M.notify(string.format('%s failed: %s', command, err.message or vim.inspect(err)), levels.ERROR)
      return
    end
    if cb then
      cb(result)
    end
  end, bufnr)
end

function M.inspect(client, args, bufnr)
  M.execute(client, 'codetracer.inspect', args, function(res)
    if type(res) ~= 'table' or type(res.markdown) ~= 'string' then
      M.notify('codetracer.inspect returned no Markdown', levels.ERROR)
      return
    end
    view.show_markdown(res.title, res.markdown, M.config.inspect_view)
    M.fire('CodeTracerInspect')
  end, bufnr)
end

function M.feedback(client, args, bufnr)
  M.execute(client, 'codetracer.feedback', args, function(res)
    local a = type(args) == 'table' and args[1] or {}
    M.notify(
      string.format(
        'step %s marked %s%s',
        tostring(a.step_id),
        tostring(res and res.label or a.label),
        (res and type(res.db) == 'string') and (' (saved in ' .. res.db .. ')') or ''
      )
    )
    M.fire('CodeTracerFeedback')
  end, bufnr)
end

M.commands = {
  ['codetracer.inspect'] = function(command, ctx)
    local c = vim.lsp.get_client_by_id(ctx.client_id)
    if c then
      M.inspect(c, command.arguments, ctx.bufnr)
    end
  end,
  ['codetracer.feedback'] = function(command, ctx)
    local c = vim.lsp.get_client_by_id(ctx.client_id)
    if c then
      M.feedback(c, command.arguments, ctx.bufnr)
    end
  end,
}

-- ---- start / attach / stop ----

local function settings_object()
  local s = M.config.settings or {}
  if next(s) == nil then
    return vim.empty_dict()
  end
  return s
end

local function cmd_string()
  return table.concat(M.config.cmd, ' ')
end

local function on_init(client)
  M.ready[client.id] = true
  local s = M.config.settings or {}
  if next(s) ~= nil then
    -- 0.7.2 does not advertise workspace/configuration: push the settings
    M.client_notify(client, 'workspace/didChangeConfiguration', { settings = { codetracer = s } })
  end
  M.fire('CodeTracerReady')
end

local function on_exit(code, signal, client_id)
  vim.schedule(function()
    M.last_exit = { code = code, signal = signal, client_id = client_id }
    local was_ready = M.ready[client_id]
    M.ready[client_id] = nil
    if M.client_id == client_id then
      M.client_id = nil
    end
    for key in pairs(M.progress) do
      if key:find('^' .. client_id .. ':') then
        M.progress[key] = nil
      end
    end
    for bufnr, st in pairs(M.bufs) do
      st.analyzed = false
      view.clear_highlights(bufnr)
    end
    if M.stopping[client_id] then
      M.stopping[client_id] = nil
    elseif code ~= 0 or signal ~= 0 then
      if was_ready then
        M.notify(
          string.format(
            'the daemon (%s) exited unexpectedly (exit code %d, signal %d); restart it with :CodeTracerRestart',
            cmd_string(),
            code,
            signal
          ),
          levels.ERROR
        )
      else
        M.notify(
          string.format(
            'the daemon (%s) failed to start (exit code %d, signal %d). Check that it is codetracer with the `serve` command; its stderr is in %s',
            cmd_string(),
            code,
            signal,
            vim.lsp.get_log_path()
          ),
          levels.ERROR
        )
      end
    end
    M.fire('CodeTracerExit')
    pcall(vim.cmd, 'redrawstatus')
  end)
end

function M.client_config()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.window = caps.window or {}
  -- The plugin shows inspect output itself (0.7.2 has no window/showDocument); saying no here
  -- keeps newer Neovims from opening it a second time.
  caps.window.showDocument = { support = false }
  caps.window.workDoneProgress = true
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.codeLens = caps.textDocument.codeLens or { dynamicRegistration = false }
  return {
    name = M.name,
    cmd = M.config.cmd,
    cmd_env = M.config.cmd_env,
    root_dir = M.config.root_dir or vim.loop.cwd(),
    capabilities = caps,
    init_options = settings_object(),
    settings = { codetracer = settings_object() },
    handlers = M.handlers,
    commands = M.commands,
    flags = { debounce_text_changes = M.config.debounce_text_changes },
    on_init = on_init,
    on_exit = on_exit,
  }
end

--- Is the daemon executable there? Says so once per command when it is not.
function M.check_cmd()
  local exe = M.config.cmd[1]
  if type(exe) == 'string' and vim.fn.executable(exe) == 1 then
    return true
  end
  local msg = string.format(
    "the daemon `%s` was not found. Install codetracer (it provides `codetracer serve`) or point the plugin at it: require('codetracer').setup{ cmd = { '/path/to/codetracer', 'serve' } }",
    tostring(exe)
  )
  if not M.reported[msg] then
    M.reported[msg] = true
    M.notify(msg, levels.ERROR)
  end
  return false
end

--- Start the client (attached to bufnr when given). Returns the client id or nil.
function M.start(bufnr)
  if not M.check_cmd() then
    return nil
  end
  local conf = M.client_config()
  local ok, id
  if bufnr and vim.lsp.start then
    ok, id = pcall(vim.lsp.start, conf, { bufnr = bufnr })
  elseif has('nvim-0.11') then
    ok, id = pcall(vim.lsp.start, conf, { attach = false })
  else
    ok, id = pcall(vim.lsp.start_client, conf)
    if ok and id and bufnr then
      vim.lsp.buf_attach_client(bufnr, id)
    end
  end
  if not ok or not id then
    M.notify(string.format('could not start the daemon (%s): %s', cmd_string(), tostring(id)), levels.ERROR)
    return nil
  end
  M.client_id = id
  return id
end

local function buffer_autocmds(bufnr)
  local group = vim.api.nvim_create_augroup('codetracer_buf_' .. bufnr, { clear = true })
  -- Neovim 0.7.2 never refreshes code lenses by itself.
  vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.refresh_codelens(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      local st = M.bufs[bufnr]
      if st then
        st.analyzed = false
      end
    end,
  })
  vim.api.nvim_create_autocmd({ 'BufWipeout', 'BufDelete' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      M.bufs[bufnr] = nil
      pcall(vim.api.nvim_del_augroup_by_id, group)
    end,
  })
end

--- Attach a trajectory buffer (starting the daemon when needed).
function M.attach(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_buf_get_option(bufnr, 'buftype') ~= '' then
    return false
  end
  local c = M.get_client()
  if c and vim.lsp.buf_is_attached(bufnr, c.id) then
    return true
  end
  local ok
  if c then
    ok = vim.lsp.buf_attach_client(bufnr, c.id)
  else
    ok = M.start(bufnr) ~= nil
  end
  -- tracked even when the daemon could not start: status() then says it is not running
  M.bufs[bufnr] = M.bufs[bufnr] or { analyzed = false, incorrect = 0, unuseful = 0 }
  if ok then
    buffer_autocmds(bufnr)
  end
  return ok
end

--- Call fn(client) once a client is running and initialized (starting one without a buffer
--- when none is). Gives up after timeout_ms with a message.
function M.with_client(fn, timeout_ms)
  local c = M.get_client()
  if not c then
    if not M.start(nil) then
      return
    end
    c = M.get_client()
  end
  if not c then
    return
  end
  local deadline = vim.loop.now() + (timeout_ms or 10000)
  local function try()
    local cur = vim.lsp.get_client_by_id(c.id)
    if not cur or M.is_stopped(cur) then
      return -- on_exit says why
    end
    if M.ready[c.id] then
      fn(cur)
    elseif vim.loop.now() > deadline then
      M.notify('the daemon did not answer initialize in time', levels.ERROR)
    else
      vim.defer_fn(try, 20)
    end
  end
  try()
end

--- Stop the daemon (shutdown + exit). cb() runs once it is gone.
function M.stop(cb)
  local c = M.get_client()
  if not c then
    if cb then
      cb()
    end
    return
  end
  M.stopping[c.id] = true
  local id = c.id
  call(c, 'stop')
  local deadline = vim.loop.now() + 5000
  local function wait()
    local cur = vim.lsp.get_client_by_id(id)
    if cur and not M.is_stopped(cur) and vim.loop.now() < deadline then
      vim.defer_fn(wait, 20)
      return
    end
    if cur and not M.is_stopped(cur) then
      call(cur, 'stop', true)
    end
    if M.client_id == id then
      M.client_id = nil
    end
    if cb then
      cb()
    end
  end
  wait()
end

return M
