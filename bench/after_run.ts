/**
 * Prints a report after every bench of the module has run and Deno has printed its table.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";

/**
 * Calls `report` once, after the benches. Deno prints the last bench's row only after the
 * module's `unload`, so `report` runs from a timer started on the first `beforeunload`, which
 * keeps the event loop alive for one more turn. That turn is all there is: `report` must be
 * synchronous (measure anything asynchronous before or during the benches). Errors are
 * printed, not thrown.
 */
export function afterBenches(label: string, report: () => void): void {
  let started = false;
  globalThis.addEventListener("beforeunload", () => {
    if (started) return;
    started = true;
    setTimeout(() => {
      try {
        report();
      } catch (err) {
        console.error(`${label} failed: ${errorMessage(err)}`);
      }
    });
  });
}
