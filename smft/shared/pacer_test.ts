import assert from "node:assert/strict";
import {
  describePacing,
  INITIAL_LEAD_MS,
  nextWait,
  Pacer,
  type PacerHost,
  SleepLateness,
  SPIN_AHEAD_MS,
} from "./pacer.ts";
import type { Alarm } from "./alarm.ts";

/**
 * A fake thread: a turn costs `turnMs`; a sleep of n ms ends `overshootMs` after n ms, like
 * Deno's timer (which ends 1–2.2 ms after its whole-ms request).
 */
class FakeHost implements PacerHost {
  t = 0;
  turns: (() => void)[] = [];
  sleeps = new Map<number, { at: number; cb: () => void }>();
  requested: number[] = [];
  /** Turns run so far. */
  turnsRun = 0;
  #id = 0;
  constructor(public turnMs = 0.002, public overshootMs = 1.1) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, cb: () => void): unknown {
    this.requested.push(ms);
    this.sleeps.set(++this.#id, { at: this.t + ms + this.overshootMs, cb });
    return this.#id;
  }
  cancel(h: unknown): void {
    this.sleeps.delete(h as number);
  }
  turn(cb: () => void): void {
    this.turns.push(cb);
  }
  /** `wake`'s alarm: fires `alarmLateMs` after its instant, as one sleep of the fake thread. */
  alarmLateMs = 0.01;
  alarmsSet = 0;
  alarm(): Alarm {
    let id: number | undefined;
    return {
      ready: Promise.resolve(),
      set: (due, cb) => {
        this.alarmsSet++;
        if (id !== undefined) this.sleeps.delete(id);
        this.sleeps.set(id = ++this.#id, { at: due + this.alarmLateMs, cb });
      },
      clear: () => void (id !== undefined && this.sleeps.delete(id)),
      close: () => void (id !== undefined && this.sleeps.delete(id)),
    };
  }
  /** Runs turns and sleeps until nothing is armed or `until` is reached. */
  run(until = Infinity): void {
    while (this.t < until) {
      const turn = this.turns.shift();
      if (turn) {
        this.t += this.turnMs;
        this.turnsRun++;
        turn();
        continue;
      }
      const next = [...this.sleeps.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) return;
      this.sleeps.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].cb();
    }
  }
}

/** Schedules `n` callbacks `stepMs` apart from `t0`; returns when each ran, by index. */
function schedule(pacer: Pacer, t0: number, n: number, stepMs: number): number[] {
  const ran: number[] = [];
  for (let i = 0; i < n; i++) pacer.at(t0 + i * stepMs, () => ran[i] = pacer.now());
  return ran;
}

Deno.test("nextWait(): spin sleeps only while the next instant is over SPIN_AHEAD_MS away; timer sleeps whole ms ending by the due instant, else spins", () => {
  assert.deepEqual(nextWait("spin", 0, undefined, 2.3), { kind: "idle" });
  assert.deepEqual(nextWait("spin", 5, 5, 2.3), { kind: "run" });
  assert.deepEqual(nextWait("spin", 0, SPIN_AHEAD_MS + 3.2, 2.3), { kind: "spin" });
  assert.deepEqual(nextWait("spin", 0, 1000, 2.3), {
    kind: "sleep",
    ms: Math.floor(1000 - 2.3 - SPIN_AHEAD_MS),
  });
  assert.deepEqual(nextWait("timer", 0, 10, 2.3), { kind: "sleep", ms: 7 });
  assert.deepEqual(nextWait("timer", 0, 10.9, 1.15), { kind: "sleep", ms: 9 });
  assert.deepEqual(nextWait("timer", 0, 3.2, 2.3), { kind: "spin" });
  assert.deepEqual(nextWait("timer", 4, 3, 2.3), { kind: "run" });
});

Deno.test("spin: every callback runs in the first turn at or after its instant, none early, with no sleep", () => {
  const host = new FakeHost();
  const pacer = new Pacer("spin", host);
  const ran = schedule(pacer, 1, 50, 0.5);
  host.run();
  assert.equal(ran.length, 50);
  ran.forEach((at, i) => {
    const due = 1 + i * 0.5;
    assert.ok(at >= due, `callback ${i} ran early`);
    assert.ok(at - due <= host.turnMs + 1e-9, `callback ${i} ran ${at - due} ms late`);
  });
  assert.equal(pacer.stats.sleeps, 0);
  assert.equal(pacer.stats.runs, 50);
  assert.equal(host.requested.length, 0);
});

Deno.test("timer: sleeps while the next instant is far, wakes before it, spins the rest; none early", () => {
  const host = new FakeHost(0.002, 1.1);
  const pacer = new Pacer("timer", host);
  const ran = schedule(pacer, 0, 20, 10);
  host.run();
  assert.equal(ran.length, 20);
  ran.forEach((at, i) => {
    assert.ok(at >= i * 10, `callback ${i} ran early`);
    assert.ok(at - i * 10 <= host.turnMs + 1e-9, `callback ${i} ran late`);
  });
  // One sleep per gap of 10 ms (the first callback is due at once).
  assert.equal(pacer.stats.sleeps, 19);
  assert.ok(host.requested.every((ms) => Number.isInteger(ms) && ms >= 1), "whole ms only");
});

