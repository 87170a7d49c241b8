-- FAKE telescope.previewers.utils (see fake_telescope/lua/telescope/init.lua):
-- highlighter(bufnr, ft) records { bufnr, ft } in _G.fake_telescope.highlighted.
require("telescope")

local utils = {}

function utils.highlighter(bufnr, ft)
  table.insert(_G.fake_telescope.highlighted, { bufnr = bufnr, ft = ft })
end

return utils
