/**
 * The report as a person sees it: realistic results files are rendered by `reportCommand`, then
 * Debian's headless Chromium opens the page from disk, with networking off, and
 * - dumps the DOM, where the page script has written how many charts it drew and how many
 *   errors happened (`#render-status`),
 * - takes a full-page screenshot, which must be a real picture.
 *
 * Set REPORT_SCREENSHOT_DIR to keep the screenshots and pages there (report_steady, report_cold,
 * report_many; .png and .html).
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { encodeHistogram } from "../smft/histogram.ts";
import { reportCommand } from "../tools/report/command.ts";
import { Accumulator } from "../smft/summary.ts";
import { seededRandom } from "../tools/random.ts";
import { r3 } from "../smft/results_format.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const CHROMIUM_TIMEOUT_MS = 60_000;

function meta(test: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    test,
    target: "localhost:50051",
    server_name: "localhost",
    tls_mode: "mtls",
    warmup_s: 1,
    deadline_ms: 1000,
    start_epoch_ms: 1764041234567,
    tls: { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", alpn: "h2" },
    tool: "smft 0.1.0",
    deno: "2.9.3",
    grpc_js: "1.14.7",
    host: "loadhost-1",
    shard: "1/1",
    payload_bytes: 412,
    ...extra,
  };
}

/**
 * A steady run against df holding 5 ms: 10 s at 200/s, a log-normal spread with a thin tail,
 * one 12 ms generator stall at 6.3 s, and three failed calls.
 */
export async function writeSteadyFile(
  path: string,
  opts: {
    seed?: number;
    extraMs?: number;
    /** Requests per second. @default 200 */
    rate?: number;
    /** Seconds of measurement. @default 10 */
    seconds?: number;
    /** Mean of an exponential queueing delay added to a share `queueShare` of calls (a busy server). */
    queueMs?: number;
    queueShare?: number;
    /** smft's verdict in #END, with its reasons. @default true */
    valid?: boolean;
    reasons?: string[];
    /** Added to the start instant (runs of a ladder start one after another). */
    startOffsetMs?: number;
  } = {},
) {
  const rand = seededRandom(opts.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const rate = opts.rate ?? 200;
  const seconds = opts.seconds ?? 10;
  const n = rate * seconds;
  const acc = new Accumulator("01_steady", { keepSeries: false });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = (i * 1000) / rate;
    // A stall of the generator: requests due during it go out late (and count that delay).
    const stallEnd = 6312;
    const lag = t >= 6300 && t < stallEnd ? stallEnd - t + 0.05 : 0.02 + rand() * 0.06;
    const dfMs = 5.005 + rand() * 0.03;
    let service = dfMs + 0.3 + Math.exp(-1.6 + 0.6 * gauss()) + (opts.extraMs ?? 0);
    if (rand() < 0.01) service += 1 + rand() * 3;
    if (opts.queueMs && rand() < (opts.queueShare ?? 0.05)) {
      service += -Math.log(1 - rand()) * opts.queueMs;
    }
    let failure: { code: string; error: string } | undefined;
    if (i === Math.round(n * 0.825) || i === Math.round(n * 0.825) + 1) {
      failure = { code: "UNAVAILABLE", error: "Connection dropped" };
      service = 1.2 + rand() * 0.2;
    } else if (i === n - 10) {
      failure = { code: "DEADLINE_EXCEEDED", error: "Deadline exceeded" };
      service = 1000.3;
    }
    // Field order as smft writes them.
    const rec: Record<string, unknown> = failure ? { ok: false, code: failure.code } : { ok: true };
    rec.latency_ms = r3(lag + service);
    rec.service_ms = r3(service);
    rec.lag_ms = r3(lag);
    rec.t_ms = r3(t);
    if (failure) rec.error = failure.error;
    else rec.df_ms = r3(dfMs);
    lines.push(JSON.stringify(rec));
    acc.add(rec);
  }
  const end = {
    count: lines.length,
    ok: acc.ok,
    errors: { UNAVAILABLE: 2, DEADLINE_EXCEEDED: 1 },
    interrupted: false,
    elapsed_s: seconds,
    achieved_rps: rate,
    valid: opts.valid ?? true,
    ...(opts.valid === false
      ? { verdict_reasons: opts.reasons ?? ["lag p99 2.40 ms (limit 1 ms)"] }
      : {}),
    histograms: {
      latency_us: encodeHistogram(acc.latency.hist),
      service_us: encodeHistogram(acc.service.hist),
      lag_us: encodeHistogram(acc.lag.hist),
    },
  };
  acc.destroy();
  const head = [
    "#TEST=01_steady",
    `#META=${
      JSON.stringify(
        meta("01_steady", {
          rate,
          host_rate: rate,
          duration_s: seconds,
          planned_requests: n,
          start_epoch_ms: 1764041234567 + (opts.startOffsetMs ?? 0),
        }),
      )
    }`,
  ];
  await Deno.writeTextFile(path, [...head, ...lines, `#END=${JSON.stringify(end)}`, ""].join("\n"));
}

