import assert from "node:assert/strict";
import { assertWithinBounds } from "./tolerance.ts";

Deno.test("assertWithinBounds accepts errors up to each bound and rejects larger ones and NaN", () => {
  assertWithinBounds([1.5, -2, 3], [1, -2.25, 3], [0.5, 0.25, 0]);
  assert.throws(
    () => assertWithinBounds([1.5, 2], [1, 2], [0.25, 1], "y"),
    /y: 1 of 2 elements outside their bounds; first: \[0\] got 1.5, expected 1 \+- 0.25/,
  );
  assert.throws(() => assertWithinBounds([NaN], [0], [Infinity]), /1 of 1 elements/);
  assert.throws(() => assertWithinBounds([1], [1, 2], [1, 1]), /lengths 1, 2/);
});
