-- codetracer.view — positions, the "unuseful" highlight and the inspect window.
-- No LSP state lives here: every function takes what it needs.
local M = {}

M.unuseful_ns = vim.api.nvim_create_namespace('codetracer_unuseful')
M.inspect_bufname = 'codetracer://inspect'

-- Byte length of the UTF-8 sequence that starts with byte b (1 for a stray byte: the daemon
-- counts bytes that are not valid UTF-8 as one unit each).
local function seq_len(b)
  if b >= 0xF0 and b < 0xF8 then
    return 4
  elseif b >= 0xE0 then
    return 3
  elseif b >= 0xC0 then
    return 2
  end
  return 1
end

--- Byte column (0-based) of an LSP `character` on `line` in the negotiated encoding.
function M.byte_col(line, character, encoding)
  character = math.max(0, character or 0)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local units, i = 0, 1
  while i <= #line and units < character do
    local n = seq_len(line:byte(i))
    if i + n - 1 > #line then
      n = 1
    end
    units = units + ((encoding == 'utf-16' and n == 4) and 2 or 1)
    i = i + n
  end
  return i - 1
end

--- LSP `character` of a byte column (0-based) on `line` (inverse of byte_col).
function M.lsp_char(line, col, encoding)
  col = math.min(math.max(0, col or 0), #line)
  if encoding == 'utf-8' then
    return col
  end
  local units, i = 0, 1
  while i <= col do
    local n = seq_len(line:byte(i))
    if i + n - 1 > #line then
      n = 1
    end
    units = units + ((encoding == 'utf-16' and n == 4) and 2 or 1)
    i = i + n
  end
  return units
end

local function buf_line(bufnr, row)
  return vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
end

--- An LSP range → {row, col, end_row, end_col} in bytes (0-based), clamped to the buffer.
function M.range_to_bytes(bufnr, range, encoding)
  local n = vim.api.nvim_buf_line_count(bufnr)
  local s, e = range.start, range['end']
  local srow = math.min(math.max(0, s.line), n - 1)
  local erow = math.min(math.max(srow, e.line), n - 1)
  local scol = M.byte_col(buf_line(bufnr, srow), s.character, encoding)
  local ecol = M.byte_col(buf_line(bufnr, erow), e.character, encoding)
  if e.line > erow then
    ecol = #buf_line(bufnr, erow)
  end
  return srow, scol, erow, ecol
end

--- The cursor of window `win` as an LSP position.
function M.cursor_position(win, encoding)
  local cur = vim.api.nvim_win_get_cursor(win)
  local bufnr = vim.api.nvim_win_get_buf(win)
  local row = cur[1] - 1
  return { line = row, character = M.lsp_char(buf_line(bufnr, row), cur[2], encoding) }
end

--- Put the cursor of the current window on an LSP position (adds a jumplist entry).
function M.jump_to(bufnr, pos, encoding)
  local n = vim.api.nvim_buf_line_count(bufnr)
  local row = math.min(math.max(0, pos.line), n - 1)
  vim.cmd("normal! m'")
  vim.api.nvim_win_set_cursor(0, { row + 1, M.byte_col(buf_line(bufnr, row), pos.character, encoding) })
end

--- Highlight the ranges of unuseful steps (Neovim 0.7.2 stores the Unnecessary tag but does
--- not render it). `diags` are the LSP diagnostics as published.
function M.highlight_unuseful(bufnr, diags, encoding, group)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return 0
  end
  vim.api.nvim_buf_clear_namespace(bufnr, M.unuseful_ns, 0, -1)
  local count = 0
  for _, d in ipairs(diags or {}) do
    local data = type(d.data) == 'table' and d.data or {}
    local unnecessary = data.label == 'unuseful'
    if data.label == nil then
      for _, t in ipairs(d.tags or {}) do
        unnecessary = unnecessary or t == 1
      end
    end
    if unnecessary and d.range then
      local srow, scol, erow, ecol = M.range_to_bytes(bufnr, d.range, encoding)
      local ok = pcall(vim.api.nvim_buf_set_extmark, bufnr, M.unuseful_ns, srow, scol, {
        end_row = erow,
        end_col = ecol,
        hl_group = group,
        priority = 90,
      })
      if ok then
        count = count + 1
      end
    end
  end
  return count
end

function M.clear_highlights(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.unuseful_ns, 0, -1)
  end
end

local function split_lines(text)
  local lines = vim.split(text or '', '\n', { plain = true })
  for i, l in ipairs(lines) do
    lines[i] = l:gsub('\r$', '')
  end
  return lines
end

local function inspect_buffer()
  local b = vim.fn.bufnr(M.inspect_bufname)
  if b == -1 or not vim.api.nvim_buf_is_valid(b) then
    b = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(b, M.inspect_bufname)
  end
  vim.api.nvim_buf_set_option(b, 'buftype', 'nofile')
  vim.api.nvim_buf_set_option(b, 'bufhidden', 'hide')
  vim.api.nvim_buf_set_option(b, 'swapfile', false)
  return b
end

--- Show the Markdown of `codetracer.inspect` (Neovim 0.7.2 has no window/showDocument, so the
--- plugin shows it itself). how: 'split' | 'vsplit' | 'tab' | 'float'. Returns the buffer.
function M.show_markdown(title, markdown, how)
  local lines = split_lines(markdown)
  if how == 'float' then
    local b = vim.lsp.util.open_floating_preview(lines, 'markdown', { border = 'rounded', focus_id = 'codetracer' })
    return b
  end
  local b = inspect_buffer()
  vim.api.nvim_buf_set_option(b, 'modifiable', true)
  vim.api.nvim_buf_set_lines(b, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(b, 'modifiable', false)
  vim.api.nvim_buf_set_option(b, 'filetype', 'markdown')
  vim.api.nvim_buf_set_var(b, 'codetracer_title', title or '')
  local win = vim.fn.bufwinid(b)
  if win == -1 then
    local from = vim.api.nvim_get_current_win()
    if how == 'tab' then
      vim.cmd('tab sbuffer ' .. b)
    elseif how == 'vsplit' then
      vim.cmd('vertical sbuffer ' .. b)
    else
      vim.cmd('belowright sbuffer ' .. b)
    end
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_option(win, 'wrap', true)
    if how ~= 'tab' then
      vim.api.nvim_set_current_win(from) -- keep the trajectory focused, like a preview
    end
  end
  vim.api.nvim_win_set_cursor(win, { 1, 0 })
  return b
end

return M
