// The monitor page in a real browser (Debian's chromium, driven by playwright-core)
// against the real werkmonitord with generated data: every figure the page shows equals
// PROGRESS/COUNT over the line protocol for the same date, municipality and period; a
// stored event changes the page without a reload; the filters and the period redraw it;
// it prints as A4 with a page per category; it works with and without a token file and
// never shows a person value. Screenshots and the PDF go to WM_BROWSER_ARTIFACTS
// (default: <build>/browser-artifacts). Run by tests/browser/run.sh (ctest: browser.monitor).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { ARTIFACTS, Daemon, TIMEOUT, client, launch, loadData, pdfInfo, pdfToPng } from "./lib.mjs";

const INDICATORS = ["started", "completed", "placed"];
const ASOF = "2022-06-30";
const HALF = { "2021-H2": ["2021-07-01", "2021-12-31"], "2022-H1": ["2022-01-01", "2022-06-30"] };

fs.mkdirSync(ARTIFACTS, { recursive: true });

function status(actual, expected) {
  if (actual >= expected) return "green";
  if (actual >= 0.8 * expected) return "orange";
  return "red";
}

const str = (v) => (v === null || v === undefined ? "" : String(v));

// What the page must show for a view, computed from the line protocol alone: the
// programme and project rows of PROGRESS, each category's sums over its regional
// projects (with a light only where every project has a target), and the period's
// COUNTs. Keys are the page's data-k attributes.
async function expectedFigures(line, { asof, gemeente, from, to }) {
  const g = gemeente ? ` gemeente=${gemeente}` : "";
  const projects = await line.rows("PROJECTS");
  const scope = Object.fromEntries(projects.map((p) => [p.project, p.scope]));
  const exp = {};
  const sums = {};
  const put = (base, r) => {
    exp[`${base}|actual`] = str(r.actual);
    exp[`${base}|status`] = r.status;
    if (r.target !== null) {
      exp[`${base}|expected`] = str(r.expected);
      exp[`${base}|target`] = str(r.target);
      if (r.target > 0) exp[`${base}|pct`] = str(Math.round((100 * r.actual) / r.target));
    }
  };
  for (const r of await line.rows(`PROGRESS asof=${asof}${g}`)) {
    if (r.project === "*") {
      put(`programma|${r.indicator}`, r);
      continue;
    }
    put(`project|${r.project}|${r.indicator}`, r);
    if (scope[r.project] !== "regional") continue;
    const s = (sums[`${r.category}|${r.indicator}`] ??= { actual: 0, target: 0, expected: 0, all: true, period: 0 });
    s.actual += r.actual;
    if (r.target === null) s.all = false;
    else {
      s.target += r.target;
      s.expected += r.expected;
    }
  }
  if (from && from <= asof) {
    const span = ` from=${from} to=${to < asof ? to : asof}${g}`;
    const q = {
      started: "COUNT started",
      completed: "COUNT completed result=diploma,certificaat,afgerond",
      placed: "COUNT placed distinct=person",
    };
    for (const ind of INDICATORS) {
      for (const r of await line.rows(`${q[ind]} by=project${span}`)) {
        exp[`project|${r.project}|${ind}|period`] = str(r.count);
        const p = projects.find((x) => x.project === r.project);
        if (p && p.scope === "regional") sums[`${p.category}|${ind}`].period += r.count;
      }
      const [t] = await line.rows(`${q[ind]} scope=regional${span}`);
      exp[`programma|${ind}|period`] = str(t.count);
    }
  }
  for (const [key, s] of Object.entries(sums)) {
    const base = `categorie|${key}`;
    exp[`${base}|actual`] = str(s.actual);
    exp[`${base}|period`] = str(s.period);
    if (s.all) {
      exp[`${base}|target`] = str(s.target);
      exp[`${base}|expected`] = str(s.expected);
      exp[`${base}|status`] = status(s.actual, s.expected);
      if (s.target > 0) exp[`${base}|pct`] = str(Math.round((100 * s.actual) / s.target));
    } else exp[`${base}|status`] = "none";
  }
  return exp;
}

async function shown(page) {
  return page.evaluate(() =>
    Object.fromEntries([...document.querySelectorAll("[data-k]")]
      .filter((e) => e.dataset.v !== undefined)
      .map((e) => [e.dataset.k, e.dataset.v])));
}