Deno.test("timer: with less than the lead plus 1 ms between instants it never sleeps (it is spin)", () => {
  const host = new FakeHost();
  const pacer = new Pacer("timer", host);
  const ran = schedule(pacer, 0, 100, 1); // 1000/s
  host.run();
  assert.equal(ran.length, 100);
  assert.equal(pacer.stats.sleeps, 0);
});

Deno.test("SleepLateness learns the timer's overshoot: the lead falls from its start to the p99 plus a margin", () => {
  const l = new SleepLateness();
  assert.equal(l.leadMs, INITIAL_LEAD_MS);
  for (let i = 0; i < 49; i++) l.record(3, 4.1);
  assert.equal(l.leadMs, INITIAL_LEAD_MS, "unchanged until 50 are known");
  for (let i = 0; i < 151; i++) l.record(3, 3 + 1.05 + (i % 10) / 100); // 1.05 .. 1.14
  assert.ok(Math.abs(l.leadMs - (1.14 + SleepLateness.MARGIN_MS)) < 1e-9, String(l.leadMs));
});

Deno.test("timer: a learned lead lets sleeps end closer to the instant (less spinning), never after it", () => {
  const host = new FakeHost(0.002, 1.1);
  const pacer = new Pacer("timer", host);
  const ran = schedule(pacer, 0, 300, 5.5);
  host.run();
  ran.forEach((at, i) => assert.ok(at >= i * 5.5 && at - i * 5.5 <= 0.0021, `callback ${i}`));
  assert.ok(pacer.lateness.leadMs < 1.2, `lead ${pacer.lateness.leadMs}`);
  // Late requests (learned lead 1.15 ms): 5.5 - 1.15 -> 4 ms; early ones (2.3 ms): 3 ms.
  assert.equal(host.requested.at(-1), 4);
  assert.equal(host.requested[0], 3);
});

Deno.test("timer: an earlier callback added during a sleep cuts the sleep short", () => {
  const host = new FakeHost(0.002, 1.1);
  const pacer = new Pacer("timer", host);
  let late = -1, early = -1;
  pacer.at(50, () => late = host.t);
  assert.equal(host.sleeps.size, 1);
  host.t = 1;
  pacer.at(6, () => early = host.t);
  host.run();
  assert.ok(early >= 6 && early - 6 < 0.01, `early ran at ${early}`);
  assert.ok(late >= 50 && late - 50 < 0.01, `late ran at ${late}`);
});

Deno.test("callbacks added while running wait for the next turn; FIFO among equal instants", () => {
  const host = new FakeHost();
  const pacer = new Pacer("spin", host);
  const order: string[] = [];
  let turnOfA = -1, turnOfAdded = -1;
  pacer.at(1, () => {
    order.push("a");
    turnOfA = host.turnsRun;
    // Already due, but it runs in a later turn, after what was already there for this instant.
    pacer.at(1, () => {
      order.push("added");
      turnOfAdded = host.turnsRun;
    });
  });
  pacer.at(1, () => order.push("b"));
  pacer.at(1, () => order.push("c"));
  host.run();
  assert.deepEqual(order, ["a", "b", "c", "added"]);
  assert.ok(turnOfAdded > turnOfA, "not in the same turn");
});

Deno.test("a throwing callback does not strand the later ones; close() drops what is pending", () => {
  const host = new FakeHost();
  const pacer = new Pacer("spin", host);
  const ran: number[] = [];
  pacer.at(1, () => {
    throw new Error("boom");
  });
  pacer.at(2, () => ran.push(2));
  assert.throws(() => host.run(), /boom/);
  host.run();
  assert.deepEqual(ran, [2]);
  pacer.at(10, () => ran.push(10));
  pacer.close();
  host.run();
  assert.deepEqual(ran, [2]);
  assert.throws(() => pacer.at(20, () => {}), /closed/);
});

Deno.test("wake: the thread never spins; each callback runs when the alarm wakes it, none early; what is due by then runs in that one wake-up", () => {
  const host = new FakeHost(0.002);
  host.alarmLateMs = 0.05;
  const pacer = new Pacer("wake", host);
  const ran = schedule(pacer, 1, 20, 0.5);
  // Two due at the same instant share a wake-up.
  let twin = NaN;
  pacer.at(3, () => twin = pacer.now());
  host.run();
  assert.equal(pacer.stats.spins, 0);
  ran.forEach((at, i) =>
    assert.ok(at >= 1 + i * 0.5 && at <= 1 + i * 0.5 + 0.06, `callback ${i} at ${at}`)
  );
  assert.equal(twin, ran[4]);
  assert.equal(pacer.stats.sleeps, 20);
});

