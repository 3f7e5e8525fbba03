-- reader.lua: the book's pandoc custom reader (pandoc -f book/reader.lua).
--
-- Inputs, in the order they should appear in the output:
--   *.md       a front-matter page (Markdown), e.g. book/front/setup.md
--   *.chapter  a chapter stub written by book/Makefile, key=value lines:
--                dir=/abs/path/01-boot-e820      the chapter directory
--                bootlog=/abs/path/01-boot-e820.bootlog   captured output
--                part=all|handout|appendix      (default all, see below)
--                print=1      also the handout and appendix parts, in divs
--                             print-handout, print-appendix (filter.lua
--                             writes them to files of their own)
-- One chapter stub gives one chapter page or handout; the front pages and
-- all stubs together give the whole book.
--
-- A chapter becomes: a top-level heading from CHAPTER's `title`, the
-- README (with the captured boot log at <!-- boot-log -->), a list of the
-- chapter's files, every file the chapter adds or changes in full with its
-- prose taken out of the comments (see book/CONVENTIONS.md), the changes
-- since the previous chapter, and the README's exercises.
--
-- Problems go to stderr as "book: KIND: MESSAGE" lines; book/check reads
-- them. Kinds: long-line, link, bootlog, manifest, prose, file.

local MIN_VERSION = {2, 17}
if PANDOC_VERSION == nil or PANDOC_VERSION < MIN_VERSION then
  error("book/reader.lua needs pandoc 2.17 or newer; this is pandoc " ..
        tostring(PANDOC_VERSION))
end

local SCRIPT_DIR = (PANDOC_SCRIPT_FILE or "./reader.lua"):match("^(.*)/[^/]*$")
                   or "."
local MAX_COLS = 80
local SHORT_LISTING = 6         -- listings this short are kept on one page
local TAB_STOP = 8

------------------------------------------------------------------------
-- Small utilities

-- While the print parts of a chapter are rendered (see Reader), the
-- problems found are the ones the site's rendering reported already.
local quiet = false

local function diag(kind, msg)
  if quiet then return end
  io.stderr:write("book: ", kind, ": ", msg, "\n")
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function ulen(s)
  return utf8.len(s) or #s
end

