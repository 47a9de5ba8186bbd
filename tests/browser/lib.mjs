// Helpers of the monitor page's browser test: start the real werkmonitord (line protocol
// and HTTP listener) on free ports, speak the line protocol, launch Debian's chromium
// through playwright-core.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = path.resolve(process.env.WM_SOURCE_DIR || path.join(HERE, "..", ".."));
export const BUILD_DIR = path.resolve(process.env.WM_BUILD_DIR || path.join(SOURCE_DIR, "build"));
export const DAEMON = path.join(BUILD_DIR, "werkmonitord");
export const CLIENT = path.join(BUILD_DIR, "werkmonitor");
export const ARTIFACTS = path.resolve(process.env.WM_BROWSER_ARTIFACTS || path.join(BUILD_DIR, "browser-artifacts"));
// Generous: the sanitizer build is several times slower.
export const TIMEOUT = 30000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// One line-protocol connection: cmd() sends a request and resolves to its response, a
// string for one line or an array of parsed ROW objects for a block.
export class Line {
  constructor(port) {
    this.port = port;
    this.buf = "";
    this.lines = [];
    this.waiters = [];
  }

  connect() {
    return new Promise((resolve, reject) => {
      this.sock = net.createConnection({ host: "127.0.0.1", port: this.port }, resolve);
      this.sock.setEncoding("utf8");
      this.sock.on("error", reject);
      this.sock.on("data", (d) => {
        this.buf += d;
        let i;
        while ((i = this.buf.indexOf("\n")) >= 0) {
          this.lines.push(this.buf.slice(0, i));
          this.buf = this.buf.slice(i + 1);
        }
        this.pump();
      });
    });
  }

  pump() {
    while (this.waiters.length) {
      const w = this.waiters[0];
      const rows = [];
      let done = null;
      let used = 0;
      for (const l of this.lines) {
        used++;
        if (l.startsWith("ROW ")) rows.push(parseRow(l));
        else if (l.startsWith("END ")) {
          done = rows;
          break;
        } else {
          done = l;
          break;
        }
      }
      if (done === null) return;
      this.lines.splice(0, used);
      this.waiters.shift();
      w(done);
    }
  }

  cmd(line) {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.sock.write(line + "\n");
    });
  }

  async rows(line) {
    const r = await this.cmd(line);
    if (!Array.isArray(r)) throw new Error(`${line}: ${r}`);
    return r;
  }

  close() {
    this.sock.end();
  }
}

function parseRow(line) {
  const row = {};
  for (const kv of line.slice(4).split(" ")) {
    const i = kv.indexOf("=");
    const v = decodeURIComponent(kv.slice(i + 1));
    row[kv.slice(0, i)] = v === "-" ? null : /^\d+$/.test(v) ? Number(v) : v;
  }
  return row;
}

// The real daemon on free ports with a fresh data directory; flags are extra argv.
export class Daemon {
  constructor(flags = []) {
    this.flags = flags;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "wm-browser-"));
  }

  async start() {
    this.port = await freePort();
    this.httpPort = await freePort();
    this.log = fs.openSync(path.join(this.dir, "daemon.log"), "a");
    this.proc = spawn(DAEMON, ["--data", path.join(this.dir, "data"), "--listen", `127.0.0.1:${this.port}`,
      "--http-listen", `127.0.0.1:${this.httpPort}`, "--audit-log", "none", ...this.flags],
    { stdio: ["ignore", this.log, this.log] });
    this.exited = false;
    this.proc.on("exit", () => { this.exited = true; });
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      if (this.exited) throw new Error(`werkmonitord exited: ${this.stderr()}`);
      try {
        await new Promise((resolve, reject) => {
          const s = net.createConnection({ host: "127.0.0.1", port: this.httpPort }, () => { s.end(); resolve(); });
          s.on("error", reject);
        });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error("werkmonitord did not start listening");
        await sleep(50);
      }
    }
    this.base = `http://127.0.0.1:${this.httpPort}`;
    return this;
  }

  stderr() {
    try {
      return fs.readFileSync(path.join(this.dir, "daemon.log"), "utf8");
    } catch (e) {
      return "";
    }
  }

  // Stops the daemon; throws when it did not exit 0 or the sanitizers reported.
  async stop() {
    let code = 0;
    if (this.proc && !this.exited) {
      const done = new Promise((r) => this.proc.on("exit", (c) => r(c)));
      this.proc.kill("SIGTERM");
      code = await done;
    }
    if (this.log !== undefined) fs.closeSync(this.log);
    const log = this.stderr();
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (code !== 0 || /AddressSanitizer|LeakSanitizer|runtime error:/.test(log))
      throw new Error(`werkmonitord exited with ${code}:\n${log.slice(-4000)}`);
  }

  async line(token) {
    const c = new Line(this.port);
    await c.connect();
    if (token) {
      const r = await c.cmd(`AUTH ${token}`);
      if (!r.startsWith("OK")) throw new Error(`AUTH: ${r}`);
    }
    return c;
  }
}

// Runs the client with stdin text; returns {status, stdout, stderr}.
export function client(args, input) {
  const r = spawnSync(CLIENT, args, { input, encoding: "utf8", maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Loads the region's registry and the generated events (tests/browser/gen_events.py);
// every line must answer OK.
export function loadData(port, extraArgs = []) {
  const registry = fs.readFileSync(path.join(SOURCE_DIR, "data", "gooi-en-vechtstreek.wm"), "utf8");
  const gen = spawnSync("python3", [path.join(HERE, "gen_events.py"), "1"], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (gen.status !== 0) throw new Error(`gen_events.py: ${gen.stderr}`);
  const all = registry + gen.stdout;
  const r = client(["--port", String(port), ...extraArgs, "raw"], all);
  const replies = r.stdout.split("\n").filter(Boolean);
  const bad = replies.filter((l) => !l.startsWith("OK"));
  const expected = all.split("\n").filter(Boolean).length;
  if (r.status !== 0 || bad.length || replies.length !== expected)
    throw new Error(`loading data: ${replies.length}/${expected} replies, ${bad.slice(0, 3).join("; ")} ${r.stderr}`);
  return expected;
}

export async function launch() {
  const { chromium } = await import(path.join(HERE, "node_modules", "playwright-core", "index.mjs"));
  return chromium.launch({
    executablePath: process.env.WM_CHROMIUM || "/usr/bin/chromium",
    // Without the background-networking flags chromium tries to reach Google's hosts.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--lang=nl-NL"],
    env: { ...process.env, LANG: "nl_NL.UTF-8", LANGUAGE: "nl" },
  });
}

export function pdfInfo(file) {
  const r = spawnSync("pdfinfo", [file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pdfinfo: ${r.stderr}`);
  const pages = Number(/^Pages:\s+(\d+)/m.exec(r.stdout)[1]);
  const size = /^Page size:\s+([\d.]+) x ([\d.]+) pts(?: \((\w+)\))?/m.exec(r.stdout);
  return { pages, width: Number(size[1]), height: Number(size[2]), name: size[3] || "" };
}

export function pdfToPng(file, prefix, first, last) {
  const r = spawnSync("pdftoppm", ["-r", "80", "-png", "-f", String(first), "-l", String(last), file, prefix],
    { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pdftoppm: ${r.stderr}`);
}