Deno.test("wake: an earlier callback added while waiting sets the alarm again; close() stops it", () => {
  const host = new FakeHost(0.002);
  const pacer = new Pacer("wake", host);
  const ran: number[] = [];
  pacer.at(10, () => ran.push(pacer.now()));
  // An event of the thread's own (a response read) at ~2 ms adds an entry due at 4.
  host.sleep(1, () => pacer.at(4, () => ran.push(pacer.now())));
  host.run();
  assert.equal(ran.length, 2);
  assert.ok(ran[0] >= 4 && ran[0] < 4.1, String(ran[0]));
  assert.ok(ran[1] >= 10 && ran[1] < 10.1, String(ran[1]));
  pacer.at(20, () => ran.push(pacer.now()));
  pacer.close();
  host.run();
  assert.equal(ran.length, 2, "nothing runs after close()");
});

Deno.test("Pacer on Deno's own timers runs a schedule in order and never early, in every mode", async () => {
  for (const mode of ["wake", "spin", "timer"] as const) {
    const pacer = new Pacer(mode);
    const t0 = performance.now() + 2;
    const dues = Array.from({ length: 40 }, (_, i) => t0 + i * (mode === "timer" ? 4 : 0.3));
    const ran: { i: number; at: number }[] = [];
    await new Promise<void>((resolve) => {
      dues.forEach((due, i) =>
        pacer.at(due, () => {
          ran.push({ i, at: performance.now() });
          if (ran.length === dues.length) resolve();
        })
      );
    });
    pacer.close();
    assert.deepEqual(ran.map((r) => r.i), dues.map((_, i) => i), mode);
    for (const r of ran) assert.ok(r.at >= dues[r.i], `${mode}: callback ${r.i} ran early`);
  }
});

Deno.test("spin at 1/s sleeps between instants and spins only the last stretch before each", () => {
  const host = new FakeHost(0.002, 1.1);
  const pacer = new Pacer("spin", host);
  const ran = schedule(pacer, 0, 5, 1000);
  host.run();
  ran.forEach((at, i) => assert.ok(at >= i * 1000 && at - i * 1000 <= 0.0021, `callback ${i}`));
  assert.equal(pacer.stats.sleeps, 4);
  // About (SPIN_AHEAD_MS + lead) / turnMs turns before each of the 4 later instants, not 500,000.
  assert.ok(pacer.stats.spins < 4 * (SPIN_AHEAD_MS + 3.5) / 0.002, String(pacer.stats.spins));
});

/** A busy log that keeps what it hears. */
function busyLog(): { busy(ms: number): void; all: number[]; sum(): number } {
  const all: number[] = [];
  return { busy: (ms) => all.push(ms), all, sum: () => all.reduce((a, b) => a + b, 0) };
}

Deno.test("busy log, spin: every interval from one turn to the next, a stall included, covering the time spun", () => {
  const host = new FakeHost(0.002);
  const pacer = new Pacer("spin", host);
  const log = busyLog();
  pacer.listenBusy(log);
  // A callback at 1 ms blocks the thread for 3 ms (as GC or a long callback would).
  pacer.at(1, () => host.t += 3);
  pacer.at(6, () => {});
  host.run();
  assert.ok(log.all.some((ms) => ms >= 3), `a 3 ms stall is heard: ${Math.max(...log.all)}`);
  // From the first arm to the last turn, every moment is in exactly one interval.
  assert.ok(Math.abs(log.sum() - host.t) < 0.01, `${log.sum()} of ${host.t} ms`);
  assert.ok(log.all.filter((ms) => ms > 0.0021).length === 1, "one long interval only");
});

Deno.test("busy log, timer: a sleep that ends at its usual lateness is not busy; one that ends later is, by the excess", () => {
  const host = new FakeHost(0.002, 1.1);
  const pacer = new Pacer("timer", host);
  const log = busyLog();
  pacer.listenBusy(log);
  schedule(pacer, 0, 10, 10);
  host.run();
  // Sleeps end 1.1 ms late, the usual lateness: only turns are busy.
  assert.ok(Math.max(...log.all) < 0.01, `largest ${Math.max(...log.all)}`);
  // Now sleeps end 6.1 ms late: 5 ms beyond the usual 1.1 ms (learned as the median only after
  // 50 sleeps, so the initial 1.1 ms is the usual here).
  host.overshootMs = 6.1;
  const before = log.all.length;
  schedule(pacer, 200, 1, 0);
  host.run();
  const heard = log.all.slice(before);
  assert.ok(heard.some((ms) => Math.abs(ms - 5) < 0.01), `heard ${heard}`);
});

Deno.test("describePacing() says what the mode costs", () => {
  assert.match(describePacing("spin"), /^Pacing: spin .*a core/);
  assert.match(describePacing("spin", 3), /3 cores/);
  assert.match(describePacing("timer"), /^Pacing: timer .*sleeps/);
  assert.match(describePacing("wake"), /^Pacing: wake .*reading at once/);
});
