// The search pages: Pagefind's JS API (loaded on demand) under our own DSFR form and results.
// Every value shown comes from crawled text: it is inserted with textContent, never as HTML.
//
// The repositories' index is split into bundles (shards, by organisation), merged here with
// Pagefind's mergeIndex; each bundle gets a synthetic "shard" filter. Pagefind orders merged
// results by their score; relevance and filter counts combine as Pagefind combines them.
//
// Sorts: a repository bundle's metadata holds no sort (every search fetches every bundle's
// metadata, and three sorts of 50,000 pages were half a first search's weight). Each bundle
// has, per sort, its page ids best first in rank files (``rangs/<sort>.<k>.json``, growing
// ranges, the last marked), fetched one after the other only while a sorted search needs
// them; a bundle with few results is sorted from the results' own data. The bundles' lists
// are then merged on the sort value. The SILL, one small bundle, uses Pagefind's own sorts.
//
// The default view (no query, no filter, by score) is in the page as built: Pagefind is
// loaded only for a query, a filter, a sort, a shared URL carrying one, or more rows.
const PAGE = 20;
const CSV_LIMIT = 1000;
const root = document.documentElement.dataset.root || "";
const base = new URL(root, window.location.href);
const form = document.getElementById("cg-search");
const kind = form.dataset.kind;
const query = document.getElementById("cg-q");
const sort = document.getElementById("cg-tri");
// Filters: lists (<select>), or, for the long ones (the organisations), a text field whose
// suggestions are fetched the first time it gets the focus.
const selects = Array.from(form.querySelectorAll("[data-filter]"));
const statusBox = document.getElementById("cg-status");
const list = document.getElementById("cg-results");
const more = document.getElementById("cg-more");
const csvButton = document.getElementById("cg-csv");
const bundles = (form.dataset.bundles || "").split(" ").filter(Boolean);
// Each repository sort's key, as the index records hold it (site.py's sort_key, then the
// page's path): text, never two alike, so the merge gives the order of a single index.
const OFFSET = 1e9;
const number = (value) => String(Number(value || 0) + OFFSET).padStart(12, "0");
const path = (item) => {
  const tail = item.url.slice(item.url.lastIndexOf("/depots/") + 1);
  try { return decodeURIComponent(tail); } catch { return tail; } // as the build wrote it
};
const SORTS = {
  score: (item) => `${number(item.meta.score)}~${path(item)}`,
  etoiles: (item) => `${number(item.meta.stars)}~${path(item)}`,
  activite: (item) => `${item.meta.activity || "0000"}~${path(item)}`,
};
let pagefind = null;
let results = null;
let shown = 0;
let generation = 0;

function load() {
  if (!pagefind) {
    pagefind = (async () => {
      const pf = await import(new URL(`${bundles[0]}pagefind.js`, base).href);
      const merged = bundles.length > 1;
      await pf.options({ baseUrl: base.pathname, ...(merged ? { mergeFilter: { shard: "0" } } : {}) });
      pf.init();
      await Promise.all(bundles.slice(1).map((bundle, i) => pf.mergeIndex(
        new URL(bundle, base).pathname,
        { baseUrl: base.pathname, mergeFilter: { shard: String(i + 1) } },
      )));
      return pf;
    })();
  }
  return pagefind;
}

// Results in Pagefind's own order (relevance, or one bundle).
class Plain {
  constructor(found) { this.found = found; this.length = found.length; this.position = 0; }
  fresh() { return new Plain(this.found); }
  async take(n) {
    const slice = this.found.slice(this.position, this.position + n);
    this.position += slice.length;
    return Promise.all(slice.map((r) => r.data()));
  }
}

// A bundle's results with a sort's rank files: below FEW results, their data is loaded and
// sorted; otherwise the rank files are read, best ranks first, until the rank asked is known.
const FEW = 12;
const rankFiles = new Map();

function rankFile(bundle, key, k) {
  const url = new URL(`${bundle}rangs/${key}.${k}.json`, base).href;
  if (!rankFiles.has(url)) {
    rankFiles.set(url, fetch(url).then((answer) => {
      if (!answer.ok) throw new Error(`${url}: ${answer.status}`);
      return answer.json();
    }));
  }
  return rankFiles.get(url);
}

const item = (result) => ({ result, data: null, load() { return (this.data ??= result.data()); } });

