-- Minimal init for the Neovim tests: only this plugin on the runtimepath,
-- nothing from the user's config, no swap or shada files.
local here = vim.fs.dirname(vim.fs.normalize(debug.getinfo(1, "S").source:sub(2)))
local plugin = vim.fs.normalize(here .. "/../../editor-clients/neovim")
vim.opt.runtimepath:prepend(plugin)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"
vim.opt.more = false
vim.cmd("filetype on")
