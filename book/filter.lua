-- filter.lua: runs after book/reader.lua. It adapts one document to what
-- is being built, given by metadata (book/Makefile passes it with -M):
--   book-target   site | handout | appendix | front
--                 (site: an HTML page; the others are rendered to PDF:
--                 a chapter's teaching text, which is its handout and its
--                 chapter of the whole book; its appendix; the front matter)
--   page          this page's name (site, handout, appendix): index,
--                 01-boot-e820 ...
--   pages         all page names of the site in order, space separated
--   chapters-root the directory holding the chapter directories
-- It sets is-site / is-pdf / is-<target>, the previous/next navigation and
-- the contents list for the HTML template, adds the contents to the front
-- page, and rewrites links between pages. A PDF is rendered on its own, so
-- a link to anything outside it (another chapter, the appendix) becomes
-- "xref:ID": book/lib/render takes such links out of the PDF and notes
-- where they were, and book/lib/assemble makes them links again in the
-- whole book, where every ID exists.

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

-- For the PDFs: WeasyPrint lays out every element of a listing, and
-- pandoc's listing markup has three per line (the line, its anchor, its
-- number) plus one per token, punctuation included; each element costs
-- WeasyPrint about as much as a line's text, as each is laid out on its
-- own. So each listing of a PDF (a handout's and an appendix's alike) is
-- written here in light markup, and the HTML site keeps pandoc's:
-- - only comments keep their colour (grey, italic: on paper, prose and
--   code must stay apart); every other token is plain text;
-- - a line's number is text, after an empty span that keeps the line's
--   id (links, the elision lines of the handouts and the change marks
--   land there), and is printed in the code's colour;
-- - a marked line (changed, or next to lines removed) is wrapped in a
--   span of its class, and its number is a span of its own, in bold
--   (book.css), so the mark still shows on a grey-scale printout.
-- This takes two fifths off a handout's render, half off an appendix's.
local KEEP_TOKENS = {co = true}

local function line_set(cb, key)
  local set = {}
  for n in (cb.attributes[key] or ""):gmatch("%d+") do set[tonumber(n)] = true end
  return set
end

-- One listing's HTML, made lean: per line, pandoc writes
--   <span id="L-N"><a href="#L-N"></a>TOKENS</span>
-- and this becomes
--   <span id="L-N"></span>   N TOKENS
-- or, for a changed line (class "chg"; a line next to removed lines has
-- "cut-before" or "cut-after"),
--   <span class="chg"><span class="ln" id="L-N">   N </span>TOKENS</span>
local function lean(html, cb)
  local changed = line_set(cb, "changed")
  local before, after = line_set(cb, "cut-before"), line_set(cb, "cut-after")
  html = html:gsub('<a href="#[^"]*"[^>]*></a>', "")
  html = html:gsub('class="sourceCode numberSource ', 'class="sourceCode numberSource lean ', 1)
  html = html:gsub('<span class="(%a%a)">([^<]*)</span>', function(cls, text)
    if not KEEP_TOKENS[cls] then return text end
  end)
  local out = {}
  for line in (html .. "\n"):gmatch("([^\n]*)\n") do
    local pre, id, n, body, post =
      line:match('^(.-)<span id="([^"]+)%-(%d+)">(.*)</span>(.-)$')
    if pre then
      local num = tonumber(n)
      local class = changed[num] and "chg" or before[num] and "cut-before"
                    or after[num] and "cut-after"
      local l
      if class then
        l = '<span class="' .. class .. '"><span class="ln" id="' .. id .. "-" .. n .. '">' ..
            string.format("%4d", num) .. " </span>" .. body .. "</span>"
      else
        l = '<span id="' .. id .. "-" .. n .. '"></span>' ..
            string.format("%4d", num) .. " " .. body
      end
      out[#out + 1] = pre .. l .. post
    else
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n")
end

-- A listing's HTML (a numbered listing, or the chapter's diff) as
-- pandoc's writer makes it (highlighted, a span and an anchor per line),
-- by listing_key. Highlighting is most of the cost of a chapter's pandoc
-- run, and the site's page and the PDFs' parts print most listings
-- alike: each is written once per run (see Pandoc), the site's copy as
-- it is, the PDFs' made lean.
local listing_html = {}