// Every figure on the page equals the expected one; the programme's figures, and every
// project with a figure or a target, are on the page; a period figure of 0 may be shown
// for a project COUNT lists no row for.
function assertFigures(got, exp, what) {
  let compared = 0;
  for (const [k, v] of Object.entries(got)) {
    if (k.startsWith("oordeel|")) continue;
    if (!(k in exp)) {
      assert.ok(k.endsWith("|period") && v === "0" || k.endsWith("|status") && v === "none",
        `${what}: the page shows ${k}=${v}, which PROGRESS/COUNT does not give`);
      continue;
    }
    assert.equal(v, exp[k], `${what}: ${k}`);
    compared++;
  }
  for (const ind of INDICATORS)
    for (const f of ["actual", "expected", "target", "status"])
      assert.ok(`programma|${ind}|${f}` in got, `${what}: programme ${ind} ${f} shown`);
  for (const [k, v] of Object.entries(exp)) {
    if (k.startsWith("project|") && k.endsWith("|actual") && v !== "0")
      assert.ok(k in got, `${what}: ${k}=${v} is not on the page`);
    if (k.startsWith("project|") && k.endsWith("|target"))
      assert.ok(k in got, `${what}: ${k}=${v} is not on the page`);
  }
  return compared;
}

async function waitLoaded(page, before) {
  await page.waitForFunction((b) => document.body.dataset.geladen && document.body.dataset.geladen !== b &&
    !document.body.classList.contains("bezig"), before, { timeout: TIMEOUT });
  const fout = await page.evaluate(() => document.body.dataset.fout || "");
  assert.equal(fout, "", "the page reported an error");
}

async function loaded(page) {
  return page.evaluate(() => document.body.dataset.geladen || "");
}

async function open(browser, url, viewport = { width: 1920, height: 1080 }) {
  const page = await browser.newPage({ viewport, locale: "nl-NL" });
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  // Nothing may come from another host.
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol !== "data:" && u.hostname !== "127.0.0.1") problems.push(`request to ${r.url()}`);
  });
  page.problems = problems;
  await page.goto(url);
  await waitLoaded(page, "");
  return page;
}

function noPersonValues(text) {
  // The generated pseudonyms are gen-<12 hex digits>.
  assert.doesNotMatch(text, /gen-[0-9a-f]{12}/, "a person value is on the page");
}

