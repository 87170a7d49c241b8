-- FAKE telescope.actions.state (see fake_telescope/lua/telescope/init.lua):
-- get_selected_entry() returns _G.fake_telescope.selected (set by the test);
-- get_current_picker(prompt_bufnr) the recorded picker of that prompt.
require("telescope")

local state = {}

function state.get_selected_entry()
  return _G.fake_telescope.selected
end

function state.get_current_picker(prompt_bufnr)
  return require("telescope.pickers")._by_prompt(prompt_bufnr)
end

return state