/** A cold-connection run: 20 attempts, 2 per second, one refused during the TLS handshake. */
export async function writeColdFile(path: string, opts: { seed?: number } = {}) {
  const rand = seededRandom(opts.seed ?? 2);
  const lines: string[] = [];
  for (let i = 0; i < 20; i++) {
    const t = i * 500;
    const dns = 0.05 + rand() * 0.1;
    const tcp = dns + 0.2 + rand() * 0.15;
    if (i === 13) {
      lines.push(JSON.stringify({
        ok: false,
        phase: "tls",
        code: "UNAVAILABLE",
        error: "handshake aborted: peer closed",
        t_ms: t,
        lag_ms: 0.04,
        t_dns_ms: r3(dns),
        t_tcp_ms: r3(tcp),
      }));
      continue;
    }
    const tls = tcp + 1.5 + rand() * 0.6 + (i === 0 ? 2.5 : 0);
    const h2 = tls + 0.9 + rand() * 0.4;
    const connect = h2 + 0.2 + rand() * 0.2;
    const first = 5.6 + rand() * 0.8 + (i === 0 ? 1.5 : 0);
    lines.push(JSON.stringify({
      ok: true,
      t_connect_ms: r3(connect),
      t_first_rpc_ms: r3(first),
      t_total_ms: r3(connect + first),
      t_dns_ms: r3(dns),
      t_tcp_ms: r3(tcp),
      t_tls_ms: r3(tls),
      t_h2_ms: r3(h2),
      t_ms: t,
      lag_ms: r3(0.03 + rand() * 0.05),
      tls: "TLSv1.3",
      cipher: "TLS_AES_256_GCM_SHA384",
      alpn: "h2",
      resumed: false,
      peer_subject: "CN=localhost",
      overlap: 0,
    }));
  }
  const end = {
    count: 20,
    ok: 19,
    errors: { UNAVAILABLE: 1 },
    interrupted: false,
    elapsed_s: 10,
    achieved_rps: 2,
  };
  const head = [
    "#TEST=02_coldconn",
    `#META=${
      JSON.stringify(
        meta("02_coldconn", { rate: 2, duration_s: 10, attempts: 20, resumption: false }),
      )
    }`,
  ];
  await Deno.writeTextFile(path, [...head, ...lines, `#END=${JSON.stringify(end)}`, ""].join("\n"));
}

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--hide-scrollbars",
  "--virtual-time-budget=5000",
];

