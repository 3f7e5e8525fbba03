-- filter.lua: runs after book/reader.lua. It adapts one document to what
-- is being built, given by metadata (book/Makefile passes it with -M):
--   book-target   site | book | handout
--   page          this page's name (site, handout): index, 01-boot-e820 ...
--   pages         all page names of the site in order, space separated
--   chapters-root the directory holding the chapter directories
-- It sets is-site / is-book / is-handout, the previous/next navigation and
-- the contents list for the HTML template, adds the contents to the front
-- page, and rewrites links between pages: within one PDF every link must be
-- internal, and a handout cannot follow links to other chapters.

local SCRIPT_DIR = (PANDOC_SCRIPT_FILE or "./filter.lua"):match("^(.*)/[^/]*$")
                   or "."

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function meta_str(meta, key)
  local v = meta[key]
  if v == nil then return nil end
  return pandoc.utils.stringify(v)
end

-- The title of a page, read the way reader.lua reads it.
local function page_title(root, page)
  local nn = page:match("^(%d%d)%-")
  if nn then
    local t
    local m = read_file(root .. "/" .. page .. "/CHAPTER") or ""
    for line in m:gmatch("[^\n]+") do
      t = t or line:match("^%s*title%s+(.-)%s*$")
    end
    if not t then
      local r = read_file(root .. "/" .. page .. "/README.md") or ""
      t = r:match("\n?#+%s+([^\n]-)%s*\n")
    end
    return "Chapter " .. tonumber(nn) .. ": " .. (t or page), tonumber(nn)
  end
  local f = read_file(SCRIPT_DIR .. "/front/" .. page .. ".md") or ""
  return f:match("^#%s+([^\n]-)%s*\n") or f:match("\n#%s+([^\n]-)%s*\n") or page
end

local function top_id(page)
  local nn = page:match("^(%d%d)%-")
  if nn then return "ch" .. nn end
  return page
end

function Pandoc(doc)
  local meta = doc.meta
  local target = meta_str(meta, "book-target") or "site"
  local page = meta_str(meta, "page") or ""
  local root = meta_str(meta, "chapters-root") or "."
  meta["is-" .. target] = true

  -- links between pages
  doc = doc:walk({Link = function(l)
    local p, frag = l.target:match("^([%w_.-]+)%.html#?(.*)$")
    if not p or l.target:match("^%a+://") then return nil end
    if target == "book" then
      l.target = "#" .. (frag ~= "" and frag or top_id(p))
      return l
    end
    if p == page then
      l.target = "#" .. (frag ~= "" and frag or top_id(p))
      return l
    end
    if target == "handout" then
      return pandoc.Span(l.content, {class = "xref"})
    end
    return nil
  end})

  if target == "site" then
    local pages = {}
    for p in (meta_str(meta, "pages") or ""):gmatch("%S+") do pages[#pages + 1] = p end
    local contents, here = {}, nil
    for i, p in ipairs(pages) do
      local title = page_title(root, p)
      contents[i] = pandoc.MetaMap({
        href = pandoc.MetaString(p .. ".html"),
        title = pandoc.MetaInlines(pandoc.Inlines({pandoc.Str(title)})),
        current = pandoc.MetaBool(p == page),
      })
      if p == page then here = i end
    end
    meta["nav-contents"] = pandoc.MetaList(contents)
    if page:match("^%d%d%-") then
      meta["handout-href"] = pandoc.MetaString("handouts/" .. page .. ".pdf")
    end
    if here and here > 1 then meta["nav-prev"] = contents[here - 1] end
    if here and here < #pages then meta["nav-next"] = contents[here + 1] end

    if page == "index" then
      local items = {}
      for _, p in ipairs(pages) do
        if p ~= "index" then
          local title, num = page_title(root, p)
          local inl = {pandoc.Link({pandoc.Str(title)}, p .. ".html")}
          if num then
            inl[#inl + 1] = pandoc.Space()
            inl[#inl + 1] = pandoc.Str("(")
            inl[#inl + 1] = pandoc.Link({pandoc.Str("handout")},
                                        "handouts/" .. p .. ".pdf")
            inl[#inl + 1] = pandoc.Str(")")
          end
          items[#items + 1] = {pandoc.Plain(inl)}
        end
      end
      doc.blocks:insert(pandoc.Header(2, {pandoc.Str("Contents")},
                                      pandoc.Attr("index-contents", {"contents"})))
      doc.blocks:insert(pandoc.BulletList(items))
      doc.blocks:insert(pandoc.Para({pandoc.Str("Print:"), pandoc.Space(),
        pandoc.Link({pandoc.Str("the"), pandoc.Space(), pandoc.Str("whole"),
                     pandoc.Space(), pandoc.Str("book"), pandoc.Space(),
                     pandoc.Str("(PDF)")}, "book.pdf"),
        pandoc.Str(";"), pandoc.Space(), pandoc.Str("one"), pandoc.Space(),
        pandoc.Str("handout"), pandoc.Space(), pandoc.Str("per"), pandoc.Space(),
        pandoc.Str("chapter,"), pandoc.Space(), pandoc.Str("linked"),
        pandoc.Space(), pandoc.Str("above.")}))
    end
  end
  doc.meta = meta
  return doc
end
