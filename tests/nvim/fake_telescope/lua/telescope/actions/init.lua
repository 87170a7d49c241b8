-- FAKE telescope.actions (see fake_telescope/lua/telescope/init.lua):
-- select_default:replace(fn) keeps fn as select_default.replaced;
-- close(prompt_bufnr) records the buffer in _G.fake_telescope.closed.
require("telescope")

local actions = {}

actions.select_default = {
  replace = function(self, fn)
    self.replaced = fn
    return self
  end,
}

function actions.close(prompt_bufnr)
  table.insert(_G.fake_telescope.closed, prompt_bufnr)
end

return actions