local function is_listing(cb)
  return cb.identifier ~= "" and cb.classes:includes("numberLines")
end

-- The changes since the previous chapter, a unified diff (reader.lua):
-- pandoc writes each of its lines, as any highlighted block's, in a span
-- with an id and a link to itself. The PDFs keep only the tokens (the
-- colours of added and removed lines): the long diff of a big chapter
-- made thousands of links and elements for nothing.
local function is_diff(cb)
  return cb.identifier ~= "" and cb.classes:includes("chapter-diff")
end

local function lean_diff(html)
  html = html:gsub('<a href="#[^"]*"[^>]*></a>', "")
  local out = {}
  for line in (html .. "\n"):gmatch("([^\n]*)\n") do
    local pre, body, post = line:match('^(.-)<span id="[^"]+%-%d+">(.*)</span>(.-)$')
    out[#out + 1] = pre and pre .. body .. post or line
  end
  return table.concat(out, "\n")
end

-- everything the writer's HTML of a listing depends on
local function listing_key(cb)
  local attrs = {}
  for k, v in pairs(cb.attributes) do attrs[#attrs + 1] = k .. "=" .. v end
  table.sort(attrs)
  return table.concat({cb.identifier, table.concat(cb.classes, " "),
                       table.concat(attrs, "\0"), cb.text}, "\0")
end

-- Write the listings of DOC not written yet, all in one call of the HTML
-- writer (one call per listing costs far more), between markers that
-- give each one back.
local function write_listings(doc)
  local batch, keys, seen = {}, {}, {}
  doc:walk({CodeBlock = function(cb)
    if not (is_listing(cb) or is_diff(cb)) then return end
    local key = listing_key(cb)
    if listing_html[key] or seen[key] then return end
    seen[key] = true
    keys[#keys + 1] = key
    batch[#batch + 1] = pandoc.RawBlock("html", "<!--L:" .. #keys .. "-->")
    batch[#batch + 1] = cb
    batch[#batch + 1] = pandoc.RawBlock("html", "<!--/L:" .. #keys .. "-->")
  end})
  if #batch == 0 then return end
  local out = pandoc.write(pandoc.Pandoc(batch, doc.meta), "html5",
                           PANDOC_WRITER_OPTIONS)
  for i, body in out:gmatch("<!%-%-L:(%d+)%-%->\n?(.-)\n?<!%-%-/L:%1%-%->") do
    listing_html[keys[tonumber(i)]] = body
  end
end

-- The listings (and the diff) of a document for PDF, made lean.
local function lean_listings(doc)
  write_listings(doc)
  return doc:walk({CodeBlock = function(cb)
    local h = (is_listing(cb) or is_diff(cb)) and listing_html[listing_key(cb)]
    if h then
      return pandoc.RawBlock("html", is_diff(cb) and lean_diff(h) or lean(h, cb))
    end
  end})
end

-- Every id a PDF will have: elements' ids, and the ids pandoc gives the
-- lines of numbered listings (<listing id>-<line number>).
local function ids_of(doc)
  local ids = {}
  local function note(el)
    if el.identifier and el.identifier ~= "" then ids[el.identifier] = true end
  end
  doc:walk({Header = note, Div = note, Span = note, Link = note,
    CodeBlock = function(cb)
      note(cb)
      if cb.identifier ~= "" and cb.classes:includes("numberLines") then
        local first = tonumber(cb.attributes.startFrom or "1") or 1
        local n = select(2, cb.text:gsub("\n", "\n")) + 1
        for i = first, first + n - 1 do ids[cb.identifier .. "-" .. i] = true end
      end
    end})
  return ids
end

-- A document rendered to PDF: every link within it, and every link to
-- another page turned into one to an id ("xref:" when the id is not in
-- this document), lead-in paragraphs marked, listings made lean.
local function for_pdf(doc)
  doc = doc:walk({Link = function(l)
    local p, frag = l.target:match("^([%w_.-]+)%.html#?(.*)$")
    if not p or l.target:match("^%a+://") then return nil end
    l.target = "#" .. (frag ~= "" and frag or top_id(p))
    return l
  end})
  -- a link to an id the document does not have (the appendix, a file
  -- printed in the other part, another chapter) is a cross-reference
  local ids = ids_of(doc)
  doc = doc:walk({Link = function(l)
    local frag = l.target:match("^#(.+)$")
    if frag and not ids[frag] then
      l.target = "xref:" .. frag
      return l
    end
  end})
  -- a paragraph that ends with a colon introduces the next block: the
  -- PDFs keep the two on one page (book.css, .lead-in)
  local function mark_lead_ins(blocks)
    local out = pandoc.List()
    for i, b in ipairs(blocks) do
      local last = b.t == "Para" and b.content[#b.content]
      if last and last.t == "Str" and last.text:match(":$") and blocks[i + 1]
         and blocks[i + 1].t ~= "Header" then
        out:insert(pandoc.Div({b}, {class = "lead-in"}))
      else
        out:insert(b)
      end
    end
    return out
  end
  doc.blocks = mark_lead_ins(doc.blocks)
  doc = doc:walk({Div = function(d) d.content = mark_lead_ins(d.content); return d end})
  if PANDOC_WRITER_OPTIONS then
    doc = lean_listings(doc)
    -- the site's change marks are rules on line ids; the PDFs mark lines
    -- with classes instead (see lean), so those rules must go
    doc = doc:walk({RawBlock = function(b)
      if b.text:match('^<style class="change%-marks">') then return {} end
    end})
  end
  return doc
end

-- The print parts that reader.lua rendered into the site's page (divs
-- print-handout and print-appendix): each is taken out and written, as a
-- document for PDF, to the file that metadata print-handout-out or
-- print-appendix-out names. One pandoc run thus makes a chapter's page
-- and the HTML of both of its PDFs.
local function write_print_parts(doc)
  local keep = pandoc.List()
  for _, b in ipairs(doc.blocks) do
    local part = b.t == "Div" and b.identifier:match("^print%-(%a+)$")
    if part then
      local path = meta_str(doc.meta, "print-" .. part .. "-out")
      if path then
        local meta = {}
        for k, v in pairs(doc.meta) do meta[k] = v end
        meta["is-site"] = nil
        meta["book-target"] = pandoc.MetaString(part)
        meta["is-" .. part] = true
        meta["is-pdf"] = true
        meta.pagetitle = pandoc.MetaString(b.attributes.title or part)
        local pdoc = for_pdf(pandoc.Pandoc(b.content, meta))
        local f = assert(io.open(path, "wb"))
        f:write(pandoc.write(pdoc, "html5", PANDOC_WRITER_OPTIONS))
        f:close()
      end
    else
      keep:insert(b)
    end
  end
  doc.blocks = keep
  return doc
end

function Pandoc(doc)
  local meta = doc.meta
  local target = meta_str(meta, "book-target") or "site"
  local page = meta_str(meta, "page") or ""
  local root = meta_str(meta, "chapters-root") or "."
  meta["is-" .. target] = true
  if target ~= "site" then
    meta["is-pdf"] = true
    doc.meta = meta
    return for_pdf(doc)
  end
  -- every listing of the page and of its print parts, highlighted once;
  -- the page's own copies as the writer would have made them
  if PANDOC_WRITER_OPTIONS then write_listings(doc) end
  doc = write_print_parts(doc)
  doc = doc:walk({CodeBlock = function(cb)
    local h = (is_listing(cb) or is_diff(cb)) and listing_html[listing_key(cb)]
    if h then return pandoc.RawBlock("html", h) end
  end})
  meta = doc.meta

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