-- Split into lines without their newlines; a final newline does not
-- start another line. CR before LF is dropped.
local function split_lines(s)
  local lines = {}
  if s == "" then return lines end
  if s:sub(-1) ~= "\n" then s = s .. "\n" end
  for line in s:gmatch("([^\n]*)\n") do
    lines[#lines + 1] = (line:gsub("\r$", ""))
  end
  return lines
end

local function expand_tabs(line)
  if not line:find("\t", 1, true) then return line end
  local out, col = {}, 0
  for _, cp in utf8.codes(line) do
    if cp == 9 then
      local n = TAB_STOP - (col % TAB_STOP)
      out[#out + 1] = string.rep(" ", n)
      col = col + n
    else
      out[#out + 1] = utf8.char(cp)
      col = col + 1
    end
  end
  return table.concat(out)
end

local function slug(s)
  s = s:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return s
end

local function basename(p) return p:match("([^/]*)$") end
local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

-- Run a program; returns its stdout, or nil and a message.
local function run(cmd, args)
  local ok, out = pcall(pandoc.pipe, cmd, args, "")
  if ok then return out end
  return nil, tostring(out)
end

local function walk_blocks(blocks, filter)
  return pandoc.Div(blocks):walk(filter).content
end

local function plural(n, one, many)
  return tostring(n) .. " " .. (n == 1 and one or (many or one .. "s"))
end

------------------------------------------------------------------------
-- Identifiers: every id in the output is prefixed and unique.

local used_ids = {}

-- The listing ids of the lines a handout prints as changed regions, by
-- file id: region_ids[fid][n] is the id of the listing holding line n.
-- Links to a line of such a file go there, or, for a line left out, to
-- the whole file in the appendix (resolve_source). Reset for every part.
local region_ids = {}

local function unique_id(id)
  if used_ids[id] then
    local n = 2
    while used_ids[id .. "-" .. n] do n = n + 1 end
    id = id .. "-" .. n
  end
  used_ids[id] = true
  return id
end

-- Prefix the ids of headings, divs, spans and code blocks in blocks;
-- idmap records old id -> new id so that "#old" links can follow.
local function prefix_ids(blocks, prefix, idmap)
  local function fix(el)
    if el.identifier and el.identifier ~= "" then
      local new = unique_id(prefix .. "-" .. el.identifier)
      if idmap[el.identifier] == nil then idmap[el.identifier] = new end
      el.identifier = new
      return el
    end
  end
  return walk_blocks(blocks, {Header = fix, Div = fix, Span = fix,
                              CodeBlock = fix})
end

-- Heading levels: the first heading of a page is the only level 1.
-- Renumber so that the shallowest heading in blocks becomes `top`.
-- (min: the level to take as the shallowest, when blocks are part of a
-- larger text whose shallowest heading they may not hold)
local function renumber_headings(blocks, top, min)
  for _, b in ipairs(blocks) do
    if b.t == "Header" and (min == nil or b.level < min) then min = b.level end
  end
  -- headings nested in divs too
  walk_blocks(blocks, {Header = function(h)
    if min == nil or h.level < min then min = h.level end
  end})
  if min == nil then return blocks end
  return walk_blocks(blocks, {Header = function(h)
    h.level = math.min(6, h.level - min + top)
    return h
  end})
end

------------------------------------------------------------------------
-- Chapters

local chapter_cache = {}

-- Is p declared new: by name, or by a `new dir/` line (tools/chapters)?
local function is_new(m, p)
  if m.new[p] then return true end
  for d in pairs(m.new) do
    if d:sub(-1) == "/" and p:sub(1, #d) == d then return true end
  end
  return false
end

-- Parse a CHAPTER manifest.
local function read_manifest(ch)
  local m = {order = {}, new = {}, changed = {}, removed = {}, support = {},
             support_list = {}, title = nil}
  local text = read_file(ch.dir .. "/CHAPTER")
  if text == nil then
    diag("manifest", ch.name .. "/CHAPTER is missing")
    return m
  end
  for n, line in ipairs(split_lines(text)) do
    line = line:gsub("^%s*#.*$", ""):gsub("%s+#.*$", "")
    local word, rest = line:match("^%s*(%S+)%s*(.-)%s*$")
    if word == "title" then
      m.title = rest
    elseif word == "order" then
      for p in rest:gmatch("%S+") do m.order[#m.order + 1] = p end
    elseif word == "new" then
      m.new[rest:match("^(%S+)") or ""] = true
    elseif word == "changed" then
      local p, hash = rest:match("^(%S+)%s*(%S*)")
      m.changed[p or ""] = hash or ""
    elseif word == "removed" then
      m.removed[rest:match("^(%S+)") or ""] = true
    elseif word == "support" then
      for p in rest:gmatch("%S+") do
        m.support[p] = true
        m.support_list[#m.support_list + 1] = p
      end
    elseif word == "retest" then
      -- for the test suite (tools/boottest), nothing for the book
    elseif word ~= nil then
      diag("manifest", ch.name .. "/CHAPTER:" .. n ..
           ": unknown directive '" .. word .. "'")
    end
  end
  return m
end

local function readme_title(ch)
  local text = read_file(ch.dir .. "/README.md")
  if text then
    for _, l in ipairs(split_lines(text)) do
      local t = l:match("^#+%s+(.-)%s*#*%s*$")
      if t then return t end
    end
  end
  return nil
end

local function load_chapter(dir)
  dir = dir:gsub("/+$", "")
  if chapter_cache[dir] then return chapter_cache[dir] end
  local ch = {dir = dir, name = basename(dir), root = dirname(dir)}
  local nn = ch.name:match("^(%d%d)%-")
  if not nn then error("not a chapter directory (NN-name): " .. dir) end
  ch.nn, ch.num, ch.prefix = nn, tonumber(nn), "ch" .. nn
  ch.manifest = read_manifest(ch)
  ch.title = ch.manifest.title or readme_title(ch) or ch.name
  local list, err = run(SCRIPT_DIR .. "/lib/chapter-files", {dir})
  if not list then error("cannot list " .. dir .. ": " .. err) end
  ch.set, ch.content = {}, {}
  local all = {}
  for _, p in ipairs(split_lines(list)) do
    if p ~= "" then ch.set[p] = true; all[#all + 1] = p end
  end
  -- reading order: the manifest's `order` lines, then the rest by name
  ch.files = {}
  local placed = {}
  for _, p in ipairs(ch.manifest.order) do
    if not ch.set[p] then
      diag("manifest", ch.name .. "/CHAPTER: order lists " .. p ..
           ", which is not in the chapter")
    elseif not placed[p] then
      placed[p] = true
      ch.files[#ch.files + 1] = p
    end
  end
  for _, p in ipairs(all) do
    if not placed[p] then ch.files[#ch.files + 1] = p end
  end
  for _, p in ipairs(ch.manifest.support_list) do
    if not ch.set[p] then
      diag("manifest", ch.name .. "/CHAPTER: support lists " .. p ..
           ", which is not in the chapter")
    end
  end
  chapter_cache[dir] = ch
  return ch
end

-- The part of the book a file belongs to (book/CONVENTIONS.md, section 3):
--   "main"     the chapter's teaching text: in the handout
--   "support"  support code, optional reading: in the appendix
--   "tests"    tests, benchmarks and debugger helpers: in the appendix
-- Tests are found by path: anything under tests/, bench/ or gdb/, a
-- kernel self-test file (*_tests.c) or a test list (*.tests). Support code
-- is what a `support` line of this chapter's CHAPTER, or of an earlier
-- chapter's, names.
local PART_TITLE = {
  main = "The chapter",
  support = "Support code (optional reading)",
  tests = "Tests, benchmarks and debugger helpers",
}
local function is_test_path(p)
  local top = p:match("^([^/]+)/")
  return top == "tests" or top == "bench" or top == "gdb"
         or basename(p):match("_tests%.c$") ~= nil
         or basename(p):match("%.tests$") ~= nil
end
local function file_part(chs, k, p)
  if is_test_path(p) then return "tests" end
  for j = 1, k do
    if chs[j].manifest.support[p] then return "support" end
  end
  return "main"
end

local function content(ch, path)
  if not ch.set[path] then return nil end
  if ch.content[path] == nil then
    ch.content[path] = read_file(ch.dir .. "/" .. path) or ""
  end
  return ch.content[path]
end

-- All chapters next to this one, in numeric order; returns list and index.
local function siblings(ch)
  local out = run("find", {ch.root, "-mindepth", "1", "-maxdepth", "1",
                           "-type", "d", "-name", "[0-9][0-9]-*"}) or ""
  local dirs = {}
  for _, d in ipairs(split_lines(out)) do
    if d ~= "" then dirs[#dirs + 1] = d end
  end
  table.sort(dirs, function(a, b) return basename(a) < basename(b) end)
  local chs, idx = {}, nil
  for i, d in ipairs(dirs) do
    chs[i] = load_chapter(d)
    if chs[i] == ch then idx = i end
  end
  return chs, idx
end

local function status(chs, k, path)
  local prev = chs[k - 1]
  if not prev then return "new" end
  local old = content(prev, path)
  if old == nil then return "new" end
  if old == content(chs[k], path) then return "unchanged" end
  return "changed"
end

-- The chapter that introduced or last changed path, as seen from chapter k.
local function origin(chs, k, path)
  local j = k
  while j > 1 and content(chs[j - 1], path) ~= nil
        and content(chs[j - 1], path) == content(chs[j], path) do
    j = j - 1
  end
  return j
end

------------------------------------------------------------------------
-- Files: prose and code

-- Returns highlighting class (or nil) and prose style for a file.
local function file_kind(path, text)
  local b = basename(path)
  if b:match("%.[ch]$") then return "c", "block" end
  if b:match("%.ld$") or b:match("%.lds$") then return "linkerscript", "block" end
  if b:match("%.asm$") or b:match("%.inc$") or b:match("%.nasm$") then
    return "nasm", "semi"
  end
  if b == "Makefile" or b == "makefile" or b == "GNUmakefile"
     or b:match("%.mk$") then
    return "makefile", "hash"
  end
  if b:match("%.sh$") or b:match("%.bash$") then return "bash", "hash" end
  if b:match("%.py$") then return "python", "hash" end
  if b:match("%.gdb$") or b:match("gdbinit$") then return nil, "hash" end
  if b:match("%.md$") then return nil, "markdown" end
  local bang = text:match("^#![^\n]*")
  if bang then
    if bang:match("python") then return "python", "hash" end
    if bang:match("sh") then return "bash", "hash" end
    return nil, "hash"
  end
  return nil, nil
end

-- Split a file into pieces: {kind="code", first=N, lines={...}} and
-- {kind="prose", text=..., first=N, last=M, nums={...}}. Line numbers are
-- the file's; nums[k] is the file's line of the prose text's line k (false
-- for the blank line that joins two prose comments).
local function extract(where, lines, style, diag)
  local pieces = {}
  local code = nil

  local function flush_code()
    if code == nil then return end
    local ls, first = code.lines, code.first
    local a, b = 1, #ls
    while a <= b and ls[a]:match("^%s*$") do a = a + 1 end
    while b >= a and ls[b]:match("^%s*$") do b = b - 1 end
    if a <= b then
      local kept = {}
      for i = a, b do kept[#kept + 1] = ls[i] end
      pieces[#pieces + 1] = {kind = "code", first = first + a - 1, lines = kept}
    end
    code = nil
  end

  local function add_prose(text, first, last, nums)
    flush_code()
    local prev = pieces[#pieces]
    if prev and prev.kind == "prose" then
      prev.text = prev.text .. "\n\n" .. text
      prev.last = last
      prev.nums[#prev.nums + 1] = false
      for _, x in ipairs(nums) do prev.nums[#prev.nums + 1] = x end
    else
      pieces[#pieces + 1] = {kind = "prose", text = text, first = first,
                             last = last, nums = nums}
    end
  end

  local function add_code(i)
    if code == nil then code = {first = i, lines = {}} end
    code.lines[#code.lines + 1] = lines[i]
  end

  -- indented prose markers stay code; they are reported once per run
  local indented = nil
  local function report_indented()
    if not indented then return end
    local r = indented.first == indented.last and tostring(indented.first)
              or (indented.first .. "-" .. indented.last)
    diag("prose", where .. ":" .. r .. ": indented prose marker stays in" ..
         " the listing as a comment (prose markers start in column 0)")
    indented = nil
  end

  local i, n = 1, #lines
  while i <= n do
    local l = lines[i]
    if style == "block" and l:match("^/%*%*%s*$") then
      local first, body, closed = i, {}, false
      i = i + 1
      while i <= n do
        local m = lines[i]
        if m:match("^%s*%*/%s*$") then closed = true; break end
        local text, ends = m, false
        local before = m:match("^(.-)%s*%*/%s*$")
        if before then text, ends = before, true end
        if text:sub(1, 3) == " * " then
          text = text:sub(4)
        elseif text:match("^ %*%s*$") then
          text = ""
        elseif text:match("^%s*$") then
          text = ""
        else
          diag("prose", where .. ":" .. i ..
               ": prose line does not start with ' * '")
        end
        body[#body + 1] = text
        if ends then closed = true; break end
        i = i + 1
      end
      if not closed then
        diag("prose", where .. ":" .. first .. ": /** block is never closed")
      end
      local nums = {}
      for k = 1, #body do nums[k] = first + k end
      add_prose(table.concat(body, "\n"), first, math.min(i, n), nums)
      i = i + 1
    elseif (style == "semi" and l:sub(1, 2) == ";;")
        or (style == "hash" and l:sub(1, 2) == "##") then
      local first, body = i, {}
      local lead = l:sub(1, 2)
      while i <= n and lines[i]:sub(1, 2) == lead do
        local m = lines[i]
        body[#body + 1] = (m:sub(3, 3) == " ") and m:sub(4) or m:sub(3)
        i = i + 1
      end
      local nums = {}
      for k = 1, #body do nums[k] = first + k - 1 end
      add_prose(table.concat(body, "\n"), first, i - 1, nums)
    else
      if (style == "block" and l:match("^%s+/%*%*%s*$"))
         or (style == "semi" and l:match("^%s+;;"))
         or (style == "hash" and l:match("^%s+##")) then
        if indented and indented.last == i - 1 then
          indented.last = i
        else
          report_indented()
          indented = {first = i, last = i}
        end
      end
      add_code(i)
      i = i + 1
    end
  end
  flush_code()
  report_indented()
  return pieces
end

-- Extracted view of one file of one chapter (cached): pieces with ids,
-- and line -> listing id for every line shown in a listing.
local function file_view(ch, path)
  ch.views = ch.views or {}
  if ch.views[path] then return ch.views[path] end
  local raw = content(ch, path) or ""
  local view = {path = path, fid = ch.prefix .. "-" .. slug(path),
                lineid = {}, nlines = 0}
  if raw:find("\0", 1, true) or not utf8.len(raw) then
    view.binary = true
    view.bytes = #raw
    view.pieces = {}
    ch.views[path] = view
    return view
  end
  local lines = split_lines(raw)
  for i, l in ipairs(lines) do lines[i] = expand_tabs(l) end
  view.nlines = #lines
  view.lines = lines
  view.lang, view.style = file_kind(path, raw)
  if view.style == "markdown" then
    local nums = {}
    for k = 1, #lines do nums[k] = k end
    view.pieces = {{kind = "prose", text = table.concat(lines, "\n"),
                    first = 1, last = #lines, nums = nums}}
  else
    view.diags = {}
    view.pieces = extract(ch.name .. "/" .. path, lines, view.style,
      function(kind, msg) view.diags[#view.diags + 1] = {kind, msg} end)
  end
  local k = 0
  for _, p in ipairs(view.pieces) do
    if p.kind == "code" then
      k = k + 1
      p.id = view.fid .. "-p" .. k
      for j = 0, #p.lines - 1 do view.lineid[p.first + j] = p.id end
    end
  end
  ch.views[path] = view
  return view
end

------------------------------------------------------------------------
-- Differences between chapters

-- diff -U0: returns list of hunks {old=a, oldn=b, new=c, newn=d}.
local function hunks(old_path, new_path)
  local out = run("sh", {"-c", 'diff -U0 -- "$1" "$2"; [ $? -le 1 ]', "sh",
                         old_path, new_path})
  local list = {}
  for a, b, c, d in (out or ""):gmatch(
      "\n?@@ %-(%d+),?(%d*) %+(%d+),?(%d*) @@") do
    list[#list + 1] = {old = tonumber(a), oldn = tonumber(b ~= "" and b or 1),
                       new = tonumber(c), newn = tonumber(d ~= "" and d or 1)}
  end
  return list
end

local function unified_diff(prev, cur, path)
  local out = run("sh", {"-c",
    'diff -u --label "$1" --label "$2" -- "$3" "$4"; [ $? -le 1 ]', "sh",
    "a/" .. prev.name .. "/" .. path, "b/" .. cur.name .. "/" .. path,
    prev.dir .. "/" .. path, cur.dir .. "/" .. path}) or ""
  local lines = {}
  for _, l in ipairs(split_lines(out)) do
    lines[#lines + 1] = l:sub(1, 1) .. expand_tabs(l:sub(2))
  end
  return lines
end

------------------------------------------------------------------------
-- Source-line links: [text](main.c:68), [text](kernel/main.c:68),
-- [text](01-boot-e820/kernel/main.c:68); a path without a line links to
-- the file's section.

local function find_file(ch, name)
  if ch.set[name] then return name end
  local hits = {}
  for _, p in ipairs(ch.files) do
    if p:sub(-(#name + 1)) == "/" .. name then hits[#hits + 1] = p end
  end
  if #hits == 1 then return hits[1] end
  if #hits > 1 then return nil, "ambiguous (" .. table.concat(hits, ", ") .. ")" end
  return nil, "no file " .. name .. " in " .. ch.name
end

local function page_of(ch) return ch.name .. ".html" end

-- Resolve target in the context of chapter ch (or nil for front matter).
-- Returns href, or nil plus a reason; second value true if target is a
-- source reference at all.
local function resolve_source(ch, target)
  if target:match("^%a[%w+.-]*://") or target:match("^mailto:") then
    return nil, nil                              -- a URL
  end
  local path, line = target:match("^([^:#?]+):(%d+)$")
  if not path then
    path = target:match("^([^:#?]+)$")
    if not path or not path:match("[./]") then return nil, nil end
  end
  -- an explicit chapter directory in front
  local chapdir, rest = path:match("^(%d%d%-[^/]+)/(.+)$")
  local ctx = ch
  local ctx_root = ch and ch.root
  if chapdir then
    if not ctx_root then return nil, nil end
    local ok, c = pcall(load_chapter, ctx_root .. "/" .. chapdir)
    if not ok then return nil, "no chapter " .. chapdir, true end
    ctx, path = c, rest
  end
  if not ctx then return nil, nil end
  local file, why = find_file(ctx, path)
  if not file then
    if line then return nil, why, true end
    return nil, nil          -- an ordinary relative link, not ours
  end
  local chs, k = siblings(ctx)
  local j = k
  if status(chs, k, file) == "unchanged" then j = origin(chs, k, file) end
  local target_ch = chs[j]
  local view = file_view(target_ch, file)
  local here = (ch == target_ch) and "" or page_of(target_ch)
  if not line then return here .. "#" .. view.fid, nil, true end
  local n = tonumber(line)
  local rmap = target_ch == ch and region_ids[view.fid]
  if rmap and rmap[n] then return "#" .. rmap[n] .. "-" .. n, nil, true end
  local pid = view.lineid[n]
  if not pid then
    local why2 = (n > view.nlines) and ("the file has " .. view.nlines .. " lines")
                 or "that line is prose or blank, not in a listing"
    return nil, target_ch.name .. "/" .. file .. ":" .. n .. ": " .. why2, true
  end
  return here .. "#" .. pid .. "-" .. n, nil, true
end

local function resolve_links(blocks, ch, idmap, where)
  return walk_blocks(blocks, {Link = function(l)
    local t = l.target
    if t:sub(1, 1) == "#" then
      local new = idmap[t:sub(2)]
      if new then l.target = "#" .. new; return l end
      return nil
    end
    local href, why, ours = resolve_source(ch, t)
    if href then
      l.target = href
      l.classes:insert("srcref")
      return l
    end
    if ours then
      diag("link", where .. ": [" .. pandoc.utils.stringify(l.content) ..
           "](" .. t .. ") does not resolve: " .. why)
      return pandoc.Span(l.content, {class = "broken-link",
                                     title = "unresolved: " .. t})
    end
    return nil
  end})
end

------------------------------------------------------------------------
-- Rendering

-- Prose is parsed with pandoc's default reader options on purpose: the
-- book runs with --tab-stop=8 for the listings, but pandoc's Markdown
-- reader takes the tab stop as the indentation of an indented code block,
-- so with 8 the usual 4-space code blocks in prose would become text.
-- Markdown to blocks. A run renders a chapter three times (the site's
-- page, the handout, the appendix), so most prose is read two or three
-- times: each text is parsed once and its parse copied (a copy costs a
-- small part of a parse; the copy matters, as callers change the blocks
-- they get).
local md_parsed = {}
local function md(text)
  local doc = md_parsed[text]
  if not doc then
    doc = pandoc.read(text, "markdown")
    md_parsed[text] = doc
  end
  return doc:clone().blocks
end

local function para_div(class, inlines)
  return pandoc.Div({pandoc.Plain(inlines)}, {class = class})
end

local function text_inlines(s)
  local out = {}
  for word in s:gmatch("%S+") do
    if #out > 0 then out[#out + 1] = pandoc.Space() end
    out[#out + 1] = pandoc.Str(word)
  end
  return out
end

-- A title as Markdown inlines: curly quotes, `code` in titles.
local function title_inlines(s)
  local blocks = md(s)
  if blocks[1] and blocks[1].content then return blocks[1].content end
  return text_inlines(s)
end

-- The attributes changed, cut-before and cut-after list the lines of the
-- piece that changed, or before or after which lines were removed (the
-- PDFs' listings are marked from them; the site uses the <style> rules).
local function listing_block(view, piece, where, marks)
  -- a list of pairs, not a table: the order of the attributes in the
  -- output must not change from run to run (a PDF part whose HTML is the
  -- same is not rendered again)
  local attrs = {{"startFrom", tostring(piece.first)}, {"file", view.path}}
  if marks then
    for _, kind in ipairs({"changed", "before", "after"}) do
      local list = {}
      for n = piece.first, piece.first + #piece.lines - 1 do
        if marks[kind][n] then list[#list + 1] = tostring(n) end
      end
      if #list > 0 then
        attrs[#attrs + 1] = {kind == "changed" and "changed" or ("cut-" .. kind),
                             table.concat(list, " ")}
      end
    end
  end
  local classes = {}
  if view.lang then classes[#classes + 1] = view.lang end
  classes[#classes + 1] = "numberLines"
  classes[#classes + 1] = "listing"
  if #piece.lines <= SHORT_LISTING then classes[#classes + 1] = "short" end
  local wide = false
  for j, l in ipairs(piece.lines) do
    local w = ulen(l)
    if w > MAX_COLS then
      wide = true
      diag("long-line", where .. ":" .. (piece.first + j - 1) ..
           ": " .. w .. " columns (at most " .. MAX_COLS .. ")")
    end
  end
  -- a listing with a line too wide for the page wraps instead of being cut
  if wide then classes[#classes + 1] = "wide" end
  used_ids[piece.id] = true
  return pandoc.CodeBlock(table.concat(piece.lines, "\n"),
                          pandoc.Attr(piece.id, classes, attrs))
end

-- The changes to one file since the previous chapter: the CSS rules
-- that mark its changed lines in the site's listings, the counts for its
-- summary, the marks of the PDFs' listings (see listing_block), and the
-- raw changes (lines of the new file that differ, and the places where
-- lines were removed) that plan_regions works from. Computed once per
-- file and chapter.
local function change_marks(prev, cur, view, path)
  if view.changes then return view.changes end
  local changed, before, after = {}, {}, {}
  local marks = {changed = {}, before = {}, after = {}}
  local raw, removals = {}, {}
  local nchanged, nremoved = 0, 0
  for _, h in ipairs(hunks(prev.dir .. "/" .. path, cur.dir .. "/" .. path)) do
    nchanged = nchanged + h.newn
    nremoved = nremoved + math.max(0, h.oldn - h.newn)
    if h.newn > 0 then
      for n = h.new, h.new + h.newn - 1 do
        raw[n] = true
        if view.lineid[n] then
          changed[#changed + 1] = view.lineid[n] .. "-" .. n
          marks.changed[n] = true
        end
      end
    else
      -- pure deletion after new line h.new
      removals[#removals + 1] = h.new
      local n = h.new + 1
      if view.lineid[n] then
        before[#before + 1] = view.lineid[n] .. "-" .. n
        marks.before[n] = true
      elseif view.lineid[h.new] then
        after[#after + 1] = view.lineid[h.new] .. "-" .. h.new
        marks.after[h.new] = true
      end
    end
  end
  local css = {}
  local function rule(ids, suffix, decl)
    if #ids == 0 then return end
    local sel = {}
    for _, id in ipairs(ids) do sel[#sel + 1] = "#" .. id .. suffix end
    css[#css + 1] = table.concat(sel, ",\n") .. " {" .. decl .. "}"
  end
  local block = "display:inline-block;width:100%;box-sizing:border-box;"
  rule(changed, "", block .. "background-color:#fff0b0")
  rule(changed, " > a:first-child::before", "color:#7a5a00;font-weight:bold")
  rule(before, "", block .. "border-top:1.5px dashed #c0392b")
  rule(after, "", block .. "border-bottom:1.5px dashed #c0392b")
  local style = nil
  if #css > 0 then
    style = pandoc.RawBlock("html", '<style class="change-marks">\n' ..
                            table.concat(css, "\n") ..
                            "\n</style>")
  end
  view.changes = {style = style, nchanged = nchanged, nremoved = nremoved,
                  nmarked = #changed, ncuts = #before + #after,
                  marks = marks, raw = raw, removals = removals}
  return view.changes
end

-- A changed file of the teaching text is printed in the handout as its
-- changed regions when that saves most of it (book/CONVENTIONS.md,
-- section 3): each changed code line with CONTEXT lines on either side
-- (within its listing: context never crosses prose), a gap of JOIN lines
-- or fewer between two regions printed too; of a prose comment, each
-- top-level block (paragraph, list, table) that changed, with the heading
-- it comes under and the paragraph that introduces it (one that ends
-- with a colon), and a changed heading with the block after it; and one
-- elision line for each stretch left out.
local CONTEXT = 3
local JOIN = 3
local REGIONS_AT_MOST = 0.5   -- of the file's printed lines ...
local REGIONS_SAVE = 25       -- ... and saving at least this many lines

-- The top-level blocks of a prose comment, as its source has them: runs
-- of text lines parted by a blank line before a line in column 0 (outside
-- a fenced block), so that a list, an indented code block or a table
-- stays whole. Each: {text, first, last (the file's lines), heading (an
-- ATX heading), lead_in (ends with a colon)}.
local function prose_chunks(p)
  if p.chunks then return p.chunks end
  local out, cur, fence, pending, k = {}, nil, false, false, 0
  for line in (p.text .. "\n"):gmatch("([^\n]*)\n") do
    k = k + 1
    local num = p.nums and p.nums[k]
    if line:match("^%s*$") and not fence then
      if cur then pending = true; cur.lines[#cur.lines + 1] = line end
    else
      if cur == nil or (pending and line:match("^%S")) then
        cur = {lines = {}}
        out[#out + 1] = cur
      end
      pending = false
      cur.lines[#cur.lines + 1] = line
      if num then cur.first = cur.first or num; cur.last = num end
      if line:match("^%s*```") or line:match("^%s*~~~") then fence = not fence end
    end
  end
  for _, c in ipairs(out) do
    while #c.lines > 0 and c.lines[#c.lines]:match("^%s*$") do
      c.lines[#c.lines] = nil
    end
    c.text = table.concat(c.lines, "\n")
    c.heading = c.text:match("^#") ~= nil
    c.lead_in = c.text:match(":%s*$") ~= nil
    c.lines = nil
  end
  p.chunks = out
  return out
end

-- The shallowest heading level in blocks, or nil.
local function heading_min(blocks)
  local min
  walk_blocks(blocks, {Header = function(h)
    if min == nil or h.level < min then min = h.level end
  end})
  return min
end

-- The plan: items {kind="code", first, last}, {kind="prose", piece} and
-- {kind="elide", first, last} in file order, the lines a full listing
-- prints (code and prose) and the lines the regions print (an elision
-- counts as one), and whether the regions are what the handout prints.
local function plan_regions(view, changes)
  if view.plan then return view.plan end
  local lines, raw, removals = view.lines or {}, changes.raw, changes.removals
  local function blank(n) return (lines[n] or ""):match("^%s*$") ~= nil end
  -- the lines of prose comments that print nothing (their first and last
  -- lines, their blank lines): an elision does not start or end on them
  local quiet = {}
  for _, p in ipairs(view.pieces) do
    if p.kind == "prose" then
      for n = p.first, p.last do quiet[n] = true end
      local k = 0
      for line in (p.text .. "\n"):gmatch("([^\n]*)\n") do
        k = k + 1
        local num = p.nums and p.nums[k]
        if num and not line:match("^%s*$") then quiet[num] = nil end
      end
    end
  end
  local items, full, shown = {}, 0, 0
  local hidden = nil            -- the stretch being left out: {first, last}
  local function hide(a, b)
    for n = a, b do
      if not blank(n) and not quiet[n] then
        if hidden then hidden.last = n else hidden = {first = n, last = n} end
      end
    end
  end
  local function flush_hidden()
    if hidden then
      items[#items + 1] = {kind = "elide", first = hidden.first,
                           last = hidden.last}
      shown = shown + 1
      hidden = nil
    end
  end
  for _, p in ipairs(view.pieces) do
    if p.kind == "prose" then
      full = full + (p.last - p.first + 1)
      local chunks = prose_chunks(p)
      local show = {}
      for i, c in ipairs(chunks) do
        local touched = false
        for n = c.first, c.last do
          if raw[n] then touched = true; break end
        end
        for _, d in ipairs(removals) do
          if d >= c.first - 1 and d <= c.last then touched = true end
        end
        if touched then
          show[i] = true
          -- a heading is not printed alone: with its first block
          if c.heading and chunks[i + 1] then show[i + 1] = true end
          if i > 1 and chunks[i - 1].lead_in then show[i - 1] = true end
          for j = i - 1, 1, -1 do
            if chunks[j].heading then show[j] = true; break end
          end
        end
      end
      local run = nil           -- shown blocks in a row: one prose item
      for i, c in ipairs(chunks) do
        if show[i] then
          if run == nil then
            flush_hidden()
            run = {kind = "prose", piece = p, texts = {}}
            items[#items + 1] = run
          end
          run.texts[#run.texts + 1] = c.text
          shown = shown + (c.last - c.first + 1)
        else
          run = nil
          hide(c.first, c.last)
        end
      end
    else
      local a, b = p.first, p.first + #p.lines - 1
      full = full + #p.lines
      local keep = {}
      local function mark(x, y)
        for n = math.max(a, x), math.min(b, y) do keep[n] = true end
      end
      for n = a, b do
        if raw[n] then mark(n - CONTEXT, n + CONTEXT) end
      end
      for _, d in ipairs(removals) do
        -- lines removed inside the listing, or just before it (after
        -- the blank lines that part it from the prose above)
        local near = d >= a - 1 and d <= b
        if d < a - 1 then
          near = true
          for x = d + 1, a - 1 do
            if not blank(x) then near = false; break end
          end
        end
        if near then mark(d - CONTEXT + 1, d + CONTEXT) end
      end
      -- a short gap between two kept stretches, or one of blank lines
      -- only, is printed: an elision line would save nothing
      local n = a
      while n <= b do
        if not keep[n] then
          local m = n
          while m + 1 <= b and not keep[m + 1] do m = m + 1 end
          if n > a and m < b then
            local only_blank = true
            for x = n, m do
              if not blank(x) then only_blank = false; break end
            end
            if m - n + 1 <= JOIN or only_blank then
              for x = n, m do keep[x] = true end
            end
          end
          n = m + 1
        else
          n = n + 1
        end
      end
      -- the kept stretches, without blank lines at their edges
      n = a
      while n <= b do
        if keep[n] then
          local m = n
          while m + 1 <= b and keep[m + 1] do m = m + 1 end
          local x, y = n, m
          while x <= y and blank(x) do x = x + 1 end
          while y >= x and blank(y) do y = y - 1 end
          if x <= y then
            hide(n, x - 1)
            flush_hidden()
            items[#items + 1] = {kind = "code", first = x, last = y}
            shown = shown + (y - x + 1)
            hide(y + 1, m)
          end
          n = m + 1
        else
          hide(n, n)
          n = n + 1
        end
      end
    end
  end
  flush_hidden()
  local small = shown <= full * REGIONS_AT_MOST
  local use = full > 0 and small and full - shown >= REGIONS_SAVE
  view.plan = {items = items, full = full, shown = shown, use = use}
  return view.plan
end

-- The id of the whole file in a chapter's appendix, when the chapter
-- prints the file as its changed regions.
local function full_copy_id(view) return view.fid .. "-full" end

-- Text, a link, more text, as inlines: `after` starts right after the
-- link (with its punctuation, or a space).
local function summary_inlines(before, link_text, target, after)
  local inl = text_inlines(before)
  inl[#inl + 1] = pandoc.Space()
  inl[#inl + 1] = pandoc.Link(text_inlines(link_text), target)
  for i, x in ipairs(text_inlines(after or "")) do
    if i > 1 or not after:match("^[.,;:]") then inl[#inl + 1] = pandoc.Space() end
    if x.t ~= "Space" then inl[#inl + 1] = x end
  end
  return inl
end

-- One file's section. mode (for a changed file, see render_chapter):
--   "full"     the whole file, changed lines marked (the default)
--   "regions"  the handout's view: the changed regions only (plan_regions)
--   "copy"     the appendix's whole copy of a file printed as regions,
--              under its own heading id (full_copy_id)
--   "apx-regions"  the PDF appendix's view of a changed support or test
--              file: its changed regions, as in "regions", by the same
--              rule (plan_regions). Its earlier version is printed whole
--              in an earlier chapter, and the site's page has it whole:
--              printing it whole again cost chapter 06's appendix some
--              90 pages. Every line of the whole file keeps its id (an
--              empty anchor at the region, or at the elision line, that
--              holds it), so links from other parts still land.
local function render_file(ch, prev, view, st, opts, idmap, out, mode)
  mode = mode or "full"
  local regions = mode == "regions" or mode == "apx-regions"
  local where = ch.name .. "/" .. view.path
  if mode ~= "regions" then
    for _, d in ipairs(view.diags or {}) do diag(d[1], d[2]) end
  end
  -- apx-regions: the chapter that printed the version before this one
  local before_ch
  if mode == "apx-regions" then
    local chs, k = siblings(ch)
    local j = k - 1
    if status(chs, j, view.path) == "unchanged" then
      j = origin(chs, j, view.path)
    end
    before_ch = chs[j]
  end
  local hid = mode == "copy" and full_copy_id(view) or view.fid
  used_ids[hid] = true
  local h = pandoc.Header(2, {pandoc.Code(view.path)},
                          pandoc.Attr(hid, {"file"}, {}))
  out[#out + 1] = h
  local summary
  if view.binary then
    summary = "A binary file of " .. plural(view.bytes, "byte") .. "."
  elseif st == "new" then
    summary = "New in this chapter: " .. plural(view.nlines, "line") .. "."
  end
  local summary_inl
  local style_block, marks
  if st == "changed" then
    local c = change_marks(prev, ch, view, view.path)
    style_block, marks = c.style, c.marks
    summary = plural(c.nchanged, "line") .. " changed since " .. prev.name
    if c.nremoved > 0 then summary = summary .. ", " .. c.nremoved .. " removed" end
    summary = summary .. "."
    if regions then
      -- one line: what is printed, what ⋮ means, where the rest is
      summary = summary:gsub("%.$", ":") .. " the changed regions, with " ..
        CONTEXT .. " lines of context; ⋮ marks lines left out"
      if c.ncuts > 0 then
        summary = summary .. ", a dashed line where lines were removed"
      end
      if mode == "regions" then
        summary_inl = summary_inlines(summary .. ", and", "the appendix",
          "#" .. full_copy_id(view), "has the whole file.")
      else
        summary_inl = summary_inlines(summary .. ". The lines left out " ..
          "are as", "Chapter " .. before_ch.num .. " prints them",
          page_of(before_ch) .. "#" .. file_view(before_ch, view.path).fid,
          "; the site's page of this chapter has the whole file.")
      end
    else
      if c.nmarked > 0 then
        summary = summary .. " Changed code lines are highlighted"
        if c.ncuts > 0 then
          summary = summary .. "; a dashed line shows where lines were removed"
        end
        summary = summary .. "."
      elseif c.ncuts > 0 then
        summary = summary .. " A dashed line shows where lines were removed."
      elseif c.nchanged > 0 then
        summary = summary .. " Only the prose changed."
      end
      if mode == "copy" then
        summary_inl = summary_inlines(summary .. " The chapter's text prints",
          "only the regions that changed", "#" .. view.fid,
          "; here is the whole file.")
      end
    end
  end
  out[#out + 1] = para_div("file-summary", summary_inl or text_inlines(summary))
  if style_block and mode == "full" then out[#out + 1] = style_block end
  local function prose(p, prefix)
    local blocks = md(p.text, opts)
    blocks = renumber_headings(blocks, 3)
    blocks = prefix_ids(blocks, prefix, idmap)
    out[#out + 1] = pandoc.Div(blocks, {class = "prose"})
  end
  if not regions then
    for _, p in ipairs(view.pieces) do
      if p.kind == "code" then
        out[#out + 1] = listing_block(view, p, where, marks)
      else
        prose(p, view.fid)
      end
    end
    return
  end
  -- the regions: listings of their own ids, prose, and elision lines
  -- that link to the first line left out, in the appendix's copy
  local plan = plan_regions(view, change_marks(prev, ch, view, view.path))
  local rmap, k = {}, 0
  region_ids[view.fid] = rmap
  -- apx-regions: the whole file's line ids from a to b, as empty anchors
  -- (inlines; an empty inline takes no room on the page)
  local function anchors(a, b)
    local inl = {}
    if mode ~= "apx-regions" then return inl end
    for n = a, b do
      if view.lineid[n] then
        inl[#inl + 1] = pandoc.Span({}, {id = view.lineid[n] .. "-" .. n})
      end
    end
    return inl
  end
  for _, it in ipairs(plan.items) do
    if it.kind == "code" then
      k = k + 1
      local piece = {first = it.first, lines = {}, id = view.fid .. "-r" .. k}
      for n = it.first, it.last do
        piece.lines[#piece.lines + 1] = view.lines[n]
        rmap[n] = piece.id
      end
      local here = anchors(it.first, it.last)
      if #here > 0 then out[#out + 1] = pandoc.Plain(here) end
      out[#out + 1] = listing_block(view, piece, where, marks)
    elseif it.kind == "prose" then
      -- headings at the levels they have in the whole comment
      local p = it.piece
      if p.min_level == nil then p.min_level = heading_min(md(p.text)) or false end
      local blocks = md(table.concat(it.texts, "\n\n"), opts)
      blocks = renumber_headings(blocks, 3, p.min_level or nil)
      blocks = prefix_ids(blocks, view.fid .. "-r", idmap)
      out[#out + 1] = pandoc.Div(blocks, {class = "prose"})
    else
      local target = "#" .. full_copy_id(view)
      if mode == "apx-regions" then
        target = page_of(before_ch) .. "#" ..
                 file_view(before_ch, view.path).fid
      else
        for n = it.first, it.last do
          if view.lineid[n] then
            target = "#" .. view.lineid[n] .. "-" .. n
            break
          end
        end
      end
      local what = it.first == it.last and ("line " .. it.first)
                   or ("lines " .. it.first .. "–" .. it.last)
      local inl = anchors(it.first, it.last)
      inl[#inl + 1] = pandoc.Link(text_inlines("⋮ " .. what ..
        ", unchanged since Chapter " .. prev.num), target)
      out[#out + 1] = pandoc.Div({pandoc.Plain(inl)}, {class = "elision"})
    end
  end
end

local function clean_log(s)
  s = s:gsub("\r\n", "\n"):gsub("\r", "\n")
  s = s:gsub("\27%[[%d;?]*[%a]", "")           -- terminal escapes
  s = s:gsub("[%z\1-\8\11\12\14-\31\127]", "")  -- other control bytes
  local lines = split_lines(s)
  for i, l in ipairs(lines) do lines[i] = expand_tabs(l) end
  while #lines > 0 and lines[#lines]:match("^%s*$") do lines[#lines] = nil end
  return table.concat(lines, "\n")
end

local function bootlog_blocks(ch, stub)
  local cmd = "make -s -C " .. ch.name .. " boot-log"
  local text = stub.bootlog and read_file(stub.bootlog)
  local failed = text == nil or text:match("^@@BOOTLOG%-FAILED@@")
  if not failed and clean_log(text) == "" then failed = true; text = "(no output)" end
  if failed then
    local why = text and text:gsub("^@@BOOTLOG%-FAILED@@\n?", "") or
                "the build captured no boot log for this chapter"
    why = clean_log(why)
    diag("bootlog", ch.name .. ": boot log not captured: " ..
         (why:match("[^\n]+$") or "unknown reason"))
    local blocks = {
      pandoc.Para({pandoc.Strong({pandoc.Str("Boot log missing.")}), pandoc.Space(),
        table.unpack(text_inlines("The book build could not capture this " ..
          "chapter's serial output, so it is not shown here. The command"))}),
      pandoc.CodeBlock(cmd, {class = "bash"}),
      pandoc.Para(text_inlines("failed with:")),
      pandoc.CodeBlock(why ~= "" and why or "(no message)", {class = "bootlog-error"}),
    }
    return {pandoc.Div(blocks, pandoc.Attr("boot-log-missing",
                                           {"warning", "bootlog-missing"}))}
  end
  return {
    pandoc.CodeBlock(clean_log(text),
                     pandoc.Attr("boot-log", {"bootlog"})),
    para_div("caption", {pandoc.Str("Serial"), pandoc.Space(), pandoc.Str("output"),
      pandoc.Space(), pandoc.Str("captured"), pandoc.Space(), pandoc.Str("by"),
      pandoc.Space(), pandoc.Str("the"), pandoc.Space(), pandoc.Str("book"),
      pandoc.Space(), pandoc.Str("build:"), pandoc.Space(), pandoc.Code(cmd)}),
  }
end

-- The README: drop its title (the chapter heading replaces it), put the
-- boot log at the marker, take out the exercises section for the end.
local function readme_blocks(ch, stub, opts, idmap)
  local text = read_file(ch.dir .. "/README.md")
  if text == nil then
    diag("file", ch.name .. "/README.md is missing")
    return {pandoc.Div({pandoc.Para(text_inlines(
      "This chapter has no README.md yet."))}, {class = "warning"})}, {}
  end
  local blocks = md(text, opts)
  if blocks[1] and blocks[1].t == "Header" then table.remove(blocks, 1) end
  blocks = renumber_headings(blocks, 2)
  local body, exercises, in_ex, marker = {}, {}, false, false
  for _, b in ipairs(blocks) do
    if b.t == "Header" and b.level == 2 then
      in_ex = pandoc.utils.stringify(b):lower():match("^exercises?") ~= nil
    end
    if b.t == "RawBlock" and b.format:match("html")
       and b.text:match("^%s*<!%-%-%s*boot%-log%s*%-%->%s*$") then
      marker = true
      local log = bootlog_blocks(ch, stub)
      if stub.part == "appendix" then
        log = {}                -- printed by render_chapter instead
      elseif stub.part == "handout" then
        -- the full log is mostly self-test lines: the appendix prints it
        local lines = 0
        for _, x in ipairs(log) do
          if x.t == "CodeBlock" then lines = select(2, x.text:gsub("\n", "")) + 1 end
        end
        log = {pandoc.Para({pandoc.Emph({pandoc.Link(text_inlines(
          "The full log (" .. plural(lines, "line") .. ") is printed in " ..
          "the chapter's appendix, on the site and in the whole book."),
          "#" .. ch.prefix .. "-boot-log")})})}
      end
      for _, x in ipairs(log) do
        (in_ex and exercises or body)[#(in_ex and exercises or body) + 1] = x
      end
    elseif in_ex then
      exercises[#exercises + 1] = b
    else
      body[#body + 1] = b
    end
  end
  if not marker and text:find("<!-- boot-log -->", 1, true) then
    diag("bootlog", ch.name .. "/README.md: the <!-- boot-log --> marker " ..
         "must be a line of its own, with blank lines around it")
  end
  body = prefix_ids(body, ch.prefix, idmap)
  exercises = prefix_ids(exercises, ch.prefix, idmap)
  return body, exercises
end

-- A chapter is rendered as one of three parts (the stub's part= line):
--   all       the site's page: everything below, in this order
--   handout   the teaching text: title, README, the list of files, the
--             files of part "main" (see file_part), the exercises
--   appendix  the rest, under its own title: support code, tests and
--             helpers, the changes since the previous chapter with the diff
local function render_chapter(stub, opts)
  local part = stub.part or "all"
  if part ~= "all" and part ~= "handout" and part ~= "appendix" then
    error(stub.dir .. ": unknown part " .. part)
  end
  local ch = load_chapter(stub.dir)
  local chs, k = siblings(ch)
  local prev = chs[k - 1]
  local idmap = {}
  region_ids = {}
  local out = {}
  local running = "Chapter " .. ch.num .. ": " .. ch.title

  -- statuses and the manifest check
  local st, shown, unchanged, counts = {}, {}, {}, {new = 0, changed = 0, unchanged = 0}
  local fpart, by_part = {}, {main = {}, support = {}, tests = {}}
  for _, p in ipairs(ch.files) do
    st[p] = status(chs, k, p)
    counts[st[p]] = counts[st[p]] + 1
    fpart[p] = file_part(chs, k, p)
    if st[p] == "unchanged" then unchanged[#unchanged + 1] = p
    else
      shown[#shown + 1] = p
      table.insert(by_part[fpart[p]], p)
    end
    if prev then
      local m = ch.manifest
      if st[p] == "new" and not is_new(m, p) then
        diag("manifest", ch.name .. "/CHAPTER: " .. p .. " is new but not listed as `new`")
      elseif st[p] == "changed" and m.changed[p] == nil then
        diag("manifest", ch.name .. "/CHAPTER: " .. p .. " changed but is not listed as `changed`")
      elseif st[p] == "unchanged" and (is_new(m, p) or m.changed[p]) then
        diag("manifest", ch.name .. "/CHAPTER: " .. p .. " is listed as new or changed but is identical to " .. prev.name)
      end
    end
  end
  local removed = {}
  if prev then
    for _, p in ipairs(prev.files) do
      if not ch.set[p] then removed[#removed + 1] = p end
    end
  end
  -- changed files of the teaching text that the handout prints as their
  -- changed regions, and the appendix in full (plan_regions)
  local regions, is_region = {}, {}
  for _, p in ipairs(by_part.main) do
    local view = file_view(ch, p)
    if st[p] == "changed" and not view.binary and
       plan_regions(view, change_marks(prev, ch, view, p)).use then
      regions[#regions + 1] = p
      is_region[p] = true
    end
  end
  local appendix_title = "Appendix to Chapter " .. ch.num
  local has_appendix = #by_part.support + #by_part.tests > 0 or prev ~= nil

  -- the README first: its exercises come at the end of the teaching part
  local body, exercises = readme_blocks(ch, stub, opts, idmap)

  if part ~= "appendix" then
    used_ids[ch.prefix] = true
    out[#out + 1] = pandoc.Header(1,
      {pandoc.Span({pandoc.Str("Chapter"), pandoc.Space(), pandoc.Str(tostring(ch.num))},
                   {class = "chapnum"}),
       pandoc.Space(), table.unpack(title_inlines(ch.title))},
      pandoc.Attr(ch.prefix, {"chapter"}, {running = running}))

    local meta = "Directory " .. ch.name .. "/: " .. plural(#ch.files, "file")
    if prev then
      meta = meta .. ", " .. counts.new .. " new, " .. counts.changed ..
             " changed, " .. counts.unchanged .. " unchanged since " .. prev.name
      if #removed > 0 then meta = meta .. ", " .. #removed .. " removed" end
    else
      meta = meta .. ", all new"
    end
    out[#out + 1] = para_div("chapter-meta", text_inlines(meta .. "."))

    for _, b in ipairs(body) do out[#out + 1] = b end

    -- the list of files, by part, in reading order
    local fl_id = unique_id(ch.prefix .. "-files")
    out[#out + 1] = pandoc.Header(2, text_inlines("The files of this chapter"),
                                  pandoc.Attr(fl_id, {"files"}, {}))
    local intro = "Files the chapter adds or changes, in reading order. " ..
      "The listings carry each file's real line numbers, so a gdb command " ..
      "such as break main.c:40 means the line numbered 40 on the page."
    if #by_part.main > 0 then
      intro = intro .. " The files of the first list are the chapter's " ..
              "text and follow below."
    end
    if part == "handout" and #regions > 0 then
      intro = intro .. " A file changed in a few places is printed as " ..
              "those places, ⋮ marking the lines left out."
    end
    if has_appendix then
      intro = intro .. " The other lists, and the changes since the " ..
              "previous chapter, are printed after the exercises, in the " ..
              "chapter's appendix: they are not needed to follow the text."
    end
    out[#out + 1] = pandoc.Para(text_inlines(intro))
    local function file_items(list)
      local items = {}
      for _, p in ipairs(list) do
        local view = file_view(ch, p)
        local what
        if st[p] == "new" then
          what = "new, " .. plural(view.nlines, "line") .. "."
        else
          what = "changed."
        end
        items[#items + 1] = {pandoc.Plain({pandoc.Link({pandoc.Code(p)}, "#" .. view.fid),
          pandoc.Str(":"), pandoc.Space(), table.unpack(text_inlines(what))})}
      end
      return items
    end
    local groups = {
      {"main", "Read first, in this order:"},
      {"support", PART_TITLE.support .. ", in the appendix:"},
      {"tests", PART_TITLE.tests .. ", in the appendix:"},
    }
    local any = false
    for _, g in ipairs(groups) do
      local list = by_part[g[1]]
      if #list > 0 and part == "handout" then
        -- in the handout, a paragraph: the files are not on its pages
        any = true
        local inl = {pandoc.Strong(text_inlines(g[2]))}
        for i, p in ipairs(list) do
          inl[#inl + 1] = pandoc.Space()
          inl[#inl + 1] = pandoc.Link({pandoc.Code(p)}, "#" .. file_view(ch, p).fid)
          inl[#inl + 1] = pandoc.Str(i == #list and "." or ",")
        end
        out[#out + 1] = pandoc.Div({pandoc.Para(inl)}, {class = "file-group " .. g[1]})
      elseif #list > 0 then
        any = true
        out[#out + 1] = pandoc.Div({pandoc.Para({pandoc.Strong(text_inlines(g[2]))}),
                                    pandoc.BulletList(file_items(list))},
                                   {class = "file-group " .. g[1]})
      end
    end
    if #removed > 0 then
      local items = {}
      for _, p in ipairs(removed) do
        items[#items + 1] = {pandoc.Plain({pandoc.Code(p), pandoc.Str(":"), pandoc.Space(),
          table.unpack(text_inlines("removed in this chapter."))})}
      end
      out[#out + 1] = pandoc.BulletList(items)
    elseif not any and #unchanged == 0 then
      out[#out + 1] = pandoc.Para(text_inlines("The chapter has no files yet."))
    end
    -- files inherited unchanged, grouped by the chapter that shows them
    local by_origin, origins = {}, {}
    for _, p in ipairs(unchanged) do
      local j = origin(chs, k, p)
      if not by_origin[j] then by_origin[j] = {}; origins[#origins + 1] = j end
      table.insert(by_origin[j], p)
    end
    table.sort(origins)
    for _, j in ipairs(origins) do
      local o = chs[j]
      local inl = text_inlines("Unchanged since Chapter " .. o.num .. " (" .. o.name ..
                               "), and printed there:")
      for i, p in ipairs(by_origin[j]) do
        inl[#inl + 1] = pandoc.Space()
        inl[#inl + 1] = pandoc.Link({pandoc.Code(p)},
                                    page_of(o) .. "#" .. file_view(o, p).fid)
        inl[#inl + 1] = pandoc.Str(i == #by_origin[j] and "." or ",")
      end
      out[#out + 1] = pandoc.Div({pandoc.Para(inl)}, {class = "inherited"})
    end

    for _, p in ipairs(by_part.main) do
      render_file(ch, prev, file_view(ch, p), st[p], opts, idmap, out,
                  (part == "handout" and is_region[p]) and "regions" or "full")
    end
    for _, b in ipairs(exercises) do out[#out + 1] = b end
  end

  if part ~= "handout" and has_appendix then
    local apx_id = unique_id(ch.prefix .. "-appendix")
    local head = {pandoc.Str(appendix_title .. ":"), pandoc.Space(),
                  table.unpack(title_inlines(ch.title))}
    if part == "appendix" then
      out[#out + 1] = pandoc.Header(1, head, pandoc.Attr(apx_id, {"appendix"},
        {running = appendix_title .. ": " .. ch.title}))
    else
      out[#out + 1] = pandoc.Header(2, head, pandoc.Attr(apx_id, {"appendix"}, {}))
    end
    local what = {}
    local copies = part == "appendix" and #regions > 0
    if copies then what[#what + 1] = "the files the chapter changed, in full" end
    if #by_part.support > 0 then what[#what + 1] = "the support code" end
    if #by_part.tests > 0 then what[#what + 1] = "the tests, benchmarks and debugger helpers" end
    if prev then what[#what + 1] = "the changes since " .. prev.name .. " as a diff" end
    local list = table.concat(what, ", "):gsub(", ([^,]*)$", " and %1")
    out[#out + 1] = pandoc.Para(text_inlines("Reference material for Chapter " ..
      ch.num .. ", not needed to follow its text: " .. list .. "."))
    local notes = {
      support = "Code the chapter's kernel needs but whose subject is not the " ..
                "chapter's: read it when you want to know how it works.",
      tests = "How the chapter's claims are checked: the kernel's self-tests, " ..
              "the boot scenarios, the host tests and benchmarks, and the gdb " ..
              "commands the chapter's sessions use.",
    }
    if part == "appendix" and stub.bootlog then
      out[#out + 1] = pandoc.Header(2, text_inlines("The full boot log"),
                                    pandoc.Attr(unique_id(ch.prefix .. "-boot-log-section"), {}, {}))
      out[#out + 1] = pandoc.Para(text_inlines("Chapter " .. ch.num ..
        "'s serial output with its self-tests, as the book build captured it."))
      local log = prefix_ids(bootlog_blocks(ch, stub), ch.prefix, idmap)
      for _, x in ipairs(log) do out[#out + 1] = x end
    end
    if copies then
      out[#out + 1] = pandoc.Div({pandoc.Para({pandoc.Strong(text_inlines(
        "The changed files in full.")), pandoc.Space(),
        table.unpack(text_inlines("The chapter's text prints these files " ..
          "as the regions that changed since " .. prev.name .. "; here " ..
          "they are whole, with the changed lines highlighted."))})},
        {class = "part-intro"})
      for _, p in ipairs(regions) do
        render_file(ch, prev, file_view(ch, p), st[p], opts, idmap, out, "copy")
      end
    end
    for _, g in ipairs({"support", "tests"}) do
      if #by_part[g] > 0 then
        out[#out + 1] = pandoc.Div({pandoc.Para({pandoc.Strong(text_inlines(PART_TITLE[g] .. ".")),
          pandoc.Space(), table.unpack(text_inlines(notes[g]))})}, {class = "part-intro"})
        for _, p in ipairs(by_part[g]) do
          local view, mode = file_view(ch, p), nil
          if part == "appendix" and st[p] == "changed" and not view.binary and
             plan_regions(view, change_marks(prev, ch, view, p)).use then
            mode = "apx-regions"
          end
          render_file(ch, prev, view, st[p], opts, idmap, out, mode)
        end
      end
    end

    if prev then
      local ch_id = unique_id(ch.prefix .. "-changes")
      out[#out + 1] = pandoc.Header(2, text_inlines("Changes since the previous chapter"),
                                    pandoc.Attr(ch_id, {"changes"}, {}))
      local news, changed = {}, {}
      for _, p in ipairs(ch.files) do
        if st[p] == "new" then news[#news + 1] = p end
        if st[p] == "changed" then changed[#changed + 1] = p end
      end
      local function code_list(list)
        local inl = {}
        for i, p in ipairs(list) do
          if i > 1 then inl[#inl + 1] = pandoc.Str(","); inl[#inl + 1] = pandoc.Space() end
          inl[#inl + 1] = pandoc.Code(p)
        end
        return inl
      end
      local intro = text_inlines("Compared with Chapter " .. prev.num .. " (" ..
                                 prev.name .. "): ")
      intro[#intro + 1] = pandoc.Space()
      local parts = {plural(#news, "new file"), plural(#changed, "changed file"),
                     plural(#removed, "removed file")}
      for _, x in ipairs(text_inlines(table.concat(parts, ", ") .. ".")) do
        intro[#intro + 1] = x
      end
      out[#out + 1] = pandoc.Para(intro)
      -- "Label: a, b, c." as a paragraph, if there is anything to list
      local function listed(label, list)
        if #list == 0 then return end
        local inl = text_inlines(label)
        inl[#inl + 1] = pandoc.Space()
        for _, x in ipairs(code_list(list)) do inl[#inl + 1] = x end
        inl[#inl + 1] = pandoc.Str(".")
        out[#out + 1] = pandoc.Para(inl)
      end
      listed("New, shown in full and left out of the diff:", news)
      listed("Removed:", removed)
      -- The PDF's appendix prints no diff of a file the chapter already
      -- prints (every changed text file: in the handout, whole or as its
      -- regions with the whole copy above, or here as support code or a
      -- test, whole or as its regions), with its changed lines
      -- highlighted and a dashed line where lines were removed: a
      -- second copy of those lines cost a big chapter's appendix a tenth
      -- of its pages (26 of 06's 226). It lists them instead, linked;
      -- the site's page keeps the whole diff, removed lines included.
      local whole, diffed = {}, changed
      if part == "appendix" then
        diffed = {}
        for _, p in ipairs(changed) do
          local view = file_view(ch, p)
          if view.binary then diffed[#diffed + 1] = p
          else whole[#whole + 1] = p end
        end
      end
      if #whole > 0 then
        local inl = text_inlines("Changed, and printed in this chapter " ..
          "(whole, or as the regions that changed) with the changed " ..
          "lines highlighted and a dashed line where lines were removed:")
        for i, p in ipairs(whole) do
          local view = file_view(ch, p)
          inl[#inl + 1] = pandoc.Space()
          inl[#inl + 1] = pandoc.Link({pandoc.Code(p)}, "#" ..
            (is_region[p] and full_copy_id(view) or view.fid))
          inl[#inl + 1] = pandoc.Str(i == #whole and "." or ",")
        end
        out[#out + 1] = pandoc.Para(inl)
        out[#out + 1] = pandoc.Para(text_inlines("The diff of these " ..
          "files, removed lines included, is on the chapter's page of " ..
          "the site (" .. page_of(ch) .. ")."))
      end
      local lines = {}
      for _, p in ipairs(diffed) do
        for _, l in ipairs(unified_diff(prev, ch, p)) do lines[#lines + 1] = l end
      end
      if #lines > 0 then
        local inl = text_inlines("The complete patch, new files included, is")
        inl[#inl + 1] = pandoc.Space()
        inl[#inl + 1] = pandoc.Code("diff -ruN -x build " .. prev.name .. " " .. ch.name)
        inl[#inl + 1] = pandoc.Str(".")
        out[#out + 1] = pandoc.Para(inl)
        out[#out + 1] = pandoc.CodeBlock(table.concat(lines, "\n"),
          pandoc.Attr(unique_id(ch.prefix .. "-diff"), {"diff", "chapter-diff"}))
      end
    end
  end

  out = resolve_links(out, ch, idmap, ch.name)
  local title = running
  if part == "appendix" then title = appendix_title .. ": " .. ch.title end
  return out, ch, title
end

local function render_front(name, text, opts)
  local page = basename(name):gsub("%.md$", "")
  local blocks = md(text, opts)
  local idmap = {}
  local first = nil
  for i, b in ipairs(blocks) do
    if b.t == "Header" then first = i; break end
  end
  local title, head = page, nil
  if first then
    local h = table.remove(blocks, first)
    title = pandoc.utils.stringify(h)
    head = pandoc.Header(1, h.content, pandoc.Attr(page, {"front"}, {running = title}))
    used_ids[page] = true
    blocks = renumber_headings(blocks, 2)
  end
  blocks = prefix_ids(blocks, page, idmap)
  if head then table.insert(blocks, first, head) end
  blocks = resolve_links(blocks, nil, idmap, name)
  return blocks, title
end

------------------------------------------------------------------------

local function parse_stub(text)
  local t = {}
  for _, l in ipairs(split_lines(text)) do
    local k, v = l:match("^%s*([%w_-]+)%s*=%s*(.-)%s*$")
    if k then t[k] = v end
  end
  return t
end

function Reader(input, opts)
  TAB_STOP = (opts and opts.tab_stop) or TAB_STOP
  if TAB_STOP ~= 8 then
    diag("options", "tab stop is " .. TAB_STOP .. "; the book expects --tab-stop=8")
  end
  local blocks, titles = {}, {}
  for _, src in ipairs(input) do
    local name = src.name
    if name:match("%.chapter$") then
      local stub = parse_stub(src.text)
      if not stub.dir then error(name .. ": no dir= line") end
      local b, _, title = render_chapter(stub, opts)
      for _, x in ipairs(b) do blocks[#blocks + 1] = x end
      titles[#titles + 1] = title
      -- print=1: the same run renders the PDFs' two parts as well, each
      -- in a div of its own, with ids of its own; book/filter.lua takes
      -- them out of the page and writes each to its file
      if stub.print == "1" then
        for _, part in ipairs({"handout", "appendix"}) do
          used_ids, quiet = {}, true
          local s = {}
          for k, v in pairs(stub) do s[k] = v end
          s.part = part
          local pb, _, ptitle = render_chapter(s, opts)
          blocks[#blocks + 1] = pandoc.Div(pb, pandoc.Attr("print-" .. part,
            {}, {title = ptitle}))
        end
        quiet = false
      end
    elseif name:match("%.md$") then
      local b, title = render_front(name, src.text, opts)
      for _, x in ipairs(b) do blocks[#blocks + 1] = x end
      titles[#titles + 1] = title
    else
      error("book/reader.lua: do not know what to do with input " .. name)
    end
  end
  local meta = {}
  meta.pagetitle = pandoc.MetaString(#titles == 1 and titles[1] or "The whole book")
  return pandoc.Pandoc(blocks, meta)
end
