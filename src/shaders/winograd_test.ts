import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { WINOGRAD_F2, WINOGRAD_F4 } from "../ops/winograd_algorithms.ts";
import { sandwichWgsl } from "./winograd.ts";

type Grid = number[][];

const multiply = (a: readonly (readonly number[])[], b: readonly (readonly number[])[]): Grid =>
  a.map((row) => b[0].map((_, j) => row.reduce((sum, v, k) => sum + v * b[k][j], 0)));
const transpose = (a: readonly (readonly number[])[]): Grid =>
  a[0].map((_, j) => a.map((r) => r[j]));
/** L X L^T in float64. */
const sandwich = (l: readonly (readonly number[])[], x: Grid): Grid =>
  multiply(multiply(l, x), transpose(l));

Deno.test("Winograd algorithms compute the 3x3 correlation of their patch, in float64", () => {
  const random = seededRandom(31);
  for (const alg of [WINOGRAD_F2, WINOGRAD_F4]) {
    for (let trial = 0; trial < 5; trial++) {
      const d = Array.from({ length: alg.t }, () => Array.from({ length: alg.t }, random));
      const g = Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => random() - 0.5));
      const u = sandwich(alg.g, g), v = sandwich(alg.bt, d);
      const y = sandwich(alg.at, u.map((row, i) => row.map((x, j) => x * v[i][j])));
      for (let i = 0; i < alg.m; i++) {
        for (let j = 0; j < alg.m; j++) {
          let direct = 0;
          for (let r = 0; r < 3; r++) {
            for (let s = 0; s < 3; s++) direct += d[i + r][j + s] * g[r][s];
          }
          assert.ok(
            Math.abs(y[i][j] - direct) < 1e-12,
            `${alg.name} (${i}, ${j}): ${y[i][j]} vs ${direct}`,
          );
        }
      }
    }
  }
});

Deno.test("sandwichWgsl writes L X L^T with zero terms left out and unit terms unmultiplied", () => {
  const { lines, grid } = sandwichWgsl([[1, 0, -1], [0, 0.5, 2]], [
    ["a", "b", "c"],
    ["d", "e", "f"],
    [
      "g",
      "h",
      "i",
    ],
  ], "v");
  assert.deepEqual(grid, [["v_0_0", "v_0_1"], ["v_1_0", "v_1_1"]]);
  assert.deepEqual(lines, [
    "let vh_0_0 = a - g;",
    "let vh_0_1 = b - h;",
    "let vh_0_2 = c - i;",
    "let vh_1_0 = 0.5 * d + 2.0 * g;",
    "let vh_1_1 = 0.5 * e + 2.0 * h;",
    "let vh_1_2 = 0.5 * f + 2.0 * i;",
    "let v_0_0 = vh_0_0 - vh_0_2;",
    "let v_0_1 = 0.5 * vh_0_1 + 2.0 * vh_0_2;",
    "let v_1_0 = vh_1_0 - vh_1_2;",
    "let v_1_1 = 0.5 * vh_1_1 + 2.0 * vh_1_2;",
  ]);
});
