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
-- number) plus one per token, punctuation included. Writing each listing
-- here, keeping the line's <span id> (links and change marks need it) but
-- dropping the anchor (the number comes from span::before in print) and
-- the spans of tokens that book.css does not colour, halves the time
-- WeasyPrint takes. The HTML site keeps pandoc's markup unchanged.
local PLAIN_TOKENS = {"op", "ot", "ex", "re"}
-- The appendix (tests, support code, whole copies of changed files) is
-- reference reading, and its listings are the longest of the book: there
-- only comments keep their colour, and every other token is plain text.
-- A token's span costs WeasyPrint as much as a line's text (each is laid
-- out on its own), so this takes a fifth off the appendices' renders.
-- For the same reason a line's number there is text, not a span of its
-- own: the line's id stays, on an empty span before it (links and the
-- elision lines of the handouts land there), and the number is printed
-- in the code's colour. Together that halves an appendix's render.
local APPENDIX_TOKENS = {co = true}

local function line_set(cb, key)
  local set = {}
  for n in (cb.attributes[key] or ""):gmatch("%d+") do set[tonumber(n)] = true end
  return set
end

-- One listing's HTML, made lean: per line, pandoc writes
--   <span id="L-N"><a href="#L-N"></a>TOKENS</span>
-- and this becomes
--   <span class="ln" id="L-N">   N </span>TOKENS
-- (a changed line is wrapped in <span class="chg">, a line next to removed
-- lines in <span class="cut-before"> or "cut-after").
local function lean(html, cb, appendix)
  local changed = line_set(cb, "changed")
  local before, after = line_set(cb, "cut-before"), line_set(cb, "cut-after")
  html = html:gsub('<a href="#[^"]*"[^>]*></a>', "")
  html = html:gsub('class="sourceCode numberSource ', 'class="sourceCode numberSource lean ', 1)
  for _, cls in ipairs(PLAIN_TOKENS) do
    html = html:gsub('<span class="' .. cls .. '">([^<]*)</span>', "%1")
  end
  if appendix then
    html = html:gsub('<span class="(%a%a)">([^<]*)</span>', function(cls, text)
      if not APPENDIX_TOKENS[cls] then return text end
    end)
  end
  local out = {}
  for line in (html .. "\n"):gmatch("([^\n]*)\n") do
    local pre, id, n, body, post =
      line:match('^(.-)<span id="([^"]+)%-(%d+)">(.*)</span>(.-)$')
    if pre then
      local num = tonumber(n)
      local l
      if appendix then
        l = '<span id="' .. id .. "-" .. n .. '"></span>' ..
            string.format("%4d", num) .. " " .. body
      else
        l = '<span class="ln" id="' .. id .. "-" .. n .. '">' ..
            string.format("%4d", num) .. " </span>" .. body
      end
      local class = changed[num] and "chg" or before[num] and "cut-before"
                    or after[num] and "cut-after"
      if class then l = '<span class="' .. class .. '">' .. l .. "</span>" end
      out[#out + 1] = pre .. l .. post
    else
      out[#out + 1] = line
    end
  end
  return table.concat(out, "\n")
end

-- All listings are written in one call of the HTML writer (one call per
-- listing costs far more), between markers that give each one back.
local function lean_listings(doc)
  local appendix = meta_str(doc.meta, "book-target") == "appendix"
  local batch = {}
  doc:walk({CodeBlock = function(cb)
    if cb.classes:includes("numberLines") and cb.identifier ~= "" then
      batch[#batch + 1] = pandoc.RawBlock("html", "<!--L:" .. cb.identifier .. "-->")
      batch[#batch + 1] = cb
      batch[#batch + 1] = pandoc.RawBlock("html", "<!--/L:" .. cb.identifier .. "-->")
    end
  end})
  if #batch == 0 then return doc end
  local out = pandoc.write(pandoc.Pandoc(batch, doc.meta), "html5",
                           PANDOC_WRITER_OPTIONS)
  local html = {}
  for id, body in out:gmatch("<!%-%-L:([^>]-)%-%->(.-)<!%-%-/L:%1%-%->") do
    html[id] = body
  end
  return doc:walk({CodeBlock = function(cb)
    local h = html[cb.identifier]
    if h and cb.classes:includes("numberLines") then
      return pandoc.RawBlock("html", lean(h, cb, appendix))
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
  doc = write_print_parts(doc)
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
