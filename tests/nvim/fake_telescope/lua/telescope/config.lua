-- FAKE telescope.config (see fake_telescope/lua/telescope/init.lua):
-- values.generic_sorter(opts) returns a marker the test can check.
return {
  values = {
    generic_sorter = function(opts)
      return { fake_sorter = "generic_sorter", opts = opts }
    end,
  },
}