describe("monitor page, open mode", () => {
  let daemon;
  let line;
  let browser;

  before(async () => {
    daemon = await new Daemon().start();
    loadData(daemon.port);
    line = await daemon.line();
    browser = await launch();
    // The notes of 2021-H2 for the programme, every category and a few projects,
    // written as a programme manager would: `werkmonitor note` from Markdown files.
    const notes = JSON.parse(fs.readFileSync(new URL("./notes-2021-H2.json", import.meta.url), "utf8"));
    for (const [i, n] of notes.entries()) {
      const file = path.join(daemon.dir, `note-${i}.md`);
      fs.writeFileSync(file, n.text + "\n");
      const args = ["--port", String(daemon.port), "note", "--period", "2021-H2"];
      if (n.project) args.push("--project", n.project);
      if (n.category) args.push("--category", n.category);
      if (n.light) args.push("--light", n.light);
      const r = client([...args, file]);
      assert.equal(r.status, 0, `werkmonitor note: ${r.stdout}${r.stderr}`);
    }
  });

  after(async () => {
    if (browser) await browser.close();
    if (line) line.close();
    if (daemon) await daemon.stop();
  });

  test("every figure equals PROGRESS/COUNT; the view is in the URL", async () => {
    const page = await open(browser, `${daemon.base}/?asof=${ASOF}&period=2021-H2`);
    const exp = await expectedFigures(line, { asof: ASOF, from: HALF["2021-H2"][0], to: HALF["2021-H2"][1] });
    const n = assertFigures(await shown(page), exp, "asof 2022-06-30, 2021-H2");
    assert.ok(n > 150, `only ${n} figures compared`);
    assert.equal(await page.textContent("#titel-stand"), "30 juni 2022");
    assert.equal(await page.textContent("#titel-periode"), "tweede halfjaar 2021");
    // The lights are words beside the dots.
    const lights = await page.$$eval(".licht:not(.stil)", (els) => els.map((e) => e.textContent.trim()));
    for (const w of ["groen", "oranje", "rood"]) assert.ok(lights.includes(w), `a light reads ${w}`);
    // Categories in the order of the region's monitor, the municipal projects apart.
    const cats = await page.$$eval("section.categorie", (els) => els.map((e) => e.dataset.category));
    assert.deepEqual(cats, ["doorstroombanen", "scholingsprojecten", "begeleiding-doelgroepen", "wsp-projecten",
      "gemeentelijke-projecten", "arbeidsmarktinterventies"]);
    assert.match(await page.textContent("#gemeentelijke-projecten"), /Buiten de regionale doelstellingen en totalen/);
    // Titles, not slugs.
    assert.match(await page.textContent("#cat-scholingsprojecten"), /Wijkleerbedrijf \(regionaal\)/);
    // The notes of the period in their places, with the judged light beside the computed one.
    assert.match(await page.textContent("#programma-notitie"), /werpen hun vruchten af/);
    assert.match(await page.textContent("#cat-doorstroombanen"), /werkervaring opdoen/);
    assert.equal(await page.getAttribute('[data-k="oordeel|project|taaltrajecten"]', "data-v"), "orange");
    assert.equal(await page.getAttribute('[data-k="oordeel|project|regionaal-mobiliteitsteam"]', "data-v"), "green");
    noPersonValues(await page.textContent("body"));
    assert.deepEqual(page.problems, []);
    await page.screenshot({ path: path.join(ARTIFACTS, "projector-1920-top.png") });
    await page.locator("#cat-scholingsprojecten").scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById("cat-scholingsprojecten").scrollIntoView());
    await page.screenshot({ path: path.join(ARTIFACTS, "projector-1920-scholingsprojecten.png") });
    await page.close();
  });

  test("a stored event changes the page without a reload", async () => {
    const page = await open(browser, `${daemon.base}/?asof=${ASOF}&period=2022-H1`);
    await page.evaluate(() => { window.notReloaded = true; });
    const key = "project|wijkleerbedrijf|started|actual";
    const before = Number(await page.getAttribute(`[data-k="${key}"]`, "data-v"));
    const r = await line.cmd("EVENT started id=browser-live-1 person=browser-person-1 gemeente=huizen " +
      "date=2022-03-01 project=wijkleerbedrijf kind=scholing");
    assert.match(r, /^OK \d+$/);
    await page.waitForFunction(([k, v]) => document.querySelector(`[data-k="${k}"]`).dataset.v === String(v),
      [key, before + 1], { timeout: TIMEOUT });
    assert.equal(await page.evaluate(() => window.notReloaded), true);
    assert.match(await page.textContent("#live-tekst"), /^bijgewerkt om \d\d:\d\d:\d\d/);
    const exp = await expectedFigures(line, { asof: ASOF, from: HALF["2022-H1"][0], to: HALF["2022-H1"][1] });
    assertFigures(await shown(page), exp, "after the event");
    await page.close();
  });

  test("the municipality filter and the period redraw everything", async () => {
    const page = await open(browser, `${daemon.base}/?asof=${ASOF}&period=2021-H2`);
    let mark = await loaded(page);
    await page.selectOption("#k-gemeente", "huizen");
    await waitLoaded(page, mark);
    assert.match(page.url(), /[?&]gemeente=huizen/);
    assertFigures(await shown(page), await expectedFigures(line, { asof: ASOF, gemeente: "huizen",
      from: HALF["2021-H2"][0], to: HALF["2021-H2"][1] }), "gemeente huizen");
    assert.equal(await page.textContent("#titel-gemeente"), "Huizen");

    mark = await loaded(page);
    await page.selectOption("#k-periode", "2022-H1");
    await waitLoaded(page, mark);
    assert.match(page.url(), /[?&]period=2022-H1/);
    assertFigures(await shown(page), await expectedFigures(line, { asof: ASOF, gemeente: "huizen",
      from: HALF["2022-H1"][0], to: HALF["2022-H1"][1] }), "huizen, 2022-H1");

    // A period of its own, and a stand-per date, from the keyboard.
    mark = await loaded(page);
    await page.selectOption("#k-periode", "eigen");
    await page.fill("#k-van", "2021-03-01");
    await page.fill("#k-tot", "2021-09-30");
    await page.dispatchEvent("#k-tot", "change");
    await waitLoaded(page, mark);
    assert.match(page.url(), /[?&]period=2021-03-01\.\.2021-09-30/);
    mark = await loaded(page);
    await page.fill("#k-stand", "2021-06-30");
    await page.dispatchEvent("#k-stand", "change");
    await waitLoaded(page, mark);
    assert.match(page.url(), /[?&]asof=2021-06-30/);
    // The period is cut at the stand-per date.
    assertFigures(await shown(page), await expectedFigures(line, { asof: "2021-06-30", gemeente: "huizen",
      from: "2021-03-01", to: "2021-09-30" }), "huizen, own period, asof 2021-06-30");

    // Back to all municipalities; the browser's back button restores the view.
    mark = await loaded(page);
    await page.selectOption("#k-gemeente", "");
    await waitLoaded(page, mark);
    assert.doesNotMatch(page.url(), /gemeente=/);
    mark = await loaded(page);
    await page.goBack();
    await waitLoaded(page, mark);
    assert.match(page.url(), /gemeente=huizen/);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test("phone width", async () => {
    const page = await open(browser, `${daemon.base}/?asof=${ASOF}&period=2021-H2`, { width: 390, height: 844 });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `the page is ${wide}px wide on a 390px phone`);
    await page.screenshot({ path: path.join(ARTIFACTS, "phone-390-top.png") });
    await page.evaluate(() => document.getElementById("cat-scholingsprojecten").scrollIntoView());
    await page.screenshot({ path: path.join(ARTIFACTS, "phone-390-scholingsprojecten.png") });
    await page.close();
  });

  test("prints as the half-yearly monitor on A4", async () => {
    const page = await open(browser, `${daemon.base}/?asof=2021-12-31&period=2021-H2`);
    const sections = await page.$$eval("section.categorie", (els) => els.length);
    await page.emulateMedia({ media: "print" });
    // No controls in print.
    for (const sel of ["#keuze", "#live", "#k-afdrukken"])
      assert.equal(await page.isVisible(sel), false, `${sel} hidden in print`);
    const pdf = path.join(ARTIFACTS, "monitor-2021-H2.pdf");
    await page.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true });
    const info = pdfInfo(pdf);
    assert.equal(info.name, "A4", `page size ${info.width} x ${info.height}`);
    assert.ok(info.height > info.width, "portrait");
    // The programme (with its notes) and the charts take two pages, then every
    // category starts a page of its own and fits on it, then the explanation.
    assert.equal(info.pages, 2 + sections + 1, `pages for ${sections} categories`);
    pdfToPng(pdf, path.join(ARTIFACTS, "print"), 1, info.pages);
    await page.close();
  });
});

