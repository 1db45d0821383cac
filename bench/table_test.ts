import assert from "node:assert/strict";
import { fmt, formatTable } from "./table.ts";

Deno.test("formatTable pads text columns left and number columns right", () => {
  const table = formatTable(["case", "ms"], [["a", "1.5"], ["long name", "12"]]);
  assert.equal(
    table,
    [
      "| case      |  ms |",
      "| --------- | --: |",
      "| a         | 1.5 |",
      "| long name |  12 |",
    ].join("\n"),
  );
  assert.throws(() => formatTable(["a", "b"], [["1"]]), /Table row has 1 cells, the header 2/);
});

Deno.test("fmt keeps significant digits and marks missing values", () => {
  assert.equal(fmt(1234.56), "1235");
  assert.equal(fmt(12.345), "12.3");
  assert.equal(fmt(0.5), "0.500");
  assert.equal(fmt(2.5e-7, 2), "2.5e-7");
  assert.equal(fmt(0), "0");
  assert.equal(fmt(undefined), "-");
  assert.equal(fmt(NaN), "-");
});
