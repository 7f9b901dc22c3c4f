-- codetracer: the user commands exist from startup; attaching trajectory files starts with
-- require('codetracer').setup{} (see :help codetracer).
if vim.g.loaded_codetracer then
  return
end
vim.g.loaded_codetracer = 1
if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_err_writeln('codetracer: Neovim 0.7 or newer is needed')
  return
end
require('codetracer').define_commands()