describe("monitor page, token file", () => {
  let daemon;
  let browser;
  let reader;

  before(async () => {
    const tokens = [];
    const made = {};
    for (const [who, role] of [["beheer", "admin"], ["lezer", "reader"]]) {
      const r = client(["token", "new", who, role]);
      assert.equal(r.status, 0, r.stderr);
      made[who] = r.stdout.split("\n").find((l) => l && !l.includes(" ")) ||
        /token:\s*(\S+)/i.exec(r.stdout)[1];
      tokens.push(r.stdout.split("\n").find((l) => l.startsWith(`${who} `)));
    }
    const dir = fs.mkdtempSync(path.join(ARTIFACTS, "tok-"));
    const file = path.join(dir, "tokens");
    fs.writeFileSync(file, tokens.join("\n") + "\n", { mode: 0o600 });
    daemon = await new Daemon(["--tokens", file]).start();
    fs.rmSync(dir, { recursive: true, force: true });
    loadData(daemon.port, ["--token", made.beheer]);
    reader = made.lezer;
    daemon.admin = made.beheer;
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (daemon) await daemon.stop();
  });

  test("asks for a reader token once, says when it is refused, keeps it for the session", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: "nl-NL" });
    await page.goto(`${daemon.base}/?asof=${ASOF}`);
    await page.waitForSelector("#toegang[open]", { timeout: TIMEOUT });
    await page.fill("#toegang-code", "not-the-token");
    await page.press("#toegang-code", "Enter");
    await page.waitForFunction(() => document.getElementById("toegang").open &&
      /geweigerd/.test(document.getElementById("toegang-tekst").textContent), null, { timeout: TIMEOUT });
    await page.screenshot({ path: path.join(ARTIFACTS, "token-refused.png") });
    await page.fill("#toegang-code", reader);
    await page.press("#toegang-code", "Enter");
    await waitLoaded(page, "");
    const line = await daemon.line(reader);
    const exp = await expectedFigures(line, { asof: ASOF, from: "2022-01-01", to: "2022-06-30" });
    assertFigures(await shown(page), exp, "with a reader token");
    // The token stays in this tab's session only.
    assert.equal(await page.evaluate(() => sessionStorage.getItem("werkmonitor-token")), reader);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    // Live with the token: the stream sends it too.
    await page.evaluate(() => { window.notReloaded = true; });
    const admin = await daemon.line(daemon.admin);
    const key = "programma|started|actual";
    const before = Number(await page.getAttribute(`[data-k="${key}"]`, "data-v"));
    assert.match(await admin.cmd("EVENT started id=browser-tok-1 person=browser-person-2 gemeente=laren " +
      "date=2022-02-01 project=zorgstart kind=scholing"), /^OK \d+$/);
    await page.waitForFunction(([k, v]) => document.querySelector(`[data-k="${k}"]`).dataset.v === String(v),
      [key, before + 1], { timeout: TIMEOUT });
    assert.equal(await page.evaluate(() => window.notReloaded), true);
    // A reload in the same tab does not ask again.
    await page.reload();
    await waitLoaded(page, "");
    assert.equal(await page.isVisible("#toegang"), false);
    admin.close();
    line.close();
    await page.close();
  });
});