class Ranked {
  constructor(found, bundle, key) {
    this.found = found.map(item);
    this.byId = new Map(this.found.map((entry) => [entry.result.id, entry]));
    this.bundle = bundle;
    this.key = key;
    this.ordered = [];
    this.range = 0;
    this.growing = null;
    this.done = found.length === 0;
  }
  async at(i) {
    while (this.ordered.length <= i && !this.done) {
      // one growth at a time: the merge asks for a list's next head while it reads another
      this.growing ??= this.grow().finally(() => { this.growing = null; });
      await this.growing;
    }
    return this.ordered[i] || null;
  }
  async grow() {
    if (this.found.length <= FEW) {
      const data = await Promise.all(this.found.map((entry) => entry.load()));
      const value = SORTS[this.key];
      const keyed = this.found.map((entry, i) => [value(data[i]), entry]);
      keyed.sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
      this.ordered = keyed.map(([, entry]) => entry);
      this.done = true;
      return;
    }
    const part = await rankFile(this.bundle, this.key, this.range);
    this.range += 1;
    for (const id of part.ids) {
      const entry = this.byId.get(id);
      if (entry) {
        this.ordered.push(entry);
        this.byId.delete(id);
      }
    }
    if (part.last) {
      this.ordered.push(...this.byId.values()); // none, unless a rank file is out of date
      this.byId.clear();
      this.done = true;
    }
  }
}

// Each bundle's sorted results, merged on the sort value: only the heads' data is loaded.
class Merged {
  constructor(found, key) {
    this.args = [found, key];
    this.lists = found.map((results, i) => ({ ranked: new Ranked(results, bundles[i], key), position: 0 }));
    this.length = found.reduce((sum, results) => sum + results.length, 0);
    this.value = SORTS[key];
  }
  fresh() { return new Merged(...this.args); }
  async head(list) {
    const entry = await list.ranked.at(list.position);
    return entry && { entry, data: await entry.load() };
  }
  async take(n) {
    const out = [];
    while (out.length < n) {
      const heads = await Promise.all(this.lists.map((list) => this.head(list)));
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        if (!heads[i]) continue;
        if (best < 0 || this.value(heads[i].data) > this.value(heads[best].data)) best = i;
      }
      if (best < 0) break;
      out.push(heads[best].data);
      this.lists[best].position += 1;
      this.head(this.lists[best]); // fetch its next one meanwhile
    }
    return out;
  }
}

async function find(term, filters, key, direction) {
  const pf = await load();
  if (!key || bundles.length < 2) {
    const options = { filters };
    if (key) options.sort = { [key]: direction };
    const search = await pf.search(term, options);
    return search && new Plain(search.results);
  }
  // Repositories, sorted (best first: every repository sort is descending).
  const searches = await Promise.all(bundles.map((_, i) => pf.search(
    term,
    { filters: { ...filters, shard: String(i) } },
  )));
  if (searches.some((search) => !search)) return null;
  return new Merged(searches.map((search) => search.results), key);
}

function isDefault() {
  return !query.value.trim() && !(sort && sort.value) && selects.every((select) => !select.value);
}

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  query.value = params.get("q") || "";
  for (const select of selects) {
    const value = params.get(select.name) || "";
    if (select.options) {
      select.value = Array.from(select.options).some((o) => o.value === value) ? value : "";
    } else {
      select.value = value;
    }
  }
  if (sort) sort.value = params.get("tri") || "";
}

