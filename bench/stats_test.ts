import assert from "node:assert/strict";
import { summarize } from "./stats.ts";

Deno.test("summarize gives the median, min and interpolated p90 of unsorted samples", () => {
  // Sorted [1, 2, 3]: median 2; p90 sits at rank 0.9 * 2 = 1.8, between 2 and 3: 2.8.
  assert.deepEqual(summarize([3, 1, 2]), { median: 2, min: 1, p90: 2.8, count: 3 });
  // Sorted [1, 2, 3, 4]: median (2 + 3) / 2; p90 at rank 2.7: 3 + 0.7 * (4 - 3).
  const even = summarize([4, 1, 3, 2]);
  assert.equal(even.median, 2.5);
  assert.ok(Math.abs(even.p90 - 3.7) < 1e-12, `p90 ${even.p90}`);
  assert.deepEqual(summarize([5]), { median: 5, min: 5, p90: 5, count: 1 });
});

Deno.test("summarize refuses an empty list", () => {
  assert.throws(() => summarize([]), /Cannot summarise an empty list/);
});
