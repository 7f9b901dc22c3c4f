-- :checkhealth codetracer (Neovim 0.7.2's `health` module and the newer vim.health).
local M = {}

local function reporter()
  if vim.health and vim.health.start then
    return vim.health
  end
  local h = require('health')
  return { start = h.report_start, ok = h.report_ok, warn = h.report_warn, error = h.report_error, info = h.report_info }
end

function M.check()
  local h = reporter()
  h.start('codetracer')
  local ct = require('codetracer')
  local cfg = ct.config or ct.defaults
  if not ct.config then
    h.warn("setup() has not been called: trajectory files are not attached (require('codetracer').setup{})")
  end
  local exe = cfg.cmd[1]
  if vim.fn.executable(exe) == 1 then
    local out = vim.fn.system({ exe, 'serve', '--help' })
    if vim.v.shell_error == 0 then
      h.ok(string.format('daemon: %s (%s)', table.concat(cfg.cmd, ' '), vim.fn.exepath(exe)))
    else
      h.error(string.format('`%s serve --help` failed (exit %d): %s', exe, vim.v.shell_error, out))
    end
  else
    h.error(string.format('daemon `%s` not found; set cmd in setup{}', tostring(exe)))
  end
  local c = require('codetracer.lsp').get_client()
  if c then
    h.ok(string.format('client %d running, position encoding %s', c.id, tostring(c.offset_encoding)))
  else
    h.info('the daemon is not running (it starts with the first trajectory file)')
  end
end

return M