function writeUrl() {
  const params = new URLSearchParams();
  if (query.value.trim()) params.set("q", query.value.trim());
  for (const select of selects) if (select.value) params.set(select.name, select.value);
  if (sort && sort.value) params.set("tri", sort.value);
  const search = params.toString();
  window.history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function describe(meta) {
  if (kind === "sill") {
    return [
      meta.licence ? `Licence : ${meta.licence}` : "",
      `${meta.users || 0} utilisateurs déclarés`,
      `${meta.repositories || 0} dépôts liés`,
    ];
  }
  return [
    meta.owner ? `Organisation : ${meta.owner}` : "",
    `Licence : ${meta.licence || "inconnue"}`,
    meta.language ? `Langage : ${meta.language}` : "",
    meta.activity ? `Dernière activité : ${meta.activity}` : "",
    `Score : ${meta.score || 0}`,
  ];
}

function render(item) {
  const li = el("li");
  const title = el("h3", null, "fr-h5");
  const link = el("a", item.meta.title || item.url);
  link.href = item.url;
  title.append(link);
  li.append(title);
  if (item.meta.description) li.append(el("p", item.meta.description));
  li.append(el("p", describe(item.meta).filter(Boolean).join(" · "), "fr-text--sm"));
  if (item.meta.score_text) li.append(el("p", `Score expliqué : ${item.meta.score_text}`, "fr-text--xs cg-muted"));
  return li;
}

async function showMore(current) {
  const data = await results.take(PAGE);
  if (current !== generation) return;
  for (const item of data) list.append(render(item));
  shown += data.length;
  more.hidden = shown >= results.length;
}

async function run() {
  const current = ++generation;
  list.dataset.state = "loading";
  writeUrl();
  statusBox.textContent = "Recherche en cours…";
  const filters = {};
  for (const select of selects) if (select.value) filters[select.name] = select.value;
  const term = query.value.trim() || null;
  // Without a query, repositories come by score, as in the default listing.
  const key = (sort && sort.value) || (!term && kind === "depot" ? "score" : null);
  const found = await find(term, filters, key, key === "nom" ? "asc" : "desc");
  if (current !== generation || !found) return;
  results = found;
  shown = 0;
  list.replaceChildren();
  const n = results.length;
  const noun = kind === "sill" ? "logiciel" : "dépôt";
  statusBox.textContent = n === 0 ? `Aucun ${noun} trouvé` : `${n} ${noun}${n > 1 ? "s" : ""} trouvé${n > 1 ? "s" : ""}`;
  csvButton.disabled = n === 0;
  await showMore(current);
  if (current === generation) list.dataset.state = "done";
}

function csvCell(value) {
  let text = value === undefined || value === null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // no formula runs in a spreadsheet
  return `"${text.replace(/"/g, '""')}"`;
}

async function downloadCsv() {
  if (!results) await run(); // the default listing, as built: its search is made now
  const data = await results.fresh().take(CSV_LIMIT);
  const columns = kind === "sill"
    ? [["nom", "title"], ["description", "description"], ["licence", "licence"], ["utilisateurs", "users"], ["depots_lies", "repositories"]]
    : [["nom", "title"], ["organisation", "owner"], ["depot", "repository"], ["description", "description"], ["licence", "licence"], ["langage", "language"], ["derniere_activite", "activity"], ["score", "score"], ["etoiles", "stars"]];
  const lines = [columns.map(([name]) => csvCell(name)).join(",")];
  for (const item of data) {
    lines.push([...columns.map(([, key]) => csvCell(item.meta[key])), csvCell(new URL(item.url, window.location.href).href)].join(","));
  }
  lines[0] += `,${csvCell("page")}`;
  const blob = new Blob([`\ufeff${lines.join("\r\n")}\r\n`], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = kind === "sill" ? "sill.csv" : "depots.csv";
  document.body.append(link);
  link.click();
  link.remove();
  if (results.length > CSV_LIMIT) statusBox.textContent = `Fichier limité aux ${CSV_LIMIT} premiers résultats : la base de données donne tout.`;
}

for (const field of form.querySelectorAll("input[data-suggestions]")) {
  field.addEventListener("focus", async () => {
    if (field.dataset.loaded) return;
    field.dataset.loaded = "1";
    const answer = await fetch(new URL(field.dataset.suggestions, window.location.href));
    if (!answer.ok) return;
    const datalist = document.getElementById(field.getAttribute("list"));
    for (const value of await answer.json()) {
      const option = document.createElement("option");
      option.value = String(value);
      datalist.append(option);
    }
  });
}
form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
for (const select of selects) select.addEventListener("change", run);
if (sort) sort.addEventListener("change", run);
form.addEventListener("reset", () => { window.setTimeout(run, 0); });
more.addEventListener("click", async () => {
  if (!results) await run(); // the default listing, as built: its search is made now
  showMore(generation);
});
csvButton.addEventListener("click", downloadCsv);
readUrl();
const listed = Number(list.dataset.default || 0);
if (isDefault() && bundles.length && list.dataset.state === "done" && list.dataset.default !== undefined) {
  // The default listing is in the page: nothing to load until asked.
  shown = listed;
  more.hidden = !listed;
  csvButton.disabled = !listed;
  // Whoever enters the form is about to search: load Pagefind meanwhile.
  form.addEventListener("focusin", () => { load(); }, { once: true });
} else if (bundles.length) {
  run();
} else {
  statusBox.textContent = "Aucun résultat : l'index de recherche est vide.";
}
