// The monitor page: reads the view from the URL (asof, gemeente, period), loads the
// figures from the read API (/v1/...), draws them, and redraws when the store changes
// (the SSE stream /v1/totals/stream). In a report written by `werkmonitor report` the
// same code draws from the answers inlined as window.WM_REPORT instead of fetching.
"use strict";

(() => {
  const REPORT = window.WM_REPORT || null;
  const TOKEN_KEY = "werkmonitor-token";

  const INDICATORS = [
    { key: "started", title: "Gestarte trajecten", short: "gestart", unit: ["traject", "trajecten"],
      counts: "Elk gestart traject in een regionaal project; één inwoner kan meer trajecten volgen." },
    { key: "completed", title: "Afgeronde scholingstrajecten", short: "afgerond", unit: ["traject", "trajecten"],
      counts: "Trajecten afgerond met een diploma, een certificaat of als afgerond gemeld; uitval telt niet mee." },
    { key: "placed", title: "Bemiddeld naar werk", short: "bemiddeld", unit: ["persoon", "personen"],
      counts: "Inwoners die via een regionaal project werk vonden, ieder één keer geteld." },
  ];
  const COMPLETED_RESULTS = "diploma,certificaat,afgerond";

  // The categories in the order of the region's monitor (and of the registry file
  // data/gooi-en-vechtstreek.wm), with their Dutch titles. The registry itself keeps
  // only slugs; a category not listed here follows these, alphabetically.
  const CATEGORIES = [
    ["doorstroombanen", "Doorstroombanen"],
    ["scholingsprojecten", "Scholingsprojecten"],
    ["begeleiding-doelgroepen", "Begeleiding doelgroepen"],
    ["wsp-projecten", "WSP-projecten"],
    ["gemeentelijke-projecten", "Gemeentelijke projecten"],
    ["arbeidsmarktinterventies", "Interventies arbeidsmarkt"],
  ];
  const LIGHTS = { green: "groen", orange: "oranje", red: "rood" };
  const MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
    "september", "oktober", "november", "december"];

  // ---- small helpers ------------------------------------------------------------

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const $ = (id) => document.getElementById(id);

  function num(n) {
    if (n === null || n === undefined) return "—";
    const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    return n < 0 ? "-" + s : s;
  }

  function unit(ind, n) {
    return n === 1 ? ind.unit[0] : ind.unit[1];
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  // Dates are 'YYYY-MM-DD' strings throughout; day arithmetic in UTC.
  function isDate(s) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
    const d = new Date(s + "T00:00:00Z");
    return !isNaN(d) && d.toISOString().slice(0, 10) === s;
  }

  function today() {
    const d = new Date();
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function ms(s) {
    return Date.parse(s + "T00:00:00Z");
  }

  function isoOf(t) {
    return new Date(t).toISOString().slice(0, 10);
  }

  function addDays(s, n) {
    return isoOf(ms(s) + n * 86400000);
  }

  function longDate(s) {
    const [y, m, d] = s.split("-").map(Number);
    return `${d} ${MONTHS[m - 1]} ${y}`;
  }

  function halfYear(s) {
    return `${s.slice(0, 4)}-H${Number(s.slice(5, 7)) <= 6 ? 1 : 2}`;
  }

  function halfYearRange(hy) {
    const y = hy.slice(0, 4);
    return hy.endsWith("H1") ? [`${y}-01-01`, `${y}-06-30`] : [`${y}-07-01`, `${y}-12-31`];
  }

  function halfYearName(hy) {
    return `${hy.endsWith("H1") ? "eerste" : "tweede"} halfjaar ${hy.slice(0, 4)}`;
  }

  function titleOfSlug(s) {
    return s.split("-").map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(" ");
  }

  function categoryTitle(slug) {
    const c = CATEGORIES.find(([s]) => s === slug);
    return c ? c[1] : titleOfSlug(slug);
  }

  function categoryRank(slug) {
    const i = CATEGORIES.findIndex(([s]) => s === slug);
    return i < 0 ? CATEGORIES.length : i;
  }

  // ---- the view (in the URL) --------------------------------------------------------

  // view: {asof: date|null (null: today), gemeente: [slug...], period: null (the
  // half-year of the stand-per date), "none", "YYYY-Hn" or {from, to}}.
  function parseView(search) {
    const q = new URLSearchParams(search);
    const view = { asof: null, gemeente: [], period: null };
    const problems = [];
    const asof = q.get("asof");
    if (asof) {
      if (isDate(asof)) view.asof = asof;
      else problems.push(`de datum asof=${asof} bestaat niet`);
    }
    const g = q.get("gemeente");
    if (g) {
      const list = g.split(",").map((s) => s.trim().toLowerCase().replace(/\s+/g, "-")).filter(Boolean);
      if (list.every((s) => /^[a-z0-9-]{1,64}$/.test(s))) view.gemeente = [...new Set(list)];
      else problems.push(`de gemeente ${g} is geen geldige naam`);
    }
    const p = q.get("period");
    if (p) {
      const m = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(p);
      if (p === "none") view.period = "none";
      else if (/^\d{4}-H[12]$/.test(p)) view.period = p;
      else if (m && isDate(m[1]) && isDate(m[2]) && m[1] <= m[2]) view.period = { from: m[1], to: m[2] };
      else problems.push(`de periode ${p} is geen halfjaar (2021-H2) of van..tot (2021-07-01..2021-09-30)`);
    }
    return { view, problems };
  }

  function viewSearch(view) {
    const q = [];
    if (view.asof) q.push(`asof=${view.asof}`);
    if (view.gemeente.length) q.push(`gemeente=${view.gemeente.join(",")}`);
    if (view.period === "none" || typeof view.period === "string") q.push(`period=${view.period}`);
    else if (view.period) q.push(`period=${view.period.from}..${view.period.to}`);
    return q.length ? "?" + q.join("&") : "";
  }

  // The period as dates, clipped to the stand-per date: {from, to, name, half, empty}.
  function resolvePeriod(view, asof) {
    if (view.period === "none") return null;
    let from, to, name, half = null;
    const p = view.period || halfYear(asof);
    if (typeof p === "string") {
      [from, to] = halfYearRange(p);
      name = halfYearName(p);
      half = p;
    } else {
      ({ from, to } = p);
      name = `${longDate(from)} tot en met ${longDate(to)}`;
    }
    const clipped = to > asof ? asof : to;
    return { from, to: clipped, fullTo: to, name, half, empty: from > asof };
  }

  // ---- the read API -----------------------------------------------------------------

  class ApiError extends Error {}

  // One query string form for every request, so the page's requests and the answers
  // inlined in a report (keyed by the same paths) always agree. Values are dates,
  // slugs and comma lists: nothing needs escaping but a stray character, which is.
  function path(base, params) {
    const q = Object.entries(params)
      .filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `${k}=${String(v).replace(/[^A-Za-z0-9,._:-]/g, (c) => encodeURIComponent(c))}`);
    return q.length ? `${base}?${q.join("&")}` : base;
  }

  let tokenWaiter = null;

  function askToken(refused) {
    if (!tokenWaiter) {
      tokenWaiter = new Promise((resolve) => {
        const dlg = $("toegang");
        const input = $("toegang-code");
        $("toegang-tekst").textContent = refused
          ? "De toegangscode is geweigerd. Controleer de code en probeer het opnieuw."
          : "Deze monitor vraagt een toegangscode (lezer). De code wordt alleen voor dit browservenster bewaard.";
        $("toegang-tekst").className = refused ? "fout" : "";
        input.value = "";
        const done = (ev) => {
          ev.preventDefault();
          const v = input.value.trim();
          if (!v) return;
          sessionStorage.setItem(TOKEN_KEY, v);
          $("toegang-form").removeEventListener("submit", done);
          dlg.close();
          tokenWaiter = null;
          resolve();
        };
        $("toegang-form").addEventListener("submit", done);
        // Escape would close the dialog without a token: keep it open instead.
        dlg.addEventListener("cancel", (ev) => ev.preventDefault(), { once: true });
        if (!dlg.open) dlg.showModal();
        input.focus();
      });
    }
    return tokenWaiter;
  }

  function authHeaders() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  async function api(p) {
    if (REPORT) {
      const r = REPORT.responses[p];
      if (!r) throw new ApiError(`dit rapport bevat het antwoord op ${p} niet`);
      return r;
    }
    for (;;) {
      const sent = sessionStorage.getItem(TOKEN_KEY);
      let res;
      try {
        res = await fetch(p, { headers: { Accept: "application/json", ...authHeaders() }, cache: "no-store" });
      } catch (e) {
        throw new ApiError("de server is niet bereikbaar");
      }
      if (res.status === 401) {
        if (sent && sessionStorage.getItem(TOKEN_KEY) === sent) sessionStorage.removeItem(TOKEN_KEY);
        await askToken(Boolean(sent));
        continue;
      }
      let body = null;
      try {
        body = await res.json();
      } catch (e) {
        throw new ApiError(`onverwacht antwoord van de server (HTTP ${res.status})`);
      }
      if (res.status === 403)
        throw new ApiError("deze toegangscode geeft geen toegang tot deze gegevens" +
          (body && body.error ? ` (${body.error.message})` : ""));
      if (!res.ok)
        throw new ApiError(body && body.error ? `${body.error.message} (${body.error.code})` : `HTTP ${res.status}`);
      return body;
    }
  }

  // ---- loading one view -------------------------------------------------------------

  function quarterEnds(from, to) {
    // The last day of every quarter that ends on or after `from` and before `to`.
    const out = [];
    let y = Number(from.slice(0, 4));
    let q = Math.floor((Number(from.slice(5, 7)) - 1) / 3);
    for (;;) {
      const end = isoOf(Date.UTC(y, q * 3 + 3, 1) - 86400000);
      if (end >= to) break;
      if (end >= from) out.push(end);
      if (++q === 4) {
        q = 0;
        y++;
      }
    }
    return out;
  }

  // The questions one view asks. `werkmonitor report` (client/cmd_report.c) asks the
  // same ones over the line protocol and inlines the answers under these paths: keep
  // the two in step (tests/browser checks that a report draws without a request).
  async function load(view) {
    const asof = view.asof || today();
    const gemeente = view.gemeente.length ? view.gemeente.join(",") : null;
    const period = resolvePeriod(view, asof);

    // The projects first: with a token file, a refused token is asked again once, not
    // for every request at the same time.
    const projects = (await api(path("/v1/projects", {}))).rows;
    const program = projects.find((p) => p.project === "*") || {};
    const first = projects.find((p) => p.project !== "*");

    const want = {
      progress: api(path("/v1/progress", { asof, gemeente })),
      quarters: api(path("/v1/count", { type: "placed", by: "quarter", distinct: "person", scope: "regional", to: asof, gemeente })),
    };
    if (!REPORT) want.gemeenten = api(path("/v1/count", { type: "started", by: "gemeente" }));
    if (period && !period.empty) {
      const span = { from: period.from, to: period.to, gemeente };
      want.pStarted = api(path("/v1/count", { type: "started", by: "project", ...span }));
      want.pCompleted = api(path("/v1/count", { type: "completed", by: "project", ...span, result: COMPLETED_RESULTS }));
      want.pPlaced = api(path("/v1/count", { type: "placed", by: "project", distinct: "person", ...span }));
      want.tStarted = api(path("/v1/count", { type: "started", scope: "regional", ...span }));
      want.tCompleted = api(path("/v1/count", { type: "completed", scope: "regional", ...span, result: COMPLETED_RESULTS }));
      want.tPlaced = api(path("/v1/count", { type: "placed", distinct: "person", scope: "regional", ...span }));
    }
    // Without the words the figures still stand: a failed notes request is said, not fatal.
    if (period && period.half)
      want.notes = api(path("/v1/notes", { period: period.half })).catch((e) => ({ rows: [], error: e.message }));
    // The programme's cumulative line: its rows at the programme's start and at every
    // quarter end up to the stand-per date (any project filter gives the programme
    // rows; the first project keeps the answers small).
    let ends = [];
    if (program.start && first && asof >= program.start) {
      ends = [program.start, ...quarterEnds(program.start, asof)];
      want.cumulative = Promise.all(ends.map((d) =>
        api(path("/v1/progress", { asof: d, project: first.project, gemeente }))));
    }
    const keys = Object.keys(want);
    const vals = await Promise.all(keys.map((k) => want[k]));
    const got = Object.fromEntries(keys.map((k, i) => [k, vals[i]]));
    return { view, asof, gemeente, period, projects, program, ends, ...got };
  }

  // ---- drawing --------------------------------------------------------------------

  // A light is a coloured dot with its word, so it reads without colour too. Without a
  // target there is none: the word "geen doel" is shown where it says something (the
  // programme) and otherwise left to screen readers.
  function light(status, extra, quiet) {
    if (!LIGHTS[status])
      return h("span", { class: quiet ? "licht licht-none stil" : "licht licht-none", "data-v": "none", ...extra }, "geen doel");
    return h("span", { class: `licht licht-${status}`, "data-v": status, ...extra },
      h("span", { class: "dot", "aria-hidden": "true" }), LIGHTS[status]);
  }

  function judged(note) {
    if (!note || !LIGHTS[note.light]) return null;
    return h("span", { class: "oordeel" }, "oordeel: ", light(note.light, { "data-k": `oordeel|${noteKey(note)}` }));
  }

  function noteKey(n) {
    if (n.project) return `project|${n.project}`;
    if (n.category) return `categorie|${n.category}`;
    return "programma";
  }

  // The notes' Markdown subset: paragraphs (blank lines), **bold**, lists ("- ", "* "
  // or "1. "). Everything is text: nothing in a note becomes markup otherwise.
  function markdown(text) {
    const out = document.createDocumentFragment();
    const inline = (s) => {
      const parts = s.split(/\*\*(.+?)\*\*/g);
      return parts.map((q, i) => (i % 2 ? h("strong", null, q) : q));
    };
    const blocks = text.replace(/\r\n?/g, "\n").split(/\n\s*\n/);
    for (const block of blocks) {
      const lines = block.split("\n").filter((l) => l.trim() !== "");
      if (!lines.length) continue;
      const bullet = lines.every((l) => /^\s*[-*]\s+/.test(l));
      const numbered = lines.every((l) => /^\s*\d+[.)]\s+/.test(l));
      if (bullet || numbered) {
        out.append(h(numbered ? "ol" : "ul", null,
          lines.map((l) => h("li", null, inline(l.replace(/^\s*([-*]|\d+[.)])\s+/, ""))))));
      } else {
        out.append(h("p", null, inline(lines.join(" "))));
      }
    }
    return out;
  }

  function noteBlock(note, cls) {
    if (!note || !note.text) return null;
    return h("div", { class: `notitie ${cls || ""}`, "data-k": `notitie|${noteKey(note)}` }, markdown(note.text));
  }

  function fig(key, value, cls, text) {
    return h("span", { class: cls || "n", "data-k": key, "data-v": value === null || value === undefined ? "" : value },
      text !== undefined ? text : num(value));
  }

  function pct(actual, target) {
    if (actual === null || actual === undefined || !target) return null;
    return Math.round((100 * actual) / target);
  }

  // The status rule of PROGRESS, for subtotals.
  function statusOf(actual, expected) {
    if (actual >= expected) return "green";
    if (actual >= 0.8 * expected) return "orange";
    return "red";
  }

  function drawTitle(d) {
    $("titel-stand").textContent = longDate(d.asof);
    $("titel-periode").textContent = d.period
      ? (d.period.empty ? `${d.period.name} (na de standdatum)` : d.period.name)
      : "totaal sinds de start";
    $("titel-gemeente").textContent = d.view.gemeente.length
      ? d.view.gemeente.map(titleOfSlug).join(", ") : "alle gemeenten";
    document.title = `Monitor Werken aan Werk en Perspectief op Werk, stand per ${longDate(d.asof)}`;
  }

  function periodCounts(d) {
    const byProject = (r) => Object.fromEntries(((r && r.rows) || []).map((x) => [x.project, x.count]));
    const total = (r) => (r && r.rows && r.rows[0] ? r.rows[0].count : 0);
    if (!d.period) return null;
    return {
      projects: { started: byProject(d.pStarted), completed: byProject(d.pCompleted), placed: byProject(d.pPlaced) },
      program: { started: total(d.tStarted), completed: total(d.tCompleted), placed: total(d.tPlaced) },
    };
  }


  function drawProgram(d, rows, per, notes) {
    const box = $("programma-kaarten");
    box.replaceChildren();
    for (const ind of INDICATORS) {
      const r = rows.find((x) => x.project === "*" && x.indicator === ind.key) || {};
      const k = `programma|${ind.key}`;
      const p = pct(r.actual, r.target);
      box.append(h("article", { class: "kaart", "aria-labelledby": `kaart-${ind.key}` },
        h("h3", { id: `kaart-${ind.key}` }, ind.title),
        h("p", { class: "groot" }, fig(`${k}|actual`, r.actual, "n"), " ", h("span", { class: "eenheid" }, unit(ind, r.actual))),
        h("p", { class: "status" }, light(r.status, { "data-k": `${k}|status` }),
          p !== null ? h("span", { class: "pct" }, fig(`${k}|pct`, p, "n-pct", `${p}%`), " van het doel") : null),
        h("dl", { class: "naast" },
          h("div", null, h("dt", null, "verwacht"), h("dd", null, fig(`${k}|expected`, r.expected))),
          h("div", null, h("dt", null, d.program.end ? `doel (eind ${d.program.end.slice(0, 4)})` : "doel"),
            h("dd", null, fig(`${k}|target`, r.target))),
          per ? h("div", { class: "periode" }, h("dt", null, "in de periode"),
            h("dd", null, fig(`${k}|period`, per.program[ind.key], "n-periode"))) : null),
        h("p", { class: "telt" }, ind.counts)));
    }
    const note = notes.find((n) => !n.project && !n.category);
    const problem = d.notes && d.notes.error
      ? h("p", { class: "let-op" }, `De toelichtingen konden niet worden geladen: ${d.notes.error}.`) : null;
    $("programma-notitie").replaceChildren(...[problem, ...(note
      ? [h("h3", { class: "met-oordeel" }, "Algemeen", judged(note)), noteBlock(note, "programma-notitie")]
      : [])].filter(Boolean));
  }

  function indicatorCell(key, r, ind, perN, d) {
    const p = pct(r.actual, r.target);
    const parts = [
      h("div", { class: "hoofd" }, fig(`${key}|actual`, r.actual, "n"), light(r.status, { "data-k": `${key}|status` }, true)),
    ];
    if (r.target !== null && r.target !== undefined) {
      parts.push(h("div", { class: "sub" },
        "verwacht ", fig(`${key}|expected`, r.expected, "n-klein"),
        " · doel ", fig(`${key}|target`, r.target, "n-klein"),
        p !== null ? [" (", fig(`${key}|pct`, p, "n-klein", `${p}%`), ")"] : null));
    }
    if (d.period)
      parts.push(h("div", { class: "sub" }, fig(`${key}|period`, perN || 0, "n-periode", `+${num(perN || 0)}`), " in de periode"));
    return h("td", { "data-label": ind.short }, parts);
  }

  function qualitative(rowsOf, per) {
    return INDICATORS.every((ind) => {
      const r = rowsOf[ind.key] || {};
      return (r.target === null || r.target === undefined) && !r.actual && !(per && per[ind.key]);
    });
  }

  function projectRows(p, progressRows) {
    const rowsOf = {};
    for (const ind of INDICATORS)
      rowsOf[ind.key] = progressRows.find((x) => x.project === p.project && x.indicator === ind.key) ||
        { actual: 0, target: null, expected: null, status: "none" };
    return rowsOf;
  }

  function projectPeriod(p, per) {
    return per ? Object.fromEntries(INDICATORS.map((i) => [i.key, per.projects[i.key][p.project] || 0])) : null;
  }

  // A category whose projects all are monitored in words only: a list of the projects
  // with their judgement and notes, no table of zeros.
  function qualitativeList(list, notes) {
    return h("ul", { class: "kwalitatief-lijst" }, list.map((p) => {
      const note = notes.find((n) => n.project === p.project);
      return h("li", { class: "project", "data-project": p.project },
        h("div", { class: "kwal-kop" }, h("strong", null, p.title || p.project), judged(note)),
        noteBlock(note));
    }));
  }

  function projectTable(d, list, progressRows, per, notes, catKey) {
    const head = h("thead", null, h("tr", null,
      h("th", { scope: "col", class: "kol-project" }, "Deelproject"),
      INDICATORS.map((ind) => h("th", { scope: "col" }, ind.title, h("span", { class: "kol-eenheid" }, ` (${ind.unit[1]})`)))));
    const table = h("table", { class: "projecten" }, head);
    const sums = {};
    let allTargets = Object.fromEntries(INDICATORS.map((i) => [i.key, true]));
    let counted = 0;
    for (const p of list) {
      const rowsOf = projectRows(p, progressRows);
      const perP = projectPeriod(p, per);
      const note = notes.find((n) => n.project === p.project);
      const title = h("th", { scope: "row", class: "kol-project" }, p.title || p.project, judged(note));
      const body = h("tbody", { class: "project", "data-project": p.project });
      if (qualitative(rowsOf, perP)) {
        body.append(h("tr", null, title, h("td", { colspan: 3, class: "kwalitatief" }, "Kwalitatief gemonitord: geen cijfers.")));
      } else {
        counted++;
        body.append(h("tr", null, title,
          INDICATORS.map((ind) => indicatorCell(`project|${p.project}|${ind.key}`, rowsOf[ind.key], ind, perP && perP[ind.key], d))));
      }
      if (note && note.text)
        body.append(h("tr", { class: "notitie-rij" }, h("td", { colspan: 4 }, noteBlock(note))));
      table.append(body);
      for (const ind of INDICATORS) {
        const r = rowsOf[ind.key];
        const s = (sums[ind.key] = sums[ind.key] || { actual: 0, target: 0, expected: 0, period: 0 });
        s.actual += r.actual || 0;
        s.period += perP ? perP[ind.key] : 0;
        if (r.target === null || r.target === undefined) allTargets[ind.key] = false;
        else {
          s.target += r.target;
          s.expected += r.expected || 0;
        }
      }
    }
    if (catKey && counted > 1) {
      const cells = INDICATORS.map((ind) => {
        const s = sums[ind.key];
        const key = `${catKey}|${ind.key}`;
        const r = allTargets[ind.key]
          ? { actual: s.actual, target: s.target, expected: s.expected, status: statusOf(s.actual, s.expected) }
          : { actual: s.actual, target: null, expected: null, status: "none" };
        return indicatorCell(key, r, ind, s.period, d);
      });
      table.append(h("tfoot", null, h("tr", null, h("th", { scope: "row", class: "kol-project" }, "Subtotaal"), cells)));
    }
    return table;
  }

  function drawCategories(d, rows, per, notes) {
    const regional = d.projects.filter((p) => p.project !== "*" && p.scope !== "local");
    const cats = [...new Set(regional.map((p) => p.category))]
      .sort((a, b) => categoryRank(a) - categoryRank(b) || (a < b ? -1 : a > b ? 1 : 0));
    const box = $("categorieen");
    box.replaceChildren();
    const local = d.projects.filter((p) => p.project !== "*" && p.scope === "local")
      .sort((a, b) => categoryRank(a.category) - categoryRank(b.category) ||
        (a.title || a.project).localeCompare(b.title || b.project, "nl"));
    // The municipal projects' section stands where their (first) category would.
    const localRank = local.length ? Math.min(...local.map((p) => categoryRank(p.category))) : Infinity;
    let localDone = false;
    const addLocal = () => {
      if (localDone || !local.length) return;
      localDone = true;
      box.append(localSection(d, local, rows, per, notes));
    };
    for (const c of cats) {
      if (categoryRank(c) > localRank) addLocal();
      const list = regional.filter((p) => p.category === c)
        .sort((a, b) => (a.title || a.project).localeCompare(b.title || b.project, "nl"));
      const note = notes.find((n) => !n.project && n.category === c);
      const id = `cat-${c}`;
      const words = list.every((p) => qualitative(projectRows(p, rows), projectPeriod(p, per)));
      box.append(h("section", { class: "categorie", id, "aria-labelledby": `${id}-kop`, "data-category": c },
        h("h2", { id: `${id}-kop` }, categoryTitle(c), judged(note)),
        noteBlock(note),
        words ? qualitativeList(list, notes) : projectTable(d, list, rows, per, notes, `categorie|${c}`)));
    }
    addLocal();
  }

  function localSection(d, local, rows, per, notes) {
    const localCats = [...new Set(local.map((p) => p.category))];
    const notesHere = localCats.map((c) => notes.find((n) => !n.project && n.category === c)).filter(Boolean);
    return h("section", { class: "categorie gemeentelijk", id: "gemeentelijke-projecten", "aria-labelledby": "gem-kop",
      "data-category": localCats.join(",") },
      h("h2", { id: "gem-kop" }, "Gemeentelijke projecten", notesHere.map(judged)),
      h("p", { class: "buiten" }, "Buiten de regionale doelstellingen en totalen: de gemeenten monitoren deze projecten zelf."),
      notesHere.map((n) => noteBlock(n)),
      projectTable(d, local, rows, per, notes, null));
  }

  function chartTable(caption, headers, rows) {
    return h("details", { class: "grafiek-tabel" }, h("summary", null, `Cijfers bij de grafiek: ${caption}`),
      h("table", null, h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", null, rows.map((r) => h("tr", null, r.map((x, i) => (i ? h("td", null, x) : h("th", { scope: "row" }, x))))))));
  }

  function drawCharts(d) {
    // Placements per quarter, from the programme's start (or the first placement).
    const counts = Object.fromEntries(d.quarters.rows.map((r) => [r.quarter, r.count]));
    const firstQ = d.program.start ? halfQuarter(d.program.start) : d.quarters.rows.length ? d.quarters.rows[0].quarter : null;
    const lastQ = halfQuarter(d.asof);
    const qs = [];
    if (firstQ) {
      let [y, q] = [Number(firstQ.slice(0, 4)), Number(firstQ.slice(6))];
      for (;;) {
        const key = `${y}-Q${q}`;
        if (key > lastQ) break;
        qs.push(key);
        if (++q === 5) {
          q = 1;
          y++;
        }
      }
    }
    const inPeriod = (key) => {
      if (!d.period || d.period.empty) return false;
      const y = Number(key.slice(0, 4));
      const q = Number(key.slice(6));
      const a = isoOf(Date.UTC(y, (q - 1) * 3, 1));
      const b = isoOf(Date.UTC(y, q * 3, 1) - 86400000);
      return a <= d.period.to && b >= d.period.from;
    };
    const data = qs.map((key) => ({ quarter: key, value: counts[key] || 0, marked: inPeriod(key) }));
    const total = data.reduce((a, x) => a + x.value, 0);
    const fig1 = $("grafiek-kwartaal");
    fig1.replaceChildren(
      h("figcaption", null, "Bemiddeld naar werk per kwartaal (personen, regionale projecten)",
        d.period ? h("span", { class: "legenda" }, h("span", { class: "staaf-periode", "aria-hidden": "true" }), " in de gekozen periode") : null));
    if (data.length) {
      fig1.append(WMCharts.quarterBars(data, {
        title: "Bemiddeld naar werk per kwartaal",
        desc: `Personen bemiddeld naar werk per kwartaal, van ${data[0].quarter} tot en met ${data[data.length - 1].quarter}: samen ${total} (een persoon die in twee kwartalen werk vond, telt in beide).`,
        fmt: num,
      }));
      fig1.append(chartTable("per kwartaal", ["Kwartaal", "Personen"], data.map((x) => [x.quarter.replace("-Q", " K"), num(x.value)])));
    } else {
      fig1.append(h("p", { class: "leeg" }, "Nog geen plaatsingen."));
    }

    const box = $("grafiek-cumulatief");
    box.replaceChildren();
    $("cumulatief-kop").hidden = !d.cumulative;
    if (!d.cumulative) return;
    const span = { from: ms(d.program.start), to: Math.max(ms(d.program.end || d.asof), ms(d.asof)) };
    for (const ind of INDICATORS) {
      const row = (resp) => resp.rows.find((x) => x.project === "*" && x.indicator === ind.key) || {};
      const points = d.ends.map((date, i) => ({ t: ms(date), date, ...pick(row(d.cumulative[i])) }));
      const now = row(d.progress);
      points.push({ t: ms(d.asof), date: d.asof, ...pick(now) });
      const figure = h("figure", { class: "grafiek" },
        h("figcaption", null, ind.title));
      figure.append(WMCharts.cumulative(points, {
        title: `${ind.title}, cumulatief`,
        desc: `${ind.title} van ${longDate(d.program.start)} tot ${longDate(d.asof)}: ${num(now.actual)} ${unit(ind, now.actual)}, verwacht naar rato ${num(now.expected)}, doel ${num(now.target)}.`,
        span,
        target: now.target,
        fmt: num,
      }));
      figure.append(h("p", { class: "legenda" },
        h("span", { class: "lijn-actual", "aria-hidden": "true" }), " gerealiseerd ",
        h("span", { class: "lijn-prorata", "aria-hidden": "true" }), " doel naar rato"));
      figure.append(chartTable(ind.title.toLowerCase(), ["Datum", "Gerealiseerd", "Doel naar rato"],
        points.map((p) => [longDate(p.date), num(p.actual), num(p.expected)])));
      box.append(figure);
    }
  }

  function pick(r) {
    return { actual: r.actual || 0, expected: r.expected === undefined ? null : r.expected };
  }

  function halfQuarter(date) {
    return `${date.slice(0, 4)}-Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`;
  }

  function drawGemeenten(d) {
    if (!d.gemeenten) return;
    const sel = $("k-gemeente");
    const have = new Set(d.gemeenten.rows.map((r) => r.gemeente));
    for (const g of d.view.gemeente) have.add(g);
    const list = [...have].sort();
    const value = d.view.gemeente.join(",");
    const options = [h("option", { value: "" }, "Alle gemeenten"), ...list.map((g) => h("option", { value: g }, titleOfSlug(g)))];
    if (d.view.gemeente.length > 1) options.push(h("option", { value }, d.view.gemeente.map(titleOfSlug).join(", ")));
    sel.replaceChildren(...options);
    sel.value = value;
  }

  function draw(d) {
    const rows = d.progress.rows;
    const per = d.period && !d.period.empty ? periodCounts(d) : null;
    const notes = (d.notes && d.notes.rows) || [];
    drawTitle(d);
    drawGemeenten(d);
    drawProgram(d, rows, per, notes);
    drawCharts(d);
    drawCategories(d, rows, per, notes);
    const filtered = $("melding-filter");
    if (filtered) filtered.remove();
    if (d.view.gemeente.length)
      $("programma").insertBefore(h("p", { class: "let-op", id: "melding-filter" },
        `Alleen de cijfers van ${d.view.gemeente.map(titleOfSlug).join(", ")}. De doelen zijn die van de hele regio: verwacht, realisatie en licht zeggen hier dus weinig.`),
      $("programma-kaarten"));
    document.body.dataset.seq = String(d.progress.seq === undefined ? "" : d.progress.seq);
  }

  // ---- the controls -----------------------------------------------------------------

  function fillPeriods(view, asof, program) {
    const sel = $("k-periode");
    const y0 = Number((program.start || asof).slice(0, 4));
    const y1 = Math.max(Number((program.end || asof).slice(0, 4)), Number(asof.slice(0, 4)));
    const opts = [h("option", { value: "none" }, "Geen periode (alleen totaal)")];
    for (let y = y1; y >= y0; y--)
      for (const n of [2, 1]) opts.push(h("option", { value: `${y}-H${n}` }, `${n === 1 ? "Eerste" : "Tweede"} halfjaar ${y}`));
    opts.push(h("option", { value: "eigen" }, "Eigen periode…"));
    sel.replaceChildren(...opts);
    const p = view.period || halfYear(asof);
    if (typeof p === "string") {
      if (![...sel.options].some((o) => o.value === p)) sel.append(h("option", { value: p }, halfYearName(p)));
      sel.value = p;
      $("k-eigen").hidden = true;
    } else {
      sel.value = "eigen";
      $("k-eigen").hidden = false;
      $("k-van").value = p.from;
      $("k-tot").value = p.to;
    }
  }

  let current = parseView(location.search);
  let lastData = null;
  let loading = false;
  let again = false;
  let lastLoad = 0;
  let loadedSeq = -1;

  function showProblem(text) {
    const m = $("melding");
    if (!text) {
      m.hidden = true;
      m.textContent = "";
      return;
    }
    m.hidden = false;
    m.textContent = text;
  }

  function clock(d) {
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  async function refresh() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    document.body.classList.add("bezig");
    try {
      do {
        again = false;
        const view = current.view;
        const d = await load(view);
        if (view !== current.view) {
          again = true;
          continue;
        }
        lastData = d;
        loadedSeq = Math.max(loadedSeq, d.progress.seq === undefined ? -1 : d.progress.seq);
        draw(d);
        fillPeriods(view, d.asof, d.program);
        $("k-stand").value = d.asof;
        showProblem(current.problems.length ? `Niet alles in de link is gebruikt: ${current.problems.join("; ")}.` : null);
        delete document.body.dataset.fout;
        lastLoad = Date.now();
        if (!REPORT) $("live-tekst").textContent = `bijgewerkt om ${clock(new Date())}` + (streamUp ? " · live" : "");
        document.body.dataset.geladen = String(lastLoad);
      } while (again);
    } catch (e) {
      showProblem(`De cijfers konden niet worden geladen: ${e.message}.`);
      document.body.dataset.fout = e.message;
      // A monitor on a wall recovers by itself when the server is back.
      if (!REPORT) setTimeout(refresh, 15000);
    } finally {
      loading = false;
      document.body.classList.remove("bezig");
    }
  }

  function setView(view, replace) {
    current = { view, problems: [] };
    const url = location.pathname + viewSearch(view);
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    refresh();
  }

  function controls() {
    $("k-stand").addEventListener("change", (ev) => {
      const v = ev.target.value;
      if (!isDate(v)) return;
      setView({ ...current.view, asof: v === today() ? null : v });
    });
    $("k-vandaag").addEventListener("click", () => setView({ ...current.view, asof: null }));
    $("k-gemeente").addEventListener("change", (ev) => {
      const v = ev.target.value;
      setView({ ...current.view, gemeente: v ? v.split(",") : [] });
    });
    $("k-periode").addEventListener("change", (ev) => {
      const v = ev.target.value;
      if (v === "eigen") {
        $("k-eigen").hidden = false;
        const asof = current.view.asof || today();
        const p = resolvePeriod({ period: current.view.period }, asof);
        $("k-van").value = p ? p.from : `${asof.slice(0, 4)}-01-01`;
        $("k-tot").value = p ? p.fullTo : asof;
        $("k-van").focus();
        return;
      }
      $("k-eigen").hidden = true;
      setView({ ...current.view, period: v });
    });
    const custom = () => {
      const from = $("k-van").value;
      const to = $("k-tot").value;
      if (isDate(from) && isDate(to) && from <= to) setView({ ...current.view, period: { from, to } });
    };
    $("k-van").addEventListener("change", custom);
    $("k-tot").addEventListener("change", custom);
    $("k-afdrukken").addEventListener("click", () => window.print());
    $("keuze").addEventListener("submit", (ev) => ev.preventDefault());
    window.addEventListener("popstate", () => {
      current = parseView(location.search);
      refresh();
    });
  }

  // ---- live: the SSE stream ---------------------------------------------------------

  let streamUp = false;

  function setLive(up) {
    streamUp = up;
    document.body.classList.toggle("live-aan", up);
    const t = $("live-tekst");
    if (lastLoad) t.textContent = `bijgewerkt om ${clock(new Date(lastLoad))}` + (up ? " · live" : " · geen live verbinding, opnieuw verbinden…");
  }

  function onStreamEvent(block) {
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("data:")) data += line.slice(5).trimStart();
    }
    if (!data) return;
    let totals;
    try {
      totals = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (typeof totals.seq === "number" && totals.seq > loadedSeq) {
      // At most one reload a second while events stream in.
      const wait = Math.max(0, 1000 - (Date.now() - lastLoad));
      clearTimeout(onStreamEvent.timer);
      onStreamEvent.timer = setTimeout(refresh, wait);
    }
  }

  // EventSource cannot send an Authorization header, so the stream is read with fetch.
  async function stream() {
    let delay = 1000;
    for (;;) {
      try {
        const res = await fetch("/v1/totals/stream", { headers: { Accept: "text/event-stream", ...authHeaders() }, cache: "no-store" });
        if (res.status === 401) {
          await askToken(Boolean(sessionStorage.getItem(TOKEN_KEY)));
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setLive(true);
        delay = 1000;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            onStreamEvent(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      } catch (e) {
        // Reconnect below.
      }
      setLive(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30000);
    }
  }

  // ---- start ------------------------------------------------------------------------

  function start() {
    if (REPORT) {
      document.body.classList.add("rapport");
      current = { view: REPORT.view, problems: [] };
      $("opgemaakt").textContent = `Opgemaakt op ${longDate(REPORT.generated.slice(0, 10))} om ${REPORT.generated.slice(11, 16)} uit werkmonitor.`;
      refresh();
      return;
    }
    $("opgemaakt").textContent = "";
    controls();
    refresh().then(() => stream());
  }

  window.WMMonitor = { parseView, viewSearch, path, markdown, get data() { return lastData; } };
  // Served, the scripts are deferred; inlined in a report they may run before the body.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
