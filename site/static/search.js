// The search pages: Pagefind's JS API (loaded on demand) under our own DSFR form and results.
// Every value shown comes from crawled text: it is inserted with textContent, never as HTML.
const PAGE = 20;
const CSV_LIMIT = 1000;
const root = document.documentElement.dataset.root || "";
const base = new URL(root, window.location.href);
const form = document.getElementById("cg-search");
const kind = form.dataset.kind;
const query = document.getElementById("cg-q");
const sort = document.getElementById("cg-tri");
const selects = Array.from(form.querySelectorAll("select[data-filter]"));
const statusBox = document.getElementById("cg-status");
const list = document.getElementById("cg-results");
const more = document.getElementById("cg-more");
const csvButton = document.getElementById("cg-csv");
let pagefind = null;
let results = [];
let shown = 0;
let generation = 0;

async function load() {
  if (!pagefind) {
    pagefind = await import(new URL("pagefind/pagefind.js", base).href);
    await pagefind.options({ baseUrl: base.pathname });
    pagefind.init();
  }
  return pagefind;
}

function readUrl() {
  const params = new URLSearchParams(window.location.search);
  query.value = params.get("q") || "";
  for (const select of selects) {
    const value = params.get(select.name) || "";
    select.value = Array.from(select.options).some((o) => o.value === value) ? value : "";
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
  const slice = results.slice(shown, shown + PAGE);
  const data = await Promise.all(slice.map((r) => r.data()));
  if (current !== generation) return;
  for (const item of data) list.append(render(item));
  shown += slice.length;
  more.hidden = shown >= results.length;
}

async function run() {
  const current = ++generation;
  list.dataset.state = "loading";
  writeUrl();
  statusBox.textContent = "Recherche en cours…";
  const pf = await load();
  const filters = { type: kind };
  for (const select of selects) if (select.value) filters[select.name] = select.value;
  const options = { filters };
  if (sort && sort.value) options.sort = { [sort.value]: sort.value === "nom" ? "asc" : "desc" };
  const term = query.value.trim() || null;
  const search = await pf.search(term, options);
  if (current !== generation || !search) return;
  results = search.results;
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
  const slice = results.slice(0, CSV_LIMIT);
  const data = await Promise.all(slice.map((r) => r.data()));
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

form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
for (const select of selects) select.addEventListener("change", run);
if (sort) sort.addEventListener("change", run);
form.addEventListener("reset", () => { window.setTimeout(run, 0); });
more.addEventListener("click", () => showMore(generation));
csvButton.addEventListener("click", downloadCsv);
readUrl();
run();
