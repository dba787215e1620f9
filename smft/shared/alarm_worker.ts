/**
 * The alarm's thread (see `alarm.ts`): sleeps in `Atomics.wait` until the due instant in shared
 * memory, to a few microseconds, then counts one wake-up and notifies the thread that set it,
 * which awaits it with `Atomics.waitAsync`. It never spins and never touches a socket.
 *
 * Shared memory: `f64[0]` when to wake, on the owner's `performance.now()` clock (Infinity:
 * never); `i32[0]` a generation the owner bumps on every change; `i32[1]` 1 when closed;
 * `woken[0]`, in a buffer of its own, the wake-ups so far.
 *
 * @module
 */
/// <reference lib="deno.worker" />

const { sab, woken: wokenBuffer, origin } = await new Promise<
  { sab: SharedArrayBuffer; woken: SharedArrayBuffer; origin: number }
>((r) => self.onmessage = (e) => r(e.data));
const woken = new Int32Array(wokenBuffer);
self.onmessage = null;
self.postMessage("ready");
const f64 = new Float64Array(sab, 0, 2), i32 = new Int32Array(sab, 16, 2);
// The owner's clock: its time origin may differ from this thread's by milliseconds.
const offset = performance.timeOrigin - origin;
let fired = -1;
while (Atomics.load(i32, 1) === 0) {
  const gen = Atomics.load(i32, 0);
  const due = f64[0];
  if (gen === fired || !(due < Infinity)) {
    Atomics.wait(i32, 0, gen);
    continue;
  }
  const left = due - (performance.now() + offset);
  if (left > 0) {
    Atomics.wait(i32, 0, gen, left);
    continue;
  }
  // Once per setting: the owner checks the instant itself, so a wake-up that crosses a new
  // setting is harmless.
  fired = gen;
  Atomics.add(woken, 0, 1);
  Atomics.notify(woken, 0);
}
self.close();