/** Runs Chromium on a page with a fresh profile; killed by its pid if it overruns. */
async function chromium(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const profile = await Deno.makeTempDir({ prefix: "report-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, CHROMIUM_TIMEOUT_MS);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    if (timedOut) throw new Error(`chromium did not finish within ${CHROMIUM_TIMEOUT_MS} ms`);
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

interface RenderStatus {
  charts: number;
  errors: number;
  expected: number;
  done: boolean;
  /** Pairs of legend entries of one chart that look alike, as the page counted them. */
  clashes: number;
  /** Per chart id, what each legend entry drew: `colour|line|dash` (from the dumped DOM). */
  legends: Map<string, string[]>;
}

/** The legend samples of each chart in a dumped DOM, by chart id. */
function legendsOf(dom: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const parts = dom.split(/<div class="plot" id="/).slice(1);
  for (const part of parts) {
    const id = part.slice(0, part.indexOf('"'));
    const keys = [
      ...part.matchAll(
        /class="u-marker"[^>]*data-key="([^"]*)"|data-key="([^"]*)"[^>]*class="u-marker"/g,
      ),
    ]
      .map((m) => m[1] ?? m[2]);
    out.set(id, keys);
  }
  return out;
}

/** Every chart drew a legend, and within each no two entries look alike. */
function assertDistinctLegends(status: RenderStatus) {
  assert.equal(status.clashes, 0, "the page counted legend entries that look alike");
  assert.equal(status.legends.size, status.expected, "a chart without its legend");
  for (const [id, keys] of status.legends) {
    assert.ok(keys.length > 0, `${id}: no legend samples`);
    const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
    assert.deepEqual(twice, [], `${id}: legend entries look alike: ${twice.join(", ")}`);
  }
}

function renderStatus(dom: string): RenderStatus {
  const tag = dom.match(/<div id="render-status"[^>]*>/)?.[0];
  assert.ok(tag, "the dumped DOM has no #render-status element");
  const attr = (name: string) => tag.match(new RegExp(`${name}="([^"]*)"`))?.[1] ?? "";
  return {
    charts: Number(attr("data-charts")),
    errors: Number(attr("data-errors")),
    expected: Number(attr("data-expected")),
    done: attr("data-done") === "1",
    clashes: Number(attr("data-legend-clashes")),
    legends: legendsOf(dom),
  };
}

/** PNG width and height from its IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  assert.deepEqual([...bytes.subarray(0, 8)], sig, "the screenshot is not a PNG");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Renders, dumps the DOM and screenshots one report; returns what the browser saw. */
async function openInChromium(html: string, png: string): Promise<RenderStatus> {
  const url = `file://${html}`;
  const dom = await chromium(["--dump-dom", url]);
  assert.equal(dom.code, 0, `chromium --dump-dom failed: ${dom.stderr.slice(-500)}`);
  const status = renderStatus(dom.stdout);
  const shot = await chromium([`--screenshot=${png}`, "--window-size=1280,2400", url]);
  assert.equal(shot.code, 0, `chromium --screenshot failed: ${shot.stderr.slice(-500)}`);
  const bytes = await Deno.readFile(png);
  const size = pngSize(bytes);
  assert.equal(size.width, 1280);
  // A blank page compresses to a few KB; charts, tables and text take far more.
  assert.ok(bytes.length > 60_000, `screenshot is only ${bytes.length} bytes`);
  return status;
}

/** Keeps the screenshot and its page (same name, .html) where REPORT_SCREENSHOT_DIR says. */
async function keep(png: string, html: string, name: string) {
  const dir = Deno.env.get("REPORT_SCREENSHOT_DIR");
  if (!dir) return;
  await Deno.copyFile(png, join(dir, `${name}.png`));
  await Deno.copyFile(html, join(dir, `${name}.html`));
}

const ignore = !HAVE_CHROMIUM;
const skipReason = ignore ? ` (skipped: ${CHROMIUM} is not installed)` : "";

Deno.test({
  name: `a steady report draws its charts in Chromium without errors${skipReason}`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report-browser-" });
    try {
      const file = join(dir, "steady_200rps.jsonl");
      await writeSteadyFile(file);
      const out = join(dir, "out", "report.html");
      const res = await reportCommand([
        file,
        "--out",
        out,
        "--title",
        "df steady load, 200/s",
        "--slo",
        "p99<10ms,service.p99<10ms,success>=99.9%",
      ]);
      // Three failed calls of 2,000 miss success >= 99.9 %: written, and exit 2.
      assert.equal(res.code, 2, res.stderr);
      assert.equal(res.stdout.trim(), out);
      const png = join(dir, "steady.png");
      const status = await openInChromium(out, png);
      assert.ok(status.done, "the page script did not finish");
      assert.equal(status.errors, 0, "the page reported script errors");
      // Latency over time, requests, errors (a panel each), percentile spectrum.
      assert.equal(status.expected, 4);
      assert.equal(status.charts, 4, `only ${status.charts} of 4 charts drew`);
      assertDistinctLegends(status);
      await keep(png, out, "report_steady");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `a report of several runs overlays them and draws every chart${skipReason}`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report-browser-" });
    try {
      const a = join(dir, "host1.jsonl");
      const b = join(dir, "host2.jsonl");
      const c = join(dir, "cold.jsonl");
      await writeSteadyFile(a, { seed: 3 });
      await writeSteadyFile(b, { seed: 4, extraMs: 0.8 });
      await writeColdFile(c);
      const out = join(dir, "report.html");
      const res = await reportCommand([a, b, c, "--out", out]);
      assert.equal(res.code, 0, res.stderr);
      const status = await openInChromium(out, join(dir, "many.png"));
      assert.ok(status.done, "the page script did not finish");
      assert.equal(status.errors, 0, "the page reported script errors");
      // Steady: p50, p99, max over time, requests, errors, spectrum; cold: attempts, spectrum.
      assert.equal(status.expected, 8);
      assert.equal(status.charts, 8, `only ${status.charts} of 8 charts drew`);
      assertDistinctLegends(status);
      await keep(join(dir, "many.png"), out, "report_many");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `a cold-connection report draws its phase bars in Chromium without errors${skipReason}`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report-browser-" });
    try {
      const file = join(dir, "coldconn_20.jsonl");
      await writeColdFile(file);
      const out = join(dir, "report.html");
      const res = await reportCommand([file, "--out", out]);
      assert.equal(res.code, 0, res.stderr);
      const png = join(dir, "cold.png");
      const status = await openInChromium(out, png);
      assert.ok(status.done, "the page script did not finish");
      assert.equal(status.errors, 0, "the page reported script errors");
      assert.equal(status.expected, 2);
      assert.equal(status.charts, 2, `only ${status.charts} of 2 charts drew`);
      assertDistinctLegends(status);
      await keep(png, out, "report_cold");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** A ladder of four rates against one df: p99 climbs, and the top rate's generator fell behind. */
async function writeLadder(dir: string): Promise<string[]> {
  const steps = [
    { rate: 200, queueMs: 0 },
    { rate: 400, queueMs: 1 },
    { rate: 600, queueMs: 6, queueShare: 0.08 },
    { rate: 800, queueMs: 25, queueShare: 0.2, valid: false },
  ];
  const paths: string[] = [];
  for (const [i, s] of steps.entries()) {
    const path = join(dir, `01_steady_results_${s.rate}rps.txt`);
    await writeSteadyFile(path, { seed: 10 + i, seconds: 6, startOffsetMs: i * 8000, ...s });
    paths.push(path);
  }
  return paths;
}

Deno.test({
  name:
    `a ladder report draws latency against rate with the knee, legends all distinct${skipReason}`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report-browser-" });
    try {
      const files = await writeLadder(dir);
      const out = join(dir, "ladder.html");
      const res = await reportCommand([...files, "--out", out, "--slo", "p99<10ms"]);
      // The 800/s step is INVALID and fails the SLO: the gate exits 5, as smft's ladder would.
      assert.equal(res.code, 5, res.stderr);
      const html = await Deno.readTextFile(out);
      assert.ok(html.includes('id="ladder-0-latency"'), "no ladder chart");
      assert.match(html, /<b>knee at (200|400)\/s<\/b>/);
      // Legends name runs by what differs: the rate, not the whole file name.
      assert.ok(html.includes('"label":"200rps"'), "legends carry the short names");
      const png = join(dir, "ladder.png");
      const status = await openInChromium(out, png);
      assert.ok(status.done, "the page script did not finish");
      assert.equal(status.errors, 0, "the page reported script errors");
      // Ladder: latency, achieved, errors; steady: p50, p99, max, requests, errors, spectrum.
      assert.equal(status.expected, 9);
      assert.equal(status.charts, 9, `only ${status.charts} of 9 charts drew`);
      assertDistinctLegends(status);
      const ladder = status.legends.get("ladder-0-latency")!;
      assert.ok(ladder.length >= 6, `ladder legend: ${ladder.join(", ")}`);
      await keep(png, out, "report_ladder");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `a two-run comparison gives one colour per run and distinct legends${skipReason}`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report-browser-" });
    try {
      const a = join(dir, "nightly_df-v1.txt");
      const b = join(dir, "nightly_df-v2.txt");
      await writeSteadyFile(a, { seed: 3 });
      await writeSteadyFile(b, { seed: 4, extraMs: 0.8, startOffsetMs: 86_400_000 });
      const out = join(dir, "compare.html");
      const res = await reportCommand([a, b, "--out", out]);
      assert.equal(res.code, 0, res.stderr);
      const html = await Deno.readTextFile(out);
      assert.ok(!html.includes('id="ladder-0-latency"'), "two runs at one rate are no ladder");
      assert.ok(html.includes('"label":"v1"') && html.includes('"label":"v2"'), "short names");
      const png = join(dir, "compare.png");
      const status = await openInChromium(out, png);
      assert.ok(status.done, "the page script did not finish");
      assert.equal(status.errors, 0, "the page reported script errors");
      assert.equal(status.expected, 6);
      assert.equal(status.charts, 6, `only ${status.charts} of 6 charts drew`);
      assertDistinctLegends(status);
      // One colour per run: the p99 panel has exactly two entries, two colours.
      const p99 = status.legends.get("steady-p99-time")!;
      assert.equal(p99.length, 2);
      assert.notEqual(p99[0].split("|")[0], p99[1].split("|")[0]);
      await keep(png, out, "report_compare");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: `a capacity search's report of six steps does not scroll sideways at 1400 px${skipReason}`,
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "report-browser-" });
    try {
      // As steady --find-capacity leaves them: x2 up, then bisect; the last step INVALID.
      const steps = [
        { rate: 500 },
        { rate: 1000 },
        { rate: 2000, queueMs: 6, queueShare: 0.08 },
        { rate: 1500 },
        { rate: 1250, queueMs: 2 },
        { rate: 1375, valid: false, reasons: ["lag p99 1.20 ms (limit 1 ms)"] },
      ];
      const files: string[] = [];
      for (const [i, s] of steps.entries()) {
        const path = join(dir, `01_steady_results_${s.rate}rps.txt`);
        await writeSteadyFile(path, { seed: 20 + i, seconds: 2, startOffsetMs: i * 8000, ...s });
        files.push(path);
      }
      const out = join(dir, "01_steady_results_capacity.html");
      const res = await reportCommand([...files, "--out", out, "--slo", "p99<10ms"]);
      assert.notEqual(res.code, 1, res.stderr);
      const dom = await chromium(["--window-size=1400,2000", "--dump-dom", `file://${out}`]);
      assert.equal(dom.code, 0, dom.stderr.slice(-500));
      const tag = dom.stdout.match(/<div id="render-status"[^>]*>/)?.[0] ?? "";
      assert.match(tag, /data-done="1"/, tag);
      // The run metadata has a column per step: it scrolls in its own box, not the page.
      assert.match(tag, /data-overflow-x="0"/, tag);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
